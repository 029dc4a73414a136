package parquetio

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/record"
)

// benchTexts returns answer-like texts: GSM8K worked solutions when the
// shared data is present, else synthetic ones.
func benchTexts(b *testing.B) []string {
	path := filepath.Join("..", "..", "..", "shared", "data", "gsm8k", "test.jsonl")
	var texts []string
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var row struct{ Answer string }
			if json.Unmarshal(sc.Bytes(), &row) == nil && row.Answer != "" {
				texts = append(texts, row.Answer)
			}
		}
	}
	if len(texts) == 0 {
		for i := 0; i < 1000; i++ {
			texts = append(texts, fmt.Sprintf("Let me work through problem %d step by step.\nFirst, %d + %d = %d.\nFinal Answer: %d", i, i, 2*i, 3*i, 3*i))
		}
	}
	return texts
}

// benchGenerations builds n generations: queries × 5 variants × 4 models × 5
// samples, with output texts varying per sample.
func benchGenerations(b *testing.B, n int) []record.Generation {
	texts := benchTexts(b)
	models := []string{"large", "medium", "sim-a", "small"}
	rows := make([]record.Generation, 0, n)
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for q := 0; len(rows) < n; q++ {
		for v := int32(0); v < 5 && len(rows) < n; v++ {
			for mi, m := range models {
				for s := int32(0); s < 5 && len(rows) < n; s++ {
					i := len(rows)
					rows = append(rows, record.Generation{
						Key:     fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15),
						QueryID: fmt.Sprint(q), VariantID: v, Model: m, SampleIndex: s,
						Seed: int64(i) * 7919, Temperature: 0.7, TopP: 0.95, MaxTokens: 1024,
						OutputText:   fmt.Sprintf("%s\n(sample %d of %s)", texts[(q*7+int(v)*3+mi+int(s))%len(texts)], s, m),
						FinishReason: "stop", PromptTokens: 120 + int64(q%50), CompletionTokens: 80 + int64(i%200),
						CostUSD: float64(i%1000) * 1e-7, LatencyMS: int64(200 + i%900), Attempts: 1,
						CreatedAt: t0.Add(time.Duration(i) * time.Millisecond),
					})
				}
			}
		}
	}
	return rows
}

// BenchmarkWriteGenerations writes 200,000 generations per iteration and
// reports ns/row and the file size.
func BenchmarkWriteGenerations(b *testing.B) {
	const n = 200_000
	rows := benchGenerations(b, n)
	path := filepath.Join(b.TempDir(), "generations.parquet")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := WriteGenerations(path, rows, testMeta); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
	b.ReportMetric(float64(st.Size()), "file-bytes")
	b.ReportMetric(float64(st.Size())/n, "bytes/row")
}

// BenchmarkReadGenerations reads back a 200,000-row generations file.
func BenchmarkReadGenerations(b *testing.B) {
	const n = 200_000
	path := filepath.Join(b.TempDir(), "generations.parquet")
	if err := WriteGenerations(path, benchGenerations(b, n), testMeta); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := ReadGenerations(path)
		if err != nil || len(rows) != n {
			b.Fatalf("read %d rows: %v", len(rows), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
