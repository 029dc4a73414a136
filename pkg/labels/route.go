package labels

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/darslabs/dars/pkg/record"
)

// Purposes of the random streams, so that no two uses share draws.
const (
	streamPBest      = "p_best"
	streamSingleShot = "single_shot"
)

// buildQuery fills the per-query fields of one query's labels (one per
// model, in opts.Models order) and its route, by the formulas in the package
// documentation. Candidates are the models with n > 0; the others keep
// utility NaN, p_best 0 and is_best false. Draws come from
// PCG(seed, streamHash(stream, query_id[, model])), so each query's draws are
// independent of every other query and of the schedule.
func buildQuery(query string, labels []record.Label, pairs []pairStats, route *record.Route, opts Options) {
	route.QueryID = query
	route.PBest = make([]float64, len(labels))
	route.BestUtility = math.NaN()
	route.SingleShotFlipRate = math.NaN()

	var cands []int
	for m := range labels {
		l := &labels[m]
		if l.N > 0 {
			l.Utility = l.Mean - opts.Lambda*l.CostNorm - opts.Beta*l.Std
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return
	}

	utility := make([]float64, len(labels))
	for _, m := range cands {
		utility[m] = labels[m].Utility
	}
	best := argmaxUtility(cands, utility, labels)
	labels[best].IsBest = true
	route.BestModel = labels[best].Model
	route.BestUtility = labels[best].Utility

	pBest(query, labels, cands, route.PBest, opts)
	for m := range labels {
		labels[m].PBest = route.PBest[m]
	}

	singleShot(query, labels, pairs, cands, best, route, opts)
}

// argmaxUtility returns the candidate with the highest utility; utilities
// within tieTolerance tie, and the tie goes to the lower cost_mean, then to
// the earlier model. cands must be ascending and not empty.
func argmaxUtility(cands []int, utility []float64, labels []record.Label) int {
	best := cands[0]
	for _, m := range cands[1:] {
		switch d := utility[m] - utility[best]; {
		case d >= tieTolerance:
			best = m
		case d > -tieTolerance && labels[m].CostMean < labels[best].CostMean:
			best = m
		}
	}
	return best
}

// pBest estimates, for every candidate, the probability that it has the
// highest posterior utility, by Monte Carlo over opts.PBestDraws draws.
func pBest(query string, labels []record.Label, cands []int, out []float64, opts Options) {
	if len(cands) == 1 {
		out[cands[0]] = 1
		return
	}
	src := rand.NewPCG(uint64(opts.Seed), streamHash(streamPBest, query))
	posts := make([]distuv.Beta, len(cands))
	offsets := make([]float64, len(cands))
	for i, m := range cands {
		l := &labels[m]
		posts[i] = distuv.Beta{Alpha: l.BetaAlpha, Beta: l.BetaBeta, Src: src}
		offsets[i] = opts.Lambda*l.CostNorm + opts.Beta*l.Std
	}
	wins := make([]int, len(cands))
	for range opts.PBestDraws {
		best, bestV := 0, math.Inf(-1)
		for i := range posts {
			if v := posts[i].Rand() - offsets[i]; v > bestV {
				best, bestV = i, v
			}
		}
		wins[best]++
	}
	for i, m := range cands {
		out[m] = float64(wins[i]) / float64(opts.PBestDraws)
	}
}

// singleShot fills the single-shot baseline of one query: every candidate's
// single_shot_score and the route's single-shot best model and flip rate.
func singleShot(query string, labels []record.Label, pairs []pairStats, cands []int, best int, route *record.Route, opts Options) {
	rngs := make([]*rand.Rand, len(labels))
	for _, m := range cands {
		rngs[m] = rand.New(rand.NewPCG(uint64(opts.Seed), streamHash(streamSingleShot, query, labels[m].Model)))
	}
	utility := make([]float64, len(labels))
	flips := 0
	for r := range opts.SingleShotDraws {
		for _, m := range cands {
			xs := pairs[m].scores
			score := xs[rngs[m].IntN(len(xs))]
			if r == 0 {
				labels[m].SingleShotScore = score
			}
			utility[m] = score - opts.Lambda*labels[m].CostNorm
		}
		ss := argmaxUtility(cands, utility, labels)
		if r == 0 {
			route.SingleShotBestModel = labels[ss].Model
		}
		if ss != best {
			flips++
		}
	}
	route.SingleShotFlipRate = float64(flips) / float64(opts.SingleShotDraws)
}

// streamHash is a stable 64-bit FNV-1a hash of parts, each followed by a
// zero byte so that ("ab", "c") and ("a", "bc") differ.
func streamHash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
