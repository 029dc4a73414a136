package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/darslabs/dars/examples"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
)

// scaffoldFiles are what Scaffold writes: the quickstart's run file and
// data set, which run at once on the simulator.
var scaffoldFiles = [...]string{"dars.yaml", "questions.jsonl"}

// Scaffold writes a commented run file and a 50-question data set (each
// question with two given rewrites), configured for three simulated
// models, into dir, creating it; it returns the paths written. It refuses
// to overwrite an existing file unless force is set.
func Scaffold(dir string, force bool) ([]string, error) {
	var paths []string
	for _, n := range scaffoldFiles {
		paths = append(paths, filepath.Join(dir, n))
	}
	if !force {
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				return nil, problem.Input(fmt.Errorf("init: %s already exists", p), "pass --force to overwrite it")
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, problem.Input(fmt.Errorf("init: %w", err), "")
	}
	for i, n := range scaffoldFiles {
		b, err := examples.Quickstart.ReadFile("quickstart/" + n)
		if err != nil {
			return nil, err
		}
		if err := parquetio.WriteFileAtomic(paths[i], b); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
	}
	return paths, nil
}
