// Package labels turns judged generations into distribution-aware routing
// labels: one record.Label per (query, model) pair and one record.Route per
// query.
//
// Only scored observations count in the statistics of a pair; unscored and
// error observations are counted apart (n_unscored, n_error) and never count
// as failures. For a pair with n scored scores x_i, s of them passed, in
// variants v with n_v scores each:
//
//	mean          = Σ x_i / n                                  NaN when n = 0
//	std           = sqrt(Σ (x_i − mean)² / (n − 1))            0 when n <= 1
//	variant_means = mean_v per variant id, ids ascending       empty when n = 0
//	var_within    = Σ_v (n_v/n) · popvar_v                     NaN when n = 0
//	var_between   = Σ_v (n_v/n) · (mean_v − mean)²             NaN when n = 0
//	beta_alpha    = s + a0                                     prior Beta(a0, b0):
//	beta_beta     = n − s + b0                                 a0 = b0 = 0.5 jeffreys, 1 uniform
//	ci_low_iid    = quantile of Beta(alpha, beta) at (1 − ci_level)/2
//	ci_high_iid   = quantile of Beta(alpha, beta) at 1 − (1 − ci_level)/2
//	ci_low        = the same quantiles of the posterior of the success rate over
//	ci_high         every rewrite, θ = E_e[sigmoid(η + e)], e ~ N(0, τ_m²): the
//	                rephrasing model (rephrasing.go, docs/intervals.md); the iid
//	                ones when the model's τ is 0
//	pass@k        = 1 − C(n−s, k)/C(n, k)
//	              = 1 − Π_{i=n−s+1}^{n} (1 − k/i)              NaN when k > n
//	cost_mean     = mean cost_usd over all the pair's observations, any status
//	                                                           NaN when it has none
//	cost_norm     = (cost_mean − min)/(max − min) over every pair of the data set
//	                with a cost_mean; 0 when max = min; NaN with cost_mean
//	utility       = mean − lambda·cost_norm − beta·std        NaN when n = 0
//
// popvar_v is the population variance (ddof 0) of variant v's scores, so
// var_within + var_between is the population variance of the pair's scores
// (the law of total variance). At n = 0 both intervals are the prior's.
//
// Per query, the candidates are the models with n > 0:
//
//	best_model    = argmax utility over candidates; utilities within 1e-12 tie,
//	                and a tie goes to the lower cost_mean, then the earlier model
//	                ("" with best_utility NaN when there is no candidate); is_best
//	                marks it
//	p_best        = importance-weighted share of p_best_draws Monte Carlo draws
//	                in which the model maximises θ − lambda·cost_norm − beta·std,
//	                θ drawn from the rephrasing posteriors joined by a Gaussian
//	                copula and weighed by the fitted joint prior of the query's
//	                logits (rephrasing.go; exact ties to the earlier model);
//	                sums to 1 over candidates, 0 for the others
//	single shot   = in each of R = single_shot_draws draws r, every candidate's
//	                label is one of its scored scores picked uniformly at random,
//	                with utility score − lambda·cost_norm (std taken as 0); the
//	                argmax under the same tie rules is draw r's single-shot best
//	single_shot_score      = the pair's score in draw 0 (NaN when n = 0)
//	single_shot_best_model = the single-shot best of draw 0
//	single_shot_flip_rate  = share of the R draws whose single-shot best differs
//	                         from best_model (NaN when there is no candidate)
//
// Build is deterministic: the observations are sorted before anything is
// computed, and every random draw comes from a math/rand/v2 PCG generator
// seeded with the run seed and a stable FNV-1a hash of a stream name, the
// query id and (for single shot) the model, never from a global source. The
// output does not depend on the input order nor on GOMAXPROCS.
package labels

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/darslabs/dars/pkg/record"
)

// Observation is one judged generation as labels see it.
type Observation struct {
	QueryID     string
	VariantID   int32
	Model       string
	SampleIndex int32
	Status      string  // record.StatusScored | record.StatusUnscored | record.StatusError
	Score       float64 // in [0,1]; meaningful when scored
	Passed      bool
	CostUSD     float64 // cost of the generation, counted whatever the status
}

// Priors accepted in Options.Prior.
const (
	PriorJeffreys = "jeffreys" // Beta(0.5, 0.5)
	PriorUniform  = "uniform"  // Beta(1, 1)
)

// tieTolerance is the utility difference below which two models tie.
const tieTolerance = 1e-12

// Options configures Build. Models gives the candidate models in config
// order: the label rows of every query and the columns of Route.PBest follow
// it, and a model without observations for a query still gets a label row
// with N = 0.
type Options struct {
	Models          []string
	Lambda          float64 // cost weight in the utility
	Beta            float64 // spread (std) weight in the utility
	Prior           string  // PriorJeffreys or PriorUniform
	CILevel         float64 // e.g. 0.95: equal-tailed posterior interval
	PassAtK         []int   // k values of pass@k, each >= 1
	SingleShotDraws int     // R, >= 1
	PBestDraws      int     // Monte Carlo draws for p_best, >= 1
	Seed            int64   // run seed
}

// check reports the first problem with the options, naming the field.
func (o Options) check() error {
	if len(o.Models) == 0 {
		return errors.New("check options: models: no candidate models")
	}
	seen := make(map[string]bool, len(o.Models))
	for _, m := range o.Models {
		if seen[m] {
			return fmt.Errorf("check options: models: duplicate model %q", m)
		}
		seen[m] = true
	}
	if !isFinite(o.Lambda) {
		return fmt.Errorf("check options: lambda: %v is not finite", o.Lambda)
	}
	if !isFinite(o.Beta) {
		return fmt.Errorf("check options: beta: %v is not finite", o.Beta)
	}
	if _, _, err := priorParams(o.Prior); err != nil {
		return fmt.Errorf("check options: %w", err)
	}
	if !(o.CILevel > 0 && o.CILevel < 1) {
		return fmt.Errorf("check options: ci_level: %v is not in (0, 1)", o.CILevel)
	}
	for _, k := range o.PassAtK {
		if k < 1 {
			return fmt.Errorf("check options: pass_at_k: k = %d is below 1", k)
		}
	}
	if o.SingleShotDraws < 1 {
		return fmt.Errorf("check options: single_shot_draws: %d is below 1", o.SingleShotDraws)
	}
	if o.PBestDraws < 1 {
		return fmt.Errorf("check options: p_best_draws: %d is below 1", o.PBestDraws)
	}
	return nil
}

// priorParams returns the prior's Beta shape parameters (a0, b0).
func priorParams(prior string) (a0, b0 float64, err error) {
	switch prior {
	case PriorJeffreys:
		return 0.5, 0.5, nil
	case PriorUniform:
		return 1, 1, nil
	}
	return 0, 0, fmt.Errorf("prior: unknown prior %q (want %q or %q)", prior, PriorJeffreys, PriorUniform)
}

// checkObservation reports what is wrong with one observation.
func checkObservation(o Observation) error {
	switch o.Status {
	case record.StatusScored:
		if !(o.Score >= 0 && o.Score <= 1) {
			return fmt.Errorf("score %v is not in [0, 1]", o.Score)
		}
	case record.StatusUnscored, record.StatusError:
	default:
		return fmt.Errorf("unknown status %q", o.Status)
	}
	if !(o.CostUSD >= 0) || math.IsInf(o.CostUSD, 1) {
		return fmt.Errorf("cost %v is not a finite non-negative number", o.CostUSD)
	}
	return nil
}

// keyed is an observation with its query and model replaced by their ranks
// in the output order, so that sorting is cheap.
type keyed struct {
	query int
	model int
	obs   *Observation
}

// Build computes the label of every (query, model) pair and the route of
// every query in obs.
//
// It returns one Label per query id appearing in obs times every model in
// opts.Models, sorted by query id (record.CompareQueryID) and then by model
// in opts.Models order, and one Route per query in the same query order.
// The output depends only on the multiset of observations and opts, never on
// their order. Build returns an error, and no rows, for invalid options, an
// observation of a model not in opts.Models, an unknown status, a scored
// score outside [0,1], a negative or non-finite cost, or two observations
// with the same (query_id, variant_id, model, sample_index).
//
// The package documentation gives every formula.
func Build(obs []Observation, opts Options) ([]record.Label, []record.Route, error) {
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	a0, b0, _ := priorParams(opts.Prior)

	modelRank := make(map[string]int, len(opts.Models))
	for i, m := range opts.Models {
		modelRank[m] = i
	}
	queryRank := make(map[string]int)
	for i := range obs {
		o := &obs[i]
		if _, ok := modelRank[o.Model]; !ok {
			return nil, nil, fmt.Errorf("build labels: observation %s: model %q is not a candidate model", describe(o), o.Model)
		}
		if err := checkObservation(*o); err != nil {
			return nil, nil, fmt.Errorf("build labels: observation %s: %w", describe(o), err)
		}
		queryRank[o.QueryID] = 0
	}
	queries := make([]string, 0, len(queryRank))
	for q := range queryRank {
		queries = append(queries, q)
	}
	slices.SortFunc(queries, record.CompareQueryID)
	for i, q := range queries {
		queryRank[q] = i
	}

	sorted := make([]keyed, len(obs))
	for i := range obs {
		sorted[i] = keyed{query: queryRank[obs[i].QueryID], model: modelRank[obs[i].Model], obs: &obs[i]}
	}
	slices.SortFunc(sorted, func(x, y keyed) int {
		return cmp.Or(
			cmp.Compare(x.query, y.query),
			cmp.Compare(x.model, y.model),
			cmp.Compare(x.obs.VariantID, y.obs.VariantID),
			cmp.Compare(x.obs.SampleIndex, y.obs.SampleIndex),
		)
	})
	for i := 1; i < len(sorted); i++ {
		x, y := sorted[i-1], sorted[i]
		if x.query == y.query && x.model == y.model && x.obs.VariantID == y.obs.VariantID && x.obs.SampleIndex == y.obs.SampleIndex {
			return nil, nil, fmt.Errorf("build labels: duplicate observation %s", describe(y.obs))
		}
	}

	// Scored scores and their variant ids, laid out pair after pair.
	scores := make([]float64, 0, len(sorted))
	variants := make([]int32, 0, len(sorted))
	var cells []cell
	var cellVariants []int32
	nModels := len(opts.Models)
	pairs := make([]pairStats, len(queries)*nModels)
	for start := 0; start < len(sorted); {
		end := start
		for end < len(sorted) && sorted[end].query == sorted[start].query && sorted[end].model == sorted[start].model {
			end++
		}
		p := &pairs[sorted[start].query*nModels+sorted[start].model]
		first, firstCell := len(scores), len(cells)
		for _, k := range sorted[start:end] {
			o := k.obs
			if n := len(p.seen); n == 0 || p.seen[n-1] != o.VariantID {
				p.seen = append(p.seen, o.VariantID)
			}
			if o.Status != record.StatusError {
				p.costSum += o.CostUSD
				p.costCount++
			}
			switch o.Status {
			case record.StatusScored:
				if len(variants) == first || variants[len(variants)-1] != o.VariantID {
					cells = append(cells, cell{})
					cellVariants = append(cellVariants, o.VariantID)
				}
				c := &cells[len(cells)-1]
				c.n++
				scores = append(scores, o.Score)
				variants = append(variants, o.VariantID)
				if o.Passed {
					p.successes++
					c.y++
				}
			case record.StatusUnscored:
				p.nUnscored++
			case record.StatusError:
				p.nError++
			}
		}
		p.scores = scores[first:len(scores):len(scores)]
		p.variants = variants[first:len(variants):len(variants)]
		p.cells = cells[firstCell:len(cells):len(cells)]
		p.cellVariants = cellVariants[firstCell:len(cells):len(cells)]
		start = end
	}

	labels := make([]record.Label, len(pairs))
	for i := range pairs {
		l := &labels[i]
		l.QueryID = queries[i/nModels]
		l.Model = opts.Models[i%nModels]
		pairs[i].compute(l, a0, b0, opts)
	}
	normaliseCost(labels)
	reph := fitRephrasing(pairs, nModels, a0, b0)

	routes := make([]record.Route, len(queries))
	forEachQuery(len(queries), func(qi int) {
		buildQuery(queries[qi], labels[qi*nModels:(qi+1)*nModels], pairs[qi*nModels:(qi+1)*nModels], &routes[qi], reph, opts)
	})
	return labels, routes, nil
}

// forEachQuery calls fn for every query index on at most GOMAXPROCS
// goroutines. Queries write disjoint rows, so the result does not depend on
// the schedule.
func forEachQuery(n int, fn func(qi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for qi := range n {
			fn(qi)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for qi := w; qi < n; qi += workers {
				fn(qi)
			}
		})
	}
	wg.Wait()
}

// describe names an observation in error messages.
func describe(o *Observation) string {
	return fmt.Sprintf("(query %q, variant %d, model %q, sample %d)", o.QueryID, o.VariantID, o.Model, o.SampleIndex)
}

func isFinite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
