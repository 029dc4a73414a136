package judge

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

func TestTypes(t *testing.T) {
	want := []string{"choice", "code", "contains", "exact", "exec", "f1", "llm", "math", "numeric", "regex"}
	if got := Types(); !slices.Equal(got, want) {
		t.Errorf("Types() = %v, want %v", got, want)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Judge
		wantErr string // "" = no error
	}{
		{"exact", config.Judge{Name: "a", Type: "exact"}, ""},
		{"contains case", config.Judge{Name: "a", Type: "contains", CaseSensitive: true}, ""},
		{"regex", config.Judge{Name: "a", Type: "regex", Pattern: `(\d+)`}, ""},
		{"numeric", config.Judge{Name: "a", Type: "numeric", Tolerance: 0.01}, ""},
		{"choice", config.Judge{Name: "a", Type: "choice", Letters: "ABCDE"}, ""},
		{"math pattern", config.Judge{Name: "a", Type: "math", Pattern: `= (.+)`}, ""},
		{"unknown", config.Judge{Name: "x", Type: "foo"},
			`judge "x": unknown type "foo" (want one of: choice, code, contains, exact, exec, f1, llm, math, numeric, regex)`},
		{"empty type", config.Judge{Name: "x"}, `judge "x": unknown type ""`},
		{"regex without pattern", config.Judge{Name: "r", Type: "regex"}, `judge "r": option "pattern" is required`},
		{"invalid regex", config.Judge{Name: "r", Type: "regex", Pattern: "("}, `judge "r": option "pattern": compile "("`},
		{"invalid numeric pattern", config.Judge{Name: "n", Type: "numeric", Pattern: "[a"}, `judge "n": option "pattern"`},
		{"invalid math pattern", config.Judge{Name: "m", Type: "math", Pattern: "*"}, `judge "m": option "pattern"`},
		{"negative tolerance", config.Judge{Name: "n", Type: "numeric", Tolerance: -1}, `judge "n": option "tolerance": must be`},
		{"nan tolerance", config.Judge{Name: "n", Type: "numeric", Tolerance: math.NaN()}, `judge "n": option "tolerance"`},
		{"duplicate letters", config.Judge{Name: "c", Type: "choice", Letters: "ABCA"}, `judge "c": option "letters": letter "A" appears twice`},
		{"duplicate letters by case", config.Judge{Name: "c", Type: "choice", Letters: "ABb"}, `judge "c": option "letters": letter "b" appears twice`},
		{"one letter", config.Judge{Name: "c", Type: "choice", Letters: "A"}, `judge "c": option "letters": want at least two`},
		{"symbol letter", config.Judge{Name: "c", Type: "choice", Letters: "A-"}, `judge "c": option "letters": "-" is not`},
		{"pattern on exact", config.Judge{Name: "e", Type: "exact", Pattern: "x"}, `judge "e": option "pattern" does not apply to type "exact"`},
		{"tolerance on math", config.Judge{Name: "m", Type: "math", Tolerance: 1}, `judge "m": option "tolerance" does not apply`},
		{"letters on numeric", config.Judge{Name: "n", Type: "numeric", Letters: "AB"}, `judge "n": option "letters" does not apply`},
		{"case on choice", config.Judge{Name: "c", Type: "choice", CaseSensitive: true}, `judge "c": option "case_sensitive" does not apply`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := New(t.Context(), tt.cfg, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if j.Name() != tt.cfg.Name {
					t.Errorf("Name() = %q, want %q", j.Name(), tt.cfg.Name)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestNameDefaultsToType(t *testing.T) {
	j, err := New(t.Context(), config.Judge{Type: "math"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if j.Name() != "math" {
		t.Errorf("Name() = %q, want %q", j.Name(), "math")
	}
}

func TestHash(t *testing.T) {
	base := config.Judge{Name: "answer", Type: "numeric", Tolerance: 0.01}
	h := Hash(base)
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("Hash = %q, want 64 hex digits", h)
	}
	// A fixed value: the hash is stored with scores, so it must not drift
	// between builds. Change it only together with a version bump.
	const golden = "a4dea75575482e28d19047f540025d5d5beb55f77535a7a77e4f6663f4e15ed6"
	if got := Hash(config.Judge{Name: "answer", Type: "math"}); got != golden {
		t.Logf("Hash(math) = %s", got)
		t.Errorf("Hash of a fixed config changed; update golden only with a judge version bump")
	}
	same := []struct {
		name string
		cfg  config.Judge
	}{
		{"identical", base},
		{"primary ignored", config.Judge{Name: "answer", Type: "numeric", Tolerance: 0.01, Primary: true}},
	}
	for _, tt := range same {
		t.Run("same/"+tt.name, func(t *testing.T) {
			if Hash(tt.cfg) != h {
				t.Errorf("Hash(%+v) differs from Hash(%+v)", tt.cfg, base)
			}
		})
	}
	if Hash(config.Judge{Name: "n", Type: "numeric"}) != Hash(config.Judge{Name: "n", Type: "numeric", Tolerance: defaultTolerance}) {
		t.Error("spelling out the default tolerance changed the hash")
	}
	differ := []struct {
		name string
		cfg  config.Judge
	}{
		{"name", config.Judge{Name: "other", Type: "numeric", Tolerance: 0.01}},
		{"type", config.Judge{Name: "answer", Type: "math"}},
		{"tolerance", config.Judge{Name: "answer", Type: "numeric", Tolerance: 0.02}},
		{"pattern", config.Judge{Name: "answer", Type: "numeric", Tolerance: 0.01, Pattern: "x"}},
	}
	seen := map[string]string{h: "base"}
	for _, tt := range differ {
		t.Run("differ/"+tt.name, func(t *testing.T) {
			got := Hash(tt.cfg)
			if prev, ok := seen[got]; ok {
				t.Errorf("Hash(%+v) equals the hash of %s", tt.cfg, prev)
			}
			seen[got] = tt.name
		})
	}
	if Hash(config.Judge{Name: "e", Type: "exact"}) == Hash(config.Judge{Name: "e", Type: "exact", CaseSensitive: true}) {
		t.Error("case_sensitive does not change the exact hash")
	}
	if Hash(config.Judge{Name: "c", Type: "choice"}) == Hash(config.Judge{Name: "c", Type: "choice", Letters: "ABCDE"}) {
		t.Error("letters do not change the choice hash")
	}
}
