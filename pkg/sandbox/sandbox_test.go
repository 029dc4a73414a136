package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testProbes is the test binary's cache of interpreter probes, as a run of
// dars has one: probing python3 afresh for each test takes about a second.
// Tests of the cache itself use their own.
var testProbes Probes

// newTestSandbox builds a sandbox with the default interpreter and closes it
// when the test ends; it skips the test when no Python 3 is installed.
func newTestSandbox(t *testing.T, cfg Config) *Sandbox {
	t.Helper()
	if _, err := resolve(t.Context(), &testProbes, []string{"python3"}); err != nil {
		t.Skipf("python3 not available: %v", err)
	}
	s, err := New(t.Context(), cfg, &testProbes)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Logf("isolation: %v", s.Isolation())
	return s
}

// plainSandbox builds a sandbox without namespaces, as on a machine that
// forbids them, with an interpreter that works there (as root, one the
// sandbox user can read), and closes it when the test ends.
func plainSandbox(t testing.TB, timeout time.Duration, memoryMB, workers int) *Sandbox {
	t.Helper()
	iso := Isolation{DropsToNobody: os.Geteuid() == 0, Reason: "forced by the test"}
	for _, c := range [][]string{{"python3"}, {"/usr/bin/python3"}, {"/usr/local/bin/python3"}} {
		argv, err := resolve(context.Background(), &testProbes, c)
		if err != nil || probeRun(context.Background(), argv, iso) != nil {
			continue
		}
		s := newSandbox(argv, iso, timeout, memoryMB, workers)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Skip("no interpreter works without namespaces")
	return nil
}

// run runs program and fails the test on an error.
func run(t *testing.T, s *Sandbox, program string) Result {
	t.Helper()
	res, err := s.Run(context.Background(), Program{Solution: program})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func TestRun(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second, Workers: 2})
	tests := []struct {
		name    string
		program string
		passed  bool
		detail  string // a substring of Result.Detail
	}{
		{name: "pass", program: "assert 1 + 1 == 2\n", passed: true},
		{name: "assert", program: "x = 1\nassert x == 2\n", detail: "AssertionError (line 2)"},
		{name: "assert message", program: "assert False, 'want 3'\n", detail: "AssertionError: want 3 (line 1)"},
		{name: "syntax error", program: "def f(:\n  pass\n", detail: "SyntaxError"},
		{name: "exception", program: "def f():\n    return {}['k']\nf()\n", detail: "KeyError: 'k' (line 2)"},
		{name: "sys.exit before the tests", program: "import sys\nsys.exit(0)\nassert False\n", detail: "exited (code 0) before its tests finished"},
		{name: "os._exit before the tests", program: "import os\nos._exit(0)\nassert False\n", detail: "exited before its tests finished"},
		{name: "exit status", program: "import os\nos._exit(3)\n", detail: "exited with status 3"},
		{name: "stdin is empty", program: "input()\n", detail: "EOFError"},
		{name: "much output", program: "import sys\nfor i in range(200000):\n    print(i)\n    print(i, file=sys.stderr)\n", passed: true},
		{name: "no main block", program: "assert __name__ != '__main__'\nif __name__ == '__main__':\n    raise SystemExit(1)\n", passed: true},
		{name: "dataclass", program: "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\nassert P(1).x == 1\n", passed: true},
		{name: "writes its directory", program: "open('f.txt', 'w').write('x')\nassert open('f.txt').read() == 'x'\nimport tempfile\ntempfile.TemporaryFile().write(b'x')\n", passed: true},
		{name: "non-ASCII", program: "s = 'héllo ✓'\nassert s.upper() == 'HÉLLO ✓'\nassert False, s\n", detail: "AssertionError: héllo ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := run(t, s, tt.program)
			if res.Passed != tt.passed || res.TimedOut || !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("Run = %+v, want passed %v with detail containing %q", res, tt.passed, tt.detail)
			}
		})
	}
}

// TestAttacks runs hostile programs: each must end as a failure or a
// timeout, and leave the test process, its files and its machine as they
// were.
func TestAttacks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: attacks take a few seconds")
	}
	s := newTestSandbox(t, Config{Timeout: 2 * time.Second, MemoryMB: 256, Workers: 2})
	iso := s.Isolation()
	outside := t.TempDir()
	sentinel := filepath.Join(outside, "sentinel")
	if err := os.WriteFile(sentinel, []byte("untouched"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(outside, 0o777); err != nil { // writable by anyone, yet out of reach
		t.Fatal(err)
	}
	marker := fmt.Sprintf("dars-sandbox-marker-%d", time.Now().UnixNano())
	tmpFile := filepath.Join(os.TempDir(), marker)
	shmFile := filepath.Join("/dev/shm", marker)
	// survivor starts a process that sleeps with marker in its command line,
	// so the test can look for it in /proc afterwards.
	survivor := fmt.Sprintf("os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', %q])", marker)
	tests := []struct {
		name    string
		program string
		// need is "namespaces" or "nobody" when containment relies on it.
		need    string
		timeout bool // the run must time out
		// mayPass: the program may succeed in its sandbox (writing its own
		// /tmp); the host must still be unharmed.
		mayPass bool
	}{
		{name: "infinite loop", program: "while True:\n    pass\n", timeout: true},
		{name: "sleep", program: "import time\ntime.sleep(600)\n", timeout: true},
		{name: "fork bomb", program: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", need: "nobody"},
		{name: "fork bomb escaping the group", need: "namespaces", program: fmt.Sprintf(
			"import os, sys\nfor i in range(8):\n    if os.fork() == 0:\n        os.setsid()\n        %s\nwhile True:\n    pass\n", survivor)},
		{name: "daemon left behind", need: "namespaces", program: fmt.Sprintf(
			"import os, sys\nif os.fork() == 0:\n    os.setsid()\n    %s\nassert False\n", survivor)},
		{name: "memory bomb", program: "x = bytearray(8 << 30)\n"},
		{name: "memory bomb by steps", program: "l = []\nwhile True:\n    l.append(bytearray(1 << 20))\n"},
		{name: "write beside the test", need: "nobody", program: fmt.Sprintf("open(%q, 'w').write('x')\n", filepath.Join(outside, "evil"))},
		{name: "overwrite a file", need: "nobody", program: fmt.Sprintf("open(%q, 'w').write('x')\n", sentinel)},
		{name: "write to /tmp", need: "namespaces", mayPass: true, program: fmt.Sprintf("open(%q, 'w').write('x')\n", tmpFile)},
		{name: "write to /dev/shm", need: "namespaces", mayPass: true, program: fmt.Sprintf("open(%q, 'w').write('x')\n", shmFile)},
		{name: "big file", program: "open('big', 'wb').write(b'x' * (64 << 20))\n"},
		{name: "kill the parent", program: "import os\nos.kill(os.getppid(), 9)\nassert False\n", need: "nobody"},
		{name: "kill everything", program: "import os\nos.kill(-1, 9)\nassert False\n", need: "namespaces"},
		{name: "kill the test process", need: "nobody", program: fmt.Sprintf("import os\nos.kill(%d, 9)\nassert False\n", os.Getpid())},
		{name: "kill the test's group", need: "nobody", program: fmt.Sprintf("import os\nos.killpg(%d, 9)\nassert False\n", syscall.Getpgrp())},
		{name: "kill the sandbox's group", program: "import os\nos.killpg(os.getpgid(0), 9)\nassert False\n"},
		{name: "remount read-write", need: "namespaces", program: "import subprocess\nsubprocess.run(['mount', '-o', 'remount,rw', '/'], check=True)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.need == "namespaces" && !iso.Namespaces:
				t.Skipf("not contained without namespaces (%s)", iso.Reason)
			case tt.need == "nobody" && !iso.Namespaces && !iso.DropsToNobody:
				t.Skip("not contained without namespaces or root")
			}
			start := time.Now()
			res := run(t, s, tt.program)
			t.Logf("%+v in %v", res, time.Since(start).Round(time.Millisecond))
			if res.Passed && !tt.mayPass {
				t.Fatalf("Run = %+v, want a failure", res)
			}
			if tt.timeout && !res.TimedOut {
				t.Errorf("Run = %+v, want a timeout", res)
			}
			if d := time.Since(start); d > 2*time.Second+startGrace {
				t.Errorf("Run took %v, want about the 2s timeout at most", d)
			}
			checkUnharmed(t, s, marker, sentinel, tmpFile, shmFile, filepath.Join(outside, "evil"))
		})
	}
}

// checkUnharmed fails t when a file the attacks aim at exists or changed,
// a process with marker in its command line is alive, or the sandbox cannot
// run a program any more.
func checkUnharmed(t *testing.T, s *Sandbox, marker, sentinel string, absent ...string) {
	t.Helper()
	if b, err := os.ReadFile(sentinel); err != nil || string(b) != "untouched" {
		t.Errorf("sentinel: %q, %v", b, err)
	}
	for _, p := range absent {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (or %v)", p, err)
			os.Remove(p)
		}
	}
	// The sandbox kills a sample's processes as it answers and does not
	// wait for the kernel to remove them: they run no more code, but may be
	// listed a moment longer.
	if pids := processesGone(t, marker); len(pids) > 0 {
		t.Errorf("processes %v survived the run", pids)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if res := run(t, s, "assert True\n"); !res.Passed {
		t.Errorf("after the attack a good program gives %+v", res)
	}
}

// processesGone waits up to 5s for the processes whose command line
// contains marker to be gone, and returns those left.
func processesGone(t *testing.T, marker string) []int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := processesWith(t, marker)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processesWith returns the pids whose command line contains marker.
func processesWith(t *testing.T, marker string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestEnvironment checks the program sees none of the parent's environment,
// neither in its own nor through /proc.
func TestEnvironment(t *testing.T) {
	secret := fmt.Sprintf("sk-test-%d", time.Now().UnixNano())
	t.Setenv("DARS_TEST_API_KEY", secret)
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second})
	for _, program := range []string{
		"import os\nassert False, repr(dict(os.environ))\n",
		fmt.Sprintf("assert False, open('/proc/%d/environ').read()\n", os.Getpid()),
		"assert False, open('/proc/1/environ').read()\n",
		"import os\nassert False, open('/proc/%d/environ' % os.getppid()).read()\n",
	} {
		res := run(t, s, program)
		if res.Passed || strings.Contains(res.Detail, secret) || strings.Contains(res.Detail, "DARS_TEST") {
			t.Errorf("program %q: %+v shows the parent's environment", program, res)
		}
	}
	res := run(t, s, "import os\nassert False, sorted(os.environ)\n")
	if want := "['HOME', 'LANG', 'PATH', 'TMPDIR']"; !strings.Contains(res.Detail, want) {
		t.Errorf("environment: %q, want %s", res.Detail, want)
	}
}

// TestNetwork checks the program cannot reach a listener of the test
// process on the loopback interface.
func TestNetwork(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second})
	if !s.Isolation().Namespaces {
		t.Skipf("network not cut off here (%s): dars warns about it", s.Isolation().Reason)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, program := range []string{
		fmt.Sprintf("import socket\nsocket.create_connection(('127.0.0.1', %d), timeout=1)\n", port),
		"import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)\n",
		"import socket\nsocket.getaddrinfo('example.com', 80)\n",
	} {
		res := run(t, s, program)
		t.Logf("%q: %+v", program, res)
		if res.Passed {
			t.Errorf("program %q connected", program)
		}
	}
	ln.Close()
	if n := accepted.Load(); n > 0 {
		t.Errorf("the listener accepted %d connections", n)
	}
}

// TestDirectoryRemoved checks a run leaves no directory behind. With
// namespaces the program's directory is a tmpfs of its own as /tmp, with
// nothing on the host; without, each run's host directory is gone
// afterwards, also when the program leaves subdirectories without
// permissions.
func TestDirectoryRemoved(t *testing.T) {
	full := newTestSandbox(t, Config{Timeout: time.Second})
	if full.Isolation().Namespaces {
		before := ourDirectories(t)
		res := run(t, full, "import os\nopen('f', 'w').write('x')\nassert False, os.getcwd()\n")
		if !strings.Contains(res.Detail, "AssertionError: /tmp (line 3)") {
			t.Errorf("detail %q, want the program in /tmp", res.Detail)
		}
		if after := ourDirectories(t); len(after) > len(before) {
			t.Errorf("the run left %v", after)
		}
	}
	s := plainSandbox(t, time.Second, 256, 1)
	for _, program := range []string{
		"import os\nassert False, os.getcwd()\n",
		"import os\nos.makedirs('a/b')\nopen('a/b/f', 'w').write('x')\nos.chmod('a/b', 0)\nos.chmod('a', 0)\nassert False, os.getcwd()\n",
	} {
		res := run(t, s, program)
		dir, _, _ := strings.Cut(strings.TrimPrefix(res.Detail, "AssertionError: "), " ")
		if !strings.Contains(dir, fmt.Sprintf("dars-code-%d-", os.Getpid())) {
			t.Fatalf("detail %q names no run directory", res.Detail)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("run directory %s still exists (%v)", dir, err)
		}
	}
}

// TestRemoveKeepsLinkTargets checks that removing a run's directory,
// which restores the permissions a program took away, never changes a
// directory a symbolic link in it points to: a program without namespaces
// could point one at any directory of the host. As root the first removal
// never fails, so the test bites when dars is not root (.ci/run runs this
// package's tests as nobody too).
func TestRemoveKeepsLinkTargets(t *testing.T) {
	s := plainSandbox(t, time.Second, 256, 1)
	target := t.TempDir()
	if err := os.Chmod(target, 0o755); err != nil {
		t.Fatal(err)
	}
	// The locked directory makes the first removal fail, so that the
	// permissions are restored; the link is beside it.
	res := run(t, s, fmt.Sprintf("import os\nos.makedirs('a/b')\nos.symlink(%q, 'a/link')\nos.symlink(%q, 'link')\nos.chmod('a/b', 0)\nos.chmod('a', 0o500)\nassert False, os.getcwd()\n", target, target))
	dir, _, _ := strings.Cut(strings.TrimPrefix(res.Detail, "AssertionError: "), " ")
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory %s still exists (%v): %+v", dir, err, res)
	}
	fi, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o755 {
		t.Errorf("the link's target is now %v, want -rwxr-xr-x", fi.Mode().Perm())
	}
}

// ourDirectories lists the sample directories of this process in the
// temporary directory.
func ourDirectories(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("dars-code-%d-*", os.Getpid())))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHostMountsUntouched checks making the sandbox's mounts read-only did
// not change the host's.
func TestHostMountsUntouched(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second})
	run(t, s, "pass\n")
	f, err := os.CreateTemp("", "dars-host-")
	if err != nil {
		t.Fatalf("the host's temporary directory is not writable: %v", err)
	}
	f.Close()
	os.Remove(f.Name())
}

// TestWorkersBound checks the sandbox runs as many programs at once as it
// has workers, and no more: programs report their start through a gate and
// end only when the test releases them; with every worker busy, each
// further run must wait (the sandbox's waiting hook says so) without
// starting its program, until a release lets exactly one start.
func TestWorkersBound(t *testing.T) {
	const workers, more = 2, 3
	s := newTestSandbox(t, Config{Timeout: time.Minute, Workers: workers})
	waiting := make(chan struct{}, more)
	s.waiting = func() { waiting <- struct{}{} }
	g := newGate(t)
	g.attach(s)
	results := make(chan runResult, workers+more)
	g.runAll(t, s, workers, results)
	for range workers {
		g.waitStart(t, results) // each on its own worker: none waits
	}
	g.runAll(t, s, more, results)
	for range more {
		select {
		case <-waiting:
		case <-g.started:
			t.Fatalf("a program started while all %d workers were busy", workers)
		case r := <-results:
			t.Fatalf("a run ended before its release: %+v, %v", r.res, r.err)
		}
	}
	for i := range workers + more {
		g.releaseOne(t)
		if r := <-results; r.err != nil || !r.res.Passed {
			t.Fatalf("Run = %+v, %v", r.res, r.err)
		}
		if i < more {
			g.waitStart(t, results) // the freed worker takes a waiting run
		}
	}
	if n := g.drain(t); n != 0 {
		t.Errorf("%d programs started beyond the runs", n)
	}
}

// TestWaitCancelled checks a run whose context ends while it waits for a
// worker gives up without starting its program.
func TestWaitCancelled(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: time.Minute, Workers: 1})
	waiting := make(chan struct{}, 1)
	s.waiting = func() { waiting <- struct{}{} }
	g := newGate(t)
	g.attach(s)
	busy := make(chan runResult, 1)
	g.runAll(t, s, 1, busy)
	g.waitStart(t, busy) // the one worker is taken until the test releases it
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Run(ctx, Program{Solution: g.program()})
		errc <- err
	}()
	select {
	case <-waiting:
	case err := <-errc:
		t.Fatalf("Run = %v before waiting for the busy worker", err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run cancelled while waiting = %v, want context.Canceled", err)
	}
	g.releaseOne(t)
	if r := <-busy; r.err != nil || !r.res.Passed {
		t.Fatalf("Run = %+v, %v", r.res, r.err)
	}
	if n := g.drain(t); n != 0 {
		t.Errorf("the cancelled run started its program")
	}
}

// TestClose checks Close kills a program in flight and ends its run with
// ErrClosed, and that Run fails after Close.
func TestClose(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: time.Minute})
	g := newGate(t)
	g.attach(s)
	results := make(chan runResult, 1)
	g.runAll(t, s, 1, results)
	g.waitStart(t, results) // the program runs, and is never released
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-results; !errors.Is(r.err, ErrClosed) {
		t.Errorf("Run during Close = %+v, %v, want ErrClosed", r.res, r.err)
	}
	if _, err := s.Run(t.Context(), Program{Solution: "pass\n"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative timeout", Config{Timeout: -time.Second}, "not positive"},
		{"tiny memory", Config{MemoryMB: 8}, "below 64 MiB"},
		{"too many workers", Config{Workers: 1000}, "between 1 and 64"},
		{"missing interpreter", Config{Command: []string{"no-such-python-dars"}}, "no-such-python-dars"},
		{"not python", Config{Command: []string{"false"}}, "sys.executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.Context(), tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestProcessGroupOnly runs the sandbox without namespaces, as on a machine
// that forbids them: limits, the timeout and the process group still hold.
func TestProcessGroupOnly(t *testing.T) {
	s := plainSandbox(t, 2*time.Second, 256, 2)
	iso := s.Isolation()
	marker := fmt.Sprintf("dars-sandbox-marker-%d", time.Now().UnixNano())
	tests := []struct {
		name    string
		program string
		passed  bool
		detail  string
	}{
		{name: "pass", program: "import json\nassert json.loads('[1]') == [1]\n", passed: true},
		{name: "fail", program: "assert 1 == 2\n", detail: "AssertionError (line 1)"},
		{name: "loop", program: "while True:\n    pass\n", detail: "timeout after 2s"},
		{name: "memory", program: "x = bytearray(1 << 30)\n", detail: "MemoryError"},
		{name: "environment", program: "import os\nassert False, sorted(os.environ)\n", detail: "['HOME', 'LANG', 'PATH', 'TMPDIR']"},
		{name: "child left in the group", program: fmt.Sprintf(
			"import os, sys\nif os.fork() == 0:\n    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(600)', %q])\n", marker), passed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, s, tt.program)
			if res.Passed != tt.passed || !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("Run = %+v, want passed %v with detail containing %q", res, tt.passed, tt.detail)
			}
		})
	}
	// The group was killed after the run; give the kernel a moment to reap.
	if pids := processesGone(t, marker); len(pids) > 0 {
		t.Fatalf("processes %v outlived the run", pids)
	}
	if iso.DropsToNobody {
		res := run(t, s, fmt.Sprintf("import os\nos.kill(%d, 9)\n", os.Getpid()))
		if !strings.Contains(res.Detail, "PermissionError") {
			t.Errorf("kill the test process: %+v, want PermissionError", res)
		}
	}
}

// TestDirectorySize checks a program cannot fill the disk through its own
// directory: with namespaces it is a 64 MiB tmpfs.
func TestDirectorySize(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 10 * time.Second})
	if !s.Isolation().Namespaces {
		t.Skip("the directory is bounded only with namespaces")
	}
	res := run(t, s, "for i in range(100):\n    open('f%d' % i, 'wb').write(b'x' * (8 << 20))\n")
	if res.Passed || !strings.Contains(res.Detail, "No space left on device") {
		t.Errorf("writing 800 MiB: %+v, want no space left", res)
	}
	res = run(t, s, "for i in range(10000):\n    open('f%d' % i, 'wb').close()\n")
	if res.Passed || !strings.Contains(res.Detail, "No space left on device") {
		t.Errorf("creating 10000 files: %+v, want no space left", res)
	}
}
