package parquetio

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/darslabs/dars/pkg/record"
)

var testMeta = Meta{ConfigHash: "abc123", Version: "v0.1.0-test", Extra: map[string]string{"run": "demo", "shard": "0/1"}}

var (
	nan = math.NaN()
	t0  = time.Date(2025, time.March, 4, 5, 6, 7, 890_000_000, time.UTC)
)

func testVariants() []record.Variant {
	return []record.Variant{
		{QueryID: "2", VariantID: 0, Source: record.SourceOriginal, Text: "What is 2+2?"},
		{QueryID: "2", VariantID: 1, Source: record.SourceRewrite, Text: "Compute two plus two.", Rewriter: "rewriter"},
		{QueryID: "10", VariantID: 0, Source: record.SourceOriginal, Text: "Ünïcödé ✓ and \"quotes\"\nnewline"},
		{QueryID: "10", VariantID: 1, Source: record.SourceGiven, Text: ""},
		{QueryID: "abc", VariantID: 0, Source: record.SourceOriginal, Text: "x"},
	}
}

func testGenerations() []record.Generation {
	return []record.Generation{
		{Key: "k1", QueryID: "2", VariantID: 0, Model: "big", SampleIndex: 0, Seed: -5, Temperature: 0.7, TopP: 0.95, MaxTokens: 1024,
			OutputText: "Final Answer: 4", FinishReason: "stop", PromptTokens: 12, CompletionTokens: 5, CostUSD: 1.5e-6, LatencyMS: 230, Attempts: 1, CreatedAt: t0},
		{Key: "k2", QueryID: "2", VariantID: 0, Model: "big", SampleIndex: 1, Seed: math.MaxInt64, Temperature: 0.7, TopP: 0.95, MaxTokens: 1024,
			FinishReason: "", Attempts: 3, Error: "http 400: bad request", CreatedAt: t0.Add(time.Second)},
		{Key: "k3", QueryID: "2", VariantID: 0, Model: "small", SampleIndex: 0, Temperature: 0, TopP: 1, OutputText: "4", Attempts: 1},
		{Key: "k4", QueryID: "2", VariantID: 1, Model: "big", SampleIndex: 0, OutputText: "ünï ✓", CreatedAt: t0},
		{Key: "k5", QueryID: "10", VariantID: 0, Model: "big", SampleIndex: 0, CostUSD: nan, CreatedAt: time.UnixMilli(0).UTC()},
	}
}

func testScores() []record.Score {
	return []record.Score{
		{GenerationKey: "k1", QueryID: "2", VariantID: 0, Model: "big", SampleIndex: 0, Judge: "answer", Status: record.StatusScored, Score: 1, Passed: true, Extracted: "4", Detail: "exact"},
		{GenerationKey: "k1", QueryID: "2", VariantID: 0, Model: "big", SampleIndex: 0, Judge: "f1", Status: record.StatusScored, Score: 0.25, Passed: false},
		{GenerationKey: "k2", QueryID: "2", VariantID: 0, Model: "big", SampleIndex: 1, Judge: "answer", Status: record.StatusError, Score: nan, Detail: "http 400"},
		{GenerationKey: "k3", QueryID: "2", VariantID: 0, Model: "small", SampleIndex: 0, Judge: "answer", Status: record.StatusUnscored, Score: nan, Detail: "no answer"},
		{GenerationKey: "k5", QueryID: "10", VariantID: 0, Model: "big", SampleIndex: 0, Judge: "answer", Status: record.StatusScored, Score: 0},
	}
}

func testLabels() []record.Label {
	return []record.Label{
		{QueryID: "2", Model: "small", N: 25, NUnscored: 1, NError: 2, Successes: 10, Mean: 0.4, Std: 0.5, VariantMeans: []float64{0.2, 0.4, nan, 0.6},
			VarBetween: 0.01, VarWithin: 0.23, BetaAlpha: 10.5, BetaBeta: 15.5, CILow: 0.2, CIHigh: 0.6, CILowIID: 0.25, CIHighIID: 0.55, PassAtK: []float64{0.4, 0.95},
			CostMean: 1e-5, CostNorm: 0, Utility: 0.3, PBest: 0.1, IsBest: false, SingleShotScore: 1},
		{QueryID: "2", Model: "big", N: 1, Successes: 1, Mean: 1, Std: 0, VariantMeans: []float64{1},
			BetaAlpha: 1.5, BetaBeta: 0.5, CILow: 0.3, CIHigh: 1, CILowIID: 0.35, CIHighIID: 1, PassAtK: []float64{1, nan},
			CostMean: 2e-5, CostNorm: 1, Utility: 0.95, PBest: 0.9, IsBest: true, SingleShotScore: 1},
		{QueryID: "10", Model: "small", N: 0, NError: 25, Mean: nan, Std: nan, VariantMeans: []float64{},
			VarBetween: nan, VarWithin: nan, BetaAlpha: 0.5, BetaBeta: 0.5, CILow: nan, CIHigh: nan, CILowIID: nan, CIHighIID: nan, PassAtK: []float64{nan, nan},
			CostMean: nan, CostNorm: nan, Utility: nan, PBest: nan, SingleShotScore: nan},
	}
}

func testRoutes() []record.Route {
	return []record.Route{
		{QueryID: "2", BestModel: "big", BestUtility: 0.95, PBest: []float64{0.1, 0.9}, SingleShotBestModel: "small", SingleShotFlipRate: 0.37},
		{QueryID: "10", BestModel: "", BestUtility: nan, PBest: []float64{nan, nan}, SingleShotBestModel: "", SingleShotFlipRate: nan},
		{QueryID: "q-x", BestModel: "small", BestUtility: -0.5, PBest: []float64{1, 0}, SingleShotBestModel: "small"},
	}
}

func testTruth() []record.Truth {
	return []record.Truth{
		{QueryID: "2", VariantID: 0, Model: "big", P: 0.9},
		{QueryID: "2", VariantID: 0, Model: "small", P: 0.4},
		{QueryID: "2", VariantID: 1, Model: "big", P: 0.85},
		{QueryID: "10", VariantID: 0, Model: "big", P: 0},
	}
}

var (
	testKs     = []int{1, 5}
	testModels = []string{"small", "big"}
)

// same compares values by their Go syntax, so NaN equals NaN and -0 differs
// from 0.
func same(a, b any) bool { return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b) }

// kindCase runs one file kind through write and read.
type kindCase struct {
	name  string
	kind  string
	write func(path string) error
	read  func(path string) (any, error)
	want  any
	// unsorted writes rows in the wrong order and must fail.
	unsorted func(path string) error
}

func kindCases() []kindCase {
	return []kindCase{
		{
			name: "variants", kind: KindVariants,
			write: func(p string) error { return WriteVariants(p, testVariants(), testMeta) },
			read:  func(p string) (any, error) { return ReadVariants(p) },
			want:  testVariants(),
			unsorted: func(p string) error {
				rows := testVariants()
				rows[0], rows[2] = rows[2], rows[0]
				return WriteVariants(p, rows, testMeta)
			},
		},
		{
			name: "rewrites", kind: KindRewrites,
			write: func(p string) error { return WriteRewrites(p, testRewrites(), testMeta) },
			read:  func(p string) (any, error) { return ReadRewrites(p) },
			want:  testRewrites(),
			unsorted: func(p string) error {
				rows := testRewrites()
				rows[0], rows[1] = rows[1], rows[0]
				return WriteRewrites(p, rows, testMeta)
			},
		},
		{
			name: "generations", kind: KindGenerations,
			write: func(p string) error { return WriteGenerations(p, testGenerations(), testMeta) },
			read:  func(p string) (any, error) { return ReadGenerations(p) },
			want:  testGenerations(),
			unsorted: func(p string) error {
				rows := testGenerations()
				rows[1], rows[2] = rows[2], rows[1]
				return WriteGenerations(p, rows, testMeta)
			},
		},
		{
			name: "scores", kind: KindScores,
			write: func(p string) error { return WriteScores(p, testScores(), testMeta) },
			read:  func(p string) (any, error) { return ReadScores(p) },
			want:  testScores(),
			unsorted: func(p string) error {
				rows := testScores()
				rows[3], rows[4] = rows[4], rows[3]
				return WriteScores(p, rows, testMeta)
			},
		},
		{
			name: "labels", kind: KindLabels,
			write: func(p string) error { return WriteLabels(p, testLabels(), testKs, testMeta) },
			read: func(p string) (any, error) {
				rows, ks, err := ReadLabels(p)
				if err == nil && !same(ks, testKs) {
					return nil, fmt.Errorf("ks %v, want %v", ks, testKs)
				}
				return rows, err
			},
			want: testLabels(),
			unsorted: func(p string) error {
				rows := testLabels()
				rows[0], rows[2] = rows[2], rows[0]
				return WriteLabels(p, rows, testKs, testMeta)
			},
		},
		{
			name: "routes", kind: KindRoutes,
			write: func(p string) error { return WriteRoutes(p, testRoutes(), testModels, testMeta) },
			read: func(p string) (any, error) {
				rows, models, err := ReadRoutes(p)
				if err == nil && !same(models, testModels) {
					return nil, fmt.Errorf("models %v, want %v", models, testModels)
				}
				return rows, err
			},
			want: testRoutes(),
			unsorted: func(p string) error {
				rows := testRoutes()
				rows[0], rows[1] = rows[1], rows[0]
				return WriteRoutes(p, rows, testModels, testMeta)
			},
		},
		{
			name: "truth", kind: KindTruth,
			write: func(p string) error { return WriteTruth(p, testTruth(), testMeta) },
			read:  func(p string) (any, error) { return ReadTruth(p) },
			want:  testTruth(),
			unsorted: func(p string) error {
				rows := testTruth()
				rows[1], rows[2] = rows[2], rows[1]
				return WriteTruth(p, rows, testMeta)
			},
		},
	}
}

// wantAfterRead adjusts rows to what a reader returns: scores that are not
// scored read back with Score NaN and Passed false.
func wantAfterRead(v any) any {
	if rows, ok := v.([]record.Score); ok {
		for i := range rows {
			if rows[i].Status != record.StatusScored {
				rows[i].Score, rows[i].Passed = nan, false
			}
		}
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range kindCases() {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name+".parquet")
			if err := tc.write(path); err != nil {
				t.Fatalf("write: %v", err)
			}
			got, err := tc.read(path)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if want := wantAfterRead(tc.want); !same(got, want) {
				t.Errorf("round trip differs\n got: %#v\nwant: %#v", got, want)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	for _, tc := range kindCases() {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name+".parquet")
			if err := tc.write(path); err != nil {
				t.Fatalf("write: %v", err)
			}
			md, err := ReadMeta(path)
			if err != nil {
				t.Fatalf("read meta: %v", err)
			}
			version := SchemaVersion
			if tc.kind == KindLabels {
				version = LabelsSchemaVersion // labels have their own since schema 2
			}
			want := map[string]string{
				"dars.schema_version": version,
				"dars.kind":           tc.kind,
				"dars.config_hash":    "abc123",
				"dars.version":        "v0.1.0-test",
				"dars.run":            "demo",
				"dars.shard":          "0/1",
			}
			if !same(md, want) {
				t.Errorf("metadata %v, want %v", md, want)
			}
		})
	}
}

func TestMetaRejectsReservedExtra(t *testing.T) {
	for _, key := range []string{"kind", "schema_version", "config_hash", "version", ""} {
		t.Run(key, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.parquet")
			err := WriteTruth(path, testTruth(), Meta{Extra: map[string]string{key: "x"}})
			if err == nil {
				t.Fatal("write succeeded, want an error")
			}
			assertNoFiles(t, filepath.Dir(path))
		})
	}
}

func TestDeterministicBytes(t *testing.T) {
	for _, tc := range kindCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
			if err := tc.write(a); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(b); err != nil {
				t.Fatal(err)
			}
			ab, _ := os.ReadFile(a)
			bb, _ := os.ReadFile(b)
			if len(ab) == 0 || !bytes.Equal(ab, bb) {
				t.Errorf("two writes of the same rows differ (%d and %d bytes)", len(ab), len(bb))
			}
		})
	}
}

func TestUnsortedRejectedAndFileUntouched(t *testing.T) {
	for _, tc := range kindCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.name+".parquet")
			old := []byte("existing contents")
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			err := tc.unsorted(path)
			if err == nil || !strings.Contains(err.Error(), "check") {
				t.Fatalf("write of unsorted rows: err = %v, want a check error", err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, old) {
				t.Errorf("existing file changed to %q", got)
			}
			assertOnly(t, dir, tc.name+".parquet")
		})
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	lbl := testLabels()
	rt := testRoutes()
	dupModel := testLabels()
	dupModel[1].Model = "small"
	dupRoute := testRoutes()
	dupRoute[1].QueryID = "2"
	dupGen := testGenerations()
	dupGen[1] = dupGen[0]
	dupVar := testVariants()
	dupVar[1].VariantID = 0
	tests := []struct {
		name  string
		write func(string) error
	}{
		{"labels pass@k length", func(p string) error { return WriteLabels(p, lbl, []int{1}, testMeta) }},
		{"labels zero k", func(p string) error { return WriteLabels(p, nil, []int{0}, testMeta) }},
		{"labels repeated k", func(p string) error { return WriteLabels(p, nil, []int{5, 5}, testMeta) }},
		{"labels repeated model", func(p string) error { return WriteLabels(p, dupModel, testKs, testMeta) }},
		{"routes p_best length", func(p string) error { return WriteRoutes(p, rt, []string{"small"}, testMeta) }},
		{"routes empty model", func(p string) error { return WriteRoutes(p, nil, []string{""}, testMeta) }},
		{"routes repeated model", func(p string) error { return WriteRoutes(p, nil, []string{"a", "a"}, testMeta) }},
		{"routes repeated query", func(p string) error { return WriteRoutes(p, dupRoute, testModels, testMeta) }},
		{"generations repeated key", func(p string) error { return WriteGenerations(p, dupGen, testMeta) }},
		{"variants repeated key", func(p string) error { return WriteVariants(p, dupVar, testMeta) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.write(filepath.Join(dir, "out.parquet")); err == nil {
				t.Fatal("write succeeded, want an error")
			}
			assertNoFiles(t, dir)
		})
	}
}

func TestWriteFailureLeavesFileUntouched(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "truth.parquet")
	if err := WriteTruth(path, testTruth(), testMeta); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	if err := WriteTruth(path, testTruth()[:1], testMeta); err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, old) {
		t.Error("existing file changed")
	}
	assertOnly(t, dir, "truth.parquet")
}

func TestWriteIntoMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "truth.parquet")
	if err := WriteTruth(path, testTruth(), testMeta); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truth.parquet")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteTruth(path, testTruth(), testMeta); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTruth(path)
	if err != nil || !same(got, testTruth()) {
		t.Fatalf("read after overwrite: %v, %v", got, err)
	}
	assertOnly(t, dir, "truth.parquet")
}

func TestEmpty(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(p string) (int, error)
	}{
		{"generations", func(p string) (int, error) {
			if err := WriteGenerations(p, nil, testMeta); err != nil {
				return 0, err
			}
			rows, err := ReadGenerations(p)
			return len(rows), err
		}},
		{"labels", func(p string) (int, error) {
			if err := WriteLabels(p, nil, nil, testMeta); err != nil {
				return 0, err
			}
			rows, ks, err := ReadLabels(p)
			if err == nil && (ks == nil || len(ks) != 0) {
				err = fmt.Errorf("ks = %#v, want empty", ks)
			}
			return len(rows), err
		}},
		{"routes", func(p string) (int, error) {
			if err := WriteRoutes(p, nil, nil, testMeta); err != nil {
				return 0, err
			}
			rows, models, err := ReadRoutes(p)
			if err == nil && (models == nil || len(models) != 0) {
				err = fmt.Errorf("models = %#v, want empty", models)
			}
			return len(rows), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.run(filepath.Join(t.TempDir(), "x.parquet"))
			if err != nil || n != 0 {
				t.Fatalf("rows %d, err %v; want 0, nil", n, err)
			}
		})
	}
}

func TestReadWrongKind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truth.parquet")
	if err := WriteTruth(path, testTruth(), testMeta); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGenerations(path); err == nil {
		t.Error("ReadGenerations read a sim_truth file")
	}
	if _, _, err := ReadLabels(path); err == nil {
		t.Error("ReadLabels read a sim_truth file")
	}
	if _, _, err := ReadRoutes(path); err == nil {
		t.Error("ReadRoutes read a sim_truth file")
	}
	if _, err := ReadTruth(filepath.Join(dir, "absent.parquet")); err == nil {
		t.Error("ReadTruth read a missing file")
	}
	junk := filepath.Join(dir, "junk.parquet")
	if err := os.WriteFile(junk, []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTruth(junk); err == nil {
		t.Error("ReadTruth read a junk file")
	}
	if _, err := ReadMeta(junk); err == nil {
		t.Error("ReadMeta read a junk file")
	}
}

// TestSchemas pins every column's name, Arrow type and nullability to the
// list in DESIGN §7 and docs/schema.md: renaming or retyping a column fails
// here.
func TestSchemas(t *testing.T) {
	const (
		str  = "utf8"
		i32  = "int32"
		i64  = "int64"
		f64  = "float64" // Arrow double
		bl   = "bool"
		ts   = "timestamp[ms, tz=UTC]"
		list = "list<element: float64, nullable>"
	)
	type col struct {
		name, typ string
		nullable  bool
	}
	tests := []struct {
		name string
		sc   *arrow.Schema
		want []col
	}{
		{"variants", VariantsSchema(), []col{
			{"query_id", str, false}, {"variant_id", i32, false}, {"source", str, false}, {"text", str, false}, {"rewriter", str, false},
		}},
		{"generations", GenerationsSchema(), []col{
			{"generation_key", str, false}, {"query_id", str, false}, {"variant_id", i32, false}, {"model", str, false},
			{"sample_index", i32, false}, {"seed", i64, false}, {"temperature", f64, false}, {"top_p", f64, false},
			{"max_tokens", i32, false}, {"output_text", str, false}, {"finish_reason", str, false},
			{"prompt_tokens", i64, false}, {"completion_tokens", i64, false}, {"cost_usd", f64, false},
			{"latency_ms", i64, false}, {"attempts", i32, false}, {"error", str, true}, {"created_at", ts, false},
			{"usage_estimated", bl, false},
			{"reasoning_tokens", i64, false},
		}},
		{"scores", ScoresSchema(), []col{
			{"generation_key", str, false}, {"query_id", str, false}, {"variant_id", i32, false}, {"model", str, false},
			{"sample_index", i32, false}, {"judge", str, false}, {"status", str, false}, {"score", f64, true},
			{"passed", bl, true}, {"extracted", str, false}, {"detail", str, false},
		}},
		{"labels", LabelsSchema([]int{1, 5}), []col{
			{"query_id", str, false}, {"model", str, false}, {"n", i64, false}, {"n_unscored", i64, false},
			{"n_error", i64, false}, {"successes", i64, false}, {"mean", f64, true}, {"std", f64, true},
			{"variant_means", list, false}, {"var_between", f64, true}, {"var_within", f64, true},
			{"beta_alpha", f64, true}, {"beta_beta", f64, true}, {"ci_low", f64, true}, {"ci_high", f64, true},
			{"pass_at_1", f64, true}, {"pass_at_5", f64, true},
			{"cost_mean", f64, true}, {"cost_norm", f64, true}, {"utility", f64, true}, {"p_best", f64, true},
			{"is_best", bl, false}, {"single_shot_score", f64, true},
			{"ci_low_iid", f64, true}, {"ci_high_iid", f64, true},
		}},
		{"routes", RoutesSchema([]string{"small", "big"}), []col{
			{"query_id", str, false}, {"best_model", str, true}, {"best_utility", f64, true},
			{"p_best_small", f64, true}, {"p_best_big", f64, true},
			{"single_shot_best_model", str, true}, {"single_shot_flip_rate", f64, true},
		}},
		{"sim_truth", TruthSchema(), []col{
			{"query_id", str, false}, {"variant_id", i32, false}, {"model", str, false}, {"p", f64, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]col, tc.sc.NumFields())
			for i, f := range tc.sc.Fields() {
				got[i] = col{f.Name, f.Type.String(), f.Nullable}
			}
			if !same(got, tc.want) {
				t.Errorf("columns\n got: %v\nwant: %v", got, tc.want)
			}
		})
	}
}

// TestFileSchema checks that the schema read back from a written file is the
// declared one, both through the stored Arrow schema (what pyarrow and other
// Arrow readers see) and through the Parquet logical types (what this
// package's readers use).
func TestFileSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.parquet")
	if err := WriteLabels(path, testLabels(), testKs, testMeta); err != nil {
		t.Fatal(err)
	}
	want := LabelsSchema(testKs)
	check := func(t *testing.T, sc *arrow.Schema) {
		if sc.NumFields() != want.NumFields() {
			t.Fatalf("file has %d columns, want %d", sc.NumFields(), want.NumFields())
		}
		for i, f := range sc.Fields() {
			w := want.Field(i)
			if f.Name != w.Name || !arrow.TypeEqual(f.Type, w.Type) || f.Nullable != w.Nullable {
				t.Errorf("file column %d is %s, want %s", i, f, w)
			}
		}
	}
	t.Run("stored", func(t *testing.T) {
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := fr.Schema()
		if err != nil {
			t.Fatal(err)
		}
		check(t, sc)
		if i := sc.Metadata().FindKey(MetaKind); i < 0 || sc.Metadata().Values()[i] != KindLabels {
			t.Errorf("stored schema metadata lacks %s: %v", MetaKind, sc.Metadata())
		}
	})
	t.Run("parquet", func(t *testing.T) {
		pf, fr, err := openReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer pf.Close()
		sc, err := fr.Schema()
		if err != nil {
			t.Fatal(err)
		}
		check(t, sc)
	})
}

// TestManyRowGroups writes more rows than one row group holds and checks the
// split and the round trip.
func TestManyRowGroups(t *testing.T) {
	n := maxRowGroupRows*2 + 10
	rows := make([]record.Truth, n)
	for i := range rows {
		rows[i] = record.Truth{QueryID: fmt.Sprint(i / 4), VariantID: int32(i % 4), Model: "m", P: float64(i) / float64(n)}
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	if err := WriteTruth(path, rows, testMeta); err != nil {
		t.Fatal(err)
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	groups := pf.NumRowGroups()
	pf.Close()
	if groups != 3 {
		t.Errorf("row groups = %d, want 3", groups)
	}
	got, err := ReadTruth(path)
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, rows) {
		t.Error("round trip of many rows differs")
	}
}

func TestCheckSortedQueryIDOrder(t *testing.T) {
	tests := []struct {
		name string
		ids  []string
		ok   bool
	}{
		{"numeric", []string{"1", "2", "10"}, true},
		{"numbers before strings", []string{"9", "10", "a", "b"}, true},
		{"string order of numbers", []string{"1", "10", "2"}, false},
		{"string before number", []string{"a", "1"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([]record.Truth, len(tc.ids))
			for i, id := range tc.ids {
				rows[i] = record.Truth{QueryID: id}
			}
			err := WriteTruth(filepath.Join(t.TempDir(), "t.parquet"), rows, testMeta)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	assertOnly(t, dir)
}

// assertOnly fails unless dir holds exactly the named files (no temp files).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("directory holds %v, want %v", got, names)
	}
}

// TestRenameFailureRemovesTemp makes the final rename fail (path is a
// non-empty directory) after the whole file was written: the temp file must
// be gone and the directory untouched.
func TestRenameFailureRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truth.parquet")
	if err := os.MkdirAll(filepath.Join(path, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteTruth(path, testTruth(), testMeta)
	if err == nil || !strings.Contains(err.Error(), "rename") {
		t.Fatalf("err = %v, want a rename error", err)
	}
	assertOnly(t, dir, "truth.parquet")
	assertOnly(t, path, "keep")
}

// TestWriteErrorMidFile fails a streamed write after a row group reached
// the temp file: the temp file is removed and the existing file is untouched.
func TestWriteErrorMidFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "generations.parquet")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := NewGenerationsWriter(path, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	for i := range maxRowGroupRows + 10 { // one row group is written out
		if err := w.Write(record.Generation{Key: fmt.Sprint(i), QueryID: "q", Model: "m", SampleIndex: int32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	err = w.Write(record.Generation{QueryID: "q", Model: "m", SampleIndex: 3}) // out of order
	if err == nil || !strings.Contains(err.Error(), "sorts before") {
		t.Fatalf("out-of-order row: err = %v", err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed Write succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("existing file changed to %q", got)
	}
	assertOnly(t, dir, "generations.parquet")
}

// TestRowWriterSameBytes streams rows one at a time and writes them as one
// slice: the files are byte-identical, and so is an aborted writer's
// absence.
func TestRowWriterSameBytes(t *testing.T) {
	dir := t.TempDir()
	rows := make([]record.Generation, 0, 3000)
	for q := range 300 {
		for i := range 10 {
			rows = append(rows, record.Generation{Key: fmt.Sprint(q, "/", i), QueryID: fmt.Sprint(q), Model: "m",
				SampleIndex: int32(i), OutputText: strings.Repeat("x", q%17), CreatedAt: time.UnixMilli(int64(q)).UTC()})
		}
	}
	whole := filepath.Join(dir, "a.parquet")
	if err := WriteGenerations(whole, rows, testMeta); err != nil {
		t.Fatal(err)
	}
	streamed := filepath.Join(dir, "b.parquet")
	w, err := NewGenerationsWriter(streamed, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if w.Rows() != len(rows) {
		t.Fatalf("Rows = %d", w.Rows())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(streamed)
	if !bytes.Equal(a, b) {
		t.Fatal("streamed file differs from the one written at once")
	}
	aborted, err := NewScoresWriter(filepath.Join(dir, "c.parquet"), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	aborted.Abort()
	assertOnly(t, dir, "a.parquet", "b.parquet")
}

func TestRoutesModelNames(t *testing.T) {
	models := []string{"gpt-4.1/mini", "Qwen 2.5 (7B)", "ünï"}
	rows := []record.Route{{QueryID: "1", BestModel: "ünï", BestUtility: 0.5, PBest: []float64{0.2, 0.3, 0.5}, SingleShotBestModel: "gpt-4.1/mini", SingleShotFlipRate: 0.1}}
	path := filepath.Join(t.TempDir(), "routes.parquet")
	if err := WriteRoutes(path, rows, models, testMeta); err != nil {
		t.Fatal(err)
	}
	got, gotModels, err := ReadRoutes(path)
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, rows) || !same(gotModels, models) {
		t.Errorf("round trip: %v %v, want %v %v", got, gotModels, rows, models)
	}
}

// TestReadOlderGenerations: a generations.parquet written before
// reasoning_tokens existed (testdata/store-v1's, by dars d8dc011) reads
// with the column at 0, as shard parts and dars recover need.
func TestReadOlderGenerations(t *testing.T) {
	rows, err := ReadGenerations(filepath.Join("..", "..", "testdata", "store-v1", "out", "v1", "generations.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 16 {
		t.Fatalf("%d rows, want 16", len(rows))
	}
	for _, g := range rows {
		if g.ReasoningTokens != 0 || g.Key == "" || g.OutputText == "" {
			t.Fatalf("row %+v", g)
		}
	}
}

// TestReadLabelsV1 reads a labels.parquet of schema 1 (testdata/store-v1's,
// before ci_low_iid and ci_high_iid): its interval, the independent-draws
// one, fills both pairs of fields.
func TestReadLabelsV1(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "store-v1", "out", "v1", "labels.parquet")
	md, err := ReadMeta(path)
	if err != nil {
		t.Fatal(err)
	}
	if v := md[MetaSchemaVersion]; v != "1" {
		t.Fatalf("fixture has schema version %q, want 1", v)
	}
	rows, _, err := ReadLabels(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for i, r := range rows {
		if !sameFloat(r.CILowIID, r.CILow) || !sameFloat(r.CIHighIID, r.CIHigh) {
			t.Errorf("row %d: iid interval (%v, %v), want (%v, %v)", i, r.CILowIID, r.CIHighIID, r.CILow, r.CIHigh)
		}
	}
}

func sameFloat(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }

// testRewrites is a rewrites log: kept, rejected and failed rows, with and
// without a verdict, numeric query ids sorted by value.
func testRewrites() []record.Rewrite {
	return []record.Rewrite{
		{QueryID: "2", Attempt: 0, Item: 0, Text: "How many apples are left?", Status: record.RewriteKept, VariantID: 1, VerifierVerdict: record.VerdictYes, Rewriter: "rw", CallKey: "k1"},
		{QueryID: "2", Attempt: 0, Item: 1, Text: "how many apples are left", Status: record.RewriteRejected, Reason: "duplicate", VariantID: -1, Rewriter: "rw", CallKey: "k1"},
		{QueryID: "2", Attempt: 1, Item: 0, Text: "Sure! Here you go", Status: record.RewriteFailed, Reason: "unparseable: no JSON object or list in the answer", VariantID: -1, Rewriter: "rw", CallKey: "k2"},
		{QueryID: "10", Attempt: 0, Item: 0, Text: "Ünïcode rewrite, answer 42", Status: record.RewriteRejected, Reason: "answer_leak", VariantID: -1, VerifierVerdict: record.VerdictNo, Rewriter: "rw", CallKey: "k3"},
		{QueryID: "q-a", Attempt: 0, Item: 0, Text: "Kept", Status: record.RewriteKept, VariantID: 0, Rewriter: "rw", CallKey: "k4"},
	}
}
