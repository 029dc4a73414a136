package parquetio

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// variantsTable declares the columns of variants.parquet.
func variantsTable() *table[record.Variant] {
	type V = record.Variant
	return &table[V]{
		kind: KindVariants,
		columns: []column[V]{
			stringColumn("query_id", func(r *V) string { return r.QueryID }, func(r *V, v string) { r.QueryID = v }),
			int32Column("variant_id", func(r *V) int32 { return r.VariantID }, func(r *V, v int32) { r.VariantID = v }),
			stringColumn("source", func(r *V) string { return r.Source }, func(r *V, v string) { r.Source = v }),
			stringColumn("text", func(r *V) string { return r.Text }, func(r *V, v string) { r.Text = v }),
			stringColumn("rewriter", func(r *V) string { return r.Rewriter }, func(r *V, v string) { r.Rewriter = v }),
		},
		rowBytes: func(r *V) int { return len(r.QueryID) + len(r.Text) + len(r.Rewriter) + len(r.Source) },
	}
}

// VariantsSchema returns the Arrow schema of variants.parquet, without
// metadata.
func VariantsSchema() *arrow.Schema { return variantsTable().schema(nil) }

// WriteVariants writes rows to path as variants.parquet, atomically. The rows
// must be sorted by (query_id, variant_id) with no repeated key; they are
// written in the order given.
func WriteVariants(path string, rows []record.Variant, meta Meta) error {
	key := func(r *record.Variant) sampleKey { return sampleKey{queryID: r.QueryID, variantID: r.VariantID} }
	if err := checkSorted(rows, key, true); err != nil {
		return fmt.Errorf("write %s %q: %w", KindVariants, path, err)
	}
	return variantsTable().write(path, rows, meta)
}

// ReadVariants reads every row of a variants.parquet file, in file order.
func ReadVariants(path string) ([]record.Variant, error) {
	return readTable(path, KindVariants, func(*arrow.Schema) (*table[record.Variant], error) { return variantsTable(), nil })
}
