package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/darslabs/dars/pkg/excerpt"
)

// errUnresponsive marks a run Go ended because its server outlived the
// sample's own timeout.
var errUnresponsive = errors.New("sandbox unresponsive")

// serverConfig is a server's command-line argument (see harness.py).
type serverConfig struct {
	Timeout    float64     `json:"timeout"`   // seconds of wall clock per sample
	CPU        int         `json:"cpu"`       // seconds of CPU per process
	MemoryMB   int         `json:"memory_mb"` // address space per process
	NProc      int         `json:"nproc"`
	FSize      int         `json:"fsize"`
	NoFile     int         `json:"nofile"`
	UID        int         `json:"uid"` // the sandbox user when dars is root, else -1
	Namespaces bool        `json:"namespaces"`
	UserNS     bool        `json:"userns"` // the server has a user namespace of its own
	Binds      [][2]string `json:"binds,omitempty"`
	TmpDir     string      `json:"tmpdir"` // samples' directories without namespaces
	Tag        int         `json:"tag"`    // our pid, in those directories' names
}

// testsSpec is what a sample's tester reads from its pipe.
type testsSpec struct {
	Helpers string   `json:"helpers"`
	Tests   string   `json:"tests"`
	Calls   []string `json:"calls"`
}

// serverReply is a server's answer: ready, or a verdict.
type serverReply struct {
	Ready  bool   `json:"ready"`
	Code   int    `json:"code"`
	Detail string `json:"detail"`
}

// server is one worker's fork server: a Python process that forks a fresh
// sandbox per sample from a warm interpreter. It runs one sample at a time.
type server struct {
	cmd      *exec.Cmd
	conn     *net.UnixConn // the control socket: requests out, verdicts in
	r        *bufio.Reader
	stderr   *TailBuffer
	graceful bool // without namespaces: let it kill its sample before it is killed

	done chan struct{} // closed once the process is reaped
	once sync.Once
	mu   sync.Mutex
	dead bool // killed, or found broken
}

// startServer starts a server and waits until it is ready, as long as ctx
// allows and at most startTimeout.
func startServer(ctx context.Context, argv []string, iso Isolation, cfg serverConfig) (*server, error) {
	arg, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	conn, child, err := socketPair()
	if err != nil {
		return nil, fmt.Errorf("sandbox: control socket: %w", err)
	}
	args := append(append([]string(nil), argv[1:]...), "-I", "-S", "-B", "-", string(arg))
	cmd := exec.Command(argv[0], args...)
	cmd.Env = []string{} // empty, not nil: nil would inherit ours
	cmd.Stdin = strings.NewReader(harness)
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{child} // fd 3
	cmd.SysProcAttr = procAttr(iso)
	cmd.WaitDelay = waitDelay
	v := &server{cmd: cmd, conn: conn, r: bufio.NewReader(conn), stderr: &TailBuffer{Max: stderrTail},
		graceful: !iso.Namespaces, done: make(chan struct{})}
	cmd.Stderr = v.stderr
	err = cmd.Start()
	child.Close()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sandbox: start %q: %w", cmd.Path, err)
	}
	go func() {
		_ = cmd.Wait()
		close(v.done)
	}()
	stop := context.AfterFunc(ctx, v.kill)
	_ = conn.SetReadDeadline(time.Now().Add(startTimeout))
	rep, err := v.read()
	stop()
	switch {
	case err == nil && rep.Ready:
		return v, nil
	case err == nil:
		err = fmt.Errorf("sandbox: %s", strings.TrimPrefix(rep.Detail, "sandbox: "))
	case ctx.Err() != nil:
		err = context.Cause(ctx)
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("sandbox: the interpreter did not start within %v", startTimeout)
	default:
		err = v.deathErr(err)
	}
	v.stop()
	return nil, err
}

// run runs prog and returns the verdict's code and detail. limit bounds
// the wait for the verdict: past it the server is killed and the error is
// errUnresponsive. When ctx ends the server is killed and the error says
// so. A server that failed cannot run again (see alive).
func (v *server) run(ctx context.Context, prog Program, limit time.Duration) (int, string, error) {
	spec, err := json.Marshal(testsSpec{Helpers: prog.Helpers, Tests: prog.Tests, Calls: prog.Calls})
	if err != nil {
		return 0, "", fmt.Errorf("sandbox: %w", err)
	}
	req, err := json.Marshal(struct {
		Solution string `json:"solution"`
	}{prog.Solution})
	if err != nil {
		return 0, "", fmt.Errorf("sandbox: %w", err)
	}
	// The tests travel on a pipe of their own, handed to the server as a
	// descriptor: the server and the program never read them; only the
	// sample's tester does.
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, "", fmt.Errorf("sandbox: %w", err)
	}
	go func() {
		// Ends when the tester has read everything or every reader is
		// gone (EPIPE).
		_, _ = pw.Write(spec)
		pw.Close()
	}()
	stop := context.AfterFunc(ctx, v.kill)
	defer stop()
	_ = v.conn.SetDeadline(time.Now().Add(limit))
	_, _, err = v.conn.WriteMsgUnix([]byte{'R'}, syscall.UnixRights(int(pr.Fd())), nil)
	pr.Close()
	if err == nil {
		_, err = v.conn.Write(append(req, '\n'))
	}
	var rep serverReply
	if err == nil {
		rep, err = v.read()
	}
	switch {
	case err == nil:
		return rep.Code, rep.Detail, nil
	case ctx.Err() != nil:
		v.kill()
		return 0, "", context.Cause(ctx)
	case errors.Is(err, os.ErrDeadlineExceeded):
		v.kill()
		return 0, "", errUnresponsive
	}
	v.kill()
	return 0, "", v.deathErr(err)
}

// read reads one reply.
func (v *server) read() (serverReply, error) {
	line, err := v.r.ReadBytes('\n')
	if err != nil {
		return serverReply{}, err
	}
	var rep serverReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return serverReply{}, fmt.Errorf("sandbox: the server's answer does not decode: %w", err)
	}
	return rep, nil
}

// deathErr explains a server that stopped answering: its stderr's last
// line, when it wrote one.
func (v *server) deathErr(err error) error {
	v.kill()
	<-v.done
	if last := excerpt.LastLine(v.stderr.String()); last != "" {
		return fmt.Errorf("sandbox: server exited: %s", clip(strings.TrimPrefix(last, "sandbox: ")))
	}
	return fmt.Errorf("sandbox: server exited: %w", err)
}

// alive reports whether the server can take another run.
func (v *server) alive() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return !v.dead
}

// kill ends the server. With namespaces the kernel kills every process of
// its samples with it (it is process 1 of their PID namespace); without,
// it first gets waitDelay to kill its sample's process group, which it
// does when its control socket closes. Safe to call more than once, from
// any goroutine.
func (v *server) kill() {
	v.once.Do(func() {
		v.mu.Lock()
		v.dead = true
		v.mu.Unlock()
		v.conn.Close()
		if v.graceful {
			select {
			case <-v.done:
				return
			case <-time.After(waitDelay):
			}
		}
		_ = v.cmd.Process.Kill()
	})
}

// stop kills the server and waits until it is reaped.
func (v *server) stop() {
	v.kill()
	<-v.done
}

// socketPair returns the two ends of a new control socket: ours, and the
// server's, to pass as one of its files.
func socketPair() (*net.UnixConn, *os.File, error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	ours := os.NewFile(uintptr(fds[0]), "sandbox-control")
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return c.(*net.UnixConn), os.NewFile(uintptr(fds[1]), "sandbox-control-server"), nil
}
