package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/report"
)

func newReportCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "report",
		Short:   "Summarise a run's labels on the terminal",
		Example: "  dars report -c dars.yaml\n  dars report --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if a.shard.Active() {
				return problem.Input(errors.New("report: --shard: a report covers the whole run"), "run `dars report` without --shard")
			}
			return a.report(cfg.RunDir())
		},
	}
}

// report prints the summary of the run whose outputs are in dir.
func (a *app) report(dir string) error {
	s, err := report.Load(dir)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.stdout, s)
	}
	if a.quiet {
		return nil
	}
	return report.WriteText(a.stdout, s)
}
