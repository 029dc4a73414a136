package config

import (
	"math"
	"strings"
	"testing"
)

// TestBounds checks every number of the run file against its range: the
// largest allowed value passes, one past it is an error naming the field and
// the range.
func TestBounds(t *testing.T) {
	f64 := func(x float64) *float64 { return &x }
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // "" = valid
	}{
		// The two overflows of the issue: int32 columns downstream.
		{"samples past int32", func(c *Config) { c.Sampling.Samples = 2147483648 }, "sampling.samples: 2147483648 is out of range; want 1 to 100000"},
		{"max_tokens past int64 columns", func(c *Config) { c.Sampling.MaxTokens = math.MaxInt64 }, "sampling.max_tokens: 9223372036854775807 is out of range; want 1 to 2000000"},

		{"samples at most", func(c *Config) { c.Sampling.Samples = 100_000 }, ""},
		{"samples too many", func(c *Config) { c.Sampling.Samples = 100_001 }, "sampling.samples: 100001 is out of range; want 1 to 100000"},
		{"max_tokens at most", func(c *Config) { c.Sampling.MaxTokens = 2_000_000 }, ""},
		{"max_tokens too many", func(c *Config) { c.Sampling.MaxTokens = 2_000_001 }, "sampling.max_tokens: 2000001 is out of range; want 1 to 2000000"},
		{"limit at most", func(c *Config) { c.Dataset.Limit = 100_000_000 }, ""},
		{"limit too large", func(c *Config) { c.Dataset.Limit = 100_000_001 }, "dataset.limit: 100000001 is out of range; want 0 (all) to 100000000"},
		{"seed is free", func(c *Config) { c.Seed = math.MinInt64 }, ""},
		{"seed is free, high", func(c *Config) { c.Seed = math.MaxInt64 }, ""},

		{"concurrency at most", func(c *Config) { c.Models[0].Concurrency = 10_000 }, ""},
		{"concurrency too many", func(c *Config) { c.Models[0].Concurrency = 10_001 }, "models[0].concurrency: 10001 is out of range; want 0 (the default) to 10000"},
		{"n at most", func(c *Config) { c.Models[0].N = "100000" }, ""},
		{"n too large", func(c *Config) { c.Models[0].N = "100001" }, `models[0].n: "100001" is out of range; want auto, off or 1 to 100000`},
		{"rpm at most", func(c *Config) { c.Models[0].RPM = 10_000_000 }, ""},
		{"rpm too many", func(c *Config) { c.Models[0].RPM = 10_000_001 }, "models[0].rpm: 10000001 is out of range; want 0 (no limit) to 10000000"},
		{"tpm at most", func(c *Config) { c.Models[0].TPM = 10_000_000_000 }, ""},
		{"tpm too many", func(c *Config) { c.Models[0].TPM = math.MaxInt64 }, "models[0].tpm: 9223372036854775807 is out of range; want 0 (no limit) to 10000000000"},
		{"max_attempts at most", func(c *Config) { c.Models[0].MaxAttempts = 1000 }, ""},
		{"max_attempts too many", func(c *Config) { c.Models[0].MaxAttempts = 1001 }, "models[0].max_attempts: 1001 is out of range; want 0 (the default) to 1000"},
		{"timeout at most", func(c *Config) { c.Models[0].Timeout = "24h" }, ""},
		{"timeout too long", func(c *Config) { c.Models[0].Timeout = "24h0m1s" }, `models[0].timeout: "24h0m1s" is out of range; want a Go duration up to 24h`},
		{"price at most", func(c *Config) { c.Models[0].Price.OutputPerMTok = 1e6 }, ""},
		{"price in too high", func(c *Config) { c.Models[0].Price.InputPerMTok = 2e6 }, "models[0].price.input_per_mtok: 2e+06 is out of range; want a number in [0, 1000000]"},
		{"price out too high", func(c *Config) { c.Models[0].Price.OutputPerMTok = math.MaxFloat64 }, "models[0].price.output_per_mtok: 1.7976931348623157e+308 is out of range"},
		{"skill at most", func(c *Config) { c.Models[2].Skill = -100 }, ""},
		{"skill too high", func(c *Config) { c.Models[2].Skill = 101 }, "models[2].skill: 101 is out of range; want a number in [-100, 100]"},

		{"workers at most", func(c *Config) { c.Judges[0].ExecWorkers = 64 }, ""},
		{"workers too many", func(c *Config) { c.Judges[0].ExecWorkers = 65 }, "judges[0].workers: 65 is out of range; want 0 (the default) to 64"},
		{"workers negative", func(c *Config) { c.Judges[0].ExecWorkers = -1 }, "judges[0].workers: -1 is out of range; want 0 (the default) to 64"},
		{"judge timeout at most", func(c *Config) { c.Judges[0].ExecTimeout = "24h" }, ""},
		{"judge timeout too long", func(c *Config) { c.Judges[0].ExecTimeout = "25h" }, `judges[0].timeout: "25h" is out of range; want a Go duration in (0s, 24h]`},
		{"judge timeout zero", func(c *Config) { c.Judges[0].ExecTimeout = "0s" }, `judges[0].timeout: "0s" is out of range; want a Go duration in (0s, 24h]`},
		{"judge timeout not a duration", func(c *Config) { c.Judges[0].ExecTimeout = "soon" }, `judges[0].timeout: "soon" is not a Go duration; want one in (0s, 24h], e.g. "30s"`},
		{"memory_mb at least", func(c *Config) { c.Judges[0].MemoryMB = 64 }, ""},
		{"memory_mb at most", func(c *Config) { c.Judges[0].MemoryMB = 1 << 20 }, ""},
		{"memory_mb too small", func(c *Config) { c.Judges[0].MemoryMB = 63 }, "judges[0].memory_mb: 63 is out of range; want 0 (the default) or 64 to 1048576"},
		{"memory_mb too large", func(c *Config) { c.Judges[0].MemoryMB = math.MaxInt64 }, "judges[0].memory_mb: 9223372036854775807 is out of range; want 0 (the default) or 64 to 1048576"},
		{"votes at most", func(c *Config) { c.Judges[0].Votes = 1000 }, ""},
		{"votes too many", func(c *Config) { c.Judges[0].Votes = 1001 }, "judges[0].votes: 1001 is out of range; want 0 (the default) to 1000"},
		{"votes negative", func(c *Config) { c.Judges[0].Votes = -3 }, "judges[0].votes: -3 is out of range"},
		{"judge max_tokens at most", func(c *Config) { c.Judges[0].MaxTokens = 2_000_000 }, ""},
		{"judge max_tokens too many", func(c *Config) { c.Judges[0].MaxTokens = 2_000_001 }, "judges[0].max_tokens: 2000001 is out of range; want 0 (the default) to 2000000"},
		{"judge temperature", func(c *Config) { c.Judges[0].Temperature = f64(2.5) }, "judges[0].temperature: 2.5 is out of range; want a number in [0, 2]"},
		{"judge temperature zero", func(c *Config) { c.Judges[0].Temperature = f64(0) }, ""},
		{"f1_threshold", func(c *Config) { c.Judges[0].F1Threshold = 1.5 }, "judges[0].f1_threshold: 1.5 is out of range; want a number in [0, 1]"},
		{"tolerance", func(c *Config) { c.Judges[0].Tolerance = -1 }, "judges[0].tolerance: -1 is out of range; want 0 or more"},

		{"lambda at most", func(c *Config) { c.Labels.Lambda = 1000 }, ""},
		{"lambda too large", func(c *Config) { c.Labels.Lambda = 1e300 }, "labels.lambda: 1e+300 is out of range; want a number in [0, 1000]"},
		{"beta too large", func(c *Config) { c.Labels.Beta = 1001 }, "labels.beta: 1001 is out of range; want a number in [0, 1000]"},
		{"pass_at_k at most", func(c *Config) { c.Labels.PassAtK = []int{1, 100_000} }, ""},
		{"pass_at_k too large", func(c *Config) { c.Labels.PassAtK = []int{1, 100_001} }, "labels.pass_at_k[1]: 100001 is out of range; want 1 to 100000"},
		{"single_shot_draws at most", func(c *Config) { c.Labels.SingleShotDraws = 1_000_000 }, ""},
		{"single_shot_draws too many", func(c *Config) { c.Labels.SingleShotDraws = 1_000_001 }, "labels.single_shot_draws: 1000001 is out of range; want 1 to 1000000"},
		{"p_best_draws too many", func(c *Config) { c.Labels.PBestDraws = math.MaxInt64 }, "labels.p_best_draws: 9223372036854775807 is out of range; want 1 to 1000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.validate(keyEnv)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate succeeded, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

// TestBoundsReportOnce: a value below the range is reported once, by the
// check that was there before the bounds, not twice.
func TestBoundsReportOnce(t *testing.T) {
	c := validConfig()
	c.Sampling.Samples = 0
	c.Models[0].RPM = -1
	c.Labels.PassAtK = []int{0}
	err := c.validate(keyEnv)
	for _, field := range []string{"sampling.samples:", "models[0].rpm:", "labels.pass_at_k[0]:"} {
		if n := strings.Count(err.Error(), field); n != 1 {
			t.Errorf("%s reported %d times in %q, want once", field, n, err)
		}
	}
}

// TestBoundsFromFile runs the run files through Load and Validate.
func TestBoundsFromFile(t *testing.T) {
	for _, tt := range []struct{ line, want string }{
		{"sampling: {samples: 2147483648}", "sampling.samples: 2147483648 is out of range; want 1 to 100000"},
		{"sampling: {max_tokens: 9223372036854775807}", "sampling.max_tokens: 9223372036854775807 is out of range; want 1 to 2000000"},
	} {
		path := writeConfig(t, "run: t\ndataset: {path: q.jsonl}\nmodels: [{name: a, provider: sim}]\njudges: [{name: j, type: exact}]\n"+tt.line+"\n")
		c, err := load(path, keyEnv)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		err = c.validate(keyEnv)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("validate error = %v, want %q", err, tt.want)
		}
	}
}
