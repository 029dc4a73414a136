package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// Stage is a set of the stages of a run.
type Stage uint8

// The stages, in the order Execute runs them.
const (
	Sample     Stage = 1 << iota // sample the candidates → generations.parquet, variants.parquet
	Judge                        // score every stored sample with every judge → scores.parquet
	Labels                       // build the labels → labels.parquet, routes.parquet
	Paraphrase                   // the rewriter's rewrites → variants.parquet, rewrites.parquet
)

// All is every stage, in order: what `dars run` does.
const All = Paraphrase | Sample | Judge | Labels

func (s Stage) String() string {
	switch s {
	case Paraphrase:
		return "paraphrase"
	case Sample:
		return "sample"
	case Judge:
		return "judge"
	case Labels:
		return "labels"
	}
	return fmt.Sprintf("stages(%d)", uint8(s))
}

// ErrIncomplete is wrapped by Execute's error when the run finished but
// left work undone that a later run does: samples that failed for good
// (recorded with their errors in generations.parquet) or llm-judge calls
// that failed (their verdicts are errors in scores.parquet until a judge
// pass asks again). Every output was written.
var ErrIncomplete = errors.New("run incomplete")

// incompleteError says what a finished run left undone; it is ErrIncomplete.
type incompleteError struct{ msg string }

func (e *incompleteError) Error() string        { return e.msg }
func (e *incompleteError) Is(target error) bool { return target == ErrIncomplete }

func incompletef(format string, args ...any) error {
	return &incompleteError{msg: fmt.Sprintf(format, args...)}
}

// Result is what Execute did.
type Result struct {
	Manifest Manifest         // as written to manifest.json
	Sample   *sampler.Summary // the sampling stream's summary; nil when sampling did not run
	// Skipped are the stages asked for that this run did not do: labels
	// (and the report) of a shard, which need every shard's samples.
	Skipped Stage
	// Finished reports that every stage asked for ran and manifest.json was
	// written, even when Execute's error says some work is left undone
	// (ErrIncomplete, a stopped model, the budget).
	Finished bool
}

// Execute runs the given stages in order under the run directory's store
// lock, then writes manifest.json. A shard runs sample and judge only: its
// labels wait for every shard (Result.Skipped says so), and asking a shard
// for labels alone is an input error. Sampling problems that leave samples
// undone (a stopped model, the budget) do not stop the stages after it;
// Execute then returns them after the manifest. A judge whose model stops
// or runs out of budget stops the run there, its finished verdicts kept. It returns an error
// wrapping ErrIncomplete when the run finished with failed samples or
// failed judge calls, and the context's error when cancelled, after
// committing what finished.
func (r *Run) Execute(ctx context.Context, stages Stage) (res Result, err error) {
	start := time.Now()
	if r.opts.Shard.Active() && stages&Labels != 0 {
		if stages == Labels {
			return res, problem.Input(errors.New("labels: --shard: labels need every shard's samples (costs are normalised over the whole data set)"),
				"run `dars labels` without --shard once every shard is done")
		}
		stages &^= Labels
		res.Skipped = Labels
	}
	if stages == Paraphrase && r.cfg.Paraphrase.Count <= 0 {
		return res, problem.Input(errors.New("paraphrase: paraphrase.count is 0 in the run file: there is nothing to rewrite"),
			"set paraphrase.count to the number of variants each query should have besides the original, and paraphrase.model to the rewriting model")
	}
	st, err := r.openStore(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	x := &execution{Run: r, st: st, timings: map[string]float64{}}
	if stages&(Paraphrase|Sample|Judge) != 0 {
		if err := x.setBudget(ctx); err != nil {
			return res, err
		}
	}
	var (
		later       error // what stopped sampling short: returned after the manifest
		done        counted
		callsFailed map[string]int // per llm judge, verdicts its failed calls left undecided
	)
	if stages&Paraphrase != 0 && x.cfg.Paraphrase.Count > 0 {
		t, err := x.paraphrase(ctx)
		if err != nil {
			return res, err
		}
		x.rewrites = &t
		if err := x.exportRewrites(ctx); err != nil {
			return res, err
		}
	}
	// The rewrites the store kept are variants like the given ones, for
	// every stage after this one.
	if err := x.addRewriteVariants(ctx); err != nil {
		return res, err
	}
	if stages&Paraphrase != 0 && stages&Sample == 0 {
		if err := parquetio.WriteVariants(x.path("variants.parquet"), x.variants, x.meta()); err != nil {
			return res, err
		}
	}
	if stages&Sample != 0 {
		sum, err := x.sample(ctx)
		res.Sample = sum
		if err != nil && !errors.Is(err, sampler.ErrModelStopped) && !errors.Is(err, sampler.ErrBudget) {
			return res, err
		}
		later = err
		if done.gens, err = x.exportSamples(ctx); err != nil {
			return res, err
		}
	}
	if stages&Judge != 0 {
		if callsFailed, err = x.judgeAll(ctx); err != nil {
			return res, errors.Join(later, err) // a candidate that stopped too is said, not lost
		}
		if done.scores, err = x.exportScores(ctx); err != nil {
			return res, err
		}
	}
	if stages&Labels != 0 {
		if err := x.labels(ctx); err != nil {
			return res, err
		}
	}
	if res.Manifest, err = x.writeManifest(ctx, done, res.Sample, time.Since(start)); err != nil {
		return res, err
	}
	res.Finished = true
	if later != nil {
		return res, later
	}
	return res, x.incomplete(res.Manifest, callsFailed)
}

// openStore makes the run directory and opens its store, taking its lock.
func (r *Run) openStore(ctx context.Context) (*store.Store, error) {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return nil, problem.Input(fmt.Errorf("create output directory: %w", err), "")
	}
	st, err := store.Open(ctx, r.dir)
	if err != nil {
		return nil, storeProblem(err)
	}
	if err := r.checkStore(ctx, st); err != nil {
		return nil, errors.Join(err, st.Close())
	}
	// Under the lock no other write can be going on: what a killed export
	// left behind goes.
	removed := 0
	for _, name := range outputFiles {
		n, err := parquetio.RemoveStaleTemps(r.path(name))
		removed += n
		if err != nil {
			return nil, errors.Join(err, st.Close())
		}
	}
	if removed > 0 {
		r.opts.Log.Info("removed temp files a killed export left", "files", removed, "dir", r.dir)
	}
	return st, nil
}

// outputFiles are the files a run writes beside its store.
var outputFiles = [...]string{"variants.parquet", "rewrites.parquet", "generations.parquet", "sim_truth.parquet", "scores.parquet",
	"labels.parquet", "routes.parquet", "manifest.json"}

// storeProblem marks the store errors a user can fix as input problems,
// with the fix.
func storeProblem(err error) error {
	switch {
	case errors.Is(err, store.ErrLocked):
		return problem.Input(err, "wait for the other run to finish, or give this one another --out or run name")
	case errors.Is(err, store.ErrNewerSchema):
		return problem.Input(err, "this store was written by a newer dars: use that dars, or another --out (or cache:)")
	case errors.Is(err, store.ErrOlderSchema):
		return problem.Input(err, "a run (not a dry run) of this dars migrates it; then dry-run again")
	case errors.Is(err, store.ErrCorrupt):
		return problem.Hint(fmt.Errorf("%w: %w", ErrDamagedStore, err), recoverHint)
	}
	return err
}

// execution is one Execute: the run, its store, and what its stages
// measured for the manifest.
type execution struct {
	*Run
	st      *store.Store
	timings map[string]float64 // seconds per stage, this Execute
	budget  runBudget
	emitMu  sync.Mutex
	// rewrites is what the paraphrase stage left; nil when it did not run.
	rewrites *rewriteTally
}

// counted is what export passes counted of the final rows, for the
// manifest to reuse instead of reading them again; nil for a pass that did
// not run.
type counted struct {
	gens, scores *tally
}

// begin reports stage started and returns the function that reports it
// ended and adds its time to the manifest's timings.
func (x *execution) begin(stage Stage) (end func()) {
	start := time.Now()
	x.emit(Event{Kind: StageStart, Stage: stage})
	return func() {
		d := time.Since(start)
		x.timings[stage.String()] += d.Seconds()
		x.emit(Event{Kind: StageEnd, Stage: stage, Elapsed: d})
	}
}

// timed adds the time since start to what's timing in the manifest.
func (x *execution) timed(what string, start time.Time) {
	x.timings[what] += time.Since(start).Seconds()
}

// incomplete returns an ErrIncomplete error when the run left failed
// samples, or verdicts of failed judge calls (callsFailed, per judge), nil
// otherwise.
func (x *execution) incomplete(m Manifest, callsFailed map[string]int) error {
	if t := x.rewrites; t != nil && t.FailedQueries > 0 {
		return incompletef("%d queries have fewer than paraphrase.count (%d) variants: the rewriter's attempts ran out (see rewrites.parquet); a later run tries again only with a larger paraphrase.max_attempts",
			t.FailedQueries, x.cfg.Paraphrase.Count)
	}
	if m.Counts.GenerationErrors > 0 {
		first := ""
		for _, mm := range m.Models {
			if mm.FirstError != "" {
				first = mm.FirstError
				break
			}
		}
		return incompletef("finished with %d failed samples, recorded with their errors in generations.parquet; the first: %s",
			m.Counts.GenerationErrors, first)
	}
	for _, j := range x.judges {
		if n := callsFailed[j.cfg.Name]; n > 0 {
			return incompletef("judge %q: %d verdicts are errors because calls to its model failed (see scores.parquet); `dars judge` asks for them again",
				j.cfg.Name, n)
		}
	}
	return nil
}
