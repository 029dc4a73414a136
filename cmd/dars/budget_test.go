package main

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/parquetio"
)

// TestMaxCostStopsBeforeTheBudget: --max-cost stops issuing before the run
// would pass it, counts what is stored on a re-run, and a larger budget
// finishes the run.
func TestMaxCostStopsBeforeTheBudget(t *testing.T) {
	fake := &fakeOpenAI{auth: map[string]bool{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+2?", "answer": "3"}`+"\n")
	// $1 a token: each request bills 20 prompt + 6 completion tokens = $26
	// and reserves about $35 (the prompt estimate plus max_tokens).
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: budget
dataset: {path: q.jsonl}
sampling: {samples: 10, max_tokens: 10}
models:
  - name: remote
    provider: openai
    base_url: %s/v1
    model: m
    n: "off"
    concurrency: 1
    price: {input_per_mtok: 1000000, output_per_mtok: 1000000}
judges: [{name: answer, type: numeric}]
`, srv.URL))
	code, _, stderr := runDars(t, dir, "run", "--quiet", "--max-cost", "100")
	if code != exitFailed || !strings.Contains(stderr, "--max-cost $100") || !strings.Contains(stderr, "cost budget reached") {
		t.Fatalf("exit %d, want 1 naming the budget:\n%s", code, stderr)
	}
	gens, err := parquetio.ReadGenerations(filepath.Join(dir, "out", "budget", "generations.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var spent float64
	for _, g := range gens {
		spent += g.CostUSD
	}
	if len(gens) != 3 || fake.requests != 3 || spent > 100 {
		t.Fatalf("%d samples, %d requests, $%v spent; want 3 samples, 3 requests, at most $100", len(gens), fake.requests, spent)
	}
	// The stored $78 counts against the same budget: nothing more fits.
	if code, _, stderr := runDars(t, dir, "sample", "--quiet", "--max-cost", "100"); code != exitFailed || fake.requests != 3 {
		t.Fatalf("re-run under the same budget: exit %d, %d requests\n%s", code, fake.requests, stderr)
	}
	if code, _, stderr := runDars(t, dir, "run", "--quiet", "--max-cost", "1000"); code != exitOK || fake.requests != 10 {
		t.Fatalf("a larger budget: exit %d, %d requests; want 0 and 10\n%s", code, fake.requests, stderr)
	}
}
