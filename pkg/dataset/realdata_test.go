package dataset

import (
	"strconv"
	"strings"
	"testing"

	"github.com/darslabs/dars/internal/refdata"
)

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
		for _, d := range []refdata.Copy{refdata.Slice(), refdata.Full()} {
			t.Run(tt.name+"/"+d.Name, func(t *testing.T) {
				path := d.Path(t, tt.file)
				qs, err := Load(path, Options{Preset: tt.preset})
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if want := tt.rows[d.Name]; len(qs) != want {
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
	path := refdata.ForBench(b, rel).Path(b, rel)
	for b.Loop() {
		if _, err := Load(path, Options{Preset: PresetMMLU}); err != nil {
			b.Fatal(err)
		}
	}
}
