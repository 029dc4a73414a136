package parquetio

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// pBestPrefix prefixes the per-model columns of routes.parquet:
// p_best_<model>.
const pBestPrefix = "p_best_"

// routesTable declares the columns of routes.parquet for the run's models.
func routesTable(models []string) *table[record.Route] {
	type R = record.Route
	cols := []column[R]{
		stringColumn("query_id", func(r *R) string { return r.QueryID }, func(r *R, v string) { r.QueryID = v }),
		optStringColumn("best_model", func(r *R) string { return r.BestModel }, func(r *R, v string) { r.BestModel = v }),
		optFloat64Column("best_utility", func(r *R) float64 { return r.BestUtility }, func(r *R, v float64) { r.BestUtility = v }),
	}
	for j, m := range models {
		cols = append(cols, optFloat64Column(pBestPrefix+m,
			func(r *R) float64 { return r.PBest[j] },
			func(r *R, v float64) { r.PBest[j] = v }))
	}
	cols = append(cols,
		optStringColumn("single_shot_best_model", func(r *R) string { return r.SingleShotBestModel }, func(r *R, v string) { r.SingleShotBestModel = v }),
		optFloat64Column("single_shot_flip_rate", func(r *R) float64 { return r.SingleShotFlipRate }, func(r *R, v float64) { r.SingleShotFlipRate = v }),
	)
	nm := len(models)
	return &table[R]{
		kind:    KindRoutes,
		columns: cols,
		newRow:  func() R { return R{PBest: make([]float64, nm)} },
	}
}

// checkModels returns an error unless every model name is non-empty and
// none repeats.
func checkModels(models []string) error {
	seen := make(map[string]bool, len(models))
	for _, m := range models {
		if m == "" {
			return fmt.Errorf("check models: empty model name")
		}
		if seen[m] {
			return fmt.Errorf("check models: model %q repeats", m)
		}
		seen[m] = true
	}
	return nil
}

// RoutesSchema returns the Arrow schema of routes.parquet for the run's
// models (one p_best_<model> column per model, in the given order), without
// metadata.
func RoutesSchema(models []string) *arrow.Schema { return routesTable(models).schema(nil) }

// WriteRoutes writes rows to path as routes.parquet, atomically, with one
// p_best_<model> column per model. The rows must be sorted by query_id with
// no repeated query; every row's PBest must have len(models) values. An
// empty BestModel or SingleShotBestModel and NaN doubles are written as null.
func WriteRoutes(path string, rows []record.Route, models []string, meta Meta) error {
	if err := checkRoutes(rows, models); err != nil {
		return fmt.Errorf("write %s %q: %w", KindRoutes, path, err)
	}
	return routesTable(models).write(path, rows, meta)
}

func checkRoutes(rows []record.Route, models []string) error {
	if err := checkModels(models); err != nil {
		return err
	}
	if err := checkQueryOrder(rows, func(r *record.Route) string { return r.QueryID }, true); err != nil {
		return err
	}
	for i := range rows {
		if len(rows[i].PBest) != len(models) {
			return fmt.Errorf("check row %d: %d p_best values for %d models", i, len(rows[i].PBest), len(models))
		}
	}
	return nil
}

// ReadRoutes reads every row of a routes.parquet file, in file order, and the
// model names of its p_best_<model> columns in column order. Null strings
// read as "", null doubles as NaN.
func ReadRoutes(path string) ([]record.Route, []string, error) {
	var models []string
	rows, err := readTable(path, KindRoutes, func(sc *arrow.Schema) (*table[record.Route], error) {
		for _, f := range sc.Fields() {
			if m, ok := strings.CutPrefix(f.Name, pBestPrefix); ok {
				models = append(models, m)
			}
		}
		if err := checkModels(models); err != nil {
			return nil, err
		}
		return routesTable(models), nil
	})
	if err != nil {
		return nil, nil, err
	}
	if models == nil {
		models = []string{}
	}
	return rows, models, nil
}
