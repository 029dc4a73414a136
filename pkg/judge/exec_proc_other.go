//go:build !linux

package judge

import (
	"os/exec"
	"syscall"
)

// workerAttr returns the attributes of a worker process: a process group
// of its own.
func workerAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// spawner starts worker processes. Without Pdeathsig, any thread will do.
type spawner struct{}

func (*spawner) start(cmd *exec.Cmd) error { return cmd.Start() }
func (*spawner) close()                    {}

// killWorker kills the worker process pid and its process group. Without
// Linux's /proc, a process that left the group (setsid) is not found.
func killWorker(pid int, _ string) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
