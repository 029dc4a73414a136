package judge

import (
	"context"
	"math"
	"strings"
	"testing"
	"unicode"

	"github.com/darslabs/dars/pkg/config"
)

func TestNormalizeF1(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"The Cat", "cat"},
		{"  a   cat,\n sat  on\tthe mat. ", "cat sat on mat"},
		{"An apple", "apple"},
		{"theatre another", "theatre another"}, // articles only as whole words
		{"(a)", ""},
		{"The U.S. Army", "us army"},
		{"don't", "dont"},
		{"“Quoted” — text…", "quoted text"},
		{"well-known", "well known"},
		{"1990–1995", "1990 1995"},
		{"1,000", "1000"},
		{"1,234,567.50", "1234567.5"},
		{"3.0", "3"},
		{"3.0.", "3"},
		{"$2.50", "2.5"},
		{"007", "7"},
		{".5", "0.5"},
		{"0,05", "5"},
		{"1,2", "12"},
		{"three", "three"},
		{"-5", "5"}, // DROP splits on hyphens, so a minus sign is lost
		{"12%", "12"},
		{"", ""},
		{"the a an", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := NormalizeF1(tt.in); got != tt.want {
				t.Errorf("NormalizeF1(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTokenF1(t *testing.T) {
	tests := []struct {
		name       string
		pred, gold string
		want       float64
	}{
		{"equal", "Paris", "paris", 1},
		{"disjoint", "London", "Paris", 0},
		{"subset", "cat sat", "the cat sat on the mat", 2.0 / 3},                  // p=1, r=1/2
		{"articles dropped", "a cat on a mat", "the cat sat on the mat", 6.0 / 7}, // p=1, r=3/4
		{"superset", "the cat sat on the mat today", "cat sat", 4.0 / 7},          // p=2/5, r=1
		{"multiset", "paris paris", "paris", 2.0 / 3},                             // one paris is shared, not two
		{"four of five", "one two three four six", "one two three four five", 0.8},
		{"numbers", "1,000 dollars", "1000.0 dollars", 1},
		{"both empty", "the", "a", 1},
		{"answer empty", "the", "paris", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tokenF1(f1Tokens(tt.pred), f1Tokens(tt.gold))
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("tokenF1(%q, %q) = %v, want %v", tt.pred, tt.gold, got, tt.want)
			}
		})
	}
}

func TestF1Judge(t *testing.T) {
	tests := []struct {
		name      string
		threshold float64 // 0: the default
		item      Item
		output    string
		status    string
		score     float64
		passed    bool
		extracted string
		detail    string
	}{
		{"exact", 0, gold("Denver Broncos"), "Final Answer: the Denver Broncos.", scored, 1, true, "the Denver Broncos", "f1=1.000 em=1"},
		{"partial below default", 0, gold("the cat sat on the mat"), "Final Answer: cat sat", scored, 2.0 / 3, false, "cat sat", "f1=0.667 em=0"},
		{"partial passes lower threshold", 0.5, gold("the cat sat on the mat"), "Final Answer: cat sat", scored, 2.0 / 3, true, "cat sat", "f1=0.667 em=0"},
		{"exactly at default threshold", 0, gold("one two three four five"), "Final Answer: one two three four six", scored, 0.8, true, "one two three four six", "f1=0.800 em=0"},
		{"below threshold 0.9", 0.9, gold("one two three four five"), "Final Answer: one two three four six", scored, 0.8, false, "one two three four six", "f1=0.800 em=0"},
		{"threshold 1 needs perfect", 1, gold("cat sat on mat"), "Final Answer: a cat sat on the mat", scored, 1, true, "a cat sat on the mat", "f1=1.000 em=1"},
		{"max over golds", 0, gold("Barack Obama", "Obama", "President Barack Hussein Obama"), "Final Answer: Obama", scored, 1, true, "Obama", "f1=1.000 em=1"},
		{"best gold not first", 0, gold("the Eiffel Tower in Paris", "Eiffel Tower"), "Final Answer: Eiffel Tower, Paris", scored, 6.0 / 7, true, "Eiffel Tower, Paris", "f1=0.857 em=0"},
		{"only Answer set", 0, Item{Answer: "1,000"}, "#### 1000", scored, 1, true, "1000", "f1=1.000 em=1"},
		{"numbers normalised", 0, gold("3"), "Final Answer: 3.0 yards", scored, 2.0 / 3, false, "3.0 yards", "f1=0.667 em=0"},
		{"last line", 0, gold("Paris"), "Let me think.\nIt is the capital.\n\nParis\n\n", scored, 1, true, "Paris", "f1=1.000 em=1"},
		{"last line decorated", 0, gold("Paris"), "Reasoning.\n**Paris.**", scored, 1, true, "Paris", "f1=1.000 em=1"},
		{"wrong", 0, gold("Paris"), "Final Answer: London", scored, 0, false, "London", "f1=0.000 em=0"},
		{"only articles", 0, gold("Paris"), "Final Answer: the", scored, 0, false, "the", "f1=0.000 em=0"},
		{"empty output", 0, gold("Paris"), " \n\n", unread, 0, false, "", "empty output"},
		{"decoration only", 0, gold("Paris"), "**", unread, 0, false, "", "empty output"},
		{"no gold", 0, Item{Answers: []string{" "}}, "Paris", errored, 0, false, "", "item has no gold answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := New(context.Background(), config.Judge{Name: "f1", Type: "f1", F1Threshold: tt.threshold}, Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			v, err := j.Judge(context.Background(), tt.item, tt.output)
			if err != nil {
				t.Fatalf("Judge: %v", err)
			}
			if v.Status != tt.status || v.Passed != tt.passed || math.Abs(v.Score-tt.score) > 1e-12 {
				t.Errorf("Judge(%q) = %+v; want status %q score %v passed %v", tt.output, v, tt.status, tt.score, tt.passed)
			}
			if v.Extracted != tt.extracted || v.Detail != tt.detail {
				t.Errorf("Judge(%q) extracted %q detail %q; want %q, %q", tt.output, v.Extracted, v.Detail, tt.extracted, tt.detail)
			}
			if v.Status != scored && (v.Passed || v.Score != 0) {
				t.Errorf("verdict %+v: not scored but passed or scored", v)
			}
		})
	}
}

func TestF1JudgeCanceled(t *testing.T) {
	j, err := New(context.Background(), config.Judge{Name: "f1", Type: "f1"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Judge(ctx, gold("x"), "x"); err == nil {
		t.Error("Judge with a canceled context: want an error")
	}
}

func TestNewF1(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Judge
		wantErr string // "" = no error
	}{
		{"default", config.Judge{Name: "f", Type: "f1"}, ""},
		{"threshold", config.Judge{Name: "f", Type: "f1", F1Threshold: 0.5}, ""},
		{"threshold 1", config.Judge{Name: "f", Type: "f1", F1Threshold: 1}, ""},
		{"negative", config.Judge{Name: "f", Type: "f1", F1Threshold: -0.1}, `judge "f": option "f1_threshold": must be in (0, 1], got -0.1`},
		{"above 1", config.Judge{Name: "f", Type: "f1", F1Threshold: 1.5}, `judge "f": option "f1_threshold": must be in (0, 1], got 1.5`},
		{"nan", config.Judge{Name: "f", Type: "f1", F1Threshold: math.NaN()}, `judge "f": option "f1_threshold": must be in (0, 1]`},
		{"inf", config.Judge{Name: "f", Type: "f1", F1Threshold: math.Inf(1)}, `judge "f": option "f1_threshold": must be in (0, 1]`},
		{"threshold on exact", config.Judge{Name: "e", Type: "exact", F1Threshold: 0.5}, `judge "e": option "f1_threshold" does not apply to type "exact"`},
		{"threshold on math", config.Judge{Name: "m", Type: "math", F1Threshold: 0.5}, `judge "m": option "f1_threshold" does not apply to type "math"`},
		{"pattern on f1", config.Judge{Name: "f", Type: "f1", Pattern: "x"}, `judge "f": option "pattern" does not apply to type "f1"`},
		{"case on f1", config.Judge{Name: "f", Type: "f1", CaseSensitive: true}, `judge "f": option "case_sensitive" does not apply to type "f1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestF1Hash(t *testing.T) {
	base := Hash(config.Judge{Name: "f", Type: "f1"})
	if Hash(config.Judge{Name: "f", Type: "f1", F1Threshold: defaultF1Threshold}) != base {
		t.Error("spelling out the default f1_threshold changed the hash")
	}
	if Hash(config.Judge{Name: "f", Type: "f1", F1Threshold: 0.5}) == base {
		t.Error("f1_threshold does not change the f1 hash")
	}
	if Hash(config.Judge{Name: "f", Type: "f1", Primary: true}) != base {
		t.Error("primary changed the f1 hash")
	}
}

// FuzzNormalizeF1 checks the normaliser's promises on any input: a fixed
// point, single spaces, no articles, no punctuation outside numbers, and an
// F1 in [0, 1] that is 1 against itself.
func FuzzNormalizeF1(f *testing.F) {
	for _, s := range append([]string{
		"The U.S. Army", "1,234,567.50", "$2.50", ".5", "0,05", "3.0.", "well-known 1990–1995",
		"“Quoted” — text…", "İstanbul ΣΑΣ", "a an the", "9" + strings.Repeat("9", 400) + ".5",
	}, fuzzSeeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := NormalizeF1(in)
		if again := NormalizeF1(got); again != got {
			t.Fatalf("NormalizeF1(%q) = %q, but NormalizeF1 of that = %q", in, got, again)
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") {
			t.Fatalf("NormalizeF1(%q) = %q: stray spaces", in, got)
		}
		toks := f1Tokens(in)
		for _, tok := range toks {
			switch tok {
			case "", "a", "an", "the":
				t.Fatalf("NormalizeF1(%q) = %q: token %q kept", in, got, tok)
			}
			if strings.IndexFunc(tok, unicode.IsSpace) >= 0 {
				t.Fatalf("NormalizeF1(%q): token %q holds a space", in, tok)
			}
			if _, isNum := normalizeNumber(tok); !isNum && strings.IndexFunc(tok, isF1Punct) >= 0 {
				t.Fatalf("NormalizeF1(%q): token %q keeps punctuation", in, tok)
			}
		}
		if f1 := tokenF1(toks, toks); f1 != 1 {
			t.Fatalf("tokenF1 of %q with itself = %v", in, f1)
		}
		if f1 := tokenF1(toks, f1Tokens("paris")); f1 < 0 || f1 > 1 {
			t.Fatalf("tokenF1(%q, paris) = %v: out of [0, 1]", in, f1)
		}
	})
}
