package judge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/config"
)

func TestExecCloseKillsProcessGroup(t *testing.T) {
	j := newExecJudge(t, config.Judge{Command: execScript(t, "spawn"), ExecWorkers: 1})
	v, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
	if err != nil || !v.Passed {
		t.Fatalf("Judge = %+v, %v", v, err)
	}
	_, child, ok := strings.Cut(v.Detail, "child=")
	if !ok {
		t.Fatalf("no child pid in detail %q", v.Detail)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, child)
}

// TestExecCloseKillsSessions checks that Close kills what a worker started
// outside its process group: a child that called setsid, and a daemon
// whose parent exited at once.
func TestExecCloseKillsSessions(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid not found")
	}
	for _, mode := range []string{"setsid", "daemon"} {
		t.Run(mode, func(t *testing.T) {
			// The sleep's argument marks it among the machine's processes.
			secs := fmt.Sprintf("1000.%d", time.Now().UnixNano()%1e9)
			j := newExecJudge(t, config.Judge{Command: execScript(t, mode, secs), ExecWorkers: 1})
			v, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
			if err != nil || !v.Passed {
				t.Fatalf("Judge = %+v, %v", v, err)
			}
			// setsid may not have become sleep yet.
			var pids []string
			for deadline := time.Now().Add(5 * time.Second); len(pids) == 0 && time.Now().Before(deadline); {
				if pids = sleepers(t, secs); len(pids) == 0 {
					time.Sleep(10 * time.Millisecond)
				}
			}
			if len(pids) != 1 {
				t.Fatalf("found %d processes running sleep %s, want 1", len(pids), secs)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			waitGone(t, pids[0])
		})
	}
}

// sleepers returns the pids of the running processes whose command line is
// "sleep secs".
func sleepers(t *testing.T, secs string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && string(b) == "sleep\x00"+secs+"\x00" && !isZombie(filepath.Base(d)) {
			pids = append(pids, filepath.Base(d))
		}
	}
	return pids
}

// isZombie reports whether pid has exited but not been reaped (or is gone).
func isZombie(pid string) bool {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return true
	}
	_, after, ok := strings.Cut(string(b), ") ")
	return ok && (after[0] == 'Z' || after[0] == 'X')
}

// waitGone polls /proc until pid is gone or a zombie: the SIGKILL is sent,
// but an orphan is reaped by whoever adopted it, when it gets to it.
func waitGone(t *testing.T, pid string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !isZombie(pid) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
			t.Fatalf("process %s (%q) still running", pid, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExecParseStat(t *testing.T) {
	tests := []struct {
		stat string
		want proc
		ok   bool
	}{
		{"12 (sleep) S 1 12 12 0", proc{pid: 12, ppid: 1}, true},
		{"12 (a) b (c) R 40 12", proc{pid: 12, ppid: 40}, true},
		{"12 (x) Z 40 12", proc{pid: 12, ppid: 40, zombie: true}, true},
		{"12 (x", proc{}, false},
		{"12 (x) S", proc{}, false},
		{"12 (x) S y", proc{}, false},
	}
	for _, tt := range tests {
		if got, ok := parseStat(12, tt.stat); got != tt.want || ok != tt.ok {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tt.stat, got, ok, tt.want, tt.ok)
		}
	}
}

func TestExecWorkerProcs(t *testing.T) {
	self := os.Getpid()
	procs := []proc{
		{pid: 1, ppid: 0},
		{pid: self, ppid: 1},
		{pid: 100, ppid: self}, // the worker
		{pid: 101, ppid: 100},  // its child
		{pid: 102, ppid: 101},  // a grandchild (setsid or not)
		{pid: 103, ppid: 100, zombie: true},
		{pid: 200, ppid: 1},    // a daemon the worker left, marked
		{pid: 201, ppid: 200},  // its child
		{pid: 300, ppid: 1},    // somebody else's
		{pid: 301, ppid: self}, // another worker
	}
	marked := func(pid int) bool { return pid == 200 || pid == 1 || pid == self }
	got := workerProcs(procs, 100, marked)
	slices.Sort(got)
	if want := []int{100, 101, 102, 200, 201}; !slices.Equal(got, want) {
		t.Errorf("workerProcs = %v, want %v", got, want)
	}
}

// TestExecWorkerDiesWithDars kills a process that runs an exec judge, as
// a crash or kill -9 would end dars, and checks that its worker goes too.
func TestExecWorkerDiesWithDars(t *testing.T) {
	argv, err := json.Marshal(execScript(t, "linger"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExecHelperDars$")
	cmd.Env = append(os.Environ(), "DARS_TEST_EXEC_HELPER="+string(argv))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait() //nolint:errcheck // killed below
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, ok := strings.CutPrefix(strings.TrimSpace(line), "worker pid=")
	if err != nil || !ok {
		t.Fatalf("helper wrote %q, %v; want its worker's pid", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
}

// TestExecHelperDars is the process TestExecWorkerDiesWithDars kills: it
// starts a worker, names its pid and waits to be killed.
func TestExecHelperDars(t *testing.T) {
	env := os.Getenv("DARS_TEST_EXEC_HELPER")
	if env == "" {
		t.Skip("run by TestExecWorkerDiesWithDars")
	}
	var argv []string
	if err := json.Unmarshal([]byte(env), &argv); err != nil {
		t.Fatal(err)
	}
	j := newExecJudge(t, config.Judge{Command: argv, ExecWorkers: 1})
	v, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("worker pid=%s\n", pidOf(t, v))
	select {} // until killed
}
