package parquetio

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// passAtKPrefix prefixes the pass@k column names: pass_at_<k>.
const passAtKPrefix = "pass_at_"

// labelsTable declares the columns of labels.parquet for the pass@k values
// ks. Every double column is nullable: NaN, the labels' "undefined", is
// written as null.
func labelsTable(ks []int) *table[record.Label] {
	type L = record.Label
	f := func(name string, get func(*L) float64, set func(*L, float64)) column[L] {
		return optFloat64Column(name, get, set)
	}
	cols := []column[L]{
		stringColumn("query_id", func(r *L) string { return r.QueryID }, func(r *L, v string) { r.QueryID = v }),
		stringColumn("model", func(r *L) string { return r.Model }, func(r *L, v string) { r.Model = v }),
		int64Column("n", func(r *L) int64 { return r.N }, func(r *L, v int64) { r.N = v }),
		int64Column("n_unscored", func(r *L) int64 { return r.NUnscored }, func(r *L, v int64) { r.NUnscored = v }),
		int64Column("n_error", func(r *L) int64 { return r.NError }, func(r *L, v int64) { r.NError = v }),
		int64Column("successes", func(r *L) int64 { return r.Successes }, func(r *L, v int64) { r.Successes = v }),
		f("mean", func(r *L) float64 { return r.Mean }, func(r *L, v float64) { r.Mean = v }),
		f("std", func(r *L) float64 { return r.Std }, func(r *L, v float64) { r.Std = v }),
		float64ListColumn("variant_means", func(r *L) []float64 { return r.VariantMeans }, func(r *L, v []float64) { r.VariantMeans = v }),
		f("var_between", func(r *L) float64 { return r.VarBetween }, func(r *L, v float64) { r.VarBetween = v }),
		f("var_within", func(r *L) float64 { return r.VarWithin }, func(r *L, v float64) { r.VarWithin = v }),
		f("beta_alpha", func(r *L) float64 { return r.BetaAlpha }, func(r *L, v float64) { r.BetaAlpha = v }),
		f("beta_beta", func(r *L) float64 { return r.BetaBeta }, func(r *L, v float64) { r.BetaBeta = v }),
		f("ci_low", func(r *L) float64 { return r.CILow }, func(r *L, v float64) { r.CILow = v }),
		f("ci_high", func(r *L) float64 { return r.CIHigh }, func(r *L, v float64) { r.CIHigh = v }),
	}
	for j, k := range ks {
		cols = append(cols, f(passAtKColumn(k),
			func(r *L) float64 { return r.PassAtK[j] },
			func(r *L, v float64) { r.PassAtK[j] = v }))
	}
	cols = append(cols,
		f("cost_mean", func(r *L) float64 { return r.CostMean }, func(r *L, v float64) { r.CostMean = v }),
		f("cost_norm", func(r *L) float64 { return r.CostNorm }, func(r *L, v float64) { r.CostNorm = v }),
		f("utility", func(r *L) float64 { return r.Utility }, func(r *L, v float64) { r.Utility = v }),
		f("p_best", func(r *L) float64 { return r.PBest }, func(r *L, v float64) { r.PBest = v }),
		boolColumn("is_best", func(r *L) bool { return r.IsBest }, func(r *L, v bool) { r.IsBest = v }),
		f("single_shot_score", func(r *L) float64 { return r.SingleShotScore }, func(r *L, v float64) { r.SingleShotScore = v }),
	)
	// Labels schema 2: ci_low, ci_high and p_best count the rewrites drawn;
	// the independent-draws interval moved here, last, so that a schema-1
	// file still reads (ReadLabels fills these from its ci_low, ci_high).
	since := len(cols)
	cols = append(cols,
		f("ci_low_iid", func(r *L) float64 { return r.CILowIID }, func(r *L, v float64) { r.CILowIID = v }),
		f("ci_high_iid", func(r *L) float64 { return r.CIHighIID }, func(r *L, v float64) { r.CIHighIID = v }),
	)
	nk := len(ks)
	return &table[L]{
		kind:    KindLabels,
		version: LabelsSchemaVersion,
		columns: cols,
		since:   since,
		newRow:  func() L { return L{PassAtK: make([]float64, nk)} },
	}
}

// LabelsSchemaVersion is the dars.schema_version of labels.parquet. 2:
// ci_low, ci_high and p_best account for which rewrites were drawn, and
// ci_low_iid, ci_high_iid hold schema 1's independent-draws interval.
const LabelsSchemaVersion = "2"

// passAtKColumn names the pass@k column of k.
func passAtKColumn(k int) string { return passAtKPrefix + strconv.Itoa(k) }

// parsePassAtK reads k from a pass@k column name; it accepts only the names
// passAtKColumn writes (pass_at_<k>, k ≥ 1 in canonical decimal).
func parsePassAtK(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, passAtKPrefix)
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 1 || strconv.Itoa(k) != s {
		return 0, false
	}
	return k, true
}

// checkKs returns an error unless every k is at least 1 and none repeats.
func checkKs(ks []int) error {
	seen := make(map[int]bool, len(ks))
	for _, k := range ks {
		if k < 1 {
			return fmt.Errorf("check pass@k: k %d is not positive", k)
		}
		if seen[k] {
			return fmt.Errorf("check pass@k: k %d repeats", k)
		}
		seen[k] = true
	}
	return nil
}

// LabelsSchema returns the Arrow schema of labels.parquet for the pass@k
// values ks (one pass_at_<k> column per k, in the given order), without
// metadata.
func LabelsSchema(ks []int) *arrow.Schema { return labelsTable(ks).schema(nil) }

// WriteLabels writes rows to path as labels.parquet, atomically, with one
// pass_at_<k> column per k in ks. The rows must be sorted by query_id; within
// a query the caller's model order is kept and a model may not repeat. Every
// row's PassAtK must have len(ks) values. NaN doubles are written as null.
func WriteLabels(path string, rows []record.Label, ks []int, meta Meta) error {
	if err := checkLabels(rows, ks); err != nil {
		return fmt.Errorf("write %s %q: %w", KindLabels, path, err)
	}
	return labelsTable(ks).write(path, rows, meta)
}

func checkLabels(rows []record.Label, ks []int) error {
	if err := checkKs(ks); err != nil {
		return err
	}
	if err := checkQueryOrder(rows, func(r *record.Label) string { return r.QueryID }, false); err != nil {
		return err
	}
	models := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		if len(r.PassAtK) != len(ks) {
			return fmt.Errorf("check row %d: %d pass@k values for %d k values", i, len(r.PassAtK), len(ks))
		}
		if i > 0 && rows[i-1].QueryID != r.QueryID {
			clear(models)
		}
		if models[r.Model] {
			return fmt.Errorf("check row %d: query_id %q repeats model %q", i, r.QueryID, r.Model)
		}
		models[r.Model] = true
	}
	return nil
}

// ReadLabels reads every row of a labels.parquet file, in file order, and
// the k values of its pass_at_<k> columns in column order. Null doubles read
// as NaN. A schema-1 file (without ci_low_iid, ci_high_iid) reads with its
// ci_low, ci_high in both pairs of fields: its interval was the iid one.
func ReadLabels(path string) ([]record.Label, []int, error) {
	var ks []int
	v1 := true
	rows, err := readTable(path, KindLabels, func(sc *arrow.Schema) (*table[record.Label], error) {
		for _, f := range sc.Fields() {
			if k, ok := parsePassAtK(f.Name); ok {
				ks = append(ks, k)
			}
			if f.Name == "ci_low_iid" {
				v1 = false
			}
		}
		if err := checkKs(ks); err != nil {
			return nil, err
		}
		return labelsTable(ks), nil
	})
	if err != nil {
		return nil, nil, err
	}
	if v1 {
		// Schema 1's interval was the independent-draws one.
		for i := range rows {
			rows[i].CILowIID, rows[i].CIHighIID = rows[i].CILow, rows[i].CIHigh
		}
	}
	if ks == nil {
		ks = []int{}
	}
	return rows, ks, nil
}
