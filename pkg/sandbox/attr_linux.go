package sandbox

import (
	"os"
	"syscall"
)

// namespacesUnsupported says why this system has no namespaces: on Linux it
// has them (whether this process may create them is for the probe to find).
const namespacesUnsupported = ""

// procAttr returns the attributes of the harness process: its own process
// group and, at a namespace level, new PID, mount, network, IPC and UTS
// namespaces (and a user namespace mapping uid and gid 0 to ours when we are
// not root). The harness is process 1 of the new PID namespace.
func procAttr(iso Isolation) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
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
