// Package excerpt cuts text to show it in a message or an output column:
// on rune boundaries, so a cut never leaves half a UTF-8 sequence.
package excerpt

import (
	"strings"
	"unicode/utf8"
)

// Clip returns s cut to at most n bytes on a rune boundary, followed by
// mark when it was cut.
func Clip(s string, n int, mark string) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// LastLine returns the last line of s that is not blank, trimmed of
// spaces: where a program or a model puts its final word.
func LastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
