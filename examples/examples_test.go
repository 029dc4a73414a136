package examples

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/darslabs/dars/pkg/config"
)

// runFiles lists every example run file, relative to this directory.
var runFiles = []string{
	"quickstart/dars.yaml",
	"gsm8k/dars.yaml",
	"mmlu/dars.yaml",
	"arc/dars.yaml",
	"triviaqa/dars.yaml",
	"humaneval/dars.yaml",
	"mbpp/dars.yaml",
	"vllm/dars.yaml",
	"openai/dars.yaml",
}

// decodeStrict decodes a run file over the defaults, rejecting unknown keys.
func decodeStrict(t *testing.T, path string) config.Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("decode %q: %v", path, err)
	}
	return cfg
}

// promptData mirrors the fields the prompt template may use.
type promptData struct {
	Question string
	Choices  []string
	Context  string
	Task     string
	ID       string
}

func TestRunFiles(t *testing.T) {
	for _, path := range runFiles {
		t.Run(path, func(t *testing.T) {
			cfg := decodeStrict(t, path)
			if cfg.Run == "" || cfg.Dataset.Path == "" {
				t.Fatalf("run %q, dataset.path %q: want both set", cfg.Run, cfg.Dataset.Path)
			}
			if p := cfg.Paraphrase; p.Count < 0 || (p.Count > 0 && !hasModel(cfg, p.Model)) {
				t.Errorf("paraphrase.count = %d with model %q: want 0, or a rewriter among the models", p.Count, p.Model)
			}
			primaries := 0
			for _, j := range cfg.Judges {
				if j.Primary {
					primaries++
				}
			}
			if primaries != 1 {
				t.Errorf("%d primary judges, want 1", primaries)
			}
			sims := 0
			for _, m := range cfg.Models {
				if m.Provider == "sim" {
					sims++
				}
				if m.Provider == "openai" && m.BaseURL == "" {
					t.Errorf("model %q: no base_url", m.Name)
				}
			}
			if sims == 0 {
				t.Error("no sim model: the example cannot run without a key")
			}
			tmpl, err := template.New("prompt").Option("missingkey=error").Parse(cfg.Prompt.Template)
			if err != nil {
				t.Fatalf("parse template: %v", err)
			}
			choices := []string{"one", "two", "three", "four"}
			if len(cfg.Judges) > 0 && cfg.Judges[0].Letters != "" {
				choices = choices[:0]
				for i := range cfg.Judges[0].Letters {
					choices = append(choices, fmt.Sprintf("option %d", i))
				}
			}
			var out strings.Builder
			data := promptData{Question: "What is 2+2?", Choices: choices, Task: "arithmetic", ID: "q1"}
			if err := tmpl.Execute(&out, data); err != nil {
				t.Fatalf("render template: %v", err)
			}
			// A code judge reads a code block, not a final-answer line.
			if cfg.Judges[0].Type != "code" && !strings.Contains(out.String(), "Final Answer: <answer>") {
				t.Errorf("rendered prompt lacks the answer line:\n%s", out.String())
			}
			if l := cfg.Judges[0].Letters; l != "" {
				for i := range l {
					line := fmt.Sprintf("%c. option %d\n", l[i], i)
					if !strings.Contains(out.String(), line) {
						t.Errorf("rendered prompt lacks %q:\n%s", line, out.String())
					}
				}
			}
		})
	}
}

// TestDataPaths checks each data path resolves against its run file: every
// example's data ships in the repository, so a clone runs them all.
func TestDataPaths(t *testing.T) {
	for _, path := range runFiles {
		t.Run(path, func(t *testing.T) {
			cfg := decodeStrict(t, path)
			data := filepath.Join(filepath.Dir(path), cfg.Dataset.Path)
			if _, err := os.Stat(data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// question is one row of quickstart/questions.jsonl.
type question struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Answer   string   `json:"answer"`
	Variants []string `json:"variants"`
}

func TestQuickstartQuestions(t *testing.T) {
	f, err := Quickstart.Open("quickstart/questions.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		var q question
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if want := fmt.Sprintf("q%02d", n); q.ID != want {
			t.Errorf("line %d: id %q, want %q", n, q.ID, want)
		}
		if q.Question == "" || q.Answer == "" {
			t.Errorf("line %d: empty question or answer", n)
		}
		var x float64
		if _, err := fmt.Sscan(q.Answer, &x); err != nil {
			t.Errorf("line %d: answer %q is not a number", n, q.Answer)
		}
		if len(q.Variants) != 2 {
			t.Errorf("line %d: %d variants, want 2", n, len(q.Variants))
		}
		for _, v := range q.Variants {
			if v == "" || v == q.Question {
				t.Errorf("line %d: variant %q is empty or the original", n, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Errorf("%d questions, want 50", n)
	}
}

func TestQuickstartEmbedded(t *testing.T) {
	for _, name := range []string{"quickstart/dars.yaml", "quickstart/questions.jsonl"} {
		t.Run(name, func(t *testing.T) {
			embedded, err := fs.ReadFile(Quickstart, name)
			if err != nil {
				t.Fatal(err)
			}
			onDisk, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(embedded, onDisk) {
				t.Error("embedded copy differs from the file")
			}
		})
	}
}

// hasModel reports whether cfg has a model entry named name.
func hasModel(cfg config.Config, name string) bool {
	_, ok := cfg.ModelByName(name)
	return ok
}
