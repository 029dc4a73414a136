package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runProg runs prog and fails the test on an error.
func runProg(t *testing.T, s *Sandbox, prog Program) Result {
	t.Helper()
	res, err := s.Run(context.Background(), prog)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// needNamespaces skips t when s has none.
func needNamespaces(t *testing.T, s *Sandbox) {
	t.Helper()
	if !s.Isolation().Namespaces {
		t.Skipf("not contained without namespaces (%s)", s.Isolation().Reason)
	}
}

// writeEverywhere is a statement that writes a forged pass (the old
// harness's report byte, a server verdict, a framed message) to every
// descriptor the program holds.
const writeEverywhere = `for fd in range(1024):
        for forged in (b'P', b'{"code": 0, "detail": ""}\n', b'\x00\x00\x00\x01P'):
            try:
                os.write(fd, forged)
            except OSError:
                pass`

// TestFakedPass runs programs that try to pass tests they fail: through
// the descriptors they inherit, by patching the functions a harness in
// their process would use, or with values whose comparison is rigged
// (issue 9, attacks a to c). Every one must fail.
func TestFakedPass(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second, Workers: 2})
	tests := []struct {
		name     string
		solution string
		tests    string
	}{
		{name: "forged report at import, then os._exit(0)",
			solution: "import os\nif True:\n    " + writeEverywhere + "\nos._exit(0)\ndef f(x):\n    return 0\n"},
		{name: "forged report from the call, then os._exit(0)",
			solution: "import os\ndef f(x):\n    " + writeEverywhere + "\n    os._exit(0)\n"},
		{name: "forged report through other processes' descriptors",
			solution: "import os\ndef f(x):\n    for pid in os.listdir('/proc'):\n        try:\n            fds = os.listdir('/proc/%s/fd' % pid)\n        except OSError:\n            continue\n        for fd in fds:\n            try:\n                w = os.open('/proc/%s/fd/%s' % (pid, fd), os.O_WRONLY)\n                os.write(w, b'P')\n            except OSError:\n                pass\n    os._exit(0)\n"},
		{name: "patched os.write, os._exit and sys.exit",
			solution: "import os, sys, builtins\nreal_write, real_exit = os.write, os._exit\nos.write = lambda fd, data: real_write(fd, b'P')\nos._exit = lambda code: real_exit(0)\nsys.exit = lambda *a: real_exit(0)\nbuiltins.AssertionError = type('AssertionError', (Exception,), {})\ndef f(x):\n    raise ValueError('wrong')\n"},
		{name: "patched harness",
			solution: "import __main__\nfor name in dir(__main__):\n    if callable(getattr(__main__, name)) and not name.startswith('__'):\n        try:\n            setattr(__main__, name, lambda *a, **k: b'P')\n        except Exception:\n            pass\ndef f(x):\n    return 0\n"},
		{name: "always-equal object",
			solution: "class Always:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\ndef f(x):\n    return Always()\n"},
		{name: "always-equal int subclass",
			solution: "class I(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return I(0)\n"},
		{name: "always-equal str subclass",
			solution: "class S(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\ndef f(x):\n    return S('one')\n", tests: "assert f(1) == 'two'\n"},
		{name: "always-equal object in a list",
			solution: "class Always:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return [Always()]\n", tests: "assert f(1) == [2]\n"},
		{name: "mock.ANY",
			solution: "from unittest import mock\ndef f(x):\n    return mock.ANY\n"},
		{name: "kill the tester",
			solution: "import os\ndef f(x):\n    for pid in range(1, 200):\n        if pid != os.getpid():\n            try:\n                os.kill(pid, 9)\n            except OSError:\n                pass\n    return x + 1\n", tests: "assert f(1) == 2\nassert f(2) == 4\n"},
		{name: "stop the tester",
			solution: "import os\ndef f(x):\n    for pid in range(1, 200):\n        if pid != os.getpid():\n            try:\n                os.kill(pid, 19)\n            except OSError:\n                pass\n    return x + 1\n", tests: "assert f(1) == 2\nassert f(2) == 4\n"},
		{name: "raise what the tests catch",
			solution: "class AssertionError(Exception):\n    pass\ndef f(x):\n    raise AssertionError('no')\n", tests: "try:\n    f(1)\nexcept Exception:\n    pass\nassert f(1) == 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prog := Program{Solution: tt.solution, Tests: tt.tests}
			if prog.Tests == "" {
				prog.Tests = "assert f(1) == 2\n"
			}
			res := runProg(t, s, prog)
			t.Logf("%+v", res)
			if res.Passed {
				t.Errorf("Run = %+v: a failing program passed", res)
			}
		})
	}
}

// TestPlainValues checks honest values cross from the program to the tests
// as they are: the tests compare them, test their truth, iterate over
// them, and catch the program's exceptions.
func TestPlainValues(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second})
	solution := `import collections, re
from collections import namedtuple
P = namedtuple('P', 'x y')
class N(int):
    pass
def values():
    return [None, True, 3, 2.5, float('inf'), 1j, 'é', b'x', bytearray(b'y'), (1, [2]), {'a': {3}}, frozenset({4})]
def counter():
    return collections.Counter('aab')
def ordered():
    return collections.OrderedDict([('b', 1), ('a', 2)])
def point():
    return P(1, 2)
def subclass():
    return N(5)
def squares(n):
    return (i * i for i in range(n))
def match(s):
    return re.search('a+', s)
def fails(x):
    if x < 0:
        raise ValueError('negative')
    return x
def big():
    return 10 ** 100
`
	tests := `assert values() == [None, True, 3, 2.5, float('inf'), 1j, 'é', b'x', bytearray(b'y'), (1, [2]), {'a': {3}}, frozenset({4})]
assert values()[1] is True and values()[0] is None
assert counter() == collections.Counter({'a': 2, 'b': 1})
assert list(ordered()) == ['b', 'a']
assert point() == (1, 2)
assert subclass() == 5 and type(subclass()) is int
assert list(squares(4)) == [0, 1, 4, 9]
assert squares(2) != [0, 1]
assert match('baa')
assert not match('xyz')
try:
    fails(-1)
except ValueError as e:
    assert str(e) == 'negative'
else:
    assert False
assert fails(3) == 3
assert big() == 10 ** 100
`
	res := runProg(t, s, Program{Solution: solution, Helpers: "import collections\n", Tests: tests})
	if !res.Passed {
		t.Errorf("Run = %+v, want a pass", res)
	}
	res = runProg(t, s, Program{Solution: "import re\ndef m(s):\n    return re.search('a', s)\n", Tests: "assert m('a') == 'a'\n"})
	if res.Passed || !strings.Contains(res.Detail, "re.Match object, which the tests can only test for truth") {
		t.Errorf("comparing a re.Match: %+v, want a failure that says why", res)
	}
}

// TestTestsUnseen checks a program cannot find its tests: not in its own
// memory, nor in any file or process it can read. A control run shows the
// search finds what is there.
func TestTestsUnseen(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 30 * time.Second})
	needNamespaces(t, s)
	// The marker is in the tests; the program builds it from pieces, so its
	// own source does not hold it.
	// The program holds the marker's halves, never the marker: a whole one
	// in its memory came from elsewhere.
	search := `import ctypes, os, sys
head, tail = b'dars-exp', b'ected-4242'
def holds(buf):
    i = buf.find(head)
    while i >= 0:
        if buf[i + len(head):i + len(head) + len(tail)] == tail:
            return True
        i = buf.find(head, i + 1)
    return False
def found():
    for line in open('/proc/self/maps').read().splitlines():
        fields = line.split()
        # Anonymous memory, the heap and the stack: where a source read at
        # any time would lie.
        if 'r' not in fields[1] or (len(fields) > 5 and fields[5] not in ('[heap]', '[stack]')):
            continue
        lo, hi = (int(a, 16) for a in fields[0].split('-'))
        if holds(ctypes.string_at(lo, hi - lo)):
            return 'memory %s' % line
    for pid in os.listdir('/proc'):
        for f in ('cmdline', 'environ', 'mem'):
            try:
                if holds(open('/proc/%s/%s' % (pid, f), 'rb').read()):
                    return '/proc/%s/%s' % (pid, f)
            except OSError:
                pass
    for root, dirs, files in os.walk('/'):
        # Not the interpreter's library: it is the host's, read-only.
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/usr', '/dev', sys.prefix, sys.base_prefix)]
        for f in files:
            try:
                if holds(open(os.path.join(root, f), 'rb').read()):
                    return os.path.join(root, f)
            except OSError:
                pass
    return ''
`
	tests := "assert found() == '', found()  # dars-expected-4242\n"
	res := runProg(t, s, Program{Solution: search, Helpers: "hint = 'dars-expected-4242'\n", Tests: tests})
	if !res.Passed {
		t.Errorf("Run = %+v: the program found its tests", res)
	}
	control := search + "planted = (head + tail).decode()\n"
	res = runProg(t, s, Program{Solution: control, Tests: tests})
	if res.Passed || !strings.Contains(res.Detail, "memory") {
		t.Errorf("control run = %+v, want the search to find the marker the program holds", res)
	}
}

// TestHostFilesHidden checks a program cannot read the host's files (a
// data set with its gold answers, the run's store, scripts holding keys:
// here a world-readable file beside the test and this package's sources)
// and that a verdict's detail, the one channel from the program to the
// outputs, is capped (issue 9, attack d).
func TestHostFilesHidden(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: 5 * time.Second})
	needNamespaces(t, s)
	secret := fmt.Sprintf("gold-answer-%d", time.Now().UnixNano())
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gold := filepath.Join(dir, "gold.jsonl")
	if err := os.WriteFile(gold, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	source, err := filepath.Abs("sandbox.go")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{gold, dir, source, filepath.Dir(source), "/proc/1/root" + gold, "/etc/shadow", "/etc/hostname", "/var/lib"}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil && !strings.HasPrefix(p, "/proc/") {
			continue // absent on this host: nothing to hide
		}
		res := runProg(t, s, Program{Solution: "import os\ndef read(p):\n    return os.listdir(p) if os.path.isdir(p) else open(p).read()\n",
			Tests: fmt.Sprintf("try:\n    got = read(%q)\nexcept OSError:\n    pass\nelse:\n    assert False, got\n", p)})
		if !res.Passed {
			t.Errorf("%s: %+v, want it unreadable", p, res)
		}
		if strings.Contains(res.Detail, secret) {
			t.Errorf("%s: the detail carries the secret", p)
		}
	}
	// What the program may read: the interpreter and its library.
	res := runProg(t, s, Program{Solution: "import os, json, sys\ndef ok():\n    return os.path.isfile(sys.executable) and os.path.isdir('/usr/lib')\n", Tests: "assert ok()\n"})
	if !res.Passed {
		t.Errorf("the interpreter is not readable: %+v", res)
	}
	long := runProg(t, s, Program{Solution: "def f():\n    raise ValueError('x' * 100000)\n", Tests: "f()\n"})
	if n := len(long.Detail); n == 0 || n > detailMax+len("…") {
		t.Errorf("detail of %d bytes, want at most %d", n, detailMax)
	}
}

// TestProcessLimitPerSample checks a program holding nearly its whole
// process limit does not keep another program from starting threads (issue
// 9, attack e): each program counts its own processes.
func TestProcessLimitPerSample(t *testing.T) {
	s := newTestSandbox(t, Config{Timeout: time.Minute, Workers: 2})
	needNamespaces(t, s)
	g := newGate(t)
	g.attach(s)
	hog := "import os\nr, w = os.pipe()\nfor i in range(62):\n    if os.fork() == 0:\n        os.read(r, 1)\n        os._exit(0)\n" + g.program()
	held := make(chan runResult, 1)
	go func() {
		res, err := s.Run(t.Context(), Program{Solution: hog})
		held <- runResult{res, err}
	}()
	g.waitStart(t, held) // 63 processes of the sandbox user are running
	// With one process count for the sandbox user, 8 threads more would be
	// over the limit of 64.
	threads := "import threading\nthreading.stack_size(256 << 10)\nb = threading.Barrier(9)\nts = [threading.Thread(target=b.wait) for _ in range(8)]\nfor t in ts:\n    t.start()\nb.wait()\nfor t in ts:\n    t.join()\n"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res, err := s.Run(ctx, Program{Solution: threads})
	if err != nil || !res.Passed {
		t.Errorf("8 threads beside a program of 63 processes: %+v, %v", res, err)
	}
	g.releaseOne(t)
	if r := <-held; r.err != nil || !r.res.Passed {
		t.Errorf("the program of 63 processes: %+v, %v", r.res, r.err)
	}
	res = runProg(t, s, Program{Solution: "import os\nr, w = os.pipe()\nfor i in range(70):\n    if os.fork() == 0:\n        os.read(r, 1)\n        os._exit(0)\n"})
	if res.Passed || !strings.Contains(res.Detail, "BlockingIOError") && !strings.Contains(res.Detail, "Resource temporarily unavailable") {
		t.Errorf("70 processes: %+v, want the process limit", res)
	}
}

// helperEnv marks the test binary run as a dars that the test kills.
const helperEnv = "DARS_SANDBOX_TEST_HELPER"

// TestNothingOutlivesDars kills a process running a sandbox with SIGKILL,
// as the OOM killer or a user would kill dars, and checks its programs die
// with it and no directory stays (issue 9, attack f).
func TestNothingOutlivesDars(t *testing.T) {
	if os.Getenv(helperEnv) != "" {
		helper(t)
		return
	}
	full := newTestSandbox(t, Config{})
	for _, plain := range []bool{false, true} {
		name := "namespaces"
		if plain {
			name = "process group only"
		}
		t.Run(name, func(t *testing.T) {
			if !plain {
				needNamespaces(t, full)
			}
			g := newGate(t)
			marker := fmt.Sprintf("dars-outlive-%d", time.Now().UnixNano())
			cmd := exec.Command(os.Args[0], "-test.run=^TestNothingOutlivesDars$", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), helperEnv+"="+g.dir+"|"+marker+"|"+fmt.Sprint(plain))
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan runResult, 1)
			go func() {
				err := cmd.Wait()
				exited <- runResult{err: fmt.Errorf("helper exited: %v\n%s", err, out.String())}
			}()
			g.waitStart(t, exited) // the program and its child run
			if pids := processesWith(t, marker); len(pids) == 0 {
				t.Fatal("the program's child is not running")
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-exited
			pids := processesWith(t, marker)
			if !plain {
				pids = processesGone(t, marker)
			}
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("dars-code-%d-*", cmd.Process.Pid)))
			if plain {
				// Without namespaces a program can outlive dars (docs/sandbox.md);
				// its directory goes when the next sandbox starts.
				t.Logf("processes left: %v, directories left: %v", pids, dirs)
				cleanStale(os.TempDir())
				if dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("dars-code-%d-*", cmd.Process.Pid))); len(dirs) > 0 {
					t.Errorf("directories %v stay after cleanStale", dirs)
				}
				return
			}
			if len(pids) > 0 {
				t.Errorf("processes %v outlived dars", pids)
			}
			if len(dirs) > 0 {
				t.Errorf("directories %v stay", dirs)
			}
		})
	}
}

// helper is the killed dars of TestNothingOutlivesDars: it runs a program
// that starts a child with a marker in its command line, reports through
// the gate and sleeps; it never returns.
func helper(t *testing.T) {
	gateDir, rest, _ := strings.Cut(os.Getenv(helperEnv), "|")
	marker, plain, _ := strings.Cut(rest, "|")
	var s *Sandbox
	if plain == "true" {
		s = plainSandbox(t, time.Minute, DefaultMemoryMB, 1)
	} else {
		var err error
		if s, err = New(context.Background(), Config{Timeout: time.Minute}, nil); err != nil {
			t.Fatal(err)
		}
	}
	inside := gateDir
	if s.Isolation().Namespaces {
		s.binds = [][2]string{{gateDir, gateInside}}
		inside = gateInside
	}
	// The child reports its start once it runs with the marker in its
	// command line.
	child := fmt.Sprintf("import time; open(%q, 'wb', 0).write(b's'); time.sleep(600)", filepath.Join(inside, "events"))
	program := fmt.Sprintf("import os, sys, time\n"+
		"if os.fork() == 0:\n    os.execv(sys.executable, [sys.executable, '-c', %q, %q])\n"+
		"time.sleep(600)\n", child, marker)
	_, _ = s.Run(context.Background(), Program{Solution: program})
	select {}
}

// TestStaleDirectories checks cleanStale removes the sample directories of
// dars processes that are gone, and nothing else.
func TestStaleDirectories(t *testing.T) {
	dir := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	mk := func(name string, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{
		mk(fmt.Sprintf("dars-code-%d-123", dead.Process.Pid), 0),
		mk("dars-code-4021371", 2*staleAge), // an earlier dars's name
	}
	kept := []string{
		mk(fmt.Sprintf("dars-code-%d-456", os.Getpid()), 0),
		mk("dars-code-9021371", 0),
		mk("dars-gate-1", 2*staleAge),
	}
	file := filepath.Join(dir, fmt.Sprintf("dars-code-%d-file", dead.Process.Pid))
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, file)
	cleanStale(dir)
	for _, p := range gone {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s stays", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
