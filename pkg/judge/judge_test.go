package judge

import (
	"context"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// judgeCase is one output judged against one item; want is the status,
// passed and extracted text expected.
type judgeCase struct {
	name      string
	item      Item
	output    string
	status    string
	passed    bool
	extracted string // checked unless "-"
}

func runJudgeCases(t *testing.T, cfg config.Judge, cases []judgeCase) {
	t.Helper()
	j, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := j.Judge(context.Background(), tc.item, tc.output)
			if err != nil {
				t.Fatalf("Judge: %v", err)
			}
			if v.Status != tc.status || v.Passed != tc.passed {
				t.Errorf("Judge(%q) = %+v; want status %q passed %v", tc.output, v, tc.status, tc.passed)
			}
			if tc.extracted != "-" && v.Extracted != tc.extracted {
				t.Errorf("Judge(%q).Extracted = %q; want %q", tc.output, v.Extracted, tc.extracted)
			}
			checkVerdict(t, v)
		})
	}
}

// checkVerdict asserts the invariants every verdict keeps.
func checkVerdict(t *testing.T, v Verdict) {
	t.Helper()
	switch v.Status {
	case record.StatusScored:
		// A perfect score passes and a pass needs a positive score; in
		// between, a judge's threshold decides (f1).
		if (v.Score >= 1 && !v.Passed) || (v.Passed && v.Score <= 0) {
			t.Errorf("verdict %+v: Passed disagrees with Score", v)
		}
	case record.StatusUnscored, record.StatusError:
		if v.Passed || v.Score != 0 {
			t.Errorf("verdict %+v: not scored but passed or scored", v)
		}
	default:
		t.Errorf("verdict %+v: unknown status", v)
	}
	if v.Score < 0 || v.Score > 1 {
		t.Errorf("verdict %+v: score out of [0,1]", v)
	}
	if v.Detail == "" {
		t.Errorf("verdict %+v: no detail", v)
	}
}

const (
	scored  = record.StatusScored
	unread  = record.StatusUnscored
	errored = record.StatusError
)

func gold(answers ...string) Item {
	it := Item{ID: "1", Answers: answers}
	if len(answers) > 0 {
		it.Answer = answers[0]
	}
	return it
}

func TestExact(t *testing.T) {
	runJudgeCases(t, config.Judge{Name: "em", Type: "exact"}, []judgeCase{
		{"final answer", gold("Paris"), "Thinking.\nFinal Answer: Paris", scored, true, "Paris"},
		{"case folded", gold("Paris"), "Final Answer: PARIS.", scored, true, "PARIS"},
		{"whitespace collapsed", gold("New  York"), "Final Answer: new york", scored, true, "new york"},
		{"whole output", gold("Paris"), "  Paris \n", scored, true, "Paris"},
		{"any gold", gold("NYC", "New York City"), "Final Answer: new york city", scored, true, "new york city"},
		{"only Answer set", Item{Answer: "42"}, "#### 42", scored, true, "42"},
		{"wrong", gold("Paris"), "Final Answer: London", scored, false, "London"},
		{"longer is wrong", gold("Paris"), "Final Answer: Paris, France", scored, false, "Paris, France"},
		{"sim plain format", gold("Paris"), "Recall the capital. The answer is Paris.", scored, true, "Paris"},
		{"empty output", gold("Paris"), "  \n", unread, false, ""},
		{"no gold", Item{}, "Paris", errored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "em", Type: "exact", CaseSensitive: true}, []judgeCase{
		{"case kept", gold("Paris"), "Final Answer: Paris", scored, true, "Paris"},
		{"case differs", gold("Paris"), "Final Answer: paris", scored, false, "paris"},
	})
}

func TestContains(t *testing.T) {
	runJudgeCases(t, config.Judge{Name: "c", Type: "contains"}, []judgeCase{
		{"found", gold("Paris"), "I believe it is paris, the city.", scored, true, "Paris"},
		{"second gold", gold("NYC", "New York"), "It is   new\nyork.", scored, true, "New York"},
		{"inside a word", gold("Paris"), "Parisian food", scored, false, ""},
		{"later whole word", gold("Paris"), "Parisian food, from Paris", scored, true, "Paris"},
		{"punctuation gold", gold("U.S."), "the U.S. army", scored, true, "U.S."},
		{"number inside number", gold("12"), "about 123", scored, false, ""},
		{"number", gold("12"), "about 12 km", scored, true, "12"},
		{"unicode boundary", gold("é"), "café", scored, false, ""},
		{"absent", gold("Paris"), "London", scored, false, ""},
		{"empty", gold("Paris"), "", unread, false, ""},
		{"no gold", Item{Answers: []string{" "}}, "x", errored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "c", Type: "contains", CaseSensitive: true}, []judgeCase{
		{"case differs", gold("Paris"), "paris", scored, false, ""},
		{"case kept", gold("Paris"), "Paris!", scored, true, "Paris"},
	})
}

func TestRegex(t *testing.T) {
	runJudgeCases(t, config.Judge{Name: "r", Type: "regex", Pattern: `ANSWER=(\w+)`}, []judgeCase{
		{"capture equals", gold("blue"), "ANSWER=red\nno, ANSWER=Blue", scored, true, "Blue"},
		{"capture differs", gold("blue"), "ANSWER=red", scored, false, "red"},
		{"no match", gold("blue"), "blue", unread, false, ""},
		{"no gold", Item{}, "ANSWER=x", errored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "r", Type: "regex", Pattern: `(?i)\bdone\b`}, []judgeCase{
		{"match passes", Item{}, "All DONE.", scored, true, "DONE"},
		{"no match fails", Item{}, "undone", scored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "r", Type: "regex", Pattern: `x=(\d*)|y`}, []judgeCase{
		{"group not taking part", gold("1"), "y", unread, false, ""},
		{"empty capture", gold("1"), "x=", unread, false, ""},
	})
}

func TestNumeric(t *testing.T) {
	runJudgeCases(t, config.Judge{Name: "n", Type: "numeric"}, []judgeCase{
		{"gsm8k", gold("72"), "She sold 48/2 = 24 in May.\n#### 72", scored, true, "72"},
		{"final answer", gold("18"), "Final Answer: $18", scored, true, "18"},
		{"thousands", gold("1234.5"), "Final Answer: 1,234.50", scored, true, "1,234.50"},
		{"gold thousands", gold("1,234"), "1234", scored, true, "1234"},
		{"fraction", gold("0.75"), "Final Answer: 3/4", scored, true, "3/4"},
		{"gold fraction", gold("3/4"), "Final Answer: 0.75", scored, true, "0.75"},
		{"negative", gold("-5"), "The temperature is -5 degrees.", scored, true, "-5"},
		{"sign matters", gold("5"), "Final Answer: -5", scored, false, "-5"},
		{"within tolerance", gold("2"), "Final Answer: 2.0000001", scored, true, "2.0000001"},
		{"outside tolerance", gold("2"), "Final Answer: 2.001", scored, false, "2.001"},
		{"large relative", gold("12345678901234"), "12345678901234.002", scored, true, "12345678901234.002"},
		// Two integers compare exactly: the relative tolerance would pass
		// an answer off by one at 1e11 (issue 11).
		{"integers exactly", gold("100000000000"), "Final Answer: 99999999999", scored, false, "99999999999"},
		{"integers equal", gold("100000000000"), "Final Answer: 100,000,000,000", scored, true, "100,000,000,000"},
		{"last number", gold("5"), "3 then 4 then 5", scored, true, "5"},
		{"wrong", gold("5"), "Final Answer: 6", scored, false, "6"},
		{"percent", gold("50"), "Final Answer: 50%", scored, true, "50"},
		{"gold full gsm8k answer", gold("He has 3+4=7\n#### 7"), "7", scored, true, "7"},
		{"no number", gold("5"), "I don't know", unread, false, ""},
		{"declared without number", gold("5"), "Final Answer: five\n5", unread, false, ""},
		{"gold not numeric", gold("Paris"), "5", errored, false, ""},
		{"no gold", Item{}, "5", errored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "n", Type: "numeric", Tolerance: 0.5}, []judgeCase{
		{"loose tolerance", gold("10"), "Final Answer: 10.4", scored, true, "10.4"},
		{"beyond loose tolerance", gold("10"), "Final Answer: 10.6", scored, false, "10.6"},
	})
	runJudgeCases(t, config.Judge{Name: "n", Type: "numeric", Pattern: `RESULT: (.*)`}, []judgeCase{
		{"pattern", gold("9"), "RESULT: 9 units\nFinal Answer: 3", scored, true, "9"},
		{"pattern no match", gold("9"), "Final Answer: 9", unread, false, ""},
	})
}

func TestChoice(t *testing.T) {
	abcd := []string{"Paris", "London", "Rome", "Berlin"}
	item := func(answer string, choices []string) Item {
		return Item{ID: "1", Answer: answer, Answers: []string{answer}, Choices: choices}
	}
	runJudgeCases(t, config.Judge{Name: "mc", Type: "choice"}, []judgeCase{
		{"letter gold", item("B", abcd), "Final Answer: B", scored, true, "B"},
		{"lowercase gold", item("b", abcd), "Final Answer: (B)", scored, true, "B"},
		{"index gold", item("2", abcd), "The answer is C.", scored, true, "C"},
		{"text gold", item("Berlin", abcd), "**D**", scored, true, "D"},
		{"text answer", item("A", abcd), "Final Answer: paris", scored, true, "A"},
		{"wrong", item("A", abcd), "Final Answer: C", scored, false, "C"},
		{"out of range", item("A", abcd), "Final Answer: E", scored, false, "E"},
		{"unreadable", item("A", abcd), "Hard to say.", unread, false, ""},
		{"bad gold", item("Z", abcd), "Final Answer: A", errored, false, ""},
		{"no gold", Item{Choices: abcd}, "A", errored, false, ""},
		{"more choices", item("F", []string{"1", "2", "3", "4", "5", "6"}), "answer: (F)", scored, true, "F"},
		{"index into more choices", item("5", []string{"1", "2", "3", "4", "5", "6"}), "Final Answer: F", scored, true, "F"},
		// Two letters for a single-answer question is wrong, not the first
		// of them (issue 11); a letter followed by prose is still one.
		{"two letters", item("A", abcd), "ANSWER: A, B", scored, false, "A,B"},
		{"two letters declared", item("A", abcd), "Final Answer: A and B", scored, false, "A,B"},
		{"hedged", item("A", abcd), "The answer is A or C.", scored, false, "A,C"},
		{"letter then prose", item("A", abcd), "The answer is A, because Paris is the capital.", scored, true, "A"},
		{"letter then sentence", item("A", abcd), "Answer: A. Berlin is wrong.", scored, true, "A"},
	})
	runJudgeCases(t, config.Judge{Name: "mc", Type: "choice", Letters: "ABCDE"}, []judgeCase{
		{"fifth letter", item("E", nil), "Final Answer: E", scored, true, "E"},
	})
	runJudgeCases(t, config.Judge{Name: "mc", Type: "choice", Letters: "1234"}, []judgeCase{
		{"digit letters", item("3", nil), "Final Answer: 3", scored, true, "3"},
	})
}

func TestMath(t *testing.T) {
	runJudgeCases(t, config.Judge{Name: "m", Type: "math"}, []judgeCase{
		{"boxed", gold("5"), `So $x = \boxed{5}$.`, scored, true, "5"},
		{"boxed frac", gold(`\frac{1}{2}`), `\boxed{\dfrac12}`, scored, true, `\dfrac12`},
		{"numeric frac", gold(`\frac{1}{2}`), `\boxed{0.5}`, scored, true, "0.5"},
		{"slash frac", gold(`-\frac{3}{4}`), `Final Answer: -3/4`, scored, true, "-3/4"},
		{"decimal zero", gold("5"), `\boxed{5.0}`, scored, true, "5.0"},
		{"text units", gold(`10\text{ cm}`), `\boxed{10 \text{cm}}`, scored, true, `10 \text{cm}`},
		{"left right", gold(`(1,2)`), `\boxed{\left( 1, 2 \right)}`, scored, true, `\left( 1, 2 \right)`},
		{"leading variable", gold("3"), `\boxed{x=3}`, scored, true, "x=3"},
		{"thousands", gold("1000"), `\boxed{1,000}`, scored, true, "1,000"},
		{"degrees", gold("90"), `\boxed{90^\circ}`, scored, true, `90^\circ`},
		{"gold in box", gold(`The sum is $\boxed{12}$.`), `\boxed{12}`, scored, true, "12"},
		{"relative tolerance", gold("0.333333333"), `\boxed{1/3}`, scored, true, "1/3"},
		{"final answer line", gold(`\sqrt{2}`), "Final Answer: $\\sqrt{2}$", scored, true, `\sqrt{2}`},
		{"wrong", gold("5"), `\boxed{6}`, scored, false, "6"},
		{"equal as numbers", gold(`\frac{\sqrt{2}}{2}`), `\boxed{\frac{1}{\sqrt{2}}}`, scored, true, "-"},
		{"no answer", gold("5"), "the result is 5", unread, false, ""},
		{"empty box", gold("5"), `\boxed{ }`, unread, false, ""},
		{"no gold", Item{}, `\boxed{5}`, errored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "m", Type: "math", Pattern: `result is (\S+)`}, []judgeCase{
		{"pattern fallback", gold("5"), "the result is 5", scored, true, "5"},
		{"box beats pattern", gold("5"), `the result is 4 \boxed{5}`, scored, true, "5"},
	})
}

func TestJudgeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, typ := range Types() {
		if typ == "exec" || typ == "llm" {
			continue // exec needs a program to run (exec_test.go); llm scores in batches through the pipeline (llm_test.go, cmd/dars)
		}
		cfg := config.Judge{Name: typ, Type: typ}
		if typ == "regex" {
			cfg.Pattern = "x"
		}
		j, err := New(context.Background(), cfg, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Judge(ctx, gold("1"), "1"); err == nil {
			t.Errorf("%s: no error on a cancelled context", typ)
		}
	}
}

func TestExtractedClipped(t *testing.T) {
	j, err := New(context.Background(), config.Judge{Name: "em", Type: "exact"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 600)
	v, err := j.Judge(context.Background(), gold("x"), long)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Extracted) > maxExtracted || !strings.HasPrefix(long, v.Extracted) || len(v.Extracted) == 0 {
		t.Errorf("Extracted has %d bytes, want a rune-aligned prefix of at most %d", len(v.Extracted), maxExtracted)
	}
}
