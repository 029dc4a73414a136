package sampler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// fakeProvider answers from a function and counts what it was asked.
type fakeProvider struct {
	mu       sync.Mutex
	calls    int
	samples  int
	generate func(call int, req provider.Request) (provider.Response, error)
}

func (f *fakeProvider) Generate(ctx context.Context, req provider.Request) (provider.Response, error) {
	f.mu.Lock()
	f.calls++
	call := f.calls
	f.mu.Unlock()
	resp, err := f.generate(call, req)
	if err == nil {
		f.mu.Lock()
		f.samples += len(resp.Choices)
		f.mu.Unlock()
	}
	return resp, err
}

func answer(req provider.Request) provider.Response {
	r := provider.Response{PromptTokens: 10, CompletionTokens: int64(3 * req.N)}
	for i := 0; i < req.N; i++ {
		r.Choices = append(r.Choices, provider.Choice{Text: fmt.Sprintf("Final Answer: %d", req.Seeds[i]%10), FinishReason: "stop"})
	}
	return r
}

// memStore is the Commit side of a test: the rows, by key.
type memStore struct {
	mu   sync.Mutex
	rows map[string]record.Generation
	puts int
}

func (m *memStore) commit(_ context.Context, rows []record.Generation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]record.Generation{}
	}
	for _, r := range rows {
		if _, dup := m.rows[r.Key]; dup {
			return fmt.Errorf("key %s committed twice", r.Key)
		}
		m.rows[r.Key] = r
	}
	m.puts++
	return nil
}

// inMap is a Done func over a set of keys.
func inMap(set map[string]struct{}) func(string) bool {
	return func(k string) bool { _, ok := set[k]; return ok }
}

func (m *memStore) done() func(string) bool {
	out := map[string]struct{}{}
	for k, r := range m.rows {
		if r.Error == "" {
			out[k] = struct{}{}
		}
	}
	return inMap(out)
}

func testWork(nq, nv int) []Work {
	var w []Work
	for q := 0; q < nq; q++ {
		query := &dataset.Query{ID: fmt.Sprint(q + 1), Question: fmt.Sprintf("What is %d+1?", q), Answer: fmt.Sprint(q + 1)}
		for v := 0; v < nv; v++ {
			w = append(w, Work{Query: query, Variant: record.Variant{QueryID: query.ID, VariantID: int32(v), Text: fmt.Sprintf("%s (v%d)", query.Question, v)}})
		}
	}
	return w
}

// run sends work in one stream of a new scheduler that retries after 1 ms.
func run(ctx context.Context, work []Work, opts Options) (Summary, error) {
	return runWith(ctx, work, opts, SchedulerOptions{}, 0)
}

// runWith sends work in one stream of a new scheduler with so (Backoff 1 ms
// unless set) and a budget of usd (0: none).
func runWith(ctx context.Context, work []Work, opts Options, so SchedulerOptions, usd float64) (Summary, error) {
	if so.Backoff == 0 {
		so.Backoff = time.Millisecond
	}
	s := NewScheduler(so)
	if usd > 0 {
		s.SetBudget(usd)
	}
	return s.Run(ctx, work, opts)
}

func testOptions(t *testing.T, st *memStore, models ...Model) Options {
	t.Helper()
	p, err := NewPrompt(config.Prompt{System: "Solve.", Template: "{{.Question}}"})
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		Seed: 42, Sampling: config.Sampling{Samples: 5, Temperature: 0.7, TopP: 0.95, MaxTokens: 64},
		Prompt: p, Models: models, Commit: st.commit,
	}
}

func fakeModel(name string, n string, concurrency int, f *fakeProvider) Model {
	return Model{Config: config.Model{Name: name, Provider: "openai", N: n, Concurrency: concurrency,
		Price: config.Price{InputPerMTok: 1, OutputPerMTok: 2}}, Provider: f, Endpoint: "fake\x00" + name}
}

func TestRunSamplesEverythingOnceAndResumes(t *testing.T) {
	for _, n := range []string{"off", "2", "auto"} {
		t.Run("n="+n, func(t *testing.T) {
			st := &memStore{}
			fa := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
			fb := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
			work := testWork(7, 3)
			opts := testOptions(t, st, fakeModel("a", n, 4, fa), fakeModel("b", n, 2, fb))
			sum, err := run(context.Background(), work, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(st.rows), 7*3*5*2; got != want {
				t.Fatalf("stored %d samples, want %d", got, want)
			}
			for _, m := range sum.Models {
				if m.Total != 105 || m.Done != 105 || m.Stored != 0 || m.Errors != 0 {
					t.Errorf("model %s: %+v", m.Model, m)
				}
			}
			keys, err := PlanKeys(context.Background(), work, opts)
			if err != nil {
				t.Fatal(err)
			}
			if keys.Len() != len(st.rows) {
				t.Fatalf("PlanKeys gives %d keys, store holds %d", keys.Len(), len(st.rows))
			}
			for k, g := range st.rows {
				if !keys.Has(k) {
					t.Fatalf("stored key %s not in the plan", k)
				}
				if g.PromptTokens <= 0 || g.CompletionTokens != 3 || g.CostUSD <= 0 {
					t.Fatalf("tokens and cost not recorded: %+v", g)
				}
			}
			// A second pass with the store's keys asks for nothing.
			calls := fa.calls + fb.calls
			opts.Done = st.done()
			sum, err = run(context.Background(), work, opts)
			if err != nil {
				t.Fatal(err)
			}
			if fa.calls+fb.calls != calls {
				t.Fatalf("a finished plan sent %d more requests", fa.calls+fb.calls-calls)
			}
			if sum.Models[0].Stored != 105 || sum.Models[0].Done != 0 {
				t.Errorf("resumed counts: %+v", sum.Models[0])
			}
		})
	}
}

func TestRunRetriesAndRecordsErrors(t *testing.T) {
	st := &memStore{}
	var flaky atomic.Int32
	f := &fakeProvider{generate: func(call int, r provider.Request) (provider.Response, error) {
		switch {
		case r.Meta.QueryID == "1" && r.Meta.VariantID == 0:
			return provider.Response{}, &provider.Error{Model: "a", StatusCode: 400, Message: "bad request: prompt too long"}
		case r.Meta.QueryID == "2" && flaky.Add(1) <= 2:
			return provider.Response{}, &provider.Error{Model: "a", StatusCode: 503, Message: "overloaded", Retryable: true}
		}
		return answer(r), nil
	}}
	sum, err := run(context.Background(), testWork(3, 2), testOptions(t, st, fakeModel("a", "off", 1, f)))
	if err != nil {
		t.Fatal(err)
	}
	m := sum.Models[0]
	if m.Done != 30 || m.Errors != 5 || m.Retries != 2 {
		t.Fatalf("counts %+v; want 30 done, 5 errors, 2 retries", m)
	}
	for _, g := range st.rows {
		if g.QueryID == "1" && g.VariantID == 0 {
			if g.Error == "" || g.Attempts != 1 {
				t.Fatalf("a 400 must be recorded as the sample's error after one attempt: %+v", g)
			}
		} else if g.Error != "" {
			t.Fatalf("unexpected error row %+v", g)
		}
	}
}

func TestRunFatalStopsOnlyThatModel(t *testing.T) {
	st := &memStore{}
	bad := &fakeProvider{generate: func(int, provider.Request) (provider.Response, error) {
		return provider.Response{}, &provider.Error{Model: "bad", StatusCode: 401, Message: "invalid api key", Fatal: true}
	}}
	good := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
	sum, err := run(context.Background(), testWork(4, 1), testOptions(t, st, fakeModel("bad", "off", 1, bad), fakeModel("good", "off", 2, good)))
	if !errors.Is(err, ErrModelStopped) {
		t.Fatalf("err = %v, want ErrModelStopped", err)
	}
	if bad.calls != 1 {
		t.Errorf("a fatal error must stop the model at once; it got %d requests", bad.calls)
	}
	if sum.Models[0].Failed == "" || sum.Models[1].Done != 20 {
		t.Fatalf("summary %+v", sum.Models)
	}
}

func TestRunReasksMissingChoices(t *testing.T) {
	st := &memStore{}
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		resp := answer(r)
		resp.Choices = resp.Choices[:min(2, len(resp.Choices))] // a server that ignores n above 2
		return resp, nil
	}}
	sum, err := run(context.Background(), testWork(2, 1), testOptions(t, st, fakeModel("a", "5", 1, f)))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.rows) != 10 || sum.Models[0].Errors != 0 {
		t.Fatalf("stored %d rows (errors %d), want 10 without errors", len(st.rows), sum.Models[0].Errors)
	}
	if f.calls != 6 {
		t.Errorf("calls = %d, want 3 per variant (2+2+1)", f.calls)
	}
}

func TestRunRespectsConcurrency(t *testing.T) {
	const limit = 3
	var inflight, peak atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n >= limit {
			once.Do(func() { close(release) })
		}
		<-release
		return answer(r), nil
	}}
	st := &memStore{}
	if _, err := run(context.Background(), testWork(10, 1), testOptions(t, st, fakeModel("a", "off", limit, f))); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != limit {
		t.Fatalf("peak in flight %d, want exactly %d", p, limit)
	}
}

func TestRunCancelCommitsWhatFinished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &memStore{}
	f := &fakeProvider{generate: func(call int, r provider.Request) (provider.Response, error) {
		if call == 5 {
			cancel()
		}
		if call >= 5 {
			return provider.Response{}, ctx.Err()
		}
		return answer(r), nil
	}}
	_, err := run(ctx, testWork(10, 1), testOptions(t, st, fakeModel("a", "off", 1, f)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(st.rows) != 4 {
		t.Fatalf("stored %d samples, want the 4 that finished before the cancel", len(st.rows))
	}
}

func TestCommitErrorStopsThePass(t *testing.T) {
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
	opts := testOptions(t, &memStore{}, fakeModel("a", "off", 2, f))
	opts.Commit = func(context.Context, []record.Generation) error { return errors.New("disk full") }
	if _, err := run(context.Background(), testWork(200, 1), opts); err == nil || err.Error() != "disk full" {
		t.Fatalf("err = %v, want the commit error", err)
	}
	// After the first failed commit no new request may go out: at most the
	// two workers' requests in flight, and the ones whose results were in
	// the failed group, were paid for.
	if f.calls > 8 {
		t.Fatalf("%d requests were sent after the store failed", f.calls)
	}
}

func TestLimits(t *testing.T) {
	l := newLimits(config.Model{RPM: 120, TPM: 600})
	if l.rpm.Limit() != 2 || l.rpm.Burst() != 2 || l.tpm.Limit() != 10 || l.tpm.Burst() != 100 {
		t.Fatalf("rpm %v/%d tpm %v/%d", l.rpm.Limit(), l.rpm.Burst(), l.tpm.Limit(), l.tpm.Burst())
	}
	if none := newLimits(config.Model{}); none.rpm != nil || none.tpm != nil {
		t.Fatal("zero rpm/tpm must mean no limit")
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	req := provider.Request{Messages: []provider.Message{{Content: "twelve chars"}}, N: 2, MaxTokens: 40}
	// Before any answer the estimate is max_tokens a sample: 4 + 2x40.
	took, err := l.wait(context.Background(), req)
	if err != nil || took != 84 {
		t.Fatalf("took %d tokens (%v), want 84", took, err)
	}
	// Answers of 5 tokens a sample teach the estimate: 4 + 2x5 fits in
	// the 16 tokens left, where 84 more would be past a short deadline
	// (rate.Limiter says so at once instead of sleeping).
	l.settle(took, 14, []int64{5, 5})
	if took, err = l.wait(short(), req); err != nil || took != 14 {
		t.Fatalf("after settling: took %d tokens (%v), want 14 at once", took, err)
	}
	// A request that used far more than it took leaves a debt: the next
	// one must wait for it.
	l.settle(took, 400, []int64{5, 5})
	if _, err := l.wait(short(), req); err == nil {
		t.Fatal("a request after an overrun must wait for the tokens/min budget")
	}
}

// TestStopLetsRequestsInFlightFinish: cancelling Run's context stops new
// requests, but the ones already sent finish under InFlight and are
// committed.
func TestStopLetsRequestsInFlightFinish(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	arrived, release := make(chan struct{}, 10), make(chan struct{})
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		arrived <- struct{}{}
		<-release
		return answer(r), nil
	}}
	st := &memStore{}
	opts := testOptions(t, st, fakeModel("a", "off", 2, f))
	done := make(chan error)
	go func() {
		_, err := runWith(ctx, testWork(10, 1), opts, SchedulerOptions{InFlight: context.Background()}, 0)
		done <- err
	}()
	<-arrived
	<-arrived
	stop()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if f.calls != 2 || len(st.rows) != 2 {
		t.Fatalf("%d requests, %d samples stored; want the 2 in flight, committed", f.calls, len(st.rows))
	}
}
