package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/parquetio"
)

// fakeOpenAI is an OpenAI-compatible chat completions endpoint that answers
// every prompt with n choices, the first `right` of them correct.
type fakeOpenAI struct {
	mu       sync.Mutex
	requests int
	samples  int
	auth     map[string]bool
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	req, ok := readChat(w, r)
	if !ok {
		return
	}
	n := req.samples()
	f.mu.Lock()
	f.requests++
	f.samples += n
	f.auth[r.Header.Get("Authorization")] = true
	f.mu.Unlock()
	// The question is "What is A+B?": answer right on even choices.
	var a, b int
	p := req.prompt()
	fmt.Sscanf(p[strings.Index(p, "What is "):], "What is %d+%d?", &a, &b)
	answers := make([]string, n)
	for i := range answers {
		answers[i] = fmt.Sprintf("Let me add.\nFinal Answer: %d", a+b+i%2)
	}
	writeChat(w, req.Model, answers, 20, 6)
}

// TestRunAgainstOpenAICompatibleEndpoint runs the whole pipeline against an
// httptest fake: n-batching, usage, cost, the key from the environment, and
// a re-run that sends nothing.
func TestRunAgainstOpenAICompatibleEndpoint(t *testing.T) {
	fake := &fakeOpenAI{auth: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("DARS_TEST_KEY", "sk-test-secret-123")
	dir := t.TempDir()
	var data strings.Builder
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&data, `{"id": "q%d", "question": "What is %d+%d?", "answer": "%d", "variants": ["Compute: What is %d+%d?"]}`+"\n", i, i, i*2, i*3, i, i*2)
	}
	writeFile(t, filepath.Join(dir, "q.jsonl"), data.String())
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: fake
dataset: {path: q.jsonl}
sampling: {samples: 4}
models:
  - name: remote
    provider: openai
    base_url: %s/v1
    model: fake-model
    api_key_env: DARS_TEST_KEY
    n: 2
    price: {input_per_mtok: 1, output_per_mtok: 2}
judges: [{name: answer, type: numeric}]
`, srv.URL))
	code, stdout, stderr := runDars(t, dir, "run", "--json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// 4 queries x 2 variants x 4 samples in requests of n=2.
	if fake.requests != 16 || fake.samples != 32 {
		t.Fatalf("endpoint saw %d requests for %d samples, want 16 for 32", fake.requests, fake.samples)
	}
	if !fake.auth["Bearer sk-test-secret-123"] || len(fake.auth) != 1 {
		t.Fatalf("authorization headers %v", fake.auth)
	}
	runDir := filepath.Join(dir, "out", "fake")
	for _, f := range []string{"manifest.json", "generations.parquet", "scores.parquet", "labels.parquet", "routes.parquet"} {
		b, err := os.ReadFile(filepath.Join(runDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "sk-test-secret-123") {
			t.Fatalf("%s holds the API key", f)
		}
	}
	if strings.Contains(stdout+stderr, "sk-test-secret-123") {
		t.Fatal("the API key reached stdout or stderr")
	}
	ls, _, err := parquetio.ReadLabels(filepath.Join(runDir, "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 4 {
		t.Fatalf("%d labels, want 4", len(ls))
	}
	for _, l := range ls {
		// Half the choices are right: 4 of 8 per query.
		if l.N != 8 || l.Successes != 4 || l.Mean != 0.5 {
			t.Errorf("label %+v", l)
		}
		// Each sample bills 20/2 prompt and 6 completion tokens.
		if want := (10*1 + 6*2) / 1e6; l.CostMean < want*0.999 || l.CostMean > want*1.001 {
			t.Errorf("cost_mean %v, want %v", l.CostMean, want)
		}
	}
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("re-run: exit %d\n%s", code, stderr)
	}
	if fake.requests != 16 {
		t.Fatalf("a re-run of a finished run sent %d requests", fake.requests-16)
	}
}

// TestFatalEndpointStopsWithExit1: a 401 stops the model with a message that
// names it and the variable, never the key.
func TestFatalEndpointStopsWithExit1(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}`))
	}))
	defer srv.Close()
	t.Setenv("DARS_TEST_KEY", "sk-wrong-456")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+1?", "answer": "2"}`+"\n")
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: fatal
dataset: {path: q.jsonl}
models:
  - {name: remote, provider: openai, base_url: "%s/v1", model: m, api_key_env: DARS_TEST_KEY}
judges: [{name: answer, type: numeric}]
`, srv.URL))
	code, stdout, stderr := runDars(t, dir, "run", "--quiet")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `"remote"`) || !strings.Contains(stderr, "DARS_TEST_KEY") {
		t.Errorf("stderr should name the model and the variable: %s", stderr)
	}
	if strings.Contains(stdout+stderr, "sk-wrong-456") {
		t.Fatal("the API key reached the output")
	}
}
