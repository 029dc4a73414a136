package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/problem"
)

// env returns a lookup over a fixed map, so tests do not depend on the
// process environment.
func env(vars map[string]string) envLookup {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// writeConfig writes content to dars.yaml in a fresh directory, changes into
// it so that messages name "dars.yaml", and returns the relative path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("dars.yaml", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return "dars.yaml"
}

func TestLoadDefaults(t *testing.T) {
	path := writeConfig(t, "run: mine\n")
	got, err := load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Run = "mine"
	want.Path = path
	if !reflect.DeepEqual(got, want) {
		t.Errorf("load = %+v\nwant %+v", got, want)
	}
}

func TestLoadNullKeepsDefault(t *testing.T) {
	path := writeConfig(t, "run: x\nsampling:\n  samples:\n  top_p: ~\nlabels:\n  pass_at_k:\n")
	got, err := load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	if got.Sampling != def.Sampling || !reflect.DeepEqual(got.Labels, def.Labels) {
		t.Errorf("null values changed defaults: %+v %+v", got.Sampling, got.Labels)
	}
}

func TestLoadFull(t *testing.T) {
	path := filepath.Join("testdata", "full.yaml")
	cfg, err := load(path, env(map[string]string{"VLLM_API_KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(env(map[string]string{"VLLM_API_KEY": "k"})); err != nil {
		t.Fatalf("validate: %v", err)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"run", cfg.Run, "full-example"},
		{"seed", cfg.Seed, int64(7)},
		{"fields.question", cfg.Dataset.Fields.Question, "question.stem"},
		{"limit", cfg.Dataset.Limit, 200},
		{"template", cfg.Prompt.Template, "{{.Question}}\n\nEnd with a line 'Final Answer: <answer>'."},
		{"base_url default", cfg.Models[0].BaseURL, "http://localhost:8000/v1"},
		{"n auto", cfg.Models[0].N, "auto"},
		{"n int", cfg.Models[1].N, "8"},
		{"n off", cfg.Models[2].N, "off"},
		{"price", cfg.Models[0].Price, Price{InputPerMTok: 0.10, OutputPerMTok: 0.30}},
		{"timeout", cfg.Models[0].RequestTimeout(), 90 * time.Second},
		{"candidate", cfg.Models[1].IsCandidate(), false},
		{"skill", cfg.Models[2].Skill, 1.5},
		{"tolerance", cfg.Judges[2].Tolerance, 1e-6},
		{"pattern", cfg.Judges[2].Pattern, `Final Answer:\s*(.+)`},
		{"pass_at_k", cfg.Labels.PassAtK, []int{1, 5}},
		{"primary", cfg.PrimaryJudge().Name, "answer"},
		{"path", cfg.Path, path},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		vars    map[string]string
		want    []string // substrings of the error
		notWant string   // must not appear (e.g. a secret)
		hints   []string // problem.Hints of the error, in order
	}{
		{
			name:    "unknown top-level key with hint",
			content: "run: x\nmodles: []\n",
			want:    []string{`dars.yaml:2: unknown key "modles"`},
			hints:   []string{`did you mean "models"?`},
		},
		{
			name:    "unknown nested key with path and hint",
			content: "models:\n  - name: a\n    provider: sim\n  - name: b\n    provder: sim\n",
			want:    []string{`dars.yaml:5: unknown key "provder" (in models[1])`},
			hints:   []string{`did you mean "provider"?`},
		},
		{
			name:    "unknown key without a near match",
			content: "sampling:\n  flux_capacitor: 3\n",
			want:    []string{`dars.yaml:2: unknown key "flux_capacitor" (in sampling)`},
		},
		{
			name:    "every unknown key reported",
			content: "rn: x\nsampling:\n  sampels: 3\n",
			want:    []string{`dars.yaml:1: unknown key "rn"`, `dars.yaml:3: unknown key "sampels" (in sampling)`},
			hints:   []string{`did you mean "run"?`, `did you mean "samples"?`},
		},
		{
			name:    "integer wanted",
			content: "run: x\nsampling:\n  samples: five\n",
			want:    []string{`dars.yaml:3: sampling.samples: want an integer, got "five"`},
		},
		{
			name:    "integer wanted, float given",
			content: "models:\n  - name: a\n    concurrency: 2.5\n",
			want:    []string{`dars.yaml:3: models[0].concurrency: want an integer, got "2.5"`},
		},
		{
			name:    "number wanted",
			content: "sampling:\n  temperature: hot\n",
			want:    []string{`dars.yaml:2: sampling.temperature: want a number, got "hot"`},
		},
		{
			name:    "non-finite number",
			content: "sampling:\n  temperature: .nan\n",
			want:    []string{`dars.yaml:2: sampling.temperature: want a number`},
		},
		{
			name:    "bool wanted",
			content: "paraphrase:\n  include_original: maybe\n",
			want:    []string{`dars.yaml:2: paraphrase.include_original: want true or false, got "maybe"`},
		},
		{
			name:    "pointer bool wanted",
			content: "models:\n  - name: a\n    candidate: perhaps\n",
			want:    []string{`dars.yaml:3: models[0].candidate: want true or false, got "perhaps"`},
		},
		{
			name:    "string wanted, list given",
			content: "run: [a, b]\n",
			want:    []string{`dars.yaml:1: run: want a string, got a list`},
		},
		{
			name:    "mapping wanted",
			content: "sampling: 5\n",
			want:    []string{`dars.yaml:1: sampling: want a mapping, got "5"`},
		},
		{
			name:    "list wanted",
			content: "models: small\n",
			want:    []string{`dars.yaml:1: models: want a list, got "small"`},
		},
		{
			name:    "list element type",
			content: "labels:\n  pass_at_k: [1, x]\n",
			want:    []string{`dars.yaml:2: labels.pass_at_k[1]: want an integer, got "x"`},
		},
		{
			name:    "unset variable",
			content: "models:\n  - name: a\n    base_url: ${NOPE}\n",
			want:    []string{`dars.yaml:3: models[0].base_url: environment variable "NOPE" is not set`},
			hints:   []string{"set NOPE, or give a default: ${NOPE:-value}"},
		},
		{
			name:    "unterminated variable",
			content: "prompt:\n  system: \"cost ${X\"\n",
			want:    []string{`dars.yaml:2: prompt.system: unterminated "${"`},
		},
		{
			name:    "invalid variable name",
			content: "run: ${1X}\n",
			want:    []string{`dars.yaml:1: run: invalid variable name "1X"`},
		},
		{
			name:    "expanded value of the wrong type is not echoed",
			content: "seed: ${SECRET}\n",
			vars:    map[string]string{"SECRET": "hunter2"},
			want:    []string{`dars.yaml:1: seed: want an integer, got "${SECRET}" after expansion`},
			notWant: "hunter2",
		},
		{
			name:    "duplicate key",
			content: "run: a\nout: o\nrun: b\n",
			want:    []string{`dars.yaml:3: duplicate key "run" (first at line 1)`},
		},
		{
			name:    "invalid YAML",
			content: "run: x\nsampling:\n  samples: [1,\n",
			want:    []string{`dars.yaml:`, `invalid YAML`},
		},
		{
			name:    "invalid YAML with line",
			content: "a: 1\nb: 2\nc 2\nd: 3\n",
			want:    []string{`dars.yaml:3: invalid YAML: could not find expected ':'`},
		},
		{
			name:    "empty file",
			content: "",
			want:    []string{`dars.yaml: empty file`},
			hints:   []string{"run `dars init` for a commented example"},
		},
		{
			name:    "whitespace only",
			content: "  \n\n",
			want:    []string{`dars.yaml: empty file`},
			hints:   []string{"run `dars init` for a commented example"},
		},
		{
			name:    "comments only",
			content: "# nothing here\n",
			want:    []string{`dars.yaml`, `empty file`},
			hints:   []string{"run `dars init` for a commented example"},
		},
		{
			name:    "null document",
			content: "~\n",
			want:    []string{`dars.yaml:1: empty file`},
			hints:   []string{"run `dars init` for a commented example"},
		},
		{
			name:    "top level is a list",
			content: "- run: x\n",
			want:    []string{`dars.yaml:1: want a mapping of keys at the top level, got a list`},
		},
		{
			name:    "two documents",
			content: "run: a\n---\nrun: b\n",
			want:    []string{`dars.yaml:2: more than one YAML document`},
		},
		{
			name:    "bad DARS_SEED",
			content: "run: a\n",
			vars:    map[string]string{EnvSeed: "lots"},
			want:    []string{`DARS_SEED: want an integer, got "lots"`},
		},
		{
			name:    "non-string key",
			content: "[a]: 1\n",
			want:    []string{`dars.yaml:1: want a string key, got a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.content)
			_, err := load(path, env(tt.vars))
			if err == nil {
				t.Fatal("load succeeded, want an error")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Errorf("error %v is not a *config.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("error %q contains %q", err, tt.notWant)
			}
			if strings.Contains(err.Error(), "hint:") {
				t.Errorf("error %q carries its hint inline", err)
			}
			if got := problem.Hints(err); !slices.Equal(got, tt.hints) {
				t.Errorf("hints %q, want %q", got, tt.hints)
			}
			if !problem.IsInput(err) {
				t.Errorf("error %q is not marked as an input problem", err)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := Load(missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(%q) error = %v, want it to name the file", missing, err)
	}
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Load(dir) error = %v, want it to name the path", err)
	}
}

func TestLoadModelN(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"auto", "auto"},
		{"off", "off"},
		{"8", "8"},
		{`"4"`, "4"},
		{"AUTO", "AUTO"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			path := writeConfig(t, "models:\n  - name: a\n    n: "+tt.yaml+"\n")
			cfg, err := load(path, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Models[0].N != tt.want {
				t.Errorf("n = %q, want %q", cfg.Models[0].N, tt.want)
			}
		})
	}
}

func TestLoadCandidate(t *testing.T) {
	tests := []struct {
		yaml string
		want bool
	}{
		{"", true},
		{"    candidate: true\n", true},
		{"    candidate: false\n", false},
		{"    candidate: ~\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			path := writeConfig(t, "models:\n  - name: a\n"+tt.yaml)
			cfg, err := load(path, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Models[0].IsCandidate(); got != tt.want {
				t.Errorf("IsCandidate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLoadMergeKeys(t *testing.T) {
	content := `
models:
  - &base
    name: a
    provider: openai
    base_url: http://localhost:8000/v1
    model: m
    concurrency: 4
  - <<: *base
    name: b
    concurrency: 8
`
	path := writeConfig(t, content)
	cfg, err := load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Models[1]
	if b.Name != "b" || b.Concurrency != 8 || b.BaseURL != "http://localhost:8000/v1" || b.Provider != "openai" {
		t.Errorf("merged model = %+v", b)
	}
}

func TestLoadAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("labels:\n  pass_at_k: *a8\n")
	path := writeConfig(t, b.String())
	if _, err := load(path, env(nil)); err == nil {
		t.Error("load of nested aliases succeeded, want an error")
	}
}

func TestExpandInLoad(t *testing.T) {
	content := `run: ${RUN_NAME}
seed: ${SEED:-9}
prompt:
  system: "Use ${TONE:-plain} words; costs $5, $$x$$ and $${LITERAL}."
models:
  - name: a
    provider: openai
    base_url: https://${HOST}/v1
    concurrency: ${CONC}
`
	path := writeConfig(t, content)
	cfg, err := load(path, env(map[string]string{"RUN_NAME": "r1", "HOST": "h.example", "CONC": "12"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Run != "r1" || cfg.Seed != 9 || cfg.Models[0].BaseURL != "https://h.example/v1" || cfg.Models[0].Concurrency != 12 {
		t.Errorf("expanded config = %+v", cfg)
	}
	if want := "Use plain words; costs $5, $$x$$ and ${LITERAL}."; cfg.Prompt.System != want {
		t.Errorf("system = %q, want %q", cfg.Prompt.System, want)
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		run  string
		out  string
		seed int64
	}{
		{"none", nil, "file-run", "file-out", 3},
		{"all", map[string]string{EnvRun: "env-run", EnvOut: "/tmp/o", EnvSeed: "-5"}, "env-run", "/tmp/o", -5},
		{"empty counts as unset", map[string]string{EnvRun: "", EnvOut: "", EnvSeed: ""}, "file-run", "file-out", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, "run: file-run\nout: file-out\nseed: 3\n")
			cfg, err := load(path, env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Run != tt.run || cfg.Out != tt.out || cfg.Seed != tt.seed {
				t.Errorf("got run=%q out=%q seed=%d, want %q %q %d", cfg.Run, cfg.Out, cfg.Seed, tt.run, tt.out, tt.seed)
			}
		})
	}
}

// TestLoadProcessEnv goes through the exported Load and the real environment.
func TestLoadProcessEnv(t *testing.T) {
	t.Setenv("DARS_TEST_HOST", "example.org")
	t.Setenv(EnvRun, "from-env")
	path := writeConfig(t, "run: r\ndataset:\n  path: http://${DARS_TEST_HOST}/q.jsonl\n")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Run != "from-env" || cfg.Dataset.Path != "http://example.org/q.jsonl" {
		t.Errorf("got run=%q dataset.path=%q", cfg.Run, cfg.Dataset.Path)
	}
}

func TestExpand(t *testing.T) {
	vars := env(map[string]string{"A": "alpha", "EMPTY": "", "B_2": "b"})
	tests := []struct {
		in       string
		want     string
		expanded bool
		wantErr  string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "alpha", expanded: true},
		{in: "x${A}y${B_2}z", want: "xalphaybz", expanded: true},
		{in: "${MISSING:-dflt}", want: "dflt", expanded: true},
		{in: "${EMPTY:-dflt}", want: "dflt", expanded: true},
		{in: "${EMPTY}", want: "", expanded: true},
		{in: "${MISSING:-}", want: "", expanded: true},
		{in: "${A:-a:-b}", want: "alpha", expanded: true},
		{in: "$${A}", want: "${A}"},
		{in: "$5 and $$ and $", want: "$5 and $$ and $"},
		{in: "${MISSING}", wantErr: `environment variable "MISSING" is not set`},
		{in: "${A", wantErr: `unterminated`},
		{in: "${}", wantErr: `invalid variable name ""`},
		{in: "${A B}", wantErr: `invalid variable name "A B"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, expanded, err := expand(tt.in, vars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || expanded != tt.expanded {
				t.Errorf("expand(%q) = %q, %v, %v; want %q, %v", tt.in, got, expanded, err, tt.want, tt.expanded)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	fields := yamlFields(reflect.TypeFor[Config]())
	tests := []struct{ in, want string }{
		{"modles", "models"},
		{"Models", "models"},
		{"judge", "judges"},
		{"sede", "seed"},
		{"zzzzzz", ""},
		{"r", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := nearest(tt.in, fields); got != tt.want {
				t.Errorf("nearest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzLoad(f *testing.F) {
	seeds := []string{
		"",
		"run: x\n",
		"models:\n  - name: a\n    n: 8\n",
		"seed: ${S:-1}\n",
		"a: &a [*a]\n",
		"- x\n",
		"sampling: {samples: five}\n",
		"models:\n  - &b {name: a}\n  - <<: *b\n",
		"run: a\n---\nrun: b\n",
		"labels: {pass_at_k: [1, 2, 3]}\n",
	}
	if full, err := os.ReadFile(filepath.Join("testdata", "full.yaml")); err == nil {
		seeds = append(seeds, string(full))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	vars := env(map[string]string{"S": "2", "HOST": "h"})
	// One file, rewritten per input: each fuzz worker runs inputs in turn.
	path := filepath.Join(f.TempDir(), "dars.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := load(path, vars)
		if err != nil {
			if err.Error() == "" {
				t.Error("empty error message")
			}
			return
		}
		_ = cfg.validate(vars)
		r := cfg.Redacted()
		if r.Hash() == "" || cfg.Hash() == "" {
			t.Error("empty hash")
		}
	})
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "${A}", "$${A}", "${A:-b}", "${", "$$$", "x${B}y"} {
		f.Add(s)
	}
	vars := env(map[string]string{"A": "a"})
	f.Fuzz(func(t *testing.T, s string) {
		out, expanded, err := expand(s, vars)
		if err == nil && !expanded && !strings.Contains(s, "$${") && out != s {
			t.Errorf("expand(%q) = %q without expanding anything", s, out)
		}
	})
}

// TestDocsExample keeps the full example in docs/config.md loadable and valid.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Skipf("docs/config.md: %v", err)
	}
	_, rest, ok := strings.Cut(string(doc), "## A full example")
	if !ok {
		t.Fatal(`docs/config.md has no "## A full example" section`)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/config.md: no yaml block in the full example")
	}
	path := writeConfig(t, example)
	vars := env(map[string]string{"VLLM_API_KEY": "k", "OPENAI_API_KEY": "k"})
	cfg, err := load(path, vars)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := cfg.validate(vars); err != nil {
		t.Fatalf("validate: %v", err)
	}
}

// TestDocsDefaults checks the defaults the docs promise against DefaultConfig.
func TestDocsDefaults(t *testing.T) {
	d := DefaultConfig()
	if d.Run != "dars" || d.Out != "out" || d.Seed != 42 || d.Sampling.Samples != 5 ||
		d.Sampling.TopP != 0.95 || d.Labels.Prior != "jeffreys" || d.Labels.PBestDraws != 2000 ||
		!d.Paraphrase.IncludeOriginal || d.Paraphrase.Temperature != 0.7 {
		t.Errorf("DefaultConfig changed; update docs/config.md: %+v", d)
	}
}
