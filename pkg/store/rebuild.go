package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Rebuild makes a new, empty store in dir in place of the one there: it
// takes the directory's lock, moves dars.db and its -wal and -shm files
// aside (to <name>.damaged-<UTC time>, never deleted) and opens a fresh
// store with a new id. It returns the open store and the paths it moved
// files to. The caller fills the store (see pipeline's Recover).
func Rebuild(ctx context.Context, dir string) (*Store, []string, error) {
	if strings.ContainsRune(dir, '?') {
		return nil, nil, fmt.Errorf("rebuild store %q: directory name must not contain '?'", dir)
	}
	lock, err := lockDir(dir, filepath.Join(dir, LockFile))
	if err != nil {
		return nil, nil, fmt.Errorf("rebuild store: %w", err)
	}
	s := &Store{dir: dir, path: filepath.Join(dir, DBFile), lock: lock}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	var moved []string
	for _, suffix := range []string{"", "-wal", "-shm"} {
		from := s.path + suffix
		to := from + ".damaged-" + stamp
		switch err := os.Rename(from, to); {
		case err == nil:
			moved = append(moved, to)
		case errors.Is(err, os.ErrNotExist):
		default:
			unlockDir(lock)
			return nil, moved, fmt.Errorf("rebuild store: move %s aside: %w", from, err)
		}
	}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		unlockDir(lock)
		return nil, moved, fmt.Errorf("rebuild store %q: %w", s.path, err)
	}
	return s, moved, nil
}
