package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The ranges of the run file's numbers. Each upper bound is far past what a
// study asks for, so a researcher meets it only through a typo or a value
// meant for another field, and it keeps every product dars forms from the
// settings inside its types: sample indices, max_tokens and attempts are
// int32 Parquet columns; token counts are int64, and the most one run plans
// (1e8 samples, pkg/pipeline) times max_tokens is 2e14 tokens.
//
// Not bounded here: seed takes any int64 (it is only hashed); the
// temperatures, top_p and ci_level have their ranges in Validate, as do the
// lower bounds of the settings whose range below is upperOnly.
var (
	// samples: 10,000 samples a problem is the largest repeated-sampling
	// studies (Large Language Monkeys, 2024); ten times that still fits the
	// int32 sample_index column with room, and with max_tokens at its bound
	// asks 2e11 tokens of one variant, an int64 without trouble.
	samplesRange = intRange{min: 1, max: 100_000, upperOnly: true}

	// max_tokens: the largest context windows hold 1-2 million tokens
	// (output limits are far lower). The generations' max_tokens column is
	// int32; an llm judge's prompt quoting an output of this length (about
	// 10 MB) stays under the prompt bound of pkg/sampler (16 MiB).
	maxTokensRange = intRange{min: 1, max: 2_000_000, upperOnly: true}

	// limit: 1e8 queries is ten times the largest public eval sets, and as
	// many as one run plans samples.
	limitRange = intRange{min: 0, max: 100_000_000, zero: "all", upperOnly: true}

	// concurrency: each request in flight holds a goroutine and a
	// connection; 10,000 is past what one endpoint serves or one process
	// has file descriptors for by default.
	concurrencyRange = intRange{min: 0, max: 10_000, zero: "the default", upperOnly: true}

	// n: a request never asks for more samples than sampling.samples, so a
	// larger cap changes nothing and is a typo.
	nRange = intRange{min: 1, max: samplesRange.max}

	// rpm and tpm: the highest provider tiers allow tens of thousands of
	// requests and hundreds of millions of tokens a minute; the bounds are
	// a hundred times that and keep the limiters' bursts (tpm/6) in range.
	rpmRange = intRange{min: 0, max: 10_000_000, zero: "no limit", upperOnly: true}
	tpmRange = intRange{min: 0, max: 10_000_000_000, zero: "no limit", upperOnly: true}

	// max_attempts: the attempts column is int32; with backoff, 1,000
	// attempts of one sample already take hours.
	maxAttemptsRange = intRange{min: 0, max: 1_000, zero: "the default", upperOnly: true}
	// rewriteAttemptsRange bounds paraphrase.max_attempts: the rewriter's
	// calls in a row for one query that keep nothing.
	rewriteAttemptsRange = intRange{min: 0, max: 100, zero: "the default"}

	// timeouts: a request or a judge program that runs a day is stuck; a
	// larger value is a unit typo ("120h" for "120s").
	maxTimeout = 24 * time.Hour

	// workers: exec and code judges run at most 64 processes (docs/judges.md).
	workersRange = intRange{min: 0, max: 64, zero: "the default"}

	// memory_mb: the sandbox refuses less than 64 MiB; 1 TiB of address
	// space per program is past any test, and memory_mb << 20 stays an int64.
	memoryMBRange = intRange{min: 64, max: 1 << 20, zero: "the default"}

	// votes: a majority of 1,000 verdicts per output is far past
	// self-consistency practice (3 to 40); votes become the judge call's
	// samples.
	votesRange = intRange{min: 0, max: 1_000, zero: "the default"}

	// judges[].max_tokens: as sampling.max_tokens.
	judgeMaxTokensRange = intRange{min: 0, max: maxTokensRange.max, zero: "the default"}

	// pass_at_k: k past sampling.samples gives an empty column; past the
	// samples bound it can only be a typo.
	passAtKRange = intRange{min: 1, max: samplesRange.max, upperOnly: true}

	// single_shot_draws and p_best_draws: Monte Carlo draws per query; at
	// 1e6 the estimate's standard error is below 5e-4 and each query already
	// costs seconds.
	drawsRange = intRange{min: 1, max: 1_000_000, upperOnly: true}

	// lambda and beta weigh a normalised cost and a spread, both in [0, 1],
	// against an accuracy in [0, 1]: at 1000 a 0.1% cost difference already
	// outweighs all of accuracy.
	maxWeight = 1000.0

	// price: USD per million tokens; the dearest models cost hundreds.
	maxPrice = 1e6

	// skill: the simulator's logit; past ±100 every answer is right (or
	// wrong) to double precision.
	maxSkill = 100.0
)

// intRange is the allowed values of an integer setting: min to max, and 0
// too when zero names what 0 means ("the default", "no limit").
type intRange struct {
	min, max  int64
	zero      string
	upperOnly bool // Validate already reports values below min: report only those above max
}

// want describes the range for an error message: "1 to 100000",
// "0 (no limit) to 10000000", "0 (the default) or 64 to 1048576".
func (r intRange) want() string {
	switch {
	case r.zero == "":
		return fmt.Sprintf("%d to %d", r.min, r.max)
	case r.min <= 1:
		return fmt.Sprintf("0 (%s) to %d", r.zero, r.max)
	}
	return fmt.Sprintf("0 (%s) or %d to %d", r.zero, r.min, r.max)
}

// holds reports whether x is in r, counting only the upper side for an
// upperOnly range.
func (r intRange) holds(x int64) bool {
	if x > r.max {
		return false
	}
	return r.upperOnly || x >= r.min || r.zero != "" && x == 0
}

// checkBounds reports every number of the config outside its range.
func (c *Config) checkBounds(v *validator) {
	v.intIn("dataset.limit", int64(c.Dataset.Limit), limitRange)
	v.intIn("sampling.samples", int64(c.Sampling.Samples), samplesRange)
	v.intIn("sampling.max_tokens", int64(c.Sampling.MaxTokens), maxTokensRange)

	for i, m := range c.Models {
		f := func(key string) string { return fmt.Sprintf("models[%d].%s", i, key) }
		v.intIn(f("concurrency"), int64(m.Concurrency), concurrencyRange)
		if k, err := strconv.ParseInt(strings.TrimSpace(m.N), 10, 64); err == nil && k > nRange.max {
			v.add(f("n"), "%q is out of range; want auto, off or %s", c.written(f("n"), m.N), nRange.want())
		}
		v.intIn(f("rpm"), int64(m.RPM), rpmRange)
		v.intIn(f("tpm"), int64(m.TPM), tpmRange)
		v.intIn(f("max_attempts"), int64(m.MaxAttempts), maxAttemptsRange)
		if d, err := time.ParseDuration(strings.TrimSpace(m.Timeout)); err == nil && d > maxTimeout {
			v.add(f("timeout"), "%q is out of range; want a Go duration up to %s", c.written(f("timeout"), m.Timeout), fmtDuration(maxTimeout))
		}
		v.atMost(f("price.input_per_mtok"), m.Price.InputPerMTok, 0, maxPrice)
		v.atMost(f("price.output_per_mtok"), m.Price.OutputPerMTok, 0, maxPrice)
		v.floatIn(f("skill"), m.Skill, -maxSkill, maxSkill)
	}

	for i, j := range c.Judges {
		f := func(key string) string { return fmt.Sprintf("judges[%d].%s", i, key) }
		v.intIn(f("workers"), int64(j.ExecWorkers), workersRange)
		if s := strings.TrimSpace(j.ExecTimeout); s != "" {
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				v.add(f("timeout"), "%q is not a Go duration; want one in (0s, %s], e.g. \"30s\"", c.written(f("timeout"), j.ExecTimeout), fmtDuration(maxTimeout))
			case d <= 0 || d > maxTimeout:
				v.add(f("timeout"), "%q is out of range; want a Go duration in (0s, %s]", c.written(f("timeout"), j.ExecTimeout), fmtDuration(maxTimeout))
			}
		}
		v.intIn(f("memory_mb"), int64(j.MemoryMB), memoryMBRange)
		v.intIn(f("votes"), int64(j.Votes), votesRange)
		v.intIn(f("max_tokens"), int64(j.MaxTokens), judgeMaxTokensRange)
		if j.Temperature != nil {
			v.floatIn(f("temperature"), *j.Temperature, 0, 2)
		}
		v.floatIn(f("f1_threshold"), j.F1Threshold, 0, 1)
		if !(j.Tolerance >= 0) {
			v.add(f("tolerance"), "%s is out of range; want 0 or more", fmtFloat(j.Tolerance))
		}
	}

	l := c.Labels
	v.atMost("labels.lambda", l.Lambda, 0, maxWeight)
	v.atMost("labels.beta", l.Beta, 0, maxWeight)
	for i, k := range l.PassAtK {
		v.intIn(fmt.Sprintf("labels.pass_at_k[%d]", i), int64(k), passAtKRange)
	}
	v.intIn("labels.single_shot_draws", int64(l.SingleShotDraws), drawsRange)
	v.intIn("labels.p_best_draws", int64(l.PBestDraws), drawsRange)
}

// intIn reports x when it is outside r.
func (v *validator) intIn(field string, x int64, r intRange) {
	if !r.holds(x) {
		v.add(field, "%d is out of range; want %s", x, r.want())
	}
}

// floatIn reports x when it is outside [lo, hi].
func (v *validator) floatIn(field string, x, lo, hi float64) {
	if !(x >= lo && x <= hi) {
		v.add(field, "%s is out of range; want a number in [%s, %s]", fmtFloat(x), fmtBound(lo), fmtBound(hi))
	}
}

// atMost reports x when it is above hi; Validate reports it below lo.
func (v *validator) atMost(field string, x, lo, hi float64) {
	if x > hi {
		v.add(field, "%s is out of range; want a number in [%s, %s]", fmtFloat(x), fmtBound(lo), fmtBound(hi))
	}
}

// fmtBound writes a bound without an exponent: 1000000, not 1e+06.
func fmtBound(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// fmtDuration writes d the short way a run file would: 24h, not 24h0m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
