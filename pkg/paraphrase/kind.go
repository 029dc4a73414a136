package paraphrase

import (
	"fmt"
	"strings"
)

// Kind is a task kind: the rewriter's rules, and some of the filters,
// depend on it.
type Kind string

// The task kinds. KindOpen is the default when a data set gives none.
const (
	KindOpen    Kind = "open"    // a free-form question: the general rules only
	KindMath    Kind = "math"    // a math problem: every expression, variable and condition kept
	KindChoice  Kind = "choice"  // multiple choice: only the stem is rewritten
	KindReading Kind = "reading" // reading comprehension: only the question is rewritten
)

// Kinds returns every task kind, in the order they are documented.
func Kinds() []Kind {
	return []Kind{KindOpen, KindMath, KindChoice, KindReading}
}

// ParseKind returns the kind named s, ignoring case and surrounding
// spaces. An empty s is KindOpen; an unknown name is an error that lists
// the valid kinds.
func ParseKind(s string) (Kind, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return KindOpen, nil
	}
	for _, k := range Kinds() {
		if string(k) == name {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown task kind %q (want one of: %s)", s, kindList())
}

// valid reports whether k is one of Kinds.
func (k Kind) valid() bool {
	for _, known := range Kinds() {
		if k == known {
			return true
		}
	}
	return false
}

func kindList() string {
	names := make([]string, 0, len(Kinds()))
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}
