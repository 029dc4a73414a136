package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/record"
)

// rewriterEndpoint is an OpenAI-compatible endpoint that rewrites (a call
// whose user message holds a <question> block), verifies (an <original>
// block) and answers sums ("Final Answer: <a+b>" for the first two numbers
// of the prompt). How it rewrites depends on the question's first number:
//
//	1: two good rewrites at once
//	2: prose around a fenced JSON block, with a duplicate and a leak
//	3: garbage, then good rewrites on the next attempt
//	4: garbage always (its attempts run out)
//	5: good rewrites, but the verifier says no to the first
//	6: three good rewrites when two are asked (one is surplus)
type rewriterEndpoint struct {
	mu       sync.Mutex
	requests map[string]int // by kind: rewrite, verify, sample
	seen     map[string]int // rewrite calls by question number
	formats  map[string]int // response_format sent, by kind
}

func newRewriterEndpoint() *rewriterEndpoint {
	return &rewriterEndpoint{requests: map[string]int{}, seen: map[string]int{}, formats: map[string]int{}}
}

var numberRe = regexp.MustCompile(`\d+`)

func (f *rewriterEndpoint) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[kind]
}

func (f *rewriterEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model          string          `json:"model"`
		ResponseFormat json.RawMessage `json:"response_format"`
		Messages       []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	user := req.Messages[len(req.Messages)-1].Content
	between := func(open, close string) string {
		i, j := strings.Index(user, open), strings.Index(user, close)
		if i < 0 || j < i {
			return ""
		}
		return strings.TrimSpace(user[i+len(open) : j])
	}
	kind, text := "sample", ""
	switch {
	case strings.Contains(user, "<question>"):
		kind = "rewrite"
		q := between("<question>", "</question>")
		nums := numberRe.FindAllString(q, -1)
		n, _ := strconv.Atoi(regexp.MustCompile(`Return (\d+) new rewrites`).FindStringSubmatch(user)[1])
		f.mu.Lock()
		f.seen[nums[0]]++
		attempt := f.seen[nums[0]]
		f.mu.Unlock()
		// Short rewrites (the length filter wants them within twice the
		// original's), new ones on every attempt.
		forms := []string{"Add %s and %s.", "Sum %s and %s.", "Find %s+%s.", "Compute %s+%s.", "Total %s and %s.", "Work out %s+%s.", "Take %s plus %s."}
		good := func(k int) []string {
			out := make([]string, k)
			for i := range out {
				out[i] = fmt.Sprintf(forms[((attempt-1)*3+i)%len(forms)], nums[0], nums[1])
			}
			return out
		}
		list := func(xs []string) string { b, _ := json.Marshal(map[string]any{"rewrites": xs}); return string(b) }
		switch nums[0] {
		case "2":
			a, _ := json.Marshal(map[string]any{"rewrites": []string{good(1)[0], good(1)[0], "2+2 is 4?"}})
			text = "Sure! Here they are:\n```json\n" + string(a) + "\n```\nHope this helps."
		case "3":
			if attempt == 1 {
				text = "I cannot do that."
			} else {
				text = list(good(n))
			}
		case "4":
			text = "no"
		case "6":
			text = list(good(n + 1))
		default:
			text = list(good(n))
		}
	case strings.Contains(user, "<original>"):
		kind = "verify"
		text = `{"same": true, "reason": "same question"}`
		if strings.Contains(between("<original>", "</original>"), "5+5") && strings.Contains(between("<rewrite>", "</rewrite>"), "Add") {
			text = `{"same": false, "reason": "lost a number"}`
		}
	default:
		nums := numberRe.FindAllString(user, -1)
		a, _ := strconv.Atoi(nums[0])
		b, _ := strconv.Atoi(nums[1])
		text = fmt.Sprintf("Final Answer: %d", a+b)
	}
	f.mu.Lock()
	f.requests[kind]++
	if len(req.ResponseFormat) > 0 {
		f.formats[kind]++
	}
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": req.Model,
		"choices": []map[string]any{{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": text}}},
		"usage":   map[string]any{"prompt_tokens": 20, "completion_tokens": 10}})
}

// paraphraseRun is a run of the six sums, two variants each written by the
// rewriter at url, checked by a verifier when verify is set.
func paraphraseRun(t *testing.T, url string, count int, verify bool) string {
	t.Helper()
	v := ""
	if verify {
		v = ", verify: {model: checker}"
	}
	cfg := writeRun(t, fmt.Sprintf(`run: p
dataset: {path: q.jsonl}
paraphrase: {count: %[2]d, model: rw, max_attempts: 2%[3]s}
sampling: {samples: 1, max_tokens: 8}
models:
  - {name: cand, provider: openai, base_url: "%[1]s/v1", model: m, n: "off"}
  - {name: rw, provider: openai, base_url: "%[1]s/v1", model: r, candidate: false}
  - {name: checker, provider: openai, base_url: "%[1]s/v1", model: c, candidate: false}
judges:
  - {name: answer, type: numeric}
`, url, count, v))
	return cfg.Path
}

// readRewrites reads a run's rewrites.parquet and variants.parquet.
func readRewrites(t *testing.T, r *Run) ([]record.Rewrite, []record.Variant) {
	t.Helper()
	ws, err := parquetio.ReadRewrites(r.path("rewrites.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := parquetio.ReadVariants(r.path("variants.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return ws, vs
}

// TestParaphrase runs the input side against a rewriter that answers in
// every way the stage must handle, and checks the variants kept, the log
// with its reasons, the samples of the rewrites, the exit status (a query
// whose attempts ran out makes the run incomplete), then that a second run
// pays for nothing and a larger count keeps every earlier variant and
// sample.
func TestParaphrase(t *testing.T) {
	ctx := context.Background()
	fake := newRewriterEndpoint()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	path := paraphraseRun(t, srv.URL, 2, true)

	r := openRun(t, loadConfig(t, path))
	res, err := r.Execute(ctx, All)
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "1 queries have fewer than paraphrase.count (2) variants") {
		t.Fatalf("Execute = %v, want ErrIncomplete naming the one query whose attempts ran out", err)
	}
	ws, vs := readRewrites(t, r)
	byQuery := map[string][]record.Variant{}
	for _, v := range vs {
		byQuery[v.QueryID] = append(byQuery[v.QueryID], v)
	}
	for q, want := range map[string]int{"1": 3, "2": 3, "3": 3, "4": 1, "5": 3, "6": 3} {
		if got := len(byQuery[q]); got != want {
			t.Errorf("query %s: %d variants, want %d: %+v", q, got, want, byQuery[q])
		}
	}
	reasons := map[string]int{}
	for _, w := range ws {
		reason, _, _ := strings.Cut(w.Reason, ":")
		reasons[w.Status+"/"+reason]++
		if (w.Status == record.RewriteKept) != (w.VariantID >= 1) {
			t.Errorf("%+v: kept and variant id disagree", w)
		}
	}
	want := map[string]int{
		"kept/": 10, "rejected/duplicate": 2, "rejected/answer_leak": 2, "rejected/surplus": 1,
		"rejected/verifier_no": 1, "failed/unparseable": 3,
	}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Errorf("rewrites by status and reason = %v, want %v", reasons, want)
	}
	if m := res.Manifest.Rewrites; m == nil || m.Kept != 10 || m.Short != 1 || m.FailedQueries != 1 {
		t.Errorf("manifest rewrites = %+v, want 10 kept, 1 query short, 1 failed", m)
	}
	if n := fake.count("sample"); n != 16 {
		t.Errorf("%d samples, want 16 (one per variant)", n)
	}
	if fake.formats["rewrite"] != fake.count("rewrite") || fake.formats["sample"] != 0 {
		t.Errorf("response_format sent %v of %v requests: want every rewrite and verify call, no sample", fake.formats, fake.requests)
	}

	// Again: nothing to pay for, the same outputs.
	before := map[string]int{"rewrite": fake.count("rewrite"), "verify": fake.count("verify"), "sample": fake.count("sample")}
	r = openRun(t, loadConfig(t, path))
	if _, err := r.Execute(ctx, All); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("second Execute = %v, want ErrIncomplete again", err)
	}
	for k, n := range before {
		if got := fake.count(k); got != n {
			t.Errorf("second run: %d %s requests, want none more than %d", got, k, n)
		}
	}
	ws2, vs2 := readRewrites(t, r)
	if fmt.Sprint(ws2) != fmt.Sprint(ws) || fmt.Sprint(vs2) != fmt.Sprint(vs) {
		t.Error("a second run changed rewrites.parquet or variants.parquet")
	}

	// A larger count: one more variant per query, the earlier ones kept.
	cfg := loadConfig(t, path)
	cfg.Paraphrase.Count = 3
	r = openRun(t, cfg)
	_, _ = r.Execute(ctx, All)
	_, vs3 := readRewrites(t, r)
	old := map[[2]string]string{}
	for _, v := range vs {
		old[[2]string{v.QueryID, strconv.Itoa(int(v.VariantID))}] = v.Text
	}
	for _, v := range vs3 {
		if text, ok := old[[2]string{v.QueryID, strconv.Itoa(int(v.VariantID))}]; ok && text != v.Text {
			t.Errorf("query %s variant %d changed: %q -> %q", v.QueryID, v.VariantID, text, v.Text)
		}
		delete(old, [2]string{v.QueryID, strconv.Itoa(int(v.VariantID))})
	}
	if len(old) > 0 {
		t.Errorf("variants lost with a larger count: %v", old)
	}
	if got, want := fake.count("sample")-before["sample"], len(vs3)-len(vs); got != want {
		t.Errorf("the larger count sampled %d more, want %d (the new variants only)", got, want)
	}
}

// openRun opens a run of cfg and closes it with the test.
func openRun(t *testing.T, cfg config.Config) *Run {
	t.Helper()
	r, err := Open(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestParaphraseEstimate checks the dry run counts the rewrites owed, the
// calls for them and the samples of the rewrites to come, before and after
// a run, and sends nothing.
func TestParaphraseEstimate(t *testing.T) {
	ctx := context.Background()
	fake := newRewriterEndpoint()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	path := paraphraseRun(t, srv.URL, 2, true)
	r := openRun(t, loadConfig(t, path))
	est, err := r.Estimate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if est.RewritesOwed != 12 || est.RewriteCalls == nil || est.RewriteCalls.Requests != 6 || est.VerifyCalls == nil || est.VerifyCalls.Requests != 12 {
		t.Errorf("before the run: %d rewrites owed, rewrite calls %+v, verify calls %+v; want 12 owed, 6 and 12 calls",
			est.RewritesOwed, est.RewriteCalls, est.VerifyCalls)
	}
	if est.Total.Samples != 18 {
		t.Errorf("before the run: %d samples owed, want 18 (6 originals and 12 rewrites to come)", est.Total.Samples)
	}
	if n := fake.count("rewrite") + fake.count("sample"); n != 0 {
		t.Fatalf("the dry run sent %d requests", n)
	}
	_, _ = r.Execute(ctx, All)
	r = openRun(t, loadConfig(t, path))
	if est, err = r.Estimate(ctx); err != nil {
		t.Fatal(err)
	}
	// Query 4 lacks 2, but its attempts ran out: no run asks again.
	if est.RewritesOwed != 0 || est.RewriteCalls.Requests != 0 || est.Total.Samples != 0 {
		t.Errorf("after the run: %d rewrites owed, %d rewrite calls, %d samples; want none", est.RewritesOwed, est.RewriteCalls.Requests, est.Total.Samples)
	}
}

// TestParaphraseCallFailedAskedAgain: attempts whose calls failed (here a
// rewriter refusing every request with a 400) leave the queries short for
// this run, but do not use up their attempts: the next run, against an
// endpoint that answers, asks again and keeps the rewrites.
func TestParaphraseCallFailedAskedAgain(t *testing.T) {
	ctx := context.Background()
	fake := newRewriterEndpoint()
	var down sync.Map
	down.Store("on", true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if on, _ := down.Load("on"); on.(bool) && strings.Contains(r.URL.Path, "chat") {
			body, _ := io.ReadAll(r.Body)
			if strings.Contains(string(body), "\\u003cquestion\\u003e") || strings.Contains(string(body), "<question>") {
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error": {"message": "context length exceeded", "type": "invalid_request_error"}}`)
				return
			}
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	path := paraphraseRun(t, srv.URL, 1, false)
	r := openRun(t, loadConfig(t, path))
	res, err := r.Execute(ctx, All)
	if err != nil && !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	if m := res.Manifest.Rewrites; m == nil || m.Kept != 0 || m.Short != 6 || m.FailedQueries != 0 || m.Failed != 12 {
		t.Errorf("with the rewriter down: %+v, want 6 queries short, 12 failed attempts, none failed for good", m)
	}
	down.Store("on", false)
	r = openRun(t, loadConfig(t, path))
	if res, err = r.Execute(ctx, All); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("second run = %v, want ErrIncomplete (query 4's answers never parse)", err)
	}
	if m := res.Manifest.Rewrites; m == nil || m.Kept != 5 || m.Short != 1 || m.FailedQueries != 1 {
		t.Errorf("with the rewriter back: %+v, want 5 kept, query 4 short and failed", m)
	}
}
