package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// gate lets a test see sandboxed programs start and choose when they end,
// with no clock: through FIFOs in a directory every user can reach, which
// the sandbox shows read-write inside (see attach), since it may run
// programs as uid 65534. A program from gate.program writes one byte to the
// events FIFO when it starts, then waits for one byte on the release FIFO.
//
// The test holds both FIFOs open read-write, so no open blocks and a read
// never sees end-of-file between programs.
type gate struct {
	dir    string
	inside string // dir as the programs see it

	events, release *os.File // the test's ends
	// started receives a value for each start byte a program wrote.
	started chan struct{}
	// marks receives the marker byte drain writes after the programs' bytes.
	marks chan struct{}
}

// Bytes written to the events FIFO.
const (
	startByte = 's' // a program started
	markByte  = 'm' // written by drain: every byte before it has been read
)

// newGate makes the FIFOs and starts the goroutine that reads events; the
// FIFOs are closed and the goroutine has ended when the test ends.
func newGate(t *testing.T) *gate {
	t.Helper()
	// Not t.TempDir: its parent is closed to uid 65534.
	dir, err := os.MkdirTemp("", "dars-gate-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	g := &gate{dir: dir, inside: dir, started: make(chan struct{}), marks: make(chan struct{})}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"events", "release", "never"} {
		g.mkfifo(t, name)
	}
	g.events = g.open(t, "events")
	g.release = g.open(t, "release")
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { g.read(quit) })
	t.Cleanup(func() {
		close(quit)
		g.events.Close() // ends a Read in flight
		g.release.Close()
		wg.Wait()
	})
	return g
}

// gateInside is where a sandbox with namespaces shows a gate's directory:
// its minimal root has no /tmp of the host.
const gateInside = "/dars-gate"

// attach shows the gate's directory to s's programs; call it before s's
// first run.
func (g *gate) attach(s *Sandbox) {
	if s.Isolation().Namespaces {
		s.binds = append(s.binds, [2]string{g.dir, gateInside})
		g.inside = gateInside
	}
}

// path returns the path of a file in the gate's directory.
func (g *gate) path(name string) string { return filepath.Join(g.dir, name) }

// insidePath returns the path programs open for a file of the gate.
func (g *gate) insidePath(name string) string { return filepath.Join(g.inside, name) }

// mkfifo makes the FIFO name, readable and writable by every user.
func (g *gate) mkfifo(t *testing.T, name string) {
	t.Helper()
	if err := syscall.Mkfifo(g.path(name), 0o666); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := os.Chmod(g.path(name), 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
}

// open opens the FIFO name read-write.
func (g *gate) open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(g.path(name), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// read passes the bytes of the events FIFO to started and marks until the
// FIFO is closed or quit is.
func (g *gate) read(quit <-chan struct{}) {
	buf := make([]byte, 1)
	for {
		if _, err := g.events.Read(buf); err != nil {
			return
		}
		ch := g.started
		if buf[0] == markByte {
			ch = g.marks
		}
		select {
		case ch <- struct{}{}:
		case <-quit:
			return
		}
	}
}

// program returns a program that reports its start and waits for its
// release.
func (g *gate) program() string {
	return fmt.Sprintf("import os\n"+
		"events = os.open(%q, os.O_WRONLY)\n"+
		"release = os.open(%q, os.O_RDWR)\n"+
		"os.write(events, b%q)\n"+
		"assert os.read(release, 1) == b'r'\n",
		g.insidePath("events"), g.insidePath("release"), string(rune(startByte)))
}

// releaseOne lets one waiting program end.
func (g *gate) releaseOne(t *testing.T) {
	t.Helper()
	if _, err := g.release.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
}

// drain returns how many start bytes were written and not yet received from
// started. Only bytes written before the call count: call it when no program
// that could still write one is running.
func (g *gate) drain(t *testing.T) int {
	t.Helper()
	if _, err := g.events.Write([]byte{markByte}); err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		select {
		case <-g.started:
		case <-g.marks:
			return n
		}
	}
}

// runResult is how one Run ended.
type runResult struct {
	res Result
	err error
}

// runAll runs n gate programs on s, each in its own goroutine, and sends
// how they end to results, which must have room for them. When the test
// ends s is closed and the goroutines have ended.
func (g *gate) runAll(t *testing.T, s *Sandbox, n int, results chan<- runResult) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := s.Run(t.Context(), Program{Solution: g.program()})
			results <- runResult{res, err}
		})
	}
	t.Cleanup(func() {
		s.Close() // kills programs still waiting for release
		wg.Wait()
	})
}

// waitStart waits until a program has started, failing the test when a run
// of results ends first.
func (g *gate) waitStart(t *testing.T, results <-chan runResult) {
	t.Helper()
	select {
	case <-g.started:
	case r := <-results:
		t.Fatalf("a run ended before its program started: %+v, %v", r.res, r.err)
	}
}
