package main

import (
	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/pipeline"
)

func newParaphraseCmd(a *app) *cobra.Command {
	var maxCost float64
	cmd := &cobra.Command{
		Use:   "paraphrase",
		Short: "Have the rewriter model write each query's rewrites → variants.parquet, rewrites.parquet",
		Long: `paraphrase asks the run file's rewriter (paraphrase.model) for the rewrites
each query lacks of paraphrase.count, under the rules of the data set's task
kind, filters them (and has paraphrase.verify.model check them), and keeps
them as variants. Every call is committed to the run store before it counts;
a re-run asks only for what is missing, and a larger count adds rewrites
without touching the ones kept. rewrites.parquet logs every proposed rewrite
and why it was kept or rejected.`,
		Example: "  dars paraphrase -c dars.yaml\n  dars paraphrase --max-cost 2",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.execute(cmd.Context(), pipeline.Paraphrase, maxCost)
		},
	}
	addMaxCost(cmd, &maxCost)
	return cmd
}
