package judge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/sandbox"
)

// Options of the exec judge, as they appear in the run file.
const (
	optCommand     = "command"
	optExecWorkers = "workers"
	optExecTimeout = "timeout"
)

// Defaults and limits of the exec judge.
const (
	defaultExecWorkers = 2
	maxExecWorkers     = 64
	defaultExecTimeout = 30 * time.Second
	// maxVerdictLine caps one verdict line, so a runaway program cannot make
	// dars buffer without bound. It leaves room for a program that echoes a
	// long output as extracted (clipped to maxExtracted once read).
	maxVerdictLine = 1 << 20
	// stderrTail is how much of a child's stderr is kept for the detail of a
	// crash verdict.
	stderrTail = 4 << 10
	// execWaitDelay bounds how long reaping a killed child may wait for its
	// stderr to close (a process the sweep could not kill may hold it open).
	execWaitDelay = time.Second
	// execStartGrace is added to the timeout of a process's first request
	// until the judge has answered once, so a slow interpreter start is not
	// taken for a hung judge. Once a process has answered, the grace is
	// twice the slowest start seen, within [minStartGrace, execStartGrace]:
	// a replacement for a hung process does not cost 10 s more each time.
	execStartGrace = 10 * time.Second
	minStartGrace  = time.Second
	// maxTimeoutsInARow is how many requests in a row, across workers, may
	// go unanswered before the judge stops: a hung program would otherwise
	// cost the timeout on every remaining sample.
	maxTimeoutsInARow = 3
	// workerVar is the environment variable holding a worker's token: the
	// processes of a worker are those under it and those that carry its
	// token, which a process that left the tree (setsid and an exiting
	// parent) still does.
	workerVar = "DARS_EXEC_WORKER"
)

// ErrStopped is wrapped by the error a judge returns once it has stopped for
// good: it will score no more samples, and every call returns the same
// error at once. Today only the exec judge stops (see StoppedError).
var ErrStopped = errors.New("judge stopped")

// StoppedError says which judge stopped and why. It wraps ErrStopped.
type StoppedError struct {
	Judge  string
	Reason string // what went wrong, with the fix when it is known
}

// Error reads "judge NAME stopped: REASON".
func (e *StoppedError) Error() string { return fmt.Sprintf("judge %q stopped: %s", e.Judge, e.Reason) }

// Unwrap returns ErrStopped.
func (e *StoppedError) Unwrap() error { return ErrStopped }

// execJudge hands each output to an external program and reads its verdict.
//
// It keeps up to workers long-lived child processes, started on first use,
// each speaking JSON lines (protocol 2, see exec_protocol.go): one request
// per line on the child's stdin, one verdict per line on its stdout, echoing
// the request's id. A worker serves one request at a time. A worker that
// times out, exits, or writes a line that is not its request's verdict is
// killed with every process it started; the sample gets an error verdict,
// and the slot starts a fresh process on its next use.
//
// The judge stops (every later call returns a *StoppedError at once) after
// maxTimeoutsInARow requests in a row went unanswered, or when its program's
// first verdict has no id (a program written for protocol 1).
type execJudge struct {
	name    string
	command []string
	timeout time.Duration
	secrets []string // variables never passed to the program
	spawn   spawner  // starts the workers
	// slots holds one entry per worker: a running worker, or nil for a slot
	// whose process is not started (or was retired). Taking an entry is
	// taking the right to use that slot; it is always put back.
	slots chan *execWorker

	mu       sync.Mutex
	closed   bool
	stopped  *StoppedError            // why the judge stopped; nil while it runs
	live     map[*execWorker]struct{} // started and not yet stopped
	timeouts int                      // requests in a row that timed out, across workers
	spokeV2  bool                     // a verdict has echoed its id
	slowest  time.Duration            // the slowest start seen; 0 before any
}

var (
	_ Judge     = (*execJudge)(nil)
	_ io.Closer = (*execJudge)(nil)
)

func newExec(_ context.Context, cfg config.Judge, opts Options) (Judge, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, fmt.Errorf("judge %q: option %q is required for type %q", cfg.Name, optCommand, cfg.Type)
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return nil, fmt.Errorf("judge %q: option %q: %w", cfg.Name, optCommand, err)
	}
	workers := cfg.ExecWorkers
	switch {
	case workers == 0:
		workers = defaultExecWorkers
	case workers < 1 || workers > maxExecWorkers:
		return nil, fmt.Errorf("judge %q: option %q: must be between 1 and %d, got %d",
			cfg.Name, optExecWorkers, maxExecWorkers, workers)
	}
	timeout := defaultExecTimeout
	if cfg.ExecTimeout != "" {
		d, err := time.ParseDuration(cfg.ExecTimeout)
		if err != nil {
			return nil, fmt.Errorf("judge %q: option %q: %w", cfg.Name, optExecTimeout, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("judge %q: option %q: must be positive, got %q", cfg.Name, optExecTimeout, cfg.ExecTimeout)
		}
		timeout = d
	}
	j := &execJudge{
		name:    displayName(cfg),
		command: slices.Clone(cfg.Command),
		timeout: timeout,
		secrets: slices.Clone(opts.SecretVars),
		slots:   make(chan *execWorker, workers),
		live:    make(map[*execWorker]struct{}),
	}
	for range workers {
		j.slots <- nil
	}
	return j, nil
}

// Name returns the judge's configured name.
func (j *execJudge) Name() string { return j.name }

// Judge sends the item and output to a free worker and returns its verdict.
// It waits for a free worker as long as ctx allows. A worker that does not
// answer within the timeout, exits, or answers with a line that is not its
// request's verdict yields an error verdict (not a Go error) and is
// replaced. Go errors mean ctx ended, the judge was closed, the program
// could not be started, or the judge stopped (a *StoppedError).
func (j *execJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	if err := j.unusable(); err != nil {
		return Verdict{}, err
	}
	var w *execWorker
	select {
	case <-ctx.Done():
		return Verdict{}, ctx.Err()
	case w = <-j.slots:
	}
	// The slot goes back whatever happens; w is nil if its worker retired.
	defer func() { j.slots <- w }()
	if err := j.unusable(); err != nil {
		return Verdict{}, err
	}
	if w == nil {
		var err error
		if w, err = j.start(); err != nil {
			return Verdict{}, err
		}
	}
	w.lastID++
	req, err := encodeRequest(w.lastID, item, output)
	if err != nil {
		return Verdict{}, fmt.Errorf("judge %q: encode request: %w", j.name, err)
	}
	a := w.ask(ctx, w.lastID, req, j.timeout, j.startGrace())
	if a.retire() {
		j.stop(w)
		if a.fail == failExited {
			a.v.Detail = w.crashDetail(a.v.Detail)
		}
		w = nil
	}
	if a.fail == failCancelled {
		return Verdict{}, a.err
	}
	if err := j.account(a); err != nil {
		return Verdict{}, err
	}
	return a.v, nil
}

// unusable returns why the judge takes no more requests, or nil.
func (j *execJudge) unusable() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.unusableLocked()
}

func (j *execJudge) unusableLocked() error {
	switch {
	case j.stopped != nil:
		return j.stopped
	case j.closed:
		return fmt.Errorf("judge %q: closed", j.name)
	}
	return nil
}

// startGrace is what a process's first request gets on top of the timeout.
func (j *execJudge) startGrace() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.slowest == 0 {
		return execStartGrace
	}
	return min(execStartGrace, max(minStartGrace, 2*j.slowest))
}

// account records what a request taught about the program and returns the
// error its caller must return instead of a.v, if any: the judge stopped,
// by this answer or while the request was in flight, or was closed under
// it. The call that stops the judge on a timeout keeps its verdict.
func (j *execJudge) account(a answer) error {
	j.mu.Lock()
	j.slowest = max(j.slowest, a.started)
	if a.fail != failNone {
		if err := j.unusableLocked(); err != nil {
			j.mu.Unlock()
			return err // killed under it: not this sample's failure
		}
	}
	var stop string
	switch a.fail {
	case failNone:
		j.timeouts = 0
		j.spokeV2 = true
	case failTimeout:
		if j.timeouts++; j.timeouts >= maxTimeoutsInARow {
			stop = fmt.Sprintf("%d requests in a row got no verdict within %v: the program hangs "+
				"(try it on one request line by hand), or raise %q", j.timeouts, j.timeout, optExecTimeout)
		}
	case failNoID:
		if !j.spokeV2 {
			stop = `the program's verdict has no "id", as exec protocol 1 wrote them: since protocol 2 ` +
				`each verdict must echo its request's "id", e.g. {"id": req["id"], "passed": true} ` +
				`(see "Protocol 2" in docs/judges.md)`
		}
	}
	if stop == "" {
		j.mu.Unlock()
		return nil
	}
	j.stopped = &StoppedError{Judge: j.name, Reason: stop}
	err := j.stopped
	ws := j.liveLocked()
	j.mu.Unlock()
	j.stopAll(ws) // requests in flight end now, with err
	if a.fail == failTimeout {
		return nil
	}
	return err
}

// Close kills every worker and what it started, and waits for them. Judge
// fails after Close. Close is safe to call more than once.
func (j *execJudge) Close() error {
	j.mu.Lock()
	j.closed = true
	ws := j.liveLocked()
	j.mu.Unlock()
	j.stopAll(ws)
	j.spawn.close()
	return nil
}

func (j *execJudge) liveLocked() []*execWorker {
	ws := make([]*execWorker, 0, len(j.live))
	for w := range j.live {
		ws = append(ws, w)
	}
	return ws
}

// start launches one worker process.
func (j *execJudge) start() (*execWorker, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.unusableLocked(); err != nil {
		return nil, err
	}
	w, err := startWorker(&j.spawn, j.command, j.secrets)
	if err != nil {
		return nil, fmt.Errorf("judge %q: start %q: %w", j.name, j.command[0], err)
	}
	j.live[w] = struct{}{}
	return w, nil
}

// stop kills w and forgets it.
func (j *execJudge) stop(w *execWorker) {
	w.stop()
	j.mu.Lock()
	delete(j.live, w)
	j.mu.Unlock()
}

// stopAll stops ws at once: each stop sweeps /proc and waits for a process.
func (j *execJudge) stopAll(ws []*execWorker) {
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() { j.stop(w) })
	}
	wg.Wait()
}

// execWorker is one running judge program.
type execWorker struct {
	cmd     *exec.Cmd
	token   string   // workerVar's value in the program's environment
	stdin   *os.File // our end of the child's stdin
	stdout  *os.File // our end of the child's stdout
	r       *bufio.Reader
	stderr  *sandbox.TailBuffer
	started time.Time

	// Used by the slot's holder only.
	lastID   uint64 // the id of the last request sent
	answered bool   // the process has answered a request: it is up

	stopOnce sync.Once
	waitErr  error // from cmd.Wait, valid after stop
}

// startWorker starts command in its own process group with the filtered
// environment and a fresh token, talking over pipes whose deadlines bound
// each request.
func startWorker(sp *spawner, command, secrets []string) (*execWorker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	w := &execWorker{token: rand.Text(), stdin: inW, stdout: outR, r: bufio.NewReader(outR),
		stderr: &sandbox.TailBuffer{Max: stderrTail}}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = w.stderr
	cmd.Env = append(judgeEnv(os.Environ(), append(slices.Clone(secrets), workerVar)), workerVar+"="+w.token)
	cmd.SysProcAttr = workerAttr()
	cmd.WaitDelay = execWaitDelay
	err = sp.start(cmd)
	// The child holds its own copies of these ends now.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	w.cmd = cmd
	w.started = time.Now()
	return w, nil
}

// failure is how a request failed its worker.
type failure int

const (
	failNone      failure = iota
	failTimeout           // no verdict within the timeout
	failExited            // the process went away (or was killed under us)
	failProtocol          // a line that is not the request's verdict, or another I/O error
	failNoID              // a verdict without "id": maybe a protocol 1 program
	failCancelled         // ctx ended mid-request
)

// answer is the outcome of one request.
type answer struct {
	v    Verdict
	fail failure
	err  error // ctx's error, with failCancelled
	// cut: ctx ended just after the verdict arrived, cutting the pipes'
	// deadlines, so the worker must retire although v is good.
	cut bool
	// started is how long the process took to answer its first request
	// (with anything at all); 0 for later requests.
	started time.Duration
}

// retire reports whether the worker must not serve again.
func (a answer) retire() bool { return a.fail != failNone || a.cut }

// ask sends request id and reads its verdict line. The first request of a
// process gets grace on top of timeout.
func (w *execWorker) ask(ctx context.Context, id uint64, req []byte, timeout, grace time.Duration) (a answer) {
	// Only one request is in flight, so output waiting before it is sent
	// is an extra line of the last one.
	if n := w.r.Buffered(); n > 0 {
		extra, _ := w.r.Peek(n)
		extra, _, _ = bytes.Cut(extra, []byte("\n"))
		return answer{fail: failProtocol, v: judgeError(fmt.Sprintf(
			"judge program: an extra line after its verdict for request %d (%q): write exactly one line per request",
			id-1, clip(string(extra))))}
	}
	wait := timeout
	if !w.answered {
		wait += grace
	}
	deadline := time.Now().Add(wait)
	// Errors are ignored: both ends are pipes, which support deadlines.
	_ = w.stdin.SetWriteDeadline(deadline)
	_ = w.stdout.SetReadDeadline(deadline)
	interrupt := context.AfterFunc(ctx, func() {
		_ = w.stdin.SetWriteDeadline(time.Unix(1, 0))
		_ = w.stdout.SetReadDeadline(time.Unix(1, 0))
	})
	defer func() {
		// If ctx ended after the answer arrived, the deadlines were cut
		// under us; the worker is fine but its pipes are not.
		if !interrupt() && a.fail == failNone {
			a.cut = true
		}
	}()
	fail := func(ioErr error) answer {
		switch {
		case ctx.Err() != nil:
			return answer{fail: failCancelled, err: ctx.Err()}
		case errors.Is(ioErr, os.ErrDeadlineExceeded):
			detail := fmt.Sprintf("judge program gave no verdict within %v", timeout)
			if !w.answered {
				detail += fmt.Sprintf(" (and %v to start)", grace)
			}
			return answer{fail: failTimeout, v: judgeError(detail)}
		case errors.Is(ioErr, io.EOF), errors.Is(ioErr, syscall.EPIPE), errors.Is(ioErr, os.ErrClosed):
			return answer{fail: failExited, v: judgeError("judge program exited")}
		case errors.Is(ioErr, errLineTooLong):
			return answer{fail: failProtocol, v: judgeError(fmt.Sprintf("judge program wrote a verdict line longer than %d MiB", maxVerdictLine>>20))}
		default:
			return answer{fail: failProtocol, v: judgeError(fmt.Sprintf("judge program: %v", ioErr))}
		}
	}
	if _, err := w.stdin.Write(req); err != nil {
		return fail(err)
	}
	line, err := readLine(w.r, maxVerdictLine)
	if err != nil {
		return fail(err)
	}
	if !w.answered {
		w.answered = true
		a.started = time.Since(w.started)
	}
	v, err := parseExecVerdict(line, id)
	switch {
	case errors.Is(err, errNoID):
		a.fail = failNoID
		a.v = judgeError(fmt.Sprintf(`judge program: %v (want %d): each verdict must echo its request's "id"`, err, id))
	case err != nil:
		a.fail = failProtocol
		a.v = judgeError(fmt.Sprintf("judge program: %v", err))
	default:
		a.v = v
	}
	return a
}

// stop kills the worker with everything it started and reaps it. It is
// idempotent.
func (w *execWorker) stop() {
	w.stopOnce.Do(func() {
		killWorker(w.cmd.Process.Pid, workerVar+"="+w.token)
		w.stdin.Close()
		w.waitErr = w.cmd.Wait()
		w.stdout.Close()
	})
}

// crashDetail adds how the stopped process ended and the tail of its stderr
// to detail.
func (w *execWorker) crashDetail(detail string) string {
	if w.waitErr != nil {
		detail += " (" + w.waitErr.Error() + ")"
	}
	if tail := strings.TrimSpace(w.stderr.String()); tail != "" {
		detail += "; stderr: " + tail
	}
	return detail
}

// judgeEnv returns env without the variables named in secrets and those
// whose names end in _KEY, _TOKEN or _SECRET (in any case): a judge program
// never gets an API key, whatever the run file calls its variable.
func judgeEnv(env, secrets []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(name)
		if strings.HasSuffix(up, "_KEY") || strings.HasSuffix(up, "_TOKEN") || strings.HasSuffix(up, "_SECRET") ||
			slices.Contains(secrets, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}
