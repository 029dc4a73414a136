//go:build !linux

package sandbox

import "syscall"

// namespacesUnsupported says why this system has no namespaces.
const namespacesUnsupported = "namespaces need Linux"

// procAttr returns the attributes of a server process: its own process
// group (there are no namespaces, nor a parent-death signal, outside
// Linux; the server exits when its control socket closes).
func procAttr(Isolation) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
