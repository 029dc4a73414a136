package sampler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// logBuffer collects a Run's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(msg string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), "msg=\""+msg+"\"")
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// askLog records the n of every request a fake was sent, in order.
type askLog struct {
	mu sync.Mutex
	ns []int
}

func (a *askLog) add(n int) {
	a.mu.Lock()
	a.ns = append(a.ns, n)
	a.mu.Unlock()
}

func TestRunLearnsNCapWhenRefused(t *testing.T) {
	for _, tc := range []struct {
		name        string
		limit       int // the cap the fake's message states; 0 for none
		serverCap   int // the largest n the fake accepts
		concurrency int
		wantCap     int
	}{
		{"stated limit", 2, 2, 1, 2},
		{"stated limit, concurrent", 2, 2, 4, 2},
		{"no limit stated", 0, 1, 1, 1},
		{"no limit stated, concurrent", 0, 1, 4, 1},
		{"limit no lower than asked", 9, 3, 1, 3}, // a message that lies: lower one at a time
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked askLog
			var refused atomic.Int32
			f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
				asked.add(r.N)
				if r.N > tc.serverCap {
					refused.Add(1)
					return provider.Response{}, &provider.Error{Model: "a", StatusCode: 400, Param: "n", Limit: tc.limit,
						Message: fmt.Sprintf("Value must be between 1 <= value <= %d", tc.serverCap)}
				}
				return answer(r), nil
			}}
			st, logs := &memStore{}, &logBuffer{}
			opts := testOptions(t, st, fakeModel("a", "5", tc.concurrency, f))
			sum, err := runWith(context.Background(), testWork(6, 2), opts, SchedulerOptions{Log: logs.logger()}, 0)
			if err != nil {
				t.Fatal(err)
			}
			m := sum.Models[0]
			if len(st.rows) != 60 || m.Done != 60 || m.Errors != 0 || m.Retries != 0 {
				t.Fatalf("stored %d, progress %+v; want 60 samples, no errors, no retries", len(st.rows), m)
			}
			if m.NCap != tc.wantCap {
				t.Errorf("n cap reported %d, want %d", m.NCap, tc.wantCap)
			}
			if int(m.Requests) != len(asked.ns) {
				t.Errorf("progress counts %d requests, the endpoint saw %d", m.Requests, len(asked.ns))
			}
			for _, g := range st.rows {
				if g.Attempts != 1 {
					t.Fatalf("a refused n must not count as an attempt: %+v", g)
				}
			}
			if tc.concurrency == 1 {
				// One worker: after the refusals that taught the cap, every request fits it.
				for i, n := range asked.ns[refused.Load():] {
					if n > tc.wantCap {
						t.Fatalf("request %d asked for n=%d after the cap %d was learned: %v", int(refused.Load())+i, n, tc.wantCap, asked.ns)
					}
				}
			}
			if int(refused.Load()) > tc.concurrency*(5-tc.wantCap) {
				t.Errorf("%d refusals; each worker should meet at most one per cap step", refused.Load())
			}
			if got := logs.count("lowered the n cap"); got < 1 || got > 5-tc.wantCap {
				t.Errorf("logged %d cap changes, want one per change:\n%s", got, logs.buf.String())
			}
		})
	}
}

func TestRunLearnsNCapWhenIgnored(t *testing.T) {
	var asked askLog
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		asked.add(r.N)
		resp := answer(r)
		resp.Choices = resp.Choices[:1] // n ignored: one choice whatever is asked
		resp.CompletionTokens = 3
		return resp, nil
	}}
	st, logs := &memStore{}, &logBuffer{}
	opts := testOptions(t, st, fakeModel("a", "auto", 1, f))
	sum, err := runWith(context.Background(), testWork(3, 2), opts, SchedulerOptions{Log: logs.logger()}, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := sum.Models[0]
	if len(st.rows) != 30 || m.Errors != 0 || m.NCap != 1 {
		t.Fatalf("stored %d, progress %+v; want 30 samples, no errors, n cap 1", len(st.rows), m)
	}
	if len(asked.ns) != 30 || asked.ns[0] != 5 {
		t.Fatalf("asked %v; want one request of 5 (answered once), then the other 29 samples one by one", asked.ns)
	}
	for _, n := range asked.ns[1:] {
		if n != 1 {
			t.Fatalf("asked %v; want single calls once n was seen ignored", asked.ns)
		}
	}
	if got := logs.count("lowered the n cap"); got != 1 {
		t.Errorf("logged %d cap changes, want 1", got)
	}
}

func TestAdaptiveLimit(t *testing.T) {
	ctx := context.Background()
	l := newAdaptiveLimit(8)
	var epochs []uint64
	for range 8 {
		e, err := l.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		epochs = append(epochs, e)
	}
	// A storm: every request of the round comes back 429; the limit halves once.
	for _, e := range epochs {
		l.Release(e, false, true)
	}
	if got := l.Limit(); got != 4 {
		t.Fatalf("after one round of 429s the limit is %d, want 4", got)
	}
	// The next round is throttled too: halve again, never below 1.
	for want := 2; want >= 1; want /= 2 {
		e, _ := l.Acquire(ctx)
		l.Release(e, false, true)
		if got := l.Limit(); got != want {
			t.Fatalf("limit %d, want %d", got, want)
		}
	}
	e, _ := l.Acquire(ctx)
	l.Release(e, false, true)
	if got := l.Limit(); got != 1 {
		t.Fatalf("limit %d, want at least 1", got)
	}
	// Other failures are neutral; 2×limit successes in a row grow it by one, up to the maximum.
	successes := 0
	for l.Limit() < 8 && successes < 1000 {
		e, _ := l.Acquire(ctx)
		l.Release(e, successes%3 != 0 || successes == 0, false)
		successes++
	}
	if got := l.Limit(); got != 8 {
		t.Fatalf("the limit came back to %d after %d releases, want 8", got, successes)
	}
	for range 100 {
		e, _ := l.Acquire(ctx)
		l.Release(e, true, false)
	}
	if got := l.Limit(); got != 8 {
		t.Fatalf("the limit grew past the configured 8: %d", got)
	}
	// A 429 resets the run of successes.
	l2 := newAdaptiveLimit(4)
	e, _ = l2.Acquire(ctx)
	l2.Release(e, false, true) // 4 -> 2
	for range 3 {
		e, _ := l2.Acquire(ctx)
		l2.Release(e, true, false)
	}
	e, _ = l2.Acquire(ctx)
	l2.Release(e, false, true) // 2 -> 1, the three successes forgotten
	e, _ = l2.Acquire(ctx)
	l2.Release(e, true, false)
	if got := l2.Limit(); got != 1 {
		t.Fatalf("limit %d, want 1: one success after a 429 is not a run of two", got)
	}
}

func TestAdaptiveLimitWaits(t *testing.T) {
	l := newAdaptiveLimit(2)
	ctx := context.Background()
	e1, _ := l.Acquire(ctx)
	e2, _ := l.Acquire(ctx)

	// Full: a cancelled wait gives up and leaves no trace.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Acquire(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire on a full limit with a cancelled context: %v", err)
	}
	// A waiter is served when a slot frees, in order.
	got := make(chan int, 2)
	for i := range 2 {
		ready := make(chan struct{})
		go func() {
			close(ready)
			if _, err := l.Acquire(ctx); err == nil {
				got <- i
			}
		}()
		<-ready
		queued := false // wait until the goroutine is queued: observe, never sleep
		for range 10_000_000 {
			l.mu.Lock()
			queued = len(l.waiters) == i+1
			l.mu.Unlock()
			if queued {
				break
			}
			runtime.Gosched()
		}
		if !queued {
			t.Fatalf("waiter %d never queued", i)
		}
	}
	l.Release(e1, true, false)
	if i := <-got; i != 0 {
		t.Fatalf("waiter %d served first, want 0", i)
	}
	l.Release(e2, true, false)
	if i := <-got; i != 1 {
		t.Fatalf("waiter %d served second, want 1", i)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight != 2 || len(l.waiters) != 0 {
		t.Fatalf("in flight %d, waiters %d; want 2 and 0", l.inFlight, len(l.waiters))
	}
}

// TestRunShrinksConcurrencyOn429: eight requests in flight all come back
// 429; their retries may then have only four in flight.
func TestRunShrinksConcurrencyOn429(t *testing.T) {
	const workers = 8
	var storm, after, peakAfter atomic.Int32
	stormFull, afterFull := make(chan struct{}), make(chan struct{})
	var stormOnce, afterOnce sync.Once
	f := &fakeProvider{generate: func(call int, r provider.Request) (provider.Response, error) {
		if call <= workers {
			if storm.Add(1) == workers {
				stormOnce.Do(func() { close(stormFull) })
			}
			<-stormFull // all eight in flight at once, then all throttled
			return provider.Response{}, &provider.Error{Model: "a", StatusCode: 429, Message: "slow down", Retryable: true}
		}
		n := after.Add(1)
		defer after.Add(-1)
		for p := peakAfter.Load(); n > p && !peakAfter.CompareAndSwap(p, n); p = peakAfter.Load() {
		}
		if n == workers/2 {
			afterOnce.Do(func() { close(afterFull) })
		}
		<-afterFull
		return answer(r), nil
	}}
	st := &memStore{}
	sum, err := run(context.Background(), testWork(workers, 1), withSamples(testOptions(t, st, fakeModel("a", "off", workers, f)), 1))
	if err != nil {
		t.Fatal(err)
	}
	m := sum.Models[0]
	if len(st.rows) != workers || m.Errors != 0 || m.Throttled != workers || m.Retries != workers {
		t.Fatalf("stored %d, progress %+v; want %d samples, %d throttled, %d retries", len(st.rows), m, workers, workers, workers)
	}
	if p := peakAfter.Load(); p != workers/2 {
		t.Fatalf("after a round of 429s, %d requests were in flight at once, want %d", p, workers/2)
	}
}

func withSamples(o Options, n int) Options {
	o.Sampling.Samples = n
	return o
}

// billingFake answers every request at the most it can cost (every sample
// runs to max_tokens, the prompt at four characters a token) and keeps the
// endpoint's own ledger.
type billingFake struct {
	mu    sync.Mutex
	calls int
	cost  float64 // what the endpoint billed, at the test's prices
	in    float64
	out   float64
}

func (b *billingFake) Generate(_ context.Context, r provider.Request) (provider.Response, error) {
	chars := 0
	for _, m := range r.Messages {
		chars += len(m.Content)
	}
	resp := answer(r)
	resp.PromptTokens = int64((chars + 3) / 4)
	resp.CompletionTokens = int64(r.N * r.MaxTokens)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	b.cost += (float64(resp.PromptTokens)*b.in + float64(resp.CompletionTokens)*b.out) / 1e6
	return resp, nil
}

func TestRunStopsAtTheBudget(t *testing.T) {
	for _, tc := range []struct {
		name        string
		models      int
		concurrency int
	}{
		{"one model, one at a time", 1, 1},
		{"two models, concurrent", 2, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &memStore{}
			var fakes []*billingFake
			var models []Model
			for i := range tc.models {
				f := &billingFake{in: 1, out: 2}
				fakes = append(fakes, f)
				models = append(models, fakeModel(fmt.Sprint("m", i), "off", tc.concurrency, nil))
				models[i].Provider = f
			}
			opts := testOptions(t, st, models...)
			budget := 0.002 // room for about a dozen of the 50 requests per model
			work := testWork(10, 1)
			sum, err := runWith(context.Background(), work, opts, SchedulerOptions{}, budget)
			if !errors.Is(err, ErrBudget) {
				t.Fatalf("err = %v, want ErrBudget", err)
			}
			if !strings.Contains(err.Error(), "budget") || !strings.Contains(err.Error(), "$0.002") {
				t.Errorf("the error should name the budget and what was spent: %v", err)
			}
			var billed, committed float64
			calls := 0
			for i, f := range fakes {
				billed += f.cost
				calls += f.calls
				committed += sum.Models[i].CostUSD
			}
			if billed > budget {
				t.Fatalf("the endpoints billed $%g past the $%g budget", billed, budget)
			}
			if calls == 0 || calls >= 50*tc.models {
				t.Fatalf("%d requests sent; the budget should allow some, not all", calls)
			}
			if len(st.rows) != calls || committed > budget || committed < billed*0.999999 {
				t.Fatalf("%d rows committed for %d requests, $%g committed of $%g billed: every request sent must be committed",
					len(st.rows), calls, committed, billed)
			}
			if tc.concurrency == 1 {
				// Nothing in flight at the refusal: the next request really did not fit.
				est := estimateCost(provider.Request{Messages: mustRender(t, opts, work[0]), N: 1, MaxTokens: opts.Sampling.MaxTokens},
					models[0].Config.Price)
				if billed+est <= budget {
					t.Errorf("stopped at $%g with $%g to spare for a $%g request", billed, budget-billed, est)
				}
			}
			// A larger budget resumes from the store and finishes.
			opts.Done = st.done()
			if _, err := runWith(context.Background(), work, opts, SchedulerOptions{}, 1); err != nil {
				t.Fatal(err)
			}
			if len(st.rows) != 50*tc.models {
				t.Fatalf("stored %d samples after the resume, want %d", len(st.rows), 50*tc.models)
			}
		})
	}
}

func mustRender(t *testing.T, opts Options, w Work) []provider.Message {
	t.Helper()
	msgs, err := opts.Prompt.Render(w.Query, w.Variant.Text)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func TestSettleUsage(t *testing.T) {
	text := strings.Repeat("x", 40) // ten tokens at four characters a token
	choices := func(n int) []provider.Choice {
		cs := make([]provider.Choice, n)
		for i := range cs {
			cs[i] = provider.Choice{Text: text, FinishReason: "stop"}
		}
		return cs
	}
	at := func(cs []provider.Choice, finish ...string) []provider.Choice {
		for i := range cs {
			cs[i].FinishReason = finish[i]
		}
		return cs
	}
	price := config.Price{InputPerMTok: 1, OutputPerMTok: 2}
	for _, tc := range []struct {
		name           string
		resp           provider.Response
		n              int
		wantCompletion []int64
		wantEstimated  bool
	}{
		{"honest usage", provider.Response{Choices: choices(3), PromptTokens: 9, CompletionTokens: 30}, 3, []int64{10, 10, 10}, false},
		{"one choice's usage for three (llama.cpp)", provider.Response{Choices: choices(3), PromptTokens: 9, CompletionTokens: 10}, 3, []int64{10, 10, 10}, true},
		{"a short count within the tolerance", provider.Response{Choices: choices(3), PromptTokens: 9, CompletionTokens: 15}, 3, []int64{5, 5, 5}, false},
		{"no usage: estimated by the provider", provider.Response{Choices: choices(2), PromptTokens: 9, CompletionTokens: 20, UsageEstimated: true}, 2, []int64{10, 10}, true},
		{"a single choice is never second-guessed", provider.Response{Choices: choices(1), PromptTokens: 9, CompletionTokens: 1}, 1, []int64{1}, false},
		{"per-choice usage", provider.Response{Choices: []provider.Choice{{Text: text, CompletionTokens: 12}, {Text: text, CompletionTokens: 8}}, PromptTokens: 9, CompletionTokens: 20}, 2, []int64{12, 8}, false},
		{"more choices than asked", provider.Response{Choices: choices(3), PromptTokens: 9, CompletionTokens: 30}, 2, []int64{15, 15}, false},
		// llama-server, n=3, max_tokens 48: every choice stopped at the
		// limit, usage says 48 for the three.
		{"every choice at max_tokens, one choice's usage (llama.cpp)", provider.Response{Choices: at(choices(3), "length", "length", "length"), PromptTokens: 9, CompletionTokens: 48}, 3, []int64{48, 48, 48}, true},
		{"a choice at max_tokens and one that stopped: the total holds both", provider.Response{Choices: at(choices(2), "length", "stop"), PromptTokens: 9, CompletionTokens: 58}, 2, []int64{48, 10}, false},
		{"a choice at max_tokens, the rest of a short total shared", provider.Response{Choices: at(choices(2), "length", "stop"), PromptTokens: 9, CompletionTokens: 50}, 2, []int64{48, 10}, true},
		{"one choice at max_tokens reported short", provider.Response{Choices: at(choices(1), "length"), PromptTokens: 9, CompletionTokens: 30}, 1, []int64{48}, true},
		{"per-choice usage at max_tokens is the server's count", provider.Response{Choices: []provider.Choice{{Text: text, CompletionTokens: 48, FinishReason: "length"}, {Text: text, CompletionTokens: 8, FinishReason: "stop"}}, PromptTokens: 9, CompletionTokens: 56}, 2, []int64{48, 8}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := settleUsage(tc.resp, tc.n, 48, price)
			if rep.estimated != tc.wantEstimated || fmt.Sprint(rep.completion) != fmt.Sprint(tc.wantCompletion) {
				t.Fatalf("completion %v estimated %v, want %v %v", rep.completion, rep.estimated, tc.wantCompletion, tc.wantEstimated)
			}
			var prompt int64
			for i := range rep.prompt {
				prompt += rep.prompt[i]
				if want := (float64(rep.prompt[i]) + 2*float64(rep.completion[i])) / 1e6; rep.cost[i] != want {
					t.Fatalf("cost %g, want %g", rep.cost[i], want)
				}
			}
			if prompt != tc.resp.PromptTokens {
				t.Fatalf("prompt tokens shared %v, want %d in all", rep.prompt, tc.resp.PromptTokens)
			}
		})
	}
}

func TestRunCountsEstimatedUsage(t *testing.T) {
	long := strings.Repeat("Let me think step by step. ", 8) + "Final Answer: 4"
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		resp := provider.Response{PromptTokens: 10}
		for range r.N {
			resp.Choices = append(resp.Choices, provider.Choice{Text: long, FinishReason: "stop"})
		}
		resp.CompletionTokens = int64((len(long) + 3) / 4) // one choice's usage for all of them
		// An endpoint that gave no usage: the provider estimated it.
		if r.Meta.QueryID == "2" {
			resp.CompletionTokens *= int64(r.N)
			resp.UsageEstimated = true
		}
		return resp, nil
	}}
	st := &memStore{}
	opts := withSamples(testOptions(t, st, fakeModel("a", "3", 2, f)), 3)
	sum, err := run(context.Background(), testWork(3, 1), opts)
	if err != nil {
		t.Fatal(err)
	}
	m := sum.Models[0]
	perChoice := int64((len(long) + 3) / 4)
	if m.UsageEstimated != 9 || m.CompletionTokens != 9*perChoice {
		t.Fatalf("progress %+v; want 9 samples with estimated usage, %d completion tokens", m, 9*perChoice)
	}
	for _, g := range st.rows {
		if g.CompletionTokens != perChoice || !g.UsageEstimated {
			t.Fatalf("sample completion tokens %d (estimated %v), want %d, marked estimated", g.CompletionTokens, g.UsageEstimated, perChoice)
		}
	}
}

// BenchmarkRunInstant measures the sampler's own overhead per request: an
// endpoint that answers at once, 256 workers, commits that store nothing.
func BenchmarkRunInstant(b *testing.B) {
	for _, n := range []string{"off", "5"} {
		b.Run("n="+n, func(b *testing.B) {
			f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) { return answer(r), nil }}
			p, err := NewPrompt(config.Prompt{System: "Solve.", Template: "{{.Question}}"})
			if err != nil {
				b.Fatal(err)
			}
			work := testWork(400, 5)
			opts := Options{Seed: 42, Sampling: config.Sampling{Samples: 5, Temperature: 0.7, TopP: 0.95, MaxTokens: 64},
				Prompt: p, Models: []Model{fakeModel("a", n, 256, f)},
				Commit: func(context.Context, []record.Generation) error { return nil }}
			b.ResetTimer()
			for b.Loop() {
				if _, err := runWith(context.Background(), work, opts, SchedulerOptions{}, 1e6); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*float64(len(work)*5)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
