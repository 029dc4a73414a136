package sampler

import (
	"context"
	"time"

	"github.com/darslabs/dars/pkg/record"
)

// writer is the one owner of Commit: it batches finished samples, commits
// them, and only then counts them as done.
type writer struct {
	opts     Options
	start    time.Time
	progress Progress
	pending  []record.Generation
	counts   []ModelProgress // per model, what waits for the next commit
	err      error           // the first commit error; later batches are dropped
}

// loop reads results until the channel closes. It always drains the channel,
// so no worker can block on a send; a commit error cancels nothing by itself
// but makes every later batch fail fast and is returned by Run.
func (w *writer) loop(ctx context.Context, results <-chan result) {
	commitCtx := context.WithoutCancel(ctx) // what finished is stored even after Ctrl-C
	w.counts = make([]ModelProgress, len(w.progress.Models))
	tick := time.NewTicker(w.opts.Flush)
	defer tick.Stop()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				w.commit(commitCtx)
				return
			}
			if r.failed != "" {
				w.progress.Models[r.model].Failed = r.failed
				continue
			}
			w.pending = append(w.pending, r.rows...)
			c := &w.counts[r.model]
			c.Requests += r.requests
			c.Retries += r.retries
			for _, g := range r.rows {
				c.Done++
				if g.Error != "" {
					c.Errors++
				}
				c.PromptTokens += g.PromptTokens
				c.CompletionTokens += g.CompletionTokens
				c.CostUSD += g.CostUSD
			}
			if len(w.pending) >= w.opts.BatchSize {
				w.commit(commitCtx)
			}
		case <-tick.C:
			w.commit(commitCtx)
		}
	}
}

func (w *writer) commit(ctx context.Context) {
	if len(w.pending) == 0 || w.err != nil {
		w.pending = w.pending[:0]
		return
	}
	if err := w.opts.Commit(ctx, w.pending); err != nil {
		w.err = err
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
		m.PromptTokens += c.PromptTokens
		m.CompletionTokens += c.CompletionTokens
		m.CostUSD += c.CostUSD
		*c = ModelProgress{}
	}
	if w.opts.Progress != nil {
		w.opts.Progress(w.snapshot())
	}
}

func (w *writer) snapshot() Progress {
	p := Progress{Models: append([]ModelProgress(nil), w.progress.Models...), Elapsed: w.opts.Now().Sub(w.start)}
	return p
}
