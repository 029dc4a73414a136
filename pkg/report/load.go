package report

import (
	"encoding/json"
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
		s.Rewrites.Short, s.Rewrites.Count = shortQueries(dir)
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

// shortQueries reads from the run's manifest.json how many queries were
// left short of paraphrase.count, and that count; zeros when the manifest
// is missing or does not say.
func shortQueries(dir string) (short, count int) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return 0, 0
	}
	var m struct {
		Config struct {
			Paraphrase struct {
				Count int `json:"count"`
			} `json:"paraphrase"`
		} `json:"config"`
		Rewrites struct {
			Short int `json:"short"`
		} `json:"rewrites"`
	}
	if json.Unmarshal(b, &m) != nil {
		return 0, 0
	}
	return m.Rewrites.Short, m.Config.Paraphrase.Count
}
