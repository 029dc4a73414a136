package main

import (
	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/pipeline"
)

func newJudgeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "judge",
		Short: "Score the stored generations with every judge → scores.parquet",
		Long: `judge scores every stored generation with every configured judge. It never
asks an endpoint for a new generation: change a judge and re-run it freely.`,
		Example: "  dars judge -c dars.yaml",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.execute(cmd.Context(), pipeline.Judge, 0)
		},
	}
}
