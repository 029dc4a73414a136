package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/record"
)

// fakeJudgeModel is an OpenAI-compatible endpoint playing a judge model.
// The test rubric puts "ID=<id> GOLD=<gold> OUT=<output>" in the prompt; by
// query id it answers with a good JSON verdict (1), one in a code fence
// amid prose (2), bad JSON (3), a refusal (4), or a 400 (5).
type fakeJudgeModel struct {
	mu       sync.Mutex
	requests int
	samples  int
}

var rubricFields = regexp.MustCompile(`(?s)ID=(\S+) GOLD=(\S+) OUT=(.*)`)

func (f *fakeJudgeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := readChat(w, r)
	if !ok {
		return
	}
	n := req.samples()
	f.mu.Lock()
	f.requests++
	f.samples += n
	f.mu.Unlock()
	m := rubricFields.FindStringSubmatch(req.prompt())
	if m == nil {
		http.Error(w, "prompt without the rubric's fields", http.StatusBadRequest)
		return
	}
	id, gold, out := m[1], m[2], m[3]
	passed := strings.Contains(out, "Final Answer: "+gold)
	var reply string
	switch id {
	case "1":
		reply = fmt.Sprintf(`{"score": %v, "passed": %v, "reason": "compared with the gold"}`, map[bool]int{true: 1}[passed], passed)
	case "2":
		reply = fmt.Sprintf("Let me check.\n```json\n{\"passed\": %v, \"reason\": \"fenced\"}\n```\nDone.", passed)
	case "3":
		reply = `{score: high, passed: yes}`
	case "4":
		reply = "I'm sorry, but I can't help with grading this."
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error": {"message": "The response was filtered due to the prompt triggering content management policy", "type": "invalid_request_error", "code": "content_filter"}}`)
		return
	}
	writeChat(w, "judge", repeat(reply, n), 30, 10)
}

func (f *fakeJudgeModel) count() (requests, samples int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.samples
}

// TestLLMJudge runs an llm judge through the whole pipeline against a fake
// judge model: verdicts from good and fenced JSON agree with a numeric
// judge, bad JSON and a refusal are unscored with the raw reply kept, a
// refused call is an error, the calls are never exported as generations,
// and judging again costs nothing until the rubric changes.
func TestLLMJudge(t *testing.T) {
	fake := &fakeJudgeModel{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("DARS_TEST_JUDGE_KEY", "sk-judge-secret-456")
	dir := t.TempDir()
	var data strings.Builder
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&data, `{"id": "%d", "question": "What is %d+%d?", "answer": "%d"}`+"\n", i, i, i, 2*i)
	}
	writeFile(t, filepath.Join(dir, "q.jsonl"), data.String())
	config := func(rubric string) {
		writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: llm
dataset: {path: q.jsonl}
sampling: {samples: 2}
models:
  - {name: cand, provider: sim, skill: 0.5}
  - name: grader-model
    provider: openai
    base_url: %s/v1
    model: judge-1
    api_key_env: DARS_TEST_JUDGE_KEY
    candidate: false
    max_attempts: 1
    price: {input_per_mtok: 1, output_per_mtok: 2}
judges:
  - {name: answer, type: numeric, primary: true}
  - {name: grader, type: llm, model: grader-model, votes: 3, rubric: %q}
`, srv.URL, rubric))
	}
	config("ID={{.ID}} GOLD={{.Answer}} OUT={{.Output}}")
	// Query 5's judge calls are refused: the run finishes, exit 3 says so.
	code, _, stderr := runDars(t, dir, "run", "--quiet")
	if code != exitIncomplete || !strings.Contains(stderr, `judge "grader": 2 verdicts are errors because calls to its model failed`) {
		t.Fatalf("run: exit %d, want 3 naming the failed judge calls\n%s", code, stderr)
	}
	if strings.Contains(stderr, "sk-judge-secret-456") {
		t.Fatal("the judge model's key reached the log")
	}
	requests, samples := fake.count()
	// 10 generations, 3 votes each asked with n=3: one request per generation.
	if requests != 10 || samples != 30 {
		t.Fatalf("judge model got %d requests for %d samples, want 10 and 30", requests, samples)
	}

	runDir := filepath.Join(dir, "out", "llm")
	gens, err := parquetio.ReadGenerations(filepath.Join(runDir, "generations.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 10 {
		t.Fatalf("generations.parquet has %d rows, want the 10 candidate generations only", len(gens))
	}
	scores, err := parquetio.ReadScores(filepath.Join(runDir, "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	numeric := map[string]record.Score{}
	for _, s := range scores {
		if s.Judge == "answer" {
			numeric[s.GenerationKey] = s
		}
	}
	seen := 0
	for _, s := range scores {
		if s.Judge != "grader" {
			continue
		}
		seen++
		switch s.QueryID {
		case "1", "2":
			if s.Status != record.StatusScored || s.Passed != numeric[s.GenerationKey].Passed {
				t.Errorf("query %s: llm verdict %+v, numeric passed %v", s.QueryID, s, numeric[s.GenerationKey].Passed)
			}
			if !strings.Contains(s.Detail, "votes passed") {
				t.Errorf("query %s: detail %q does not count the votes", s.QueryID, s.Detail)
			}
		case "3", "4":
			if s.Status != record.StatusUnscored || s.Extracted == "" || !strings.Contains(s.Detail, "unparseable verdict") {
				t.Errorf("query %s: want unscored with the raw reply kept, got %+v", s.QueryID, s)
			}
		case "5":
			if s.Status != record.StatusError || !strings.Contains(s.Detail, "content management policy") {
				t.Errorf("query 5: want an error naming the server's message, got %+v", s)
			}
		}
	}
	if seen != 10 {
		t.Fatalf("%d llm verdicts, want 10", seen)
	}

	var man struct {
		JudgeCalls []struct {
			Judge   string  `json:"judge"`
			Calls   int64   `json:"calls"`
			Errors  int64   `json:"errors"`
			CostUSD float64 `json:"cost_usd"`
		} `json:"judge_calls"`
	}
	b, err := os.ReadFile(filepath.Join(runDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	// 8 answered calls of 30 prompt and 10 completion tokens at $1 and $2 per
	// million; the 400s cost nothing.
	if len(man.JudgeCalls) != 1 || man.JudgeCalls[0].Judge != "grader" || man.JudgeCalls[0].Calls != 30 ||
		man.JudgeCalls[0].Errors != 6 || math.Abs(man.JudgeCalls[0].CostUSD-24*(30.0/3+20)/1e6) > 1e-9 {
		t.Errorf("manifest judge_calls = %+v", man.JudgeCalls)
	}

	// Judging again: every answered call is stored and not sent again; the
	// refused ones (query 5: 2 generations, one request each) are asked again.
	if code, _, stderr := runDars(t, dir, "judge", "--quiet"); code != exitIncomplete {
		t.Fatalf("judge: exit %d, want 3\n%s", code, stderr)
	}
	again, _ := fake.count()
	if again != requests+2 {
		t.Fatalf("judging again sent %d requests, want the 2 refused ones", again-requests)
	}

	// A changed rubric is a changed judge: it re-scores with new calls.
	config("ID={{.ID}} GOLD={{.Answer}} OUT={{.Output}}\n")
	if code, _, stderr := runDars(t, dir, "judge", "--quiet"); code != exitIncomplete {
		t.Fatalf("judge after a rubric change: exit %d\n%s", code, stderr)
	}
	if r, _ := fake.count(); r != again+requests {
		t.Fatalf("a changed rubric sent %d requests, want %d", r-again, requests)
	}
}

// flakyJudgeModel answers every judge call with a passing verdict, or 503
// while down.
type flakyJudgeModel struct {
	mu       sync.Mutex
	down     bool
	requests int
}

func (f *flakyJudgeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := readChat(w, r)
	if !ok {
		return
	}
	f.mu.Lock()
	down := f.down
	f.requests++
	f.mu.Unlock()
	if down {
		http.Error(w, `{"error": {"message": "overloaded"}}`, http.StatusServiceUnavailable)
		return
	}
	writeChat(w, "judge", repeat(`{"score": 1, "passed": true, "reason": "ok"}`, req.samples()), 10, 5)
}

// TestLLMJudgeRetriesFailedCalls: an outage of the judge model leaves error
// verdicts that are not final; once it is back, `dars judge` asks again and
// the verdicts become real. A vote that failed never lets the others decide.
func TestLLMJudgeRetriesFailedCalls(t *testing.T) {
	fake := &flakyJudgeModel{down: true}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+1?", "answer": "2"}`+"\n"+
		`{"id": "2", "question": "What is 2+2?", "answer": "4"}`+"\n")
	writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: llm
dataset: {path: q.jsonl}
sampling: {samples: 1}
models:
  - {name: cand, provider: sim}
  - {name: g, provider: openai, base_url: "%s/v1", model: j, candidate: false, max_attempts: 1}
judges:
  - {name: answer, type: numeric, primary: true}
  - {name: grader, type: llm, model: g}
`, srv.URL))
	verdicts := func() map[string]int {
		scores, err := parquetio.ReadScores(filepath.Join(dir, "out", "llm", "scores.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, s := range scores {
			if s.Judge == "grader" {
				out[s.Status]++
			}
		}
		return out
	}
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitIncomplete {
		t.Fatalf("run during the outage: exit %d, want 3\n%s", code, stderr)
	}
	if v := verdicts(); v[record.StatusError] != 2 {
		t.Fatalf("verdicts during the outage: %v", v)
	}
	fake.mu.Lock()
	fake.down = false
	before := fake.requests
	fake.mu.Unlock()
	if code, _, stderr := runDars(t, dir, "judge", "--quiet"); code != exitOK {
		t.Fatalf("judge after the outage: exit %d\n%s", code, stderr)
	}
	if fake.requests-before != 2 {
		t.Errorf("judge after the outage sent %d requests, want 2", fake.requests-before)
	}
	if v := verdicts(); v[record.StatusScored] != 2 {
		t.Fatalf("verdicts after the outage: %v", v)
	}
	// Now final: judging again sends nothing.
	before = fake.requests
	if code, _, stderr := runDars(t, dir, "judge", "--quiet"); code != exitOK || fake.requests != before {
		t.Fatalf("judging final verdicts again: exit %d, %d requests\n%s", code, fake.requests-before, stderr)
	}
}

// TestLLMJudgeConfigErrors names the judge and the option.
func TestLLMJudgeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+1?", "answer": "2"}`+"\n")
	for _, tt := range []struct{ judge, want string }{
		{`{name: g, type: llm, model: nobody}`, `judges[1].model: "nobody" names no models[] entry`},
		{`{name: g, type: llm}`, `option "model" is required`},
		{`{name: g, type: llm, model: a, rubric: "{{.Nope}}"}`, `option "rubric"`},
		{`{name: g, type: numeric, votes: 3}`, `option "votes" does not apply to type "numeric"`},
	} {
		writeFile(t, filepath.Join(dir, "dars.yaml"), "dataset: {path: q.jsonl}\nmodels: [{name: a, provider: sim}]\njudges:\n  - {name: n, type: numeric}\n  - "+tt.judge+"\n")
		code, _, stderr := runDars(t, dir, "validate")
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tt.judge, code, stderr, tt.want)
		}
	}
}

// TestLLMJudgeCache shares judge calls between runs through cache: a second
// run with another name pays for no judge call.
func TestLLMJudgeCache(t *testing.T) {
	fake := &fakeJudgeModel{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	t.Setenv("DARS_TEST_JUDGE_KEY", "sk-judge-secret-456")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "q.jsonl"), `{"id": "1", "question": "What is 1+1?", "answer": "2"}`+"\n"+
		`{"id": "2", "question": "What is 2+2?", "answer": "4"}`+"\n")
	config := func(run string) {
		writeFile(t, filepath.Join(dir, "dars.yaml"), fmt.Sprintf(`run: %s
cache: shared
dataset: {path: q.jsonl}
sampling: {samples: 2}
models:
  - {name: cand, provider: sim}
  - {name: grader-model, provider: openai, base_url: %s/v1, model: judge-1, api_key_env: DARS_TEST_JUDGE_KEY, candidate: false}
judges:
  - {name: answer, type: numeric}
  - {name: grader, type: llm, model: grader-model, votes: 2, rubric: "ID={{.ID}} GOLD={{.Answer}} OUT={{.Output}}"}
`, run, srv.URL))
	}
	config("first")
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	first, _ := fake.count()
	if first != 4 {
		t.Fatalf("first run sent %d judge requests, want 4", first)
	}
	config("second")
	if code, _, stderr := runDars(t, dir, "run", "--quiet"); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, stderr)
	}
	if r, _ := fake.count(); r != first {
		t.Fatalf("the second run sent %d judge requests; the cache holds them all", r-first)
	}
	for _, run := range []string{"first", "second"} {
		scores, err := parquetio.ReadScores(filepath.Join(dir, "out", run, "scores.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range scores {
			if s.Judge == "grader" && s.Status == record.StatusScored {
				n++
			}
		}
		if n != 4 {
			t.Errorf("%s: %d scored llm verdicts, want 4", run, n)
		}
	}
}
