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
	j, err := New(cfg)
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

func BenchmarkNumeric(b *testing.B) {
	benchmarkJudge(b, config.Judge{Name: "n", Type: "numeric"}, gold("0.5"))
}

func BenchmarkChoice(b *testing.B) {
	benchmarkJudge(b, config.Judge{Name: "c", Type: "choice"}, Item{Answer: "B", Choices: []string{"a", "b", "c", "d"}})
}
