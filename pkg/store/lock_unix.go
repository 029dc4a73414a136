//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockDir takes an exclusive, non-blocking flock on path and writes the
// caller's pid into it. The kernel drops the lock when the process dies, so
// a killed run never leaves a stale lock behind; the file itself stays.
func lockDir(dir, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %q: %w (held by %s)", dir, ErrLocked, holder)
		}
		return nil, fmt.Errorf("lock %q: %w", dir, err)
	}
	if err := writePID(f); err != nil {
		f.Close() // closing the only descriptor releases the lock
		return nil, fmt.Errorf("write lock file %q: %w", path, err)
	}
	return f, nil
}

// unlockDir releases the lock taken by lockDir.
func unlockDir(f *os.File) error {
	// Closing the descriptor releases the flock; an explicit LOCK_UN first
	// keeps the release independent of any descriptor a child inherited.
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cerr := f.Close()
	if uerr != nil {
		return fmt.Errorf("unlock %q: %w", f.Name(), uerr)
	}
	if cerr != nil {
		return fmt.Errorf("close %q: %w", f.Name(), cerr)
	}
	return nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readHolder describes the process named in the lock file. The holder may
// not have written its pid yet, so an empty or unreadable file is reported
// as such rather than as an error.
func readHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	s := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(s); err != nil {
		return "a process with unknown pid"
	}
	return "pid " + s
}
