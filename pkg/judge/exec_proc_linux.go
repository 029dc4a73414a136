package judge

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// workerAttr returns the attributes of a worker process: a process group
// of its own, and SIGKILL when dars dies (see spawner).
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// spawner starts one judge's worker processes from a goroutine locked to
// its OS thread until the judge closes. Pdeathsig fires when the thread
// that started the child ends, not the process, and Go ends a thread when
// a goroutine that locked it returns without unlocking it, which any code
// in dars might do; no other goroutine runs on the spawner's thread. The
// zero value is ready to use.
type spawner struct {
	mu   sync.Mutex
	cmds chan *exec.Cmd // nil until the first start, and after close
	errs chan error
}

// start starts cmd on the spawner's thread.
func (s *spawner) start(cmd *exec.Cmd) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmds == nil {
		s.cmds, s.errs = make(chan *exec.Cmd), make(chan error)
		go func(cmds <-chan *exec.Cmd, errs chan<- error) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for cmd := range cmds {
				errs <- cmd.Start()
			}
		}(s.cmds, s.errs)
	}
	s.cmds <- cmd
	return <-s.errs
}

// close ends the spawner's goroutine, once the processes it started are
// dead. A later start starts a new one.
func (s *spawner) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmds != nil {
		close(s.cmds)
		s.cmds = nil
	}
}

// maxSweeps bounds the rounds of killWorker's search; each round only
// finds what was forked since the last one, before it was stopped.
const maxSweeps = 32

// killWorker kills the worker process pid (our child, not yet reaped), its
// process group, every process under it, and every process whose
// environment holds mark (workerVar=token): a process that called setsid
// left the group, and one whose parent exited left the tree, but both keep
// the environment they were started with.
//
// It stops them first (SIGSTOP), scanning /proc again until a scan finds
// none it has not stopped, so none can fork or be orphaned while it looks;
// then it kills them all. Without /proc only the group is killed.
func killWorker(pid int, mark string) {
	_ = syscall.Kill(-pid, syscall.SIGSTOP)
	stopped := map[int]bool{}
	marked := map[int]bool{} // whose environment was read, and whether it holds mark
	hasMark := func(p int) bool {
		m, ok := marked[p]
		if !ok {
			m = environHas(p, mark)
			marked[p] = m
		}
		return m
	}
	for range maxSweeps {
		procs, err := readProcs()
		if err != nil {
			break
		}
		fresh := 0
		for _, p := range workerProcs(procs, pid, hasMark) {
			if !stopped[p] {
				_ = syscall.Kill(p, syscall.SIGSTOP)
				stopped[p] = true
				fresh++
			}
		}
		if fresh == 0 {
			break
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for p := range stopped {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// proc is what killWorker needs of a process: its parent and whether it
// has exited.
type proc struct {
	pid, ppid int
	zombie    bool
}

// readProcs lists the processes in /proc. Processes that end while it
// reads are left out.
func readProcs() ([]proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := make([]proc, 0, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if p, ok := parseStat(pid, string(b)); ok {
			procs = append(procs, p)
		}
	}
	return procs, nil
}

// parseStat reads the state and parent of /proc/<pid>/stat: "pid (comm)
// state ppid ...", where comm may hold spaces and parentheses.
func parseStat(pid int, stat string) (proc, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return proc{}, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return proc{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return proc{}, false
	}
	return proc{pid: pid, ppid: ppid, zombie: f[0] == "Z" || f[0] == "X"}, true
}

// workerProcs returns root and the live processes that descend from it or
// from a process hasMark accepts, never dars itself nor init.
func workerProcs(procs []proc, root int, hasMark func(pid int) bool) []int {
	self := os.Getpid()
	children := make(map[int][]int, len(procs))
	var todo []int
	for _, p := range procs {
		if p.zombie || p.pid == self || p.pid == 1 {
			continue
		}
		children[p.ppid] = append(children[p.ppid], p.pid)
		if p.pid != root && hasMark(p.pid) {
			todo = append(todo, p.pid)
		}
	}
	todo = append(todo, root)
	seen := map[int]bool{}
	var out []int
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		todo = append(todo, children[p]...)
	}
	return out
}

// environHas reports whether the environment pid started with holds the
// variable kv ("NAME=value"); false when it cannot be read (another user's
// process).
func environHas(pid int, kv string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for v := range bytes.SplitSeq(b, []byte{0}) {
		if string(v) == kv {
			return true
		}
	}
	return false
}
