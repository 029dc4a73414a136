// The math judge's comparison rules: when two normalised answers are equal
// (as strings, element by element for tuples and intervals, as exact
// rationals, or as numbers within a tolerance).

package judge

import (
	"math"
	"strings"
)

// mathRelTolerance is how close two numeric answers must be, relative to the
// larger magnitude, for the math judge to call them equal.
const mathRelTolerance = 1e-8

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
// when both are rationals, else as float64 within mathRelTolerance. Two
// integers are equal only exactly: the tolerance would make 99999999999
// equal 100000000000.
func equalScalars(a, b string) (bool, string) {
	va, ok := evalMath(a)
	if !ok {
		return false, ""
	}
	vb, ok := evalMath(b)
	if !ok {
		return false, ""
	}
	if va.rat != nil && vb.rat != nil {
		if va.rat.Cmp(vb.rat) == 0 {
			return true, equalRationals
		}
		if va.rat.IsInt() && vb.rat.IsInt() {
			return false, ""
		}
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
