package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/judge"
	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/labels"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// runEnv is everything a stage needs, checked before any work starts.
type runEnv struct {
	cfg      config.Config
	dir      string // <out>/<run>
	queries  []dataset.Query
	byID     map[string]*dataset.Query
	work     []sampler.Work
	variants []record.Variant
	models   []sampler.Model
	judges   []judgeEntry
	opts     sampler.Options
	keys     *keyset.Set        // every generation key the current plan owes
	timings  map[string]float64 // seconds per stage, for the manifest
	shard    shard              // the part of the run this invocation does
	parts    *parts             // what shards wrote (unsharded invocations only; nil when none)

	// judgeCallFailures counts, per llm judge, the verdicts this invocation
	// left as errors because a call to the judge model failed.
	judgeCallFailures map[string]int

	// What this invocation's export passes counted, for the manifest; nil
	// until a pass over the final rows completes.
	genTally, scoreTally *tally
}

// eachGeneration calls fn for every stored generation of the plan, in
// output order, with the shard parts' generations merged in (a key both
// hold is the store's). Rows stream from the store: memory does not grow
// with the run. It stops at fn's first error and returns it.
func (env *runEnv) eachGeneration(ctx context.Context, st *store.Store, fn func(record.Generation) error) error {
	var part []record.Generation
	if env.parts != nil {
		part = env.parts.gens
	}
	return mergeSorted(part, cmpGeneration, func(a, b *record.Generation) bool { return a.Key == b.Key }, fn,
		func(emit func(record.Generation) error) error {
			return st.Generations(ctx, func(g record.Generation) error {
				if !env.keys.Has(g.Key) {
					return nil
				}
				return emit(g)
			})
		})
}

// eachScore calls fn for every stored verdict on the plan's generations by
// a configured judge as configured now, in output order, with the shard
// parts' verdicts merged in. It stops at fn's first error and returns it.
func (env *runEnv) eachScore(ctx context.Context, st *store.Store, fn func(record.Score) error) error {
	// Only verdicts of each judge's current configuration count: a changed
	// judge's old verdicts wait for `dars judge` to replace them.
	current := make(map[string]*keyset.Set, len(env.judges))
	for _, j := range env.judges {
		keys, err := st.ScoredKeys(ctx, j.cfg.Name, j.hash)
		if err != nil {
			return err
		}
		current[j.cfg.Name] = keys
	}
	var part []record.Score
	if env.parts != nil {
		part = env.parts.scores
	}
	same := func(a, b *record.Score) bool { return a.GenerationKey == b.GenerationKey && a.Judge == b.Judge }
	return mergeSorted(part, cmpScore, same, fn, func(emit func(record.Score) error) error {
		return st.Scores(ctx, "", func(s record.Score) error {
			if !env.keys.Has(s.GenerationKey) || !current[s.Judge].Has(s.GenerationKey) {
				return nil
			}
			return emit(s)
		})
	})
}

type judgeEntry struct {
	cfg   config.Judge
	j     judge.Judge
	hash  string
	model *sampler.Model // the model an llm judge calls; nil for other judges
}

// truther is what the simulator offers beyond Provider: the true success
// probability of a variant.
type truther interface {
	TrueP(queryID string, variantID int32) float64
}

// loadConfig reads the run file and applies the flags over it.
func (a *app) loadConfig() (config.Config, error) {
	cfg, err := config.Load(a.g.config)
	if err != nil {
		hint := ""
		if errors.Is(err, fs.ErrNotExist) {
			hint = "write one with `dars init`, or name it with -c FILE"
		}
		return cfg, badInput(err, hint)
	}
	if a.g.out != "" {
		cfg.Out = a.g.out
	}
	if err := cfg.Validate(); err != nil {
		return cfg, badInput(fmt.Errorf("%s: %w", a.g.config, err), "")
	}
	return cfg, nil
}

// loadEnv loads and checks the run file, the data set, the prompt, the
// providers and the judges: every input problem surfaces here, before the
// store is opened or anything is written.
func (a *app) loadEnv() (*runEnv, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	env := &runEnv{cfg: cfg, dir: cfg.RunDir(), timings: map[string]float64{}, shard: a.shard}
	if cfg.Cache != "" && filepath.Clean(cfg.Resolve(cfg.Cache)) == filepath.Clean(env.dir) {
		return nil, badInput(fmt.Errorf("cache: %q is the run's own directory", cfg.Cache), "point cache at a directory of its own, shared by the runs")
	}
	if env.shard.active() {
		env.dir = filepath.Join(env.dir, env.shard.dir())
	}
	f := cfg.Dataset.Fields
	qs, err := dataset.Load(cfg.Resolve(cfg.Dataset.Path), dataset.Options{
		Format: cfg.Dataset.Format, Preset: cfg.Dataset.Preset, Limit: cfg.Dataset.Limit,
		Fields: dataset.Fields{ID: f.ID, Question: f.Question, Answer: f.Answer, Choices: f.Choices,
			Context: f.Context, Task: f.Task, Variants: f.Variants},
		DropRaw: !readsRawRows(cfg.Judges),
	})
	if err != nil {
		return nil, badInput(err, "")
	}
	all := qs
	if env.shard.active() {
		qs = slices.DeleteFunc(slices.Clone(qs), func(q dataset.Query) bool { return !env.shard.holds(q.ID) })
	}
	env.queries = qs
	env.byID = make(map[string]*dataset.Query, len(qs))
	for i := range qs {
		env.byID[qs[i].ID] = &qs[i]
	}
	prompt, err := sampler.NewPrompt(cfg.Prompt)
	if err != nil {
		return nil, badInput(err, "the template is Go text/template over .Question, .Choices, .Letters, .Context, .Task, .ID")
	}
	if _, err := prompt.Render(&all[0], all[0].Question); err != nil {
		return nil, badInput(err, "the template is Go text/template over .Question, .Choices, .Letters, .Context, .Task, .ID")
	}
	for _, m := range cfg.CandidateModels() {
		p, err := provider.New(m)
		if err != nil {
			return nil, badInput(err, "")
		}
		if l, ok := p.(interface{ SetLogger(*slog.Logger) }); ok {
			l.SetLogger(a.log.With("model", m.Name))
		}
		env.models = append(env.models, sampler.Model{Config: m, Provider: p, Endpoint: provider.Identity(m)})
	}
	for i, jc := range cfg.Judges {
		j, err := judge.New(jc)
		if err != nil {
			return nil, badInput(fmt.Errorf("judges[%d]: %w", i, err), "")
		}
		if l, ok := j.(interface{ SetLogger(*slog.Logger) }); ok {
			l.SetLogger(a.log.With("judge", jc.Name))
		}
		je := judgeEntry{cfg: jc, j: j, hash: judge.Hash(jc)}
		if _, ok := j.(*judge.LLM); ok {
			if je.model, err = a.judgeModel(env, jc); err != nil {
				return nil, badInput(fmt.Errorf("judges[%d]: %w", i, err), "")
			}
			// Another endpoint behind the same name judges differently.
			je.hash = judge.HashWith(jc, je.model.Endpoint)
		}
		env.judges = append(env.judges, je)
	}
	env.variants = variantsOf(qs, cfg.Paraphrase.IncludeOriginal)
	env.work = make([]sampler.Work, len(env.variants))
	for i, v := range env.variants {
		env.work[i] = sampler.Work{Query: env.byID[v.QueryID], Variant: v}
	}
	env.opts = sampler.Options{Seed: cfg.Seed, Sampling: cfg.Sampling, Prompt: prompt, Models: env.models}
	if env.keys, err = sampler.PlanKeys(env.work, env.opts); err != nil {
		return nil, badInput(err, "")
	}
	if !env.shard.active() {
		if env.parts, err = env.loadParts(); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// readsRawRows reports whether a judge reads the data set's raw rows
// (Query.Fields): the code judge finds the tests there. Without one the rows
// are not kept.
func readsRawRows(js []config.Judge) bool {
	for _, j := range js {
		if j.Type == "code" {
			return true
		}
	}
	return false
}

// variantsOf lists every query's variants: 0 the original (unless the run
// file leaves it out), then the rewrites the data set gives.
func variantsOf(qs []dataset.Query, includeOriginal bool) []record.Variant {
	var vs []record.Variant
	for _, q := range qs {
		if includeOriginal || len(q.Variants) == 0 {
			vs = append(vs, record.Variant{QueryID: q.ID, VariantID: 0, Source: record.SourceOriginal, Text: q.Question})
		}
		for i, t := range q.Variants {
			vs = append(vs, record.Variant{QueryID: q.ID, VariantID: int32(i + 1), Source: record.SourceGiven, Text: t})
		}
	}
	slices.SortFunc(vs, func(a, b record.Variant) int {
		return cmpRow(a.QueryID, b.QueryID, a.VariantID, b.VariantID, "", "", 0, 0, "", "")
	})
	return vs
}

// openStore opens the run's store, taking its lock.
func (env *runEnv) openStore() (*store.Store, error) {
	st, err := store.Open(env.dir)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, badInput(err, "wait for the other run to finish, or give this one another --out or run name")
		}
		return nil, err
	}
	return st, nil
}

func (env *runEnv) timed(stage string, start time.Time) {
	env.timings[stage] += time.Since(start).Seconds()
}

// sample runs the output side: every missing sample, committed to the store.
func (a *app) sample(ctx context.Context, env *runEnv, st *store.Store) (sampler.Summary, error) {
	defer env.timed("sample", time.Now())
	if err := st.PutVariants(ctx, env.variants); err != nil {
		return sampler.Summary{}, err
	}
	if env.cfg.Cache != "" {
		if err := a.fromCache(ctx, env, st); err != nil {
			return sampler.Summary{}, err
		}
	}
	done, err := st.DoneKeys(ctx)
	if err != nil {
		return sampler.Summary{}, err
	}
	if env.parts != nil {
		done = keyset.Union(done, env.parts.done)
	}
	opts := env.opts
	opts.Done = done.Has
	opts.InFlight = inFlightContext(ctx)
	opts.Log = a.log
	var stored float64
	if a.maxCost > 0 {
		// The budget is the whole run's: what is stored was paid for.
		err := env.eachGeneration(ctx, st, func(g record.Generation) error {
			stored += g.CostUSD
			return nil
		})
		if err != nil {
			return sampler.Summary{}, err
		}
		opts.MaxCostUSD = a.maxCost - stored
		if opts.MaxCostUSD <= 0 {
			return sampler.Summary{}, fmt.Errorf("--max-cost $%.4g: %w: the stored samples cost $%.4g already; raise it to go on", a.maxCost, sampler.ErrBudget, stored)
		}
	}
	opts.Commit = st.PutGenerations
	pr := a.newProgress()
	opts.Progress = pr.update
	sum, err := sampler.Run(ctx, env.work, opts)
	pr.finish(sum)
	if errors.Is(err, sampler.ErrBudget) {
		var spent float64
		for _, m := range sum.Models {
			spent += m.CostUSD
		}
		err = fmt.Errorf("--max-cost $%.4g: %w before passing it (stored $%.4g + this pass $%.4g); raise it and run again to finish", a.maxCost, sampler.ErrBudget, stored, spent)
	}
	if env.cfg.Cache != "" {
		// What finished is worth sharing even when the pass stopped early,
		// but a second Ctrl-C (the in-flight context) cuts the wait short.
		cctx := context.WithoutCancel(ctx)
		if in := inFlightContext(ctx); in != nil {
			cctx = in
		}
		if cerr := a.toCache(cctx, env, st, done); cerr != nil && err == nil {
			err = cerr
		}
	}
	return sum, err
}

// judgeChunk is how many generations the judge stage scores and commits at
// a time: enough to keep every core busy, few enough that memory stays flat.
const judgeChunk = 4096

// judgeAll scores every stored generation of the plan that a judge has not
// scored under its current configuration, streaming the store in chunks.
// Generations that failed get an error verdict without calling the judge.
func (a *app) judgeAll(ctx context.Context, env *runEnv, st *store.Store) error {
	defer env.timed("judge", time.Now())
	for _, je := range env.judges {
		scored, err := st.ScoredKeys(ctx, je.cfg.Name, je.hash)
		if je.model != nil {
			// A verdict left an error by a failed judge call is asked again.
			scored, err = st.ScoredKeysExcept(ctx, je.cfg.Name, je.hash, judge.LLMCallFailed)
		}
		if err != nil {
			return err
		}
		if env.parts != nil {
			scored = keyset.Union(scored, env.parts.scored[je.cfg.Name])
		}
		if scored.Covers(env.keys) {
			continue // every planned sample has a current verdict: no need to read the store
		}
		var todo []record.Generation
		n := 0
		flush := func() error {
			n += len(todo)
			err := a.judgeBatch(ctx, env, st, je, todo)
			clear(todo)
			todo = todo[:0]
			return err
		}
		err = env.eachGeneration(ctx, st, func(g record.Generation) error {
			if scored.Has(g.Key) {
				return nil
			}
			todo = append(todo, g)
			if len(todo) < judgeChunk {
				return nil
			}
			return flush()
		})
		if err == nil && len(todo) > 0 {
			err = flush()
		}
		if err != nil {
			return err
		}
		if n > 0 {
			a.log.Debug("judged", "judge", je.cfg.Name, "generations", n)
		}
	}
	return nil
}

// judgeBatch scores gens with one judge on every core and commits the
// verdicts. A cancelled ctx stops it before the commit: nothing half-scored
// is stored, and the next pass scores the batch again.
func (a *app) judgeBatch(ctx context.Context, env *runEnv, st *store.Store, je judgeEntry, gens []record.Generation) error {
	if je.model != nil {
		return a.judgeLLMBatch(ctx, env, st, je, gens)
	}
	scores := make([]record.Score, len(gens))
	g, gctx := errgroup.WithContext(ctx)
	workers := runtime.GOMAXPROCS(0)
	if w, ok := je.j.(interface{ Workers() int }); ok {
		workers = max(workers, w.Workers())
	}
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			for i := w; i < len(gens); i += workers {
				if err := gctx.Err(); err != nil {
					return err
				}
				scores[i] = score(gctx, je, env.byID[gens[i].QueryID], gens[i])
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // the last verdicts may be the cancellation's, not the judge's
	}
	return st.PutScores(context.WithoutCancel(ctx), scores, je.hash)
}

func score(ctx context.Context, je judgeEntry, q *dataset.Query, g record.Generation) record.Score {
	s := record.Score{GenerationKey: g.Key, QueryID: g.QueryID, VariantID: g.VariantID, Model: g.Model,
		SampleIndex: g.SampleIndex, Judge: je.cfg.Name}
	if g.Error != "" {
		s.Status, s.Detail = record.StatusError, "generation failed: "+g.Error
		return s
	}
	v, err := je.j.Judge(ctx, *q, g.OutputText)
	if err != nil {
		s.Status, s.Detail = record.StatusError, err.Error()
		return s
	}
	s.Status, s.Score, s.Passed, s.Extracted, s.Detail = v.Status, v.Score, v.Passed, v.Extracted, v.Detail
	return s
}

// buildLabels turns the primary judge's scores into labels and routes.
func (a *app) buildLabels(ctx context.Context, env *runEnv, st *store.Store) ([]record.Label, []record.Route, error) {
	defer env.timed("labels", time.Now())
	cost := make(map[keyset.Key]float64)
	err := env.eachGeneration(ctx, st, func(g record.Generation) error {
		k, err := keyset.Parse(g.Key)
		cost[k] = g.CostUSD
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	primary := env.cfg.PrimaryJudge().Name
	obs := make([]labels.Observation, 0, len(cost))
	err = env.eachScore(ctx, st, func(s record.Score) error {
		if s.Judge != primary {
			return nil
		}
		k, err := keyset.Parse(s.GenerationKey)
		obs = append(obs, labels.Observation{QueryID: s.QueryID, VariantID: s.VariantID, Model: s.Model,
			SampleIndex: s.SampleIndex, Status: s.Status, Score: s.Score, Passed: s.Passed, CostUSD: cost[k]})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if missing := len(cost) - len(obs); missing > 0 {
		return nil, nil, badInput(fmt.Errorf("labels: %d of %d stored generations have no verdict from judge %q as configured now", missing, len(cost), primary),
			"run `dars judge` first (or `dars run`, which does every stage)")
	}
	if len(cost) < env.keys.Len() && !env.shard.active() {
		a.log.Warn("labels cover part of the plan: some samples were never taken", "stored", len(cost), "planned", env.keys.Len(),
			"hint", "run `dars sample` (or `dars run`) to take the rest")
	}
	l := env.cfg.Labels
	return labels.Build(obs, labels.Options{
		Models: modelNames(env.models), Lambda: l.Lambda, Beta: l.Beta, Prior: l.Prior, CILevel: l.CILevel,
		PassAtK: l.PassAtK, SingleShotDraws: l.SingleShotDraws, PBestDraws: l.PBestDraws, Seed: env.cfg.Seed,
	})
}

func modelNames(ms []sampler.Model) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Config.Name
	}
	return names
}

func (env *runEnv) meta() parquetio.Meta {
	return parquetio.Meta{ConfigHash: env.cfg.Hash(), Version: version()}
}

func (env *runEnv) path(name string) string { return filepath.Join(env.dir, name) }

// exportSamples writes variants.parquet, generations.parquet and, when the
// run has simulated models, sim_truth.parquet.
func (env *runEnv) exportSamples(ctx context.Context, st *store.Store) error {
	defer env.timed("export", time.Now())
	defer tightGC()()
	if err := parquetio.WriteVariants(env.path("variants.parquet"), env.variants, env.meta()); err != nil {
		return err
	}
	w, err := parquetio.NewGenerationsWriter(env.path("generations.parquet"), env.meta())
	if err != nil {
		return err
	}
	t := newTally()
	err = env.eachGeneration(ctx, st, func(g record.Generation) error {
		t.addGeneration(g)
		return w.Write(g)
	})
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	env.genTally = t
	var truth []record.Truth
	for _, v := range env.variants {
		for _, m := range env.models {
			if t, ok := m.Provider.(truther); ok {
				truth = append(truth, record.Truth{QueryID: v.QueryID, VariantID: v.VariantID, Model: m.Config.Name,
					P: t.TrueP(v.QueryID, v.VariantID)})
			}
		}
	}
	if len(truth) == 0 {
		return nil
	}
	slices.SortFunc(truth, func(a, b record.Truth) int {
		return cmpRow(a.QueryID, b.QueryID, a.VariantID, b.VariantID, a.Model, b.Model, 0, 0, "", "")
	})
	return parquetio.WriteTruth(env.path("sim_truth.parquet"), truth, env.meta())
}

// exportGCPercent is the garbage collector's target while a Parquet file is
// written. Writing streams rows from the store, so the live heap is small
// (one row group, its Arrow arrays, the ZSTD encoders: about 60 MiB), but
// every row read leaves garbage behind; at the default 100% the heap grew to
// twice the live data and set the run's peak RSS (229 MiB writing 200,000
// generations). 25% trades a few more collections for a lower peak.
const exportGCPercent = 25

// tightGC lowers the collector's target for a write and returns the
// function that restores it. A GOGC the user set is left alone.
func tightGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(exportGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// exportScores writes scores.parquet: every judge's verdicts on the plan.
func (env *runEnv) exportScores(ctx context.Context, st *store.Store) error {
	defer env.timed("export", time.Now())
	defer tightGC()()
	meta := env.meta()
	meta.Extra = map[string]string{}
	for _, j := range env.judges {
		meta.Extra[strings.TrimPrefix(judgeHashKey(j.cfg.Name), "dars.")] = j.hash
	}
	w, err := parquetio.NewScoresWriter(env.path("scores.parquet"), meta)
	if err != nil {
		return err
	}
	t := newTally()
	err = env.eachScore(ctx, st, func(s record.Score) error {
		t.addScore(s)
		return w.Write(s)
	})
	if err != nil {
		w.Abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	env.scoreTally = t
	return nil
}

// close releases what the judges hold (an exec judge's worker processes).
func (env *runEnv) close() {
	for _, j := range env.judges {
		if c, ok := j.j.(io.Closer); ok {
			c.Close()
		}
	}
}

func (env *runEnv) hasJudge(name string) bool {
	for _, j := range env.judges {
		if j.cfg.Name == name {
			return true
		}
	}
	return false
}

// exportLabels writes labels.parquet and routes.parquet.
func (env *runEnv) exportLabels(ls []record.Label, rs []record.Route) error {
	defer env.timed("export", time.Now())
	if err := parquetio.WriteLabels(env.path("labels.parquet"), ls, env.cfg.Labels.PassAtK, env.meta()); err != nil {
		return err
	}
	return parquetio.WriteRoutes(env.path("routes.parquet"), rs, modelNames(env.models), env.meta())
}

// ensureDir makes the run directory before the store opens it.
func (env *runEnv) ensureDir() error {
	if err := os.MkdirAll(env.dir, 0o755); err != nil {
		return badInput(fmt.Errorf("create output directory: %w", err), "")
	}
	return nil
}
