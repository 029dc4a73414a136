// The math judge: the judge itself, which reads the answer with the
// extractors of extract.go and decides with the rules of the other math_*
// files: math_equal.go (when two answers are equal), math_normalize.go and
// math_units.go (the canonical form both are compared in), math_eval.go (the
// value of an answer) and math_brackets.go (the bracket scanners they share).

package judge

import (
	"context"
	"fmt"
	"regexp"

	"github.com/darslabs/dars/pkg/config"
)

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
