package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
)

// Load summarises the run whose outputs are in dir: its labels and routes,
// and how often its judges agree when scores.parquet is there. A run
// without labels yet is an input problem with the command to run first.
func Load(dir string) (Summary, error) {
	ls, ks, err := parquetio.ReadLabels(filepath.Join(dir, "labels.parquet"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Summary{}, problem.Input(fmt.Errorf("report: no labels in %s", dir), "run `dars run` (or `dars labels`) first")
		}
		return Summary{}, err
	}
	rs, models, err := parquetio.ReadRoutes(filepath.Join(dir, "routes.parquet"))
	if err != nil {
		return Summary{}, err
	}
	s := Summarize(ls, ks, rs, models)
	ws, err := parquetio.ReadRewrites(filepath.Join(dir, "rewrites.parquet"))
	switch {
	case err == nil:
		s.Rewrites = SummarizeRewrites(ws)
	case !errors.Is(err, os.ErrNotExist):
		return Summary{}, err
	}
	scores, err := parquetio.ReadScores(filepath.Join(dir, "scores.parquet"))
	switch {
	case err == nil:
		s.Agreement = JudgeAgreement(scores)
	case !errors.Is(err, os.ErrNotExist):
		return Summary{}, err
	}
	return s, nil
}
