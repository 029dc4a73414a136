package sampler

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// instantProvider answers every request at once with short fixed choices
// and keeps no state: the fake for measuring the sampler, not the endpoint.
type instantProvider struct{}

var _ provider.Provider = instantProvider{}

func (instantProvider) Generate(_ context.Context, req provider.Request) (provider.Response, error) {
	choices := make([]provider.Choice, req.N)
	for i := range choices {
		choices[i] = provider.Choice{Text: "Final Answer: 4", FinishReason: "stop"}
	}
	return provider.Response{Choices: choices, PromptTokens: 10, CompletionTokens: int64(4 * req.N)}, nil
}

// memoryWork is a synthetic plan of nq queries with one variant each.
func memoryWork(nq int) []Work {
	w := make([]Work, nq)
	for i := range w {
		id := strconv.Itoa(i + 1)
		q := &dataset.Query{ID: id, Question: "What is " + id + "+1?", Answer: strconv.Itoa(i + 2)}
		w[i] = Work{Query: q, Variant: record.Variant{QueryID: id, Text: q.Question}}
	}
	return w
}

// heapInUse reads MemStats.HeapInuse (spans holding objects, live or not
// yet swept: what the process's memory follows) without stopping the world.
func heapInUse() uint64 {
	ms := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(ms)
	return ms[0].Value.Uint64() + ms[1].Value.Uint64()
}

// heapPeak samples the heap in use every 2ms until stop is called, and
// then returns the highest figure seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	sample := func() {
		if v := heapInUse(); v > peak.Load() {
			peak.Store(v)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		sample()
		return peak.Load()
	}
}

// BenchmarkRunMemory measures the heap a pass holds as the plan grows: 50k
// and 200k samples (five per query), 256 requests in flight against an
// instant endpoint, a store that holds nothing yet, commits that discard
// the rows. peak-heap-MB is the heap in use at its highest, sampled every
// 2ms: the caller's work slice and garbage not yet collected included (with
// the default GOGC the collector lets the heap grow to twice the live
// data). held-MB is exact: halfway through the pass, a commit collects
// garbage and takes the live heap less the live heap before Run, so it is
// what Run itself holds, which should stay flat as the plan grows.
// caller-MB is the live heap before Run: the work slice, the test binary.
func BenchmarkRunMemory(b *testing.B) {
	const samples = 5
	for _, total := range []int{50_000, 200_000} {
		for _, n := range []string{"1", "5"} {
			b.Run(fmt.Sprintf("samples=%d/n=%s", total, n), func(b *testing.B) {
				opts := memoryOptions(b, n, samples)
				work := memoryWork(total / samples)
				var peak, held, before uint64
				for b.Loop() {
					before = liveAfterGC()
					opts.Commit = midRun(total/2, func() {
						if live := liveAfterGC(); live > before {
							held = max(held, live-before)
						}
					})
					stop := heapPeak()
					if _, err := run(context.Background(), work, opts); err != nil {
						b.Fatal(err)
					}
					peak = max(peak, stop())
				}
				runtime.KeepAlive(work)
				b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
				b.ReportMetric(float64(held)/1e6, "held-MB")
				b.ReportMetric(float64(before)/1e6, "caller-MB")
			})
		}
	}
}

// liveAfterGC collects garbage and returns the bytes of live objects.
func liveAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// midRun is a Commit that discards rows and calls fn once, on the commit
// that takes the rows committed past half.
func midRun(half int, fn func()) func(context.Context, []record.Generation) error {
	committed := 0
	return func(_ context.Context, rows []record.Generation) error {
		before := committed
		committed += len(rows)
		if before < half && committed >= half {
			fn()
		}
		return nil
	}
}

// memoryOptions is one model at the n cap given, 256 requests in flight, an
// instant endpoint and an empty store; the caller sets Commit.
func memoryOptions(b *testing.B, n string, samples int) Options {
	b.Helper()
	p, err := NewPrompt(config.Prompt{System: "Solve.", Template: "{{.Question}}"})
	if err != nil {
		b.Fatal(err)
	}
	m := Model{Config: config.Model{Name: "a", Provider: "openai", N: n, Concurrency: 256,
		Price: config.Price{InputPerMTok: 1, OutputPerMTok: 2}}, Provider: instantProvider{}, Endpoint: "fake\x00a"}
	return Options{Seed: 42, Sampling: config.Sampling{Samples: samples, Temperature: 0.7, TopP: 0.95, MaxTokens: 64},
		Prompt: p, Models: []Model{m}, Done: func(string) bool { return false }}
}
