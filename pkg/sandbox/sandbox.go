// Package sandbox runs untrusted Python programs (generated code) against
// trusted tests so that the programs can neither harm the machine nor fake
// their verdict. docs/sandbox.md says what it promises and what it does not.
//
// A Program has two parts that run in two processes: the solution (the
// untrusted code) and the tests, which call the solution's functions
// through proxies over a socket and get plain data back. Only the tests'
// process can report a pass, over a channel the solution's process does not
// hold; the solution never sees the tests.
//
// Each worker is a long-lived Python process (a fork server, harness.py)
// that forks every sample from a pre-warmed interpreter. When the machine
// allows it (see Probe) the server is process 1 of new PID, mount, network,
// IPC and UTS namespaces, dies with dars, and sees a minimal read-only root
// (the interpreter and /usr; no home directories, data sets or run stores);
// every sample gets new PID, mount and IPC namespaces, a tmpfs of its own
// as /tmp, and its program a user namespace of its own, so its process
// limit is its own. Without namespaces a sample is only a process group
// with limits: see Isolation.
package sandbox

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/darslabs/dars/pkg/excerpt"
)

//go:embed harness.py
var harness string

// Defaults and limits of a sandbox.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMemoryMB = 1024
	// MinMemoryMB is the smallest address space a forked interpreter runs in.
	MinMemoryMB = 64
	// MaxWorkers bounds Config.Workers.
	MaxWorkers = 64

	// nproc caps the processes (threads included) of one program. With
	// namespaces each program has a user namespace of its own, so the count
	// is its own; without, it is shared by the programs of one user.
	nproc = 64
	// fsizeBytes caps the size of any file the program writes.
	fsizeBytes = 16 << 20
	// nofile caps the program's open files.
	nofile = 64
	// nobody is the uid and gid the program runs as when dars is root.
	nobody = 65534

	// stderrTail is how much of a server's stderr is kept, to explain its
	// death.
	stderrTail = 4 << 10
	// detailMax caps Result.Detail.
	detailMax = 300
	// startGrace is added to the timeout before Go kills a server itself:
	// the sample's own clock normally fires first.
	startGrace = 5 * time.Second
	// startTimeout bounds a server's start (a cold interpreter, its
	// imports, the minimal root).
	startTimeout = 30 * time.Second
	// waitDelay bounds how long reaping waits for a server's stderr to
	// close, and how long a server without namespaces gets to kill its
	// sample before Go kills it.
	waitDelay = time.Second
)

// Verdict codes of the harness (see harness.py).
const (
	exitPassed   = 0
	exitFailed   = 10
	exitCPU      = 11
	exitTimeout  = 12
	exitSignaled = 13
	exitSetup    = 20
)

// Config says how to run programs.
type Config struct {
	// Command is the interpreter and its leading arguments; empty means
	// python3. A name without a slash is looked up in PATH, and the
	// interpreter is resolved to the real executable (sys.executable), so
	// a shim that needs the environment (pyenv) still works in an empty one.
	Command []string
	// Timeout is the wall-clock limit of one run; the CPU-time limit is
	// the same rounded up to whole seconds, plus one. 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MemoryMB is the program's address-space limit in MiB; 0 means
	// DefaultMemoryMB.
	MemoryMB int
	// Workers bounds the runs in flight; 0 means 1.
	Workers int
}

// Program is what one run judges.
type Program struct {
	// Solution is the untrusted source. It runs as a module named solution
	// in the program's process; its functions answer the tests' calls.
	Solution string
	// Helpers is trusted source the tester runs before binding the
	// solution's functions (an item's imports, a prompt's helper
	// functions): the tests use its definitions, not the solution's.
	Helpers string
	// Tests is trusted source the tester runs last. It calls the
	// solution's functions as if they were its own; every value they
	// return reaches it as plain data. The program never sees it.
	Tests string
	// Calls names the solution's functions the tests call even where
	// Helpers or the built-ins define the name (a prompt's stub of the
	// function to write; an MBPP function named sum). The solution's
	// other functions are bound only where neither does.
	Calls []string
}

// Result is how one program ended.
type Result struct {
	Passed   bool   // its tests ran to their end without an exception
	TimedOut bool   // killed at the wall-clock timeout or the CPU limit
	Detail   string // why it failed, one line: "AssertionError (test line 12)", "timeout after 10s"
}

// Sandbox runs programs under one configuration. It is safe for concurrent
// use; at most Config.Workers programs run at once, each on a server of
// its own.
type Sandbox struct {
	argv     []string // the interpreter, resolved
	timeout  time.Duration
	memoryMB int
	iso      Isolation
	slots    chan struct{} // one token per run holding a worker
	idle     chan *server  // servers between runs

	// waiting, when set, is called as a run starts to wait for a worker
	// (every worker is busy), so tests can see the bound without a clock.
	waiting func()
	// binds, set by tests before the first run, shows host directories
	// read-write in the sandbox: {host, path inside}.
	binds [][2]string

	base   context.Context // cancelled by Close
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// New checks cfg, resolves the interpreter and probes the isolation the
// machine allows, under ctx; probes keeps the answers for the other
// sandboxes of the run (nil: probe afresh). ctx bounds only New: the
// sandbox lives until Close. New fails when ctx ends before the answers
// come, or when the interpreter cannot be found or cannot run a program in
// the sandbox. It also removes the sample directories that dars processes
// no longer running left in the temporary directory.
func New(ctx context.Context, cfg Config, probes *Probes) (*Sandbox, error) {
	timeout, memoryMB, workers := cfg.Timeout, cfg.MemoryMB, cfg.Workers
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < 0 {
		return nil, fmt.Errorf("timeout %v is not positive", timeout)
	}
	if memoryMB == 0 {
		memoryMB = DefaultMemoryMB
	}
	if memoryMB < MinMemoryMB {
		return nil, fmt.Errorf("memory limit %d MiB is below %d MiB", memoryMB, MinMemoryMB)
	}
	if workers == 0 {
		workers = 1
	}
	if workers < 1 || workers > MaxWorkers {
		return nil, fmt.Errorf("workers %d is not between 1 and %d", workers, MaxWorkers)
	}
	argv, iso, err := interpreter(ctx, cfg.Command, probes)
	if err != nil {
		return nil, err
	}
	cleanStale(os.TempDir())
	return newSandbox(argv, iso, timeout, memoryMB, workers), nil
}

// newSandbox builds a sandbox from checked parts. It starts no process:
// a worker's server starts with its first run.
func newSandbox(argv []string, iso Isolation, timeout time.Duration, memoryMB, workers int) *Sandbox {
	s := &Sandbox{
		argv: argv, iso: iso, timeout: timeout, memoryMB: memoryMB,
		slots: make(chan struct{}, workers), idle: make(chan *server, workers),
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

// Interpreter returns the resolved interpreter argv.
func (s *Sandbox) Interpreter() []string { return append([]string(nil), s.argv...) }

// Isolation reports how the sandbox's programs are isolated.
func (s *Sandbox) Isolation() Isolation { return s.iso }

// Close kills the programs in flight, waits for their runs to end and
// stops the servers. Run fails after Close. Close is safe to call more
// than once.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	for {
		select {
		case srv := <-s.idle:
			srv.stop()
		default:
			return nil
		}
	}
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("sandbox closed")

// Run runs prog in the sandbox and reports how it ended. It waits for a
// free worker as long as ctx allows. A program that fails, times out or is
// killed is a Result, not an error; errors mean ctx ended, the sandbox was
// closed, or the sandbox itself failed (the interpreter, the namespaces).
func (s *Sandbox) Run(ctx context.Context, prog Program) (Result, error) {
	if err := s.enter(); err != nil {
		return Result{}, err
	}
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.base, cancel)()
	if err := s.acquire(ctx); err != nil {
		return Result{}, err
	}
	defer func() { <-s.slots }()
	srv, err := s.server(ctx)
	if err != nil {
		return Result{}, err
	}
	code, detail, err := srv.run(ctx, prog, s.timeout+startGrace)
	if srv.alive() {
		s.idle <- srv // never blocks: a worker holds at most one server
	} else {
		srv.stop()
	}
	switch {
	case errors.Is(err, errUnresponsive):
		return Result{TimedOut: true, Detail: fmt.Sprintf("timeout after %v (sandbox unresponsive)", s.timeout)}, nil
	case err != nil && ctx.Err() != nil:
		return Result{}, s.ctxErr(ctx)
	case err != nil:
		return Result{}, err
	}
	return s.verdict(code, detail)
}

// server returns an idle server, or starts one.
func (s *Sandbox) server(ctx context.Context) (*server, error) {
	select {
	case srv := <-s.idle:
		return srv, nil
	default:
	}
	srv, err := startServer(ctx, s.argv, s.iso, s.serverConfig())
	if err != nil && ctx.Err() != nil {
		return nil, s.ctxErr(ctx)
	}
	return srv, err
}

// serverConfig is what a server needs to know, from s.
func (s *Sandbox) serverConfig() serverConfig {
	uid := -1
	if s.iso.DropsToNobody {
		uid = nobody
	}
	return serverConfig{
		Timeout: s.timeout.Seconds(),
		// One second more than the wall clock: a single-threaded loop meets
		// the timeout first, and the CPU limit stops only threads that burn
		// more than one core.
		CPU:        int(math.Ceil(s.timeout.Seconds())) + 1,
		MemoryMB:   s.memoryMB,
		NProc:      nproc,
		FSize:      fsizeBytes,
		NoFile:     nofile,
		UID:        uid,
		Namespaces: s.iso.Namespaces,
		UserNS:     s.iso.UserNamespace,
		Binds:      s.binds,
		TmpDir:     os.TempDir(),
		Tag:        os.Getpid(),
	}
}

// acquire takes a worker, waiting as long as ctx allows. A run whose ctx
// has ended gets none.
func (s *Sandbox) acquire(ctx context.Context) error {
	select {
	case s.slots <- struct{}{}:
	default:
		if s.waiting != nil {
			s.waiting()
		}
		select {
		case <-ctx.Done():
			return s.ctxErr(ctx)
		case s.slots <- struct{}{}:
		}
	}
	if ctx.Err() != nil {
		<-s.slots
		return s.ctxErr(ctx)
	}
	return nil
}

// enter registers a run unless the sandbox is closed.
func (s *Sandbox) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.wg.Add(1)
	return nil
}

// ctxErr tells a closed sandbox from an ended ctx.
func (s *Sandbox) ctxErr(ctx context.Context) error {
	if s.base.Err() != nil {
		return ErrClosed
	}
	return context.Cause(ctx)
}

// verdict maps a server's verdict to a Result. Set-up failures are errors.
func (s *Sandbox) verdict(code int, detail string) (Result, error) {
	switch code {
	case exitPassed:
		return Result{Passed: true}, nil
	case exitFailed, exitSignaled:
		if detail == "" {
			detail = "failed"
		}
		return Result{Detail: clip(detail)}, nil
	case exitCPU:
		return Result{TimedOut: true, Detail: clip(detail)}, nil
	case exitTimeout:
		d := fmt.Sprintf("timeout after %v", s.timeout)
		if strings.Contains(detail, "unresponsive") {
			d += " (sandbox unresponsive)"
		}
		return Result{TimedOut: true, Detail: d}, nil
	}
	if detail == "" {
		detail = fmt.Sprintf("verdict code %d", code)
	}
	return Result{}, fmt.Errorf("sandbox: %s", clip(strings.TrimPrefix(detail, "sandbox: ")))
}

// clip cuts s to detailMax bytes on a rune boundary.
func clip(s string) string { return excerpt.Clip(s, detailMax, "…") }

// removeAll removes dir. A program running as the same user can leave a
// directory without permissions, which RemoveAll cannot enter: permissions
// are restored and removal retried once.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// TailBuffer keeps the last Max bytes written to it, for a child's
// stderr: writes never fail, so the child is never blocked on it. It is
// safe for concurrent use.
type TailBuffer struct {
	Max int
	mu  sync.Mutex
	buf []byte
}

// Write keeps the tail of p and never fails.
func (b *TailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.Max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept bytes.
func (b *TailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
