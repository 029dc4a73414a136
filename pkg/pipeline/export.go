package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/labels"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
)

// truther is what the simulator offers beyond Provider: the true success
// probability of a sample with the given Meta.
type truther interface {
	TrueP(provider.Meta) float64
}

func (r *Run) meta() parquetio.Meta {
	return parquetio.Meta{ConfigHash: r.cfg.Hash(), Version: r.opts.Version}
}

// exportSamples writes variants.parquet, generations.parquet and, when the
// run has simulated models, sim_truth.parquet, and returns what it counted
// of the samples.
func (x *execution) exportSamples(ctx context.Context) (*tally, error) {
	defer x.timed("export", time.Now())
	if err := parquetio.WriteVariants(x.path("variants.parquet"), x.variants, x.meta()); err != nil {
		return nil, err
	}
	w, err := parquetio.NewGenerationsWriter(x.path("generations.parquet"), x.meta())
	if err != nil {
		return nil, err
	}
	t := newTally()
	err = x.eachGeneration(ctx, func(g record.Generation) error {
		t.addGeneration(g)
		return w.Write(g)
	})
	if err != nil {
		w.Abort()
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	var truth []record.Truth
	ds := x.samplingOptions().Dataset
	for _, v := range x.variants {
		for _, m := range x.models {
			if t, ok := m.Provider.(truther); ok {
				truth = append(truth, record.Truth{QueryID: v.QueryID, VariantID: v.VariantID, Model: m.Config.Name,
					P: t.TrueP(sampler.SampleMeta(x.byID[v.QueryID], v, ds))})
			}
		}
	}
	if len(truth) == 0 {
		return t, nil
	}
	slices.SortFunc(truth, func(a, b record.Truth) int {
		return record.CompareSampleKeys(a.QueryID, b.QueryID, a.VariantID, b.VariantID, a.Model, b.Model, 0, 0)
	})
	return t, parquetio.WriteTruth(x.path("sim_truth.parquet"), truth, x.meta())
}

// exportScores writes scores.parquet, every judge's verdicts on the plan,
// and returns what it counted of them.
func (x *execution) exportScores(ctx context.Context) (*tally, error) {
	defer x.timed("export", time.Now())
	meta := x.meta()
	meta.Extra = map[string]string{}
	for _, j := range x.judges {
		meta.Extra[strings.TrimPrefix(judgeHashKey(j.cfg.Name), "dars.")] = j.hash
	}
	w, err := parquetio.NewScoresWriter(x.path("scores.parquet"), meta)
	if err != nil {
		return nil, err
	}
	t := newTally()
	err = x.eachScore(ctx, func(s record.Score) error {
		t.addScore(s)
		return w.Write(s)
	})
	if err != nil {
		w.Abort()
		return nil, err
	}
	return t, w.Close()
}

// labels turns the primary judge's verdicts into labels and routes and
// writes labels.parquet and routes.parquet.
func (x *execution) labels(ctx context.Context) error {
	end := x.begin(Labels)
	ls, rs, err := x.buildLabels(ctx)
	end()
	if err != nil {
		return err
	}
	defer x.timed("export", time.Now())
	if err := parquetio.WriteLabels(x.path("labels.parquet"), ls, x.cfg.Labels.PassAtK, x.meta()); err != nil {
		return err
	}
	return parquetio.WriteRoutes(x.path("routes.parquet"), rs, x.candidateNames(), x.meta())
}

// buildLabels reads the primary judge's verdicts with each sample's cost
// and builds the labels.
func (x *execution) buildLabels(ctx context.Context) ([]record.Label, []record.Route, error) {
	cost := make(map[keyset.Key]float64)
	err := x.eachGeneration(ctx, func(g record.Generation) error {
		k, err := keyset.Parse(g.Key)
		cost[k] = g.CostUSD
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	primary := x.cfg.PrimaryJudge().Name
	obs := make([]labels.Observation, 0, len(cost))
	err = x.eachScore(ctx, func(s record.Score) error {
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
		return nil, nil, problem.Input(fmt.Errorf("labels: %d of %d stored generations have no verdict from judge %q as configured now", missing, len(cost), primary),
			"run `dars judge` first (or `dars run`, which does every stage)")
	}
	if len(cost) < x.keys.Len() && !x.opts.Shard.Active() {
		x.opts.Log.Warn("labels cover part of the plan: some samples were never taken", "stored", len(cost), "planned", x.keys.Len(),
			"hint", "run `dars sample` (or `dars run`) to take the rest")
	}
	l := x.cfg.Labels
	return labels.Build(obs, labels.Options{
		Models: x.candidateNames(), Lambda: l.Lambda, Beta: l.Beta, Prior: l.Prior, CILevel: l.CILevel,
		PassAtK: l.PassAtK, SingleShotDraws: l.SingleShotDraws, PBestDraws: l.PBestDraws, Seed: x.cfg.Seed,
	})
}
