package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// writeParquet writes rows (a JSON array) with schema to a Parquet file in
// a temp dir, in row groups of rowGroup rows, and returns its path.
func writeParquet(t *testing.T, name string, schema *arrow.Schema, rows string, rowGroup int64) string {
	t.Helper()
	mem := memory.NewGoAllocator()
	rec, _, err := array.RecordFromJSON(mem, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatalf("build record: %v", err)
	}
	defer rec.Release()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatalf("new parquet writer: %v", err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatalf("write parquet: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close parquet writer: %v", err)
	}
	return path
}

func TestLoadParquet(t *testing.T) {
	choice := arrow.StructOf(
		arrow.Field{Name: "text", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String},
	)
	arcSchema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "question", Type: arrow.StructOf(
			arrow.Field{Name: "stem", Type: arrow.BinaryTypes.String},
			arrow.Field{Name: "choices", Type: arrow.ListOf(choice)},
		)},
		{Name: "answerKey", Type: arrow.BinaryTypes.String},
	}, nil)
	plainSchema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "question", Type: arrow.BinaryTypes.String},
		{Name: "answer", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "weight", Type: arrow.PrimitiveTypes.Float64},
		{Name: "level", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "variants", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	mmluSchema := arrow.NewSchema([]arrow.Field{
		{Name: "question", Type: arrow.BinaryTypes.String},
		{Name: "subject", Type: arrow.BinaryTypes.String},
		{Name: "choices", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "answer", Type: arrow.PrimitiveTypes.Int64},
	}, nil)

	tests := []struct {
		name   string
		schema *arrow.Schema
		rows   string
		opts   Options
		want   []Query
	}{
		{
			name:   "arc with struct columns",
			schema: arcSchema,
			rows: `[
				{"id": "a1", "question": {"stem": "Which is hot?", "choices": [{"text": "ice", "label": "2"}, {"text": "fire", "label": "1"}]}, "answerKey": "1"},
				{"id": "a2", "question": {"stem": "Which is wet?", "choices": [{"text": "sand", "label": "A"}, {"text": "water", "label": "B"}]}, "answerKey": "B"}
			]`,
			opts: Options{Preset: PresetARC},
			want: []Query{
				{ID: "a1", Question: "Which is hot?", Choices: []string{"fire", "ice"}, Answer: "A", Answers: []string{"A"}, Line: 1},
				{ID: "a2", Question: "Which is wet?", Choices: []string{"sand", "water"}, Answer: "B", Answers: []string{"B"}, Line: 2},
			},
		},
		{
			name:   "plain with numbers and lists across row groups",
			schema: plainSchema,
			rows: `[
				{"id": 10, "question": "One?", "answer": ["1", "one"], "weight": 0.5, "level": 3, "variants": ["Say one."]},
				{"id": 11, "question": "Two?", "answer": null, "weight": 1, "level": null, "variants": null},
				{"id": 12, "question": "Three?", "answer": [], "weight": 2.25, "level": 1, "variants": []}
			]`,
			opts: Options{Fields: Fields{Task: "level"}},
			want: []Query{
				{ID: "10", Question: "One?", Answer: "1", Answers: []string{"1", "one"}, Task: "3", Variants: []string{"Say one."}, Line: 1},
				{ID: "11", Question: "Two?", Line: 2},
				{ID: "12", Question: "Three?", Task: "1", Line: 3},
			},
		},
		{
			name:   "mmlu as exported by Hugging Face",
			schema: mmluSchema,
			rows: `[
				{"question": "2+2?", "subject": "arithmetic", "choices": ["3", "4", "5", "6"], "answer": 1},
				{"question": "3+3?", "subject": "arithmetic", "choices": ["6", "7", "8", "9"], "answer": 0}
			]`,
			opts: Options{Preset: PresetMMLU, Limit: 1},
			want: []Query{
				{ID: "1", Question: "2+2?", Choices: []string{"3", "4", "5", "6"}, Answer: "B", Answers: []string{"B"}, Task: "arithmetic", Line: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeParquet(t, "data.parquet", tt.schema, tt.rows, 2)
			got, err := Load(path, tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(withoutFields(got), tt.want) {
				t.Errorf("Load:\n got %+v\nwant %+v", withoutFields(got), tt.want)
			}
		})
	}
}

func TestLoadParquetRawFields(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "question", Type: arrow.BinaryTypes.String},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32},
		{Name: "tests", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil)
	path := writeParquet(t, "raw.parquet", schema, `[{"question": "q", "n": 5, "tests": ["assert f()"]}]`, 10)
	qs, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"question": "q", "n": int64(5), "tests": []any{"assert f()"}}
	if !reflect.DeepEqual(qs[0].Fields, want) {
		t.Errorf("Fields = %#v, want %#v", qs[0].Fields, want)
	}
}

func TestLoadParquetErrors(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "question", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "meta", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64})},
	}, nil)
	tests := []struct {
		name string
		rows string
		opts Options
		want string
	}{
		{"missing question", `[{"id": "a", "question": "q", "meta": {"x": 1}}, {"id": "b", "question": null, "meta": {"x": 1}}]`, Options{}, `:2: field "question": missing`},
		{"duplicate id", `[{"id": "a", "question": "q", "meta": {"x": 1}}, {"id": "b", "question": "r", "meta": {"x": 1}}, {"id": "a", "question": "s", "meta": {"x": 1}}]`, Options{}, `:3: duplicate id "a" (first at line 1)`},
		{"answer of wrong type", `[{"id": "a", "question": "q", "meta": {"x": 1}}]`, Options{Fields: Fields{Answer: "meta"}}, `:1: field "meta": want a string or number, got object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeParquet(t, "bad.parquet", schema, tt.rows, 10)
			_, err := Load(path, tt.opts)
			if err == nil || !strings.Contains(err.Error(), path+tt.want) {
				t.Errorf("Load error = %v, want one containing %q", err, path+tt.want)
			}
		})
	}
}
