package labels

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/darslabs/dars/pkg/record"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	scored   = record.StatusScored
	unscored = record.StatusUnscored
	failed   = record.StatusError
)

func testOptions(models ...string) Options {
	return Options{
		Models:          models,
		Lambda:          0.05,
		Beta:            0.2,
		Prior:           PriorJeffreys,
		CILevel:         0.95,
		PassAtK:         []int{1, 2, 5},
		SingleShotDraws: 100,
		PBestDraws:      2000,
		Seed:            42,
	}
}

// ob builds a scored observation passing iff its score is 1.
func ob(q string, v int32, m string, s int32, score, cost float64) Observation {
	return Observation{QueryID: q, VariantID: v, Model: m, SampleIndex: s, Status: scored, Score: score, Passed: score == 1, CostUSD: cost}
}

func withStatus(o Observation, status string) Observation {
	o.Status = status
	o.Score, o.Passed = 0, false
	return o
}

// near reports whether x and y are equal within tol, treating two NaNs as equal.
func near(x, y, tol float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return math.Abs(x-y) <= tol
}

func mustBuild(t testing.TB, obs []Observation, opts Options) ([]record.Label, []record.Route) {
	t.Helper()
	labels, routes, err := Build(obs, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return labels, routes
}

func TestMeanStd(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name      string
		xs        []float64
		mean, std float64
	}{
		{"empty", nil, nan, 0},
		{"one", []float64{0.3}, 0.3, 0},
		{"all pass", []float64{1, 1, 1, 1}, 1, 0},
		{"all fail", []float64{0, 0, 0}, 0, 0},
		{"constant fraction", []float64{0.1, 0.1, 0.1}, 0.1, 0},
		{"mixed", []float64{1, 0, 1, 1}, 0.75, 0.5},
		{"two", []float64{0, 1}, 0.5, math.Sqrt(0.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mean, std := meanStd(tt.xs)
			if !near(mean, tt.mean, 1e-15) || !near(std, tt.std, 1e-15) {
				t.Errorf("meanStd(%v) = (%v, %v), want (%v, %v)", tt.xs, mean, std, tt.mean, tt.std)
			}
		})
	}
}

func TestVarianceSplit(t *testing.T) {
	t.Run("hand computed", func(t *testing.T) {
		means, within, between := varianceSplit([]float64{1, 0, 1, 1}, []int32{0, 0, 1, 1})
		if !reflect.DeepEqual(means, []float64{0.5, 1}) || !near(within, 0.125, 1e-15) || !near(between, 0.0625, 1e-15) {
			t.Errorf("got means %v within %v between %v, want [0.5 1] 0.125 0.0625", means, within, between)
		}
	})
	t.Run("empty", func(t *testing.T) {
		means, within, between := varianceSplit(nil, nil)
		if len(means) != 0 || !math.IsNaN(within) || !math.IsNaN(between) {
			t.Errorf("got %v %v %v, want [] NaN NaN", means, within, between)
		}
	})
	t.Run("law of total variance", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for trial := range 2000 {
			n := 1 + rng.IntN(40)
			xs := make([]float64, n)
			vs := make([]int32, n)
			v := int32(0)
			for i := range xs {
				if i > 0 && rng.IntN(3) == 0 {
					v += 1 + int32(rng.IntN(2))
				}
				vs[i] = v
				if rng.IntN(2) == 0 {
					xs[i] = float64(rng.IntN(2))
				} else {
					xs[i] = rng.Float64()
				}
			}
			_, within, between := varianceSplit(xs, vs)
			_, total := popMeanVar(xs)
			if math.Abs(within+between-total) > 1e-12 || within < 0 || between < 0 {
				t.Fatalf("trial %d: within %v + between %v != population variance %v (xs %v, variants %v)", trial, within, between, total, xs, vs)
			}
		}
	})
}

// binomial returns C(n, k) exactly.
func binomial(n, k int) *big.Int { return new(big.Int).Binomial(int64(n), int64(k)) }

func TestPassAtK(t *testing.T) {
	for n := 0; n <= 12; n++ {
		for c := 0; c <= n; c++ {
			for k := 1; k <= 14; k++ {
				t.Run(fmt.Sprintf("n=%d,c=%d,k=%d", n, c, k), func(t *testing.T) {
					got := passAtK(n, c, k)
					if k > n {
						if !math.IsNaN(got) {
							t.Fatalf("got %v, want NaN for k > n", got)
						}
						return
					}
					want := 1.0
					if n-c >= k {
						r := new(big.Rat).SetFrac(binomial(n-c, k), binomial(n, k))
						f, _ := r.Float64()
						want = 1 - f
					}
					if !near(got, want, 1e-12) {
						t.Fatalf("got %v, want %v", got, want)
					}
				})
			}
		}
	}
}

func TestBetaInterval(t *testing.T) {
	t.Run("jeffreys n=10 s=3", func(t *testing.T) {
		lo, hi := betaInterval(3.5, 7.5, 0.95)
		d := distuv.Beta{Alpha: 3.5, Beta: 7.5}
		// The published Jeffreys interval for 3/10 (Brown, Cai and DasGupta 2001) is about (0.093, 0.606).
		if !near(lo, 0.093, 0.002) || !near(hi, 0.606, 0.002) {
			t.Errorf("interval (%v, %v), want about (0.093, 0.606)", lo, hi)
		}
		if !near(d.CDF(lo), 0.025, 1e-9) || !near(d.CDF(hi), 0.975, 1e-9) {
			t.Errorf("CDF at the bounds = (%v, %v), want (0.025, 0.975)", d.CDF(lo), d.CDF(hi))
		}
	})
	t.Run("monotone in successes", func(t *testing.T) {
		prevLo, prevHi := -1.0, -1.0
		for s := 0; s <= 20; s++ {
			lo, hi := betaInterval(float64(s)+0.5, float64(20-s)+0.5, 0.95)
			if !(lo > prevLo && hi > prevHi && lo < hi) {
				t.Fatalf("s=%d: interval (%v, %v) does not move up from (%v, %v)", s, lo, hi, prevLo, prevHi)
			}
			prevLo, prevHi = lo, hi
		}
	})
	t.Run("narrows with n", func(t *testing.T) {
		prev := 2.0
		for _, n := range []int{2, 10, 50, 250} {
			lo, hi := betaInterval(float64(n)/2+0.5, float64(n)/2+0.5, 0.95)
			if hi-lo >= prev {
				t.Fatalf("n=%d: width %v not below %v", n, hi-lo, prev)
			}
			prev = hi - lo
		}
	})
	t.Run("wider at higher level", func(t *testing.T) {
		lo90, hi90 := betaInterval(3.5, 7.5, 0.90)
		lo95, hi95 := betaInterval(3.5, 7.5, 0.95)
		if !(lo95 < lo90 && hi95 > hi90) {
			t.Errorf("95%% (%v, %v) does not contain 90%% (%v, %v)", lo95, hi95, lo90, hi90)
		}
	})
}

func TestBuildPair(t *testing.T) {
	nan := math.NaN()
	mixed := []Observation{
		ob("q", 0, "a", 0, 1, 0.1), ob("q", 0, "a", 1, 0, 0.2),
		ob("q", 1, "a", 0, 1, 0.3), ob("q", 1, "a", 1, 1, 0.4),
	}
	tests := []struct {
		name  string
		obs   []Observation
		prior string
		want  record.Label
	}{
		{
			name:  "mixed",
			obs:   mixed,
			prior: PriorJeffreys,
			want: record.Label{N: 4, Successes: 3, Mean: 0.75, Std: 0.5, VariantMeans: []float64{0.5, 1},
				VarWithin: 0.125, VarBetween: 0.0625, BetaAlpha: 3.5, BetaBeta: 1.5,
				PassAtK: []float64{0.75, 1, nan}, CostMean: 0.25, CostNorm: 0, Utility: 0.65, PBest: 1, IsBest: true},
		},
		{
			name: "unscored and error excluded but paid for",
			obs: append(append([]Observation{}, mixed...),
				withStatus(ob("q", 0, "a", 2, 1, 0.5), unscored),
				withStatus(ob("q", 2, "a", 0, 1, 0.5), failed)),
			prior: PriorUniform,
			// The failed observation is variant 2's only one: its mean is NaN,
			// and a failed request is no price, so cost_mean leaves it out.
			want: record.Label{N: 4, NUnscored: 1, NError: 1, Successes: 3, Mean: 0.75, Std: 0.5, VariantMeans: []float64{0.5, 1, nan},
				VarWithin: 0.125, VarBetween: 0.0625, BetaAlpha: 4, BetaBeta: 2,
				PassAtK: []float64{0.75, 1, nan}, CostMean: 1.5 / 5, CostNorm: 0, Utility: 0.65, PBest: 1, IsBest: true},
		},
		{
			name:  "one observation",
			obs:   []Observation{ob("q", 0, "a", 0, 1, 0.1)},
			prior: PriorJeffreys,
			want: record.Label{N: 1, Successes: 1, Mean: 1, Std: 0, VariantMeans: []float64{1}, BetaAlpha: 1.5, BetaBeta: 0.5,
				PassAtK: []float64{1, nan, nan}, CostMean: 0.1, Utility: 1, PBest: 1, IsBest: true},
		},
		{
			name: "all fail",
			obs: []Observation{ob("q", 0, "a", 0, 0, 0.1), ob("q", 0, "a", 1, 0, 0.1),
				ob("q", 1, "a", 0, 0, 0.1), ob("q", 1, "a", 1, 0, 0.1), ob("q", 1, "a", 2, 0, 0.1)},
			prior: PriorJeffreys,
			want: record.Label{N: 5, Mean: 0, Std: 0, VariantMeans: []float64{0, 0}, BetaAlpha: 0.5, BetaBeta: 5.5,
				PassAtK: []float64{0, 0, 0}, CostMean: 0.1, Utility: 0, PBest: 1, IsBest: true},
		},
		{
			name: "all pass",
			obs: []Observation{ob("q", 0, "a", 0, 1, 0.1), ob("q", 0, "a", 1, 1, 0.1),
				ob("q", 3, "a", 0, 1, 0.1), ob("q", 3, "a", 1, 1, 0.1), ob("q", 3, "a", 2, 1, 0.1)},
			prior: PriorJeffreys,
			want: record.Label{N: 5, Successes: 5, Mean: 1, Std: 0, VariantMeans: []float64{1, 1}, BetaAlpha: 5.5, BetaBeta: 0.5,
				PassAtK: []float64{1, 1, 1}, CostMean: 0.1, Utility: 1, PBest: 1, IsBest: true},
		},
		{
			name:  "only errors",
			obs:   []Observation{withStatus(ob("q", 0, "a", 0, 1, 0.2), failed), withStatus(ob("q", 0, "a", 1, 1, 0.4), unscored)},
			prior: PriorJeffreys,
			want: record.Label{N: 0, NError: 1, NUnscored: 1, Mean: nan, Std: 0, VariantMeans: []float64{nan}, VarWithin: nan, VarBetween: nan,
				BetaAlpha: 0.5, BetaBeta: 0.5, PassAtK: []float64{nan, nan, nan}, CostMean: 0.4, Utility: nan},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions("a")
			opts.Prior = tt.prior
			labels, routes := mustBuild(t, tt.obs, opts)
			if len(labels) != 1 || len(routes) != 1 {
				t.Fatalf("got %d labels and %d routes, want 1 and 1", len(labels), len(routes))
			}
			got, want := labels[0], tt.want
			want.QueryID, want.Model = "q", "a"
			want.CILowIID, want.CIHighIID = betaInterval(want.BetaAlpha, want.BetaBeta, 0.95)
			// One query: the rephrasing interval is checked in rephrasing_test.go.
			want.CILow, want.CIHigh = got.CILow, got.CIHigh
			want.SingleShotScore = got.SingleShotScore // checked below
			if diff := diffLabel(got, want); diff != "" {
				t.Errorf("label differs:\n%s", diff)
			}
			if got.N == 0 {
				if !math.IsNaN(got.SingleShotScore) || routes[0].BestModel != "" || !math.IsNaN(routes[0].BestUtility) {
					t.Errorf("n = 0: single shot %v, best %q (%v), want NaN, \"\" (NaN)", got.SingleShotScore, routes[0].BestModel, routes[0].BestUtility)
				}
				return
			}
			if !hasScore(tt.obs, got.SingleShotScore) {
				t.Errorf("single_shot_score %v is not a scored observation's score", got.SingleShotScore)
			}
			if routes[0].BestModel != "a" || routes[0].SingleShotBestModel != "a" || routes[0].SingleShotFlipRate != 0 {
				t.Errorf("route %+v, want best and single-shot best a, flip rate 0", routes[0])
			}
		})
	}
}

func hasScore(obs []Observation, score float64) bool {
	for _, o := range obs {
		if o.Status == scored && o.Score == score {
			return true
		}
	}
	return false
}

// diffLabel lists the fields of got that differ from want beyond 1e-12.
func diffLabel(got, want record.Label) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		same := reflect.DeepEqual(g, w)
		switch g := g.(type) {
		case float64:
			same = near(g, w.(float64), 1e-12)
		case []float64:
			w := w.([]float64)
			same = len(g) == len(w)
			for j := 0; same && j < len(g); j++ {
				same = near(g[j], w[j], 1e-12)
			}
		}
		if !same {
			fmt.Fprintf(&b, "%s: got %v, want %v\n", name, g, w)
		}
	}
	return b.String()
}

func TestBuildCostAndChoice(t *testing.T) {
	tests := []struct {
		name     string
		obs      []Observation
		lambda   float64
		wantBest string
		wantNorm []float64
	}{
		{
			name: "cheaper wins on cost",
			obs: []Observation{ob("q", 0, "a", 0, 1, 0.03), ob("q", 0, "a", 1, 1, 0.03),
				ob("q", 0, "b", 0, 1, 0.01), ob("q", 0, "b", 1, 1, 0.01)},
			lambda: 0.05, wantBest: "b", wantNorm: []float64{1, 0},
		},
		{
			name: "tie goes to the lower cost",
			obs: []Observation{ob("q", 0, "a", 0, 1, 0.03), ob("q", 0, "b", 0, 1, 0.01),
				ob("r", 0, "a", 0, 1, 0.02), ob("r", 0, "b", 0, 1, 0.02)},
			lambda: 0, wantBest: "b", wantNorm: []float64{1, 0},
		},
		{
			name:   "tie at equal cost goes to the earlier model",
			obs:    []Observation{ob("q", 0, "b", 0, 0.5, 0.01), ob("q", 0, "a", 0, 0.5, 0.01)},
			lambda: 0.05, wantBest: "a", wantNorm: []float64{0, 0},
		},
		{
			name:   "better score beats cost",
			obs:    []Observation{ob("q", 0, "a", 0, 1, 0.05), ob("q", 0, "b", 0, 0, 0.01)},
			lambda: 0.05, wantBest: "a", wantNorm: []float64{1, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions("a", "b")
			opts.Lambda = tt.lambda
			labels, routes := mustBuild(t, tt.obs, opts)
			if routes[0].QueryID != "q" || routes[0].BestModel != tt.wantBest {
				t.Errorf("route %+v, want query q best %q", routes[0], tt.wantBest)
			}
			for m, want := range tt.wantNorm {
				l := labels[m]
				if !near(l.CostNorm, want, 1e-12) {
					t.Errorf("model %s: cost_norm %v, want %v", l.Model, l.CostNorm, want)
				}
				wantU := l.Mean - tt.lambda*l.CostNorm - opts.Beta*l.Std
				if !near(l.Utility, wantU, 1e-15) {
					t.Errorf("model %s: utility %v, want %v", l.Model, l.Utility, wantU)
				}
				if l.IsBest != (l.Model == tt.wantBest) {
					t.Errorf("model %s: is_best %v", l.Model, l.IsBest)
				}
			}
			if routes[0].BestUtility != labels[0].Utility && routes[0].BestUtility != labels[1].Utility {
				t.Errorf("best_utility %v is no label's utility", routes[0].BestUtility)
			}
		})
	}
}

func TestBuildRowsAndOrder(t *testing.T) {
	obs := []Observation{ob("x", 0, "b", 0, 1, 0), ob("10", 0, "a", 0, 1, 0), ob("2", 0, "c", 0, 0, 0)}
	labels, routes := mustBuild(t, obs, testOptions("c", "a", "b"))
	var got []string
	for _, l := range labels {
		got = append(got, l.QueryID+"/"+l.Model+"/"+strconv.FormatInt(l.N, 10))
	}
	want := []string{"2/c/1", "2/a/0", "2/b/0", "10/c/0", "10/a/1", "10/b/0", "x/c/0", "x/a/0", "x/b/1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("label rows %v, want %v", got, want)
	}
	var gotRoutes []string
	for _, r := range routes {
		gotRoutes = append(gotRoutes, r.QueryID+"/"+r.BestModel)
		if len(r.PBest) != 3 {
			t.Errorf("route %s: %d p_best values, want 3", r.QueryID, len(r.PBest))
		}
	}
	if want := []string{"2/c", "10/a", "x/b"}; !reflect.DeepEqual(gotRoutes, want) {
		t.Errorf("routes %v, want %v", gotRoutes, want)
	}
	if labels, routes := mustBuild(t, nil, testOptions("a")); len(labels) != 0 || len(routes) != 0 {
		t.Errorf("no observations gave %d labels and %d routes", len(labels), len(routes))
	}
}

func TestBuildErrors(t *testing.T) {
	good := ob("q", 0, "a", 0, 1, 0.1)
	tests := []struct {
		name string
		obs  []Observation
		edit func(*Options)
		want string
	}{
		{"no models", nil, func(o *Options) { o.Models = nil }, "no candidate models"},
		{"duplicate model", nil, func(o *Options) { o.Models = []string{"a", "a"} }, `duplicate model "a"`},
		{"unknown prior", nil, func(o *Options) { o.Prior = "flat" }, `unknown prior "flat"`},
		{"ci level", nil, func(o *Options) { o.CILevel = 1 }, "ci_level"},
		{"k", nil, func(o *Options) { o.PassAtK = []int{0} }, "pass_at_k"},
		{"single shot draws", nil, func(o *Options) { o.SingleShotDraws = 0 }, "single_shot_draws"},
		{"p_best draws", nil, func(o *Options) { o.PBestDraws = 0 }, "p_best_draws"},
		{"lambda", nil, func(o *Options) { o.Lambda = math.Inf(1) }, "lambda"},
		{"unknown model", []Observation{ob("q", 0, "z", 0, 1, 0)}, nil, `model "z" is not a candidate`},
		{"unknown status", []Observation{withStatus(good, "maybe")}, nil, `unknown status "maybe"`},
		{"score above 1", []Observation{ob("q", 0, "a", 0, 1.5, 0)}, nil, "score 1.5"},
		{"score NaN", []Observation{ob("q", 0, "a", 0, math.NaN(), 0)}, nil, "score NaN"},
		{"negative cost", []Observation{ob("q", 0, "a", 0, 1, -1)}, nil, "cost -1"},
		{"infinite cost", []Observation{ob("q", 0, "a", 0, 1, math.Inf(1))}, nil, "cost +Inf"},
		{"duplicate", []Observation{good, withStatus(good, failed)}, nil, "duplicate observation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions("a")
			if tt.edit != nil {
				tt.edit(&opts)
			}
			labels, routes, err := Build(tt.obs, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if labels != nil || routes != nil {
				t.Errorf("rows returned with an error")
			}
		})
	}
}

// randomObservations makes every (query, variant, model, sample) observation
// of a random data set, with some unscored, error and partial scores.
func randomObservations(seed uint64, queries, variants, samples int, models []string) []Observation {
	rng := rand.New(rand.NewPCG(seed, 7))
	obs := make([]Observation, 0, queries*variants*samples*len(models))
	for q := range queries {
		for mi, m := range models {
			p := rng.Float64()
			for v := range variants {
				for s := range samples {
					o := Observation{QueryID: strconv.Itoa(q), VariantID: int32(v), Model: m, SampleIndex: int32(s),
						Status: scored, CostUSD: float64(mi+1) * 0.001 * (1 + rng.Float64())}
					switch r := rng.Float64(); {
					case r < 0.03:
						o.Status = unscored
					case r < 0.05:
						o.Status = failed
					case q%7 == 3:
						o.Score = math.Round(rng.Float64()*10) / 10
						o.Passed = o.Score >= 0.5
					default:
						o.Passed = rng.Float64() < p
						if o.Passed {
							o.Score = 1
						}
					}
					obs = append(obs, o)
				}
			}
		}
	}
	return obs
}

func TestBuildDeterministic(t *testing.T) {
	models := []string{"a", "b", "c", "d"}
	obs := randomObservations(3, 30, 3, 5, models)
	opts := testOptions(models...)
	wantLabels, wantRoutes := mustBuild(t, obs, opts)
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 5 {
		shuffled := append([]Observation{}, obs...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		labels, routes := mustBuild(t, shuffled, opts)
		if !sameJSON(t, labels, wantLabels) || !sameJSON(t, routes, wantRoutes) {
			t.Fatalf("trial %d: shuffled input gave different output", trial)
		}
	}
	opts.Seed++
	_, routes := mustBuild(t, obs, opts)
	if sameJSON(t, routes, wantRoutes) {
		t.Errorf("another seed gave the same p_best and single-shot draws")
	}
}

// sameJSON compares through the golden encoding, which spells NaN.
func sameJSON(t *testing.T, x, y any) bool {
	t.Helper()
	return bytes.Equal(goldenJSON(t, x), goldenJSON(t, y))
}

func TestPBest(t *testing.T) {
	models := []string{"a", "b", "c", "d"}
	obs := randomObservations(5, 50, 3, 5, models)
	// Query 0 loses model d entirely and model c to errors.
	kept := obs[:0]
	for _, o := range obs {
		if o.QueryID == "0" && o.Model == "d" {
			continue
		}
		if o.QueryID == "0" && o.Model == "c" {
			o = withStatus(o, failed)
		}
		kept = append(kept, o)
	}
	labels, routes := mustBuild(t, kept, testOptions(models...))
	for qi, r := range routes {
		var sum float64
		for m, p := range r.PBest {
			l := labels[qi*len(models)+m]
			if l.PBest != p {
				t.Errorf("query %s model %s: label p_best %v, route %v", r.QueryID, l.Model, l.PBest, p)
			}
			if l.N == 0 && p != 0 {
				t.Errorf("query %s model %s: n = 0 but p_best %v", r.QueryID, l.Model, p)
			}
			if p < 0 || p > 1 {
				t.Errorf("query %s model %s: p_best %v", r.QueryID, l.Model, p)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("query %s: p_best sums to %v", r.QueryID, sum)
		}
	}
	if r := routes[0]; r.PBest[2] != 0 || r.PBest[3] != 0 {
		t.Errorf("query 0: p_best %v, want 0 for c and d", r.PBest)
	}
}

func TestPBestFavoursClearWinner(t *testing.T) {
	var obs []Observation
	for s := range int32(25) {
		obs = append(obs, ob("q", 0, "strong", s, 1, 0.01), ob("q", 0, "weak", s, 0, 0.01))
	}
	_, routes := mustBuild(t, obs, testOptions("weak", "strong"))
	if p := routes[0].PBest; p[1] < 0.999 {
		t.Errorf("p_best %v, want strong near 1", p)
	}
}

func TestSingleShot(t *testing.T) {
	models := []string{"a", "b", "c"}
	t.Run("constant scores never flip", func(t *testing.T) {
		var obs []Observation
		for q := range 20 {
			for mi, m := range models {
				score := []float64{0.9, 0.5, 0.2}[(q+mi)%3]
				for v := range int32(3) {
					for s := range int32(4) {
						obs = append(obs, ob(strconv.Itoa(q), v, m, s, score, 0.01))
					}
				}
			}
		}
		labels, routes := mustBuild(t, obs, testOptions(models...))
		for _, r := range routes {
			if r.SingleShotFlipRate != 0 || r.SingleShotBestModel != r.BestModel {
				t.Errorf("query %s: flip rate %v, single-shot best %q, best %q", r.QueryID, r.SingleShotFlipRate, r.SingleShotBestModel, r.BestModel)
			}
		}
		for _, l := range labels {
			if l.SingleShotScore != l.Mean {
				t.Errorf("%s/%s: single_shot_score %v, want %v", l.QueryID, l.Model, l.SingleShotScore, l.Mean)
			}
		}
	})
	t.Run("coin flips flip", func(t *testing.T) {
		var obs []Observation
		for s := range int32(10) {
			obs = append(obs, ob("q", 0, "a", s, float64(s%2), 0.01), ob("q", 0, "b", s, float64((s+1)%2), 0.01))
		}
		_, routes := mustBuild(t, obs, testOptions("a", "b"))
		if r := routes[0].SingleShotFlipRate; r <= 0.1 || r >= 0.9 {
			t.Errorf("flip rate %v, want well inside (0, 1)", r)
		}
	})
}

// goldenFloat encodes NaN as the string "NaN" and numbers to 12 significant
// digits, so golden files survive fused multiply-adds on other platforms.
type goldenFloat float64

func (f goldenFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) {
		return []byte(`"NaN"`), nil
	}
	return []byte(strconv.FormatFloat(float64(f), 'g', 12, 64)), nil
}

// goldenJSON encodes labels and routes with goldenFloat numbers.
func goldenJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(goldenValue(reflect.ValueOf(v)), "", "  ")
	if err != nil {
		t.Fatalf("encode golden: %v", err)
	}
	return append(b, '\n')
}

func goldenValue(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Float64:
		return goldenFloat(v.Float())
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = goldenValue(v.Index(i))
		}
		return out
	case reflect.Struct:
		out := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			out[v.Type().Field(i).Name] = goldenValue(v.Field(i))
		}
		return out
	}
	return v.Interface()
}

func TestGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "obs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var obs []Observation
	if err := json.Unmarshal(data, &obs); err != nil {
		t.Fatalf("read obs.json: %v", err)
	}
	opts := testOptions("small", "mid", "large")
	opts.PassAtK = []int{1, 5}
	labels, routes := mustBuild(t, obs, opts)
	got := goldenJSON(t, struct {
		Labels []record.Label
		Routes []record.Route
	}{labels, routes})
	path := filepath.Join("testdata", "labels.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("labels differ from %s (run go test -update if the change is intended):\n%s", path, got)
	}
}

func BenchmarkBuild(b *testing.B) {
	models := []string{"a", "b", "c", "d"}
	obs := randomObservations(1, 1000, 3, 5, models) // 60,000 observations
	opts := testOptions(models...)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Build(obs, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzBuild reads observations from bytes (four bytes each) and checks the
// invariants: no error for valid input, one row per pair, p_best summing to
// 1, the variance split adding up, and independence from input order.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 1, 200, 2, 1, 2, 17})
	f.Add([]byte{3, 1, 0, 255, 3, 1, 0, 128, 3, 2, 1, 3, 4, 0, 2, 90, 4, 0, 2, 91})
	f.Add([]byte{})
	models := []string{"a", "b", "c"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obs []Observation
		seen := map[[4]int]bool{}
		for i := 0; i+4 <= len(data); i += 4 {
			q, v, m, x := int(data[i]%5), int(data[i+1]%3), int(data[i+2]%3), data[i+3]
			key := [4]int{q, v, m, int(x % 4)}
			if seen[key] {
				continue
			}
			seen[key] = true
			o := Observation{QueryID: []string{"0", "1", "10", "b", "a"}[q], VariantID: int32(v), Model: models[m],
				SampleIndex: int32(x % 4), Status: scored, Score: float64(x) / 255, Passed: x >= 128, CostUSD: float64(x%7) * 1e-3}
			switch x % 11 {
			case 0:
				o.Status = unscored
			case 1:
				o.Status = failed
			}
			obs = append(obs, o)
		}
		opts := testOptions(models...)
		opts.PBestDraws = 50
		opts.SingleShotDraws = 10
		labels, routes, err := Build(obs, opts)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if len(labels) != len(routes)*len(models) {
			t.Fatalf("%d labels for %d routes", len(labels), len(routes))
		}
		for qi, r := range routes {
			var sum float64
			for _, p := range r.PBest {
				sum += p
			}
			if r.BestModel != "" && math.Abs(sum-1) > 1e-12 {
				t.Errorf("query %s: p_best sums to %v", r.QueryID, sum)
			}
			for _, l := range labels[qi*len(models) : (qi+1)*len(models)] {
				if l.N == 0 {
					continue
				}
				if !(l.CILow <= l.Mean+1 && l.CILow < l.CIHigh) || l.Std < 0 {
					t.Errorf("%s/%s: bad label %+v", l.QueryID, l.Model, l)
				}
				total := l.VarWithin + l.VarBetween
				if want := l.Std * l.Std * float64(l.N-1) / float64(l.N); math.Abs(total-want) > 1e-12 {
					t.Errorf("%s/%s: var split %v != population variance %v", l.QueryID, l.Model, total, want)
				}
			}
		}
		reversed := make([]Observation, len(obs))
		for i, o := range obs {
			reversed[len(obs)-1-i] = o
		}
		labels2, routes2, err := Build(reversed, opts)
		if err != nil || !sameJSON(t, labels, labels2) || !sameJSON(t, routes, routes2) {
			t.Errorf("reversed input gave different output (err %v)", err)
		}
	})
}
