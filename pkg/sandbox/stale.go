package sandbox

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// staleAge is the age past which a sample directory named the old way
// (dars-code-<random>, before directories carried their dars's pid) is
// stale: no sample runs that long.
const staleAge = time.Hour

// cleanStale removes the sample directories in dir that no running dars
// owns. Without namespaces a sample's directory is dir/dars-code-<pid>-*,
// <pid> the dars that made it, which removes it when the sample ends; a
// dars killed with SIGKILL cannot, so the next sandbox does. Only
// directories of our user (or, as root, of the sandbox user) are touched.
// With namespaces samples make no directory on the host.
func cleanStale(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "dars-code-*"))
	for _, m := range matches {
		fi, err := os.Lstat(m)
		if err != nil || !fi.IsDir() || !ownDirectory(fi) {
			continue
		}
		rest := strings.TrimPrefix(filepath.Base(m), "dars-code-")
		if pidText, _, ok := strings.Cut(rest, "-"); ok {
			pid, err := strconv.Atoi(pidText)
			if err != nil || pid <= 0 || processAlive(pid) {
				continue
			}
		} else if time.Since(fi.ModTime()) < staleAge {
			continue
		}
		removeAll(m)
	}
}

// ownDirectory reports whether fi belongs to us or, when we are root, to
// the sandbox user.
func ownDirectory(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	euid := os.Geteuid()
	return int(st.Uid) == euid || (euid == 0 && st.Uid == nobody)
}

// processAlive reports whether a process pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
