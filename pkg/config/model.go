package config

import (
	"strconv"
	"strings"
	"time"
)

// Provider names a Model may use.
const (
	ProviderOpenAI = "openai" // any OpenAI-compatible endpoint
	ProviderAzure  = "azure"  // Azure OpenAI: a resource endpoint, a deployment, an API version
	ProviderSim    = "sim"    // the embedded simulator
)

// Defaults applied by the Model methods when a field is left at zero.
const (
	DefaultOpenAIConcurrency = 16
	DefaultSimConcurrency    = 64
	DefaultRequestTimeout    = 120 * time.Second
)

// IsCandidate reports whether the model is sampled and labelled: true unless
// candidate is explicitly false (a helper used only to rewrite or judge).
func (m Model) IsCandidate() bool {
	return m.Candidate == nil || *m.Candidate
}

// EffectiveConcurrency returns the number of requests the model may have in
// flight: Concurrency when positive, else 64 for sim and 16 otherwise.
func (m Model) EffectiveConcurrency() int {
	switch {
	case m.Concurrency > 0:
		return m.Concurrency
	case m.Provider == ProviderSim:
		return DefaultSimConcurrency
	}
	return DefaultOpenAIConcurrency
}

// NCap interprets N, the samples asked for per request. "auto" or "" gives
// (0, true): use the endpoint's n and discover its cap. "off" gives (1, false):
// one sample per request. A positive integer k gives (k, false): requests of
// at most k samples. An invalid N (which Validate rejects) counts as auto.
func (m Model) NCap() (limit int, auto bool) {
	s := strings.ToLower(strings.TrimSpace(m.N))
	switch s {
	case "", "auto":
		return 0, true
	case "off":
		return 1, false
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 1 {
		return 0, true
	}
	return k, false
}

// RequestTimeout returns the per-request timeout: Timeout parsed as a Go
// duration when it is set and positive, else 120s.
func (m Model) RequestTimeout() time.Duration {
	if d, err := time.ParseDuration(strings.TrimSpace(m.Timeout)); err == nil && d > 0 {
		return d
	}
	return DefaultRequestTimeout
}

// CandidateModels returns the models that are sampled, in config order, as a
// new slice.
func (c *Config) CandidateModels() []Model {
	var out []Model
	for _, m := range c.Models {
		if m.IsCandidate() {
			out = append(out, m)
		}
	}
	return out
}

// ModelByName returns the model entry called name and whether there is one.
func (c *Config) ModelByName(name string) (Model, bool) {
	for _, m := range c.Models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// PrimaryJudge returns the judge marked primary, else the first judge, else
// the zero Judge when there are none.
func (c *Config) PrimaryJudge() Judge {
	for _, j := range c.Judges {
		if j.Primary {
			return j
		}
	}
	if len(c.Judges) > 0 {
		return c.Judges[0]
	}
	return Judge{}
}
