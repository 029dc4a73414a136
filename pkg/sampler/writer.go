package sampler

import (
	"context"

	"github.com/darslabs/dars/pkg/record"
)

// result is what a worker hands the writer: finished samples of one model
// and batch, or the error that stopped that model.
type result struct {
	model          int
	batch          *Batch
	rows           []record.Generation
	requests       int64 // requests sent since this worker's last result
	retries        int64
	usageEstimated int64 // rows whose tokens were estimated
	abandoned      int64 // samples of batch the worker gave up on (the model or the stream stopped)
	failed         *StoppedError
}

// writer is a stream's one owner of Commit: it batches finished samples,
// commits them, and only then counts them as done and settles batches.
type writer struct {
	s       *Stream
	pending []record.Generation
	settle  []settled       // what the pending rows settle once committed
	counts  []ModelProgress // per model, what waits for the next commit
	err     error           // the first commit error; later groups are dropped
}

// settled is how many of a batch's samples of one model a commit settles:
// stored, or given up.
type settled struct {
	batch     *Batch
	model     int
	n         int64
	abandoned bool
}

// loop reads results until the channel closes, committing in groups: it
// takes every result already waiting (up to BatchSize samples) and commits
// them at once, so a quiet stream commits each response as it lands and a
// busy one commits large batches. What a kill -9 can lose is only what sits
// in the channel and the group being committed. It always drains the
// channel, so no worker can block on a send; after a commit error later
// groups are dropped. When the channel closes it settles every batch left
// and closes the stream's finished.
func (w *writer) loop() {
	st := w.s
	commitCtx := context.WithoutCancel(st.ctx) // what finished is stored even after Ctrl-C
	for {
		r, ok := <-st.results
		if !ok {
			break
		}
		w.add(r)
	group:
		for len(w.pending) < st.opts.BatchSize {
			select {
			case r, ok := <-st.results:
				if !ok {
					break group
				}
				w.add(r)
			default:
				break group
			}
		}
		w.commit(commitCtx)
	}
	w.commit(commitCtx)
	st.mu.Lock()
	cause := st.stopCause()
	for _, b := range st.open {
		b.giveUp(cause)
	}
	st.open = nil
	st.mu.Unlock()
	close(st.finished)
}

// add takes one worker's result into the pending group; a stopped model
// gives up its samples at once.
func (w *writer) add(r result) {
	if r.failed != nil {
		w.stopModel(r.model, r.failed)
		if w.s.opts.Progress != nil {
			w.s.opts.Progress(w.s.snapshot()) // the stop is news at once
		}
		return
	}
	w.pending = append(w.pending, r.rows...)
	if len(r.rows) > 0 {
		w.settle = append(w.settle, settled{batch: r.batch, model: r.model, n: int64(len(r.rows))})
	}
	if r.abandoned > 0 {
		w.settle = append(w.settle, settled{batch: r.batch, model: r.model, n: r.abandoned, abandoned: true})
	}
	c := &w.counts[r.model]
	c.Requests += r.requests
	c.Retries += r.retries
	c.UsageEstimated += r.usageEstimated
	for _, g := range r.rows {
		c.Done++
		if g.Error != "" {
			c.Errors++
		}
		c.PromptTokens += g.PromptTokens
		c.CompletionTokens += g.CompletionTokens
		c.CostUSD += g.CostUSD
	}
}

// stopModel records why model mi stopped and gives up the samples no
// worker took of every open batch; the ones in flight settle as they come
// back, committed or given up by their worker.
func (w *writer) stopModel(mi int, why *StoppedError) {
	st := w.s
	st.mu.Lock()
	defer st.mu.Unlock()
	mr := st.models[mi]
	mr.failed = true
	mr.queue = nil
	st.progress.Models[mi].Failed = why.Error()
	st.open = settleBatches(st.open, func(b *Batch) {
		if n := min(b.owed[mi].count-b.taken[mi], b.left[mi]); n > 0 {
			b.pending -= n
			b.left[mi] -= n
			if b.err == nil {
				b.err = why
			}
		}
	})
}

// commit stores the pending group, then counts it and settles its batches,
// given-up samples included.
func (w *writer) commit(ctx context.Context) {
	st := w.s
	if len(w.pending) == 0 && len(w.settle) == 0 {
		return
	}
	if w.err == nil && len(w.pending) > 0 {
		if err := st.opts.Commit(ctx, w.pending); err != nil {
			w.err = err
			st.stopIssuing(err) // what cannot be stored must not be paid for
		}
	}
	w.pending = w.pending[:0]
	st.mu.Lock()
	if w.err == nil {
		for i := range w.counts {
			c, m := &w.counts[i], &st.progress.Models[i]
			m.Done += c.Done
			m.Errors += c.Errors
			m.Requests += c.Requests
			m.Retries += c.Retries
			m.UsageEstimated += c.UsageEstimated
			m.PromptTokens += c.PromptTokens
			m.CompletionTokens += c.CompletionTokens
			m.CostUSD += c.CostUSD
		}
		for _, s := range w.settle {
			n := min(s.n, s.batch.left[s.model])
			s.batch.left[s.model] -= n
			s.batch.pending -= n
			if s.abandoned && s.batch.err == nil {
				if s.batch.err = st.models[s.model].stopReason(); s.batch.err == nil {
					s.batch.err = st.stopCause()
				}
			}
		}
		st.open = settleBatches(st.open, nil)
	}
	clear(w.counts)
	clear(w.settle)
	w.settle = w.settle[:0]
	st.mu.Unlock()
	if w.err == nil && st.opts.Progress != nil {
		st.opts.Progress(st.snapshot())
	}
}

// settleBatches applies fn (when not nil) to every open batch, closes the
// done of those with nothing pending, and returns the others in order.
func settleBatches(open []*Batch, fn func(*Batch)) []*Batch {
	kept := open[:0]
	for _, b := range open {
		if fn != nil {
			fn(b)
		}
		if b.pending <= 0 {
			close(b.done)
			continue
		}
		kept = append(kept, b)
	}
	clear(open[len(kept):])
	return kept
}

// giveUp settles b with its pending samples given up for cause.
func (b *Batch) giveUp(cause error) {
	if b.err == nil {
		b.err = cause
	}
	b.pending = 0
	clear(b.left)
	close(b.done)
}
