package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHash(t *testing.T) {
	base := validConfig()
	h := base.Hash()
	if len(h) != 64 {
		t.Fatalf("Hash = %q, want 64 hex digits", h)
	}
	t.Run("stable", func(t *testing.T) {
		again := validConfig()
		if again.Hash() != h || base.Hash() != h {
			t.Error("Hash differs for equal configs")
		}
		cp := base.clone()
		if cp.Hash() != h {
			t.Error("Hash differs for a clone")
		}
	})
	t.Run("path excluded", func(t *testing.T) {
		c := validConfig()
		c.Path = "/elsewhere/dars.yaml"
		if c.Hash() != h {
			t.Error("Hash depends on Path")
		}
	})
	changes := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"run", func(c *Config) { c.Run = "other" }},
		{"seed", func(c *Config) { c.Seed++ }},
		{"temperature", func(c *Config) { c.Sampling.Temperature = 0.71 }},
		{"model order", func(c *Config) { c.Models[0], c.Models[2] = c.Models[2], c.Models[0] }},
		{"model n", func(c *Config) { c.Models[0].N = "4" }},
		{"candidate", func(c *Config) { yes := true; c.Models[1].Candidate = &yes }},
		{"pass_at_k", func(c *Config) { c.Labels.PassAtK = append(c.Labels.PassAtK, 10) }},
		{"judge", func(c *Config) { c.Judges[0].CaseSensitive = true }},
		{"string boundary", func(c *Config) {
			c.Prompt.System, c.Prompt.Template = c.Prompt.System+c.Prompt.Template[:1], c.Prompt.Template[1:]
		}},
	}
	for _, tt := range changes {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			if c.Hash() == h {
				t.Errorf("Hash unchanged after changing %s", tt.name)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	content := `run: r
seed: ${SEED}
prompt:
  system: "Talk to ${WHO}."
models:
  - name: a
    provider: openai
    base_url: https://api.example.com/${TOKEN}/v1
    model: ${MODEL:-gpt}
    api_key_env: KEY
  - name: b
    provider: sim
`
	path := writeConfig(t, content)
	cfg, err := load(path, env(map[string]string{"SEED": "11", "WHO": "bob", "TOKEN": "s3cr3t"}))
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Redacted()
	checks := []struct{ name, got, want string }{
		{"base_url", r.Models[0].BaseURL, "https://api.example.com/${TOKEN}/v1"},
		{"default", r.Models[0].Model, "${MODEL:-gpt}"},
		{"system", r.Prompt.System, "Talk to ${WHO}."},
		{"plain", r.Models[0].APIKeyEnv, "KEY"},
		{"original untouched", cfg.Models[0].BaseURL, "https://api.example.com/s3cr3t/v1"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
	if r.Seed != 11 {
		t.Errorf("redacted seed = %d, want 11 (numbers keep their values)", r.Seed)
	}

	t.Run("deep copy", func(t *testing.T) {
		r.Models[1].Name = "changed"
		if cfg.Models[1].Name != "b" {
			t.Error("Redacted shares the models slice")
		}
	})
	t.Run("later override kept", func(t *testing.T) {
		c := cfg.clone()
		c.Models[0].BaseURL = "http://flag.example/v1" // e.g. set from a flag after Load
		if got := c.Redacted().Models[0].BaseURL; got != "http://flag.example/v1" {
			t.Errorf("base_url = %q, want the override", got)
		}
	})
	t.Run("idempotent", func(t *testing.T) {
		rr := r.Redacted()
		if rr.Models[0].BaseURL != r.Models[0].BaseURL {
			t.Error("Redacted of Redacted changed a value")
		}
	})
	t.Run("models removed after load", func(t *testing.T) {
		c := cfg.clone()
		c.Models = nil
		_ = c.Redacted() // must not panic
	})
}

func TestResolve(t *testing.T) {
	abs := filepath.Join(string(filepath.Separator), "abs", "x")
	tests := []struct {
		name, path, in, want string
	}{
		{"relative to file", filepath.Join("runs", "dars.yaml"), "data/q.jsonl", filepath.Join("runs", "data", "q.jsonl")},
		{"file in cwd", "dars.yaml", "data/q.jsonl", filepath.Join("data", "q.jsonl")},
		{"absolute", filepath.Join("runs", "dars.yaml"), abs, abs},
		{"no path", "", "./data/../q.jsonl", "q.jsonl"},
		{"empty", "runs/dars.yaml", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Path: tt.path}
			if got := c.Resolve(tt.in); got != tt.want {
				t.Errorf("Resolve(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRunDir(t *testing.T) {
	c := DefaultConfig()
	c.Path = filepath.Join("exp", "dars.yaml")
	c.Run = "r1"
	if got, want := c.RunDir(), filepath.Join("exp", "out", "r1"); got != want {
		t.Errorf("RunDir = %q, want %q", got, want)
	}
	c.Out = filepath.Join(string(filepath.Separator), "scratch")
	if got, want := c.RunDir(), filepath.Join(string(filepath.Separator), "scratch", "r1"); got != want {
		t.Errorf("RunDir = %q, want %q", got, want)
	}
}

func TestModelMethods(t *testing.T) {
	no, yes := false, true
	tests := []struct {
		name        string
		m           Model
		candidate   bool
		concurrency int
		limit       int
		auto        bool
		timeout     time.Duration
	}{
		{"openai defaults", Model{Provider: "openai"}, true, 16, 0, true, 120 * time.Second},
		{"sim defaults", Model{Provider: "sim"}, true, 64, 0, true, 120 * time.Second},
		{"set", Model{Provider: "openai", Concurrency: 5, N: "8", Timeout: "3s", Candidate: &yes}, true, 5, 8, false, 3 * time.Second},
		{"off", Model{Provider: "sim", N: "off", Candidate: &no}, false, 64, 1, false, 120 * time.Second},
		{"auto upper", Model{N: " AUTO "}, true, 16, 0, true, 120 * time.Second},
		{"bad n and timeout", Model{N: "-2", Timeout: "soon"}, true, 16, 0, true, 120 * time.Second},
		{"negative timeout", Model{Timeout: "-1s"}, true, 16, 0, true, 120 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.IsCandidate(); got != tt.candidate {
				t.Errorf("IsCandidate = %v, want %v", got, tt.candidate)
			}
			if got := tt.m.EffectiveConcurrency(); got != tt.concurrency {
				t.Errorf("EffectiveConcurrency = %d, want %d", got, tt.concurrency)
			}
			if limit, auto := tt.m.NCap(); limit != tt.limit || auto != tt.auto {
				t.Errorf("NCap = %d, %v; want %d, %v", limit, auto, tt.limit, tt.auto)
			}
			if got := tt.m.RequestTimeout(); got != tt.timeout {
				t.Errorf("RequestTimeout = %v, want %v", got, tt.timeout)
			}
		})
	}
}

func TestModelLookups(t *testing.T) {
	c := validConfig()
	var names []string
	for _, m := range c.CandidateModels() {
		names = append(names, m.Name)
	}
	if want := []string{"small", "sim-1.5"}; !reflect.DeepEqual(names, want) {
		t.Errorf("CandidateModels = %v, want %v", names, want)
	}
	if m, ok := c.ModelByName("rewriter"); !ok || m.Model != "r" {
		t.Errorf("ModelByName(rewriter) = %+v, %v", m, ok)
	}
	if _, ok := c.ModelByName("nobody"); ok {
		t.Error("ModelByName(nobody) found a model")
	}
}

func TestPrimaryJudge(t *testing.T) {
	tests := []struct {
		name   string
		judges []Judge
		want   string
	}{
		{"none", nil, ""},
		{"first", []Judge{{Name: "a"}, {Name: "b"}}, "a"},
		{"marked", []Judge{{Name: "a"}, {Name: "b", Primary: true}}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Judges: tt.judges}
			if got := c.PrimaryJudge().Name; got != tt.want {
				t.Errorf("PrimaryJudge = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHashIgnoresWhereTheRunIsWritten(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	b.Out, b.Path = "/elsewhere", "other/dars.yaml"
	if a.Hash() != b.Hash() {
		t.Fatal("out and the run file's path must not change the hash")
	}
}

func TestRedactedHidesCredentialsInURLs(t *testing.T) {
	c := DefaultConfig()
	c.Models = []Model{{Name: "a", BaseURL: "https://user:pw@host/v1?key=sk-123&x=1"}, {Name: "b", BaseURL: "http://localhost:8000/v1"}}
	r := c.Redacted()
	if strings.Contains(r.Models[0].BaseURL, "pw") || strings.Contains(r.Models[0].BaseURL, "sk-123") || !strings.Contains(r.Models[0].BaseURL, "host/v1") {
		t.Fatalf("redacted base_url %q", r.Models[0].BaseURL)
	}
	if r.Models[1].BaseURL != "http://localhost:8000/v1" || c.Models[0].BaseURL != "https://user:pw@host/v1?key=sk-123&x=1" {
		t.Fatal("Redacted changed a plain URL or the original config")
	}
}

// TestHashStableAcrossNewFields: a run file that leaves a field added
// later (tagged hash:"omitzero") unset hashes as it did before the field
// existed: the hash of testdata/store-v1's run file, written by dars before
// unsafe_no_sandbox was added, is unchanged; setting the field changes it.
func TestHashStableAcrossNewFields(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "testdata", "store-v1", "dars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.Out = ""
	const v1 = "bcd09c9ed30a113252b9838740ed4599d71475666e9ba8e5938893f44dda5737" // dars.config_hash of its Parquet files
	if got := c.Hash(); got != v1 {
		t.Fatalf("hash of the schema-1 run file = %s, was %s when it was written", got, v1)
	}
	c.Judges[0].UnsafeNoSandbox = true
	if c.Hash() == v1 {
		t.Error("setting unsafe_no_sandbox does not change the hash")
	}
}
