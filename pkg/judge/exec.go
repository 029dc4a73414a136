package judge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
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
	// dars buffer without bound.
	maxVerdictLine = 1 << 20
	// stderrTail is how much of a child's stderr is kept for the detail of a
	// crash verdict.
	stderrTail = 4 << 10
	// execWaitDelay bounds how long reaping a killed child may wait for its
	// stderr to close (a grandchild outside the group could hold it open).
	execWaitDelay = time.Second
	// execStartGrace is added to the timeout of a process's first request,
	// so a slow interpreter start is not taken for a hung judge.
	execStartGrace = 10 * time.Second
)

// execJudge hands each output to an external program and reads its verdict.
//
// It keeps up to workers long-lived child processes, started on first use,
// each speaking JSON lines: one request object per line on the child's stdin,
// one verdict object per line on its stdout. A worker serves one request at a
// time. A worker that times out, exits, or writes a line that is not JSON is
// killed with its process group; the sample gets an error verdict, and the
// slot starts a fresh process on its next use. A process's first request
// gets execStartGrace on top of the timeout for the program to start.
type execJudge struct {
	name    string
	command []string
	timeout time.Duration
	// slots holds one entry per worker: a running worker, or nil for a slot
	// whose process is not started (or was retired). Taking an entry is
	// taking the right to use that slot; it is always put back.
	slots chan *execWorker

	mu     sync.Mutex
	closed bool
	live   map[*execWorker]struct{} // started and not yet stopped
}

var (
	_ Judge     = (*execJudge)(nil)
	_ io.Closer = (*execJudge)(nil)
)

func newExec(cfg config.Judge) (Judge, error) {
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
		command: append([]string(nil), cfg.Command...),
		timeout: timeout,
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

// execRequest is the line written to the judge program for one sample.
type execRequest struct {
	Item   execItem `json:"item"`
	Output string   `json:"output"`
}

type execItem struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Answer   string   `json:"answer"`
	Answers  []string `json:"answers"`
	Choices  []string `json:"choices"`
	Context  string   `json:"context"`
	Task     string   `json:"task"`
}

// execVerdict is the line the judge program answers with. Pointers tell a
// missing field from a zero one.
type execVerdict struct {
	Status    string   `json:"status"`
	Score     *float64 `json:"score"`
	Passed    *bool    `json:"passed"`
	Extracted string   `json:"extracted"`
	Detail    string   `json:"detail"`
}

// encodeRequest renders the request line for item and output, newline
// included. Lists are always arrays, never null.
func encodeRequest(item Item, output string) ([]byte, error) {
	req := execRequest{
		Item: execItem{
			ID: item.ID, Question: item.Question, Answer: item.Answer,
			Answers: item.Answers, Choices: item.Choices, Context: item.Context, Task: item.Task,
		},
		Output: output,
	}
	if req.Item.Answers == nil {
		req.Item.Answers = []string{}
	}
	if req.Item.Choices == nil {
		req.Item.Choices = []string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil { // Encode ends the line
		return nil, err
	}
	return buf.Bytes(), nil
}

// parseExecVerdict reads one verdict line. A line that is not a JSON object
// is an error (the caller retires the worker); a well-formed object with
// invalid fields is an error verdict, since the protocol is still in step.
//
// status defaults to "scored". A scored verdict needs score (in [0, 1]) or
// passed: a missing score is 1 or 0 from passed, and a missing passed is
// score == 1. score and passed are dropped from unscored and error verdicts.
func parseExecVerdict(line []byte) (Verdict, error) {
	var ev execVerdict
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&ev); err != nil {
		return Verdict{}, fmt.Errorf("parse verdict: %w", err)
	}
	if dec.More() {
		return Verdict{}, errors.New("parse verdict: more than one JSON value on the line")
	}
	v := Verdict{Status: ev.Status, Extracted: clip(ev.Extracted), Detail: ev.Detail}
	switch ev.Status {
	case "", record.StatusScored:
		v.Status = record.StatusScored
	case record.StatusUnscored, record.StatusError:
		return v, nil
	default:
		return judgeError(fmt.Sprintf("judge program: invalid status %q (want scored, unscored or error)", ev.Status)), nil
	}
	switch {
	case ev.Score != nil:
		s := *ev.Score
		if math.IsNaN(s) || s < 0 || s > 1 {
			return judgeError(fmt.Sprintf("judge program: score %v is outside [0, 1]", s)), nil
		}
		v.Score = s
		v.Passed = s == 1
		if ev.Passed != nil {
			v.Passed = *ev.Passed
		}
	case ev.Passed != nil:
		v.Passed = *ev.Passed
		if v.Passed {
			v.Score = 1
		}
	default:
		return judgeError("judge program: scored verdict has neither score nor passed"), nil
	}
	return v, nil
}

// Judge sends the item and output to a free worker and returns its verdict.
// It waits for a free worker as long as ctx allows. A worker that does not
// answer within the timeout, exits, or answers with a line that is not JSON
// yields an error verdict (not a Go error) and is replaced. Go errors mean
// ctx ended, the judge was closed, or the program could not be started.
func (j *execJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	req, err := encodeRequest(item, output)
	if err != nil {
		return Verdict{}, fmt.Errorf("judge %q: encode request: %w", j.name, err)
	}
	var w *execWorker
	select {
	case <-ctx.Done():
		return Verdict{}, ctx.Err()
	case w = <-j.slots:
	}
	// The slot goes back whatever happens; w is nil if its worker retired.
	defer func() { j.slots <- w }()
	if j.isClosed() {
		return Verdict{}, fmt.Errorf("judge %q: closed", j.name)
	}
	if w == nil {
		if w, err = j.start(); err != nil {
			return Verdict{}, err
		}
	}
	v, retire, err := w.ask(ctx, req, j.timeout)
	if retire {
		j.stop(w)
		if err == nil && v.Status == record.StatusError && w.crashed {
			v.Detail = w.crashDetail(v.Detail)
		}
		w = nil
	}
	return v, err
}

// Close kills every worker's process group and waits for them. Judge fails
// after Close. Close is safe to call more than once.
func (j *execJudge) Close() error {
	j.mu.Lock()
	j.closed = true
	ws := make([]*execWorker, 0, len(j.live))
	for w := range j.live {
		ws = append(ws, w)
	}
	j.mu.Unlock()
	for _, w := range ws {
		j.stop(w)
	}
	return nil
}

func (j *execJudge) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// start launches one worker process.
func (j *execJudge) start() (*execWorker, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, fmt.Errorf("judge %q: closed", j.name)
	}
	w, err := startWorker(j.command)
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

// execWorker is one running judge program.
type execWorker struct {
	cmd    *exec.Cmd
	stdin  *os.File // our end of the child's stdin
	stdout *os.File // our end of the child's stdout
	r      *bufio.Reader
	stderr *sandbox.TailBuffer

	answered bool // the process has answered a request: it is up
	crashed  bool // set by ask before stop: the child went away by itself
	stopOnce sync.Once
	waitErr  error // from cmd.Wait, valid after stop
}

// startWorker starts command in its own process group with the filtered
// environment, talking over pipes whose deadlines bound each request.
func startWorker(command []string) (*execWorker, error) {
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
	w := &execWorker{stdin: inW, stdout: outR, r: bufio.NewReader(outR), stderr: &sandbox.TailBuffer{Max: stderrTail}}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = w.stderr
	cmd.Env = judgeEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = execWaitDelay
	err = cmd.Start()
	// The child holds its own copies of these ends now.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	w.cmd = cmd
	return w, nil
}

// ask sends one request and reads one verdict line. retire reports that the
// worker must not serve again: it timed out, went away, wrote something that
// is not a verdict, or ctx ended mid-request (its answer would arrive late
// and be read as the next sample's).
func (w *execWorker) ask(ctx context.Context, req []byte, timeout time.Duration) (v Verdict, retire bool, err error) {
	wait := timeout
	if !w.answered {
		wait += execStartGrace
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
		// under us; the worker is fine but its pipes are not, so retire it.
		if !interrupt() && !retire {
			retire = true
		}
	}()
	fail := func(ioErr error) (Verdict, bool, error) {
		switch {
		case ctx.Err() != nil:
			return Verdict{}, true, ctx.Err()
		case errors.Is(ioErr, os.ErrDeadlineExceeded):
			return judgeError(fmt.Sprintf("judge program gave no verdict within %v", timeout)), true, nil
		case errors.Is(ioErr, io.EOF), errors.Is(ioErr, syscall.EPIPE):
			w.crashed = true
			return judgeError("judge program exited"), true, nil
		default:
			return judgeError(fmt.Sprintf("judge program: %v", ioErr)), true, nil
		}
	}
	if _, err := w.stdin.Write(req); err != nil {
		return fail(err)
	}
	line, err := readLine(w.r, maxVerdictLine)
	if err != nil {
		return fail(err)
	}
	w.answered = true
	v, err = parseExecVerdict(line)
	if err != nil {
		return judgeError(fmt.Sprintf("judge program wrote an invalid verdict line %q: %v", clip(string(line)), err)), true, nil
	}
	return v, false, nil
}

// stop kills the worker's process group and reaps it. It is idempotent.
func (w *execWorker) stop() {
	w.stopOnce.Do(func() {
		// Negative pid: the whole group, so grandchildren go too.
		_ = syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
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

// errLineTooLong is returned by readLine for a line over its limit.
var errLineTooLong = errors.New("verdict line too long")

// readLine returns the next line of r without its newline, reading at most
// limit bytes. A final line without a newline is returned only with io.EOF
// as the error, since a verdict is complete only once its newline arrives.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > limit+1 {
			return nil, errLineTooLong
		}
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

// judgeEnv returns env without variables whose names end in _KEY, _TOKEN or
// _SECRET (in any case): a judge program never gets an API key.
func judgeEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		up := strings.ToUpper(name)
		if strings.HasSuffix(up, "_KEY") || strings.HasSuffix(up, "_TOKEN") || strings.HasSuffix(up, "_SECRET") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
