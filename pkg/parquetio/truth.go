package parquetio

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// truthTable declares the columns of sim_truth.parquet.
func truthTable() *table[record.Truth] {
	type T = record.Truth
	return &table[T]{
		kind: KindTruth,
		columns: []column[T]{
			stringColumn("query_id", func(r *T) string { return r.QueryID }, func(r *T, v string) { r.QueryID = v }),
			int32Column("variant_id", func(r *T) int32 { return r.VariantID }, func(r *T, v int32) { r.VariantID = v }),
			stringColumn("model", func(r *T) string { return r.Model }, func(r *T, v string) { r.Model = v }),
			float64Column("p", func(r *T) float64 { return r.P }, func(r *T, v float64) { r.P = v }),
		},
	}
}

// TruthSchema returns the Arrow schema of sim_truth.parquet, without
// metadata.
func TruthSchema() *arrow.Schema { return truthTable().schema(nil) }

// WriteTruth writes rows to path as sim_truth.parquet, atomically. The rows
// must be sorted by (query_id, variant_id, model) with no repeated key; they
// are written in the order given.
func WriteTruth(path string, rows []record.Truth, meta Meta) error {
	key := func(r *record.Truth) sampleKey {
		return sampleKey{queryID: r.QueryID, variantID: r.VariantID, model: r.Model}
	}
	if err := checkSorted(rows, key, true); err != nil {
		return fmt.Errorf("write %s %q: %w", KindTruth, path, err)
	}
	return truthTable().write(path, rows, meta)
}

// ReadTruth reads every row of a sim_truth.parquet file, in file order.
func ReadTruth(path string) ([]record.Truth, error) {
	return readTable(path, KindTruth, func(*arrow.Schema) (*table[record.Truth], error) { return truthTable(), nil })
}
