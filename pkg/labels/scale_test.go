package labels

import "testing"

// BenchmarkBuildScale labels 100,000 queries × 10 models with 3 variants
// (the original and 2 rewrites) of 5 samples each: 15 million observations,
// the size DESIGN §10 promises in seconds.
func BenchmarkBuildScale(b *testing.B) {
	skills := []float64{-1, -0.5, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2}
	obs, _, _ := simulate(simSpec{queries: 100_000, variants: 3, samples: 5, skills: skills, inputSD: 0.6, seed: 1})
	opts := testOptions(simModels(len(skills))...)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Build(obs, opts); err != nil {
			b.Fatal(err)
		}
	}
}
