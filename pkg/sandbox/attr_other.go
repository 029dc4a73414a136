//go:build !linux

package sandbox

import "syscall"

// namespacesUnsupported says why this system has no namespaces.
const namespacesUnsupported = "namespaces need Linux"

// procAttr returns the attributes of the harness process: its own process
// group (there are no namespaces outside Linux).
func procAttr(Isolation) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
