package problem

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestHintsAndInput(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name  string
		err   error
		hints []string
		input bool
	}{
		{"plain", base, nil, false},
		{"hint", Hint(base, "do x"), []string{"do x"}, false},
		{"input", Input(base, ""), nil, true},
		{"input with hint, wrapped", fmt.Errorf("load: %w", Input(base, "fix the file")), []string{"fix the file"}, true},
		{"nested", Hint(fmt.Errorf("run: %w", Input(base, "inner")), "outer"), []string{"outer", "inner"}, true},
		{"joined, deduplicated", errors.Join(Hint(base, "a"), Input(errors.New("c"), "b"), Hint(base, "a")), []string{"a", "b"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hints(tt.err); !slices.Equal(got, tt.hints) {
				t.Errorf("Hints = %q, want %q", got, tt.hints)
			}
			if got := IsInput(tt.err); got != tt.input {
				t.Errorf("IsInput = %v, want %v", got, tt.input)
			}
			if !errors.Is(tt.err, base) && tt.name != "joined, deduplicated" {
				t.Errorf("the cause is lost: %v", tt.err)
			}
			if tt.err.Error() == "" {
				t.Error("empty message")
			}
		})
	}
	if Input(nil, "x") != nil || Hint(nil, "x") != nil {
		t.Error("a nil error must stay nil")
	}
	if Hint(base, "") != base {
		t.Error("an empty hint must return the error itself")
	}
	if got := Hint(base, "h").Error(); got != "boom" {
		t.Errorf("message %q carries the hint; want the cause's only", got)
	}
}
