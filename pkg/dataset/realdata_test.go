package dataset

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// refData is one copy of the reference benchmark files (GSM8K, MMLU, ARC,
// TriviaQA, HumanEval, MBPP under their upstream names). The slice, a few
// dozen rows per set in the repository's testdata/data (see
// testdata/README.md), is always there, so the real-data tests run on every
// clone; the full sets beside the repository (../shared/data, or
// $DARS_SHARED_DATA) are read too when present.
type refData struct {
	name string // "slice" or "full": the subtest's name
	dir  string
}

var sliceData = refData{name: "slice", dir: filepath.Join("..", "..", "testdata", "data")}

// fullData returns the full sets' copy: $DARS_SHARED_DATA when set (a
// missing directory hides them), else ../shared/data beside the repository.
func fullData() refData {
	dir := os.Getenv("DARS_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	return refData{name: "full", dir: dir}
}

// path returns rel's path in d. A file missing from the slice fails t; one
// missing from the full sets skips it.
func (d refData) path(t testing.TB, rel string) string {
	t.Helper()
	path := filepath.Join(d.dir, rel)
	if _, err := os.Stat(path); err != nil {
		if d.name == "full" {
			t.Skipf("full set not available (set DARS_SHARED_DATA to its folder): %v", err)
		}
		t.Fatalf("slice missing from the repository: %v", err)
	}
	return path
}

func TestLoadRealData(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		preset string
		rows   map[string]int // by copy: slice, full
		check  func(t *testing.T, q Query)
	}{
		{
			name: "gsm8k", file: "gsm8k/test.jsonl", preset: PresetGSM8K, rows: map[string]int{"slice": 29, "full": 1319},
			check: func(t *testing.T, q Query) {
				if _, err := strconv.ParseFloat(q.Answer, 64); err != nil {
					t.Errorf("query %s (line %d): answer %q is not a number", q.ID, q.Line, q.Answer)
				}
			},
		},
		{
			name: "mmlu", file: "mmlu/test.csv", preset: PresetMMLU, rows: map[string]int{"slice": 32, "full": 14042},
			check: func(t *testing.T, q Query) {
				if len(q.Choices) != 4 || len(q.Answer) != 1 || q.Answer < "A" || q.Answer > "D" || q.Task == "" {
					t.Errorf("query %s (line %d): choices %d, answer %q, task %q", q.ID, q.Line, len(q.Choices), q.Answer, q.Task)
				}
			},
		},
		{
			name: "arc", file: "arc/ARC-Challenge-Test.jsonl", preset: PresetARC, rows: map[string]int{"slice": 29, "full": 1172},
			check: func(t *testing.T, q Query) {
				if len(q.Answer) != 1 || q.Answer < "A" || q.Answer > "E" || int(q.Answer[0]-'A') >= len(q.Choices) {
					t.Errorf("query %s (line %d): answer %q with %d choices", q.ID, q.Line, q.Answer, len(q.Choices))
				}
			},
		},
		{
			name: "triviaqa", file: "triviaqa/test_subsample_1000.jsonl", preset: PresetTriviaQA, rows: map[string]int{"slice": 24, "full": 1000},
			check: func(t *testing.T, q Query) {
				if q.Answer == "" || len(q.Answers) == 0 || q.Answers[0] != q.Answer {
					t.Errorf("query %s (line %d): answer %q, answers %q", q.ID, q.Line, q.Answer, q.Answers)
				}
			},
		},
		{
			name: "humaneval", file: "humaneval/HumanEval.jsonl.gz", preset: PresetHumanEval, rows: map[string]int{"slice": 16, "full": 164},
			check: func(t *testing.T, q Query) {
				if q.Answer != "" || q.Fields["test"] == nil || q.Fields["entry_point"] == nil {
					t.Errorf("query %s (line %d): answer %q, fields %v", q.ID, q.Line, q.Answer, q.Fields)
				}
			},
		},
		{
			name: "mbpp", file: "mbpp/sanitized-mbpp.json", preset: PresetMBPP, rows: map[string]int{"slice": 17, "full": 427},
			check: func(t *testing.T, q Query) {
				if !strings.HasPrefix(q.Context, "assert") || q.Fields["test_list"] == nil {
					t.Errorf("query %s (line %d): context %q", q.ID, q.Line, q.Context)
				}
			},
		},
	}
	for _, tt := range tests {
		for _, d := range []refData{sliceData, fullData()} {
			t.Run(tt.name+"/"+d.name, func(t *testing.T) {
				path := d.path(t, tt.file)
				qs, err := Load(path, Options{Preset: tt.preset})
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if want := tt.rows[d.name]; len(qs) != want {
					t.Errorf("Load: %d queries, want %d", len(qs), want)
				}
				for _, q := range qs {
					if q.ID == "" || q.Question == "" || q.Line < 1 {
						t.Errorf("query %+v: empty id, question or line", q)
					}
					tt.check(t, q)
				}
				limited, err := Load(path, Options{Preset: tt.preset, Limit: 10})
				if err != nil {
					t.Fatalf("Load with limit: %v", err)
				}
				if len(limited) != 10 || limited[9].ID != qs[9].ID {
					t.Errorf("Load with limit 10: %d queries", len(limited))
				}
			})
		}
	}
}

// BenchmarkLoadMMLU loads the full MMLU test set when present, else its
// slice.
func BenchmarkLoadMMLU(b *testing.B) {
	const rel = "mmlu/test.csv"
	d := fullData()
	if _, err := os.Stat(filepath.Join(d.dir, rel)); err != nil {
		b.Logf("full set not available, benchmarking the slice: %v", err)
		d = sliceData
	}
	path := d.path(b, rel)
	for b.Loop() {
		if _, err := Load(path, Options{Preset: PresetMMLU}); err != nil {
			b.Fatal(err)
		}
	}
}
