package main

import (
	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/pipeline"
)

func newLabelsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "labels",
		Short:   "Build the labels from the primary judge's scores → labels.parquet, routes.parquet",
		Example: "  dars labels -c dars.yaml",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.execute(cmd.Context(), pipeline.Labels, 0)
		},
	}
}
