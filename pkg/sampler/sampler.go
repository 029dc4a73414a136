// Package sampler is the output side of a run: it plans the samples every
// candidate model owes every variant, skips what the store already holds,
// sends the rest to the endpoints with bounded concurrency and retries, and
// hands every finished sample to one writer that commits it before it counts
// as done.
package sampler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// Model is one candidate model as the sampler drives it.
type Model struct {
	Config   config.Model
	Provider provider.Provider
	Endpoint string // provider.Identity of the model: part of every generation key
}

// Work is one variant of one query; every model owes it N samples.
type Work struct {
	Query   *dataset.Query
	Variant record.Variant
}

// Options configure one sampling pass.
type Options struct {
	Seed     int64           // the run seed
	Sampling config.Sampling // samples, temperature, top_p, max_tokens
	Prompt   *Prompt
	Models   []Model
	Done     map[string]struct{} // generation keys the store already holds

	// Commit stores a batch of finished samples; it is called from a single
	// goroutine. A sample counts as done only after Commit returns nil.
	Commit func(context.Context, []record.Generation) error
	// Progress, when set, is called from the writer after every commit.
	Progress func(Progress)

	BatchSize int // most samples per commit; default 512
	Now       func() time.Time
	// Backoff is the first retry wait; it doubles per attempt, jittered. Default 500ms.
	Backoff time.Duration
	// InFlight, when set, is the context requests already sent run under.
	// Cancelling Run's ctx stops new requests and retries; requests in
	// flight finish (and are committed) until InFlight is cancelled too.
	// Nil: requests stop with Run's ctx.
	InFlight context.Context
}

// ModelProgress counts one model's samples.
type ModelProgress struct {
	Model            string  `json:"model"`
	Total            int64   `json:"total"`  // samples the plan owes this model
	Stored           int64   `json:"stored"` // already in the store before this pass
	Done             int64   `json:"done"`   // committed in this pass, errors included
	Errors           int64   `json:"errors"` // committed with a permanent error
	Requests         int64   `json:"requests"`
	Retries          int64   `json:"retries"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	Failed           string  `json:"failed,omitempty"` // why the model stopped early
}

// Progress is a snapshot of every model's counts, in config order.
type Progress struct {
	Models  []ModelProgress `json:"models"`
	Elapsed time.Duration   `json:"elapsed_ns"`
}

// Summary is the final Progress of a pass.
type Summary = Progress

// ErrModelStopped reports that at least one model stopped early on a fatal
// endpoint error (auth, unknown model); the Summary says which and why.
var ErrModelStopped = errors.New("a model stopped early")

// request is one call to an endpoint: up to n samples of one variant.
type request struct {
	work    *Work
	msgs    []provider.Message
	indices []int32
	seeds   []int64
	keys    []string
}

type modelPlan struct {
	model    Model
	requests []request
}

// Run samples every missing (work, model, sample index) and returns the
// counts. It returns ctx's error when cancelled, after committing every sample
// that finished; a commit error stops the pass and is returned. When a model
// stops on a fatal endpoint error the others go on and Run returns an error
// wrapping ErrModelStopped.
func Run(ctx context.Context, work []Work, opts Options) (Summary, error) {
	opts.defaults()
	start := opts.Now()
	plans, err := plan(work, opts)
	if err != nil {
		return Summary{}, err
	}
	w := &writer{opts: opts, start: start, progress: Progress{Models: make([]ModelProgress, len(plans))}}
	for i, p := range plans {
		mp := &w.progress.Models[i]
		mp.Model = p.model.Config.Name
		mp.Total = int64(len(work)) * int64(opts.Sampling.Samples)
		var owed int64
		for _, r := range p.requests {
			owed += int64(len(r.indices))
		}
		mp.Stored = mp.Total - owed
	}

	results := make(chan result) // unbuffered: a sample is either committed or still with its worker, in flight
	var g sync.WaitGroup
	for i, p := range plans {
		g.Add(1)
		go func() {
			defer g.Done()
			if err := runModel(ctx, i, p, opts, results); err != nil {
				results <- result{model: i, failed: err.Error()}
			}
		}()
	}
	go func() { g.Wait(); close(results) }()

	w.loop(ctx, results)
	sum := w.snapshot()
	if w.err != nil {
		return sum, w.err
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	var stopped []string
	for _, m := range sum.Models {
		if m.Failed != "" {
			stopped = append(stopped, m.Failed)
		}
	}
	if len(stopped) > 0 {
		return sum, fmt.Errorf("%w: %s", ErrModelStopped, strings.Join(stopped, "; "))
	}
	return sum, nil
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
}

// plan lists, per model, the requests that produce every missing sample.
func plan(work []Work, opts Options) ([]modelPlan, error) {
	s := opts.Sampling
	msgs := make([][]provider.Message, len(work))
	for i := range work {
		m, err := opts.Prompt.Render(work[i].Query, work[i].Variant.Text)
		if err != nil {
			return nil, err
		}
		msgs[i] = m
	}
	plans := make([]modelPlan, len(opts.Models))
	for mi, m := range opts.Models {
		plans[mi].model = m
		nCap := requestCap(m)
		for wi := range work {
			wk := &work[wi]
			var cur request
			for idx := int32(0); idx < int32(s.Samples); idx++ {
				seed := Seed(opts.Seed, wk.Query.ID, wk.Variant.VariantID, m.Config.Name, idx)
				key := GenerationKey(m.Endpoint, msgs[wi], s.Temperature, s.TopP, s.MaxTokens, idx, seed)
				if _, ok := opts.Done[key]; ok {
					continue
				}
				cur.indices = append(cur.indices, idx)
				cur.seeds = append(cur.seeds, seed)
				cur.keys = append(cur.keys, key)
				if len(cur.indices) == nCap {
					cur.work, cur.msgs = wk, msgs[wi]
					plans[mi].requests = append(plans[mi].requests, cur)
					cur = request{}
				}
			}
			if len(cur.indices) > 0 {
				cur.work, cur.msgs = wk, msgs[wi]
				plans[mi].requests = append(plans[mi].requests, cur)
			}
		}
	}
	return plans, nil
}

// requestCap is the most samples one request asks for: the model's n cap,
// 1 when n is off. "auto" asks for every sample of a variant at once from the
// simulator and at most 8 from an endpoint.
func requestCap(m Model) int {
	switch v := strings.TrimSpace(m.Config.N); v {
	case "off":
		return 1
	case "", "auto":
		if m.Config.Provider == "sim" {
			return 1 << 20
		}
		return 8
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 1
		}
		return n
	}
}

// result is what a worker hands the writer: finished samples of one model,
// or the reason that model stopped.
type result struct {
	model    int
	rows     []record.Generation
	requests int64 // requests sent since this worker's last result
	retries  int64
	failed   string
}

// runModel sends one model's requests with at most its concurrency in
// flight. It returns the fatal endpoint error that stopped the model, if any.
func runModel(ctx context.Context, mi int, p modelPlan, opts Options, results chan<- result) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, p.model.Config.EffectiveConcurrency()))
	lim := newLimits(p.model.Config)
	reqCtx := gctx
	if opts.InFlight != nil {
		reqCtx = opts.InFlight
	}
	for i := range p.requests {
		if gctx.Err() != nil {
			break
		}
		r := &p.requests[i]
		g.Go(func() error { return send(gctx, reqCtx, mi, p.model, lim, r, opts, results) })
	}
	err := g.Wait()
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Fatal {
		return fmt.Errorf("model %q stopped: %w", p.model.Config.Name, err)
	}
	return nil // cancellation: the caller reports ctx's error
}

// send makes one request, retrying retryable failures and re-asking for
// samples an endpoint left out, and hands every finished sample to the
// writer. No new attempt starts once ctx is done; the request itself runs
// under reqCtx. Only a fatal endpoint error is returned.
func send(ctx, reqCtx context.Context, mi int, m Model, lim limits, r *request, opts Options, results chan<- result) error {
	s := opts.Sampling
	maxAttempts := m.Config.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	indices, seeds, keys := r.indices, r.seeds, r.keys
	attempts := 0
	var requests, retries int64
	for len(indices) > 0 {
		if ctx.Err() != nil {
			return nil // cancelled or the model stopped: what is missing stays missing
		}
		attempts++
		requests++
		req := provider.Request{
			Messages: r.msgs, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens,
			N: len(indices), Seeds: seeds,
			Meta: provider.Meta{QueryID: r.work.Query.ID, VariantID: r.work.Variant.VariantID,
				Gold: r.work.Query.Answer, Choices: r.work.Query.Choices},
		}
		if err := lim.wait(ctx, req); err != nil {
			return nil // cancelled while waiting for the rate limits
		}
		resp, err := m.Provider.Generate(reqCtx, req)
		if err != nil {
			if ctx.Err() != nil || reqCtx.Err() != nil {
				return nil // stopping: what is missing stays missing
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				pe = &provider.Error{Model: m.Config.Name, Message: err.Error(), Retryable: true}
			}
			if pe.Fatal {
				return pe
			}
			if pe.Retryable && attempts < maxAttempts {
				retries++
				if !wait(ctx, max(backoff(opts.Backoff, attempts), pe.RetryAfter)) {
					return nil
				}
				continue
			}
			rows := make([]record.Generation, len(indices))
			for i := range indices {
				rows[i] = row(r, m, s, indices[i], seeds[i], keys[i], opts.Now())
				rows[i].Attempts = int32(attempts)
				rows[i].Error = pe.Error()
			}
			results <- result{model: mi, rows: rows, requests: requests, retries: retries}
			return nil
		}
		got := min(len(resp.Choices), len(indices))
		rows := make([]record.Generation, got)
		promptShare := splitEven(resp.PromptTokens, got)
		completion := completionTokens(resp, got)
		for i := 0; i < got; i++ {
			c := resp.Choices[i]
			g := row(r, m, s, indices[i], seeds[i], keys[i], opts.Now())
			g.OutputText, g.FinishReason = c.Text, c.FinishReason
			g.PromptTokens, g.CompletionTokens = promptShare[i], completion[i]
			g.CostUSD = (float64(g.PromptTokens)*m.Config.Price.InputPerMTok + float64(g.CompletionTokens)*m.Config.Price.OutputPerMTok) / 1e6
			g.LatencyMS = resp.Latency.Milliseconds()
			g.Attempts = int32(attempts)
			rows[i] = g
		}
		if got > 0 {
			results <- result{model: mi, rows: rows, requests: requests, retries: retries}
			requests, retries = 0, 0
		}
		indices, seeds, keys = indices[got:], seeds[got:], keys[got:]
		if len(indices) > 0 && attempts >= maxAttempts {
			rows := make([]record.Generation, len(indices))
			for i := range indices {
				rows[i] = row(r, m, s, indices[i], seeds[i], keys[i], opts.Now())
				rows[i].Attempts = int32(attempts)
				rows[i].Error = fmt.Sprintf("model %q: endpoint returned %d of %d samples", m.Config.Name, got, got+len(indices))
			}
			results <- result{model: mi, rows: rows, requests: requests, retries: retries}
			return nil
		}
	}
	return nil
}

func row(r *request, m Model, s config.Sampling, idx int32, seed int64, key string, now time.Time) record.Generation {
	return record.Generation{
		Key: key, QueryID: r.work.Query.ID, VariantID: r.work.Variant.VariantID, Model: m.Config.Name,
		SampleIndex: idx, Seed: seed, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: int32(s.MaxTokens),
		CreatedAt: now.UTC(),
	}
}

// splitEven shares total among n samples; the remainder goes to the first ones.
func splitEven(total int64, n int) []int64 {
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	q, rem := total/int64(n), total%int64(n)
	for i := range out {
		out[i] = q
		if int64(i) < rem {
			out[i]++
		}
	}
	return out
}

// completionTokens gives each of the first n choices its completion tokens:
// the per-choice figure when the endpoint gave one for every choice, else
// the request's total shared evenly.
func completionTokens(resp provider.Response, n int) []int64 {
	out := make([]int64, n)
	for i := 0; i < n; i++ {
		if resp.Choices[i].CompletionTokens <= 0 {
			return splitEven(resp.CompletionTokens, n)
		}
		out[i] = resp.Choices[i].CompletionTokens
	}
	return out
}

// backoff is the jittered exponential wait before retry attempt+1.
func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt-1, 8)
	return d/2 + rand.N(d/2+1)
}

// wait sleeps d or until ctx is done; it reports whether d elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// PlanKeys returns the generation key of every sample the plan owes, stored
// or not: the set that outputs are exported from, so that generations left
// in the store by an earlier prompt or parameter set never mix in.
func PlanKeys(work []Work, opts Options) (map[string]struct{}, error) {
	opts.Done = nil
	plans, err := plan(work, opts)
	if err != nil {
		return nil, err
	}
	keys := make(map[string]struct{}, len(work)*len(opts.Models)*max(opts.Sampling.Samples, 0))
	for _, p := range plans {
		for _, r := range p.requests {
			for _, k := range r.keys {
				keys[k] = struct{}{}
			}
		}
	}
	return keys, nil
}

// limits are one model's requests/min and tokens/min budgets; a zero limit
// is no limit.
type limits struct {
	rpm, tpm *rate.Limiter
}

func newLimits(m config.Model) limits {
	var l limits
	if m.RPM > 0 {
		l.rpm = rate.NewLimiter(rate.Limit(float64(m.RPM)/60), max(1, m.RPM/60))
	}
	if m.TPM > 0 {
		l.tpm = rate.NewLimiter(rate.Limit(float64(m.TPM)/60), max(1, m.TPM/6))
	}
	return l
}

// wait blocks until a request may go: one request, and its token estimate
// (the prompt at four characters a token plus max_tokens per sample: an
// upper bound, so the model's tokens/min are never exceeded).
func (l limits) wait(ctx context.Context, req provider.Request) error {
	if l.rpm != nil {
		if err := l.rpm.Wait(ctx); err != nil {
			return err
		}
	}
	if l.tpm != nil {
		chars := 0
		for _, m := range req.Messages {
			chars += len(m.Content)
		}
		tokens := min(chars/4+1+req.N*req.MaxTokens, l.tpm.Burst())
		if err := l.tpm.WaitN(ctx, tokens); err != nil {
			return err
		}
	}
	return nil
}
