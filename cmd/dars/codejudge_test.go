package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/parquetio"
)

// codeModel answers HumanEval prompts with a fenced Python block: a right
// add, and a mul that adds.
func codeModel(w http.ResponseWriter, r *http.Request) {
	req, ok := readChat(w, r)
	if !ok {
		return
	}
	code := "def add(a, b):\n    return a + b\n"
	if strings.Contains(req.prompt(), "def mul") {
		code = "def mul(a, b):\n    return a + b\n"
	}
	writeChat(w, "m", repeat("Here it is.\n```python\n"+code+"```\n", req.samples()), 20, 20)
}

// TestCodeJudgeRun runs the code judge through `dars run` on a
// HumanEval-layout data set: the right solution passes, the wrong one fails
// with the assertion named, beside a numeric judge that cannot read code.
func TestCodeJudgeRun(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed")
	}
	srv := httptest.NewServer(http.HandlerFunc(codeModel))
	defer srv.Close()
	t.Setenv("DARS_TEST_KEY", "sk-code-secret")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "he.jsonl"),
		`{"task_id": "T/0", "prompt": "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n", "entry_point": "add", "canonical_solution": "    return a + b\n", "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-1, 1) == 0\n"}`+"\n"+
			`{"task_id": "T/1", "prompt": "def mul(a, b):\n    \"\"\"Return a * b.\"\"\"\n", "entry_point": "mul", "canonical_solution": "    return a * b\n", "test": "def check(candidate):\n    assert candidate(2, 3) == 6, 'mul(2, 3)'\n"}`+"\n")
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: code
dataset: {path: he.jsonl, preset: humaneval}
prompt: {template: "Complete the function.\n\n{{.Question}}"}
sampling: {samples: 2}
models:
  - {name: coder, provider: openai, base_url: %s/v1, model: m, api_key_env: DARS_TEST_KEY}
judges:
  - {name: tests, type: code, timeout: 10s, workers: 2}
`, srv.URL))
	code, _, stderr := runDars(t, dir, "run", "--quiet")
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	scores, err := parquetio.ReadScores(filepath.Join(dir, "out", "code", "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 4 {
		t.Fatalf("%d verdicts, want 4", len(scores))
	}
	for _, s := range scores {
		want := s.QueryID == "T/0"
		if s.Status != "scored" || s.Passed != want {
			t.Errorf("%s sample %d: %+v, want scored, passed %v", s.QueryID, s.SampleIndex, s, want)
		}
		if !want && !strings.Contains(s.Detail, "AssertionError") {
			t.Errorf("%s: detail %q does not name the failed assertion", s.QueryID, s.Detail)
		}
	}
	labels, _, err := parquetio.ReadLabels(filepath.Join(dir, "out", "code", "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range labels {
		if want := map[string]int64{"T/0": 2, "T/1": 0}[l.QueryID]; l.N != 2 || l.Successes != want {
			t.Errorf("%s: %d of %d passed, want %d of 2", l.QueryID, l.Successes, l.N, want)
		}
	}
}
