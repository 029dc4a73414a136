// Command dars builds distribution-aware routing labels: it samples every
// candidate model several times on several rewrites of every query, judges
// every generation, and writes per-(query, model) success distributions as
// Parquet. See README.md and docs/.
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

	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// Exit codes (DESIGN §6).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2   // bad usage, config or input
	exitSampleError = 3   // finished, with permanent per-sample errors recorded in the outputs
	exitInterrupted = 130 // stopped by Ctrl-C after committing what had finished
)

// grace is how long requests in flight may finish after the first Ctrl-C.
const grace = 30 * time.Second

func main() { os.Exit(runMain()) }

// runMain is main without the exit: Main under the signal handling.
func runMain() int {
	ctx, inFlight, stop := stopOnSignals(os.Stderr)
	defer stop()
	return Main(withInFlight(ctx, inFlight), os.Args[1:], os.Stdout, os.Stderr)
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

type inFlightKey struct{}

// withInFlight attaches the context requests already sent run under.
func withInFlight(ctx, inFlight context.Context) context.Context {
	return context.WithValue(ctx, inFlightKey{}, inFlight)
}

// inFlightContext is the context attached by withInFlight, or nil.
func inFlightContext(ctx context.Context) context.Context {
	c, _ := ctx.Value(inFlightKey{}).(context.Context)
	return c
}

// Main runs dars with args and returns the exit code. Errors are printed
// once, here, as "dars: ..." with an optional "hint: ..." line.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if code == exitInterrupted {
		fmt.Fprintln(stderr, "dars: interrupted: every finished sample is stored; run the same command again to resume")
		return code
	}
	if code == exitSampleError {
		fmt.Fprintf(stderr, "dars: %v\n", err)
		return code
	}
	msg := err.Error()
	fmt.Fprintf(stderr, "dars: %s\n", strings.ReplaceAll(msg, "\n", "\n  "))
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(stderr, "hint: %s\n", h.Hint())
	}
	return code
}

// cliError carries an exit code and an optional hint with its cause.
type cliError struct {
	code int
	err  error
	hint string
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }
func (e *cliError) Hint() string  { return e.hint }

// badInput marks err as a problem with the usage, config or input (exit 2).
func badInput(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &cliError{code: exitUsage, err: err, hint: hint}
}

func exitCode(err error) int {
	var ce *cliError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, store.ErrLocked):
		return exitUsage
	case errors.Is(err, sampler.ErrModelStopped):
		return exitFailed
	case isUsageError(err):
		return exitUsage
	}
	return exitFailed
}

// isUsageError recognises cobra's own flag and argument errors.
func isUsageError(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
