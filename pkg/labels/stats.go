package labels

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/darslabs/dars/pkg/record"
)

// pairStats holds the observations of one (query, model) pair, sorted by
// (variant_id, sample_index), while its label is built.
type pairStats struct {
	scores       []float64 // scores of the scored observations
	variants     []int32   // variant id of each score, ascending
	successes    int64
	cells        []cell  // passed counts per variant with a scored observation, ids ascending
	cellVariants []int32 // the variant id of each cell
	nUnscored    int64
	nError       int64
	seen         []int32 // every variant id observed, any status, ascending
	costSum      float64 // over the observations that are answers (scored or unscored): a failed request is not a price
	costCount    int64
}

// n is the number of scored observations.
func (p *pairStats) n() int { return len(p.scores) }

// compute fills the per-pair fields of l (everything but cost_norm and the
// per-query fields) by the formulas in the package documentation; a0 and b0
// are the prior's shape parameters.
func (p *pairStats) compute(l *record.Label, a0, b0 float64, opts Options) {
	n := p.n()
	l.N = int64(n)
	l.NUnscored = p.nUnscored
	l.NError = p.nError
	l.Successes = p.successes

	l.Mean, l.Std = meanStd(p.scores)
	means, within, between := varianceSplit(p.scores, p.variants)
	l.VarWithin, l.VarBetween = within, between
	l.VariantMeans = alignVariants(means, p.variants, p.seen)

	l.BetaAlpha = float64(p.successes) + a0
	l.BetaBeta = float64(int64(n)-p.successes) + b0
	l.CILowIID, l.CIHighIID = betaInterval(l.BetaAlpha, l.BetaBeta, opts.CILevel)
	// The rephrasing interval replaces these in buildQuery when the model
	// has a variant spread and the pair has data.
	l.CILow, l.CIHigh = l.CILowIID, l.CIHighIID

	l.PassAtK = make([]float64, len(opts.PassAtK))
	for i, k := range opts.PassAtK {
		l.PassAtK[i] = passAtK(n, int(p.successes), k)
	}

	l.CostMean = math.NaN()
	if p.costCount > 0 {
		l.CostMean = p.costSum / float64(p.costCount)
	}
	l.Utility = math.NaN()
	l.SingleShotScore = math.NaN()
}

// meanStd returns the mean and the sample standard deviation (ddof 1) of xs:
// (NaN, 0) for no values, std 0 for one value. Constant inputs give exactly
// that constant and std 0, so equal labels compare equal.
func meanStd(xs []float64) (mean, std float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), 0
	}
	lo, hi := xs[0], xs[0]
	var sum float64
	for _, x := range xs {
		sum += x
		lo = min(lo, x)
		hi = max(hi, x)
	}
	if lo == hi {
		return lo, 0
	}
	mean = sum / float64(n)
	if n == 1 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		d := x - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(n-1))
}

// popMeanVar returns the mean and the population variance (ddof 0) of xs,
// which must not be empty.
func popMeanVar(xs []float64) (mean, variance float64) {
	mean, _ = meanStd(xs)
	var ss float64
	for _, x := range xs {
		d := x - mean
		ss += d * d
	}
	return mean, ss / float64(len(xs))
}

// varianceSplit returns the mean score per variant (variant ids ascending,
// as variants must be sorted) and the law-of-total-variance split of the
// population variance of xs into the within-variant part
// Σ_v (n_v/n)·popvar_v and the between-variant part Σ_v (n_v/n)·(mean_v − mean)².
// Both parts are NaN when xs is empty.
func varianceSplit(xs []float64, variants []int32) (means []float64, within, between float64) {
	n := len(xs)
	if n == 0 {
		return []float64{}, math.NaN(), math.NaN()
	}
	mean, _ := popMeanVar(xs)
	for start := 0; start < n; {
		end := start
		for end < n && variants[end] == variants[start] {
			end++
		}
		mv, vv := popMeanVar(xs[start:end])
		w := float64(end-start) / float64(n)
		means = append(means, mv)
		within += w * vv
		between += w * (mv - mean) * (mv - mean)
		start = end
	}
	return means, within, between
}

// alignVariants lays the per-variant means (of the distinct ids in scored,
// ascending) out over every observed variant id, NaN where a variant has no
// scored observation, so element i always belongs to seen[i].
func alignVariants(means []float64, scored, seen []int32) []float64 {
	out := make([]float64, len(seen))
	j := 0
	var prev int32 = -1
	ids := make([]int32, 0, len(means))
	for _, v := range scored {
		if len(ids) == 0 || v != prev {
			ids = append(ids, v)
			prev = v
		}
	}
	for i, v := range seen {
		out[i] = math.NaN()
		if j < len(ids) && ids[j] == v {
			out[i] = means[j]
			j++
		}
	}
	return out
}

// betaInterval returns the equal-tailed interval holding level of the
// Beta(alpha, beta) distribution's mass.
func betaInterval(alpha, beta, level float64) (lo, hi float64) {
	d := distuv.Beta{Alpha: alpha, Beta: beta}
	tail := (1 - level) / 2
	return d.Quantile(tail), d.Quantile(1 - tail)
}

// passAtK is the unbiased pass@k estimator 1 − C(n−c, k)/C(n, k) for c
// successes among n samples, computed as 1 − Π_{i=n−c+1}^{n} (1 − k/i) so
// that no binomial coefficient overflows. It is NaN when k > n.
func passAtK(n, c, k int) float64 {
	if k > n {
		return math.NaN()
	}
	if n-c < k {
		return 1
	}
	prod := 1.0
	for i := n - c + 1; i <= n; i++ {
		prod *= 1 - float64(k)/float64(i)
	}
	return 1 - prod
}

// normaliseCost sets cost_norm = (cost_mean − min)/(max − min), with min and
// max taken over every (query, model) pair of the data set that has a
// cost_mean; 0 when max == min, NaN for pairs without observations.
func normaliseCost(labels []record.Label) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range labels {
		if c := labels[i].CostMean; !math.IsNaN(c) {
			lo = min(lo, c)
			hi = max(hi, c)
		}
	}
	for i := range labels {
		l := &labels[i]
		switch {
		case math.IsNaN(l.CostMean):
			l.CostNorm = math.NaN()
		case hi == lo:
			l.CostNorm = 0
		default:
			l.CostNorm = (l.CostMean - lo) / (hi - lo)
		}
	}
}
