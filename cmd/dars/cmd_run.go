package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/pipeline"
	"github.com/darslabs/dars/pkg/problem"
)

func newRunCmd(a *app) *cobra.Command {
	var dryRun bool
	var maxCost float64
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run every stage: sample, judge, labels, report (resumable)",
		Long: `run samples, judges, builds the labels and prints the report. It is
resumable: run it again after a crash or Ctrl-C and it does only what is
missing; on a finished run it pays for nothing and rewrites identical files.`,
		Example: "  dars run -c examples/quickstart/dars.yaml\n  dars run --json > summary.json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dryRun {
				return a.dryRun(cmd.Context())
			}
			return a.execute(cmd.Context(), pipeline.All, maxCost)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what sampling still owes (requests, tokens, cost); send nothing")
	addMaxCost(cmd, &maxCost)
	return cmd
}

// execute runs stages on the run file's run and shows what happened: the
// progress as it goes, then the manifest (--json) or, after every stage,
// the report. A run that finished with work left undone still shows them
// before its error is returned.
func (a *app) execute(ctx context.Context, stages pipeline.Stage, maxCost float64) (err error) {
	if !(maxCost >= 0) {
		return problem.Input(fmt.Errorf("--max-cost %v: want 0 (no limit) or a positive amount of USD", maxCost), "")
	}
	pr := a.newProgress()
	run, err := a.openRun(ctx, maxCost, pr.event)
	if err != nil {
		return err
	}
	defer closeRun(run, &err)
	res, err := run.Execute(ctx, stages)
	if !res.Finished {
		return err
	}
	if res.Skipped&pipeline.Labels != 0 && !a.quiet {
		fmt.Fprintf(a.stderr, "shard %s done; when every shard is, run `dars labels` without --shard\n", a.shard)
	}
	switch {
	case a.json:
		if jerr := writeJSON(a.stdout, res.Manifest); jerr != nil {
			return errors.Join(err, jerr)
		}
	case stages == pipeline.All && res.Skipped == 0:
		if rerr := a.report(run.Dir()); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
	return err
}

// closeRun closes run and reports its error into *err when there is none.
func closeRun(run *pipeline.Run, err *error) {
	if cerr := run.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// maxArgs is cobra.MaximumNArgs as an input problem.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return problem.Input(fmt.Errorf("%s takes at most %s, got %d", cmd.CommandPath(), count(n, "argument", "arguments"), len(args)),
				fmt.Sprintf("run `%s --help`", cmd.CommandPath()))
		}
		return nil
	}
}

// addMaxCost adds --max-cost to a command that samples.
func addMaxCost(cmd *cobra.Command, maxCost *float64) {
	cmd.Flags().Float64Var(maxCost, "max-cost", 0,
		"USD the run may cost in all (what is stored counts, every paid call: samples and llm-judge calls); dars stops issuing requests before it would pass it; 0 = no limit")
}
