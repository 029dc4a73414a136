// The bracket scanners the math judge's comparison and normalisation share:
// brackets of every kind nest together, and an escaped character is one
// token.

package judge

import "strings"

// openerAt returns the length of the opening bracket at s[i] ("(", "[",
// "{" or "\{"), or 0 when there is none.
func openerAt(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch s[i] {
	case '(', '[', '{':
		return 1
	case '\\':
		if i+1 < len(s) && s[i+1] == '{' {
			return 2
		}
	}
	return 0
}

// closerAt returns the length of the closing bracket at s[i] (")", "]", "}"
// or "\}"), or 0 when there is none.
func closerAt(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	switch s[i] {
	case ')', ']', '}':
		return 1
	case '\\':
		if i+1 < len(s) && s[i+1] == '}' {
			return 2
		}
	}
	return 0
}

// bracketStep reads the token at s[i] for the bracket scanners: its width,
// and +1 when it opens a bracket, -1 when it closes one, 0 otherwise
// (brackets of every kind nest together; an escaped character such as
// "\\," is one token that never opens or closes). plain reports a single
// byte that is neither, the only kind a scanner looks into.
func bracketStep(s string, i int) (width, move int, plain bool) {
	if n := openerAt(s, i); n > 0 {
		return n, 1, false
	}
	if n := closerAt(s, i); n > 0 {
		return n, -1, false
	}
	if s[i] == '\\' && i+1 < len(s) && !isLetter(s[i+1]) {
		return 2, 0, false
	}
	return 1, 0, true
}

// matchClose finds the bracket closing the one that opens at s[i]: brackets
// of every kind nest together, so "[1,2)" is matched. It returns where the
// closing bracket starts and the index just past it, or -1, -1 when the
// bracket is never closed.
func matchClose(s string, i int) (int, int) {
	depth := 0
	for i < len(s) {
		n, move, _ := bracketStep(s, i)
		if depth += move; move < 0 && depth == 0 {
			return i, i + n
		}
		i += n
	}
	return -1, -1
}

// splitTopLevel splits s at the commas outside every bracket. A closing
// bracket without its opener is ignored.
func splitTopLevel(s string) []string {
	if strings.IndexByte(s, ',') < 0 {
		return []string{s}
	}
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); {
		n, move, plain := bracketStep(s, i)
		depth = max(depth+move, 0)
		if plain && depth == 0 && s[i] == ',' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
		i += n
	}
	return append(parts, s[start:])
}

// topLevelIndexAny returns the index of the first byte of s in chars that
// is outside every bracket, or -1.
func topLevelIndexAny(s, chars string) int {
	depth := 0
	for i := 0; i < len(s); {
		n, move, plain := bracketStep(s, i)
		depth = max(depth+move, 0)
		if plain && depth == 0 && strings.IndexByte(chars, s[i]) >= 0 {
			return i
		}
		i += n
	}
	return -1
}
