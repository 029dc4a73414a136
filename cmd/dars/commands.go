package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/darslabs/dars/examples"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/report"
	"github.com/darslabs/dars/pkg/sampler"
)

func newInitCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented dars.yaml and a small data set",
		Long: `init writes a commented run file and a 50-question data set (each question
with two given rewrites) configured for three simulated models, so that
"dars run" works at once with no key and no network.`,
		Example: "  dars init demo && cd demo && dars run",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.init(dir, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}

func (a *app) init(dir string, force bool) error {
	names := []string{"dars.yaml", "questions.jsonl"}
	if !force {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return badInput(fmt.Errorf("init: %s already exists", filepath.Join(dir, n)), "pass --force to overwrite it")
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return badInput(fmt.Errorf("init: %w", err), "")
	}
	for _, n := range names {
		b, err := examples.Quickstart.ReadFile("quickstart/" + n)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, n), b); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	if !a.g.quiet {
		next := "dars run"
		if filepath.Clean(dir) != "." {
			next = "cd " + dir + " && dars run"
		}
		fmt.Fprintf(a.stderr, "wrote %s and %s\nnext: %s\n", filepath.Join(dir, names[0]), filepath.Join(dir, names[1]), next)
	}
	return nil
}

func newValidateCmd(a *app) *cobra.Command {
	var ping bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the run file, the data set, the prompt and the judges",
		Long: `validate loads everything a run needs and reports every problem it finds
without writing anything. --ping also sends one tiny request to every
candidate model.`,
		Example: "  dars validate -c dars.yaml\n  dars validate --ping",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.loadEnv()
			if err != nil {
				return err
			}
			if ping {
				if err := pingModels(cmd.Context(), env); err != nil {
					return err
				}
			}
			n := int64(len(env.work)) * int64(len(env.models)) * int64(env.cfg.Sampling.Samples)
			if a.g.json {
				return writeJSON(a.stdout, map[string]any{"ok": true, "queries": len(env.queries),
					"variants": len(env.variants), "models": len(env.models), "judges": len(env.judges), "samples": n})
			}
			if !a.g.quiet {
				fmt.Fprintf(a.stdout, "ok: %s, %s, %s, %s: %s planned\n", count(len(env.queries), "query", "queries"),
					count(len(env.variants), "variant", "variants"), count(len(env.models), "model", "models"),
					count(len(env.judges), "judge", "judges"), count(int(n), "sample", "samples"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&ping, "ping", false, "send one tiny request to every candidate model")
	return cmd
}

func newSampleCmd(a *app) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Sample every candidate model on every variant → generations.parquet",
		Long: `sample asks every candidate model for the configured number of samples of
every variant, committing each finished sample to the run store before it
counts. A re-run asks only for what the store does not hold yet.`,
		Example: "  dars sample -c dars.yaml\n  dars sample --dry-run\n  dars sample --max-cost 25",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dryRun {
				return a.dryRun(cmd.Context())
			}
			return a.runStages(cmd.Context(), stageSample)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the requests, tokens and cost still owed, with and without n-batching; send nothing")
	addMaxCost(cmd, a)
	return cmd
}

func newJudgeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "judge",
		Short: "Score the stored generations with every judge → scores.parquet",
		Long: `judge scores every stored generation with every configured judge. It never
asks an endpoint for a new generation: change a judge and re-run it freely.`,
		Example: "  dars judge -c dars.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runStages(cmd.Context(), stageJudge)
		},
	}
}

func newLabelsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "labels",
		Short:   "Build the labels from the primary judge's scores → labels.parquet, routes.parquet",
		Example: "  dars labels -c dars.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runStages(cmd.Context(), stageLabels)
		},
	}
}

func newRunCmd(a *app) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run every stage: sample, judge, labels, report (resumable)",
		Long: `run samples, judges, builds the labels and prints the report. It is
resumable: run it again after a crash or Ctrl-C and it does only what is
missing; on a finished run it pays for nothing and rewrites identical files.`,
		Example: "  dars run -c examples/quickstart/dars.yaml\n  dars run --json > summary.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dryRun {
				return a.dryRun(cmd.Context())
			}
			return a.runStages(cmd.Context(), stageSample|stageJudge|stageLabels|stageReport)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what sampling still owes (requests, tokens, cost); send nothing")
	addMaxCost(cmd, a)
	return cmd
}

func newReportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "report",
		Short:   "Summarise a run's labels on the terminal",
		Example: "  dars report -c dars.yaml\n  dars report --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if a.shard.active() {
				return badInput(errors.New("report: --shard: a report covers the whole run"), "run `dars report` without --shard")
			}
			return a.report(cfg.RunDir())
		},
	}
}

// stage is a set of pipeline stages.
type stage int

const (
	stageSample stage = 1 << iota
	stageJudge
	stageLabels
	stageReport
)

// runStages runs the given stages in pipeline order under one store lock,
// then writes the manifest. Sampling problems that leave per-sample errors
// finish the run and exit 3.
func (a *app) runStages(ctx context.Context, stages stage) error {
	start := time.Now()
	if a.shard.active() && stages == stageLabels {
		return badInput(errors.New("labels: --shard: labels need every shard's samples (costs are normalised over the whole data set)"),
			"run `dars labels` without --shard once every shard is done")
	}
	if a.shard.active() && stages&stageLabels != 0 {
		stages &^= stageLabels | stageReport
		defer func() {
			if !a.g.quiet {
				fmt.Fprintf(a.stderr, "shard %s done; when every shard is, run `dars labels` without --shard\n", a.shard)
			}
		}()
	}
	env, err := a.loadEnv()
	if err != nil {
		return err
	}
	defer env.close()
	if err := env.ensureDir(); err != nil {
		return err
	}
	st, err := env.openStore()
	if err != nil {
		return err
	}
	defer st.Close()

	var sum *sampler.Summary
	var sampleErr error
	if stages&stageSample != 0 {
		s, err := a.sample(ctx, env, st)
		sum = &s
		if err != nil && !errors.Is(err, sampler.ErrModelStopped) && !errors.Is(err, sampler.ErrBudget) {
			return err
		}
		sampleErr = err
		if err := env.exportSamples(ctx, st); err != nil {
			return err
		}
	}
	if stages&stageJudge != 0 {
		if err := a.judgeAll(ctx, env, st); err != nil {
			return err
		}
		if err := env.exportScores(ctx, st); err != nil {
			return err
		}
	}
	if stages&stageLabels != 0 {
		ls, rs, err := a.buildLabels(ctx, env, st)
		if err != nil {
			return err
		}
		if err := env.exportLabels(ls, rs); err != nil {
			return err
		}
	}
	m, err := env.writeManifest(ctx, st, sum, time.Since(start))
	if err != nil {
		return err
	}
	if stages&stageReport != 0 && !a.g.json {
		if err := a.report(env.dir); err != nil {
			return err
		}
	}
	if a.g.json {
		if err := writeJSON(a.stdout, m); err != nil {
			return err
		}
	}
	if sampleErr != nil {
		return sampleErr
	}
	if m.Counts.GenerationErrors > 0 {
		first := ""
		for _, mm := range m.Models {
			if mm.FirstError != "" {
				first = mm.FirstError
				break
			}
		}
		return &cliError{code: exitSampleError, err: fmt.Errorf("finished with %d failed samples, recorded with their errors in generations.parquet; the first: %s", m.Counts.GenerationErrors, first)}
	}
	for _, j := range env.judges {
		if n := env.judgeCallFailures[j.cfg.Name]; n > 0 {
			return &cliError{code: exitSampleError, err: fmt.Errorf("judge %q: %d verdicts are errors because calls to its model failed (see scores.parquet); `dars judge` asks for them again", j.cfg.Name, n)}
		}
	}
	return nil
}

// report prints the terminal summary of a run's labels.
func (a *app) report(dir string) error {
	lp, rp := filepath.Join(dir, "labels.parquet"), filepath.Join(dir, "routes.parquet")
	ls, ks, err := parquetio.ReadLabels(lp)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return badInput(fmt.Errorf("report: no labels in %s", dir), "run `dars run` (or `dars labels`) first")
		}
		return err
	}
	rs, models, err := parquetio.ReadRoutes(rp)
	if err != nil {
		return err
	}
	s := report.Summarize(ls, ks, rs, models)
	if scores, err := parquetio.ReadScores(filepath.Join(dir, "scores.parquet")); err == nil {
		s.Agreement = report.JudgeAgreement(scores)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if a.g.json {
		return writeJSON(a.stdout, s)
	}
	if a.g.quiet {
		return nil
	}
	return report.WriteText(a.stdout, s)
}

// addMaxCost adds --max-cost to a command that samples.
func addMaxCost(cmd *cobra.Command, a *app) {
	cmd.Flags().Float64Var(&a.maxCost, "max-cost", 0,
		"USD the run may cost in all (what is stored counts); dars stops issuing requests before it would pass it; 0 = no limit")
}

// count writes n with the noun in the number it takes.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
