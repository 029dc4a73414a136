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
// variant effects between models (pooled over model pairs, by moments).

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
	r.rho = fitRho(pairs, nModels, r.tau)
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
	const phi = 0.6180339887498949
	x1, x2 := hi-phi*(hi-lo), lo+phi*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for range fitIters {
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
		return x2
	}
	return x1
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

// fitRho estimates the correlation of the variant effects of two models on
// the same query, pooled over every pair of models with τ > 0 and every
// query where both have the same two or more variants, each with two or
// more observations. On the logit scale Cov(e_vA, e_vB) = ρ·τ_A·τ_B, and a
// variant's success rate moves by about p(1−p) per unit of logit, so
//
//	ρ = Σ Σ_v (p̂_vA − p̄_A)(p̂_vB − p̄_B) / Σ (K−1)·g_A·g_B·τ_A·τ_B
//
// with g the mean over variants of p̂(1−p̂)·n/(n−1), unbiased for p(1−p).
// The sampling noise of two models is independent, so the numerator needs
// no correction. The result is clamped to [0, 1]; 0 without data.
func fitRho(pairs []pairStats, nModels int, tau []float64) float64 {
	var num, den float64
	dev := make([][]float64, nModels)
	g := make([]float64, nModels)
	ok := make([]bool, nModels)
	for q := 0; q < len(pairs); q += nModels {
		for m := range nModels {
			p := &pairs[q+m]
			ok[m] = tau[m] > 0 && len(p.cells) >= 2
			if !ok[m] {
				continue
			}
			dev[m] = dev[m][:0]
			var mean float64
			g[m] = 0
			for _, c := range p.cells {
				if c.n < 2 {
					ok[m] = false
					break
				}
				r := float64(c.y) / float64(c.n)
				dev[m] = append(dev[m], r)
				mean += r
				g[m] += r * (1 - r) * float64(c.n) / float64(c.n-1)
			}
			if !ok[m] {
				continue
			}
			k := float64(len(p.cells))
			mean /= k
			g[m] /= k
			for i := range dev[m] {
				dev[m][i] -= mean
			}
		}
		for a := range nModels {
			if !ok[a] {
				continue
			}
			for b := a + 1; b < nModels; b++ {
				if !ok[b] || !slices.Equal(pairs[q+a].cellVariants, pairs[q+b].cellVariants) {
					continue
				}
				for i := range dev[a] {
					num += dev[a][i] * dev[b][i]
				}
				den += float64(len(dev[a])-1) * g[a] * g[b] * tau[a] * tau[b]
			}
		}
	}
	if !(den > 0) {
		return 0
	}
	return min(max(num/den, 0), 1)
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
func (r *rephrasing) thetaAt(m int, x float64) float64 {
	t := r.theta[m]
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

// logPriorAt interpolates the prior's log density of η at x in the grid's
// table (clamped to the grid).
func (r *rephrasing) logPriorAt(x float64) float64 {
	t := r.grid.logPrior
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
