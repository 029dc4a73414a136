package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/judge"
	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
)

// judgeChunk is how many generations the judge stage scores and commits at
// a time (Run.chunkSize): enough to keep every core busy, few enough that
// memory stays flat.
const judgeChunk = 4096

// judgeAll scores every stored sample of the plan that a judge has no
// decided verdict on under its current configuration, streaming the store
// in chunks. Samples that failed get an error verdict without calling the
// judge. It returns, per llm judge, the verdicts that failed calls left
// undecided.
func (x *execution) judgeAll(ctx context.Context) (callsFailed map[string]int, err error) {
	defer x.begin(Judge)()
	callsFailed = map[string]int{}
	for _, je := range x.judges {
		decided, err := x.st.DecidedKeys(ctx, je.cfg.Name, je.hash)
		if err != nil {
			return nil, err
		}
		if x.parts != nil {
			decided = keyset.Union(decided, x.parts.scored[je.cfg.Name])
		}
		if decided.Covers(x.keys) {
			continue // every planned sample has a verdict: no need to read the store
		}
		if je.batch != nil {
			callsFailed[je.cfg.Name], err = x.judgeWithCalls(ctx, je, decided)
		} else {
			err = x.eachChunk(ctx, decided, func(gens []record.Generation) error { return x.judgeChunk(ctx, je, gens) })
		}
		if err != nil {
			return nil, err
		}
	}
	return callsFailed, nil
}

// eachChunk calls fn with the plan's stored samples not in decided, in
// output order, judgeChunk at a time. fn must not keep the slice.
func (x *execution) eachChunk(ctx context.Context, decided *keyset.Set, fn func([]record.Generation) error) error {
	var todo []record.Generation
	flush := func() error {
		err := fn(todo)
		clear(todo)
		todo = todo[:0]
		return err
	}
	err := x.eachGeneration(ctx, func(g record.Generation) error {
		if decided.Has(g.Key) {
			return nil
		}
		if todo = append(todo, g); len(todo) < x.chunkSize {
			return nil
		}
		return flush()
	})
	if err == nil && len(todo) > 0 {
		err = flush()
	}
	return err
}

// verdictGroup is the most verdicts one commit stores: the judge stage
// commits verdicts as they come, so a kill loses at most the group being
// committed and the verdicts in flight.
const verdictGroup = 256

// judgeChunk scores gens with a judge that calls no model, on every core,
// committing the verdicts as they come, a group at a time. A verdict
// finished after ctx was cancelled is dropped (it may be the
// cancellation's, not the judge's): the next pass scores it again.
func (x *execution) judgeChunk(ctx context.Context, je judgeEntry, gens []record.Generation) error {
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	workers := runtime.GOMAXPROCS(0)
	if w, ok := je.j.(interface{ Workers() int }); ok {
		workers = max(workers, w.Workers())
	}
	results := make(chan record.Score)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(workers, len(gens)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(gens) {
					return
				}
				s, err := x.score(wctx, je, gens[i])
				if err != nil {
					stop(err) // the judge stopped for good: no verdict of it is stored
					return
				}
				if wctx.Err() != nil {
					return
				}
				select {
				case results <- s:
				case <-wctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	var group []record.Score
	var err error
	for s := range results {
		group = append(group, s)
	take:
		for len(group) < verdictGroup {
			select {
			case s, ok := <-results:
				if !ok {
					break take
				}
				group = append(group, s)
			default:
				break take
			}
		}
		if err == nil {
			if err = x.st.PutScores(context.WithoutCancel(ctx), group, je.hash); err != nil {
				stop(err) // what cannot be stored must not be judged on
			}
		}
		group = group[:0]
	}
	if err != nil {
		return err
	}
	if err := context.Cause(wctx); errors.Is(err, judge.ErrStopped) {
		return fmt.Errorf("judge %q: %w", je.cfg.Name, err)
	}
	return ctx.Err()
}

// score is je's verdict row on g: an error verdict for a failed sample,
// or for a judge that failed on this output. A judge that stopped for good
// (judge.ErrStopped: its program speaks another protocol, or hangs) gives
// no verdict but its error: storing one would make it final.
func (x *execution) score(ctx context.Context, je judgeEntry, g record.Generation) (record.Score, error) {
	if g.Error != "" {
		return verdictRow(je, g, judge.Verdict{Status: record.StatusError, Detail: "generation failed: " + g.Error}), nil
	}
	v, err := je.j.Judge(ctx, *x.byID[g.QueryID], g.OutputText)
	if errors.Is(err, judge.ErrStopped) {
		return record.Score{}, err
	}
	if err != nil {
		v = judge.Verdict{Status: record.StatusError, Detail: err.Error()}
	}
	return verdictRow(je, g, v), nil
}

// verdictRow is the stored row of je's verdict v on g.
func verdictRow(je judgeEntry, g record.Generation, v judge.Verdict) record.Score {
	return record.Score{GenerationKey: g.Key, QueryID: g.QueryID, VariantID: g.VariantID, Model: g.Model,
		SampleIndex: g.SampleIndex, Judge: je.cfg.Name, Status: v.Status, Score: v.Score, Passed: v.Passed,
		Extracted: v.Extracted, Detail: v.Detail}
}

// chunksInFlight is how many chunks a judge that calls a model works on at
// once: while the last calls of one are answered, the next one's are
// already queued, so the endpoint never idles between chunks.
const chunksInFlight = 2

// judgeWithCalls scores the undecided samples with a judge that calls a
// model. Its calls are one stream of the run's scheduler, so they share the
// judge model's endpoint (limits, what was learned of it) and the budget
// with every other call of the run, and every call is stored before it
// counts: rate-limited, retried, resumed after a crash without paying
// twice, cached, costed. Chunks overlap (chunksInFlight); a chunk's
// verdicts are committed once its calls are answered. It returns how many
// verdicts failed calls left undecided.
func (x *execution) judgeWithCalls(ctx context.Context, je judgeEntry, decided *keyset.Set) (callsFailed int, err error) {
	sctx, stopCalls := context.WithCancelCause(ctx)
	defer stopCalls(nil)
	c := &judgeCalls{x: x, je: je, ctx: sctx}
	g, gctx := errgroup.WithContext(sctx)
	g.SetLimit(chunksInFlight)
	err = x.eachChunk(gctx, decided, func(gens []record.Generation) error {
		gens = append([]record.Generation(nil), gens...) // the chunk outlives the callback
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err // an earlier chunk stopped the walk while this one waited for its turn
			}
			err := x.judgeCallChunk(gctx, c, gens)
			if err != nil && !errors.Is(err, sampler.ErrModelStopped) && !errors.Is(err, sampler.ErrBudget) {
				stopCalls(err) // a failed commit: nothing more may be paid for
			}
			return err
		})
		return gctx.Err()
	})
	werr := g.Wait()
	sum, cerr := c.close()
	if c.stream != nil {
		x.emit(Event{Kind: CallEnd, Stage: Judge, Purpose: record.PurposeJudge, Caller: je.cfg.Name, Progress: sum})
	}
	switch {
	case werr != nil:
		err = werr // the first chunk's failure; the walk stopped on it
	case err == nil:
		err = cerr
	}
	if errors.Is(err, sampler.ErrModelStopped) && errors.Is(cerr, sampler.ErrModelStopped) {
		err = cerr // names the model that stopped, as a candidate's stop does
	}
	switch {
	case err == nil:
		return c.failed, nil
	case errors.Is(err, sampler.ErrBudget):
		return 0, fmt.Errorf("judge %q: %w", je.cfg.Name, x.budgetError(err))
	case errors.Is(err, sampler.ErrModelStopped):
		return 0, fmt.Errorf("judge %q: %w", je.cfg.Name, err)
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return 0, err
}

// judgeCallChunk judges one chunk through je's BatchJudge and commits the
// verdicts; the failed samples get an error verdict without a call.
func (x *execution) judgeCallChunk(ctx context.Context, c *judgeCalls, gens []record.Generation) error {
	scores := make([]record.Score, len(gens))
	var items []judge.Item
	var outputs []string
	var asked []int // index in gens of each output asked about
	for i, g := range gens {
		if g.Error != "" {
			scores[i], _ = x.score(ctx, c.je, g) // a failed sample's verdict: no call
			continue
		}
		items = append(items, *x.byID[g.QueryID])
		outputs = append(outputs, g.OutputText)
		asked = append(asked, i)
	}
	sub := make([]record.Generation, len(asked))
	for k, i := range asked {
		sub[k] = gens[i]
	}
	verdicts, err := c.je.batch.JudgeBatch(ctx, func(ctx context.Context, prompts []judge.Prompt, s config.Sampling) ([][]judge.Reply, error) {
		return c.ask(ctx, sub, prompts, s)
	}, items, outputs)
	if err != nil {
		return err
	}
	failed := 0
	for k, v := range verdicts {
		if v.Status == record.StatusCallFailed {
			failed++
		}
		scores[asked[k]] = verdictRow(c.je, gens[asked[k]], v)
	}
	if err := x.st.PutScores(context.WithoutCancel(ctx), scores, c.je.hash); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed += failed
	// The budget is spent: the chunk's verdicts are stored (those it could
	// not pay for undecided), and the walk stops here.
	return c.overBudget
}

// judgeCalls is one judge's stream of calls, opened on its first ask.
type judgeCalls struct {
	x   *execution
	je  judgeEntry
	ctx context.Context // the stream's: cancelled when a chunk fails

	mu       sync.Mutex
	stream   *sampler.Stream
	opts     sampler.Options
	sampling config.Sampling
	failed   int // committed verdicts that failed calls left undecided
	// overBudget is the budget's stop once a chunk's calls met it.
	overBudget error
}

// legacyCallID names an llm judge's call about one generation in the
// call's seed (and so its generation key): the query id under which store
// schema 1 filed the call. Keeping it keeps every call stored by an older
// dars reusable.
func legacyCallID(judgeName, generationKey string) string {
	return "llm-judge:" + judgeName + ":" + generationKey
}

// rubricPrompt sends a rendered prompt as the one user message.
func rubricPrompt() *sampler.Prompt {
	p, err := sampler.NewPrompt(config.Prompt{Template: "{{.Question}}"})
	if err != nil {
		panic(err) // a constant template
	}
	return p
}

// open returns the judge's stream, opened on first use with the sampling
// the judge asks with.
func (c *judgeCalls) open(s config.Sampling) (*sampler.Stream, sampler.Options, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stream == nil {
		x := c.x
		c.sampling = s
		c.opts = sampler.Options{Seed: x.cfg.Seed, Sampling: s, Prompt: rubricPrompt(), Models: []sampler.Model{c.je.model},
			Purpose: record.PurposeJudge, Caller: c.je.cfg.Name, Commit: x.st.PutGenerations,
			Progress: x.callProgress(Judge, record.PurposeJudge, c.je.cfg.Name)}
		c.stream = x.sched.Open(c.ctx, c.opts)
	} else if s != c.sampling {
		return nil, sampler.Options{}, fmt.Errorf("judge %q asked with two samplings (%+v, %+v)", c.je.cfg.Name, c.sampling, s)
	}
	return c.stream, c.opts, nil
}

// close closes the stream, if one was opened.
func (c *judgeCalls) close() (sampler.Summary, error) {
	if c.stream == nil {
		return sampler.Summary{}, nil
	}
	return c.stream.Close()
}

// ask gets the replies to prompts, each about one of gens (prompts[k].Of),
// s.Samples a prompt: those the store or the shared cache holds, the rest
// through the judge's stream. A call that failed, or that was given up
// (the judge model stopped, the budget), is a reply with its error.
func (c *judgeCalls) ask(ctx context.Context, gens []record.Generation, prompts []judge.Prompt, s config.Sampling) ([][]judge.Reply, error) {
	x := c.x
	stream, opts, err := c.open(s)
	if err != nil {
		return nil, err
	}
	work := make([]sampler.Work, len(prompts))
	subjects := make([]string, len(prompts))
	for k, p := range prompts {
		g := gens[p.Of]
		q := &dataset.Query{ID: legacyCallID(c.je.cfg.Name, g.Key), Question: p.Text}
		work[k] = sampler.Work{Query: q, Variant: record.Variant{QueryID: g.QueryID, VariantID: g.VariantID, Text: p.Text}, Subject: g.Key}
		subjects[k] = g.Key
	}
	keys := make([][]string, len(work)) // per prompt, the key of each sample
	err = sampler.EachKey(work, opts, func(p sampler.Planned) error {
		keys[p.Work] = append(keys[p.Work], p.Key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	before, err := c.stored(ctx, subjects, nil)
	if err != nil {
		return nil, err
	}
	if x.cfg.Cache != "" {
		var want keyset.Builder
		for _, ks := range keys {
			for _, k := range ks {
				if !before.Has(k) {
					want.Add(k) // a planned key: well-formed
				}
			}
		}
		if err := x.callsFromCache(ctx, record.PurposeJudge, c.je.cfg.Name, subjects, want.Set()); err != nil {
			return nil, err
		}
		if before, err = c.stored(ctx, subjects, nil); err != nil {
			return nil, err
		}
	}
	b, err := stream.Submit(work, before.Has)
	if err != nil {
		return nil, err
	}
	waitErr := b.Wait(ctx)
	// What finished is paid for and committed: read it and share it even
	// when the stream stopped early (a second Ctrl-C cuts this short).
	rctx := x.afterStop(ctx)
	replies := map[string]record.Generation{}
	if _, err := c.stored(rctx, subjects, replies); err != nil {
		return nil, errors.Join(waitErr, err)
	}
	if x.cfg.Cache != "" {
		var fresh []record.Generation
		for k, g := range replies {
			if g.Error == "" && !before.Has(k) {
				fresh = append(fresh, g)
			}
		}
		if err := x.callsToCache(rctx, fresh); err != nil {
			return nil, errors.Join(waitErr, err)
		}
	}
	if waitErr != nil && !errors.Is(waitErr, sampler.ErrBudget) && !errors.Is(waitErr, sampler.ErrModelStopped) {
		return nil, waitErr // cancelled, or a commit failed: no verdict of the chunk is kept
	}
	if errors.Is(waitErr, sampler.ErrModelStopped) {
		return nil, waitErr // as a candidate's stop does, the judge's stops the run here
	}
	if errors.Is(waitErr, sampler.ErrBudget) {
		c.mu.Lock()
		c.overBudget = waitErr
		c.mu.Unlock()
	}
	out := make([][]judge.Reply, len(prompts))
	for k := range prompts {
		out[k] = make([]judge.Reply, len(keys[k]))
		for v, key := range keys[k] {
			g, ok := replies[key]
			switch {
			case !ok && waitErr != nil:
				out[k][v].Error = "not sent: " + waitErr.Error()
			case !ok:
				out[k][v].Error = "no stored reply"
			case g.Error != "":
				out[k][v].Error = g.Error
			default:
				out[k][v].Text = g.OutputText
			}
		}
	}
	return out, nil
}

// stored reads the judge's stored calls about subjects (storedCalls).
func (c *judgeCalls) stored(ctx context.Context, subjects []string, into map[string]record.Generation) (*keyset.Set, error) {
	return c.x.storedCalls(ctx, record.PurposeJudge, c.je.cfg.Name, subjects, into)
}

// storedCalls reads the calls of purpose by caller about subjects through
// the store's calls index. It returns the keys of those without error
// (calls not to make again) and, when into is not nil, adds every call to
// it by key.
func (x *execution) storedCalls(ctx context.Context, purpose, caller string, subjects []string, into map[string]record.Generation) (*keyset.Set, error) {
	var done keyset.Builder
	for _, s := range slices.Compact(slices.Sorted(slices.Values(subjects))) {
		err := x.st.Calls(ctx, purpose, caller, s, func(g record.Generation) error {
			// A key can be stored twice: a call filed by store schema 1 under
			// a made-up id the migration could not resolve, answered again
			// since. The answer wins over the error.
			if old, ok := into[g.Key]; into != nil && (!ok || old.Error != "") {
				into[g.Key] = g
			}
			if g.Error != "" {
				return nil
			}
			return done.Add(g.Key)
		})
		if err != nil {
			return nil, err
		}
	}
	return done.Set(), nil
}
