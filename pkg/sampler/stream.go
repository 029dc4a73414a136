package sampler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Stream is one stage's flow of work through the scheduler: the batches it
// submits share the scheduler's endpoints and budget with every other
// stream, and have the stream's own commit, progress and summary.
//
// Each model of the stream has its own workers, at most the endpoint's
// configured concurrency, started as work arrives; how many of them have a
// request in flight is the endpoint's adaptive limit, shared with every
// stream. Workers take the oldest batch's owed samples first.
type Stream struct {
	sched       *Scheduler
	opts        Options
	ctx         context.Context
	issue       context.Context // done: no new request, no retry
	stopIssuing context.CancelCauseFunc
	reqCtx      context.Context // what requests already sent run under
	spend       *budget
	unwatch     func() bool // stops watching the budget
	start       time.Time
	models      []*modelRun
	results     chan result // unbuffered: a sample is either committed or still with its worker
	w           *writer
	finished    chan struct{} // closed once the writer has committed everything and settled every batch

	mu            sync.Mutex
	closed        bool
	issueDone     bool          // issue is done: no worker starts any more
	active        int           // workers running
	resultsClosed bool          // no worker can send again
	changed       chan struct{} // closed (and replaced) when work arrives, the stream closes or issuing stops
	open          []*Batch      // batches not settled yet, oldest first
	progress      Progress      // committed counts; the writer's, read under mu
}

// modelRun is one model's part of a stream.
type modelRun struct {
	s         *Stream
	mi        int
	model     Model
	ep        *endpoint
	ctx       context.Context // issue, cancelled too when the model stops
	stop      context.CancelCauseFunc
	stopOnce  sync.Once
	throttled atomic.Int64 // 429 answers to this stream's requests

	// Under s.mu:
	queue   []*Batch // batches whose owed samples this model has not all taken yet
	workers int      // workers started
	owed    int64    // samples submitted that the store did not hold
	failed  bool     // stopped on a fatal endpoint error
}

// Batch is one submission of work. Its samples are committed, or given up
// when their model stopped or the stream stopped issuing, before Wait
// returns.
type Batch struct {
	work []Work
	owed []*owedSet // per model

	// Under the stream's mu:
	left    []int64 // per model, owed samples neither committed nor given up
	taken   []int64 // per model, owed samples handed to workers
	pending int64   // sum of left
	err     error   // why samples were given up, the first reason
	done    chan struct{}
}

// Open starts a stream of opts.Models' samples. Cancelling ctx stops its
// new requests and retries (requests in flight finish under the
// scheduler's InFlight); Close ends it. Every Open needs a Close.
func (s *Scheduler) Open(ctx context.Context, opts Options) *Stream {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	st := &Stream{sched: s, opts: opts, ctx: ctx, spend: s.budget(), start: s.opts.Now(),
		results: make(chan result), finished: make(chan struct{}), changed: make(chan struct{})}
	st.issue, st.stopIssuing = context.WithCancelCause(ctx)
	st.reqCtx = ctx
	if s.opts.InFlight != nil {
		st.reqCtx = s.opts.InFlight
	}
	st.unwatch = func() bool { return false }
	if st.spend != nil {
		st.unwatch = context.AfterFunc(st.spend.stopped, func() { st.stopIssuing(ErrBudget) })
	}
	st.progress.Models = make([]ModelProgress, len(opts.Models))
	st.models = make([]*modelRun, len(opts.Models))
	for i, m := range opts.Models {
		mr := &modelRun{s: st, mi: i, model: m, ep: s.endpointOf(m)}
		mr.ctx, mr.stop = context.WithCancelCause(st.issue)
		st.models[i] = mr
		st.progress.Models[i].Model = m.Config.Name
	}
	st.w = &writer{s: st, counts: make([]ModelProgress, len(opts.Models))}
	go st.w.loop()
	context.AfterFunc(st.issue, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.issueDone = true
		st.notify()
		st.maybeFinish()
	})
	return st
}

// Submit plans work: every model's samples that done (Options.Done when
// nil) does not report as stored are owed, and the stream's workers take them after the batches
// submitted before. It fails, submitting nothing, when a prompt does not
// render, and after Close. A batch submitted once the stream has stopped
// issuing is given up at once.
func (st *Stream) Submit(work []Work, done func(key string) bool) (*Batch, error) {
	if done == nil {
		done = st.opts.holds
	}
	b := &Batch{work: work, owed: make([]*owedSet, len(st.models)), left: make([]int64, len(st.models)),
		taken: make([]int64, len(st.models)), done: make(chan struct{})}
	for i := range b.owed {
		b.owed[i] = newOwedSet(len(work), st.opts.Sampling.Samples)
	}
	err := EachKey(work, st.opts, func(p Planned) error {
		if !done(p.Key) {
			b.owed[p.Model].add(p.Work, p.SampleIndex)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return nil, errors.New("submit to a closed stream")
	}
	planned := int64(len(work)) * int64(max(st.opts.Sampling.Samples, 0))
	for i, mr := range st.models {
		mp := &st.progress.Models[i]
		mp.Total += planned
		mp.Stored += planned - b.owed[i].count
		if b.owed[i].count > 0 && mr.failed && b.err == nil {
			b.err = mr.stopReason()
		}
		if b.owed[i].count == 0 || mr.failed {
			continue
		}
		b.left[i] = b.owed[i].count
		b.pending += b.left[i]
		mr.owed += b.owed[i].count
		mr.queue = append(mr.queue, b)
	}
	switch {
	case b.pending == 0:
		close(b.done)
		return b, nil
	case st.resultsClosed || st.issueDone:
		b.err = st.stopCause()
		close(b.done)
		return b, nil
	}
	st.open = append(st.open, b)
	for _, mr := range st.models {
		mr.startWorkers()
	}
	st.notify()
	return b, nil
}

// Wait returns once every owed sample of the batch is committed (nil), or
// given up: then it returns why (a model stopped, the budget, a cancelled
// stream, a failed commit). A sample sent before its model stopped or the
// stream stopped issuing is committed before Wait returns. It returns
// ctx's error when ctx is done first.
func (b *Batch) Wait(ctx context.Context) error {
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the stream: no more batches; it waits for every request and
// commit, and returns the stream's summary. It returns the context's error
// when the stream was cancelled, after committing every sample that
// finished; a commit error, which stopped the stream; an error wrapping
// ErrBudget when the budget stopped samples this stream owed; and an error
// wrapping ErrModelStopped (of StoppedError values) when a model stopped on
// a fatal endpoint error while the others went on.
func (st *Stream) Close() (Summary, error) {
	st.mu.Lock()
	st.closed = true
	st.notify()
	st.maybeFinish()
	st.mu.Unlock()
	<-st.finished
	st.unwatch()
	st.stopIssuing(nil)
	sum := st.snapshot()
	if err := st.w.err; err != nil {
		return sum, err
	}
	if err := st.ctx.Err(); err != nil {
		return sum, err
	}
	var errs []error
	if spent, over := st.spend.exhausted(); over && st.unsent() {
		errs = append(errs, fmt.Errorf("stop sampling: %w: spent $%.6g of the $%.6g budget", ErrBudget, spent, st.spend.limit))
	}
	var stopped stoppedModels
	for _, mr := range st.models {
		if err := mr.stopReason(); err != nil {
			stopped = append(stopped, err)
		}
	}
	if len(stopped) > 0 {
		errs = append(errs, fmt.Errorf("%w: %w", ErrModelStopped, stopped))
	}
	if len(errs) == 1 {
		return sum, errs[0]
	}
	return sum, errors.Join(errs...)
}

// unsent reports whether a model that did not stop left owed samples
// uncommitted.
func (st *Stream) unsent() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, mr := range st.models {
		if !mr.failed && st.progress.Models[i].Done < mr.owed {
			return true
		}
	}
	return false
}

// notify wakes the workers waiting for work; st.mu is held.
func (st *Stream) notify() {
	close(st.changed)
	st.changed = make(chan struct{})
}

// maybeFinish closes the results once no worker runs and none can start:
// the stream is closed or has stopped issuing. The writer then commits what
// it holds, settles every batch and closes finished. st.mu is held.
func (st *Stream) maybeFinish() {
	if !st.resultsClosed && st.active == 0 && (st.closed || st.issueDone) {
		st.resultsClosed = true
		close(st.results)
	}
}

// stopCause is why the stream gives up samples it was owed: the budget, a
// failed commit, or the context's error (the stream's, or the in-flight
// one's: a worker can see either cancelled before the cancellation reaches
// the stream's own contexts). st.mu need not be held.
func (st *Stream) stopCause() error {
	for _, ctx := range []context.Context{st.issue, st.ctx, st.reqCtx} {
		if err := context.Cause(ctx); err != nil {
			return err
		}
	}
	return errors.New("stream closed")
}

// startWorkers starts the model's workers, up to the endpoint's configured
// concurrency and at most one per owed sample; st.mu is held.
func (mr *modelRun) startWorkers() {
	st := mr.s
	for int64(mr.workers) < min(int64(mr.ep.slots.max), mr.owed) && !mr.failed {
		mr.workers++
		st.active++
		go mr.work()
	}
}

// stopReason is the fatal error that stopped the model (a *StoppedError),
// or nil.
func (mr *modelRun) stopReason() error {
	var se *StoppedError
	if errors.As(context.Cause(mr.ctx), &se) {
		return se
	}
	return nil
}

// fail stops the model for the rest of the stream on a fatal endpoint
// error: its workers stop, and its owed samples are given up.
func (mr *modelRun) fail(err error) {
	mr.stopOnce.Do(func() {
		se := &StoppedError{Model: mr.model.Config.Name, Err: err}
		mr.stop(se)
		mr.s.results <- result{model: mr.mi, failed: se}
	})
}

// work is one worker: it takes the model's requests one after another and
// sends them until none is left and the stream is closed, or the model or
// the stream stops.
func (mr *modelRun) work() {
	defer func() {
		st := mr.s
		st.mu.Lock()
		st.active--
		st.maybeFinish()
		st.mu.Unlock()
	}()
	var last rendered
	for {
		r, ok := mr.next(&last)
		if !ok || mr.send(&r) != nil {
			return
		}
	}
}

// next waits for the model's next request: the oldest batch's owed samples
// not taken yet, at most the endpoint's n cap. ok is false once the model
// or the stream stops, or the stream is closed with nothing left. A prompt
// that does not render stops the model, its samples given up.
func (mr *modelRun) next(last *rendered) (request, bool) {
	st := mr.s
	for {
		if mr.ctx.Err() != nil {
			return request{}, false
		}
		st.mu.Lock()
		for len(mr.queue) > 0 {
			b := mr.queue[0]
			if wi, indices, ok := b.owed[mr.mi].take(mr.ep.requestCap()); ok {
				b.taken[mr.mi] += int64(len(indices))
				st.mu.Unlock()
				r, err := mr.build(b, wi, indices, last)
				if err != nil {
					mr.fail(err)
					st.results <- result{model: mr.mi, batch: b, abandoned: int64(len(indices))}
					return request{}, false
				}
				return r, true
			}
			mr.queue[0] = nil
			mr.queue = mr.queue[1:]
		}
		if st.closed {
			st.mu.Unlock()
			return request{}, false
		}
		changed := st.changed
		st.mu.Unlock()
		select {
		case <-changed:
		case <-mr.ctx.Done():
		}
	}
}

// snapshot copies the committed counts and adds what the workers count as
// it happens: 429s and the n cap learned.
func (st *Stream) snapshot() Progress {
	st.mu.Lock()
	p := Progress{Models: append([]ModelProgress(nil), st.progress.Models...)}
	st.mu.Unlock()
	p.Elapsed = st.sched.opts.Now().Sub(st.start)
	for i, mr := range st.models {
		p.Models[i].Throttled = mr.throttled.Load()
		p.Models[i].NCap = int(mr.ep.nCap.Load())
	}
	return p
}
