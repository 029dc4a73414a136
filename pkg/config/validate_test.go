package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/problem"
)

// validConfig returns a config that passes Validate with keyEnv set.
func validConfig() Config {
	c := DefaultConfig()
	c.Run = "demo"
	c.Dataset.Path = "data/q.jsonl"
	c.Dataset.Preset = "gsm8k"
	c.Paraphrase.Model = "rewriter"
	no := false
	c.Models = []Model{
		{Name: "small", Provider: "openai", BaseURL: "http://localhost:8000/v1", Model: "m", APIKeyEnv: "KEY"},
		{Name: "rewriter", Provider: "openai", BaseURL: "https://api.example.com/v1", Model: "r", Candidate: &no},
		{Name: "sim-1.5", Provider: "sim", Skill: 1.5, N: "8", Timeout: "30s"},
	}
	c.Judges = []Judge{{Name: "answer", Type: "math"}}
	return c
}

var keyEnv = env(map[string]string{"KEY": "sk-secret-value", "EMPTY": ""})

func TestValidateOK(t *testing.T) {
	c := validConfig()
	if err := c.validate(keyEnv); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string
	}{
		{"empty run", func(c *Config) { c.Run = "" }, "run: empty"},
		{"unsafe run", func(c *Config) { c.Run = "../x" }, `run: "../x" is not a safe directory name`},
		{"dot run", func(c *Config) { c.Run = ".." }, `run: ".." is not a safe directory name`},
		{"empty out", func(c *Config) { c.Out = "" }, "out: empty"},
		{"no dataset", func(c *Config) { c.Dataset.Path = "" }, "dataset.path: empty"},
		{"preset", func(c *Config) { c.Dataset.Preset = "gsm9k" }, `dataset.preset: unknown value "gsm9k" (want gsm8k, mmlu, arc, triviaqa, humaneval, mbpp, plain)`},
		{"format", func(c *Config) { c.Dataset.Format = "xml" }, `dataset.format: unknown value "xml"`},
		{"limit", func(c *Config) { c.Dataset.Limit = -1 }, "dataset.limit: -1 is negative"},
		{"samples", func(c *Config) { c.Sampling.Samples = 0 }, "sampling.samples: 0; want at least 1"},
		{"temperature high", func(c *Config) { c.Sampling.Temperature = 2.5 }, "sampling.temperature: 2.5; want a number in [0, 2]"},
		{"temperature low", func(c *Config) { c.Sampling.Temperature = -0.1 }, "sampling.temperature: -0.1"},
		{"top_p zero", func(c *Config) { c.Sampling.TopP = 0 }, "sampling.top_p: 0; want a number in (0, 1]"},
		{"top_p high", func(c *Config) { c.Sampling.TopP = 1.1 }, "sampling.top_p: 1.1"},
		{"max_tokens", func(c *Config) { c.Sampling.MaxTokens = 0 }, "sampling.max_tokens: 0"},
		{"no models", func(c *Config) { c.Models = nil; c.Paraphrase = Paraphrase{} }, "models: empty"},
		{"empty name", func(c *Config) { c.Models[0].Name = "" }, "models[0].name: empty"},
		{"unsafe name", func(c *Config) { c.Models[0].Name = "a/b" }, `models[0].name: "a/b" is not safe`},
		{"duplicate name", func(c *Config) { c.Models[2].Name = "small" }, `models[2].name: "small" is already the name of models[0]`},
		{"provider", func(c *Config) { c.Models[2].Provider = "opena" }, `models[2].provider: unknown provider "opena" (want openai, azure or sim)`},
		{"no provider", func(c *Config) { c.Models[2].Provider = "" }, `models[2].provider: empty`},
		{"openai model", func(c *Config) { c.Models[0].Model = "" }, "models[0].model: empty"},
		{"openai base_url", func(c *Config) { c.Models[0].BaseURL = "" }, "models[0].base_url: empty"},
		{"bad base_url", func(c *Config) { c.Models[0].BaseURL = "localhost:8000" }, `models[0].base_url: "localhost:8000" is not an http(s) URL`},
		{"ftp base_url", func(c *Config) { c.Models[0].BaseURL = "ftp://h/v1" }, `models[0].base_url: "ftp://h/v1" is not an http(s) URL`},
		{"api key unset", func(c *Config) { c.Models[0].APIKeyEnv = "NOT_SET" }, `models[0].api_key_env: environment variable "NOT_SET" is not set or empty`},
		{"api key empty", func(c *Config) { c.Models[0].APIKeyEnv = "EMPTY" }, `models[0].api_key_env: environment variable "EMPTY"`},
		{"concurrency", func(c *Config) { c.Models[0].Concurrency = -1 }, "models[0].concurrency: -1 is negative"},
		{"n word", func(c *Config) { c.Models[0].N = "lots" }, `models[0].n: "lots"; want auto, off or a positive integer`},
		{"n zero", func(c *Config) { c.Models[0].N = "0" }, `models[0].n: "0"`},
		{"rpm", func(c *Config) { c.Models[0].RPM = -1 }, "models[0].rpm: -1"},
		{"tpm", func(c *Config) { c.Models[0].TPM = -1 }, "models[0].tpm: -1"},
		{"max_attempts", func(c *Config) { c.Models[0].MaxAttempts = -1 }, "models[0].max_attempts: -1"},
		{"timeout", func(c *Config) { c.Models[0].Timeout = "soon" }, `models[0].timeout: "soon" is not a positive Go duration`},
		{"timeout zero", func(c *Config) { c.Models[0].Timeout = "0s" }, `models[0].timeout: "0s"`},
		{"price in", func(c *Config) { c.Models[0].Price.InputPerMTok = -1 }, "models[0].price.input_per_mtok: -1"},
		{"price out", func(c *Config) { c.Models[0].Price.OutputPerMTok = -0.5 }, "models[0].price.output_per_mtok: -0.5"},
		{"paraphrase model unknown", func(c *Config) { c.Paraphrase.Model = "nobody" }, `paraphrase.model: no model named "nobody"`},
		{"paraphrase without model", func(c *Config) { c.Paraphrase.Count = 2; c.Paraphrase.Model = "" }, "paraphrase.model: empty, but paraphrase.count is 2"},
		{"dataset kind", func(c *Config) { c.Dataset.Kind = "poetry" }, `dataset.kind: unknown value "poetry" (want open, math, choice, reading)`},
		{"paraphrase max_attempts", func(c *Config) { c.Paraphrase.MaxAttempts = -1 }, "paraphrase.max_attempts: -1 is out of range"},
		{"paraphrase max_tokens", func(c *Config) { c.Paraphrase.MaxTokens = 3_000_000 }, "paraphrase.max_tokens: 3000000 is out of range"},
		{"paraphrase instructions kind", func(c *Config) { c.Paraphrase.Instructions = map[string]string{"poetry": "rhyme"} }, `paraphrase.instructions: unknown kind "poetry" (want open, math, choice, reading)`},
		{"paraphrase instructions empty", func(c *Config) { c.Paraphrase.Instructions = map[string]string{"math": " "} }, `paraphrase.instructions.math: empty; leave the kind out to keep the built-in rules`},
		{"paraphrase min ratio", func(c *Config) { c.Paraphrase.MinLengthRatio = 1.5 }, "paraphrase.min_length_ratio: 1.5 is out of range; want 0 (the default, 0.5) or a number in (0, 1]"},
		{"paraphrase max ratio", func(c *Config) { c.Paraphrase.MaxLengthRatio = 0.9 }, "paraphrase.max_length_ratio: 0.9 is out of range; want 0 (the default, 2) or a number in [1, 100]"},
		{"paraphrase verify model", func(c *Config) { c.Paraphrase.Verify.Model = "nobody" }, `paraphrase.verify.model: no model named "nobody" in models`},
		{"paraphrase count", func(c *Config) { c.Paraphrase.Count = -1 }, "paraphrase.count: -1 is negative"},
		{"paraphrase temperature", func(c *Config) { c.Paraphrase.Temperature = 3 }, "paraphrase.temperature: 3"},
		{"no candidate", func(c *Config) {
			no := false
			for i := range c.Models {
				c.Models[i].Candidate = &no
			}
		}, "models: no candidate model"},
		{"no judges", func(c *Config) { c.Judges = nil }, "judges: empty"},
		{"judge name", func(c *Config) { c.Judges[0].Name = "" }, "judges[0].name: empty"},
		{"judge duplicate", func(c *Config) { c.Judges = append(c.Judges, Judge{Name: "answer", Type: "exact"}) }, `judges[1].name: "answer" is already the name of judges[0]`},
		{"judge type", func(c *Config) { c.Judges[0].Type = "" }, "judges[0].type: empty"},
		{"two primaries", func(c *Config) {
			c.Judges = []Judge{{Name: "a", Type: "x", Primary: true}, {Name: "b", Type: "x", Primary: true}}
		}, "judges[1].primary: judges[0] is already primary"},
		{"lambda", func(c *Config) { c.Labels.Lambda = -1 }, "labels.lambda: -1"},
		{"beta", func(c *Config) { c.Labels.Beta = -1 }, "labels.beta: -1"},
		{"prior", func(c *Config) { c.Labels.Prior = "flat" }, `labels.prior: unknown prior "flat" (want jeffreys or uniform)`},
		{"pass_at_k", func(c *Config) { c.Labels.PassAtK = []int{1, 0} }, "labels.pass_at_k[1]: 0; want at least 1"},
		{"single_shot_draws", func(c *Config) { c.Labels.SingleShotDraws = 0 }, "labels.single_shot_draws: 0"},
		{"p_best_draws", func(c *Config) { c.Labels.PBestDraws = 0 }, "labels.p_best_draws: 0"},
		{"ci_level", func(c *Config) { c.Labels.CILevel = 1 }, "labels.ci_level: 1; want a number in (0, 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.validate(keyEnv)
			if err == nil {
				t.Fatal("validate succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.want)
			}
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Field == "" {
				t.Errorf("error %v is not a *config.Error with a field", err)
			}
			if !problem.IsInput(err) {
				t.Errorf("error %v is not marked as an input problem", err)
			}
			if strings.Contains(err.Error(), "sk-secret-value") {
				t.Errorf("error %q leaks the key", err)
			}
		})
	}
}

func TestValidateReportsAll(t *testing.T) {
	c := validConfig()
	c.Sampling.Samples = 0
	c.Models[2].Provider = "opena"
	c.Labels.Prior = "flat"
	err := c.validate(keyEnv)
	for _, w := range []string{"sampling.samples", "models[2].provider", "labels.prior"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not mention %q", err, w)
		}
	}
}

func TestValidateProcessEnv(t *testing.T) {
	t.Setenv("DARS_TEST_KEY", "x")
	c := validConfig()
	c.Models[0].APIKeyEnv = "DARS_TEST_KEY"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestValidateNeverShowsAnExpandedValue(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dars.yaml")
	t.Setenv("DARS_TEST_URL", "ftp://user:hunter2@host/v1")
	t.Setenv("DARS_TEST_TIMEOUT", "hunter3")
	text := "run: t\ndataset: {path: q.jsonl}\nmodels:\n  - {name: a, provider: openai, model: m, base_url: \"${DARS_TEST_URL}\", timeout: \"${DARS_TEST_TIMEOUT}\"}\njudges: [{name: j, type: numeric}]\nlabels: {pass_at_k: [1, 5, 1]}\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, secret := range []string{"hunter2", "hunter3"} {
		if strings.Contains(msg, secret) {
			t.Errorf("an error shows an expanded value: %s", msg)
		}
	}
	for _, want := range []string{`"${DARS_TEST_URL}" is not an http(s) URL`, `"${DARS_TEST_TIMEOUT}" is not a positive Go duration`, "labels.pass_at_k[2]: 1 repeats labels.pass_at_k[0]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
}
