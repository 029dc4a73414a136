// Package refdata finds the reference benchmark files (GSM8K, MMLU, ARC,
// TriviaQA, HumanEval, MBPP, under their upstream names) for the real-data
// tests of every package. Two copies exist: the slice, a few dozen rows
// per set in the repository's testdata/data (see testdata/README.md),
// always there, so those tests run on every clone and in CI; and the full
// sets beside the repository (../shared/data, or $DARS_SHARED_DATA), read
// too when present. Tests only import it.
package refdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Copy is one copy of the files.
type Copy struct {
	Name string // "slice" or "full": the subtest's name
	Dir  string
}

// root is the repository's root, found from this file's path.
func root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join("..", "..")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Slice is the slice in the repository.
func Slice() Copy { return Copy{Name: "slice", Dir: filepath.Join(root(), "testdata", "data")} }

// Full is the full sets: $DARS_SHARED_DATA when set (a missing directory
// hides them), else ../shared/data beside the repository.
func Full() Copy {
	dir := os.Getenv("DARS_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(root(), "..", "shared", "data")
	}
	return Copy{Name: "full", Dir: dir}
}

// IsFull reports whether c is the full sets.
func (c Copy) IsFull() bool { return c.Name == "full" }

// Want returns the figure a test expects of c: slice on the slice, full on
// the full sets.
func (c Copy) Want(slice, full int) int {
	if c.IsFull() {
		return full
	}
	return slice
}

// Path returns rel's path in c. A file missing from the slice fails t; one
// missing from the full sets skips it.
func (c Copy) Path(t testing.TB, rel string) string {
	t.Helper()
	path := filepath.Join(c.Dir, rel)
	if _, err := os.Stat(path); err != nil {
		if c.IsFull() {
			t.Skipf("full set not available (set DARS_SHARED_DATA to its folder): %v", err)
		}
		t.Fatalf("slice missing from the repository: %v", err)
	}
	return path
}

// Open opens rel in c (as Path finds it) and closes it when t ends.
func (c Copy) Open(t testing.TB, rel string) *os.File {
	t.Helper()
	f, err := os.Open(c.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Each runs test as subtest "slice", then as subtest "full".
func Each(t *testing.T, test func(t *testing.T, c Copy)) {
	t.Helper()
	for _, c := range []Copy{Slice(), Full()} {
		t.Run(c.Name, func(t *testing.T) { test(t, c) })
	}
}

// ForBench returns the copy a benchmark reads rel from: the full sets when
// they hold rel, else the slice.
func ForBench(b *testing.B, rel string) Copy {
	b.Helper()
	full := Full()
	if _, err := os.Stat(filepath.Join(full.Dir, rel)); err == nil {
		return full
	}
	b.Logf("full set not available, benchmarking the slice of %s", rel)
	return Slice()
}
