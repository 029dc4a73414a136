// Package pipeline is the run engine of dars: it turns a run file's config
// and its data set into a plan, and runs the stages on it, in order or one
// at a time. A Go program drives a run with it exactly as `dars run` does:
//
//	run, err := pipeline.Open(ctx, cfg, pipeline.Options{Events: show})
//	defer run.Close()
//	res, err := run.Execute(ctx, pipeline.All) // sample → judge → labels
//
// Open loads the data set, the prompt, the providers and the judges and
// computes the key of every sample the plan owes; it checks every input and
// writes nothing. Execute takes the run directory's store (dars.db, with its
// lock) and runs the stages asked for:
//
//	sample   variants, the shared cache, one sampling stream   → generations.parquet, variants.parquet
//	judge    every judge; an llm judge's calls in a stream      → scores.parquet
//	labels   the primary judge's verdicts                       → labels.parquet, routes.parquet
//
// then writes manifest.json. Every paid call of every stage goes through one
// sampler.Scheduler that lives as long as the Run, so an endpoint's limits,
// what was learned about it and the --max-cost budget hold across stages.
// Shard parts (a run split with Options.Shard) are read beside the store by
// the unsharded run that gathers them. Progress is reported through
// Options.Events, never printed; errors are typed (ErrIncomplete, and
// problem.Input for a bad config or data set) so a caller maps them once.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/judge"
	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/sandbox"
)

// Options say how a Run runs, beside what its config says.
type Options struct {
	// Shard, when active, is the part of the queries this run does; its
	// outputs go to the shard's own directory under the run directory.
	Shard Shard
	// MaxCostUSD is what the run may cost in all, every paid call of every
	// purpose counted, what is stored included; 0 is no limit.
	MaxCostUSD float64
	// Log receives what a user should know beside progress: answers taken
	// from the cache, a learned n cap, warnings. Nil discards it.
	Log *slog.Logger
	// Events receives progress, from one goroutine at a time. Nil discards it.
	Events func(Event)
	// InFlight, when set, is the context requests already sent run under:
	// cancelling Execute's context stops new requests, and the ones in
	// flight finish and are committed until InFlight is cancelled too.
	InFlight context.Context
	// Version is the dars version written into the outputs; "" is "devel".
	Version string
}

// Run is one run: a config, its data set and plan, the scheduler of its
// paid calls. It is not safe for concurrent Executes.
type Run struct {
	cfg   config.Config
	opts  Options
	dir   string // <out>/<run>, or the shard's directory under it
	sched *sampler.Scheduler

	queries  []dataset.Query
	byID     map[string]*dataset.Query
	variants []record.Variant
	work     []sampler.Work
	prompt   *sampler.Prompt
	models   []sampler.Model // the candidates, in config order
	// rewriterModel and verifierModel are paraphrase.model's and
	// paraphrase.verify.model's endpoints; verifierModel is nil without
	// a verifier, rewriterModel unset without paraphrase.count.
	rewriterModel sampler.Model
	verifierModel *sampler.Model
	judges        []judgeEntry
	keys          *keyset.Set // every generation key the plan owes
	parts         *parts      // what shards wrote (an unsharded run only); nil when none
	// partRewrites are the rewrites the shards kept and logged (an
	// unsharded run only).
	partRewrites partRewrites

	chunkSize int // generations judged and committed at a time (judgeChunk; tests lower it)
}

// judgeEntry is one configured judge, built.
type judgeEntry struct {
	cfg   config.Judge
	j     judge.Judge
	batch judge.BatchJudge // non-nil for a judge that calls a model (llm)
	model sampler.Model    // the model a batch judge calls
	hash  string           // what its verdicts are stored under
}

// Plan is what a run owes, for a summary before any work.
type Plan struct {
	Queries  int   `json:"queries"`
	Variants int   `json:"variants"`
	Models   int   `json:"models"`
	Judges   int   `json:"judges"`
	Samples  int64 `json:"samples"`
	// Rewrites is how many more variants the rewriter is to write (at
	// most: some may be stored already), RewriteSamples their samples;
	// neither is in Variants or Samples.
	Rewrites       int   `json:"rewrites,omitempty"`
	RewriteSamples int64 `json:"rewrite_samples,omitempty"`
}

// Open loads and checks everything a run needs: the data set (the shard's
// part of it), the prompt, a provider per endpoint, the judges (a code
// judge probes its sandbox, under ctx) and the plan's keys; an unsharded
// run also finds the parts its shards wrote. Every input problem surfaces
// here as a problem.Input error, before anything is written: Open writes
// nothing. Close the Run to release what its judges hold.
func Open(ctx context.Context, cfg config.Config, opts Options) (_ *Run, err error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Version == "" {
		opts.Version = "devel"
	}
	r := &Run{cfg: cfg, opts: opts, dir: cfg.RunDir(), chunkSize: judgeChunk}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Close())
		}
	}()
	if cfg.Cache != "" && filepath.Clean(cfg.Resolve(cfg.Cache)) == filepath.Clean(r.dir) {
		return nil, problem.Input(fmt.Errorf("cache: %q is the run's own directory", cfg.Cache), "point cache at a directory of its own, shared by the runs")
	}
	if opts.Shard.Active() {
		r.dir = filepath.Join(r.dir, opts.Shard.Dir())
	}
	if err := r.loadQueries(); err != nil {
		return nil, err
	}
	if err := r.loadModels(ctx); err != nil {
		return nil, err
	}
	r.variants = variantsOf(r.queries, cfg.Paraphrase.IncludeOriginal)
	if !opts.Shard.Active() {
		// The rewrites the shards kept are variants of the whole run.
		if r.partRewrites, err = r.readPartRewrites(); err != nil {
			return nil, err
		}
		r.variants = mergeVariants(r.variants, r.partRewrites.variants)
	}
	r.variants = mergeVariants(r.variants, r.storedRewrites(ctx))
	if err := r.checkPlanSize(); err != nil {
		return nil, err
	}
	r.work = make([]sampler.Work, len(r.variants))
	for i, v := range r.variants {
		r.work[i] = sampler.Work{Query: r.byID[v.QueryID], Variant: v}
	}
	if r.keys, err = sampler.PlanKeys(ctx, r.work, r.samplingOptions()); err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, problem.Input(err, "")
	}
	if !opts.Shard.Active() {
		if r.parts, err = r.findParts(ctx); err != nil {
			return nil, err
		}
	}
	r.sched = sampler.NewScheduler(sampler.SchedulerOptions{InFlight: opts.InFlight, Log: opts.Log})
	return r, nil
}

// maxPlanned is the most samples one run (or shard) plans: the plan holds
// 32 bytes a sample (its key), so this is 3.2 GB of keys at the most.
const maxPlanned = 100_000_000

// checkPlanSize refuses a plan too large to hold before building it.
func (r *Run) checkPlanSize() error {
	n := int64(len(r.variants)) * int64(len(r.models)) * int64(max(r.cfg.Sampling.Samples, 0))
	if n <= maxPlanned && n >= 0 {
		return nil
	}
	return problem.Input(fmt.Errorf("the plan has %d samples (%d variants x %d models x %d samples), more than one run plans (%d)",
		n, len(r.variants), len(r.models), r.cfg.Sampling.Samples, maxPlanned),
		"split the run with --shard i/k, or lower dataset.limit or sampling.samples")
}

// promptHint is the fix of a template that does not parse or render.
const promptHint = "the template is Go text/template over .Question, .Choices, .Letters, .Context, .Task, .ID"

// loadQueries reads the data set (the shard's part of it) and checks that
// the prompt renders its first query.
func (r *Run) loadQueries() error {
	cfg := r.cfg
	f := cfg.Dataset.Fields
	qs, rep, err := dataset.LoadWithReport(cfg.Resolve(cfg.Dataset.Path), dataset.Options{
		Format: cfg.Dataset.Format, Preset: cfg.Dataset.Preset, Limit: cfg.Dataset.Limit,
		Fields: dataset.Fields{ID: f.ID, Question: f.Question, Answer: f.Answer, Choices: f.Choices,
			Context: f.Context, Task: f.Task, Variants: f.Variants},
		DropRaw: !readsRawRows(cfg.Judges),
	})
	if err != nil {
		return problem.Input(err, "")
	}
	if w := rep.Warning(); w != "" {
		r.opts.Log.Warn(w)
	}
	if r.prompt, err = sampler.NewPrompt(cfg.Prompt); err != nil {
		return problem.Input(err, promptHint)
	}
	if _, err := r.prompt.Render(&qs[0], qs[0].Question); err != nil {
		return problem.Input(err, promptHint)
	}
	if r.opts.Shard.Active() {
		qs = slices.DeleteFunc(qs, func(q dataset.Query) bool { return !r.opts.Shard.Holds(q.ID) })
	}
	r.queries = qs
	r.byID = make(map[string]*dataset.Query, len(qs))
	for i := range qs {
		r.byID[qs[i].ID] = &qs[i]
	}
	return nil
}

// loadModels builds the candidates and the judges. Model entries that name
// one endpoint share one provider, as they share one endpoint in the
// scheduler.
func (r *Run) loadModels(ctx context.Context) error {
	providers := map[string]provider.Provider{}
	first := map[string]config.Model{}
	model := func(mc config.Model) (sampler.Model, error) {
		id := provider.Identity(mc, r.cfg.Simulator)
		p, ok := providers[id]
		if !ok {
			var err error
			if p, err = provider.New(mc, r.cfg.Simulator, r.opts.Log.With("model", mc.Name)); err != nil {
				return sampler.Model{}, err
			}
			providers[id], first[id] = p, mc
		} else if f := first[id]; !sameLimits(f, mc) {
			r.opts.Log.Warn("two models share an endpoint: the first one's limits apply to both",
				"first", f.Name, "second", mc.Name)
		}
		return sampler.Model{Config: mc, Provider: p, Endpoint: id}, nil
	}
	for _, mc := range r.cfg.CandidateModels() {
		m, err := model(mc)
		if err != nil {
			return problem.Input(err, "")
		}
		r.models = append(r.models, m)
	}
	if p := r.cfg.Paraphrase; p.Count > 0 {
		mc, _ := r.cfg.ModelByName(p.Model) // Validate checked it
		m, err := model(mc)
		if err != nil {
			return problem.Input(fmt.Errorf("paraphrase.model: %w", err), "")
		}
		r.rewriterModel = m
		if p.Verify.Model != "" {
			mc, _ := r.cfg.ModelByName(p.Verify.Model)
			m, err := model(mc)
			if err != nil {
				return problem.Input(fmt.Errorf("paraphrase.verify.model: %w", err), "")
			}
			r.verifierModel = &m
		}
	}
	probes := sandbox.NewProbes()
	for i, jc := range r.cfg.Judges {
		j, err := judge.New(ctx, jc, judge.Options{Log: r.opts.Log.With("judge", jc.Name), Probes: probes,
			SecretVars: r.cfg.SecretVars()})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return problem.Input(fmt.Errorf("judges[%d]: %w", i, err), "")
		}
		je := judgeEntry{cfg: jc, j: j, hash: judge.Hash(jc)}
		r.judges = append(r.judges, je) // added first so that Close releases it
		if bj, ok := j.(judge.BatchJudge); ok {
			mc, ok := r.cfg.ModelByName(bj.Model())
			if !ok {
				return problem.Input(fmt.Errorf("judges[%d]: judge %q: model %q names no models[] entry", i, jc.Name, bj.Model()), "")
			}
			m, err := model(mc)
			if err != nil {
				return problem.Input(fmt.Errorf("judges[%d]: %w", i, err), "")
			}
			je.batch, je.model = bj, m
			// Another endpoint behind the same name judges differently.
			je.hash = judge.HashWith(jc, m.Endpoint)
			r.judges[len(r.judges)-1] = je
		}
	}
	return nil
}

// sameLimits reports whether two model entries set the same limits for
// their endpoint.
func sameLimits(a, b config.Model) bool {
	return a.EffectiveConcurrency() == b.EffectiveConcurrency() && a.RPM == b.RPM && a.TPM == b.TPM &&
		a.N == b.N && a.MaxAttempts == b.MaxAttempts
}

// readsRawRows reports whether a judge reads the data set's raw rows
// (Query.Fields): the code judge finds the tests there. Without one the rows
// are not kept.
func readsRawRows(js []config.Judge) bool {
	return slices.ContainsFunc(js, func(j config.Judge) bool { return j.Type == "code" })
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
		return record.CompareSampleKeys(a.QueryID, b.QueryID, a.VariantID, b.VariantID, "", "", 0, 0)
	})
	return vs
}

// samplingOptions are the candidates' sampling stream's options, but for
// what a pass adds (Done, Commit, Progress).
func (r *Run) samplingOptions() sampler.Options {
	return sampler.Options{Seed: r.cfg.Seed, Sampling: r.cfg.Sampling, Prompt: r.prompt, Models: r.models,
		Purpose: record.PurposeSample, Dataset: r.cfg.Dataset.Identity()}
}

// Plan returns what the run owes.
func (r *Run) Plan() Plan {
	p := Plan{Queries: len(r.queries), Variants: len(r.variants), Models: len(r.models), Judges: len(r.judges),
		Samples: int64(r.keys.Len())}
	if count := r.cfg.Paraphrase.Count; count > 0 {
		have := map[string]int{}
		for _, v := range r.variants {
			if v.VariantID > 0 {
				have[v.QueryID]++
			}
		}
		for _, q := range r.queries {
			p.Rewrites += max(0, count-have[q.ID])
		}
		p.RewriteSamples = int64(p.Rewrites) * int64(len(r.models)) * int64(r.cfg.Sampling.Samples)
	}
	return p
}

// Dir returns the directory the run writes: <out>/<run>, or the shard's
// directory under it.
func (r *Run) Dir() string { return r.dir }

// Config returns the run's config.
func (r *Run) Config() config.Config { return r.cfg }

// Close releases what the judges hold (an exec judge's worker processes)
// and returns the first error doing so.
func (r *Run) Close() error {
	var errs []error
	for _, j := range r.judges {
		if c, ok := j.j.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close judge %q: %w", j.cfg.Name, err))
			}
		}
	}
	r.judges = nil
	return errors.Join(errs...)
}

// candidateNames lists the candidates' names in config order.
func (r *Run) candidateNames() []string {
	names := make([]string, len(r.models))
	for i, m := range r.models {
		names[i] = m.Config.Name
	}
	return names
}

func (r *Run) path(name string) string { return filepath.Join(r.dir, name) }
