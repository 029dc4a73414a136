// Command dars builds distribution-aware routing labels: it samples every
// candidate model several times on several rewrites of every query, judges
// every generation, and writes per-(query, model) success distributions as
// Parquet. See README.md and docs/.
//
// The command is a thin shell over pkg/pipeline: one file per command
// (cmd_<verb>.go) parses flags and hands them to the engine, progress.go
// draws the engine's events, and Main maps every error to an exit code, once.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/darslabs/dars/pkg/pipeline"
	"github.com/darslabs/dars/pkg/problem"
)

// Exit codes (DESIGN §6).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2   // bad usage, config or input
	exitIncomplete  = 3   // finished, with failed samples or judge calls recorded in the outputs
	exitInterrupted = 130 // stopped by Ctrl-C after committing what had finished
)

// grace is how long requests in flight may finish after the first Ctrl-C.
const grace = 30 * time.Second

func main() { os.Exit(runMain()) }

// runMain is main without the exit: Main under the signal handling.
func runMain() int {
	ctx, inFlight, stop := stopOnSignals(os.Stderr)
	defer stop()
	return Main(ctx, inFlight, os.Args[1:], os.Stdout, os.Stderr)
}

// stopOnSignals returns ctx, cancelled by the first SIGINT or SIGTERM (stop
// issuing work), and inFlight, cancelled by a second signal or when the
// grace period after the first runs out (stop what is in flight). Either
// way what finished is committed before dars exits.
func stopOnSignals(stderr io.Writer) (ctx, inFlight context.Context, stop func()) {
	ctx, stopIssuing := context.WithCancel(context.Background())
	inFlight, abort := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-inFlight.Done():
			return
		}
		stopIssuing()
		fmt.Fprintf(stderr, "dars: stopping: letting requests in flight finish for up to %s (Ctrl-C again to stop now)\n", grace)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-sigs:
		case <-t.C:
		case <-inFlight.Done():
		}
		abort()
	}()
	return ctx, inFlight, func() { signal.Stop(sigs); stopIssuing(); abort() }
}

// Main runs dars with args and returns the exit code. Requests already sent
// run under inFlight (nil: under ctx). Errors are printed once, here: the
// message as "dars: ...", then each hint in it as "hint: ...".
func Main(ctx, inFlight context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(inFlight, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code := exitCode(ctx, err)
	switch code {
	case exitOK:
	case exitInterrupted:
		fmt.Fprintln(stderr, "dars: interrupted: every finished sample is stored; run the same command again to resume")
	default:
		fmt.Fprintf(stderr, "dars: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		for _, h := range problem.Hints(err) {
			fmt.Fprintf(stderr, "hint: %s\n", h)
		}
	}
	return code
}

// exitCode maps an error to the exit code DESIGN §6 gives it. A cancelled
// context is an interruption only when ctx, the signals' context, is done:
// a context dars cancelled itself says nothing about the user.
func exitCode(ctx context.Context, err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return exitInterrupted
	case problem.IsInput(err):
		return exitUsage
	case errors.Is(err, pipeline.ErrIncomplete):
		return exitIncomplete
	}
	return exitFailed
}
