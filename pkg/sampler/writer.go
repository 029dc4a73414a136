package sampler

import (
	"context"
	"time"

	"github.com/darslabs/dars/pkg/record"
)

// writer is the one owner of Commit: it batches finished samples, commits
// them, and only then counts them as done.
type writer struct {
	stop     func(error) // stops issuing requests
	opts     Options
	start    time.Time
	runs     []*modelRun // per model, for what the workers count themselves
	progress Progress
	pending  []record.Generation
	counts   []ModelProgress // per model, what waits for the next commit
	err      error           // the first commit error; later batches are dropped
}

// loop reads results until the channel closes, committing in groups: it
// takes every result already waiting (up to BatchSize samples) and commits
// them at once, so a quiet run commits each response as it lands and a busy
// one commits large batches. What a kill -9 can lose is only what sits in
// the channel and the group being committed. It always drains the channel,
// so no worker can block on a send; after a commit error later groups are
// dropped and Run returns the error.
func (w *writer) loop(ctx context.Context, results <-chan result) {
	commitCtx := context.WithoutCancel(ctx) // what finished is stored even after Ctrl-C
	w.counts = make([]ModelProgress, len(w.progress.Models))
	for {
		r, ok := <-results
		if !ok {
			return
		}
		w.add(r)
	group:
		for len(w.pending) < w.opts.BatchSize {
			select {
			case r, ok := <-results:
				if !ok {
					w.commit(commitCtx)
					return
				}
				w.add(r)
			default:
				break group
			}
		}
		w.commit(commitCtx)
	}
}

// add takes one worker's result into the pending group.
func (w *writer) add(r result) {
	if r.failed != "" {
		w.progress.Models[r.model].Failed = r.failed
		return
	}
	w.pending = append(w.pending, r.rows...)
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

func (w *writer) commit(ctx context.Context) {
	if len(w.pending) == 0 || w.err != nil {
		w.pending = w.pending[:0]
		return
	}
	if err := w.opts.Commit(ctx, w.pending); err != nil {
		w.err = err
		w.stop(err) // what cannot be stored must not be paid for
		w.pending = w.pending[:0]
		return
	}
	w.pending = w.pending[:0]
	for i := range w.counts {
		c, m := &w.counts[i], &w.progress.Models[i]
		m.Done += c.Done
		m.Errors += c.Errors
		m.Requests += c.Requests
		m.Retries += c.Retries
		m.UsageEstimated += c.UsageEstimated
		m.PromptTokens += c.PromptTokens
		m.CompletionTokens += c.CompletionTokens
		m.CostUSD += c.CostUSD
		*c = ModelProgress{}
	}
	if w.opts.Progress != nil {
		w.opts.Progress(w.snapshot())
	}
}

// snapshot copies the committed counts and adds what the workers count
// as it happens: 429s and the n cap learned.
func (w *writer) snapshot() Progress {
	p := Progress{Models: append([]ModelProgress(nil), w.progress.Models...), Elapsed: w.opts.Now().Sub(w.start)}
	for i, mr := range w.runs {
		p.Models[i].Throttled = mr.throttled.Load()
		p.Models[i].NCap = int(mr.nCap.Load())
	}
	return p
}
