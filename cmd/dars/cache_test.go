package main

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/parquetio"
)

// TestCacheAcrossRuns: a second run pointed at the same cache is answered
// from it without one request; changing a sampling parameter changes the
// keys and asks again.
func TestCacheAcrossRuns(t *testing.T) {
	fake, dir, config := cacheSetup(t)
	config("first", 0.7)
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	if fake.requests != 12 {
		t.Fatalf("first run sent %d requests, want 12", fake.requests)
	}
	config("second", 0.7)
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	if fake.requests != 12 {
		t.Fatalf("a run on a warm cache sent %d requests", fake.requests-12)
	}
	a, _, err := parquetio.ReadLabels(filepath.Join(dir, "out", "first", "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := parquetio.ReadLabels(filepath.Join(dir, "out", "second", "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("labels from the cache differ:\n%v\n%v", a, b)
	}
	config("third", 0.9)
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("third run: exit %d\n%s", code, stderr)
	}
	if fake.requests != 24 {
		t.Fatalf("a changed temperature must miss the cache: %d new requests, want 12", fake.requests-12)
	}
}

// TestCacheAnswersWhenTheStoreHoldsOtherKeys: a run store full of samples
// from another temperature must not stop the cache from answering the
// current plan (a count of stored keys is not the plan's keys).
func TestCacheAnswersWhenTheStoreHoldsOtherKeys(t *testing.T) {
	fake, dir, config := cacheSetup(t)
	config("first", 0.7)
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("first: %d %s", code, stderr)
	}
	config("second", 0.9)
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("second: %d %s", code, stderr)
	}
	before := fake.requests
	config("second", 0.7) // every key of this plan is in the cache
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("third: %d %s", code, stderr)
	}
	if n := fake.requests - before; n != 0 {
		t.Fatalf("cache held every planned key, yet %d requests were sent", n)
	}
}

// cacheSetup starts a fake endpoint and writes 3 questions into a temp dir;
// config(run, temperature) writes a run file sharing "shared-cache" with 4
// samples per question, one request each.
func cacheSetup(t *testing.T) (fake *fakeOpenAI, dir string, config func(run string, temperature float64)) {
	t.Helper()
	fake = &fakeOpenAI{auth: map[string]bool{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	dir = t.TempDir()
	var data strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&data, `{"id": "q%d", "question": "What is %d+%d?", "answer": "%d"}`+"\n", i, i, i, 2*i)
	}
	writeFile(t, filepath.Join(dir, "q.jsonl"), data.String())
	config = func(run string, temperature float64) {
		writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: %s
cache: shared-cache
dataset: {path: q.jsonl}
sampling: {samples: 4, temperature: %g}
models:
  - {name: remote, provider: openai, base_url: "%s/v1", model: m, n: "off"}
judges: [{name: answer, type: numeric}]
`, run, temperature, srv.URL))
	}
	return fake, dir, config
}
