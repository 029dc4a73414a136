package judge

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/config"
)

// mathRelTolerance is how close two numeric answers must be, relative to the
// larger magnitude, for the math judge to call them equal.
const mathRelTolerance = 1e-8

// mathJudge compares MATH-style final answers: normalised strings, or numbers.
// It is deliberately basic; symbolic equivalence is not attempted.
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
// has one), and passes it when it equals a gold answer: the same string after
// normalizeMath, or numbers (also \frac{a}{b} and a/b) within 1e-8 relative.
// A gold holding a \boxed{} is read from the box. No answer is unscored.
func (j *mathJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	gs := golds(item)
	if len(gs) == 0 {
		return judgeError("item has no gold answer"), nil
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
		if equalMath(na, normalizeMath(g)) {
			return binary(true, answer, fmt.Sprintf("equals gold %q", g)), nil
		}
	}
	return binary(false, answer, "matches no gold answer"), nil
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

// equalMath reports whether two normalised answers are equal as strings or
// as numbers.
func equalMath(a, b string) bool {
	if a == b {
		return true
	}
	x, ok := mathNumber(a)
	if !ok {
		return false
	}
	y, ok := mathNumber(b)
	if !ok {
		return false
	}
	return x == y || math.Abs(x-y) <= mathRelTolerance*math.Max(math.Abs(x), math.Abs(y))
}

var (
	// mathSpacing are LaTeX spacing and sizing commands that never change
	// an answer.
	mathSpacing = strings.NewReplacer(
		`\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, "", `\displaystyle`, "",
		`\dfrac`, `\frac`, `\tfrac`, `\frac`,
		`^{\circ}`, "", `^\circ`, "", `\%`, "", `%`, "", `\$`, "", "$", "",
	)
	// delimiterSize matches \left and \right before their delimiter (not
	// \leftarrow or \rightarrow).
	delimiterSize = regexp.MustCompile(`\\(?:left|right)([^A-Za-z]|$)`)
	// fracShorthand matches \frac12 and \frac1{2}, written without braces.
	fracShorthand = regexp.MustCompile(`\\frac([0-9])([0-9]|\{)`)
	// leadingVariable matches "x=" opening an answer.
	leadingVariable = regexp.MustCompile(`^[A-Za-z]=`)
	// thousands matches an integer written with thousands separators.
	thousands = regexp.MustCompile(`^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)
	// trailingZeros matches a decimal whose fraction is only zeros.
	trailingZeros = regexp.MustCompile(`^(-?[0-9]+)\.0*$`)
	// plainNumber matches a decimal number, optionally signed and with an
	// exponent.
	plainNumber = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
	// fraction matches \frac{a}{b} and a/b over plain numbers.
	fraction = regexp.MustCompile(`^(-?)(?:\\frac\{([^{}]+)\}\{([^{}]+)\}|([^/]+)/([^/]+))$`)
)

// textCommands are the commands whose braced argument normalizeMath keeps
// and whose name it drops: \text{cm} reads "cm".
var textCommands = []string{`\text`, `\textbf`, `\textit`, `\textrm`, `\mathrm`, `\mathbf`, `\mbox`}

// normalizeMath rewrites a MATH answer into a canonical string: \text{...}
// and kin replaced by their content, \left and \right dropped, spacing
// commands, '$', degrees and percent signs removed, \dfrac and \tfrac read as
// \frac, all whitespace removed, a leading "x=" dropped, thousands
// separators removed, and a trailing '.' or all-zero decimal part dropped.
func normalizeMath(s string) string {
	s = unwrapTextCommands(s)
	s = delimiterSize.ReplaceAllString(s, "$1")
	s = mathSpacing.Replace(s)
	s = strings.Join(strings.Fields(s), "")
	s = fracShorthand.ReplaceAllString(s, `\frac{$1}$2`)
	s = fixFracSecond(s)
	s = leadingVariable.ReplaceAllString(s, "")
	s = strings.TrimSuffix(s, ".")
	if thousands.MatchString(s) {
		s = strings.ReplaceAll(s, ",", "")
	}
	if m := trailingZeros.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	return s
}

// fixFracSecond completes the shorthand fracShorthand leaves half done:
// \frac{1}2 becomes \frac{1}{2}.
func fixFracSecond(s string) string {
	const head = `\frac{`
	var b strings.Builder
	for {
		i := strings.Index(s, head)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(head)])
		s = s[i+len(head):]
		close := strings.IndexByte(s, '}')
		if close < 0 || strings.ContainsAny(s[:close], "{") || close+1 >= len(s) || !isDigit(s[close+1]) {
			continue
		}
		b.WriteString(s[:close+1])
		b.WriteString("{" + s[close+1:close+2] + "}")
		s = s[close+2:]
	}
}

// unwrapTextCommands replaces every \text{x} (and the other textCommands)
// by x.
func unwrapTextCommands(s string) string {
	for {
		changed := false
		for _, cmd := range textCommands {
			i := indexCommand(s, cmd)
			if i < 0 {
				continue
			}
			rest := strings.TrimLeft(s[i+len(cmd):], " ")
			content, ok := braceGroup(rest)
			if !ok {
				// An unbalanced argument: drop the command name only.
				s = s[:i] + rest
			} else {
				s = s[:i] + content + rest[len(content)+2:]
			}
			changed = true
		}
		if !changed {
			return s
		}
	}
}

// indexCommand returns the index of the first cmd in s that is a whole
// command name (not followed by a letter) and takes a braced argument, or -1.
func indexCommand(s, cmd string) int {
	off := 0
	for {
		i := strings.Index(s[off:], cmd)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(cmd)
		if end < len(s) && isLetter(s[end]) {
			off = end
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(s[end:], " "), "{") {
			return i
		}
		off = end
	}
}

// mathNumber reads a normalised answer as a number: a plain decimal, or a
// fraction of two plain decimals as \frac{a}{b} or a/b, optionally negated.
func mathNumber(s string) (float64, bool) {
	if plainNumber.MatchString(s) {
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil && !math.IsInf(v, 0)
	}
	m := fraction.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	num, den := m[2], m[3]
	if num == "" {
		num, den = m[4], m[5]
	}
	if !plainNumber.MatchString(num) || !plainNumber.MatchString(den) {
		return 0, false
	}
	a, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	b, err := strconv.ParseFloat(den, 64)
	if err != nil || b == 0 {
		return 0, false
	}
	v := a / b
	if m[1] == "-" {
		v = -v
	}
	return v, !math.IsInf(v, 0) && !math.IsNaN(v)
}
