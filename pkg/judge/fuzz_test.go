package judge

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

// fuzzSeeds are outputs in the shapes models write, plus broken ones.
var fuzzSeeds = []string{
	"",
	"Final Answer: 42",
	"**Final Answer:** $\\boxed{\\frac{1}{2}}$.",
	"The final answer is (B).",
	"## Final Answer\n\n72",
	"She sold 48/2 = 24 clips.\n#### 72",
	`\boxed{\left(1, \frac{\sqrt{2}}{2}\right)}`,
	`\boxed{1} \fbox{2} \boxed{3`,
	`\boxed 5$`,
	"−1,234.50 dollars, then -$3 and 6.02e23 and 3 / 4",
	"A) Paris\nB) London\n**C**\nanswer is (d)",
	"Final Answer:",
	"final answer is",
	`\text{unclosed \frac12 \dfrac{3}{4} x=5.0 90^\circ`,
	"\xff\xfe Final Answer: \xe2\x88\x92",
	"....1.2.3,,,4,567/0",
}

func FuzzExtractFinalAnswer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := ExtractFinalAnswer(in)
		if ok != (got != "") {
			t.Fatalf("ExtractFinalAnswer(%q) = %q, %v: ok must mean non-empty", in, got, ok)
		}
		if !strings.Contains(in, got) {
			t.Fatalf("ExtractFinalAnswer(%q) = %q: not a substring", in, got)
		}
	})
}

func FuzzExtractBoxed(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := ExtractBoxed(in)
		if !ok && got != "" {
			t.Fatalf("ExtractBoxed(%q) = %q, false", in, got)
		}
		if !strings.Contains(in, got) {
			t.Fatalf("ExtractBoxed(%q) = %q: not a substring", in, got)
		}
	})
}

func FuzzExtractNumber(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, text, ok := ExtractNumber(in)
		if !ok {
			if v != 0 || text != "" {
				t.Fatalf("ExtractNumber(%q) = %v, %q, false", in, v, text)
			}
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("ExtractNumber(%q) = %v: not finite", in, v)
		}
		if text == "" {
			t.Fatalf("ExtractNumber(%q): empty text", in)
		}
		// \frac{a}{b} is rewritten to a/b before scanning; anything else is
		// read from the input as written.
		if !fracPattern.MatchString(in) && !strings.Contains(in, text) {
			t.Fatalf("ExtractNumber(%q) text %q: not a substring", in, text)
		}
	})
}

func FuzzExtractChoice(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "ABCD")
	}
	f.Add("Final Answer: 3", "1234")
	f.Add("answer: (e)", "abcde")
	f.Add("ANSWER: A, B or (C)", "ABCD")
	f.Fuzz(func(t *testing.T, in, letters string) {
		if checkLetters(letters) != nil {
			return
		}
		choices := []string{"Paris", "London", "", "1"}
		got, ok := ExtractChoice(in, letters, choices)
		if !ok {
			if got != "" {
				t.Fatalf("ExtractChoice(%q) = %q, false", in, got)
			}
			return
		}
		inSet := len(got) == 1 && strings.Contains(letters, got)
		capital := len(got) == 1 && got[0] >= 'A' && got[0] <= 'Z'
		several := len(got) > 1
		for _, l := range strings.Split(got, ",") {
			several = several && len(l) == 1 && strings.Contains(letters, l)
		}
		if !inSet && !capital && !several {
			t.Fatalf("ExtractChoice(%q, %q) = %q: not a letter, nor letters joined by commas", in, letters, got)
		}
	})
}

// FuzzJudges runs every built-in judge on arbitrary output and gold and
// checks the verdict invariants.
func FuzzJudges(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "42")
		f.Add(s, "B")
	}
	var judges []Judge
	for _, typ := range Types() {
		if typ == "exec" || typ == "llm" {
			continue // exec needs a program to run (exec_test.go); llm scores in batches through the pipeline (llm_test.go, cmd/dars)
		}
		cfg := config.Judge{Name: typ, Type: typ}
		if typ == "regex" {
			cfg.Pattern = `answer: (\S+)`
		}
		j, err := New(context.Background(), cfg, Options{})
		if err != nil {
			f.Fatal(err)
		}
		judges = append(judges, j)
	}
	f.Fuzz(func(t *testing.T, output, answer string) {
		item := Item{Answer: answer, Answers: []string{answer}, Choices: []string{"1", "2", "3", "4"}}
		for _, j := range judges {
			v, err := j.Judge(context.Background(), item, output)
			if err != nil {
				t.Fatalf("%s: %v", j.Name(), err)
			}
			checkVerdict(t, v)
		}
	})
}
