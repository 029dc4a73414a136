package judge

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

// mathCasesFile holds the (answer, gold, equal) table TestMathCases runs.
var mathCasesFile = filepath.Join("testdata", "math_cases.tsv")

// mathCase is one row of mathCasesFile.
type mathCase struct {
	line         int
	answer, gold string
	equal        bool
}

// readMathCases parses mathCasesFile: a header row, then tab-separated
// answer, gold and "true"/"false" rows; blank and '#' lines are skipped.
func readMathCases(tb testing.TB) []mathCase {
	tb.Helper()
	f, err := os.Open(mathCasesFile)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []mathCase
	sc := bufio.NewScanner(f)
	header := false
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 3 {
			tb.Fatalf("%s:%d: %d columns, want 3", mathCasesFile, line, len(cols))
		}
		if !header {
			if text != "answer\tgold\tequal" {
				tb.Fatalf("%s:%d: header %q, want answer, gold, equal", mathCasesFile, line, text)
			}
			header = true
			continue
		}
		if cols[2] != "true" && cols[2] != "false" {
			tb.Fatalf("%s:%d: equal %q, want true or false", mathCasesFile, line, cols[2])
		}
		cases = append(cases, mathCase{line: line, answer: cols[0], gold: cols[1], equal: cols[2] == "true"})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return cases
}

// TestMathCases judges every row of mathCasesFile as the output
// \boxed{answer} against the gold, and checks equalMath is symmetric on it.
func TestMathCases(t *testing.T) {
	cases := readMathCases(t)
	if len(cases) < 220 {
		t.Errorf("%s: %d cases, want at least 220", mathCasesFile, len(cases))
	}
	j, err := New(context.Background(), config.Judge{Name: "m", Type: "math"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		v, err := j.Judge(context.Background(), gold(c.gold), `\boxed{`+c.answer+`}`)
		if err != nil {
			t.Fatalf("%s:%d: Judge: %v", mathCasesFile, c.line, err)
		}
		if v.Status != scored || v.Passed != c.equal {
			t.Errorf("%s:%d: answer %q gold %q: got %s passed=%v (%s), want passed=%v; normalised %q and %q",
				mathCasesFile, c.line, c.answer, c.gold, v.Status, v.Passed, v.Detail, c.equal,
				normalizeMath(c.answer), normalizeMath(c.gold))
		}
		if want := trimAnswer(c.answer); v.Extracted != want {
			t.Errorf("%s:%d: Extracted = %q, want %q", mathCasesFile, c.line, v.Extracted, want)
		}
		checkVerdict(t, v)
		na, ng := normalizeMath(c.answer), normalizeMath(c.gold)
		if ab, _ := equalMath(na, ng); ab != mustEqualMath(t, ng, na) {
			t.Errorf("%s:%d: equalMath is not symmetric on %q and %q", mathCasesFile, c.line, na, ng)
		}
	}
}

// mustEqualMath returns equalMath's verdict alone.
func mustEqualMath(t *testing.T, a, b string) bool {
	t.Helper()
	eq, how := equalMath(a, b)
	if eq == (how == "") {
		t.Errorf("equalMath(%q, %q) = %v with reason %q", a, b, eq, how)
	}
	return eq
}

func TestMathJudge(t *testing.T) {
	runJudgeCases(t, config.Judge{Name: "m", Type: "math"}, []judgeCase{
		{"last box wins", gold("7"), `First \boxed{3}, then correcting: \boxed{7}.`, scored, true, "7"},
		{"nested braces", gold(`\frac{\sqrt{2}}{2}`), `So $\boxed{\frac{1}{\sqrt{2}}}$.`, scored, true, `\frac{1}{\sqrt{2}}`},
		{"fbox", gold("12"), `\fbox{12}`, scored, true, "12"},
		{"box beats final answer line", gold("5"), "\\boxed{5}\nFinal Answer: 6", scored, true, "5"},
		{"truncated box skipped", gold("4"), `\boxed{4} and then \boxed{\frac{1}{`, scored, true, "4"},
		{"final answer line", gold(`(1,2)`), "Work.\nFinal Answer: $\\left(1, 2\\right)$.", scored, true, `\left(1, 2\right)`},
		{"final answer tuple order", gold(`(1,2)`), "Final Answer: (2, 1)", scored, false, "(2, 1)"},
		{"multi-line output", gold(`\frac{7}{2}`), "We add.\n\n$$\\boxed{3\\frac{1}{2}}$$\n", scored, true, `3\frac{1}{2}`},
		{"any gold", gold("10", `\text{ten}`), `\boxed{\text{ten}}`, scored, true, `\text{ten}`},
		{"gold in box", gold(`so $\boxed{\dfrac{3}{4}}$`), `\boxed{0.75}`, scored, true, "0.75"},
		{"wrong", gold("5"), `\boxed{-5}`, scored, false, "-5"},
		{"no answer", gold("5"), "the result is 5", unread, false, ""},
		{"empty box", gold("5"), `\boxed{ }`, unread, false, ""},
		{"normalises to nothing", gold("5"), `\boxed{\,\%}`, unread, false, ""},
		{"no gold", Item{}, `\boxed{5}`, errored, false, ""},
	})
	runJudgeCases(t, config.Judge{Name: "m", Type: "math", Pattern: `result is (\S+)`}, []judgeCase{
		{"pattern fallback", gold("0.5"), "the result is 1/2", scored, true, "1/2"},
		{"final answer beats pattern", gold("5"), "the result is 4\nFinal Answer: 5", scored, true, "5"},
		{"no match", gold("5"), "nothing here", unread, false, ""},
	})
}

func TestMathDetail(t *testing.T) {
	j, err := New(context.Background(), config.Judge{Name: "m", Type: "math"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ answer, gold, detail string }{
		{`\dfrac12`, `\frac{1}{2}`, `equal as strings to gold "\\frac{1}{2}"`},
		{`0.5`, `\frac{1}{2}`, `equal as rationals to gold "\\frac{1}{2}"`},
		{`\sqrt{8}`, `2\sqrt{2}`, `equal as numbers to gold "2\\sqrt{2}"`},
		{`(0.5, 1)`, `(\frac12, 1)`, `equal element-wise to gold "(\\frac12, 1)"`},
		{`3`, `4`, `not equal to any gold answer`},
	}
	for _, tt := range tests {
		v, err := j.Judge(context.Background(), gold(tt.gold), `\boxed{`+tt.answer+`}`)
		if err != nil {
			t.Fatal(err)
		}
		if v.Detail != tt.detail {
			t.Errorf("answer %q gold %q: Detail = %q, want %q", tt.answer, tt.gold, v.Detail, tt.detail)
		}
	}
}

func TestNormalizeMathForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1\n/\n2", `\frac{1}{2}`},
		{`\frac\sqrt2 2`, `\frac{\sqrt}{2}2`}, // TeX reads one token per argument
		{`\sqrt[3]8`, `\sqrt[3]{8}`},
		{`\left. x \right|_{0}^{1}`, `x|_{0}^{1}`},
		{`10\text{ cm}`, `10`},
		{`\text{North}\text{ Korea}`, `NorthKorea`},
		{`x\text{ apples}`, `xapples`},
		{`\min`, `\min`},
		{`5 \text{ and } 7`, `5and7`},
		{`1, 234`, `1,234`},
		{`1,234`, `1234`},
		{`(1,234)`, `(1,234)`},
		{`-.5`, `-0.5`},
		{`1.2.3`, `1.2.3`},
		{`5.x`, `5.x`},
		{`x^-1`, `x^{-}1`},
		{`{(1,2)}`, `(1,2)`},
		{`-\pi/2`, `-\frac{\pi}{2}`},
		{`a/b/c`, `a/b/c`},
		{`1+2/3`, `1+2/3`},
		{`\le 3`, `\leq3`},
		{`\varnothing`, `\emptyset`},
		{`x = `, ``},
	}
	for _, tt := range tests {
		if got := normalizeMath(tt.in); got != tt.want {
			t.Errorf("normalizeMath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEvalMath(t *testing.T) {
	tests := []struct {
		in    string
		want  float64
		exact bool
		ok    bool
	}{
		{`3\frac{1}{2}`, 3.5, true, true},
		{`-3\frac{1}{2}`, -3.5, true, true},
		{`2\frac{\pi}{2}`, 3.141592653589793, false, true},
		{`\sqrt{\frac{9}{16}}`, 0.75, true, true},
		{`\sqrt[3]{\frac{8}{27}}`, 2.0 / 3, true, true},
		{`\sqrt[4]{-16}`, 0, false, false},
		{`2^{-2}`, 0.25, true, true},
		{`0^{-1}`, 0, false, false},
		{`2^{100000}`, 0, false, false},
		{`\frac{1}{0}`, 0, false, false},
		{`1/(1-1)`, 0, false, false},
		{`1e3`, 1000, true, true},
		{`1e1000`, 0, false, false},
		{`x`, 0, false, false},
		{`2x`, 0, false, false},
		{`(1`, 0, false, false},
		{`.`, 0, false, false},
		{`\cdots`, 0, false, false},
		{strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100), 0, false, false},
		{strings.Repeat("(", 50) + "1" + strings.Repeat(")", 50), 1, true, true},
	}
	for _, tt := range tests {
		v, ok := evalMath(tt.in)
		if ok != tt.ok {
			t.Errorf("evalMath(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if (v.rat != nil) != tt.exact {
			t.Errorf("evalMath(%q) exact = %v, want %v", tt.in, v.rat != nil, tt.exact)
		}
		if !closeEnough(v.float(), tt.want) {
			t.Errorf("evalMath(%q) = %v, want %v", tt.in, v.float(), tt.want)
		}
	}
}

// FuzzMath runs extraction, normalisation and equality on arbitrary answers
// and checks that nothing panics, that every answer equals itself, that
// equality is symmetric, and that an answer boxed as the output passes
// against itself as the gold.
func FuzzMath(f *testing.F) {
	for _, c := range readMathCases(f) {
		f.Add(c.answer, c.gold)
	}
	for _, s := range fuzzSeeds {
		f.Add(s, "42")
	}
	j, err := New(context.Background(), config.Judge{Name: "m", Type: "math"}, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		na, nb := normalizeMath(a), normalizeMath(b)
		if eq, _ := equalMath(na, na); !eq {
			t.Fatalf("equalMath(%q, itself) is false", na)
		}
		if ab, ba := mustEqualMath(t, na, nb), mustEqualMath(t, nb, na); ab != ba {
			t.Fatalf("equalMath(%q, %q) = %v but the reverse is %v", na, nb, ab, ba)
		}
		v, err := j.Judge(context.Background(), gold(b), a)
		if err != nil {
			t.Fatal(err)
		}
		checkVerdict(t, v)
		// a as both the boxed answer and the gold, when the box reads back
		// exactly a.
		out := `\boxed{` + a + `}`
		if strings.Contains(a, `\boxed`) || strings.Contains(a, `\fbox`) || trimAnswer(a) != a {
			return
		}
		if got, ok := ExtractBoxed(out); !ok || got != a || strings.TrimSpace(a) == "" {
			return
		}
		v, err = j.Judge(context.Background(), gold(a), out)
		if err != nil {
			t.Fatal(err)
		}
		if na != "" && !v.Passed {
			t.Fatalf("answer %q does not pass against itself: %+v", a, v)
		}
	})
}
