package labels

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// simSpec describes simulated data drawn from the simulator's model:
// p(q, v, m) = sigmoid(skill_m − d_q + e_{q,v} + a_{m,q}) with
// d ~ N(0, 1.5²), e ~ N(0, inputSD²) per (query, variant), the same for
// every model, and a ~ N(0, 0.8²) per (model, query).
type simSpec struct {
	queries  int
	variants int // K, the original counted
	samples  int // N per (query, variant, model)
	skills   []float64
	inputSD  float64
	seed     uint64
}

// simModels names the models of skills: m0, m1, ...
func simModels(n int) []string {
	ms := make([]string, n)
	for i := range ms {
		ms[i] = "m" + strconv.Itoa(i)
	}
	return ms
}

// simulate draws the observations of spec (all scored, cost 0), the
// all-rewrites truth of every pair, truth[q*len(skills)+m] =
// E_e[sigmoid(skill_m − d_q + e + a_{m,q})] over a new rewrite's e, by
// 40-point Gauss–Hermite quadrature, and the mean p over the variants drawn,
// drawn[q*len(skills)+m].
func simulate(spec simSpec) (obs []Observation, truth, drawn []float64) {
	rng := rand.New(rand.NewPCG(spec.seed, 0x5eed))
	nm := len(spec.skills)
	models := simModels(nm)
	nodes, weights := gaussHermite(40)
	obs = make([]Observation, 0, spec.queries*spec.variants*spec.samples*nm)
	truth = make([]float64, spec.queries*nm)
	drawn = make([]float64, spec.queries*nm)
	e := make([]float64, spec.variants)
	for q := range spec.queries {
		id := strconv.Itoa(q)
		d := 1.5 * rng.NormFloat64()
		for v := range e {
			e[v] = spec.inputSD * rng.NormFloat64()
		}
		for m, skill := range spec.skills {
			eta := skill - d + 0.8*rng.NormFloat64()
			var t float64
			for h, z := range nodes {
				t += weights[h] * sigmoid(eta+spec.inputSD*z)
			}
			truth[q*nm+m] = t
			for v := range spec.variants {
				p := sigmoid(eta + e[v])
				drawn[q*nm+m] += p / float64(spec.variants)
				for s := range spec.samples {
					o := Observation{QueryID: id, VariantID: int32(v), Model: models[m], SampleIndex: int32(s), Status: scored}
					if rng.Float64() < p {
						o.Score, o.Passed = 1, true
					}
					obs = append(obs, o)
				}
			}
		}
	}
	return obs, truth, drawn
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
