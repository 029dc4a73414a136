package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/judge"
	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// llmJudgeQuery is the query id under which an llm judge's calls about one
// generation are stored: never a data set's id, so the calls are never
// exported as generations of the run, yet they resume, retry and cost like
// any other generation.
func llmJudgeQuery(judgeName, generationKey string) string {
	return "llm-judge:" + judgeName + ":" + generationKey
}

// judgeModel returns the model an llm judge calls: a candidate's own entry
// (sharing its provider), else a provider built for the models[] entry the
// judge names (candidate: false).
func (a *app) judgeModel(env *runEnv, jc config.Judge) (*sampler.Model, error) {
	for i := range env.models {
		if env.models[i].Config.Name == jc.Model {
			return &env.models[i], nil
		}
	}
	mc, ok := env.cfg.ModelByName(jc.Model)
	if !ok {
		return nil, fmt.Errorf("judge %q: model %q names no models[] entry", jc.Name, jc.Model)
	}
	p, err := provider.New(mc)
	if err != nil {
		return nil, err
	}
	if l, ok := p.(interface{ SetLogger(*slog.Logger) }); ok {
		l.SetLogger(a.log.With("model", mc.Name))
	}
	return &sampler.Model{Config: mc, Provider: p, Endpoint: provider.Identity(mc)}, nil
}

// rubricPrompt sends a rendered rubric as the one user message.
var rubricPrompt = func() *sampler.Prompt {
	p, err := sampler.NewPrompt(config.Prompt{Template: "{{.Question}}"})
	if err != nil {
		panic(err) // a constant template
	}
	return p
}()

// llmCall is one generation's judge calls: the rendered rubric as a work
// unit of the sampler, and where its verdict goes.
type llmCall struct {
	gen   int // index into the batch
	query dataset.Query
}

// judgeLLMBatch scores gens with an llm judge. The judge's calls are a
// sampling pass of their own (one work unit per generation, one sample per
// vote) through the sampler and the store, so they are rate-limited,
// retried, resumed after a crash without paying twice, and costed; the
// verdicts are then read from the stored replies.
func (a *app) judgeLLMBatch(ctx context.Context, env *runEnv, st *store.Store, je judgeEntry, gens []record.Generation) error {
	l := je.j.(*judge.LLM)
	scores := make([]record.Score, len(gens))
	calls := make([]llmCall, 0, len(gens))
	for i, g := range gens {
		q := env.byID[g.QueryID]
		if g.Error != "" {
			scores[i] = score(ctx, je, q, g)
			continue
		}
		text, err := l.Prompt(*q, g.OutputText)
		if err != nil {
			scores[i] = scoreOf(je, g, record.Score{Status: record.StatusError, Detail: err.Error()})
			continue
		}
		calls = append(calls, llmCall{gen: i, query: dataset.Query{ID: llmJudgeQuery(je.cfg.Name, g.Key), Question: text}})
	}
	work := make([]sampler.Work, len(calls))
	for k := range calls {
		q := &calls[k].query
		work[k] = sampler.Work{Query: q, Variant: record.Variant{QueryID: q.ID, Text: q.Question}}
	}
	opts := sampler.Options{Seed: env.cfg.Seed, Sampling: l.Sampling(), Prompt: rubricPrompt,
		Models: []sampler.Model{*je.model}, Commit: st.PutGenerations, InFlight: inFlightContext(ctx), Log: a.log}
	keys := make([][]string, len(work)) // per call, the key of each vote
	err := sampler.EachKey(work, opts, func(p sampler.Planned) error {
		keys[p.Work] = append(keys[p.Work], p.Key)
		return nil
	})
	if err != nil {
		return err
	}
	done, err := storedReplies(ctx, st, calls, nil)
	if err != nil {
		return err
	}
	if env.cfg.Cache != "" {
		if err := a.repliesFromCache(ctx, env, st, calls, keys, done); err != nil {
			return err
		}
		if done, err = storedReplies(ctx, st, calls, nil); err != nil {
			return err
		}
	}
	opts.Done = done.Has
	pr := a.newProgress()
	pr.log = a.log.With("judge", je.cfg.Name) // the judge's calls, not the run's samples
	opts.Progress = pr.update
	sum, runErr := sampler.Run(ctx, work, opts)
	pr.finish(sum)
	// What finished is paid for and committed: share it even when the pass
	// stopped early (a second Ctrl-C cuts the wait short).
	replies := map[string]record.Generation{}
	rctx := context.WithoutCancel(ctx)
	if in := inFlightContext(ctx); in != nil {
		rctx = in
	}
	if _, err := storedReplies(rctx, st, calls, replies); err != nil {
		return errors.Join(runErr, err)
	}
	if env.cfg.Cache != "" {
		if err := a.repliesToCache(rctx, env, replies, done); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if errors.Is(runErr, sampler.ErrModelStopped) {
		return fmt.Errorf("judge %q: %w", je.cfg.Name, runErr)
	}
	if runErr != nil {
		return runErr
	}
	for k, c := range calls {
		votes := make([]judge.LLMReply, len(keys[k]))
		for v, key := range keys[k] {
			g, ok := replies[key]
			switch {
			case !ok:
				votes[v].Error = "no stored reply"
			case g.Error != "":
				votes[v].Error = g.Error
			default:
				votes[v].Text = g.OutputText
			}
		}
		verdict := l.Verdict(votes)
		if verdict.Status == record.StatusError && strings.HasPrefix(verdict.Detail, judge.LLMCallFailed) {
			if env.judgeCallFailures == nil {
				env.judgeCallFailures = map[string]int{}
			}
			env.judgeCallFailures[je.cfg.Name]++
		}
		scores[c.gen] = scoreOf(je, gens[c.gen], record.Score{Status: verdict.Status, Score: verdict.Score,
			Passed: verdict.Passed, Extracted: verdict.Extracted, Detail: verdict.Detail})
	}
	return st.PutScores(context.WithoutCancel(ctx), scores, je.hash)
}

// repliesFromCache copies into the run store the judge replies of calls
// that the shared cache holds and the store lacks (done): an identical
// generation key is the same request, answered once for every run.
func (a *app) repliesFromCache(ctx context.Context, env *runEnv, st *store.Store, calls []llmCall, keys [][]string, done *keyset.Set) error {
	var want keyset.Builder
	for _, ks := range keys {
		for _, k := range ks {
			if !done.Has(k) {
				want.Add(k) // a planned key: well-formed
			}
		}
	}
	wanted := want.Set()
	if wanted.Len() == 0 {
		return nil
	}
	cache, err := a.openCache(ctx, env.cfg.Resolve(env.cfg.Cache))
	if err != nil {
		return err
	}
	var rows []record.Generation
	for _, c := range calls {
		err = cache.GenerationsOf(ctx, c.query.ID, func(g record.Generation) error {
			if g.Error == "" && wanted.Has(g.Key) {
				rows = append(rows, g)
			}
			return nil
		})
		if err != nil {
			break
		}
	}
	if cerr := cache.Close(); err == nil {
		err = cerr
	}
	if err != nil || len(rows) == 0 {
		return err
	}
	a.log.Info("judge calls answered from the cache", "calls", len(rows))
	return st.PutGenerations(ctx, rows)
}

// repliesToCache adds the judge replies this pass made (those not in
// before) to the shared cache.
func (a *app) repliesToCache(ctx context.Context, env *runEnv, replies map[string]record.Generation, before *keyset.Set) error {
	var rows []record.Generation
	for k, g := range replies {
		if g.Error == "" && !before.Has(k) {
			rows = append(rows, g)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	cache, err := a.openCache(ctx, env.cfg.Resolve(env.cfg.Cache))
	if err != nil {
		return err
	}
	err = cache.PutGenerations(ctx, rows)
	if cerr := cache.Close(); err == nil {
		err = cerr
	}
	return err
}

// storedReplies reads the judge replies the store holds for calls, through
// the index on query id. It returns the keys of those without error (the
// calls not to make again) and, when into is not nil, adds every reply to it
// by generation key.
func storedReplies(ctx context.Context, st *store.Store, calls []llmCall, into map[string]record.Generation) (*keyset.Set, error) {
	var done keyset.Builder
	for _, c := range calls {
		err := st.GenerationsOf(ctx, c.query.ID, func(g record.Generation) error {
			if into != nil {
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

// scoreOf fills the generation's identity into a verdict row of je.
func scoreOf(je judgeEntry, g record.Generation, s record.Score) record.Score {
	s.GenerationKey, s.QueryID, s.VariantID, s.Model, s.SampleIndex, s.Judge = g.Key, g.QueryID, g.VariantID, g.Model, g.SampleIndex, je.cfg.Name
	return s
}
