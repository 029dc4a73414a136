package labels

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gonum.org/v1/gonum/integrate/quad"
)

// The rephrasing model: intervals and P(best) over every way of asking a
// query, not only the variants drawn (docs/intervals.md gives the why).
//
// Each variant v of a pair has its own success probability
// sigmoid(η + e_v), with e_v ~ N(0, τ²) the variant's effect on the logit
// scale; the label's target is θ = E_e[sigmoid(η + e)], the success rate
// over a new rewrite. Per variant the data are y_v passed out of n_v scored
// observations. τ is one per model, pooled over the queries that have two or
// more variants (empirical Bayes: it maximises the marginal likelihood of
// the model's data), so a pair with K = 2, or K = 1, still gets the model's
// spread. The prior on η is the run's Beta(a0, b0) on sigmoid(η), so with
// τ = 0 the posterior of θ is the iid Beta posterior.
//
// The posterior of η is computed on a fixed grid, each variant's likelihood
// integrated over e_v by a Gaussian convolution; θ(η) is increasing, so the
// quantiles of θ are θ at the quantiles of η.
//
// P(best) draws every candidate's θ from its posterior, joined by a Gaussian
// copula: a rewrite that makes a query easier makes it easier for every
// model, so the models' errors about the rewrites drawn move together. The
// copula's common factor carries the share of each posterior's logit
// variance that comes from the variant effects, times ρ, the correlation of
// variant effects between models (pooled over neighbouring model pairs, by
// maximum likelihood with the shared effect integrated out: fitRho).

// Grid and fit constants.
const (
	gridMin     = -16.0 // logit range of η
	gridMax     = 16.0
	gridStep    = 0.04  // posterior grid
	fitStep     = 0.2   // grid of the τ fit
	tauMax      = 5.0   // the τ fit searches [0, tauMax]
	fitIters    = 20    // golden-section steps: the bracket shrinks to 5·0.618²⁰ ≈ 3e-4
	maxPatterns = 4096  // distinct data patterns the τ fit visits at most
	kernelSDs   = 6.0   // the variant-effect kernel is cut at ±kernelSDs·τ
	scoreMin    = -4.0  // normal scores of the P(best) quantile tables
	scoreStep   = 0.125 //
	nScores     = 65    // scoreMin + (nScores−1)·scoreStep = 4
	logFloor    = -60.0 // posterior points below max + logFloor count as 0
)

// cell is one variant's scored observations: n of them, y passed.
type cell struct{ n, y int32 }

// grid is a fixed set of η values with the prior's log density on them.
type grid struct {
	step     float64
	eta      []float64
	logPrior []float64 // a0·log σ(η) + b0·log(1 − σ(η))
	// logSig is log σ at the grid's points extended by margin points on
	// each side, for the variant-effect kernel.
	logSig []float64
	margin int
}

func newGrid(step, a0, b0 float64) *grid {
	n := int(math.Round((gridMax-gridMin)/step)) + 1
	margin := int(math.Ceil(kernelSDs * tauMax / step))
	g := &grid{step: step, eta: make([]float64, n), logPrior: make([]float64, n),
		logSig: make([]float64, n+2*margin), margin: margin}
	for i := range g.eta {
		x := gridMin + float64(i)*step
		g.eta[i] = x
		g.logPrior[i] = a0*logSigmoid(x) + b0*logSigmoid(-x)
	}
	for i := range g.logSig {
		g.logSig[i] = logSigmoid(gridMin + float64(i-margin)*step)
	}
	return g
}

// logSigmoid is log(1/(1 + e^−x)), stable at both ends.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// logLik returns, at every point η of g, the log likelihood of one variant's
// cell up to a constant: log E_e[σ(η+e)^y (1−σ(η+e))^(n−y)], e ~ N(0, τ²),
// by a discrete Gaussian convolution on the grid's step (exact at τ = 0).
func (g *grid) logLik(c cell, tau float64) []float64 {
	y, f := float64(c.y), float64(c.n-c.y)
	J := 0
	if tau > 0 {
		J = min(int(math.Ceil(kernelSDs*tau/g.step)), g.margin)
	}
	lf := make([]float64, len(g.eta)+2*J)
	top := math.Inf(-1)
	for i := range lf {
		x := g.eta[0] + float64(i-J)*g.step
		ls := g.logSig[i-J+g.margin]
		lf[i] = y*ls + f*(ls-x) // log σ(−x) = log σ(x) − x
		top = max(top, lf[i])
	}
	if J == 0 {
		return lf
	}
	kernel := make([]float64, 2*J+1)
	var ksum float64
	for j := range kernel {
		u := float64(j-J) * g.step / tau
		kernel[j] = math.Exp(-u * u / 2)
		ksum += kernel[j]
	}
	for i := range lf {
		lf[i] = math.Exp(lf[i] - top)
	}
	out := make([]float64, len(g.eta))
	for i := range out {
		var s float64
		for j, k := range kernel {
			s += k * lf[i+j]
		}
		out[i] = math.Log(s/ksum) + top
	}
	return out
}

// rephrasing is the fitted model of one Build: per model τ, the tables its
// posteriors are computed from, and ρ. It is read-only once built.
type rephrasing struct {
	grid   *grid
	tau    []float64            // per model
	theta  [][]float64          // per model: θ(η) at the grid's points
	lik    []map[cell][]float64 // per model: logLik of every cell it has
	rho    float64              // correlation of variant effects between models
	a0, b0 float64              // the prior's Beta shape parameters
	// The joint prior of P(best): η_m = offset_m + δ_q + ε, ε ~ N(0, omega²).
	offset []float64
	omega  float64
	score  [nScores]float64 // Φ at the normal scores
	pool   sync.Pool        // *posteriorScratch
}

// fitRephrasing fits τ per model and ρ from every pair (laid out query
// after query, nModels pairs each) and builds the posterior tables.
func fitRephrasing(pairs []pairStats, nModels int, a0, b0 float64) *rephrasing {
	r := &rephrasing{
		grid:  newGrid(gridStep, a0, b0),
		tau:   make([]float64, nModels),
		theta: make([][]float64, nModels),
		lik:   make([]map[cell][]float64, nModels),
		a0:    a0,
		b0:    b0,
	}
	for j := range r.score {
		r.score[j] = normalCDF(scoreMin + float64(j)*scoreStep)
	}
	fit := newGrid(fitStep, a0, b0)
	forEachQuery(nModels, func(m int) {
		r.tau[m] = fitTau(fit, pairs, nModels, m)
		r.theta[m] = thetaTable(r.grid, r.tau[m])
		cells := map[cell][]float64{}
		for i := m; i < len(pairs); i += nModels {
			for _, c := range pairs[i].cells {
				if _, ok := cells[c]; !ok {
					cells[c] = r.grid.logLik(c, r.tau[m])
				}
			}
		}
		r.lik[m] = cells
	})
	r.rho = r.fitRho(pairs, nModels)
	r.pool.New = func() any { return newPosteriorScratch(len(r.grid.eta)) }
	r.fitJointPrior(pairs, nModels)
	return r
}

// maxPriorQueries caps the queries the joint prior's fit visits.
const maxPriorQueries = 4000

// fitJointPrior fits the joint prior P(best) weights its draws with: on one
// query, models' logits share the query's difficulty δ_q (flat prior) and
// differ by a model offset plus ε ~ N(0, ω²). Moments of the posterior
// means η̂ of every query with two or more models with data (every s-th
// query beyond maxPriorQueries): the offsets are the mean deviations of η̂
// from the query's mean, and ω² the residual variance, scaled by the
// share 1 − 1/M a deviation from M models' mean keeps, less the mean
// posterior variance (the part of η̂'s spread that is estimation noise).
// Without such queries ω is +Inf: no joint prior.
func (r *rephrasing) fitJointPrior(pairs []pairStats, nModels int) {
	r.offset = make([]float64, nModels)
	r.omega = math.Inf(1)
	nq := len(pairs) / max(nModels, 1)
	stride := max(1, (nq+maxPriorQueries-1)/maxPriorQueries)
	type est struct{ mean, variance float64 }
	var queries [][]est // per visited query: per model, NaN mean without data
	var post posterior
	for q := 0; q < nq; q += stride {
		row := make([]est, nModels)
		have := 0
		for m := range nModels {
			p := &pairs[q*nModels+m]
			row[m].mean = math.NaN()
			if len(p.cells) == 0 {
				continue
			}
			r.compute(m, p.cells, 1, 1, 0.95, &post)
			row[m] = est{post.mean, post.variance}
			have++
		}
		if have >= 2 {
			queries = append(queries, row)
		}
	}
	if len(queries) == 0 {
		return
	}
	centre := func(row []est) (float64, float64) {
		var s, k float64
		for m, e := range row {
			if !math.IsNaN(e.mean) {
				s += e.mean - r.offset[m]
				k++
			}
		}
		return s / k, k
	}
	for range 10 {
		sum := make([]float64, nModels)
		cnt := make([]float64, nModels)
		for _, row := range queries {
			c, _ := centre(row)
			for m, e := range row {
				if !math.IsNaN(e.mean) {
					sum[m] += e.mean - c
					cnt[m]++
				}
			}
		}
		var mean, k float64
		for m := range sum {
			if cnt[m] > 0 {
				r.offset[m] = sum[m] / cnt[m]
				mean += r.offset[m]
				k++
			}
		}
		for m := range sum {
			if cnt[m] > 0 {
				r.offset[m] -= mean / k
			}
		}
	}
	r.omega = r.fitOmega(pairs, nModels)
}

// Constants of the ω fit.
const (
	omegaStep = 0.2  // its grid
	omegaSpan = 60   // C(Δ) is computed for |Δ| ≤ omegaSpan·omegaStep
	omegaMin  = 0.05 // ω is searched in [omegaMin, omegaMax]
	omegaMax  = 4.0
	// minOmegaQueries is the fewest (query, neighbouring models) pairs ω is
	// fitted from; with fewer, P(best) has no joint prior (ω = +Inf): a
	// handful of queries can put ω near 0, and P(best) would follow the
	// models' offsets rather than the query's data.
	minOmegaQueries = 100
)

// fitOmega returns ω, the spread of a model's logit about the query's
// level and the model's offset: the maximiser of the marginal likelihood of
// the data of neighbouring models (m, m+1) on the same query, with
// η_m − η_m+1 ~ N(offset_m − offset_m+1, 2ω²) and the level under the
// run's prior. For a pair of data patterns the likelihood is
// ∫ C(Δ) N(Δ; μ, 2ω²) dΔ with C(Δ) = ∫ π(x) L_m(x) L_m+1(x − Δ) dx, which
// does not depend on ω, so C is computed once per distinct pair of
// patterns. +Inf when fewer than minOmegaQueries (query, neighbouring
// models) pairs have data.
func (r *rephrasing) fitOmega(pairs []pairStats, nModels int) float64 {
	g := newGrid(omegaStep, r.a0, r.b0)
	type term struct {
		c     []float64 // C(Δ_k), Δ_k = (k − omegaSpan)·omegaStep, scaled
		mu    float64
		count float64
	}
	perPair := make([][]term, max(nModels-1, 0))
	forEachQuery(nModels-1, func(a int) {
		b := a + 1
		lik := [2]map[cell][]float64{{}, {}}
		pattern := func(side, m int, cells []cell, out []float64) {
			for i := range out {
				out[i] = 0
			}
			for _, c := range cells {
				l, ok := lik[side][c]
				if !ok {
					// The variant effect two models share moves both
					// logits alike, nearly a shift of the query's level:
					// only the part of their own counts here.
					l = g.logLik(c, r.tau[m]*math.Sqrt(1-r.rho))
					lik[side][c] = l
				}
				for i, v := range l {
					out[i] += v
				}
			}
			top := slices.Max(out)
			for i, v := range out {
				out[i] = math.Exp(v - top)
			}
		}
		nq := len(pairs) / nModels
		stride := max(1, (nq+maxPriorQueries-1)/maxPriorQueries)
		byKey := map[string]*term{}
		var keys []string
		la, lb := make([]float64, len(g.eta)), make([]float64, len(g.eta))
		prior := make([]float64, len(g.eta))
		for i, v := range g.logPrior {
			prior[i] = math.Exp(v)
		}
		for q := 0; q < nq; q += stride {
			pa, pb := &pairs[q*nModels+a], &pairs[q*nModels+b]
			if len(pa.cells) == 0 || len(pb.cells) == 0 {
				continue
			}
			key := cellsKey(pa.cells) + "|" + cellsKey(pb.cells)
			if t, ok := byKey[key]; ok {
				t.count++
				continue
			}
			pattern(0, a, pa.cells, la)
			pattern(1, b, pb.cells, lb)
			for i := range la {
				la[i] *= prior[i]
			}
			c := make([]float64, 2*omegaSpan+1)
			for k := range c {
				d := k - omegaSpan
				var sum float64
				for i := max(0, d); i < len(la) && i-d < len(lb); i++ {
					sum += la[i] * lb[i-d]
				}
				c[k] = sum
			}
			byKey[key] = &term{c: c, mu: r.offset[a] - r.offset[b], count: 1}
			keys = append(keys, key)
		}
		slices.Sort(keys)
		for _, k := range keys {
			perPair[a] = append(perPair[a], *byKey[k])
		}
	})
	var n float64
	for _, ts := range perPair {
		for _, t := range ts {
			n += t.count
		}
	}
	if n < minOmegaQueries {
		return math.Inf(1)
	}
	weights := make([]float64, 2*omegaSpan+1)
	objective := func(omega float64) float64 {
		var total float64
		v := 2 * omega * omega
		for _, ts := range perPair {
			if len(ts) == 0 {
				continue
			}
			// Every term of a model pair has the same μ.
			for k := range weights {
				d := float64(k-omegaSpan)*omegaStep - ts[0].mu
				weights[k] = math.Exp(-d * d / (2 * v))
			}
			for _, t := range ts {
				var s float64
				for k, c := range t.c {
					s += c * weights[k]
				}
				total += t.count * (math.Log(s) - 0.5*math.Log(v))
			}
		}
		return total
	}
	return goldenMax(objective, omegaMin, omegaMax)
}

// goldenMax returns the maximiser of f on [lo, hi] by fitIters steps of
// golden-section search (f unimodal).
func goldenMax(f func(float64) float64, lo, hi float64) float64 {
	x, _, _, _ := golden(f, lo, hi, fitIters)
	return x
}

// golden runs iters steps of golden-section search for the maximum of f
// (unimodal) on [lo, hi] and returns the better of its last two points, f
// there, and the final bracket: an end of [lo, hi] still in the bracket is
// the only one that can hold the maximum.
func golden(f func(float64) float64, lo, hi float64, iters int) (x, fx, bracketLo, bracketHi float64) {
	const phi = 0.6180339887498949
	x1, x2 := hi-phi*(hi-lo), lo+phi*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for range iters {
		if f1 >= f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - phi*(hi-lo)
			f1 = f(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + phi*(hi-lo)
			f2 = f(x2)
		}
	}
	if f2 > f1 {
		return x2, f2, lo, hi
	}
	return x1, f1, lo, hi
}

// cellsKey names a pair's cells in variant order.
func cellsKey(cells []cell) string {
	var b strings.Builder
	for _, c := range cells {
		b.WriteString(strconv.Itoa(int(c.n)))
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(int(c.y)))
		b.WriteByte(' ')
	}
	return b.String()
}

// thetaTable returns θ(η) = E_e[σ(η + e)], e ~ N(0, τ²), at every point of
// g, by 40-point Gauss–Hermite quadrature.
func thetaTable(g *grid, tau float64) []float64 {
	z, w := gaussHermite(40)
	out := make([]float64, len(g.eta))
	for i, x := range g.eta {
		if tau == 0 {
			out[i] = 1 / (1 + math.Exp(-x))
			continue
		}
		var s float64
		for h := range z {
			s += w[h] / (1 + math.Exp(-(x + tau*z[h])))
		}
		out[i] = s
	}
	return out
}

// pattern is the multiset of one pair's cells, and how many pairs share it.
type pattern struct {
	key   string
	cells []cell
	count float64
}

// fitTau returns model m's τ: the maximiser over [0, tauMax] of the marginal
// log likelihood of its pairs with two or more variants, η integrated over
// the prior. Pairs with the same cells give the same term, so the sum runs
// over distinct patterns (at most maxPatterns: beyond that, every s-th pair).
// It is 0 when no pair of m has two variants.
func fitTau(g *grid, pairs []pairStats, nModels, m int) float64 {
	var multi int
	for i := m; i < len(pairs); i += nModels {
		if len(pairs[i].cells) >= 2 {
			multi++
		}
	}
	if multi == 0 {
		return 0
	}
	var pats []pattern
	for stride := 1; ; stride *= 2 {
		pats = collectPatterns(pairs, nModels, m, stride)
		if len(pats) <= maxPatterns {
			break
		}
	}
	distinct := map[cell]bool{}
	for _, p := range pats {
		for _, c := range p.cells {
			distinct[c] = true
		}
	}
	cells := make([]cell, 0, len(distinct))
	for c := range distinct {
		cells = append(cells, c)
	}
	lp := make([]float64, len(g.eta))
	objective := func(tau float64) float64 {
		lik := make(map[cell][]float64, len(cells))
		for _, c := range cells {
			lik[c] = g.logLik(c, tau)
		}
		var total float64
		for _, p := range pats {
			copy(lp, g.logPrior)
			for _, c := range p.cells {
				for i, v := range lik[c] {
					lp[i] += v
				}
			}
			total += p.count * logSumExp(lp)
		}
		return total
	}
	// Golden-section search, then the boundary τ = 0 (no variant effect).
	best := goldenMax(objective, 0, tauMax)
	if objective(0) >= objective(best) {
		return 0
	}
	return best
}

// collectPatterns groups model m's pairs with two or more variants (every
// stride-th of them) by their sorted cells, sorted by key so that the fit's
// sums do not depend on map order.
func collectPatterns(pairs []pairStats, nModels, m, stride int) []pattern {
	byKey := map[string]*pattern{}
	var b strings.Builder
	k := 0
	for i := m; i < len(pairs); i += nModels {
		if len(pairs[i].cells) < 2 {
			continue
		}
		k++
		if (k-1)%stride != 0 {
			continue
		}
		cells := slices.Clone(pairs[i].cells)
		slices.SortFunc(cells, func(x, y cell) int { return cmp.Or(cmp.Compare(x.n, y.n), cmp.Compare(x.y, y.y)) })
		b.Reset()
		for _, c := range cells {
			b.WriteString(strconv.Itoa(int(c.n)))
			b.WriteByte('/')
			b.WriteString(strconv.Itoa(int(c.y)))
			b.WriteByte(' ')
		}
		key := b.String()
		if p, ok := byKey[key]; ok {
			p.count++
			continue
		}
		byKey[key] = &pattern{key: key, cells: cells, count: 1}
	}
	out := make([]pattern, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(x, y pattern) int { return strings.Compare(x.key, y.key) })
	return out
}

// Constants of the ρ fit.
const (
	// The step of the ρ fit's η grid (on [−rhoSpan, rhoSpan] for each
	// model) is rhoGrid's, within [rhoMinStep, rhoMaxStep].
	rhoMinStep = 0.15
	rhoMaxStep = 0.5
	rhoSpan    = 9.0
	rhoLikStep = 0.1 // grid of the variant likelihoods the ρ fit interpolates
	rhoSDs     = 5.0 // the shared effect's quadrature spans ±rhoSDs standard deviations
	// maxRhoQueries caps the queries a pair of models gives the ρ fit, and
	// maxRhoTable the size of its likelihood tables (distinct pairs of
	// cells × grid points): beyond either, every s-th query.
	maxRhoQueries = 1000
	maxRhoTable   = 1 << 21
	rhoIters      = 8 // golden-section steps on [0, 1]: the bracket shrinks to 0.618⁸ ≈ 0.02
)

// rhoTerm is one distinct data pattern of a pair of models on a query:
// the (cell of A, cell of B) of every variant they share, sorted, and how
// many queries have it.
type rhoTerm struct {
	cells [][2]cell
	count float64
}

// rhoGrid returns the step of the ρ fit's η grid for patterns whose pairs
// have at most nMax observations: the posterior of a pair's η has a
// standard deviation of at least about 2/sqrt(nMax) (binomial, p = 1/2),
// and the trapezoid rule on a step no larger than that is accurate to
// about e^(−2π²) of the integral.
func rhoGrid(nMax int) float64 {
	return max(rhoMinStep, min(rhoMaxStep, 2/math.Sqrt(float64(max(nMax, 1)))))
}

// fitRho returns ρ, the correlation of two models' variant effects on the
// same variant: the maximiser over [0, 1] of the marginal likelihood of the
// data of neighbouring models (m, m+1) with τ > 0 on the queries where both
// have the same two or more variants, at the fitted τ. Variant v's effects
// are
//
//	e_vA = τ_A(√ρ·s_v + √(1−ρ)·u_vA),  e_vB = τ_B(√ρ·s_v + √(1−ρ)·u_vB),
//
// s, u independent N(0, 1): s_v is the variant's shared effect, the rest
// each model's own. Given s_v, the two models' cells are independent, so
// the likelihood of a query is
//
//	∫∫ π(x_A) π(x_B) Π_v ∫ φ(s) L̃_vA(x_A + τ_A√ρ·s) L̃_vB(x_B + τ_B√ρ·s) ds dx_A dx_B
//
// with L̃ a cell's likelihood convolved with N(0, τ²(1−ρ)) (grid.logLik),
// computed on a grid of (x_A, x_B), the s integral by the trapezoid rule.
// η_A and η_B have the run's prior each, as in the τ fit: ρ is identified
// by how the variants' results move together within a query, not by the
// models' levels. The sum over model pairs is a composite likelihood (a
// model is in two pairs); each term is a likelihood of the model, so its
// maximiser is consistent. Unlike a moment estimate linearised by p(1−p),
// this does not lean low when τ is large and rates sit near 0 or 1, where
// the logistic curve flattens the shared effect. Queries with the same
// pattern give the same term, so the sum runs over distinct patterns. The
// result is 0 without such data.
func (r *rephrasing) fitRho(pairs []pairStats, nModels int) float64 {
	fits := make([]*rhoPair, max(nModels-1, 0))
	nq := len(pairs) / max(nModels, 1)
	forEachQuery(nModels-1, func(a int) {
		b := a + 1
		if r.tau[a] == 0 || r.tau[b] == 0 {
			return
		}
		var qs []int
		for q := range nq {
			pa, pb := &pairs[q*nModels+a], &pairs[q*nModels+b]
			if len(pa.cells) >= 2 && slices.Equal(pa.cellVariants, pb.cellVariants) {
				qs = append(qs, q)
			}
		}
		if len(qs) == 0 {
			return
		}
		for stride := max(1, (len(qs)+maxRhoQueries-1)/maxRhoQueries); ; stride *= 2 {
			fits[a] = newRhoPair(rhoTerms(pairs, nModels, a, qs, stride), r.tau[a], r.tau[b], r.a0, r.b0)
			if len(fits[a].cellPairs)*len(fits[a].base) <= maxRhoTable || stride >= len(qs) {
				break
			}
		}
	})
	if !slices.ContainsFunc(fits, func(p *rhoPair) bool { return p != nil }) {
		return 0
	}
	lik := newGrid(rhoLikStep, r.a0, r.b0)
	perPair := make([]float64, len(fits))
	objective := func(rho float64) float64 {
		forEachQuery(len(fits), func(a int) {
			if fits[a] != nil {
				perPair[a] = fits[a].logLik(lik, rho)
			}
		})
		var total float64
		for _, v := range perPair {
			total += v
		}
		return total
	}
	best, fb, lo, hi := golden(objective, 0, 1, rhoIters)
	// The ends, no shared effect or a wholly shared one, when the search
	// ended next to them.
	if hi == 1 {
		if f := objective(1); f >= fb {
			best, fb = 1, f
		}
	}
	if lo == 0 && objective(0) >= fb {
		return 0
	}
	return best
}

// rhoTerms returns the distinct patterns of models (a, a+1) on every
// stride-th of the queries qs, sorted by key.
func rhoTerms(pairs []pairStats, nModels, a int, qs []int, stride int) []rhoTerm {
	byKey := map[string]*rhoTerm{}
	var keys []string
	for i := 0; i < len(qs); i += stride {
		pa, pb := &pairs[qs[i]*nModels+a], &pairs[qs[i]*nModels+a+1]
		cs := make([][2]cell, len(pa.cells))
		for v := range cs {
			cs[v] = [2]cell{pa.cells[v], pb.cells[v]}
		}
		// Variants are exchangeable: the pattern is their multiset.
		slices.SortFunc(cs, func(x, y [2]cell) int {
			return cmp.Or(cmp.Compare(x[0].n, y[0].n), cmp.Compare(x[0].y, y[0].y),
				cmp.Compare(x[1].n, y[1].n), cmp.Compare(x[1].y, y[1].y))
		})
		var kb strings.Builder
		for _, c := range cs {
			kb.WriteString(strconv.Itoa(int(c[0].n)) + "/" + strconv.Itoa(int(c[0].y)) + "," +
				strconv.Itoa(int(c[1].n)) + "/" + strconv.Itoa(int(c[1].y)) + " ")
		}
		key := kb.String()
		if t, ok := byKey[key]; ok {
			t.count++
			continue
		}
		byKey[key] = &rhoTerm{cells: cs, count: 1}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	terms := make([]rhoTerm, len(keys))
	for i, k := range keys {
		terms[i] = *byKey[k]
	}
	return terms
}

// rhoPair is the ρ fit's data of one pair of models (A, B): its patterns,
// the grid of (x_A, x_B), and the buffers its likelihood is computed in,
// reused at every ρ.
type rhoPair struct {
	terms     []rhoTerm
	tau       [2]float64
	xs        []float64 // η grid of each model
	base      []float64 // π(x_A)·π(x_B), [iA*nx + iB]
	cells     [2][]cell // distinct cells of each side
	cellPairs [][2]int  // distinct (cell of A, cell of B), as indices into cells
	termPairs [][]int   // per term, its variants' indices into cellPairs
	// At the ρ of the last logLik: per side and cell, its likelihood at the
	// points of the shared effect's quadrature, and the log of its scale;
	// per pair of cells, its table; and scratch for patternSum.
	shifted    [2][][]float64
	shiftedTop [2][]float64
	tables     []rhoTable
	prod       []float64
}

// newRhoPair indexes the cells of a pair of models' patterns (τ_A, τ_B
// fitted, the run's prior Beta(a0, b0)) and lays out the grid of
// (x_A, x_B) with its prior weights; the tables are allocated at the first
// logLik.
func newRhoPair(terms []rhoTerm, tauA, tauB, a0, b0 float64) *rhoPair {
	p := &rhoPair{terms: terms, tau: [2]float64{tauA, tauB}}
	nMax := 0
	cellIndex := [2]map[cell]int{{}, {}}
	pairIndex := map[[2]int]int{}
	for _, t := range terms {
		var n [2]int
		idx := make([]int, len(t.cells))
		for v, cc := range t.cells {
			var pi [2]int
			for side, c := range cc {
				n[side] += int(c.n)
				i, ok := cellIndex[side][c]
				if !ok {
					i = len(p.cells[side])
					cellIndex[side][c] = i
					p.cells[side] = append(p.cells[side], c)
				}
				pi[side] = i
			}
			k, ok := pairIndex[pi]
			if !ok {
				k = len(p.cellPairs)
				pairIndex[pi] = k
				p.cellPairs = append(p.cellPairs, pi)
			}
			idx[v] = k
		}
		p.termPairs = append(p.termPairs, idx)
		nMax = max(nMax, n[0], n[1])
	}
	h := rhoGrid(nMax)
	nx := 2*int(math.Ceil(rhoSpan/h)) + 1
	p.xs = make([]float64, nx)
	prior := make([]float64, nx)
	for i := range p.xs {
		p.xs[i] = float64(i-nx/2) * h
		prior[i] = math.Exp(a0*logSigmoid(p.xs[i]) + b0*logSigmoid(-p.xs[i]))
	}
	p.base = make([]float64, nx*nx)
	for ia, pa := range prior {
		for ib, pb := range prior {
			p.base[ia*nx+ib] = pa * pb
		}
	}
	for side := range p.cells {
		p.shifted[side] = make([][]float64, len(p.cells[side]))
		p.shiftedTop[side] = make([]float64, len(p.cells[side]))
	}
	return p
}

// logLik is the log marginal likelihood, up to a constant, of the pair's
// patterns at ρ (fitRho); lik is the grid its variant likelihoods are
// interpolated in.
func (p *rhoPair) logLik(lik *grid, rho float64) float64 {
	xs, nx := p.xs, len(p.xs)
	h := xs[1] - xs[0]
	own := [2]float64{p.tau[0] * math.Sqrt(1-rho), p.tau[1] * math.Sqrt(1-rho)}
	shift := [2]float64{p.tau[0] * math.Sqrt(rho), p.tau[1] * math.Sqrt(rho)}
	// Trapezoid nodes of the shared effect s, with a step no larger than
	// the narrowest factor of the integrand in s: φ (width 1), and a
	// variant's likelihood, at least h wide in x, over the shift.
	ds := 1.0
	if m := max(shift[0], shift[1]); m > 0 {
		ds = min(ds, h/m)
	}
	ns := int(rhoSDs / ds)
	sNodes := make([]float64, 0, 2*ns+1)
	sWeights := make([]float64, 0, 2*ns+1)
	var wsum float64
	for j := -ns; j <= ns; j++ {
		s := float64(j) * ds
		sNodes = append(sNodes, s)
		sWeights = append(sWeights, math.Exp(-s*s/2))
		wsum += math.Exp(-s * s / 2)
	}
	for j := range sWeights {
		sWeights[j] /= wsum
	}
	// Every cell's likelihood, convolved with its own part of the variant
	// effect, at x_i + shift·s_j ([j*nx + i]), scaled to a maximum of 1.
	for side, cells := range p.cells {
		for ci, c := range cells {
			ll := lik.logLik(c, own[side])
			top := slices.Max(ll)
			vals := slices.Grow(p.shifted[side][ci][:0], len(sNodes)*nx)[:len(sNodes)*nx]
			for j, s := range sNodes {
				for i, x := range xs {
					vals[j*nx+i] = math.Exp(cubicAt(ll, (x+shift[side]*s-gridMin)/lik.step) - top)
				}
			}
			p.shifted[side][ci], p.shiftedTop[side][ci] = vals, top
		}
	}
	// Every (cell of A, cell of B)'s likelihood with s integrated out.
	if p.tables == nil {
		p.tables = make([]rhoTable, len(p.cellPairs))
		for i := range p.tables {
			p.tables[i].vals = make([]float64, nx*nx)
		}
		p.prod = make([]float64, nx*nx)
	}
	for k, pi := range p.cellPairs {
		la, lb := p.shifted[0][pi[0]], p.shifted[1][pi[1]]
		t := &p.tables[k]
		clear(t.vals)
		for j, w := range sWeights {
			ra, rb := la[j*nx:(j+1)*nx], lb[j*nx:(j+1)*nx]
			for ia, va := range ra {
				wa := w * va
				if wa < 1e-300 {
					continue
				}
				row := t.vals[ia*nx : (ia+1)*nx]
				for ib, vb := range rb {
					row[ib] += wa * vb
				}
			}
		}
		var m float64
		for _, v := range t.vals {
			m = math.Max(m, v)
		}
		if m > 0 {
			for i := range t.vals {
				t.vals[i] /= m
			}
		}
		t.top = p.shiftedTop[0][pi[0]] + p.shiftedTop[1][pi[1]] + math.Log(m)
	}
	var total float64
	ts := make([]*rhoTable, 0, 8)
	for i, term := range p.terms {
		ts = ts[:0]
		for _, k := range p.termPairs[i] {
			ts = append(ts, &p.tables[k])
		}
		sum, logScale := patternSum(p.prod, p.base, ts, false)
		if !(sum > 1e-250) {
			// Every point is far below its tables' peaks: again, rescaling
			// after every variant so that the product cannot underflow.
			sum, logScale = patternSum(p.prod, p.base, ts, true)
		}
		total += term.count * (math.Log(sum) + logScale)
	}
	return total
}

// rhoTable is one (cell of A, cell of B)'s likelihood on the ρ fit's grid
// of (x_A, x_B), scaled to a maximum of 1, and the log of the scale.
type rhoTable struct {
	vals []float64 // [iA*nx + iB]
	top  float64
}

// cubicAt interpolates ys, given at 0, 1, ..., len(ys)−1, at u by the
// Catmull–Rom cubic (clamped to the ends). Its error is of the fourth
// order in the step: linear interpolation's, of the second, would move the
// ρ fit's likelihood by a ripple comparable with its curvature.
func cubicAt(ys []float64, u float64) float64 {
	n := len(ys)
	if u <= 0 {
		return ys[0]
	}
	if u >= float64(n-1) {
		return ys[n-1]
	}
	k := int(u)
	t := u - float64(k)
	p1, p2 := ys[k], ys[k+1]
	p0, p3 := p1, p2
	if k > 0 {
		p0 = ys[k-1]
	}
	if k+2 < n {
		p3 = ys[k+2]
	}
	return p1 + 0.5*t*(p2-p0+t*(2*p0-5*p1+4*p2-p3+t*(3*(p1-p2)+p3-p0)))
}

// patternSum returns Σ base·Π tables over the grid, as sum·e^logScale.
// With rescale, it forms the product in prod, rescaled to a maximum of 1
// after every table, so that it cannot underflow.
func patternSum(prod, base []float64, tables []*rhoTable, rescale bool) (sum, logScale float64) {
	for _, t := range tables {
		logScale += t.top
	}
	if !rescale {
		// The first two tables in the loop, the rest (if any) inside it.
		t0, t1 := tables[0].vals[:len(base)], tables[len(tables)-1].vals[:len(base)]
		rest := tables[1:max(len(tables)-1, 1)]
		if len(tables) == 1 {
			t1 = nil
		}
		for i, v := range base {
			v *= t0[i]
			if t1 != nil {
				v *= t1[i]
			}
			for _, t := range rest {
				v *= t.vals[i]
			}
			sum += v
		}
		return sum, logScale
	}
	copy(prod, base)
	for _, t := range tables {
		vals := t.vals[:len(prod)]
		for i, v := range vals {
			prod[i] *= v
		}
		var m float64
		for _, v := range prod {
			m = math.Max(m, v)
		}
		if m > 0 {
			for i := range prod {
				prod[i] /= m
			}
			logScale += math.Log(m)
		}
	}
	for _, v := range prod {
		sum += v
	}
	return sum, logScale
}

// posteriorScratch is one worker's memory for posteriors.
type posteriorScratch struct {
	lp  []float64 // log posterior at the grid's points
	cdf []float64 // posterior mass left of each point's cell; one more at the end
}

func newPosteriorScratch(n int) *posteriorScratch {
	return &posteriorScratch{lp: make([]float64, n), cdf: make([]float64, n+1)}
}

// posterior is what P(best) needs of one pair's posterior: at the
// posterior quantiles Φ(scoreMin + j·scoreStep), η, θ(η) and the log prior
// density of η, and the copula's common-factor loading in [0, 1).
type posterior struct {
	eta, theta, logPrior [nScores]float64
	loading              float64
	mean, variance       float64 // of η
}

// compute sets the rephrasing interval (lo, hi) at level of model m's pair
// with the given cells (n > 0) and fills post. alpha and beta are the iid
// Beta posterior's, for the share of the logit variance that is sampling
// noise.
func (r *rephrasing) compute(m int, cells []cell, alpha, beta, level float64, post *posterior) (lo, hi float64) {
	sc := r.pool.Get().(*posteriorScratch)
	defer r.pool.Put(sc)
	g := r.grid
	lp := sc.lp
	copy(lp, g.logPrior)
	for _, c := range cells {
		for i, v := range r.lik[m][c] {
			lp[i] += v
		}
	}
	top := slices.Max(lp)
	var total, s1, s2 float64
	cdf := sc.cdf
	for i, v := range lp {
		cdf[i] = total
		if d := v - top; d > logFloor {
			w := math.Exp(d)
			total += w
			s1 += w * g.eta[i]
			s2 += w * g.eta[i] * g.eta[i]
		}
	}
	cdf[len(lp)] = total
	quantile := func(u float64) float64 {
		target := u * total
		i, _ := slices.BinarySearch(cdf, target)
		i = min(max(i, 1), len(lp)) - 1 // cdf[i] ≤ target ≤ cdf[i+1], the cell of point i
		w := cdf[i+1] - cdf[i]
		frac := 0.5
		if w > 0 {
			frac = (target - cdf[i]) / w
		}
		return g.eta[i] + (frac-0.5)*g.step
	}
	tail := (1 - level) / 2
	lo, hi = r.thetaAt(m, quantile(tail)), r.thetaAt(m, quantile(1-tail))
	for j, u := range r.score {
		x := quantile(u)
		post.eta[j] = x
		post.theta[j] = r.thetaAt(m, x)
		post.logPrior[j] = r.a0*logSigmoid(x) + r.b0*logSigmoid(-x)
	}
	post.mean = s1 / total
	post.variance = s2/total - post.mean*post.mean + g.step*g.step/12
	post.loading = 0
	if r.tau[m] > 0 && r.rho > 0 {
		sampling := trigamma(alpha) + trigamma(beta)
		if share := 1 - sampling/post.variance; share > 0 {
			post.loading = math.Sqrt(r.rho * share)
		}
	}
	return lo, hi
}

// thetaAt interpolates model m's θ(η) table at x.
func (r *rephrasing) thetaAt(m int, x float64) float64 { return r.onGrid(r.theta[m], x) }

// logPriorAt interpolates the prior's log density of η at x in the grid's
// table.
func (r *rephrasing) logPriorAt(x float64) float64 { return r.onGrid(r.grid.logPrior, x) }

// onGrid interpolates t, a table over the η grid, linearly at x, clamped to
// the grid.
func (r *rephrasing) onGrid(t []float64, x float64) float64 {
	u := (x - gridMin) / r.grid.step
	if u <= 0 {
		return t[0]
	}
	i := int(u)
	if i >= len(t)-1 {
		return t[len(t)-1]
	}
	f := u - float64(i)
	return t[i] + f*(t[i+1]-t[i])
}

// draw returns η, θ and the log prior density of η of a pair whose copula
// variable is u ~ N(0, 1), by interpolation in its quantile tables (clamped
// to ±4 standard scores).
func (p *posterior) draw(u float64) (eta, theta, logPrior float64) {
	x := (u - scoreMin) / scoreStep
	i, f := 0, 0.0
	switch {
	case x <= 0:
	case x >= nScores-1:
		i, f = nScores-2, 1
	default:
		i = int(x)
		f = x - float64(i)
	}
	return lerp(&p.eta, i, f), lerp(&p.theta, i, f), lerp(&p.logPrior, i, f)
}

func lerp(t *[nScores]float64, i int, f float64) float64 { return t[i] + f*(t[i+1]-t[i]) }

// logSumExp returns log Σ exp(xs).
func logSumExp(xs []float64) float64 {
	top := slices.Max(xs)
	if math.IsInf(top, -1) {
		return top
	}
	var s float64
	for _, x := range xs {
		s += math.Exp(x - top)
	}
	return top + math.Log(s)
}

// normalCDF is Φ(x).
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// trigamma is ψ₁(x) for x > 0: the variance of log X for X ~ Gamma(x), so
// ψ₁(α) + ψ₁(β) is the variance of logit p for p ~ Beta(α, β).
func trigamma(x float64) float64 {
	var s float64
	for x < 6 {
		s += 1 / (x * x)
		x++
	}
	x2 := 1 / (x * x)
	// Asymptotic series: 1/x + 1/(2x²) + 1/(6x³) − 1/(30x⁵) + 1/(42x⁷) − 1/(30x⁹).
	return s + 1/x + x2/2 + (1/x)*x2*(1.0/6-x2*(1.0/30-x2*(1.0/42-x2/30)))
}

// gaussHermite returns n nodes and weights of E[f(Z)], Z ~ N(0, 1), by
// Gauss–Hermite quadrature.
func gaussHermite(n int) (z, w []float64) {
	z, w = make([]float64, n), make([]float64, n)
	quad.Hermite{}.FixedLocations(z, w, math.Inf(-1), math.Inf(1))
	for i := range z {
		z[i] *= math.Sqrt2
		w[i] /= math.SqrtPi
	}
	return z, w
}
