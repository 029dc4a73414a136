//go:build !unix

package store

import (
	"errors"
	"fmt"
	"os"
)

// lockDir is not implemented where flock is missing: refusing to open is
// safer than running two writers on one store.
func lockDir(dir, path string) (*os.File, error) {
	return nil, fmt.Errorf("lock %q: %w", dir, errors.ErrUnsupported)
}

func unlockDir(f *os.File) error { return f.Close() }
