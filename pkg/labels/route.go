package labels

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

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
func buildQuery(query string, labels []record.Label, pairs []pairStats, route *record.Route, reph *rephrasing, opts Options) {
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
	posts := make([]posterior, len(cands))
	for i, m := range cands {
		l := &labels[m]
		lo, hi := reph.compute(m, pairs[m].cells, l.BetaAlpha, l.BetaBeta, opts.CILevel, &posts[i])
		if reph.tau[m] > 0 {
			l.CILow, l.CIHigh = lo, hi
		}
	}

	utility := make([]float64, len(labels))
	for _, m := range cands {
		utility[m] = labels[m].Utility
	}
	best := argmaxUtility(cands, utility, labels)
	labels[best].IsBest = true
	route.BestModel = labels[best].Model
	route.BestUtility = labels[best].Utility

	pBest(query, labels, cands, posts, reph, route.PBest, opts)
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
// highest posterior utility θ − lambda·cost_norm − beta·std, by
// importance-weighted Monte Carlo over opts.PBestDraws draws. Each draw
// takes every candidate's θ from its posterior at
// u_i = L_i·z0 + sqrt(1 − L_i²)·z_i, with z0 shared by the candidates (the
// rewrites drawn, common to every model) and z_i their own, all standard
// normal; and weighs the draw by the joint prior of the query's logits over
// the product of the candidates' own priors (docs/intervals.md).
func pBest(query string, labels []record.Label, cands []int, posts []posterior, reph *rephrasing, out []float64, opts Options) {
	if len(cands) == 1 {
		out[cands[0]] = 1
		return
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), streamHash(streamPBest, query)))
	offsets := make([]float64, len(cands))
	own := make([]float64, len(cands))
	centred := make([]float64, len(cands))
	for i, m := range cands {
		l := &labels[m]
		offsets[i] = opts.Lambda*l.CostNorm + opts.Beta*l.Std
		own[i] = math.Sqrt(1 - posts[i].loading*posts[i].loading)
	}
	joint := !math.IsInf(reph.omega, 1)
	inv2w2 := 1 / (2 * reph.omega * reph.omega)
	// wins[i]·e^top is candidate i's summed weight; top follows the
	// largest log weight so far, so no weight overflows.
	wins := make([]float64, len(cands))
	top := math.Inf(-1)
	for range opts.PBestDraws {
		z0 := rng.NormFloat64()
		best, bestV := 0, math.Inf(-1)
		var lw, mean, level float64
		for i := range posts {
			u := posts[i].loading*z0 + own[i]*rng.NormFloat64()
			eta, theta, logPrior := posts[i].draw(u)
			if v := theta - offsets[i]; v > bestV {
				best, bestV = i, v
			}
			centred[i] = eta - reph.offset[cands[i]]
			mean += centred[i]
			level += eta
			lw -= logPrior
		}
		if joint {
			k := float64(len(posts))
			mean /= k
			for _, c := range centred {
				lw -= (c - mean) * (c - mean) * inv2w2
			}
			// The query's level keeps the run's prior.
			level /= k
			lw += reph.logPriorAt(level)
		} else {
			lw = 0
		}
		if lw > top {
			scale := math.Exp(top - lw)
			for i := range wins {
				wins[i] *= scale
			}
			top = lw
		}
		wins[best] += math.Exp(lw - top)
	}
	var total float64
	for _, w := range wins {
		total += w
	}
	for i, m := range cands {
		out[m] = wins[i] / total
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
