package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(a *app) *cobra.Command {
	var ping bool
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check the run file, the data set, the prompt and the judges",
		Long: `validate loads everything a run needs and reports every problem it finds
without writing anything. --ping also sends one tiny request to every
candidate model.`,
		Example: "  dars validate -c dars.yaml\n  dars validate --ping",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			run, err := a.openRun(cmd.Context(), 0, nil)
			if err != nil {
				return err
			}
			defer closeRun(run, &err)
			if ping {
				if err := run.Ping(cmd.Context()); err != nil {
					return err
				}
			}
			p := run.Plan()
			if a.json {
				return writeJSON(a.stdout, map[string]any{"ok": true, "queries": p.Queries,
					"variants": p.Variants, "models": p.Models, "judges": p.Judges, "samples": p.Samples,
					"rewrites": p.Rewrites, "rewrite_samples": p.RewriteSamples})
			}
			if !a.quiet {
				line := fmt.Sprintf("ok: %s, %s, %s, %s: %s planned", count(p.Queries, "query", "queries"),
					count(p.Variants, "variant", "variants"), count(p.Models, "model", "models"),
					count(p.Judges, "judge", "judges"), count(int(p.Samples), "sample", "samples"))
				if p.Rewrites > 0 {
					line += fmt.Sprintf("; up to %s for %s to write, and %s of them", count(p.Rewrites, "rewrite", "rewrites"),
						run.Config().Paraphrase.Model, count(int(p.RewriteSamples), "sample", "samples"))
				}
				fmt.Fprintln(a.stdout, line)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&ping, "ping", false, "send one tiny request to every candidate model")
	return cmd
}
