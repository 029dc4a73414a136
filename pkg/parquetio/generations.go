package parquetio

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/darslabs/dars/pkg/record"
)

// generationsTable declares the columns of generations.parquet.
func generationsTable() *table[record.Generation] {
	type G = record.Generation
	return &table[G]{
		kind: KindGenerations,
		columns: []column[G]{
			stringColumn("generation_key", func(r *G) string { return r.Key }, func(r *G, v string) { r.Key = v }),
			stringColumn("query_id", func(r *G) string { return r.QueryID }, func(r *G, v string) { r.QueryID = v }),
			int32Column("variant_id", func(r *G) int32 { return r.VariantID }, func(r *G, v int32) { r.VariantID = v }),
			stringColumn("model", func(r *G) string { return r.Model }, func(r *G, v string) { r.Model = v }),
			int32Column("sample_index", func(r *G) int32 { return r.SampleIndex }, func(r *G, v int32) { r.SampleIndex = v }),
			int64Column("seed", func(r *G) int64 { return r.Seed }, func(r *G, v int64) { r.Seed = v }),
			float64Column("temperature", func(r *G) float64 { return r.Temperature }, func(r *G, v float64) { r.Temperature = v }),
			float64Column("top_p", func(r *G) float64 { return r.TopP }, func(r *G, v float64) { r.TopP = v }),
			int32Column("max_tokens", func(r *G) int32 { return r.MaxTokens }, func(r *G, v int32) { r.MaxTokens = v }),
			stringColumn("output_text", func(r *G) string { return r.OutputText }, func(r *G, v string) { r.OutputText = v }),
			stringColumn("finish_reason", func(r *G) string { return r.FinishReason }, func(r *G, v string) { r.FinishReason = v }),
			int64Column("prompt_tokens", func(r *G) int64 { return r.PromptTokens }, func(r *G, v int64) { r.PromptTokens = v }),
			int64Column("completion_tokens", func(r *G) int64 { return r.CompletionTokens }, func(r *G, v int64) { r.CompletionTokens = v }),
			float64Column("cost_usd", func(r *G) float64 { return r.CostUSD }, func(r *G, v float64) { r.CostUSD = v }),
			int64Column("latency_ms", func(r *G) int64 { return r.LatencyMS }, func(r *G, v int64) { r.LatencyMS = v }),
			int32Column("attempts", func(r *G) int32 { return r.Attempts }, func(r *G, v int32) { r.Attempts = v }),
			optStringColumn("error", func(r *G) string { return r.Error }, func(r *G, v string) { r.Error = v }),
			timestampColumn("created_at", func(r *G) time.Time { return r.CreatedAt }, func(r *G, v time.Time) { r.CreatedAt = v }),
			boolColumn("usage_estimated", func(r *G) bool { return r.UsageEstimated }, func(r *G, v bool) { r.UsageEstimated = v }),
			// Added later (after usage_estimated): a file without it reads 0.
			int64Column("reasoning_tokens", func(r *G) int64 { return r.ReasoningTokens }, func(r *G, v int64) { r.ReasoningTokens = v }),
		},
		since: 19,
		rowBytes: func(r *G) int {
			return len(r.Key) + len(r.QueryID) + len(r.Model) + len(r.OutputText) + len(r.FinishReason) + len(r.Error)
		},
	}
}

// GenerationsSchema returns the Arrow schema of generations.parquet, without
// metadata.
func GenerationsSchema() *arrow.Schema { return generationsTable().schema(nil) }

// WriteGenerations writes rows to path as generations.parquet, atomically.
// The rows must be sorted by (query_id, variant_id, model, sample_index) with
// no repeated key; they are written in the order given, in row groups of at
// most 16,384 rows, holding at most one row group's Arrow data in memory.
// CreatedAt is stored with millisecond precision; an empty Error is null.
func WriteGenerations(path string, rows []record.Generation, meta Meta) error {
	key := func(r *record.Generation) sampleKey {
		return sampleKey{queryID: r.QueryID, variantID: r.VariantID, model: r.Model, sampleIndex: r.SampleIndex}
	}
	if err := checkSorted(rows, key, true); err != nil {
		return fmt.Errorf("write %s %q: %w", KindGenerations, path, err)
	}
	return generationsTable().write(path, rows, meta)
}

// ReadGenerations reads every row of a generations.parquet file, in file
// order. A null error reads as "", created_at as a UTC time.
func ReadGenerations(path string) ([]record.Generation, error) {
	return readTable(path, KindGenerations, generationsPlan)
}

// EachGeneration calls fn for every row of a generations.parquet file, in
// file order, holding one record batch in memory at a time. It stops at
// fn's first error and returns it unwrapped.
func EachGeneration(ctx context.Context, path string, fn func(record.Generation) error) error {
	return eachRow(ctx, path, KindGenerations, generationsPlan, nil, fn)
}

func generationsPlan(*arrow.Schema) (*table[record.Generation], error) {
	return generationsTable(), nil
}
