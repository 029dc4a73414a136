package sandbox

import (
	"os"
	"syscall"
)

// namespacesUnsupported says why this system has no namespaces: on Linux it
// has them (whether this process may create them is for the probe to find).
const namespacesUnsupported = ""

// procAttr returns the attributes of a server process: its own process
// group, SIGKILL when dars dies (PR_SET_PDEATHSIG: the signal comes when
// the thread that started it ends, and Go ends a thread only when a
// goroutine locked to it returns, which the sandbox's never are) and, at a
// namespace level, new PID, mount, network, IPC and UTS namespaces (and a
// user namespace mapping uid and gid 0 to ours when we are not root). The
// server is process 1 of its PID namespace: when it dies, every process of
// its samples dies too.
func procAttr(iso Isolation) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if !iso.Namespaces {
		return attr
	}
	attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET |
		syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	if iso.UserNamespace {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	return attr
}
