// Package sandbox runs untrusted Python programs (generated code and its
// tests) so that they cannot harm the machine or the process that runs them.
//
// Each run gets a fresh temporary directory, removed afterwards, and a
// Python harness (harness.py) that forks the program under resource limits
// (CPU time, address space, processes, file size, open files, no core
// files), with an empty environment, stdin and stdout on /dev/null, and a
// wall-clock timeout. As root the program runs as uid/gid 65534 (nobody),
// since the process limit does not bind root. When the machine allows it
// (see Probe) the harness is process 1 of new PID, network, mount, IPC and
// UTS namespaces: the program has no network (not even loopback), sees only
// its own processes, and every mount is read-only except its directory, a
// small tmpfs; when the harness exits, the kernel kills everything left in
// the namespace.
// Without namespaces the run is only a process group with limits: see
// Isolation.
package sandbox

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/darslabs/dars/pkg/excerpt"
)

//go:embed harness.py
var harness string

// Defaults and limits of a sandbox.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMemoryMB = 1024
	// MinMemoryMB is the smallest address space an interpreter starts in.
	MinMemoryMB = 64
	// MaxWorkers bounds Config.Workers.
	MaxWorkers = 64

	// nproc caps the processes (threads included) of the sandbox user. As
	// uid 65534 the count is shared by every sandbox running at once.
	nproc = 64
	// fsizeBytes caps the size of any file the program writes.
	fsizeBytes = 16 << 20
	// nofile caps the program's open files.
	nofile = 64
	// nobody is the uid and gid the program runs as when dars is root.
	nobody = 65534

	// stderrTail is how much of the harness's stderr is kept.
	stderrTail = 4 << 10
	// detailMax caps Result.Detail.
	detailMax = 300
	// startGrace is added to the timeout before Go kills the process
	// group itself: the harness's own alarm starts after the interpreter
	// has started, and normally fires first.
	startGrace = 5 * time.Second
	// waitDelay bounds how long reaping waits for stderr to close.
	waitDelay = time.Second
)

// Exit statuses of the harness (see harness.py).
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

// Result is how one program ended.
type Result struct {
	Passed   bool   // ran to its end without an exception
	TimedOut bool   // killed at the wall-clock timeout or the CPU limit
	Detail   string // why it failed, one line: "AssertionError (line 12)", "timeout after 10s"
}

// Sandbox runs programs under one configuration. It is safe for concurrent
// use; at most Config.Workers programs run at once.
type Sandbox struct {
	argv     []string // the interpreter, resolved
	timeout  time.Duration
	memoryMB int
	iso      Isolation
	slots    chan struct{} // one token per run holding a worker

	// waiting, when set, is called as a run starts to wait for a worker
	// (every worker is busy), so tests can see the bound without a clock.
	waiting func()

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
// the sandbox, for example because uid 65534 cannot read its standard
// library.
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
	return newSandbox(argv, iso, timeout, memoryMB, workers), nil
}

// newSandbox builds a sandbox from checked parts.
func newSandbox(argv []string, iso Isolation, timeout time.Duration, memoryMB, workers int) *Sandbox {
	s := &Sandbox{argv: argv, iso: iso, timeout: timeout, memoryMB: memoryMB, slots: make(chan struct{}, workers)}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

// Interpreter returns the resolved interpreter argv.
func (s *Sandbox) Interpreter() []string { return append([]string(nil), s.argv...) }

// Isolation reports how the sandbox's programs are isolated.
func (s *Sandbox) Isolation() Isolation { return s.iso }

// Close kills the programs in flight and waits for their runs to end. Run
// fails after Close. Close is safe to call more than once.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("sandbox closed")

// errUnresponsive marks a run Go killed because the harness outlived its
// own timeout.
var errUnresponsive = errors.New("sandbox unresponsive")

// Run runs program (Python source) in the sandbox and reports how it ended.
// It waits for a free worker as long as ctx allows. A program that fails,
// times out or is killed is a Result, not an error; errors mean ctx ended,
// the sandbox was closed, or the sandbox itself failed (the temporary
// directory, the interpreter, the namespaces).
func (s *Sandbox) Run(ctx context.Context, program string) (Result, error) {
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
	dir, err := s.prepare(program)
	if err != nil {
		return Result{}, err
	}
	defer removeAll(dir)
	return s.run(ctx, dir)
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

// prepare creates the run's directory with prog.py in it, owned by the
// sandbox user when the program will run as one.
func (s *Sandbox) prepare(program string) (string, error) {
	dir, err := os.MkdirTemp("", "dars-code-")
	if err != nil {
		return "", fmt.Errorf("sandbox: create directory: %w", err)
	}
	fail := func(err error) (string, error) {
		removeAll(dir)
		return "", fmt.Errorf("sandbox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "prog.py"), []byte(program), 0o644); err != nil {
		return fail(err)
	}
	if s.iso.DropsToNobody {
		if err := os.Chown(dir, nobody, nobody); err != nil {
			return fail(err)
		}
	}
	return dir, nil
}

// run starts the harness on dir and reads its verdict.
func (s *Sandbox) run(ctx context.Context, dir string) (Result, error) {
	stderr := &TailBuffer{Max: stderrTail}
	cmd := s.command(dir)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("sandbox: start %q: %w", cmd.Path, err)
	}
	pgid := cmd.Process.Pid
	var (
		mu     sync.Mutex
		reason error // why Go killed the group, if it did
	)
	kill := func(why error) {
		mu.Lock()
		if reason == nil {
			reason = why
		}
		mu.Unlock()
		// Negative pid: the whole process group.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	timer := time.AfterFunc(s.timeout+startGrace, func() { kill(errUnresponsive) })
	stop := context.AfterFunc(ctx, func() { kill(ctx.Err()) })
	waitErr := cmd.Wait()
	timer.Stop()
	stop()
	if !s.iso.Namespaces {
		// The harness is gone; whatever the program left in its group goes
		// too (in a PID namespace the kernel has done this already).
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	mu.Lock()
	killed := reason
	mu.Unlock()
	switch {
	case killed == errUnresponsive:
		return Result{TimedOut: true, Detail: fmt.Sprintf("timeout after %v (sandbox unresponsive)", s.timeout)}, nil
	case killed != nil:
		return Result{}, s.ctxErr(ctx)
	}
	return s.verdict(waitErr, excerpt.LastLine(stderr.String()))
}

// command builds the harness's process for dir: the interpreter reading
// the harness from stdin, its arguments, an empty environment, and the
// process attributes of the isolation level (procAttr).
func (s *Sandbox) command(dir string) *exec.Cmd {
	argv := append([]string(nil), s.argv...)
	// One second more than the wall clock: a single-threaded loop meets the
	// timeout first, and the CPU limit stops only threads that burn more
	// than one core.
	cpu := int(math.Ceil(s.timeout.Seconds())) + 1
	uid := -1
	if s.iso.DropsToNobody {
		uid = nobody
	}
	// "-": the harness comes on stdin, keeping command lines short.
	argv = append(argv, "-I", "-B", "-",
		dir,
		strconv.FormatFloat(s.timeout.Seconds(), 'f', -1, 64),
		strconv.Itoa(cpu),
		strconv.Itoa(s.memoryMB),
		strconv.Itoa(nproc),
		strconv.Itoa(fsizeBytes),
		strconv.Itoa(nofile),
		strconv.Itoa(uid),
		boolArg(s.iso.Namespaces),
		boolArg(s.iso.UserNamespace),
	)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{} // empty, not nil: nil would inherit ours
	cmd.Stdin = strings.NewReader(harness)
	cmd.Dir = dir
	cmd.SysProcAttr = procAttr(s.iso)
	cmd.WaitDelay = waitDelay
	return cmd
}

// boolArg renders a flag of the harness's command line.
func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// verdict maps the harness's exit to a Result. Exits the harness does not
// make (the interpreter failing to start) are errors.
func (s *Sandbox) verdict(waitErr error, detail string) (Result, error) {
	if waitErr == nil {
		return Result{Passed: true}, nil
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return Result{}, fmt.Errorf("sandbox: %w", waitErr)
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		// Only a program outside a namespace can reach the harness.
		return Result{Detail: clip("sandbox killed by signal " + ws.Signal().String())}, nil
	case ee.ExitCode() == exitFailed, ee.ExitCode() == exitSignaled:
		if detail == "" {
			detail = "failed"
		}
		return Result{Detail: clip(detail)}, nil
	case ee.ExitCode() == exitCPU:
		return Result{TimedOut: true, Detail: clip(detail)}, nil
	case ee.ExitCode() == exitTimeout:
		return Result{TimedOut: true, Detail: fmt.Sprintf("timeout after %v", s.timeout)}, nil
	}
	if detail == "" {
		detail = waitErr.Error()
	}
	return Result{}, fmt.Errorf("sandbox: %s (exit status %d)", clip(strings.TrimPrefix(detail, "sandbox: ")), ee.ExitCode())
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
