package judge

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/darslabs/dars/pkg/config"
)

// Tolerances of the numeric judge.
const (
	defaultTolerance  = 1e-6 // absolute, when the run file sets none
	relativeTolerance = 1e-9 // added, relative to the larger magnitude
)

// numericJudge compares the number an output gives with the gold number.
type numericJudge struct {
	name      string
	tolerance float64
	re        *regexp.Regexp // optional extraction pattern
}

var _ Judge = (*numericJudge)(nil)

func newNumeric(cfg config.Judge) (Judge, error) {
	tol := cfg.Tolerance
	switch {
	case math.IsNaN(tol) || math.IsInf(tol, 0) || tol < 0:
		return nil, fmt.Errorf("judge %q: option %q: must be a finite number >= 0, got %v", cfg.Name, optTolerance, tol)
	case tol == 0:
		tol = defaultTolerance
	}
	re, err := optionalPattern(cfg)
	if err != nil {
		return nil, err
	}
	j := &numericJudge{name: displayName(cfg), tolerance: tol}
	j.re = re
	return j, nil
}

// Name returns the judge's configured name.
func (j *numericJudge) Name() string { return j.name }

// Judge reads the output's number and passes it when it is within the
// tolerance of any gold: |x-g| <= tolerance + 1e-9*max(|x|,|g|), the
// relative term only when x or g is not an integer (two integers compare
// exactly, but for the configured tolerance).
//
// With a pattern, the number is read from the last match (its first group
// when it has one), and no match is unscored; without one, ExtractNumber
// reads it. No number is unscored. Golds are read with ExtractNumber too; an
// item without a numeric gold is an error verdict.
func (j *numericJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	gs, v, ok, err := needGolds(ctx, item)
	if !ok {
		return v, err
	}
	var gold []float64
	for _, g := range gs {
		if v, _, ok := ExtractNumber(g); ok {
			gold = append(gold, v)
		}
	}
	if len(gold) == 0 {
		return judgeError(fmt.Sprintf("gold answer %q is not a number", gs[0])), nil
	}
	var (
		x    float64
		text string
	)
	if j.re != nil {
		m, matched := lastMatch(j.re, output)
		if !matched {
			return unscored("pattern does not match"), nil
		}
		x, text, ok = answerNumber(m)
	} else {
		x, text, ok = ExtractNumber(output)
	}
	if !ok {
		return unscored("no number in the answer"), nil
	}
	for _, g := range gold {
		rel := relativeTolerance * math.Max(math.Abs(x), math.Abs(g))
		if isInteger(x) && isInteger(g) {
			rel = 0
		}
		if math.Abs(x-g) <= j.tolerance+rel {
			return binary(true, text, "equals gold "+formatNumber(g)), nil
		}
	}
	return binary(false, text, fmt.Sprintf("%s is not gold %s", formatNumber(x), formatNumber(gold[0]))), nil
}

// formatNumber writes v in its shortest exact form.
func formatNumber(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// isInteger reports whether v is a whole number a float64 holds exactly
// (|v| < 2^53): beyond that, neighbouring integers are not apart.
func isInteger(v float64) bool { return v == math.Trunc(v) && math.Abs(v) < 1<<53 }
