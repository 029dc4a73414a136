package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newRecoverCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Rebuild a lost or damaged run store from the exported Parquet files",
		Long: `recover rebuilds a run's store (dars.db) from the files the run exported:
variants.parquet, generations.parquet and scores.parquet. The damaged
store's files are moved aside (dars.db.damaged-<time>), never deleted, and
manifest.json records the new store, so the next run pays for nothing the
files hold. Use it when a run stops because its store does not match its
manifest. The llm judges' own calls are not in the files: the next judge
pass asks for those its verdicts still need.`,
		Example: "  dars recover -c dars.yaml && dars run -c dars.yaml",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			run, err := a.openRun(cmd.Context(), 0, nil)
			if err != nil {
				return err
			}
			defer closeRun(run, &err)
			res, err := run.Recover(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, res)
			}
			if !a.quiet {
				fmt.Fprintf(a.stderr, "rebuilt %s from its Parquet files: %s, %s, %s\n", run.Dir(),
					count(res.Variants, "variant", "variants"), count(int(res.Generations), "generation", "generations"),
					count(int(res.Scores), "verdict", "verdicts"))
				if res.Rewrites > 0 {
					fmt.Fprintf(a.stderr, "and the rewrites log: %s\n", count(res.Rewrites, "proposed rewrite", "proposed rewrites"))
				}
				for _, m := range res.Moved {
					fmt.Fprintf(a.stderr, "kept the damaged file as %s\n", m)
				}
				if res.JudgeCallsLost > 0 {
					fmt.Fprintf(a.stderr, "the %s of the llm judges are not in the files: the next judge pass asks for those it still needs\n",
						count(int(res.JudgeCallsLost), "call", "calls"))
				}
			}
			return nil
		},
	}
}
