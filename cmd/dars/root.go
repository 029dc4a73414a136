package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the flags every command takes (DESIGN §6).
type globals struct {
	config   string
	out      string
	logLevel string
	json     bool
	quiet    bool
	shard    string
}

// app is one invocation: its flags, its streams and its logger.
type app struct {
	g      globals
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	shard  shard // parsed --shard

	maxCost float64 // --max-cost of sample and run
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	a := &app{stdout: stdout, stderr: stderr}
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
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.setup()
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	f := root.PersistentFlags()
	f.StringVarP(&a.g.config, "config", "c", "dars.yaml", "the run file")
	f.StringVar(&a.g.out, "out", "", "output root (overrides the run file's out:)")
	f.StringVar(&a.g.logLevel, "log-level", "info", "debug | info | warn | error")
	f.BoolVar(&a.g.json, "json", false, "print a machine-readable summary on stdout")
	f.BoolVar(&a.g.quiet, "quiet", false, "no progress and no summary on the terminal")
	f.StringVar(&a.g.shard, "shard", "", "do part i of k of the queries (i/k; auto/k takes i from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID)")
	root.AddCommand(
		newInitCmd(a), newValidateCmd(a), newSampleCmd(a), newJudgeCmd(a),
		newLabelsCmd(a), newReportCmd(a), newRunCmd(a), newVersionCmd(a),
	)
	return root
}

// setup checks the global flags once, before any work.
func (a *app) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.g.logLevel)); err != nil {
		return badInput(fmt.Errorf("--log-level: unknown level %q", a.g.logLevel), "use debug, info, warn or error")
	}
	if a.g.quiet && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	sh, err := parseShard(a.g.shard, os.Getenv)
	if err != nil {
		return badInput(err, "")
	}
	a.shard = sh
	if !(a.maxCost >= 0) {
		return badInput(fmt.Errorf("--max-cost %v: want 0 (no limit) or a positive amount of USD", a.maxCost), "")
	}
	if a.g.out != "" {
		abs, err := filepath.Abs(a.g.out)
		if err != nil {
			return badInput(fmt.Errorf("--out: %w", err), "")
		}
		a.g.out = abs
	}
	return nil
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

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the dars version",
		Example: "  dars version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(a.stdout, "dars %s\n", version())
			return nil
		},
	}
}
