package parquetio

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// scoresTable declares the columns of scores.parquet.
func scoresTable() *table[record.Score] {
	type S = record.Score
	return &table[S]{
		kind: KindScores,
		columns: []column[S]{
			stringColumn("generation_key", func(r *S) string { return r.GenerationKey }, func(r *S, v string) { r.GenerationKey = v }),
			stringColumn("query_id", func(r *S) string { return r.QueryID }, func(r *S, v string) { r.QueryID = v }),
			int32Column("variant_id", func(r *S) int32 { return r.VariantID }, func(r *S, v int32) { r.VariantID = v }),
			stringColumn("model", func(r *S) string { return r.Model }, func(r *S, v string) { r.Model = v }),
			int32Column("sample_index", func(r *S) int32 { return r.SampleIndex }, func(r *S, v int32) { r.SampleIndex = v }),
			stringColumn("judge", func(r *S) string { return r.Judge }, func(r *S, v string) { r.Judge = v }),
			stringColumn("status", func(r *S) string { return r.Status }, func(r *S, v string) { r.Status = v }),
			optFloat64ColumnIf("score",
				func(r *S) (float64, bool) { return r.Score, r.Status == record.StatusScored },
				func(r *S, v float64) { r.Score = v }),
			boolColumnIf("passed",
				func(r *S) (bool, bool) { return r.Passed, r.Status == record.StatusScored },
				func(r *S, v bool) { r.Passed = v }, true),
			stringColumn("extracted", func(r *S) string { return r.Extracted }, func(r *S, v string) { r.Extracted = v }),
			stringColumn("detail", func(r *S) string { return r.Detail }, func(r *S, v string) { r.Detail = v }),
		},
		rowBytes: func(r *S) int {
			return len(r.GenerationKey) + len(r.QueryID) + len(r.Model) + len(r.Judge) + len(r.Extracted) + len(r.Detail)
		},
	}
}

// ScoresSchema returns the Arrow schema of scores.parquet, without metadata.
func ScoresSchema() *arrow.Schema { return scoresTable().schema(nil) }

// WriteScores writes rows to path as scores.parquet, atomically. The rows
// must be sorted by (query_id, variant_id, model, sample_index); several
// judges may score one sample, so a key may repeat. Rows are written in the
// order given. score and passed are null unless Status is scored (a NaN
// score is null too).
func WriteScores(path string, rows []record.Score, meta Meta) error {
	key := func(r *record.Score) sampleKey {
		return sampleKey{queryID: r.QueryID, variantID: r.VariantID, model: r.Model, sampleIndex: r.SampleIndex}
	}
	if err := checkSorted(rows, key, false); err != nil {
		return fmt.Errorf("write %s %q: %w", KindScores, path, err)
	}
	return scoresTable().write(path, rows, meta)
}

// ReadScores reads every row of a scores.parquet file, in file order. A null
// score reads as NaN and a null passed as false, so a row that is not scored
// reads back with Score NaN and Passed false.
func ReadScores(path string) ([]record.Score, error) {
	return readTable(path, KindScores, scoresPlan)
}

// EachScore calls fn for every row of a scores.parquet file, in file
// order, holding one record batch in memory at a time. It stops at fn's
// first error and returns it unwrapped.
func EachScore(ctx context.Context, path string, fn func(record.Score) error) error {
	return eachRow(ctx, path, KindScores, scoresPlan, nil, fn)
}

func scoresPlan(*arrow.Schema) (*table[record.Score], error) { return scoresTable(), nil }
