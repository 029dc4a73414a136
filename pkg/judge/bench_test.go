package judge

import (
	"context"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

// benchOutput is a long chain-of-thought answer, the shape judges see most.
var benchOutput = strings.Repeat("We compute 12 * 7 = 84, then subtract 3/4 of 1,200 = 900. ", 40) +
	"\nSo the answer is $\\boxed{\\dfrac{1}{2}}$.\nFinal Answer: 0.5"

func benchmarkJudge(b *testing.B, cfg config.Judge, item Item) {
	j, err := New(context.Background(), cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(len(benchOutput)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := j.Judge(ctx, item, benchOutput); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMath(b *testing.B) {
	benchmarkJudge(b, config.Judge{Name: "m", Type: "math"}, gold(`\frac{1}{2}`))
}

// BenchmarkMathCases judges the rows of the math case table in turn, a mix
// of every normalisation and comparison path; one op is one verdict.
func BenchmarkMathCases(b *testing.B) {
	j, err := New(context.Background(), config.Judge{Name: "m", Type: "math"}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	cases := readMathCases(b)
	items := make([]Item, len(cases))
	outputs := make([]string, len(cases))
	for i, c := range cases {
		items[i] = gold(c.gold)
		outputs[i] = `\boxed{` + c.answer + `}`
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := j.Judge(ctx, items[i], outputs[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(cases) {
			i = 0
		}
	}
}

func BenchmarkNumeric(b *testing.B) {
	benchmarkJudge(b, config.Judge{Name: "n", Type: "numeric"}, gold("0.5"))
}

func BenchmarkChoice(b *testing.B) {
	benchmarkJudge(b, config.Judge{Name: "c", Type: "choice"}, Item{Answer: "B", Choices: []string{"a", "b", "c", "d"}})
}
