package main

import (
	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/pipeline"
)

func newSampleCmd(a *app) *cobra.Command {
	var dryRun bool
	var maxCost float64
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Sample every candidate model on every variant → generations.parquet",
		Long: `sample asks every candidate model for the configured number of samples of
every variant, committing each finished sample to the run store before it
counts. A re-run asks only for what the store does not hold yet.`,
		Example: "  dars sample -c dars.yaml\n  dars sample --dry-run\n  dars sample --max-cost 25",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dryRun {
				return a.dryRun(cmd.Context())
			}
			return a.execute(cmd.Context(), pipeline.Sample, maxCost)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the requests, tokens and cost still owed, with and without n-batching; send nothing")
	addMaxCost(cmd, &maxCost)
	return cmd
}
