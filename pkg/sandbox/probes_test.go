package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// mustNotRun is work that fails the test when it runs.
func mustNotRun(t *testing.T) func(context.Context) (Isolation, error) {
	return func(context.Context) (Isolation, error) {
		t.Error("work ran, want the kept answer")
		return Isolation{}, errors.New("ran")
	}
}

func TestCachedKeepsAnswers(t *testing.T) {
	calls := 0
	work := func(context.Context) (Isolation, error) {
		calls++
		return Isolation{}, errors.New("no python here")
	}
	var p Probes
	for range 3 {
		if _, err := cached(t.Context(), &p, probedTable, "k", work); err == nil || err.Error() != "no python here" {
			t.Fatalf("cached = %v, want the work's error", err)
		}
	}
	if calls != 1 {
		t.Errorf("work ran %d times on one Probes, want once: failures are kept too", calls)
	}
	calls = 0
	for range 2 {
		cached(t.Context(), nil, probedTable, "k", work)
	}
	if calls != 2 {
		t.Errorf("work ran %d times on a nil Probes, want every time", calls)
	}
}

// TestCachedCancelled checks an answer cut short by its caller's context is
// not kept, that a caller waiting for it does the work itself, and that a
// waiter whose own context ends gives up alone.
func TestCachedCancelled(t *testing.T) {
	type answer struct {
		iso Isolation
		err error
	}
	var p Probes
	ctxA, cancelA := context.WithCancel(t.Context())
	startedA := make(chan struct{})
	a := make(chan answer, 1)
	go func() {
		iso, err := cached(ctxA, &p, probedTable, "k", func(ctx context.Context) (Isolation, error) {
			close(startedA)
			<-ctx.Done()
			return Isolation{}, fmt.Errorf("probe: %w", context.Cause(ctx))
		})
		a <- answer{iso, err}
	}()
	<-startedA

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := cached(ended, &p, probedTable, "k", mustNotRun(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter with an ended context: %v, want context.Canceled", err)
	}

	b := make(chan answer, 1)
	go func() {
		iso, err := cached(t.Context(), &p, probedTable, "k", func(context.Context) (Isolation, error) {
			return Isolation{Reason: "b"}, nil
		})
		b <- answer{iso, err}
	}()
	cancelA()
	if r := <-a; !errors.Is(r.err, context.Canceled) {
		t.Errorf("the cancelled caller: %v, want context.Canceled", r.err)
	}
	if r := <-b; r.err != nil || r.iso.Reason != "b" {
		t.Errorf("the other caller: %+v, %v, want its own answer", r.iso, r.err)
	}
	if iso, err := cached(t.Context(), &p, probedTable, "k", mustNotRun(t)); err != nil || iso.Reason != "b" {
		t.Errorf("after: %+v, %v, want the kept answer", iso, err)
	}
}

func TestWarnOnce(t *testing.T) {
	n := 0
	var p Probes
	for range 3 {
		p.WarnOnce(func() { n++ })
	}
	if n != 1 {
		t.Errorf("warned %d times on one Probes, want once", n)
	}
	n = 0
	var none *Probes
	for range 2 {
		none.WarnOnce(func() { n++ })
	}
	if n != 2 {
		t.Errorf("warned %d times on a nil Probes, want every time", n)
	}
}

// fakeInterpreter writes a shell script that stands in for python and
// returns its path. Each start writes a start byte to g's events FIFO;
// then the script does what the file "mode" in g's directory says:
//
//	resolve  block when asked for sys.executable
//	probe    answer with its own path, then block when it runs the harness
//	python   be python (the interpreter of argv)
//	fail     exit with status 3
//
// Blocking is opening a FIFO nobody writes, until the process is killed.
func fakeInterpreter(t *testing.T, g *gate, python []string) string {
	t.Helper()
	script := fmt.Sprintf(`#!/bin/sh
read mode < '%[1]s/mode'
printf %[2]c > '%[1]s/events'
case "$mode" in
python) exec %[3]s "$@" ;;
fail) exit 3 ;;
esac
if [ "$1" = -c ] && [ "$mode" = probe ]; then
	echo "$0"
	exit 0
fi
read never < '%[1]s/never'
`, g.dir, startByte, shellQuote(python))
	path := g.path("python")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// shellQuote renders argv for sh.
func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// setMode sets the fake interpreter's mode.
func (g *gate) setMode(t *testing.T, mode string) {
	t.Helper()
	if err := os.WriteFile(g.path("mode"), []byte(mode+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestProbeCancel checks cancelling the context stops a probe stuck in
// either step, resolving the interpreter or running the probe program, and
// that the cancelled probe is not kept: the next Probe on the same cache
// starts the interpreter again, and keeps that answer.
func TestProbeCancel(t *testing.T) {
	python, _, err := interpreter(t.Context(), nil, &testProbes)
	if err != nil {
		t.Skipf("no usable python3: %v", err)
	}
	tests := []struct {
		mode   string
		starts int // the interpreter's starts up to the stuck one
	}{
		{"resolve", 1},
		{"probe", 2},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			g := newGate(t)
			command := []string{fakeInterpreter(t, g, python)}
			g.setMode(t, tt.mode)
			var probes Probes
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() {
				_, err := Probe(ctx, command, &probes)
				errc <- err
			}()
			for range tt.starts {
				select {
				case <-g.started:
				case err := <-errc:
					t.Fatalf("Probe = %v before the interpreter got stuck", err)
				}
			}
			cancel()
			// Had Probe ignored ctx, it would end at its own 30s timeout
			// with another error.
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled Probe = %v, want context.Canceled", err)
			}

			g.setMode(t, "python")
			iso, err := Probe(t.Context(), command, &probes)
			if err != nil {
				t.Fatalf("Probe after the cancelled one: %v", err)
			}
			if n := g.drain(t); n == 0 {
				t.Error("Probe after the cancelled one did not start the interpreter: the cancellation was kept")
			}

			g.setMode(t, "fail")
			if again, err := Probe(t.Context(), command, &probes); err != nil || again != iso {
				t.Errorf("Probe once more = %+v, %v, want the kept %+v", again, err, iso)
			}
			if n := g.drain(t); n != 0 {
				t.Errorf("Probe once more started the interpreter %d times, want the kept answer", n)
			}
		})
	}
}
