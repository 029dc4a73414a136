package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// fakeEndpoint is one OpenAI-compatible model that answers both the
// candidates' questions ("What is A+B?", right on every answer) and a
// judge's rubric (always a pass), billing $1 a token. It takes one sample a
// request: a larger n is refused with a 400 that states the limit, and
// counted by kind. It records the most requests it had in flight at once.
type fakeEndpoint struct {
	mu       sync.Mutex
	inFlight int
	peak     int
	requests map[string]int // answered, by kind: "sample", "judge"
	refused  map[string]int // n > 1 refused, by kind
	billed   float64
}

func (f *fakeEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		N        int    `json:"n"`
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	prompt := req.Messages[len(req.Messages)-1].Content
	n := max(req.N, 1)
	kind, text := "sample", ""
	if strings.Contains(prompt, "Answer to grade") {
		kind, text = "judge", `{"score": 1, "passed": true, "reason": "fine"}`
	}
	if n > 1 {
		f.mu.Lock()
		f.refused[kind]++
		f.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error": {"message": "n must be <= 1", "type": "invalid_request_error", "param": "n"}}`)
		return
	}
	if kind == "sample" {
		var a, b int
		fmt.Sscanf(prompt[strings.Index(prompt, "What is "):], "What is %d+%d?", &a, &b)
		text = fmt.Sprintf("Final Answer: %d", a+b)
	}
	const promptTokens, completionTokens = 20, 6
	f.mu.Lock()
	f.requests[kind]++
	f.billed += float64(promptTokens + completionTokens*n)
	f.mu.Unlock()
	choices := make([]map[string]any, n)
	for i := range choices {
		choices[i] = map[string]any{"index": i, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": text}}
	}
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model, "choices": choices,
		"usage": map[string]any{"prompt_tokens": promptTokens, "completion_tokens": completionTokens * n}})
}

// TestJudgeCallsShareTheEndpointAndTheBudget: an llm judge whose model
// entry names a candidate's endpoint shares what the run knows of it: the
// n cap the candidate's samples learned (the judge, voting twice with n
// auto, is never refused) and the candidate's concurrency of 1 (though the
// judge's entry says 8). --max-cost counts the judge's calls: the run stops
// before passing the budget, and a larger one finishes. The manifest and
// the dry run show what each purpose cost.
func TestJudgeCallsShareTheEndpointAndTheBudget(t *testing.T) {
	fake := &fakeEndpoint{requests: map[string]int{}, refused: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	// $1 a token: a sample request bills 20 + 6 = $26, a judge call the same.
	cfg := writeRun(t, fmt.Sprintf(`run: shared
dataset: {path: q.jsonl}
sampling: {samples: 2, max_tokens: 8}
models:
  - {name: cand, provider: openai, base_url: "%[1]s/v1", model: m, n: "2", concurrency: 1, price: {input_per_mtok: 1000000, output_per_mtok: 1000000}}
  - {name: grader, provider: openai, base_url: "%[1]s/v1", model: m, candidate: false, n: auto, concurrency: 8, price: {input_per_mtok: 1000000, output_per_mtok: 1000000}}
judges:
  - {name: rubric, type: llm, model: grader, votes: 2, max_tokens: 8}
`, srv.URL))
	ctx := context.Background()

	// 12 samples cost $312; a judge call bills $26 but reserves about $115
	// (its rubric and max_tokens): the budget leaves room for a few.
	const budget = 540.0
	run, err := Open(ctx, cfg, Options{MaxCostUSD: budget})
	if err != nil {
		t.Fatal(err)
	}
	_, err = run.Execute(ctx, All)
	if !errors.Is(err, sampler.ErrBudget) || !strings.Contains(err.Error(), `judge "rubric"`) {
		t.Fatalf("Execute = %v, want the judge stopped by the budget", err)
	}
	run.Close()
	fake.mu.Lock()
	billed, samples, judged, peak := fake.billed, fake.requests["sample"], fake.requests["judge"], fake.peak
	fake.mu.Unlock()
	if billed > budget {
		t.Fatalf("the endpoint billed $%v past the $%v budget", billed, budget)
	}
	if samples != 12 || judged == 0 || judged >= 24 {
		t.Fatalf("%d sample and %d judge requests; want all 12 samples, some of the 24 judge calls", samples, judged)
	}
	if fake.refused["sample"] == 0 || fake.refused["judge"] != 0 {
		t.Errorf("n refused %v: the candidate should learn the cap once, and the judge, on the same endpoint, never ask past it", fake.refused)
	}
	if peak != 1 {
		t.Errorf("peak requests in flight %d: the judge's calls did not share the candidate's endpoint limit of 1", peak)
	}
	fake.mu.Lock()
	fake.peak = 0
	fake.mu.Unlock()

	run, err = Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	est, err := run.Estimate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every vote of an output without a verdict counts, stored or not: an
	// upper bound.
	if n := est.JudgeCalls[0].Samples; len(est.JudgeCalls) != 1 || n%2 != 0 || n < int64(24-judged) || n > 24 || est.Total.Samples != 0 {
		t.Errorf("dry run: judge calls %+v, samples owed %d; want at least the %d calls owed, 2 an output, and no sample",
			est.JudgeCalls, est.Total.Samples, 24-judged)
	}
	stored := map[string]int64{}
	for _, s := range est.Stored {
		stored[s.Purpose] = s.Calls
	}
	if stored[record.PurposeSample] != 12 || stored[record.PurposeJudge] != int64(judged) {
		t.Errorf("dry run: stored calls by purpose %v, want 12 samples and %d judge calls", stored, judged)
	}
	res, err := run.Execute(ctx, All)
	if err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	if fake.requests["sample"] != 12 || fake.requests["judge"] != 24 {
		t.Errorf("after the second run: %v answered; want 12 samples and 24 judge calls, nothing asked twice", fake.requests)
	}
	if fake.peak != 1 {
		t.Errorf("peak requests in flight %d while the judge caught up: its calls did not keep the candidate's endpoint limit of 1", fake.peak)
	}
	fake.mu.Unlock()
	spend := map[string]float64{}
	for _, s := range res.Manifest.Spend {
		spend[s.Purpose] = s.CostUSD
	}
	if spend[record.PurposeSample] != 12*26 || spend[record.PurposeJudge] != 24*26 {
		t.Errorf("manifest spend by purpose %v, want $312 and $624", spend)
	}
	if len(res.Manifest.JudgeCalls) != 1 || res.Manifest.JudgeCalls[0].Calls != 24 {
		t.Errorf("manifest judge calls %+v", res.Manifest.JudgeCalls)
	}
}

// writeRun writes six questions ("What is i+i?") and runFile beside them
// and returns the run file's config.
func writeRun(t *testing.T, runFile string) config.Config {
	t.Helper()
	dir := t.TempDir()
	var data strings.Builder
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&data, `{"id": "%d", "question": "What is %d+%d?", "answer": "%d"}`+"\n", i, i, i, 2*i)
	}
	if err := os.WriteFile(filepath.Join(dir, "q.jsonl"), []byte(data.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dars.yaml"), []byte(runFile), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadConfig(t, filepath.Join(dir, "dars.yaml"))
}

// judgeRun is a run of the six questions sampled by the endpoint at url
// and judged by an llm judge on a second model of it, at $1 a token.
func judgeRun(t *testing.T, url string) config.Config {
	t.Helper()
	return writeRun(t, fmt.Sprintf(`run: j
dataset: {path: q.jsonl}
sampling: {samples: 2, max_tokens: 8}
models:
  - {name: cand, provider: openai, base_url: "%[1]s/v1", model: m, n: "off", concurrency: 1, price: {input_per_mtok: 1000000, output_per_mtok: 1000000}}
  - {name: grader, provider: openai, base_url: "%[1]s/v1", model: g, candidate: false, n: "off", concurrency: 1, price: {input_per_mtok: 1000000, output_per_mtok: 1000000}}
judges:
  - {name: rubric, type: llm, model: grader, max_tokens: 8}
`, url))
}

// TestStoppedJudgeModel: a judge model that refuses the key stops the run
// with the endpoint's message and hint, as a candidate's would: never as an
// interruption.
func TestStoppedJudgeModel(t *testing.T) {
	fake := &fakeEndpoint{requests: map[string]int{}, refused: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &req)
		if req.Model == "g" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}`)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := judgeRun(t, srv.URL)
	ctx := context.Background()
	run, err := Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	_, err = run.Execute(ctx, All)
	if !errors.Is(err, sampler.ErrModelStopped) || errors.Is(err, context.Canceled) {
		t.Fatalf("Execute = %v; want the judge model's stop, not a cancellation", err)
	}
	if !strings.Contains(err.Error(), `judge "rubric"`) || !strings.Contains(err.Error(), `model "grader" stopped`) || !strings.Contains(err.Error(), "Incorrect API key") {
		t.Errorf("the error should name the judge, the model and the server's message: %v", err)
	}
	if hints := problem.Hints(err); len(hints) == 0 {
		t.Errorf("the endpoint's hint was lost: %v", err)
	}
}

// TestJudgeBudgetStopsTheWalk: once a judge's calls meet the budget, the
// chunks in hand are committed (their unpaid verdicts undecided) and the
// judge stage stops: the generations after them are not read, and get no
// verdict until a run with room asks for them.
func TestJudgeBudgetStopsTheWalk(t *testing.T) {
	fake := &fakeEndpoint{requests: map[string]int{}, refused: map[string]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := judgeRun(t, srv.URL)
	ctx := context.Background()
	// 12 samples cost $312; a judge call bills $26 and reserves about $115.
	run, err := Open(ctx, cfg, Options{MaxCostUSD: 450})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	run.chunkSize = 2
	_, err = run.Execute(ctx, All)
	if !errors.Is(err, sampler.ErrBudget) {
		t.Fatalf("Execute = %v, want the budget", err)
	}
	st, err := store.Open(ctx, run.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	verdicts := 0
	if err := st.Scores(ctx, "rubric", func(record.Score) error { verdicts++; return nil }); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	judged := fake.requests["judge"]
	fake.mu.Unlock()
	if judged == 0 || verdicts > judged+chunksInFlight*run.chunkSize || verdicts >= 12 {
		t.Errorf("%d verdicts stored for %d paid judge calls: the walk went on past the budget's chunk", verdicts, judged)
	}
}

// TestStoredCallsPreferAnswers: a key stored twice (a schema-1 call the
// migration could not file under its generation, answered again since)
// reads as its answer, whichever row the store returns first.
func TestStoredCallsPreferAnswers(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	subject := strings.Repeat("a", 64)
	key := strings.Repeat("b", 64)
	failed := record.Generation{Key: key, QueryID: legacyCallID("rubric", subject), Model: "grader", Error: "status 503",
		Purpose: record.PurposeJudge, Caller: "rubric", Subject: subject}
	answered := failed
	answered.QueryID, answered.Error, answered.OutputText = "7", "", `{"passed": true}`
	for _, order := range [][]record.Generation{{failed, answered}, {answered, failed}} {
		if err := st.PutGenerations(ctx, order); err != nil {
			t.Fatal(err)
		}
		c := &judgeCalls{x: &execution{Run: &Run{}, st: st}, je: judgeEntry{cfg: config.Judge{Name: "rubric"}}}
		into := map[string]record.Generation{}
		done, err := c.stored(ctx, []string{subject}, into)
		if err != nil {
			t.Fatal(err)
		}
		if g := into[key]; g.Error != "" || !done.Has(key) {
			t.Fatalf("stored read %+v (done %v); want the answer", g, done.Has(key))
		}
	}
}

// TestCandidateAndJudgeStopped: when a candidate and the judge model both
// stop, the error names both: the candidate's stop is not lost behind the
// judge's.
func TestCandidateAndJudgeStopped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}`)
	}))
	defer srv.Close()
	cfg := judgeRun(t, srv.URL)
	cfg.Models = append(cfg.Models, config.Model{Name: "sim", Provider: "sim", Skill: 1})
	ctx := context.Background()
	run, err := Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	_, err = run.Execute(ctx, All)
	if err == nil || !strings.Contains(err.Error(), `model "cand" stopped`) || !strings.Contains(err.Error(), `model "grader" stopped`) {
		t.Fatalf("Execute = %v; want both stops named", err)
	}
}
