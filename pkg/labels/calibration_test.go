package labels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/darslabs/dars/pkg/record"
)

// calibrationSettings are the settings of issue 10 item 8: the input-side
// spread at the simulator's default and at 1.5, K = 2 and 5 variants of
// N = 5 samples, three models.
func calibrationSettings(queries int) []simSpec {
	var specs []simSpec
	for _, sd := range []float64{0.6, 1.5} {
		for _, k := range []int{2, 5} {
			specs = append(specs, simSpec{queries: queries, variants: k, samples: 5,
				skills: []float64{-0.5, 0.5, 1.0}, inputSD: sd, seed: uint64(1000*k) + uint64(10*sd)})
		}
	}
	return specs
}

// pBestBins are the fifths of p_best: [0, 0.2), ..., [0.8, 1].
const pBestBins = 5

// calibration is how well one method's intervals and p_best match the
// all-rewrites truth.
type calibration struct {
	coverage      float64 // share of pairs whose interval holds the all-rewrites truth
	coverageDrawn float64 // share holding the mean over the variants drawn
	width         float64 // mean interval width
	pairs         int
	binN          [pBestBins]int
	binP          [pBestBins]float64 // mean p_best in the bin
	binBest       [pBestBins]float64 // share truly best
}

func (c *calibration) add(lo, hi, truth, drawn, pBest float64, best bool) {
	c.pairs++
	if lo <= truth && truth <= hi {
		c.coverage++
	}
	if lo <= drawn && drawn <= hi {
		c.coverageDrawn++
	}
	c.width += hi - lo
	b := min(int(pBest*pBestBins), pBestBins-1)
	c.binN[b]++
	c.binP[b] += pBest
	if best {
		c.binBest[b]++
	}
}

func (c *calibration) finish() {
	n := float64(c.pairs)
	c.coverage /= n
	c.coverageDrawn /= n
	c.width /= n
	for b := range c.binN {
		if c.binN[b] > 0 {
			c.binP[b] /= float64(c.binN[b])
			c.binBest[b] /= float64(c.binN[b])
		}
	}
}

// calibrate labels one simulated data set and measures the rephrasing
// method (ci_low, ci_high, p_best) and the iid one (ci_low_iid,
// ci_high_iid, p_best from independent Beta posteriors, the labels of
// schema 1), with lambda = beta = 0 so that p_best is P(θ is the largest).
func calibrate(t testing.TB, spec simSpec) (rephrased, iid calibration) {
	obs, truth, drawn := simulate(spec)
	nm := len(spec.skills)
	opts := testOptions(simModels(nm)...)
	opts.Lambda, opts.Beta = 0, 0
	labels, _ := mustBuild(t, obs, opts)
	pIID := make([]float64, nm)
	for q := range spec.queries {
		ls := labels[q*nm : (q+1)*nm]
		iidPBest(uint64(q), ls, pIID, opts.PBestDraws)
		best := 0
		for m := range nm {
			if truth[q*nm+m] > truth[q*nm+best] {
				best = m
			}
		}
		for m, l := range ls {
			tr, dr := truth[q*nm+m], drawn[q*nm+m]
			rephrased.add(l.CILow, l.CIHigh, tr, dr, l.PBest, m == best)
			iid.add(l.CILowIID, l.CIHighIID, tr, dr, pIID[m], m == best)
		}
	}
	rephrased.finish()
	iid.finish()
	return rephrased, iid
}

// iidPBest is schema 1's p_best: θ ~ Beta(beta_alpha, beta_beta) drawn
// independently per model (every model of the simulation has data).
func iidPBest(seed uint64, ls []record.Label, out []float64, draws int) {
	src := rand.NewPCG(seed, 77)
	posts := make([]distuv.Beta, len(ls))
	for i, l := range ls {
		posts[i] = distuv.Beta{Alpha: l.BetaAlpha, Beta: l.BetaBeta, Src: src}
	}
	clear(out)
	for range draws {
		best, bestV := 0, math.Inf(-1)
		for i := range posts {
			if v := posts[i].Rand(); v > bestV {
				best, bestV = i, v
			}
		}
		out[best]++
	}
	for i := range out {
		out[i] /= float64(draws)
	}
}

// calibrationTable prints one row per setting and method.
func calibrationTable(specs []simSpec, reph, iid []calibration) string {
	var b strings.Builder
	b.WriteString("| input_sd | K | method | coverage (all rewrites) | coverage (drawn) | width | p_best by fifth: mean given / share truly best (pairs) |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for i, s := range specs {
		for _, row := range []struct {
			name string
			c    calibration
		}{{"iid", iid[i]}, {"rephrasing", reph[i]}} {
			c := row.c
			var bins []string
			for k := range c.binN {
				bins = append(bins, fmt.Sprintf("%.3f/%.3f (%d)", c.binP[k], c.binBest[k], c.binN[k]))
			}
			fmt.Fprintf(&b, "| %.1f | %d | %s | %.3f | %.3f | %.3f | %s |\n", s.inputSD, s.variants, row.name,
				c.coverage, c.coverageDrawn, c.width, strings.Join(bins, "; "))
		}
	}
	return b.String()
}

// checkCalibration holds the rephrasing method to the target: coverage of
// the all-rewrites truth within covTol of 0.95 and, in every fifth of
// p_best with pairs, the share truly best within binTol(n) of the mean
// p_best given.
func checkCalibration(t *testing.T, specs []simSpec, reph []calibration, covTol float64, binTol func(n int, p float64) float64) {
	t.Helper()
	for i, s := range specs {
		c := reph[i]
		if math.Abs(c.coverage-0.95) > covTol {
			t.Errorf("input_sd %.1f, K %d: coverage %.4f, want 0.95 ± %.3f", s.inputSD, s.variants, c.coverage, covTol)
		}
		for k := range c.binN {
			if c.binN[k] == 0 {
				continue
			}
			if tol := binTol(c.binN[k], c.binP[k]); math.Abs(c.binP[k]-c.binBest[k]) > tol {
				t.Errorf("input_sd %.1f, K %d: p_best fifth %d: mean %.4f, truly best %.4f (%d pairs), want within %.3f",
					s.inputSD, s.variants, k, c.binP[k], c.binBest[k], c.binN[k], tol)
			}
		}
	}
}

func runCalibration(t *testing.T, queries int) ([]simSpec, []calibration, []calibration) {
	specs := calibrationSettings(queries)
	reph := make([]calibration, len(specs))
	iid := make([]calibration, len(specs))
	for i, s := range specs {
		reph[i], iid[i] = calibrate(t, s)
	}
	t.Logf("%d queries × 3 models (skills -0.5, 0.5, 1.0), N = 5:\n%s", queries, calibrationTable(specs, reph, iid))
	return specs, reph, iid
}

// TestCalibration is the target of issue 10 item 8 on 5,000 simulated
// queries: coverage within 0.93–0.97, p_best within 0.03 in every fifth.
func TestCalibration(t *testing.T) {
	if os.Getenv("DARS_CALIBRATION") != "1" {
		t.Skip("the 5,000-query measurement of docs/intervals.md (80 s under -race): DARS_CALIBRATION=1 runs it, as .ci/run does without -race; TestCalibrationSmall runs always")
	}
	specs, reph, _ := runCalibration(t, 5000)
	checkCalibration(t, specs, reph, 0.02, func(int, float64) float64 { return 0.03 })
}

// TestCalibrationSmall checks the same property on 1,000 queries, with
// tolerances widened for the sample: coverage is a share of 3,000 pairs
// whose errors are correlated within a query (shared difficulty and
// rewrites), so its standard error is at most that of 1,000 independent
// pairs, sqrt(0.95·0.05/1000) ≈ 0.007; 0.95 ± 0.03 is the 0.02 of the target
// plus 1.5 such errors. A fifth of p_best with n pairs and share p has a
// binomial standard error sqrt(p(1−p)/n); the tolerance is the target's 0.03
// plus 2 such errors, so a correct method fails by chance rarely and a
// method as far off as the iid one (0.05 in the top fifth) still fails.
func TestCalibrationSmall(t *testing.T) {
	specs, reph, _ := runCalibration(t, 1000)
	checkCalibration(t, specs, reph, 0.03, func(n int, p float64) float64 {
		return 0.03 + 2*math.Sqrt(max(p*(1-p), 0.01)/float64(n))
	})
}
