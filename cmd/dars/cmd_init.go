package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/pipeline"
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
		Args:    maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			paths, err := pipeline.Scaffold(dir, force)
			if err != nil || a.quiet {
				return err
			}
			next := "dars run"
			if filepath.Clean(dir) != "." {
				next = "cd " + dir + " && dars run"
			}
			fmt.Fprintf(a.stderr, "wrote %s and %s\nnext: %s\n", paths[0], paths[1], next)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}
