package judge

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ExtractFinalAnswer reads the answer an output declares, trying in order:
//
//  1. the text after the last "Final Answer:" (case-insensitive; also
//     "final answer is", markdown "**Final Answer:**" and a "Final Answer"
//     heading, whose answer is then the next non-empty line), to the end of
//     its line; an earlier declaration is used when the last one is empty;
//  2. the content of the last well-formed \boxed{...} or \fbox{...};
//  3. the text after the last "####" (GSM8K style), to the end of its line;
//  4. the text after the last "answer is" or "answer:", to the end of its line.
//
// The answer is trimmed of surrounding spaces, '*', '$', '`', \( \) and
// \[ \] delimiters and a trailing period; an answer that holds a \boxed{} is
// unwrapped to the box's content. The result is always a substring of output.
// ok is false when no form yields a non-empty answer.
func ExtractFinalAnswer(output string) (answer string, ok bool) {
	if s, ok := finalAnswerLine(output); ok {
		return s, true
	}
	if s, ok := ExtractBoxed(output); ok {
		if s = trimAnswer(s); s != "" {
			return s, true
		}
	}
	if s, ok := afterMarker(output, "####"); ok {
		return s, true
	}
	if s, ok := answerIsLine(output); ok {
		return s, true
	}
	return "", false
}

// finalAnswerLine implements step 1 of ExtractFinalAnswer.
func finalAnswerLine(output string) (string, bool) {
	const key = "final answer"
	low := asciiLower(output)
	end := len(low)
	for {
		i := strings.LastIndex(low[:end], key)
		if i < 0 {
			return "", false
		}
		end = i
		rest, ok := afterFinalAnswerKey(output[i+len(key):])
		if !ok {
			continue
		}
		if s := lineAnswer(rest); s != "" {
			return s, true
		}
	}
}

// afterFinalAnswerKey returns what follows "final answer" when it introduces
// an answer: a colon, "is", or the end of a heading line.
func afterFinalAnswerKey(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t*_")
	switch {
	case strings.HasPrefix(s, ":"):
		return s[1:], true
	case strings.HasPrefix(s, "："):
		return s[len("："):], true
	case strings.HasPrefix(s, "\n"), strings.HasPrefix(s, "\r\n"):
		return s, true
	case len(s) >= 2 && asciiLower(s[:2]) == "is" && (len(s) == 2 || !isWordByte(s[2])):
		s = strings.TrimLeft(s[2:], " \t*_")
		s = strings.TrimPrefix(s, ":")
		return s, true
	}
	return "", false
}

// lineAnswer reads the answer that starts s: the rest of the first line, or
// the next non-empty line when the first is empty. A \boxed{} in it is
// unwrapped.
func lineAnswer(s string) string {
	line, rest, _ := strings.Cut(s, "\n")
	t := trimAnswer(line)
	if t == "" {
		for rest != "" {
			line, rest, _ = strings.Cut(rest, "\n")
			if t = trimAnswer(line); t != "" {
				break
			}
		}
	}
	if b, ok := ExtractBoxed(t); ok {
		if b = trimAnswer(b); b != "" {
			return b
		}
	}
	return t
}

// afterMarker reads the rest of the line after the last marker in s.
func afterMarker(s, marker string) (string, bool) {
	i := strings.LastIndex(s, marker)
	if i < 0 {
		return "", false
	}
	rest := strings.TrimLeft(s[i+len(marker):], "#")
	line, _, _ := strings.Cut(rest, "\n")
	t := trimAnswer(line)
	return t, t != ""
}

// answerIsLine implements step 4 of ExtractFinalAnswer.
func answerIsLine(output string) (string, bool) {
	low := asciiLower(output)
	end := len(low)
	for {
		i := strings.LastIndex(low[:end], "answer")
		if i < 0 {
			return "", false
		}
		end = i
		rest := strings.TrimLeft(output[i+len("answer"):], " \t*_")
		switch {
		case strings.HasPrefix(rest, ":"):
			rest = rest[1:]
		case len(rest) >= 3 && asciiLower(rest[:3]) == "is ":
			rest = rest[3:]
		default:
			continue
		}
		line, _, _ := strings.Cut(rest, "\n")
		if t := trimAnswer(line); t != "" {
			if b, ok := ExtractBoxed(t); ok {
				if b = trimAnswer(b); b != "" {
					return b, true
				}
			}
			return t, true
		}
	}
}

// trimAnswer strips the decoration around an answer: spaces, '*', '$', '`',
// LaTeX inline and display delimiters and trailing periods.
func trimAnswer(s string) string {
	for {
		prev := s
		s = strings.Trim(s, " \t\r\n*$`")
		s = strings.TrimSuffix(s, ".")
		if strings.HasPrefix(s, `\(`) && strings.HasSuffix(s, `\)`) && len(s) >= 4 {
			s = s[2 : len(s)-2]
		}
		if strings.HasPrefix(s, `\[`) && strings.HasSuffix(s, `\]`) && len(s) >= 4 {
			s = s[2 : len(s)-2]
		}
		if s == prev {
			return s
		}
	}
}

// ExtractBoxed returns the content of the last well-formed \boxed{...} or
// \fbox{...} in s, braces balanced (an escaped \{ or \} does not count), or
// the token after "\boxed " in the brace-less form. A box left open, as in a
// truncated output, is skipped for the one before it. The content is a
// substring of s; ok is false when there is no well-formed box.
func ExtractBoxed(s string) (content string, ok bool) {
	i, n := lastBoxCommand(s)
	if i < 0 {
		return "", false
	}
	if c, ok := boxArgument(s[i+n:]); ok {
		return c, true
	}
	return lastClosedBox(s[:i])
}

// lastClosedBox is ExtractBoxed's slow path, after the last box was open:
// it matches every brace of s once, so many open boxes stay linear.
func lastClosedBox(s string) (string, bool) {
	closing := make(map[int]int) // index of '{' -> index of its '}'
	var open []int
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '{':
			open = append(open, j)
		case '}':
			if len(open) > 0 {
				closing[open[len(open)-1]] = j
				open = open[:len(open)-1]
			}
		}
	}
	for end := len(s); ; {
		i, n := lastBoxCommand(s[:end])
		if i < 0 {
			return "", false
		}
		arg := i + n
		if arg < len(s) && s[arg] == '{' {
			if c, ok := closing[arg]; ok {
				return s[arg+1 : c], true
			}
		} else if c, ok := boxArgument(s[arg:]); ok {
			return c, true
		}
		end = i
	}
}

// lastBoxCommand returns the position and length of the last \boxed or \fbox
// in s, or -1.
func lastBoxCommand(s string) (int, int) {
	for end := len(s); end > 0; {
		i := strings.LastIndexByte(s[:end], '\\')
		if i < 0 {
			break
		}
		switch {
		case strings.HasPrefix(s[i:], `\boxed`):
			return i, len(`\boxed`)
		case strings.HasPrefix(s[i:], `\fbox`):
			return i, len(`\fbox`)
		}
		end = i
	}
	return -1, 0
}

// boxArgument reads the argument that starts s: a balanced {...} group, or
// after a space a token running to the next space or '$'.
func boxArgument(s string) (string, bool) {
	if strings.HasPrefix(s, "{") {
		return braceGroup(s)
	}
	if !strings.HasPrefix(s, " ") {
		return "", false
	}
	s = strings.TrimLeft(s, " ")
	end := strings.IndexAny(s, " \t\r\n$")
	if end < 0 {
		end = len(s)
	}
	return s[:end], end > 0
}

// braceGroup returns the content of the balanced brace group s starts with.
func braceGroup(s string) (string, bool) {
	depth := 0
	for j := 0; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++ // an escaped character never opens or closes a group
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[1:j], true
			}
		}
	}
	return "", false
}

// number is one number found in a text.
type number struct {
	value float64
	text  string // the number as written, with its sign and '$'
}

// fracPattern matches a LaTeX fraction of two plain numbers.
var fracPattern = regexp.MustCompile(`\\[dt]?frac\s*\{\s*(-?[0-9][0-9.,]*)\s*\}\s*\{\s*(-?[0-9][0-9.,]*)\s*\}`)

// ExtractNumber reads the number an output gives as its answer. When the
// output declares an answer (see ExtractFinalAnswer: "Final Answer:",
// \boxed{}, "####", "answer is"), the number is read from that answer: after
// its last '=', else its first number; a declared answer without a number
// gives ok false. Otherwise it is the last number in the output.
//
// Numbers may carry a sign (also U+2212), a '$', thousands separators
// ("1,234.50" is 1234.5), a decimal part, an exponent and a trailing '%' or
// unit, which are dropped; "a/b" and \frac{a}{b} are divided. text is the
// number as written. ok is false when there is no finite number.
func ExtractNumber(output string) (value float64, text string, ok bool) {
	if ans, found := ExtractFinalAnswer(output); found {
		return answerNumber(ans)
	}
	nums := scanNumbers(fracPattern.ReplaceAllString(output, "$1/$2"))
	if len(nums) == 0 {
		return 0, "", false
	}
	last := nums[len(nums)-1]
	return last.value, last.text, true
}

// answerNumber reads the number of a declared answer: after its last '=',
// else anywhere in it; the first number wins.
func answerNumber(ans string) (float64, string, bool) {
	ans = fracPattern.ReplaceAllString(ans, "$1/$2")
	if i := strings.LastIndex(ans, "="); i >= 0 {
		if nums := scanNumbers(ans[i+1:]); len(nums) > 0 {
			return nums[0].value, nums[0].text, true
		}
	}
	nums := scanNumbers(ans)
	if len(nums) == 0 {
		return 0, "", false
	}
	return nums[0].value, nums[0].text, true
}

// scanNumbers returns the finite numbers in s, in order.
func scanNumbers(s string) []number {
	var nums []number
	for i := 0; i < len(s); {
		if !startsNumber(s, i) {
			i++
			continue
		}
		n, end, ok := readNumber(s, i)
		if ok {
			nums = append(nums, n)
		}
		if end <= i {
			end = i + 1
		}
		i = end
	}
	return nums
}

// startsNumber reports whether a number starts at s[i]: a digit, or a '.'
// before a digit, not continuing a number or version string before it.
func startsNumber(s string, i int) bool {
	c := s[i]
	if !isDigit(c) && !(c == '.' && i+1 < len(s) && isDigit(s[i+1])) {
		return false
	}
	if i > 0 {
		p := s[i-1]
		if isDigit(p) || (p == '.' && i > 1 && isDigit(s[i-2])) {
			return false
		}
	}
	return true
}

// readNumber reads the number starting at s[i] (a digit or '.'), with the
// sign and '$' written before it and a "/ denominator" after it. It returns
// the index just past the number.
func readNumber(s string, i int) (number, int, bool) {
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	// Thousands separators: only after a first group of 1-3 digits, then
	// groups of exactly three.
	if j-i >= 1 && j-i <= 3 {
		for j+3 < len(s) && s[j] == ',' && isDigit(s[j+1]) && isDigit(s[j+2]) && isDigit(s[j+3]) &&
			(j+4 == len(s) || !isDigit(s[j+4])) {
			j += 4
		}
	}
	if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j+1 < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if s[k] == '+' || s[k] == '-' {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			j = k
		}
	}
	value, err := strconv.ParseFloat(strings.ReplaceAll(s[i:j], ",", ""), 64)
	if err != nil {
		return number{}, j, false
	}
	end := j
	// A fraction a/b, spaces allowed around the slash on one line.
	k := skipSpaces(s, j)
	if k < len(s) && s[k] == '/' {
		k = skipSpaces(s, k+1)
		d := k
		for d < len(s) && isDigit(s[d]) {
			d++
		}
		if d+1 < len(s) && s[d] == '.' && isDigit(s[d+1]) {
			d++
			for d < len(s) && isDigit(s[d]) {
				d++
			}
		}
		if d > k {
			if den, err := strconv.ParseFloat(s[k:d], 64); err == nil && den != 0 {
				value /= den
				end = d
			}
		}
	}
	start := i
	if p := i - 1; p >= 0 && s[p] == '$' {
		start = p
	}
	if neg, at := signBefore(s, start); neg {
		value = -value
		start = at
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return number{}, end, false
	}
	if value == 0 {
		value = 0 // no negative zero
	}
	return number{value: value, text: s[start:end]}, end, true
}

// signBefore reports whether the number at s[i] is negated by a minus sign
// right before it (also U+2212) that is not a binary minus, and where the
// sign starts.
func signBefore(s string, i int) (bool, int) {
	var at int
	switch {
	case i >= 1 && s[i-1] == '-':
		at = i - 1
	case i >= 3 && s[i-3:i] == "−":
		at = i - 3
	default:
		return false, i
	}
	if at > 0 {
		if p := s[at-1]; isDigit(p) || isLetter(p) || p == ')' || p == ']' || p == '}' {
			return false, i
		}
	}
	return true, at
}

// skipSpaces returns the index of the first byte at or after i that is not a
// space or tab.
func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// asciiLower lowercases the ASCII letters of s and keeps every other byte,
// so byte offsets in the result are offsets in s.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isLetter(c byte) bool   { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isWordByte(c byte) bool { return isDigit(c) || isLetter(c) || c == '_' }
