package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Isolation is what a sandbox can do on this machine, found by Probe.
type Isolation struct {
	// Namespaces: each worker's server is process 1 of new PID, mount,
	// network, IPC and UTS namespaces with a minimal read-only root; each
	// sample gets new PID, mount and IPC namespaces and a tmpfs as /tmp, and
	// its program a user namespace of its own, without capabilities.
	Namespaces bool
	// UserNamespace: the servers' namespaces come from a user namespace
	// (dars is not root), where dars's uid is 0.
	UserNamespace bool
	// DropsToNobody: dars is root, so the program runs as uid/gid 65534.
	DropsToNobody bool
	// Reason says why namespaces are not used, when they are not.
	Reason string
}

// String describes the isolation in a few words, for logs.
func (i Isolation) String() string {
	var b strings.Builder
	switch {
	case i.Namespaces && i.UserNamespace:
		b.WriteString("user, PID, network, mount, IPC and UTS namespaces, a minimal root, a user namespace per program")
	case i.Namespaces:
		b.WriteString("PID, network, mount, IPC and UTS namespaces, a minimal root, a user namespace per program")
	default:
		b.WriteString("process group only (the network is not cut off")
		if i.Reason != "" {
			b.WriteString(": " + i.Reason)
		}
		b.WriteString(")")
	}
	if i.DropsToNobody {
		b.WriteString(", uid 65534")
	}
	return b.String()
}

// probeTimeout bounds one probe run; a cold interpreter start can be slow.
const probeTimeout = 30 * time.Second

// probeProgram imports standard modules the servers do not import ahead
// and reads the interpreter, so an interpreter whose library the sandbox
// user cannot read fails the probe, not every sample.
const probeProgram = "import csv, difflib, sys\nopen(sys.executable, 'rb').close()\n" +
	"def f(x):\n    return [x, {'k': (1.5, None)}]\n"

// probeTests calls probeProgram's function through the sandbox, so the
// probe covers the tester and the program's link as well.
const probeTests = "assert f(2) == [2, {'k': (1.5, None)}]\n"

// Probe resolves command (empty means python3) as New does and reports the
// isolation its programs get. probes caches the answer (nil: probe afresh);
// ctx bounds the probe, and a probe that ctx cut short is not cached.
func Probe(ctx context.Context, command []string, probes *Probes) (Isolation, error) {
	_, iso, err := interpreter(ctx, command, probes)
	return iso, err
}

// interpreter resolves command and probes it. Without a command it tries
// python3 from PATH, then /usr/bin/python3 and /usr/local/bin/python3: as
// root, an interpreter under /root (pyenv) is unreadable to uid 65534.
func interpreter(ctx context.Context, command []string, probes *Probes) ([]string, Isolation, error) {
	candidates := [][]string{command}
	if len(command) == 0 {
		candidates = [][]string{{"python3"}, {"/usr/bin/python3"}, {"/usr/local/bin/python3"}}
	}
	var msgs []string
	tried := make(map[string]bool)
	for _, c := range candidates {
		argv, err := resolve(ctx, probes, c)
		if err == nil {
			key := cacheKey(argv)
			if tried[key] {
				continue
			}
			tried[key] = true
			var iso Isolation
			if iso, err = probe(ctx, probes, argv); err == nil {
				return argv, iso, nil
			}
		}
		if ctx.Err() != nil {
			// Not the interpreter's fault: the next candidate would fail
			// the same way.
			return nil, Isolation{}, err
		}
		msgs = append(msgs, err.Error())
	}
	return nil, Isolation{}, errors.New(strings.Join(msgs, "; "))
}

// resolve returns the resolution of command kept in probes, resolving it
// when there is none.
func resolve(ctx context.Context, probes *Probes, command []string) ([]string, error) {
	return cached(ctx, probes, resolvedTable, cacheKey(command), func(ctx context.Context) ([]string, error) {
		return resolveNow(ctx, command)
	})
}

// resolveNow finds command's interpreter and asks it for its real
// executable, in our environment (a shim may need it); the sandbox runs
// that file directly, with none.
func resolveNow(ctx context.Context, command []string) ([]string, error) {
	if command[0] == "" {
		return nil, errors.New("interpreter: empty command")
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		return nil, fmt.Errorf("interpreter: %w", err)
	}
	runCtx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	args := append(append([]string(nil), command[1:]...), "-c", "import sys; print(sys.executable)")
	cmd := exec.CommandContext(runCtx, path, args...)
	// A shim's own child can outlive a killed shim and hold stdout open:
	// kill the whole group, and stop waiting for the pipe soon after.
	cmd.SysProcAttr = procAttr(Isolation{})
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	out, err := cmd.Output()
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("interpreter %q: ask for sys.executable: %w", command[0], context.Cause(ctx))
	case err != nil && runCtx.Err() != nil:
		return nil, fmt.Errorf("interpreter %q: ask for sys.executable: no answer within %v", command[0], probeTimeout)
	case err != nil:
		return nil, fmt.Errorf("interpreter %q: ask for sys.executable: %w", command[0], err)
	}
	exe := strings.TrimSpace(string(out))
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("interpreter %q: sys.executable is %q, want an absolute path", command[0], exe)
	}
	return append([]string{exe}, command[1:]...), nil
}

// probe returns the isolation of argv kept in probes, probing it when there
// is none.
func probe(ctx context.Context, probes *Probes, argv []string) (Isolation, error) {
	return cached(ctx, probes, probedTable, cacheKey(argv), func(ctx context.Context) (Isolation, error) {
		return probeLevels(ctx, argv)
	})
}

// probeLevels runs probeProgram with the strongest isolation first and
// returns the first level that works. Only when even a plain process group
// fails is the interpreter unusable.
func probeLevels(ctx context.Context, argv []string) (Isolation, error) {
	root := os.Geteuid() == 0
	var reasons []string
	if namespacesUnsupported != "" {
		reasons = append(reasons, namespacesUnsupported)
	} else {
		ns := Isolation{Namespaces: true, UserNamespace: !root, DropsToNobody: root}
		err := probeRun(ctx, argv, ns)
		if err == nil {
			return ns, nil
		}
		if ctx.Err() != nil {
			return Isolation{}, fmt.Errorf("interpreter %q: probe: %w", argv[0], err)
		}
		reasons = append(reasons, err.Error())
	}
	plain := Isolation{DropsToNobody: root, Reason: strings.Join(reasons, "; ")}
	if err := probeRun(ctx, argv, plain); err != nil {
		return Isolation{}, fmt.Errorf("interpreter %q: %w", argv[0], err)
	}
	return plain, nil
}

// probeRun runs probeProgram at one isolation level. An error wraps ctx's
// cause when ctx ended.
func probeRun(ctx context.Context, argv []string, iso Isolation) error {
	s := newSandbox(argv, iso, probeTimeout, DefaultMemoryMB, 1)
	defer s.Close()
	res, err := s.Run(ctx, Program{Solution: probeProgram, Tests: probeTests})
	switch {
	case err != nil:
		return err
	case !res.Passed:
		return errors.New(res.Detail)
	}
	return nil
}
