package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/pipeline"
	"github.com/darslabs/dars/pkg/problem"
)

// app is one invocation: the global flags (DESIGN §6), the streams, the
// logger, and what the flags parse to.
type app struct {
	config   string
	out      string
	logLevel string
	json     bool
	quiet    bool
	shardArg string

	stdout   io.Writer
	stderr   io.Writer
	inFlight context.Context
	log      *slog.Logger
	shard    pipeline.Shard // parsed --shard
}

func newRootCmd(inFlight context.Context, stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr, inFlight: inFlight}
	root := &cobra.Command{
		Use:   "dars",
		Short: "Distribution-aware routing supervision: success-rate distributions as router labels",
		Long: `dars builds labels for LLM routers from measured distributions instead of one
noisy draw: for every query it takes several meaning-preserving variants,
samples every candidate model several times on each, judges every generation,
and writes per-(query, model) success-rate distributions as Parquet.`,
		Example: `  dars init demo && cd demo && dars run
  dars run -c examples/quickstart/dars.yaml
  dars report -c dars.yaml`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return problem.Input(fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()), "run `dars --help` for the commands")
			}
			return nil
		},
		RunE:          func(cmd *cobra.Command, args []string) error { return cmd.Help() },
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.setup()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return problem.Input(err, fmt.Sprintf("run `%s --help` for its flags", cmd.CommandPath()))
	})
	f := root.PersistentFlags()
	f.StringVarP(&a.config, "config", "c", "dars.yaml", "the run file")
	f.StringVar(&a.out, "out", "", "output root (overrides the run file's out:)")
	f.StringVar(&a.logLevel, "log-level", "info", "debug | info | warn | error")
	f.BoolVar(&a.json, "json", false, "print a machine-readable summary on stdout")
	f.BoolVar(&a.quiet, "quiet", false, "no progress and no summary on the terminal")
	f.StringVar(&a.shardArg, "shard", "", "do part i of k of the queries (i/k; auto/k takes i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID)")
	root.AddCommand(
		newInitCmd(a), newValidateCmd(a), newParaphraseCmd(a), newSampleCmd(a), newJudgeCmd(a),
		newLabelsCmd(a), newReportCmd(a), newRunCmd(a), newRecoverCmd(a), newVersionCmd(a),
	)
	return root
}

// noArgs is cobra.NoArgs as an input problem.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return problem.Input(fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0]), fmt.Sprintf("run `%s --help`", cmd.CommandPath()))
	}
	return nil
}

// setup checks the global flags once, before any work.
func (a *app) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return problem.Input(fmt.Errorf("--log-level: unknown level %q", a.logLevel), "use debug, info, warn or error")
	}
	if a.quiet && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	sh, err := pipeline.ParseShard(a.shardArg, os.Getenv)
	if err != nil {
		return problem.Input(err, "")
	}
	a.shard = sh
	if a.out != "" {
		abs, err := filepath.Abs(a.out)
		if err != nil {
			return problem.Input(fmt.Errorf("--out: %w", err), "")
		}
		a.out = abs
	}
	return nil
}

// loadConfig reads the run file and applies the flags over it.
func (a *app) loadConfig() (config.Config, error) {
	cfg, err := config.Load(a.config)
	if err != nil {
		hint := ""
		if errors.Is(err, fs.ErrNotExist) {
			hint = "write one with `dars init`, or name it with -c FILE"
		}
		return cfg, problem.Input(err, hint)
	}
	if a.out != "" {
		cfg.Out = a.out
	}
	if err := cfg.Validate(); err != nil {
		return cfg, problem.Input(fmt.Errorf("%s: %w", a.config, err), "")
	}
	return cfg, nil
}

// openRun loads the run file and opens the run: every input problem
// surfaces here, before anything is written.
func (a *app) openRun(ctx context.Context, maxCost float64, events func(pipeline.Event)) (*pipeline.Run, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	return pipeline.Open(ctx, cfg, pipeline.Options{Shard: a.shard, MaxCostUSD: maxCost, Log: a.log,
		Events: events, InFlight: a.inFlight, Version: version()})
}

// version is the dars version: the module version when built from a tagged
// module, else "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "devel"
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// count writes n with the noun in the number it takes.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
