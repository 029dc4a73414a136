package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Isolation is what a sandbox can do on this machine, found by Probe.
type Isolation struct {
	// Namespaces: each run is process 1 of new PID, network, mount, IPC
	// and UTS namespaces, with every mount read-only but its directory.
	Namespaces bool
	// UserNamespace: the namespaces come from a user namespace (dars is not
	// root); the program keeps uid 0 of the namespace without capabilities.
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
		b.WriteString("user, PID, network, mount, IPC and UTS namespaces")
	case i.Namespaces:
		b.WriteString("PID, network, mount, IPC and UTS namespaces")
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

// probeProgram imports common standard modules, so an interpreter whose
// library the sandbox user cannot read fails the probe, not every sample.
const probeProgram = "import collections, functools, heapq, itertools, json, math, re, string\n"

// probes caches one probe per interpreter for the life of the process.
var probes = struct {
	mu sync.Mutex
	m  map[string]*probeEntry
}{m: make(map[string]*probeEntry)}

type probeEntry struct {
	once sync.Once
	iso  Isolation
	err  error
}

// Probe resolves command (empty means python3) as New does and reports the
// isolation its programs get. The result is computed once per interpreter
// and process.
func Probe(command []string) (Isolation, error) {
	_, iso, err := interpreter(command)
	return iso, err
}

// interpreter resolves command and probes it. Without a command it tries
// python3 from PATH, then /usr/bin/python3 and /usr/local/bin/python3: as
// root, an interpreter under /root (pyenv) is unreadable to uid 65534.
func interpreter(command []string) ([]string, Isolation, error) {
	candidates := [][]string{command}
	if len(command) == 0 {
		candidates = [][]string{{"python3"}, {"/usr/bin/python3"}, {"/usr/local/bin/python3"}}
	}
	var msgs []string
	tried := make(map[string]bool)
	for _, c := range candidates {
		argv, err := resolve(c)
		if err == nil {
			key := strings.Join(argv, "\x00")
			if tried[key] {
				continue
			}
			tried[key] = true
			var iso Isolation
			if iso, err = probe(argv); err == nil {
				return argv, iso, nil
			}
		}
		msgs = append(msgs, err.Error())
	}
	return nil, Isolation{}, errors.New(strings.Join(msgs, "; "))
}

// resolved caches resolve's answers for the life of the process: asking
// through a shim (pyenv) takes a good part of a second.
var resolved sync.Map // strings.Join(command, "\x00") -> resolution

type resolution struct {
	argv []string
	err  error
}

// resolve returns the cached resolution of command, resolving it on first
// use.
func resolve(command []string) ([]string, error) {
	key := strings.Join(command, "\x00")
	if r, ok := resolved.Load(key); ok {
		return r.(resolution).argv, r.(resolution).err
	}
	argv, err := resolveNow(command)
	resolved.Store(key, resolution{argv, err})
	return argv, err
}

// resolveNow finds command's interpreter and asks it for its real
// executable, in our environment (a shim may need it); the sandbox runs
// that file directly, with none.
func resolveNow(command []string) ([]string, error) {
	if command[0] == "" {
		return nil, errors.New("interpreter: empty command")
	}
	path, err := exec.LookPath(command[0])
	if err != nil {
		return nil, fmt.Errorf("interpreter: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	args := append(append([]string(nil), command[1:]...), "-c", "import sys; print(sys.executable)")
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("interpreter %q: ask for sys.executable: %w", command[0], err)
	}
	exe := strings.TrimSpace(string(out))
	if !filepath.IsAbs(exe) {
		return nil, fmt.Errorf("interpreter %q: sys.executable is %q, want an absolute path", command[0], exe)
	}
	return append([]string{exe}, command[1:]...), nil
}

// probe returns the cached isolation of argv, probing it on first use.
func probe(argv []string) (Isolation, error) {
	key := strings.Join(argv, "\x00")
	probes.mu.Lock()
	e, ok := probes.m[key]
	if !ok {
		e = &probeEntry{}
		probes.m[key] = e
	}
	probes.mu.Unlock()
	e.once.Do(func() { e.iso, e.err = probeLevels(argv) })
	return e.iso, e.err
}

// probeLevels runs probeProgram with the strongest isolation first and
// returns the first level that works. Only when even a plain process group
// fails is the interpreter unusable.
func probeLevels(argv []string) (Isolation, error) {
	root := os.Geteuid() == 0
	var reasons []string
	if namespacesUnsupported != "" {
		reasons = append(reasons, namespacesUnsupported)
	} else {
		ns := Isolation{Namespaces: true, UserNamespace: !root, DropsToNobody: root}
		err := probeRun(argv, ns)
		if err == nil {
			return ns, nil
		}
		reasons = append(reasons, err.Error())
	}
	plain := Isolation{DropsToNobody: root, Reason: strings.Join(reasons, "; ")}
	if err := probeRun(argv, plain); err != nil {
		return Isolation{}, fmt.Errorf("interpreter %q: %w", argv[0], err)
	}
	return plain, nil
}

// probeRun runs probeProgram at one isolation level.
func probeRun(argv []string, iso Isolation) error {
	s := newSandbox(argv, iso, probeTimeout, DefaultMemoryMB, 1)
	defer s.Close()
	res, err := s.Run(context.Background(), probeProgram)
	switch {
	case err != nil:
		return err
	case !res.Passed:
		return errors.New(res.Detail)
	}
	return nil
}
