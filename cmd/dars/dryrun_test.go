package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/darslabs/dars/pkg/store"
)

// guardedEndpoint answers chat completions with n choices while open, and
// fails the test on any request while closed.
type guardedEndpoint struct {
	t        *testing.T
	open     atomic.Bool
	requests atomic.Int64
}

func (g *guardedEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	if !g.open.Load() {
		g.t.Errorf("a dry run sent %s %s", r.Method, r.URL.Path)
		http.Error(w, "no requests during a dry run", http.StatusTeapot)
		return
	}
	req, ok := readChat(w, r)
	if !ok {
		return
	}
	writeChat(w, "m", repeat("Final Answer: 3", req.samples()), 3, 4)
}

// dryRunConfig writes a run of 2 queries x 2 variants, every prompt one
// message of 12 characters (3 + 7 estimated tokens), against url.
func dryRunConfig(t *testing.T, dir, url string, samples int) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "q.jsonl"),
		`{"id": "q1", "question": "What is 1+2?", "answer": "3", "variants": ["Sum of 1, 2?"]}`+"\n"+
			`{"id": "q2", "question": "What is 3+4?", "answer": "7", "variants": ["Sum of 3, 4?"]}`+"\n")
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: dry
dataset: {path: q.jsonl}
prompt: {template: "{{.Question}}"}
sampling: {samples: %d, max_tokens: 100}
models:
  - name: remote
    provider: openai
    base_url: %s/v1
    model: m
    api_key_env: DARS_TEST_KEY
    n: 2
    price: {input_per_mtok: 1, output_per_mtok: 2}
judges: [{name: answer, type: numeric}]
`, samples, url))
}

type dryRunJSON struct {
	DryRun bool `json:"dry_run"`
	Models []struct {
		Model              string  `json:"model"`
		Planned            int64   `json:"planned"`
		Stored             int64   `json:"stored"`
		Samples            int64   `json:"samples"`
		Requests           int64   `json:"requests"`
		RequestsSingle     int64   `json:"requests_single"`
		PromptTokens       int64   `json:"prompt_tokens"`
		PromptTokensSingle int64   `json:"prompt_tokens_single"`
		CompletionTokens   int64   `json:"completion_tokens"`
		CostUSD            float64 `json:"cost_usd"`
		CostUSDSingle      float64 `json:"cost_usd_single"`
	} `json:"models"`
	Total struct {
		Samples int64 `json:"samples"`
	} `json:"total"`
}

func TestDryRunSendsNothing(t *testing.T) {
	ep := &guardedEndpoint{t: t}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	t.Setenv("DARS_TEST_KEY", "sk-dry-secret-789")
	dir := t.TempDir()
	runDir := filepath.Join(dir, "out", "dry")

	type want struct{ stored, owed, requests, single, prompt, promptSingle int64 }
	check := func(t *testing.T, stdout string, w want) {
		t.Helper()
		var r dryRunJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("--json: %v\n%s", err, stdout)
		}
		if !r.DryRun || len(r.Models) != 1 || r.Models[0].Model != "remote" {
			t.Fatalf("report %+v", r)
		}
		m := r.Models[0]
		if m.Planned != 16 || m.Stored != w.stored || m.Samples != w.owed || m.Requests != w.requests ||
			m.RequestsSingle != w.single || m.PromptTokens != w.prompt || m.PromptTokensSingle != w.promptSingle ||
			m.CompletionTokens != w.owed*100 || r.Total.Samples != w.owed {
			t.Errorf("estimate %+v, want %+v", m, w)
		}
		if wc := float64(w.prompt+200*w.owed) / 1e6; m.CostUSD < wc*0.999999 || m.CostUSD > wc*1.000001 {
			t.Errorf("cost_usd %v, want %v", m.CostUSD, wc)
		}
		if wc := float64(w.promptSingle+200*w.owed) / 1e6; m.CostUSDSingle < wc*0.999999 || m.CostUSDSingle > wc*1.000001 {
			t.Errorf("cost_usd_single %v, want %v", m.CostUSDSingle, wc)
		}
	}

	// A fresh run: everything owed, and the run directory is not created.
	// 4 variants x 4 samples in requests of n=2: 8 requests of 10 prompt tokens.
	dryRunConfig(t, dir, srv.URL, 4)
	for _, cmd := range []string{"sample", "run"} {
		code, stdout, stderr := runDars(t, dir, cmd, "--dry-run", "--json")
		if code != exitOK {
			t.Fatalf("%s --dry-run: exit %d\n%s", cmd, code, stderr)
		}
		check(t, stdout, want{stored: 0, owed: 16, requests: 8, single: 16, prompt: 80, promptSingle: 160})
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Fatalf("a dry run created %s (stat: %v)", runDir, err)
	}

	// The text table names the model and the figures.
	code, stdout, stderr := runDars(t, dir, "sample", "--dry-run")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, s := range []string{"remote", "requests n=1", "total", "0.0033", "nothing was sent", "16 of 16 samples are owed"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("table lacks %q:\n%s", s, stdout)
		}
	}
	if strings.Contains(stdout+stderr, "sk-dry-secret-789") {
		t.Fatal("the API key reached the output")
	}

	// Sample indices 0 and 1 of every variant are stored: half is owed.
	dryRunConfig(t, dir, srv.URL, 2)
	ep.open.Store(true)
	if code, _, stderr := runDars(t, dir, "sample", "--quiet"); code != exitOK {
		t.Fatalf("sample: exit %d\n%s", code, stderr)
	}
	ep.open.Store(false)
	sent := ep.requests.Load()
	if sent != 4 {
		t.Fatalf("sample sent %d requests, want 4", sent)
	}
	dryRunConfig(t, dir, srv.URL, 4)
	code, stdout, stderr = runDars(t, dir, "sample", "--dry-run", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	check(t, stdout, want{stored: 8, owed: 8, requests: 4, single: 8, prompt: 40, promptSingle: 80})

	// Beside a live run (the store's lock held), a dry run reads what the
	// run has committed instead of stopping.
	live, err := store.Open(context.Background(), runDir)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runDars(t, dir, "sample", "--dry-run", "--json")
	live.Close()
	if code != exitOK {
		t.Fatalf("dry run beside a live run: exit %d\n%s", code, stderr)
	}
	check(t, stdout, want{stored: 8, owed: 8, requests: 4, single: 8, prompt: 40, promptSingle: 80})
	if ep.requests.Load() != sent {
		t.Fatalf("the dry run sent %d requests", ep.requests.Load()-sent)
	}
}
