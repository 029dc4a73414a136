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
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	Done     func(key string) bool // reports the generation keys the store already holds; nil: none

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

	// MaxCostUSD is the most this pass may spend, over every model; 0 is no
	// budget. Before each request its cost is estimated from above (the
	// prompt at four characters a token plus chat overhead, and max_tokens
	// for every sample) and reserved; a request whose reservation does not
	// fit is not sent, no model issues another, and Run returns ErrBudget
	// once the requests in flight are committed. The pass never spends past
	// the budget as long as the endpoints bill no more than the estimate.
	MaxCostUSD float64
	// Log receives the sampler's decisions that a user should know about,
	// such as a model's n cap learned from its endpoint. Nil discards them.
	Log *slog.Logger
}

// ModelProgress counts one model's samples.
type ModelProgress struct {
	Model            string `json:"model"`
	Total            int64  `json:"total"`  // samples the plan owes this model
	Stored           int64  `json:"stored"` // already in the store before this pass
	Done             int64  `json:"done"`   // committed in this pass, errors included
	Errors           int64  `json:"errors"` // committed with a permanent error
	Requests         int64  `json:"requests"`
	Retries          int64  `json:"retries"`
	Throttled        int64  `json:"throttled"` // 429 answers seen
	PromptTokens     int64  `json:"prompt_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	// UsageEstimated counts committed samples whose tokens were estimated
	// from the text because the endpoint gave no usage or an impossible one.
	UsageEstimated int64   `json:"usage_estimated"`
	CostUSD        float64 `json:"cost_usd"`
	// NCap is the most samples per request this pass learned the endpoint
	// allows (it refused a larger n or returned fewer choices); 0 when the
	// endpoint never pushed back.
	NCap   int    `json:"n_cap"`
	Failed string `json:"failed,omitempty"` // why the model stopped early
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

// ErrBudget reports that the pass stopped issuing requests because the next
// one could have spent past Options.MaxCostUSD; what finished is committed
// and a later pass resumes from it.
var ErrBudget = errors.New("cost budget reached")

// request is what one worker sends for one variant: up to the n cap of its
// owed samples, built when the worker takes it (see modelRun.nextRequest).
type request struct {
	work    *Work
	msgs    []provider.Message
	indices []int32
	seeds   []int64
	keys    []string
}

// Run samples every missing (work, model, sample index) and returns the
// counts. It returns ctx's error when cancelled, after committing every sample
// that finished; a commit error stops the pass and is returned. When a model
// stops on a fatal endpoint error the others go on and Run returns an error
// wrapping ErrModelStopped. When the budget stops the pass, Run returns an
// error wrapping ErrBudget after committing every request that was sent.
func Run(ctx context.Context, work []Work, opts Options) (Summary, error) {
	opts.defaults()
	start := opts.Now()
	owed, err := owedSets(work, opts)
	if err != nil {
		return Summary{}, err
	}
	// issue is cancelled when the budget runs out or a commit fails: no
	// model starts another request, while those in flight run on under ctx
	// (or InFlight).
	issue, stopIssuing := context.WithCancelCause(ctx)
	defer stopIssuing(nil)
	var spend *budget
	if opts.MaxCostUSD > 0 {
		spend = &budget{limit: opts.MaxCostUSD, stop: stopIssuing}
	}
	reqCtx := ctx
	if opts.InFlight != nil {
		reqCtx = opts.InFlight
	}

	results := make(chan result) // unbuffered: a sample is either committed or still with its worker, in flight
	runs := make([]*modelRun, len(opts.Models))
	w := &writer{opts: opts, start: start, runs: runs, stop: stopIssuing, progress: Progress{Models: make([]ModelProgress, len(runs))}}
	for i, m := range opts.Models {
		runs[i] = newModelRun(i, m, work, owed[i], opts, spend, results)
		mp := &w.progress.Models[i]
		mp.Model = m.Config.Name
		mp.Total = int64(len(work)) * int64(opts.Sampling.Samples)
		mp.Stored = mp.Total - owed[i].count
	}

	var g sync.WaitGroup
	for i, mr := range runs {
		g.Add(1)
		go func() {
			defer g.Done()
			if err := mr.run(issue, reqCtx); err != nil {
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
	var errs []error
	if spent, over := spend.exhausted(); over {
		errs = append(errs, fmt.Errorf("stop sampling: %w: spent $%.6g of the $%.6g budget", ErrBudget, spent, opts.MaxCostUSD))
	}
	var stopped []string
	for _, m := range sum.Models {
		if m.Failed != "" {
			stopped = append(stopped, m.Failed)
		}
	}
	if len(stopped) > 0 {
		errs = append(errs, fmt.Errorf("%w: %s", ErrModelStopped, strings.Join(stopped, "; ")))
	}
	if len(errs) == 1 {
		return sum, errs[0]
	}
	return sum, errors.Join(errs...)
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
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
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
	model          int
	rows           []record.Generation
	requests       int64 // requests sent since this worker's last result
	retries        int64
	usageEstimated int64 // rows whose tokens were estimated
	failed         string
}

// modelRun is one model's state for a pass, shared by its workers: the
// samples it owes, the request slots, the rate limits, the n cap learned
// from the endpoint.
type modelRun struct {
	mi      int
	model   Model
	work    []Work
	owed    *owedSet
	opts    Options
	limits  limits
	slots   *adaptiveLimit
	spend   *budget // nil: no budget
	results chan<- result

	configCap int          // the cap the model is configured with
	nCap      atomic.Int64 // the cap learned from the endpoint; 0 while it never pushed back
	throttled atomic.Int64 // 429 answers
}

func newModelRun(mi int, m Model, work []Work, owed *owedSet, opts Options, spend *budget, results chan<- result) *modelRun {
	return &modelRun{
		mi: mi, model: m, work: work, owed: owed, opts: opts, spend: spend, results: results,
		limits:    newLimits(m.Config),
		slots:     newAdaptiveLimit(m.Config.EffectiveConcurrency()),
		configCap: requestCap(m),
	}
}

// run sends the model's requests from a fixed pool of workers, one per
// configured request slot; the adaptive limit decides how many of them may
// have a request in flight. No request starts once ctx is done; requests run
// under reqCtx. It returns the fatal endpoint error that stopped the model,
// if any.
func (mr *modelRun) run(ctx, reqCtx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for range min(int64(mr.slots.max), mr.owed.count) {
		g.Go(func() error { return mr.drain(gctx, reqCtx) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("model %q stopped: %w", mr.model.Config.Name, err)
	}
	return nil // done or cancelled: the caller reports ctx's error or the budget's
}

// drain is one worker: it takes the model's requests one after another and
// sends them until none is left or ctx is done. Only a fatal endpoint error
// (or a prompt that no longer renders) is returned.
func (mr *modelRun) drain(ctx, reqCtx context.Context) error {
	var last rendered
	for ctx.Err() == nil {
		r, ok, err := mr.nextRequest(&last)
		if err != nil || !ok {
			return err
		}
		if err := mr.send(ctx, reqCtx, &r); err != nil {
			return err
		}
	}
	return nil
}

// rendered is a worker's last prompt: with few workers, one often takes
// several requests of one work in a row (a variant's samples past the n
// cap, or one at a time with n off).
type rendered struct {
	work *Work
	msgs []provider.Message
}

// nextRequest takes the model's next owed samples, at most the n cap now,
// and builds their request: the work's prompt (last's when it is the same
// work; last is updated), seeds and keys. ok is false when every owed
// sample was taken. Rendering happens outside the cursor's lock.
func (mr *modelRun) nextRequest(last *rendered) (r request, ok bool, err error) {
	wi, indices, ok := mr.owed.take(mr.requestCapNow())
	if !ok {
		return request{}, false, nil
	}
	wk := &mr.work[wi]
	if last.work != wk {
		msgs, err := mr.opts.Prompt.Render(wk.Query, wk.Variant.Text)
		if err != nil {
			return request{}, false, err
		}
		*last = rendered{work: wk, msgs: msgs}
	}
	r = request{work: wk, msgs: last.msgs, indices: indices, seeds: make([]int64, len(indices)), keys: make([]string, len(indices))}
	for i, idx := range indices {
		r.seeds[i], r.keys[i] = sampleKey(mr.opts, mr.model, wk, r.msgs, idx)
	}
	return r, true, nil
}

// requestCapNow is the most samples the next request may ask for: the
// learned cap once the endpoint pushed back, else the configured one.
func (mr *modelRun) requestCapNow() int {
	if c := mr.nCap.Load(); c > 0 {
		return int(c)
	}
	return mr.configCap
}

// lowerCap lowers the model's n cap to to (at least 1) for the rest of the
// pass and logs the change; a cap already as low stays, so every change is
// logged once however many workers see the same refusal.
func (mr *modelRun) lowerCap(to int, why string) {
	to = max(to, 1)
	for {
		cur := mr.nCap.Load()
		old := cur
		if old == 0 {
			old = int64(mr.configCap)
		}
		if int64(to) >= old {
			return
		}
		if mr.nCap.CompareAndSwap(cur, int64(to)) {
			mr.opts.Log.Info("lowered the n cap", "model", mr.model.Config.Name, "from", old, "to", to, "reason", why)
			return
		}
	}
}

// send makes the requests that produce r's samples, at most the learned n
// cap at a time, retrying retryable failures and re-asking for samples an
// endpoint left out, and hands every finished sample to the writer. A
// refused n lowers the cap and asks again without counting an attempt. No
// new attempt starts once ctx is done; requests run under reqCtx. Only a
// fatal endpoint error is returned.
func (mr *modelRun) send(ctx, reqCtx context.Context, r *request) error {
	m, s := mr.model, mr.opts.Sampling
	maxAttempts := m.Config.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	indices, seeds, keys := r.indices, r.seeds, r.keys
	tries := make([]int32, len(indices)) // requests each pending sample was part of; non-increasing
	var requests, retries int64
	emit := func(rows []record.Generation, estimated int64) {
		mr.results <- result{model: mr.mi, rows: rows, requests: requests, retries: retries, usageEstimated: estimated}
		requests, retries = 0, 0
	}
	// fail records the first k pending samples as permanent errors.
	fail := func(k int, msg string) {
		rows := make([]record.Generation, k)
		for i := range rows {
			rows[i] = row(r, m, s, indices[i], seeds[i], keys[i], mr.opts.Now())
			rows[i].Attempts = tries[i]
			rows[i].Error = msg
		}
		emit(rows, 0)
		indices, seeds, keys, tries = indices[k:], seeds[k:], keys[k:], tries[k:]
	}
	for len(indices) > 0 {
		if ctx.Err() != nil {
			return nil // cancelled, out of budget or the model stopped: what is missing stays missing
		}
		take := min(len(indices), mr.requestCapNow())
		req := provider.Request{
			Messages: r.msgs, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens,
			N: take, Seeds: seeds[:take:take],
			Meta: provider.Meta{QueryID: r.work.Query.ID, VariantID: r.work.Variant.VariantID,
				Gold: r.work.Query.Answer, Choices: r.work.Query.Choices},
		}
		rep, err := mr.call(ctx, reqCtx, req)
		if errors.Is(err, errNotSent) {
			return nil
		}
		requests++
		for i := range take {
			tries[i]++
		}
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
			if pe.Param == "n" && take > 1 {
				// Not the samples' failure: ask again in smaller requests.
				for i := range take {
					tries[i]--
				}
				to := take - 1 // always progress, even when the stated limit is no lower
				switch {
				case pe.Limit == 0:
					to = 1
				case pe.Limit < take:
					to = pe.Limit
				}
				mr.lowerCap(to, fmt.Sprintf("endpoint refused n=%d: %s", take, pe.Message))
				continue
			}
			if pe.Retryable && int(tries[0]) < maxAttempts {
				retries++
				if !wait(ctx, max(backoff(mr.opts.Backoff, int(tries[0])), pe.RetryAfter)) {
					return nil
				}
				continue
			}
			fail(take, pe.Error())
			continue
		}
		got := rep.got
		if got < take && take > 1 {
			mr.lowerCap(got, fmt.Sprintf("endpoint returned %d choices for n=%d", got, take))
		}
		if got > 0 {
			rows := make([]record.Generation, got)
			for i := range rows {
				c := rep.resp.Choices[i]
				g := row(r, m, s, indices[i], seeds[i], keys[i], mr.opts.Now())
				g.OutputText, g.FinishReason = c.Text, c.FinishReason
				g.PromptTokens, g.CompletionTokens, g.CostUSD = rep.prompt[i], rep.completion[i], rep.cost[i]
				g.LatencyMS = rep.resp.Latency.Milliseconds()
				g.Attempts = tries[i]
				g.UsageEstimated = rep.estimated
				rows[i] = g
			}
			var estimated int64
			if rep.estimated {
				estimated = int64(got)
			}
			emit(rows, estimated)
			indices, seeds, keys, tries = indices[got:], seeds[got:], keys[got:], tries[got:]
		}
		if k := exhausted(tries, maxAttempts); k > 0 {
			fail(k, fmt.Sprintf("model %q: endpoint returned %d of %d samples asked for", m.Config.Name, got, take))
		}
	}
	return nil
}

// exhausted counts the leading samples that were asked for maxAttempts times.
func exhausted(tries []int32, maxAttempts int) int {
	k := 0
	for k < len(tries) && int(tries[k]) >= maxAttempts {
		k++
	}
	return k
}

// errNotSent reports that a request was not sent: the pass is stopping or
// the budget has no room for it.
var errNotSent = errors.New("request not sent")

// reply is one answered request with its usage settled per choice.
type reply struct {
	resp       provider.Response
	got        int // choices used: at most the samples asked for
	prompt     []int64
	completion []int64
	cost       []float64
	estimated  bool // tokens estimated: no usage, or an impossible one
}

// call sends one request once it has a slot, the rate limits allow it and
// the budget has room for its estimate, then settles the slot and the
// budget with what the endpoint answered. It returns errNotSent when the
// request was not sent, else the endpoint's error.
func (mr *modelRun) call(ctx, reqCtx context.Context, req provider.Request) (reply, error) {
	epoch, err := mr.slots.Acquire(ctx)
	if err != nil {
		return reply{}, errNotSent
	}
	tokens, err := mr.limits.wait(ctx, req)
	if err != nil {
		mr.slots.Release(epoch, false, false)
		return reply{}, errNotSent
	}
	price := mr.model.Config.Price
	reserved := estimateCost(req, price)
	if !mr.spend.reserve(reserved) {
		mr.slots.Release(epoch, false, false)
		return reply{}, errNotSent
	}
	resp, err := mr.model.Provider.Generate(reqCtx, req)
	var pe *provider.Error
	throttled := errors.As(err, &pe) && pe.StatusCode == 429
	if throttled {
		mr.throttled.Add(1)
	}
	if old, cur, changed := mr.slots.Release(epoch, err == nil, throttled); changed {
		mr.opts.Log.Debug("changed the requests in flight", "model", mr.model.Config.Name, "from", old, "to", cur)
	}
	if err != nil {
		mr.spend.settle(reserved, 0)
		return reply{}, err
	}
	rep := settleUsage(resp, req.N, price)
	var spent float64
	var used int64
	for i, c := range rep.cost {
		spent += c
		used += rep.prompt[i] + rep.completion[i]
	}
	mr.spend.settle(reserved, spent)
	mr.limits.settle(tokens, used, rep.completion)
	return rep, nil
}

// estimateCost bounds a request's cost from above: its prompt at four
// characters a token (rounded up) plus the chat format's overhead of a few
// tokens per message, and max_tokens for every sample asked for.
func estimateCost(req provider.Request, p config.Price) float64 {
	prompt := promptTokens(req.Messages)
	return (float64(prompt)*p.InputPerMTok + float64(req.N)*float64(req.MaxTokens)*p.OutputPerMTok) / 1e6
}

// settleUsage gives each of the first n choices its tokens and cost. The
// prompt is shared evenly. Completion tokens come from the response; when
// they add up to less than half of what the texts' length implies (a server
// that reports one choice's usage for n > 1), each choice is estimated at
// four characters a token and the reply is marked estimated, as it is when
// the endpoint gave no usage at all.
func settleUsage(resp provider.Response, n int, p config.Price) reply {
	got := min(len(resp.Choices), n)
	rep := reply{resp: resp, got: got, estimated: resp.UsageEstimated,
		prompt: splitEven(resp.PromptTokens, got), completion: completionTokens(resp, got), cost: make([]float64, got)}
	if !rep.estimated && got > 1 {
		guess := make([]int64, got)
		var reported, guessed int64
		for i := range guess {
			guess[i] = int64((len(resp.Choices[i].Text) + 3) / 4)
			guessed += guess[i]
			reported += rep.completion[i]
		}
		if 2*reported < guessed {
			rep.completion, rep.estimated = guess, true
		}
	}
	for i := range rep.cost {
		rep.cost[i] = (float64(rep.prompt[i])*p.InputPerMTok + float64(rep.completion[i])*p.OutputPerMTok) / 1e6
	}
	return rep
}

// adaptiveLimit bounds one model's requests in flight and adapts the bound
// to the endpoint: a 429 halves it (at least 1), and every 2×limit
// consecutive successes grow it by one, back up to the configured maximum.
// Only 429s break a run of successes: other failures say nothing about
// the endpoint's capacity. Waiters are served first come, first served.
type adaptiveLimit struct {
	max int // the configured concurrency

	mu       sync.Mutex
	limit    int
	inFlight int
	streak   int             // successes since the limit last changed
	epoch    uint64          // bumped on every decrease
	waiters  []chan struct{} // closed when granted a slot
}

func newAdaptiveLimit(maxInFlight int) *adaptiveLimit {
	n := max(1, maxInFlight)
	return &adaptiveLimit{max: n, limit: n}
}

// Acquire waits for a request slot or until ctx is done. The epoch it
// returns goes back to Release, so that the 429s of requests sent before
// the last decrease do not halve the limit again: one halving per round of
// requests, not one per request of a storm.
func (l *adaptiveLimit) Acquire(ctx context.Context) (epoch uint64, err error) {
	l.mu.Lock()
	if l.inFlight < l.limit && len(l.waiters) == 0 {
		l.inFlight++
		e := l.epoch
		l.mu.Unlock()
		return e, nil
	}
	ready := make(chan struct{})
	l.waiters = append(l.waiters, ready)
	l.mu.Unlock()
	select {
	case <-ready:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.epoch, nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		select {
		case <-ready: // granted while cancelling: hand the slot on
			l.inFlight--
			l.grant()
		default:
			for i, w := range l.waiters {
				if w == ready {
					l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
					break
				}
			}
		}
		return 0, ctx.Err()
	}
}

// Release gives back a slot taken at epoch, telling whether its request
// succeeded or was throttled (429), and reports a change of the limit.
func (l *adaptiveLimit) Release(epoch uint64, success, throttled bool) (old, cur int, changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old = l.limit
	l.inFlight--
	switch {
	case throttled:
		l.streak = 0
		if epoch == l.epoch && l.limit > 1 {
			l.limit = max(1, l.limit/2)
			l.epoch++
		}
	case success:
		l.streak++
		if l.limit < l.max && l.streak >= 2*l.limit {
			l.limit++
			l.streak = 0
		}
	}
	l.grant()
	return old, l.limit, old != l.limit
}

// Limit returns the requests currently allowed in flight.
func (l *adaptiveLimit) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// grant hands free slots to the waiters in order; l.mu is held.
func (l *adaptiveLimit) grant() {
	for l.inFlight < l.limit && len(l.waiters) > 0 {
		l.inFlight++
		close(l.waiters[0])
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
	}
}

// budget is the pass's cost budget, shared by every model: spent is what
// answered requests cost, reserved the estimates of requests in flight.
// A nil *budget is no budget.
type budget struct {
	limit float64
	stop  context.CancelCauseFunc // stops every model from issuing

	mu       sync.Mutex
	spent    float64
	reserved float64
	over     bool
}

// reserve books est for a request about to be sent and reports whether it
// fits; the first that does not stops every model from issuing more.
func (b *budget) reserve(est float64) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return false
	}
	if b.spent+b.reserved+est > b.limit {
		b.over = true
		b.stop(ErrBudget)
		return false
	}
	b.reserved += est
	return true
}

// settle replaces a request's reservation by what it cost.
func (b *budget) settle(reserved, spent float64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved -= reserved
	b.spent += spent
}

// exhausted reports what was spent and whether the budget stopped the pass.
func (b *budget) exhausted() (spent float64, over bool) {
	if b == nil {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent, b.over
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
	d := min(base<<min(attempt-1, 8), maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// maxBackoff caps one retry's wait (before jitter): a long tail of waits
// doubling into minutes holds a whole run up for a handful of samples.
const maxBackoff = 20 * time.Second

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

// limits are one model's requests/min and tokens/min budgets; a zero limit
// is no limit. Tokens are estimated before a request and settled after it.
type limits struct {
	rpm, tpm *rate.Limiter
	// perSample is the running estimate of completion tokens per sample
	// (an average of what the endpoint answered), max_tokens until then.
	perSample *atomic.Int64
}

func newLimits(m config.Model) limits {
	l := limits{perSample: new(atomic.Int64)}
	if m.RPM > 0 {
		l.rpm = rate.NewLimiter(rate.Limit(float64(m.RPM)/60), max(1, m.RPM/60))
	}
	if m.TPM > 0 {
		l.tpm = rate.NewLimiter(rate.Limit(float64(m.TPM)/60), max(1, m.TPM/6))
	}
	return l
}

// wait blocks until a request may go: one request, and its token estimate
// (the prompt at four characters a token plus the expected completion per
// sample, at most max_tokens). It returns the tokens it took.
func (l limits) wait(ctx context.Context, req provider.Request) (int, error) {
	if l.rpm != nil {
		if err := l.rpm.Wait(ctx); err != nil {
			return 0, err
		}
	}
	if l.tpm == nil {
		return 0, nil
	}
	chars := 0
	for _, m := range req.Messages {
		chars += len(m.Content)
	}
	per := int(l.perSample.Load())
	if per <= 0 || per > req.MaxTokens {
		per = req.MaxTokens
	}
	tokens := min(chars/4+1+req.N*per, l.tpm.Burst())
	if err := l.tpm.WaitN(ctx, tokens); err != nil {
		return 0, err
	}
	return tokens, nil
}

// settle learns the completion tokens per sample from an answer and, when
// the request used more tokens than it took, takes the rest from the
// tokens/min budget at once, so later requests wait for it.
func (l limits) settle(took int, used int64, completion []int64) {
	if len(completion) > 0 {
		var sum int64
		for _, c := range completion {
			sum += c
		}
		got := sum / int64(len(completion))
		for {
			old := l.perSample.Load()
			next := got
			if old > 0 {
				next = (3*old + got + 3) / 4
			}
			if l.perSample.CompareAndSwap(old, next) {
				break
			}
		}
	}
	if l.tpm != nil && used > int64(took) {
		l.tpm.ReserveN(time.Now(), min(int(used)-took, l.tpm.Burst()))
	}
}
