// Package problem is the one error a dars user reads: a cause, whether it
// lies in the user's usage, run file or data (an input problem, exit 2) or
// elsewhere, and the likely fix when one is known.
//
// Every package reports a known fix the same way, by wrapping its error
// with Hint or Input; the CLI prints the cause once as "dars: ..." and each
// distinct hint in the error's tree once as "hint: ..." (see Hints), and
// maps input problems to exit code 2 (see IsInput). A message never
// carries its hint inline.
package problem

// Error is a cause with an optional hint and its class.
type Error struct {
	Err   error  // the cause; Error() is its message
	Fix   string // the likely fix, one line; "" when none is known
	input bool   // the problem lies in the usage, run file or data
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Input marks err as a problem with the usage, the run file or the data,
// with hint as its likely fix ("" for none). Input(nil, ...) is nil.
func Input(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Fix: hint, input: true}
}

// Hint attaches a likely fix to err without changing its class; err stays
// reachable with errors.Is and errors.As. Hint(nil, ...) is nil, and an
// empty hint returns err itself.
func Hint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &Error{Err: err, Fix: hint}
}

// IsInput reports whether any error in err's tree was marked by Input.
func IsInput(err error) bool {
	found := false
	walk(err, func(e *Error) {
		if e.input {
			found = true
		}
	})
	return found
}

// Hints returns the distinct hints in err's tree, outermost first.
func Hints(err error) []string {
	var out []string
	seen := map[string]bool{}
	walk(err, func(e *Error) {
		if e.Fix != "" && !seen[e.Fix] {
			seen[e.Fix] = true
			out = append(out, e.Fix)
		}
	})
	return out
}

// walk calls fn for every *Error in err's tree, depth first, outermost
// first, following Unwrap() error and Unwrap() []error as errors.As does.
func walk(err error, fn func(*Error)) {
	for err != nil {
		if e, ok := err.(*Error); ok {
			fn(e)
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c, fn)
			}
			return
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		default:
			return
		}
	}
}
