// The math judge's normalisation: the LaTeX and string rewrites that turn an
// answer into the canonical form equalMath compares. Trailing units are
// dropped by math_units.go.

package judge

import (
	"strings"
	"unicode/utf8"
)

// normalizeMath rewrites a MATH answer into the canonical string equalMath
// compares, in the steps of the MATH benchmark's _strip_string and a few
// more: Unicode math signs read as their LaTeX; "\\" before a command read
// as "\"; \left, \right, \big and kin, \displaystyle, spacing commands
// (\! \, \; \: \quad), '$', '%' and \degree dropped; \dfrac, \tfrac and
// \cfrac read as \frac; "{,}" read as ","; trailing units dropped (a
// \text{...}-style group of words, or a known unit word such as "cm" or
// "dollars", after a number); the other \text{x}, \mathrm{x}, \mbox{x} and
// kin replaced by x; a leading single-variable "x =" or "x \in" dropped;
// thousands separators dropped when the whole answer is one number
// ("1,000"); all white space removed; ^\circ dropped; \frac12, \sqrt2 and
// x^2 braced as \frac{1}{2}, \sqrt{2} and x^{2}; decimals written in one
// form (".5" as "0.5", "2.50" as "2.5", "5.0" as "5"); braces around the
// whole answer dropped; and a single top-level a/b written \frac{a}{b}.
func normalizeMath(s string) string {
	s = replaceUnicodeMath(s)
	s = rewriteCommands(s)
	s = stripUnits(s)
	s = unwrapTextCommands(s)
	s = dropVariable(strings.TrimSpace(s))
	s = dropThousands(s)
	s = removeSpaces(s)
	s = dropDegrees(s)
	s = braceCommandArgs(s)
	s = canonicalDecimals(s)
	s = stripOuterBraces(s)
	return slashToFrac(s)
}

// unicodeMath maps the Unicode math signs models write to LaTeX. A command
// is followed by a space so it does not run into the letters after it.
var unicodeMath = strings.NewReplacer(
	"−", "-", "×", `\times `, "·", `\cdot `, "÷", `\div `,
	"π", `\pi `, "√", `\sqrt `, "∞", `\infty `, "°", "",
	"≤", `\leq `, "≥", `\geq `, "≠", `\neq `,
	"\u00a0", " ", "\u2009", "", "\u202f", "",
)

// replaceUnicodeMath applies unicodeMath to s when s has non-ASCII bytes.
func replaceUnicodeMath(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return unicodeMath.Replace(s)
		}
	}
	return s
}

// commandRewrites maps a LaTeX command name to what rewriteCommands writes
// instead: nothing for sizing and spacing, a synonym's canonical spelling
// otherwise.
var commandRewrites = map[string]string{
	"left": "", "right": "",
	"big": "", "Big": "", "bigg": "", "Bigg": "",
	"bigl": "", "bigr": "", "Bigl": "", "Bigr": "",
	"biggl": "", "biggr": "", "Biggl": "", "Biggr": "",
	"displaystyle": "", "textstyle": "", "quad": " ", "qquad": " ",
	"degree": "",
	"dfrac":  `\frac`, "tfrac": `\frac`, "cfrac": `\frac`,
	"le": `\leq`, "ge": `\geq`, "ne": `\neq`, "leqslant": `\leq`, "geqslant": `\geq`,
	"varnothing": `\emptyset`,
}

// rewriteCommands applies commandRewrites, drops '$', '%', \$, \% and the
// spacing commands \! \, \; \:, reads "\ ", '~' and line breaks as a space,
// "{,}" as "," and "\\" before a command as "\" (MATH reads every "\\" as
// "\"; a "\\" between matrix rows is kept, so "1 \\ 2" is not "1\ 2"). The
// invisible delimiter of \left. and \right. goes with its command.
func rewriteCommands(s string) string {
	if !strings.ContainsAny(s, "\\$%~{\n\r\t") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isLetter(s[i+1]):
			j := i + 1
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			name := s[i+1 : j]
			repl, ok := commandRewrites[name]
			if !ok {
				b.WriteString(s[i:j])
			} else {
				b.WriteString(repl)
				if (name == "left" || name == "right") && j < len(s) && s[j] == '.' {
					j++
				}
			}
			i = j
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			if i+2 < len(s) && isLetter(s[i+2]) {
				i++ // an escaped backslash before a command: \\frac is \frac
			} else {
				b.WriteString(`\\`) // a line break, as between matrix rows
				i += 2
			}
		case c == '\\' && i+1 < len(s):
			switch s[i+1] {
			case '!', ',', ';', ':', '$', '%':
			case ' ':
				b.WriteByte(' ')
			default:
				b.WriteString(s[i : i+2])
			}
			i += 2
		case c == '$' || c == '%':
			i++
		case c == '~' || c == '\n' || c == '\r' || c == '\t':
			b.WriteByte(' ')
			i++
		case c == '{' && strings.HasPrefix(s[i:], "{,}"):
			b.WriteByte(',')
			i += 3
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// textCommands are the commands whose braced argument is text: a trailing
// one naming a unit is dropped, any other is replaced by its argument.
var textCommands = map[string]bool{
	"text": true, "textbf": true, "textit": true, "textrm": true, "textnormal": true,
	"textup": true, "textsf": true, "texttt": true, "mbox": true, "hbox": true,
	"mathrm": true, "mathbf": true, "mathit": true, "mathsf": true, "mathtt": true,
	"boldsymbol": true, "operatorname": true,
}

// unwrapTextCommands replaces every \text{x} (and the other textCommands)
// by x. A command without a balanced argument loses its name only.
func unwrapTextCommands(s string) string {
	if !hasTextCommand(s) {
		return s
	}
	match := braceMatches(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		switch {
		case s[i] == '}' && match[i] == dropBrace:
			i++
		case s[i] != '\\' || i+1 >= len(s):
			b.WriteByte(s[i])
			i++
		case !isLetter(s[i+1]):
			b.WriteString(s[i : i+2])
			i += 2
		default:
			j := i + 1
			for j < len(s) && isLetter(s[j]) {
				j++
			}
			if !textCommands[s[i+1:j]] {
				b.WriteString(s[i:j])
				i = j
				continue
			}
			k := j
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if k < len(s) && s[k] == '{' && match[k] >= 0 {
				match[match[k]] = dropBrace
				k++
			}
			i = k
		}
	}
	return b.String()
}

// hasTextCommand reports whether s holds one of textCommands.
func hasTextCommand(s string) bool {
	for i := strings.IndexByte(s, '\\'); i >= 0; {
		j := i + 1
		for j < len(s) && isLetter(s[j]) {
			j++
		}
		if textCommands[s[i+1:j]] {
			return true
		}
		k := strings.IndexByte(s[j:], '\\')
		if k < 0 {
			return false
		}
		i = j + k
	}
	return false
}

// dropBrace marks, in a braceMatches table, a closing brace to leave out.
const dropBrace = -2

// braceMatches returns, for each index of s, the index of the brace that
// matches the brace there, or -1 (for other bytes, unmatched braces and
// escaped ones such as \{).
func braceMatches(s string) []int {
	match := make([]int, len(s))
	var open []int
	for i := 0; i < len(s); i++ {
		match[i] = -1
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				match[i] = -1
			}
		case '{':
			open = append(open, i)
		case '}':
			if n := len(open); n > 0 {
				o := open[n-1]
				open = open[:n-1]
				match[o], match[i] = i, o
			}
		}
	}
	return match
}

// dropVariable drops a leading "x =" (or "x \in") that names a single
// variable, as MATH drops "k = " before a short answer. An answer with two
// '=' is an equation and kept.
func dropVariable(s string) string {
	if i := strings.IndexByte(s, '='); i >= 0 {
		if strings.IndexByte(s[i+1:], '=') < 0 && isVariableName(strings.TrimSpace(s[:i])) {
			return strings.TrimSpace(s[i+1:])
		}
		return s
	}
	if i := strings.Index(s, `\in`); i >= 0 && (i+3 == len(s) || !isLetter(s[i+3])) &&
		isVariableName(strings.TrimSpace(s[:i])) {
		return strings.TrimSpace(s[i+3:])
	}
	return s
}

// isVariableName reports whether v names one variable: a letter or a
// command such as \theta, then optionally a digit or letter (MATH drops any
// prefix of two characters), a subscript or a "(x)" argument.
func isVariableName(v string) bool {
	if strings.Contains(v, " ") {
		v = strings.ReplaceAll(v, " ", "")
	}
	if v == "" {
		return false
	}
	i := 1
	switch {
	case v[0] == '\\':
		for i < len(v) && isLetter(v[i]) {
			i++
		}
		if i == 1 {
			return false
		}
	case !isLetter(v[0]):
		return false
	}
	rest := v[i:]
	switch {
	case rest == "":
		return true
	case len(rest) == 1 && v[0] != '\\':
		return isDigit(rest[0]) || isLetter(rest[0])
	case rest[0] == '_':
		return isShortWord(strings.TrimSuffix(strings.TrimPrefix(rest[1:], "{"), "}"))
	case rest[0] == '(' && rest[len(rest)-1] == ')':
		return isShortWord(rest[1 : len(rest)-1])
	}
	return false
}

// isShortWord reports whether s is one to four letters and digits.
func isShortWord(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) && !isLetter(s[i]) {
			return false
		}
	}
	return true
}

// dropThousands removes the thousands separators of an answer that is one
// number written with them: "1,000" and "-12,345.5", not "1,2" or "(1,000)".
func dropThousands(s string) string {
	if !strings.Contains(s, ",") || !isThousands(s) {
		return s
	}
	return strings.ReplaceAll(s, ",", "")
}

// isThousands reports whether s is a decimal number with thousands
// separators: a sign, 1 to 3 digits, groups of ",ddd", a decimal part.
func isThousands(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j-i < 1 || j-i > 3 {
		return false
	}
	groups := 0
	for j < len(s) && s[j] == ',' {
		if j+4 > len(s) || !isDigit(s[j+1]) || !isDigit(s[j+2]) || !isDigit(s[j+3]) {
			return false
		}
		j += 4
		groups++
	}
	if groups == 0 {
		return false
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	return j == len(s)
}

// removeSpaces drops every ASCII white-space byte.
func removeSpaces(s string) string {
	if !strings.ContainsAny(s, " \t\n\r\v\f") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			b = append(b, s[i])
		}
	}
	return string(b)
}

// degreeMarks replaces the degree marks MATH drops.
var degreeMarks = strings.NewReplacer(`^{\circ}`, "", `^\circ`, "")

// dropDegrees removes ^\circ and ^{\circ}.
func dropDegrees(s string) string {
	if !strings.Contains(s, `\circ`) {
		return s
	}
	return degreeMarks.Replace(s)
}

// braceCommandArgs braces the arguments of \frac, \sqrt, ^ and _ written
// without braces, as TeX reads them: one token each, so \frac12 is
// \frac{1}{2}, \frac ab (its space removed) is \frac{a}{b}, \frac\pi2 is
// \frac{\pi}{2}, \sqrt23 is \sqrt{2}3 and x^2 is x^{2}. It is one pass
// over s, keeping a stack of open groups, so nesting costs nothing extra.
func braceCommandArgs(s string) string {
	if !strings.Contains(s, `\frac`) && !strings.Contains(s, `\sqrt`) && !strings.ContainsAny(s, "^_") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	var groups []argGroup
	pending := 0 // arguments still to read at s[i]
	for i := 0; i < len(s); {
		c := s[i]
		if pending > 0 {
			switch c {
			case '{':
				groups = append(groups, argGroup{open: '{', resume: pending - 1})
				pending = 0
				b.WriteByte(c)
				i++
				continue
			case '}', ']', ')':
				pending = 0 // a missing argument: handled as usual below
			default:
				tok := tokenAt(s, i)
				b.WriteByte('{')
				b.WriteString(tok)
				b.WriteByte('}')
				i += len(tok)
				pending--
				continue
			}
		}
		switch {
		case strings.HasPrefix(s[i:], `\frac`):
			b.WriteString(`\frac`)
			i += len(`\frac`)
			pending = 2
		case strings.HasPrefix(s[i:], `\sqrt`):
			b.WriteString(`\sqrt`)
			i += len(`\sqrt`)
			if i < len(s) && s[i] == '[' {
				groups = append(groups, argGroup{open: '[', resume: 1})
				b.WriteByte('[')
				i++
			} else {
				pending = 1
			}
		case c == '^' || c == '_':
			b.WriteByte(c)
			i++
			pending = 1
		case c == '{':
			groups = append(groups, argGroup{open: '{'})
			b.WriteByte(c)
			i++
		case c == '}' || c == ']':
			if n := len(groups); n > 0 && (groups[n-1].open == '{') == (c == '}') {
				pending = groups[n-1].resume
				groups = groups[:n-1]
			}
			b.WriteByte(c)
			i++
		case c == '\\':
			tok := tokenAt(s, i) // whole, so \{ is not a brace
			b.WriteString(tok)
			i += len(tok)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// argGroup is a group braceCommandArgs is inside: opened by '{', or by the
// '[' of a \sqrt index; resume is how many arguments are still to read
// when it closes.
type argGroup struct {
	open   byte
	resume int
}

// tokenAt returns the TeX token at s[i]: a command (\name, or '\' and one
// character) or one character.
func tokenAt(s string, i int) string {
	if s[i] != '\\' {
		_, size := utf8.DecodeRuneInString(s[i:])
		return s[i : i+size]
	}
	j := i + 1
	if j < len(s) && isLetter(s[j]) {
		for j < len(s) && isLetter(s[j]) {
			j++
		}
	} else if j < len(s) {
		j++
	}
	return s[i:j]
}

// canonicalDecimals writes every decimal number in one form: a leading 0
// before a bare decimal point (".5" is "0.5"), trailing zeros of the
// decimal part dropped ("2.50" is "2.5", "5.0" is "5"), and a decimal point
// ending a number dropped before the end or a closing bracket or comma.
func canonicalDecimals(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	for i := 0; i < len(s); {
		c := s[i]
		bare := c == '.' && i+1 < len(s) && isDigit(s[i+1]) && (i == 0 || !isDigit(s[i-1]))
		if !isDigit(c) && !bare {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		intPart := s[i:j]
		if j >= len(s) || s[j] != '.' {
			b.WriteString(intPart)
			i = j
			continue
		}
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k == j+1 { // "5." with no digits after the point
			b.WriteString(intPart)
			if k == len(s) || strings.IndexByte(",)]}", s[k]) >= 0 {
				i = k
			} else {
				i = j
			}
			continue
		}
		frac := strings.TrimRight(s[j+1:k], "0")
		if intPart == "" {
			intPart = "0"
		}
		b.WriteString(intPart)
		if frac != "" {
			b.WriteByte('.')
			b.WriteString(frac)
		}
		i = k
	}
	return b.String()
}

// stripOuterBraces removes braces that enclose the whole of s: "{5}" is 5.
func stripOuterBraces(s string) string {
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return s
	}
	match := braceMatches(s)
	lo, hi := 0, len(s)-1
	for lo < hi && s[lo] == '{' && match[lo] == hi {
		lo++
		hi--
	}
	return s[lo : hi+1]
}

// slashToFrac writes an answer that is one top-level division a/b as
// \frac{a}{b}, as MATH's _fix_a_slash_b does for integers: the numerator
// may be a product (no top-level '+', '-' but a leading sign, ',' or '='),
// the denominator must be a single factor, and parentheses around either
// are dropped. "(x+1)/2" is \frac{x+1}{2}; "1/2x" is kept.
func slashToFrac(s string) string {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return s
	}
	i = topLevelIndexAny(s, "/")
	if i <= 0 || i == len(s)-1 || topLevelIndexAny(s[i+1:], "/") >= 0 {
		return s
	}
	num, den := s[:i], s[i+1:]
	sign := ""
	if num[0] == '-' {
		sign, num = "-", num[1:]
	}
	if num == "" || topLevelIndexAny(num, "+-,=") >= 0 || atomEnd(den, 0) != len(den) {
		return s
	}
	return sign + `\frac{` + stripParens(num) + `}{` + stripParens(den) + `}`
}

// stripParens removes one pair of parentheses enclosing the whole of s.
func stripParens(s string) string {
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		if closeAt, end := matchClose(s, 0); end == len(s) && s[closeAt] == ')' {
			return s[1:closeAt]
		}
	}
	return s
}

// atomEnd returns the index just past the single factor that starts at
// s[i] (a number, a letter, a command with its arguments, or a bracketed
// group, with any ^ or _ after it), or -1 when none starts there.
func atomEnd(s string, i int) int {
	if i >= len(s) {
		return -1
	}
	switch c := s[i]; {
	case isDigit(c) || c == '.':
		for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
			i++
		}
	case isLetter(c):
		i++
	case c == '(' || c == '[' || c == '{':
		if _, end := matchClose(s, i); end > 0 {
			i = end
		} else {
			return -1
		}
	case c == '\\' && i+1 < len(s) && isLetter(s[i+1]):
		i++
		for i < len(s) && isLetter(s[i]) {
			i++
		}
		for i < len(s) && (s[i] == '{' || s[i] == '[') {
			_, end := matchClose(s, i)
			if end < 0 {
				return -1
			}
			i = end
		}
	default:
		return -1
	}
	for i < len(s) && (s[i] == '^' || s[i] == '_') {
		if i = atomEnd(s, i+1); i < 0 {
			return -1
		}
	}
	return i
}
