package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/store"
)

// loggingEndpoint answers at once and logs every request by (prompt, seed):
// the endpoint's own record of what it was paid for.
type loggingEndpoint struct {
	mu      sync.Mutex
	total   int
	byReq   map[string]int
	killAt  int
	reached chan struct{}
}

func (e *loggingEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seed     *int `json:"seed"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Seed == nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.total++
	e.byReq[fmt.Sprintf("%s\x00%d", req.Messages[len(req.Messages)-1].Content, *req.Seed)]++
	if e.total == e.killAt {
		close(e.reached)
	}
	e.mu.Unlock()
	fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Final Answer: 2"}}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`)
}

// TestKill9ThenResume kills dars with SIGKILL at several points of a run,
// then runs it to the end, and checks from the endpoint's own log that every
// sample is stored exactly once and that each kill cost at most the
// requests in flight.
func TestKill9ThenResume(t *testing.T) {
	const queries, samples, concurrency = 30, 3, 4
	ep := &loggingEndpoint{byReq: map[string]int{}}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	dir := t.TempDir()
	var data strings.Builder
	for i := 1; i <= queries; i++ {
		fmt.Fprintf(&data, `{"id": "%d", "question": "Question %d: what is 1+1?", "answer": "2"}`+"\n", i, i)
	}
	writeFile(t, filepath.Join(dir, "q.jsonl"), data.String())
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: crash
dataset: {path: q.jsonl}
sampling: {samples: %d}
models:
  - {name: remote, provider: openai, base_url: "%s/v1", model: m, concurrency: %d, n: "off"}
judges: [{name: answer, type: numeric}]
`, samples, srv.URL, concurrency))
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "run", "--quiet")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DARS_TEST_RUN_MAIN=1")
		return cmd
	}
	kills := 0
	for _, at := range []int{5, 35, 65} {
		ep.mu.Lock()
		ep.killAt, ep.reached = at, make(chan struct{})
		reached := ep.reached
		ep.mu.Unlock()
		cmd := child()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-reached:
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			kills++
		case err := <-exited:
			t.Fatalf("the run ended (%v) before request %d", err, at)
		}
	}
	if out, err := child().CombinedOutput(); err != nil {
		t.Fatalf("the resumed run failed: %v\n%s", err, out)
	}

	st, err := store.Open(context.Background(), filepath.Join(dir, "out", "crash"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type sample struct {
		q      string
		v, idx int32
	}
	seen := map[sample]int{}
	err = st.Generations(context.Background(), func(g record.Generation) error {
		if g.Error != "" {
			t.Errorf("error row: %s", g.Error)
		}
		seen[sample{g.QueryID, g.VariantID, g.SampleIndex}]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != queries*samples {
		t.Fatalf("%d samples stored, want %d", len(seen), queries*samples)
	}
	for s, n := range seen {
		if n != 1 {
			t.Fatalf("sample %+v stored %d times", s, n)
		}
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.byReq) != queries*samples {
		t.Fatalf("the endpoint saw %d distinct requests, want %d", len(ep.byReq), queries*samples)
	}
	overpaid := ep.total - queries*samples
	// Lost to a kill: requests at the endpoint, answers waiting for the
	// writer, and the group being committed: at most 3 x concurrency.
	if limit := kills * 3 * concurrency; overpaid > limit {
		t.Fatalf("paid for %d requests twice over %d kills; at most %d were in flight", overpaid, kills, limit)
	}
	t.Logf("%d kills, %d requests for %d samples: %d paid twice", kills, ep.total, queries*samples, overpaid)
}
