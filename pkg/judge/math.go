package judge

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/config"
)

// mathRelTolerance is how close two numeric answers must be, relative to the
// larger magnitude, for the math judge to call them equal.
const mathRelTolerance = 1e-8

// Bounds that keep one verdict cheap whatever the output holds.
const (
	// maxMathEval is the longest normalised answer split into elements or
	// evaluated; a longer one is compared as a string only.
	maxMathEval = 512
	// maxMathDepth caps the nesting of parenthesised groups the evaluator
	// follows.
	maxMathDepth = 64
	// maxRatBits caps the size (numerator plus denominator bits) of an
	// exact value; a larger one is carried as a float64.
	maxRatBits = 4096
	// maxExactExponent is the largest |n| for which b^n is computed exactly.
	maxExactExponent = 1024
	// maxRootIndex is the largest n of \sqrt[n]{x} the evaluator accepts.
	maxRootIndex = 64
)

// mathJudge compares MATH-style final answers: normalised as the MATH
// benchmark does, then equal as strings, as exact rationals, as numbers
// within mathRelTolerance, or element by element for tuples and intervals.
type mathJudge struct {
	name string
	re   *regexp.Regexp // optional extraction pattern, the last resort
}

var _ Judge = (*mathJudge)(nil)

func newMath(cfg config.Judge) (Judge, error) {
	re, err := optionalPattern(cfg)
	if err != nil {
		return nil, err
	}
	j := &mathJudge{name: displayName(cfg)}
	j.re = re
	return j, nil
}

// Name returns the judge's configured name.
func (j *mathJudge) Name() string { return j.name }

// Judge reads the answer from the last \boxed{} or \fbox{}, else the "Final
// Answer:" line, else the last match of the pattern (its first group when it
// has one), and passes it when equalMath finds it equal to a gold answer,
// both read through normalizeMath. A gold holding a \boxed{} is read from
// the box. No answer, or one that normalises to nothing, is unscored; an
// item without a gold is an error verdict.
func (j *mathJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	gs, v, ok, err := needGolds(ctx, item)
	if !ok {
		return v, err
	}
	answer, ok := j.extract(output)
	if !ok {
		return unscored("no boxed or final answer"), nil
	}
	na := normalizeMath(answer)
	if na == "" {
		return unscored("empty answer"), nil
	}
	for _, g := range gs {
		if b, ok := ExtractBoxed(g); ok {
			g = b
		}
		if eq, how := equalMath(na, normalizeMath(g)); eq {
			return binary(true, answer, fmt.Sprintf("%s to gold %q", how, g)), nil
		}
	}
	return binary(false, answer, "not equal to any gold answer"), nil
}

// extract finds the answer as Judge documents.
func (j *mathJudge) extract(output string) (string, bool) {
	if b, ok := ExtractBoxed(output); ok {
		if b = trimAnswer(b); b != "" {
			return b, true
		}
	}
	if s, ok := finalAnswerLine(output); ok {
		return s, true
	}
	if j.re != nil {
		if m, ok := lastMatch(j.re, output); ok {
			if m = trimAnswer(m); m != "" {
				return m, true
			}
		}
	}
	return "", false
}

// Reasons equalMath gives for a match; Judge reports them in Detail.
const (
	equalStrings   = "equal as strings"
	equalRationals = "equal as rationals"
	equalNumbers   = "equal as numbers"
	equalElements  = "equal element-wise"
)

// equalMath reports whether two normalised answers are equal, and how: the
// same string; tuples, intervals or lists with the same brackets and equal
// elements in order; exact rationals that are equal; or numbers within
// mathRelTolerance of each other, relative to the larger magnitude. It is
// symmetric, and every string equals itself.
func equalMath(a, b string) (bool, string) {
	if a == b {
		return true, equalStrings
	}
	if len(a) > maxMathEval || len(b) > maxMathEval {
		return false, ""
	}
	ta, tupleA := splitTuple(a)
	tb, tupleB := splitTuple(b)
	if tupleA || tupleB {
		if !tupleA || !tupleB || ta.open != tb.open || ta.close != tb.close || len(ta.elems) != len(tb.elems) {
			return false, ""
		}
		for i := range ta.elems {
			if eq, _ := equalMath(finishElement(ta.elems[i]), finishElement(tb.elems[i])); !eq {
				return false, ""
			}
		}
		return true, equalElements
	}
	return equalScalars(a, b)
}

// equalScalars compares two answers that are not tuples by value: exactly
// when both are rationals, else as float64 within mathRelTolerance.
func equalScalars(a, b string) (bool, string) {
	va, ok := evalMath(a)
	if !ok {
		return false, ""
	}
	vb, ok := evalMath(b)
	if !ok {
		return false, ""
	}
	if va.rat != nil && vb.rat != nil && va.rat.Cmp(vb.rat) == 0 {
		return true, equalRationals
	}
	if closeEnough(va.float(), vb.float()) {
		return true, equalNumbers
	}
	return false, ""
}

// closeEnough reports whether two finite numbers are within mathRelTolerance
// of each other, relative to the larger magnitude.
func closeEnough(x, y float64) bool {
	if math.IsInf(x, 0) || math.IsInf(y, 0) || math.IsNaN(x) || math.IsNaN(y) {
		return false
	}
	return x == y || math.Abs(x-y) <= mathRelTolerance*math.Max(math.Abs(x), math.Abs(y))
}

// mathTuple is an answer of several comma-separated elements: a tuple,
// interval or set when open and close hold its brackets, a bare list when
// they are empty.
type mathTuple struct {
	open, close string
	elems       []string
}

// splitTuple reads s as a mathTuple: brackets enclosing the whole answer
// ("(", "[" or "\{" opening, ")", "]" or "\}" closing, in any pairing, as
// intervals need) around two or more elements, else two or more elements
// separated by top-level commas. ok is false for a single element.
func splitTuple(s string) (mathTuple, bool) {
	if strings.IndexByte(s, ',') < 0 {
		return mathTuple{}, false
	}
	if open := openerAt(s, 0); open > 0 {
		if closeAt, end := matchClose(s, 0); end == len(s) {
			elems := splitTopLevel(s[open:closeAt])
			if len(elems) < 2 {
				return mathTuple{}, false
			}
			return mathTuple{open: s[:open], close: s[closeAt:], elems: elems}, true
		}
	}
	if elems := splitTopLevel(s); len(elems) >= 2 {
		return mathTuple{elems: elems}, true
	}
	return mathTuple{}, false
}

// finishElement applies to one element of a tuple the normalisation steps
// that only make sense on a whole answer.
func finishElement(s string) string {
	return slashToFrac(stripOuterBraces(s))
}

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

// unitWords are the unit names stripUnits drops when one ends an answer
// after a number, written without \text (lower case; a trailing '.' of an
// abbreviation is ignored).
var unitWords = map[string]bool{
	"mm": true, "cm": true, "km": true, "meter": true, "meters": true, "metre": true, "metres": true,
	"millimeter": true, "millimeters": true, "centimeter": true, "centimeters": true,
	"kilometer": true, "kilometers": true, "inch": true, "inches": true, "ft": true,
	"foot": true, "feet": true, "yd": true, "yard": true, "yards": true, "mile": true,
	"miles": true, "mph": true, "kg": true, "gram": true, "grams": true, "kilogram": true,
	"kilograms": true, "lb": true, "lbs": true, "pound": true, "pounds": true, "oz": true,
	"ounce": true, "ounces": true, "ml": true, "liter": true, "liters": true, "litre": true,
	"litres": true, "gallon": true, "gallons": true, "sec": true, "second": true,
	"seconds": true, "min": true, "minute": true, "minutes": true, "hr": true, "hrs": true,
	"hour": true, "hours": true, "day": true, "days": true, "week": true, "weeks": true,
	"month": true, "months": true, "year": true, "years": true, "degree": true,
	"degrees": true, "dollar": true, "dollars": true, "cent": true, "cents": true,
	"percent": true, "unit": true, "units": true, "sq": true, "square": true, "cubic": true,
}

// stripUnits drops the units that end an answer after a quantity: trailing
// \text{...}-style groups of words (one starting with a space, as MATH
// writes units, or of two letters or more) and trailing unitWords, each
// with an optional ^2 or ^3. What is left must end like a quantity (a digit,
// '}' or ')'), so \text{yes} and "2x" are kept.
func stripUnits(s string) string {
	for range maxUnits {
		t, ok := stripUnit(s)
		if !ok {
			return s
		}
		s = t
	}
	return s
}

// maxUnits caps the trailing unit groups stripUnits drops, which keeps it
// linear in the answer's length.
const maxUnits = 4

// stripUnit drops one trailing unit as stripUnits describes.
func stripUnit(s string) (string, bool) {
	body := trimUnitPower(strings.TrimRight(s, " "))
	var rest string
	if strings.HasSuffix(body, "}") {
		start, content, ok := trailingTextGroup(body)
		if !ok || !isUnitText(content) {
			return s, false
		}
		rest = body[:start]
	} else {
		rest = trimUnitWords(body)
		if len(rest) == len(body) {
			return s, false
		}
	}
	rest = strings.TrimRight(rest, " ")
	if !endsLikeQuantity(rest) {
		return s, false
	}
	return rest, true
}

// trimUnitWords drops the unitWords that end s ("square feet"), each
// with an optional ^2 or ^3.
func trimUnitWords(s string) string {
	for {
		body := trimUnitPower(strings.TrimRight(s, " "))
		j := len(body)
		for j > 0 && (isLetter(body[j-1]) || body[j-1] == '.') {
			j--
		}
		if j > 0 && body[j-1] == '\\' {
			return s // a command such as \min, not a word
		}
		if !unitWords[asciiLower(strings.TrimRight(body[j:], "."))] {
			return s
		}
		s = body[:j]
	}
}

// trimUnitPower drops a trailing ^2, ^3, ^{2} or ^{3} from s.
func trimUnitPower(s string) string {
	for _, p := range []string{"^2", "^3", "^{2}", "^{3}"} {
		if t, ok := strings.CutSuffix(s, p); ok {
			return strings.TrimRight(t, " ")
		}
	}
	return s
}

// trailingTextGroup reads the text command whose braced argument ends s:
// where the command starts and its argument.
func trailingTextGroup(s string) (start int, content string, ok bool) {
	open := matchingOpenBrace(s)
	if open < 0 {
		return 0, "", false
	}
	cmdEnd := len(strings.TrimRight(s[:open], " "))
	i := cmdEnd
	for i > 0 && isLetter(s[i-1]) {
		i--
	}
	if i == 0 || s[i-1] != '\\' || !textCommands[s[i:cmdEnd]] {
		return 0, "", false
	}
	return i - 1, s[open+1 : len(s)-1], true
}

// matchingOpenBrace returns the index of the '{' matching the '}' that ends
// s, or -1. Escaped braces are skipped.
func matchingOpenBrace(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		if i > 0 && s[i-1] == '\\' {
			i--
			continue
		}
		switch s[i] {
		case '}':
			depth++
		case '{':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// isUnitText reports whether a text group's content names a unit: words
// only (letters, spaces, '.', '/'), either written after a space as MATH
// does or at least two letters long.
func isUnitText(content string) bool {
	letters := 0
	for i := 0; i < len(content); i++ {
		switch c := content[i]; {
		case isLetter(c):
			letters++
		case c == ' ' || c == '.' || c == '/':
		default:
			return false
		}
	}
	return letters >= 2 || (letters == 1 && content[0] == ' ')
}

// endsLikeQuantity reports whether s, what a unit follows, ends as a number
// or expression does: a digit, ')' or a '}' that does not close a text
// command.
func endsLikeQuantity(s string) bool {
	if s == "" {
		return false
	}
	switch s[len(s)-1] {
	case ')':
		return true
	case '}':
		_, _, text := trailingTextGroup(s)
		return !text
	}
	return isDigit(s[len(s)-1])
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

// mathValue is the value of an evaluated answer: exact when rat is set,
// else the float64 f.
type mathValue struct {
	rat *big.Rat
	f   float64
}

// exactValue wraps r, carrying it as a float64 when it is too large to
// keep computing with exactly.
func exactValue(r *big.Rat) mathValue {
	if r.Num().BitLen()+r.Denom().BitLen() > maxRatBits {
		f, _ := r.Float64()
		return mathValue{f: f}
	}
	return mathValue{rat: r}
}

// float returns v as a float64 (infinite when out of range).
func (v mathValue) float() float64 {
	if v.rat != nil {
		f, _ := v.rat.Float64()
		return f
	}
	return v.f
}

// finite reports whether v is a usable number.
func (v mathValue) finite() bool {
	if v.rat != nil {
		return true
	}
	return !math.IsNaN(v.f) && !math.IsInf(v.f, 0)
}

// evalMath evaluates a normalised answer as a number: decimals (exact),
// + - * / and \cdot \times \div, unary signs, parentheses and braces,
// \frac{a}{b}, mixed numbers (3\frac{1}{2} is 3.5), powers (exact for
// integer exponents), \sqrt{x} and \sqrt[n]{x} (exact for perfect powers)
// and \pi (inexact). A factor directly before \frac, \sqrt, \pi or a
// bracket multiplies it, binding tighter than '/'. ok is false for
// anything else, such as a variable, and for a division by zero.
func evalMath(s string) (mathValue, bool) {
	if s == "" || len(s) > maxMathEval {
		return mathValue{}, false
	}
	p := mathParser{s: s}
	v, ok := p.expr()
	if !ok || p.pos != len(s) || !v.finite() {
		return mathValue{}, false
	}
	return v, true
}

// mathParser is evalMath's recursive-descent parser.
type mathParser struct {
	s     string
	pos   int
	depth int // nesting of expr calls
}

// peek returns the next byte, or 0 at the end.
func (p *mathParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// accept consumes b when it comes next.
func (p *mathParser) accept(b byte) bool {
	if p.peek() == b {
		p.pos++
		return true
	}
	return false
}

// commandAt returns the name of the command starting at the current
// position ("frac" for \frac), or "".
func (p *mathParser) commandAt() string {
	if p.peek() != '\\' {
		return ""
	}
	j := p.pos + 1
	for j < len(p.s) && isLetter(p.s[j]) {
		j++
	}
	return p.s[p.pos+1 : j]
}

// acceptCommand consumes the command \name when it comes next.
func (p *mathParser) acceptCommand(name string) bool {
	if p.commandAt() == name {
		p.pos += 1 + len(name)
		return true
	}
	return false
}

// expr parses a sum: products joined by + and -.
func (p *mathParser) expr() (mathValue, bool) {
	if p.depth >= maxMathDepth {
		return mathValue{}, false
	}
	p.depth++
	v, ok := p.product()
	for ok {
		var neg bool
		switch {
		case p.accept('+'):
		case p.accept('-'):
			neg = true
		default:
			p.depth--
			return v, true
		}
		var w mathValue
		if w, ok = p.product(); ok {
			v = addValues(v, w, neg)
		}
	}
	p.depth--
	return v, false
}

// product parses factors joined by * / \cdot \times \div.
func (p *mathParser) product() (mathValue, bool) {
	v, ok := p.unary()
	for ok {
		var div bool
		switch {
		case p.accept('*'), p.acceptCommand("cdot"), p.acceptCommand("times"):
		case p.accept('/'), p.acceptCommand("div"):
			div = true
		default:
			return v, true
		}
		var w mathValue
		if w, ok = p.unary(); !ok {
			break
		}
		if div {
			v, ok = divValues(v, w)
		} else {
			v = mulValues(v, w)
		}
	}
	return v, false
}

// unary parses a signed implicit product.
func (p *mathParser) unary() (mathValue, bool) {
	switch {
	case p.accept('-'):
		v, ok := p.unary()
		return negValue(v), ok
	case p.accept('+'):
		return p.unary()
	}
	return p.implicitProduct()
}

// implicitProduct parses powers written side by side, as in 2\sqrt{3} or
// 3\pi(1+2).
func (p *mathParser) implicitProduct() (mathValue, bool) {
	v, ok := p.power()
	for ok && p.startsFactor() {
		var w mathValue
		if w, ok = p.power(); ok {
			v = mulValues(v, w)
		}
	}
	return v, ok
}

// startsFactor reports whether an implicit factor starts next. A digit
// can only follow a factor that is not a bare number, as in \sqrt{2}3,
// which TeX reads as the product.
func (p *mathParser) startsFactor() bool {
	switch c := p.peek(); {
	case c == '(' || c == '{' || isDigit(c):
		return true
	case c == '\\':
		switch p.commandAt() {
		case "frac", "sqrt", "pi":
			return true
		}
	}
	return false
}

// power parses an atom with an optional exponent: ^{expr} or ^digit.
func (p *mathParser) power() (mathValue, bool) {
	base, ok := p.atom()
	if !ok || !p.accept('^') {
		return base, ok
	}
	var exp mathValue
	switch c := p.peek(); {
	case c == '{':
		if exp, ok = p.group('{', '}'); !ok {
			return mathValue{}, false
		}
	case isDigit(c):
		exp = exactValue(new(big.Rat).SetInt64(int64(c - '0')))
		p.pos++
	default:
		return mathValue{}, false
	}
	return powValue(base, exp)
}

// atom parses a number, a bracketed group, \frac, \sqrt or \pi.
func (p *mathParser) atom() (mathValue, bool) {
	switch c := p.peek(); {
	case isDigit(c) || c == '.':
		return p.number()
	case c == '(':
		return p.group('(', ')')
	case c == '{':
		return p.group('{', '}')
	case c == '\\':
		switch {
		case p.acceptCommand("frac"):
			num, ok := p.group('{', '}')
			if !ok {
				return mathValue{}, false
			}
			den, ok := p.group('{', '}')
			if !ok {
				return mathValue{}, false
			}
			return divValues(num, den)
		case p.acceptCommand("sqrt"):
			index := int64(2)
			if p.peek() == '[' {
				n, ok := p.group('[', ']')
				if !ok || n.rat == nil || !n.rat.IsInt() || !n.rat.Num().IsInt64() {
					return mathValue{}, false
				}
				if index = n.rat.Num().Int64(); index < 2 || index > maxRootIndex {
					return mathValue{}, false
				}
			}
			x, ok := p.group('{', '}')
			if !ok {
				return mathValue{}, false
			}
			return rootValue(x, index)
		case p.acceptCommand("pi"):
			return mathValue{f: math.Pi}, true
		}
	}
	return mathValue{}, false
}

// group parses open expr close.
func (p *mathParser) group(open, close byte) (mathValue, bool) {
	if !p.accept(open) {
		return mathValue{}, false
	}
	v, ok := p.expr()
	if !ok || !p.accept(close) {
		return mathValue{}, false
	}
	return v, true
}

// number parses a decimal (digits, a point, digits, and an exponent of up
// to three digits such as e-5) exactly, and a mixed number: an integer
// followed by \frac{d}{d} of digits is their sum.
func (p *mathParser) number() (mathValue, bool) {
	start := p.pos
	p.skipDigits()
	integer := true
	if p.accept('.') {
		integer = false
		p.skipDigits()
	}
	lit := strings.TrimSuffix(p.s[start:p.pos], ".")
	if lit == "" || lit == "." {
		return mathValue{}, false
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		k := p.pos + 1
		if k < len(p.s) && (p.s[k] == '-' || p.s[k] == '+') {
			k++
		}
		d := k
		for k < len(p.s) && isDigit(p.s[k]) {
			k++
		}
		if k > d && k-d <= 3 {
			lit = lit + p.s[p.pos:k]
			p.pos = k
			integer = false
		}
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return mathValue{}, false
	}
	if integer {
		if frac, n, ok := mixedFraction(p.s[p.pos:]); ok {
			r.Add(r, frac)
			p.pos += n
		}
	}
	return exactValue(r), true
}

// skipDigits advances past a run of digits.
func (p *mathParser) skipDigits() {
	for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
		p.pos++
	}
}

// mixedFraction reads the \frac{d}{d} of digits that starts s: its value
// and length.
func mixedFraction(s string) (*big.Rat, int, bool) {
	rest, ok := strings.CutPrefix(s, `\frac{`)
	if !ok {
		return nil, 0, false
	}
	num, rest, ok := cutDigits(rest, "}{")
	if !ok {
		return nil, 0, false
	}
	den, rest, ok := cutDigits(rest, "}")
	if !ok {
		return nil, 0, false
	}
	n, _ := new(big.Int).SetString(num, 10)
	d, _ := new(big.Int).SetString(den, 10)
	if d.Sign() == 0 {
		return nil, 0, false
	}
	return new(big.Rat).SetFrac(n, d), len(s) - len(rest), true
}

// cutDigits reads the digits that start s up to sep: the digits and what
// follows sep.
func cutDigits(s, sep string) (digits, rest string, ok bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || !strings.HasPrefix(s[i:], sep) {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

// addValues returns a+b, or a-b when neg.
func addValues(a, b mathValue, neg bool) mathValue {
	if a.rat != nil && b.rat != nil {
		if neg {
			return exactValue(new(big.Rat).Sub(a.rat, b.rat))
		}
		return exactValue(new(big.Rat).Add(a.rat, b.rat))
	}
	if neg {
		return mathValue{f: a.float() - b.float()}
	}
	return mathValue{f: a.float() + b.float()}
}

// mulValues returns a*b.
func mulValues(a, b mathValue) mathValue {
	if a.rat != nil && b.rat != nil {
		return exactValue(new(big.Rat).Mul(a.rat, b.rat))
	}
	return mathValue{f: a.float() * b.float()}
}

// divValues returns a/b; ok is false when b is zero.
func divValues(a, b mathValue) (mathValue, bool) {
	if b.rat != nil {
		if b.rat.Sign() == 0 {
			return mathValue{}, false
		}
		if a.rat != nil {
			return exactValue(new(big.Rat).Quo(a.rat, b.rat)), true
		}
	}
	d := b.float()
	if d == 0 {
		return mathValue{}, false
	}
	return mathValue{f: a.float() / d}, true
}

// negValue returns -v.
func negValue(v mathValue) mathValue {
	if v.rat != nil {
		return mathValue{rat: new(big.Rat).Neg(v.rat)}
	}
	return mathValue{f: -v.f}
}

// powValue returns base^exp: exact for a rational base and an integer
// exponent while the result stays under maxRatBits, else as a float64.
// ok is false for 0 to a negative power and for results that are not
// finite real numbers.
func powValue(base, exp mathValue) (mathValue, bool) {
	if base.rat != nil && exp.rat != nil && exp.rat.IsInt() && exp.rat.Num().IsInt64() {
		n := exp.rat.Num().Int64()
		bits := int64(base.rat.Num().BitLen() + base.rat.Denom().BitLen())
		if n >= -maxExactExponent && n <= maxExactExponent && bits*abs64(n) <= maxRatBits {
			if base.rat.Sign() == 0 && n < 0 {
				return mathValue{}, false
			}
			e := big.NewInt(abs64(n))
			num := new(big.Int).Exp(base.rat.Num(), e, nil)
			den := new(big.Int).Exp(base.rat.Denom(), e, nil)
			if n < 0 {
				num, den = den, num
			}
			return exactValue(new(big.Rat).SetFrac(num, den)), true
		}
	}
	f := math.Pow(base.float(), exp.float())
	return mathValue{f: f}, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// rootValue returns the n-th root of x: exact when x is a rational whose
// numerator and denominator are perfect n-th powers. ok is false for an
// even root of a negative number.
func rootValue(x mathValue, n int64) (mathValue, bool) {
	if x.rat != nil {
		sign := x.rat.Sign()
		if sign < 0 && n%2 == 0 {
			return mathValue{}, false
		}
		a := new(big.Rat).Abs(x.rat)
		if num, ok := intRoot(a.Num(), n); ok {
			if den, ok := intRoot(a.Denom(), n); ok {
				r := new(big.Rat).SetFrac(num, den)
				if sign < 0 {
					r.Neg(r)
				}
				return exactValue(r), true
			}
		}
	}
	f := x.float()
	if f < 0 && n%2 == 0 {
		return mathValue{}, false
	}
	var root float64
	switch {
	case n == 2:
		root = math.Sqrt(f)
	case f < 0:
		root = -math.Pow(-f, 1/float64(n))
	default:
		root = math.Pow(f, 1/float64(n))
	}
	return mathValue{f: root}, !math.IsNaN(root) && !math.IsInf(root, 0)
}

// intRoot returns the integer n-th root of x >= 0 when x is a perfect n-th
// power.
func intRoot(x *big.Int, n int64) (*big.Int, bool) {
	if n == 2 {
		r := new(big.Int).Sqrt(x)
		return r, new(big.Int).Mul(r, r).Cmp(x) == 0
	}
	f, _ := new(big.Float).SetInt(x).Float64()
	if math.IsInf(f, 0) {
		return nil, false
	}
	guess, _ := big.NewFloat(math.Round(math.Pow(f, 1/float64(n)))).Int(nil)
	e := big.NewInt(n)
	for _, d := range []int64{0, -1, 1} {
		r := new(big.Int).Add(guess, big.NewInt(d))
		if r.Sign() >= 0 && new(big.Int).Exp(r, e, nil).Cmp(x) == 0 {
			return r, true
		}
	}
	return nil, false
}

// abs64 returns |n|.
func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
