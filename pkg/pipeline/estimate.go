package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"strings"
	"time"

	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// Estimate is what a dry run reports before anything is sent: per
// candidate, the samples still owed and what they would cost with and
// without n-batching; per llm judge, the calls it would make; and what the
// calls stored so far cost, by purpose.
type Estimate struct {
	DryRun    bool                    `json:"dry_run"`
	MaxTokens int                     `json:"max_tokens"`
	Models    []sampler.ModelEstimate `json:"models"`
	Total     sampler.ModelEstimate   `json:"total"`
	// JudgeCalls estimates each llm judge's calls about the planned samples
	// it has no verdict on: one call per vote, the prompt its rubric with
	// an output of max_tokens (an upper bound, as the outputs are not all
	// written yet).
	JudgeCalls []JudgeCallEstimate `json:"judge_calls,omitempty"`
	// RewriteCalls and VerifyCalls estimate the paraphrase stage's calls
	// for the rewrites not kept yet: one rewriter call per query that lacks
	// some (a query whose answer keeps too few takes more, up to
	// paraphrase.max_attempts in a row), one verifier call per rewrite.
	// The candidates' rows count the samples of those rewrites, each
	// estimated with its original's length. Nil without paraphrase.count.
	RewriteCalls *sampler.ModelEstimate `json:"rewrite_calls,omitempty"`
	VerifyCalls  *sampler.ModelEstimate `json:"verify_calls,omitempty"`
	// RewritesOwed counts the rewrites not kept yet.
	RewritesOwed int `json:"rewrites_owed,omitempty"`
	// Stored is what the calls in the run's store cost, by purpose.
	Stored []ManifestSpend `json:"stored"`
}

// JudgeCallEstimate is one llm judge's estimate.
type JudgeCallEstimate struct {
	Judge string `json:"judge"`
	sampler.ModelEstimate
}

// Estimate plans every candidate's remaining samples as Execute would,
// subtracting what the run's store, the shard parts and the shared cache
// hold, and the llm judges' calls about the samples without a verdict. It
// sends no request and writes nothing: the stores are read without their
// locks, so it works beside a live run and counts what that run has
// committed; a run directory that does not exist yet is not created.
func (r *Run) Estimate(ctx context.Context) (Estimate, error) {
	est := Estimate{DryRun: true, MaxTokens: r.cfg.Sampling.MaxTokens, Stored: []ManifestSpend{}}
	done, decided, err := r.storedKeys(ctx, &est)
	if err != nil {
		return est, err
	}
	work, err := r.estimateRewrites(ctx, &est)
	if err != nil {
		return est, err
	}
	opts := r.samplingOptions()
	opts.Done = done.Has
	if est.Models, err = sampler.Estimate(ctx, work, opts); err != nil {
		if ctx.Err() != nil {
			return est, err
		}
		return est, problem.Input(err, "")
	}
	est.Total = sampler.EstimateTotal(est.Models)
	for _, j := range r.judges {
		if j.batch == nil {
			continue
		}
		e := sampler.EstimateCalls(j.model, j.batch.Sampling(), r.undecidedPrompts(j, decided[j.cfg.Name]))
		e.Model = j.model.Config.Name
		est.JudgeCalls = append(est.JudgeCalls, JudgeCallEstimate{Judge: j.cfg.Name, ModelEstimate: e})
	}
	return est, nil
}

// storedKeys gathers, without taking a lock, the keys of the samples that
// need no request (the run store's, the shard parts', the shared cache's),
// every judge's decided keys, and (into est) what the run store's calls
// cost. Stores that do not exist yet hold nothing and are not created.
func (r *Run) storedKeys(ctx context.Context, est *Estimate) (done *keyset.Set, decided map[string]*keyset.Set, err error) {
	decided = map[string]*keyset.Set{}
	read := func(dir string, fn func(*store.Store) error) error {
		st, err := store.OpenReader(ctx, dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return storeProblem(err)
		}
		err = fn(st)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		return err
	}
	err = read(r.dir, func(st *store.Store) error {
		if err := r.checkStore(ctx, st); err != nil {
			return err
		}
		keys, err := st.DoneKeys(ctx)
		if err != nil {
			return err
		}
		done = keys
		for _, j := range r.judges {
			if decided[j.cfg.Name], err = st.DecidedKeys(ctx, j.cfg.Name, j.hash); err != nil {
				return err
			}
		}
		spend, err := st.Spend(ctx)
		est.Stored = byPurpose(spend)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if r.parts != nil {
		done = keyset.Union(done, r.parts.done)
		for j, keys := range r.parts.scored {
			decided[j] = keyset.Union(decided[j], keys)
		}
	}
	if r.cfg.Cache != "" {
		err := read(r.cfg.Resolve(r.cfg.Cache), func(st *store.Store) error {
			keys, err := st.DoneKeys(ctx)
			done = keyset.Union(done, keys)
			return err
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return done, decided, nil
}

// undecidedPrompts yields, for every planned sample j has no decided
// verdict on, the token estimate of j's prompt about it: its query's
// rubric with an output of max_tokens.
func (r *Run) undecidedPrompts(j judgeEntry, decided *keyset.Set) iter.Seq[int64] {
	return func(yield func(int64) bool) {
		output := strings.Repeat("word ", r.cfg.Sampling.MaxTokens) // about a token a word
		prompt := rubricPrompt()
		tokens := map[string]int64{} // per query
		_ = sampler.EachKey(r.work, r.samplingOptions(), func(p sampler.Planned) error {
			if decided.Has(p.Key) {
				return nil
			}
			q := r.work[p.Work].Query
			t, ok := tokens[q.ID]
			if !ok {
				text, err := j.batch.Prompt(*q, output)
				if err != nil {
					text = ""
				}
				msgs, _ := prompt.Render(&dataset.Query{Question: text}, text)
				t = sampler.PromptTokens(msgs)
				tokens[q.ID] = t
			}
			if !yield(t) {
				return errStopMerge
			}
			return nil
		})
	}
}

// Ping sends one tiny request to every candidate model and returns the
// first failure, naming the model.
func (r *Run) Ping(ctx context.Context) error {
	for _, m := range r.models {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := m.Provider.Generate(ctx, provider.Request{
			Messages:    []provider.Message{{Role: "user", Content: "Reply with the word ok."}},
			Temperature: r.cfg.Sampling.Temperature, TopP: r.cfg.Sampling.TopP, MaxTokens: 4, N: 1,
			Seeds: []int64{1}, Meta: provider.Meta{QueryID: "ping", Gold: "ok"},
		})
		cancel()
		if err != nil {
			return fmt.Errorf("ping model %q: %w", m.Config.Name, err)
		}
	}
	return nil
}
