package sampler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// TestEndpointSharedAcrossStreams: what the scheduler learns about an
// endpoint in one stream (here the n cap a server enforces) holds in the
// next stream and for another model entry with the same endpoint identity,
// as a judge calling a candidate's endpoint does.
func TestEndpointSharedAcrossStreams(t *testing.T) {
	var mu sync.Mutex
	var asked []int
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		mu.Lock()
		asked = append(asked, r.N)
		mu.Unlock()
		if r.N > 2 {
			return provider.Response{}, &provider.Error{Model: "a", StatusCode: 400, Param: "n", Limit: 2, Message: "n must be <= 2"}
		}
		return answer(r), nil
	}}
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond})
	st := &memStore{}
	a := fakeModel("a", "5", 1, f)
	judge := fakeModel("judge", "5", 1, f)
	judge.Endpoint = a.Endpoint // another models[] entry, the same endpoint
	if _, err := sched.Run(context.Background(), testWork(2, 1), testOptions(t, st, a)); err != nil {
		t.Fatal(err)
	}
	if sched.endpointOf(a) != sched.endpointOf(judge) {
		t.Fatal("two model entries with one endpoint identity got two endpoints")
	}
	mu.Lock()
	first := len(asked)
	mu.Unlock()
	opts := testOptions(t, st, judge)
	opts.Purpose, opts.Caller = record.PurposeJudge, "j"
	sum, err := sched.Run(context.Background(), testWork(3, 1), opts)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, n := range asked[first:] {
		if n > 2 {
			t.Fatalf("request %d of the second stream asked for n=%d: the cap learned in the first was forgotten (%v)", i, n, asked)
		}
	}
	if sum.Models[0].NCap != 2 {
		t.Errorf("second stream reports n cap %d, want 2", sum.Models[0].NCap)
	}
	for _, g := range st.rows {
		if g.Model == "judge" && (g.Purpose != record.PurposeJudge || g.Caller != "j") {
			t.Fatalf("a judge stream's row lacks its purpose and caller: %+v", g)
		}
		if g.Model == "a" && g.Purpose != record.PurposeSample {
			t.Fatalf("a sample's purpose is %q", g.Purpose)
		}
	}
}

// TestConcurrencySharedAcrossStreams: two streams open at once on one
// endpoint never have more requests in flight together than its
// concurrency.
func TestConcurrencySharedAcrossStreams(t *testing.T) {
	var mu sync.Mutex
	inFlight, peak := 0, 0
	release := make(chan struct{})
	arrived := make(chan struct{}, 100)
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return answer(r), nil
	}}
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond})
	m := fakeModel("a", "off", 3, f)
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			opts := testOptions(t, &memStore{}, m)
			opts.Seed = int64(i) // other keys: both streams owe everything
			_, err := sched.Run(context.Background(), testWork(4, 1), opts)
			errs <- err
		}()
	}
	for range 3 {
		<-arrived // the endpoint's three slots are taken
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if peak != 3 {
		t.Errorf("peak requests in flight across two streams = %d, want the endpoint's concurrency, 3", peak)
	}
}

// TestBudgetCoversEveryStream: the budget is the scheduler's: a second
// stream (a judge's calls) spends from what the first left, and stops
// with ErrBudget when it runs out.
func TestBudgetCoversEveryStream(t *testing.T) {
	fa, fb := &billingFake{in: 1, out: 2}, &billingFake{in: 1, out: 2}
	a, b := fakeModel("a", "off", 1, nil), fakeModel("b", "off", 1, nil)
	a.Provider, b.Provider = fa, fb
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond})
	sched.SetBudget(0.003)
	st := &memStore{}
	if _, err := sched.Run(context.Background(), testWork(2, 1), testOptions(t, st, a)); err != nil {
		t.Fatalf("first stream: %v", err)
	}
	_, err := sched.Run(context.Background(), testWork(20, 1), testOptions(t, st, b))
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("second stream: %v, want ErrBudget", err)
	}
	if total := fa.cost + fb.cost; total > 0.003 {
		t.Fatalf("two streams billed $%g past the $0.003 budget", total)
	}
	if fb.calls == 0 {
		t.Error("the second stream sent nothing: the budget had room left after the first")
	}
	spent, over := sched.Spent()
	if !over || spent > 0.003 || spent < fa.cost+fb.cost-1e-12 {
		t.Errorf("Spent = $%g, %v; billed $%g", spent, over, fa.cost+fb.cost)
	}
	// A stream that owes nothing is not stopped by a spent budget.
	opts := testOptions(t, st, a)
	opts.Done = st.done()
	if _, err := sched.Run(context.Background(), testWork(2, 1), opts); err != nil {
		t.Errorf("a stream with nothing to send: %v", err)
	}
}

// TestBatchesWait: batches submitted to one stream settle one by one as
// their samples are committed; Wait returns nil for a committed batch, the
// model's StoppedError for samples a stopped model gave up, and nothing is
// lost between batches.
func TestBatchesWait(t *testing.T) {
	good := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
	bad := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		return provider.Response{}, &provider.Error{Model: "bad", StatusCode: 401, Fatal: true, Message: "unauthorized"}
	}}
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond})
	st := &memStore{}
	var progressed int
	opts := testOptions(t, st, fakeModel("good", "off", 2, good))
	opts.Progress = func(Progress) { progressed++ }
	s := sched.Open(context.Background(), opts)
	var batches []*Batch
	for i := range 3 {
		w := testWork(4, 1)
		for j := range w {
			w[j].Variant.VariantID = int32(i) // three batches of distinct samples
		}
		b, err := s.Submit(w, nil)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	for i, b := range batches {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if len(st.rows) != 3*4*5 {
		t.Fatalf("%d samples committed when every batch settled, want 60", len(st.rows))
	}
	sum, err := s.Close()
	if err != nil || sum.Models[0].Done != 60 || sum.Models[0].Total != 60 || progressed == 0 {
		t.Fatalf("Close = %+v, %v (progress calls %d)", sum, err, progressed)
	}
	if _, err := s.Submit(testWork(1, 1), nil); err == nil {
		t.Error("Submit after Close succeeded")
	}

	s = sched.Open(context.Background(), testOptions(t, &memStore{}, fakeModel("bad", "off", 1, bad)))
	b, err := s.Submit(testWork(2, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	var se *StoppedError
	if err := b.Wait(context.Background()); !errors.As(err, &se) || se.Model != "bad" {
		t.Fatalf("Wait on a stopped model's batch = %v, want its StoppedError", err)
	}
	if b2, err := s.Submit(testWork(1, 1), nil); err != nil || b2.Wait(context.Background()) == nil {
		t.Errorf("a batch submitted after the model stopped should settle at once with the reason (err %v)", err)
	}
	if _, err := s.Close(); !errors.Is(err, ErrModelStopped) {
		t.Errorf("Close = %v, want ErrModelStopped", err)
	}
}

// blockingProvider answers nothing until its request's context ends, as an
// endpoint that hangs does; started hears of every request it got.
type blockingProvider struct{ started chan struct{} }

func (p *blockingProvider) Generate(ctx context.Context, req provider.Request) (provider.Response, error) {
	select {
	case p.started <- struct{}{}:
	default: // the test heard of one; a request sent as the cancellation spreads must not block
	}
	<-ctx.Done()
	return provider.Response{}, ctx.Err()
}

// TestCancelledStreamSettlesBatches: cancelling a stream's context (and
// the in-flight one, as a second Ctrl-C does) settles its batches (Wait
// returns) without Close, requests in flight included, and Close returns
// the context's error.
func TestCancelledStreamSettlesBatches(t *testing.T) {
	p := &blockingProvider{started: make(chan struct{}, 10)}
	m := fakeModel("a", "off", 2, nil)
	m.Provider = p
	ctx, cancel := context.WithCancel(context.Background())
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond, InFlight: ctx})
	s := sched.Open(ctx, testOptions(t, &memStore{}, m))
	b, err := s.Submit(testWork(5, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-p.started // a request is in flight
	cancel()
	if err := b.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if _, err := s.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
}

// TestStoppedErrorKeepsTheCause: a fatal endpoint error reaches the caller
// as it was returned, wrapped hints and all.
func TestStoppedErrorKeepsTheCause(t *testing.T) {
	cause := fmt.Errorf("wrapped: %w", &provider.Error{Model: "a", StatusCode: 401, Fatal: true, Message: "no"})
	f := &fakeProvider{generate: func(int, provider.Request) (provider.Response, error) { return provider.Response{}, cause }}
	_, err := run(context.Background(), testWork(1, 1), testOptions(t, &memStore{}, fakeModel("a", "off", 1, f)))
	if !errors.Is(err, ErrModelStopped) || !errors.Is(err, cause) {
		t.Fatalf("err = %v; want ErrModelStopped wrapping the provider's error", err)
	}
}

// TestBatchAfterAModelStopped: in a stream of two models, a batch
// submitted after one model stopped says so, although the other model
// serves it.
func TestBatchAfterAModelStopped(t *testing.T) {
	good := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
	bad := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		return provider.Response{}, &provider.Error{Model: "bad", StatusCode: 401, Fatal: true, Message: "unauthorized"}
	}}
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond})
	s := sched.Open(context.Background(), testOptions(t, &memStore{}, fakeModel("bad", "off", 1, bad), fakeModel("good", "off", 1, good)))
	b1, err := s.Submit(testWork(1, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	var se *StoppedError
	if err := b1.Wait(context.Background()); !errors.As(err, &se) {
		t.Fatalf("first batch: %v, want the bad model's StoppedError", err)
	}
	w := testWork(1, 1)
	w[0].Variant.VariantID = 1
	b2, err := s.Submit(w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b2.Wait(context.Background()); !errors.As(err, &se) || se.Model != "bad" {
		t.Fatalf("second batch: %v, want the bad model's StoppedError (it owed samples the stopped model cannot give)", err)
	}
	if _, err := s.Close(); !errors.Is(err, ErrModelStopped) {
		t.Fatalf("Close = %v", err)
	}
}

// TestStoppedModelsInFlightSettleTheBatch: when a model stops, its
// requests already in flight are committed before the batch's Wait
// returns: a paid sample is never outside the store when the caller reads
// it.
func TestStoppedModelsInFlightSettleTheBatch(t *testing.T) {
	release, slow := make(chan struct{}), make(chan struct{})
	f := &fakeProvider{generate: func(call int, r provider.Request) (provider.Response, error) {
		if call == 1 {
			close(slow)
			<-release
			return answer(r), nil
		}
		<-slow // the first request is in flight before the second fails
		return provider.Response{}, &provider.Error{Model: "a", StatusCode: 401, Fatal: true, Message: "unauthorized"}
	}}
	st := &memStore{}
	stopped := make(chan struct{})
	var once sync.Once
	sched := NewScheduler(SchedulerOptions{Backoff: time.Millisecond})
	opts := testOptions(t, st, fakeModel("a", "off", 2, f))
	opts.Sampling.Samples = 1
	opts.Progress = func(p Progress) {
		if p.Models[0].Failed != "" {
			once.Do(func() { close(stopped) })
		}
	}
	s := sched.Open(context.Background(), opts)
	b, err := s.Submit(testWork(3, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-stopped // the writer has taken in the stop
	select {
	case <-b.done:
		t.Fatal("the batch settled while one of its requests was in flight")
	default:
	}
	close(release)
	if err := b.Wait(context.Background()); !errors.Is(err, ErrModelStopped) {
		t.Fatalf("Wait = %v, want the model's stop", err)
	}
	st.mu.Lock()
	n := len(st.rows)
	st.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d samples committed when Wait returned, want the 1 in flight", n)
	}
	s.Close()
}

// TestReasoningTokensReachTheRows: a request's reasoning tokens are shared
// among its samples like its completion tokens, and stored with each.
func TestReasoningTokensReachTheRows(t *testing.T) {
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		resp := answer(r)
		resp.CompletionTokens, resp.ReasoningTokens = int64(40*r.N), int64(30*r.N)
		return resp, nil
	}}
	st := &memStore{}
	if _, err := run(context.Background(), testWork(1, 1), testOptions(t, st, fakeModel("a", "5", 1, f))); err != nil {
		t.Fatal(err)
	}
	for _, g := range st.rows {
		if g.ReasoningTokens != 30 || g.CompletionTokens != 40 {
			t.Fatalf("row %+v: want 30 reasoning of 40 completion tokens", g)
		}
	}
}
