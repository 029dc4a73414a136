package parquetio

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// rewritesTable declares the columns of rewrites.parquet: every rewrite a
// rewriter proposed, and every failed attempt (docs/schema.md).
func rewritesTable() *table[record.Rewrite] {
	type W = record.Rewrite
	return &table[W]{
		kind: KindRewrites,
		columns: []column[W]{
			stringColumn("query_id", func(r *W) string { return r.QueryID }, func(r *W, v string) { r.QueryID = v }),
			int32Column("attempt", func(r *W) int32 { return r.Attempt }, func(r *W, v int32) { r.Attempt = v }),
			int32Column("item", func(r *W) int32 { return r.Item }, func(r *W, v int32) { r.Item = v }),
			stringColumn("text", func(r *W) string { return r.Text }, func(r *W, v string) { r.Text = v }),
			stringColumn("status", func(r *W) string { return r.Status }, func(r *W, v string) { r.Status = v }),
			optStringColumn("reason", func(r *W) string { return r.Reason }, func(r *W, v string) { r.Reason = v }),
			optInt32Column("variant_id", func(r *W) int32 { return r.VariantID }, func(r *W, v int32) { r.VariantID = v }),
			optStringColumn("verifier_verdict", func(r *W) string { return r.VerifierVerdict }, func(r *W, v string) { r.VerifierVerdict = v }),
			stringColumn("rewriter", func(r *W) string { return r.Rewriter }, func(r *W, v string) { r.Rewriter = v }),
			stringColumn("call_key", func(r *W) string { return r.CallKey }, func(r *W, v string) { r.CallKey = v }),
		},
		rowBytes: func(r *W) int {
			return len(r.QueryID) + len(r.Text) + len(r.Reason) + len(r.Rewriter) + len(r.CallKey) + 24
		},
	}
}

// RewritesSchema returns the Arrow schema of rewrites.parquet, without
// metadata.
func RewritesSchema() *arrow.Schema { return rewritesTable().schema(nil) }

// WriteRewrites writes rows to path as rewrites.parquet, atomically. The
// rows must be sorted by (query_id, attempt, item) with no repeated key.
func WriteRewrites(path string, rows []record.Rewrite, meta Meta) error {
	// The order of (query_id, attempt, item), in the key's variant and
	// sample places.
	key := func(r *record.Rewrite) sampleKey {
		return sampleKey{queryID: r.QueryID, variantID: r.Attempt, sampleIndex: r.Item}
	}
	if err := checkSorted(rows, key, true); err != nil {
		return fmt.Errorf("write %s %q: %w", KindRewrites, path, err)
	}
	return rewritesTable().write(path, rows, meta)
}

// ReadRewrites reads every row of a rewrites.parquet file, in file order.
func ReadRewrites(path string) ([]record.Rewrite, error) {
	return readTable(path, KindRewrites, func(*arrow.Schema) (*table[record.Rewrite], error) { return rewritesTable(), nil })
}
