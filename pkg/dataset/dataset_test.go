package dataset

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withoutFields drops the raw rows so tests compare the mapped parts.
func withoutFields(qs []Query) []Query {
	out := make([]Query, len(qs))
	for i, q := range qs {
		q.Fields = nil
		out[i] = q
	}
	return out
}

func TestLoadPresets(t *testing.T) {
	tests := []struct {
		name string
		file string
		opts Options
		want []Query
	}{
		{
			name: "plain jsonl",
			file: "plain.jsonl",
			want: []Query{
				{ID: "q1", Question: "What is 2+2?", Answer: "4", Answers: []string{"4"}, Task: "math", Line: 1},
				{ID: "7", Question: "Name a primary colour.", Answer: "red", Answers: []string{"red", "blue", "yellow"}, Context: "Painters mix colours.", Line: 3},
				{ID: "q3", Question: "Which is a mammal?", Choices: []string{"shark", "whale"}, Answer: "B", Answers: []string{"B"}, Line: 4},
				{ID: "q4", Question: "Pick the even number.", Choices: []string{"3", "4", "5"}, Answer: "B", Answers: []string{"B"},
					Variants: []string{"Which number is even?", "Choose the even one."}, Line: 5},
			},
		},
		{
			name: "gsm8k",
			file: "gsm8k.jsonl",
			opts: Options{Preset: PresetGSM8K},
			want: []Query{
				{ID: "1", Question: "A farm has 1,200 hens and buys 34 more. How many hens?", Answer: "1234", Answers: []string{"1234"}, Line: 1},
				{ID: "2", Question: "Tom has 3 apples and eats 1. How many are left?", Answer: "2", Answers: []string{"2"}, Line: 2},
				{ID: "3", Question: "What is half of 5?", Answer: "2.5", Answers: []string{"2.5"}, Line: 3},
			},
		},
		{
			name: "mmlu with header",
			file: "mmlu.csv",
			opts: Options{Preset: PresetMMLU},
			want: []Query{
				{ID: "1", Question: "Which planet is largest?", Choices: []string{"Mars", "Jupiter", "Venus", "Earth"}, Answer: "B", Answers: []string{"B"}, Task: "astronomy", Line: 2},
				{ID: "2", Question: "What is the Sun?", Choices: []string{"A planet", "A star", "A moon", "A comet"}, Answer: "B", Answers: []string{"B"}, Task: "astronomy", Line: 3},
				{ID: "3", Question: "How many chambers has the human heart?\n(Answer with a number.)", Choices: []string{"2", "3", "4", "5, maybe"}, Answer: "C", Answers: []string{"C"}, Task: "anatomy", Line: 4},
			},
		},
		{
			name: "mmlu without header",
			file: "astronomy_test.csv",
			opts: Options{Preset: PresetMMLU},
			want: []Query{
				{ID: "1", Question: "Which planet is largest?", Choices: []string{"Mars", "Jupiter", "Venus", "Earth"}, Answer: "B", Answers: []string{"B"}, Task: "astronomy", Line: 1},
				{ID: "2", Question: "What is the Sun?", Choices: []string{"A planet", "A star", "A moon", "A comet"}, Answer: "B", Answers: []string{"B"}, Task: "astronomy", Line: 2},
			},
		},
		{
			name: "arc",
			file: "arc.jsonl",
			opts: Options{Preset: PresetARC},
			want: []Query{
				{ID: "Mercury_1", Question: "Which is a source of light?", Choices: []string{"the Moon", "the Sun", "a mirror", "a rock"}, Answer: "B", Answers: []string{"B"}, Line: 1},
				{ID: "NYSEDREGENTS_2", Question: "Which unit measures mass?", Choices: []string{"metre", "litre", "gram", "second"}, Answer: "C", Answers: []string{"C"}, Line: 2},
				{ID: "Mercury_3", Question: "Which gas do plants take in?", Choices: []string{"carbon dioxide", "oxygen", "neon", "argon", "helium"}, Answer: "E", Answers: []string{"E"}, Line: 3},
			},
		},
		{
			name: "triviaqa",
			file: "triviaqa.jsonl",
			opts: Options{Preset: PresetTriviaQA},
			want: []Query{
				{ID: "tqa_1", Question: "Who wrote Hamlet?", Answer: "William Shakespeare", Answers: []string{"William Shakespeare", "Shakespeare"}, Line: 1},
				{ID: "tqa_2", Question: "What is the capital of France?", Answer: "Paris", Answers: []string{"Paris"}, Line: 2},
			},
		},
		{
			name: "humaneval",
			file: "humaneval.jsonl",
			opts: Options{Preset: PresetHumanEval},
			want: []Query{
				{ID: "HumanEval/0", Question: "def add(a: int, b: int) -> int:\n    \"\"\"Return a + b.\n    >>> add(2, 3)\n    5\n    \"\"\"\n", Line: 1},
				{ID: "HumanEval/1", Question: "def first(xs: list):\n    \"\"\"Return the first item, or None for an empty list.\"\"\"\n", Line: 2},
			},
		},
		{
			name: "mbpp, sanitized and original",
			file: "mbpp.json",
			opts: Options{Preset: PresetMBPP},
			want: []Query{
				{
					ID: "2", Question: "Write a function to find the shared elements from the given two lists.", Line: 2,
					Context: "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\nassert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))",
				},
				{ID: "11", Question: "Write a python function to find the square root of a number, rounded down.", Context: "assert isqrt(17) == 4", Line: 10},
			},
		},
		{
			name: "plain csv with a JSON list cell",
			file: "plain.csv",
			want: []Query{
				{ID: "c1", Question: "Is water wet?", Answer: "yes", Answers: []string{"yes"}, Variants: []string{"Would you call water wet?"}, Line: 2},
				{ID: "c2", Question: "Count the legs of a spider.", Answer: "8", Answers: []string{"8"}, Context: "Spiders are arachnids.", Line: 3},
			},
		},
		{
			name: "json array",
			file: "plain.json",
			want: []Query{
				{ID: "a", Question: "First?", Answer: "1", Answers: []string{"1"}, Line: 2},
				{ID: "b", Question: "Second?", Answer: "2", Answers: []string{"2"}, Line: 4},
			},
		},
		{
			name: "csv with a BOM",
			file: "bom.csv",
			want: []Query{{ID: "b1", Question: "Does a BOM break the header?", Line: 2}},
		},
		{
			name: "fields override the preset",
			file: "triviaqa.jsonl",
			opts: Options{Preset: PresetTriviaQA, Fields: Fields{ID: "question", Question: "id"}},
			want: []Query{
				{ID: "Who wrote Hamlet?", Question: "tqa_1", Answer: "William Shakespeare", Answers: []string{"William Shakespeare", "Shakespeare"}, Line: 1},
				{ID: "What is the capital of France?", Question: "tqa_2", Answer: "Paris", Answers: []string{"Paris"}, Line: 2},
			},
		},
		{
			name: "limit",
			file: "gsm8k.jsonl",
			opts: Options{Preset: PresetGSM8K, Limit: 2},
			want: []Query{
				{ID: "1", Question: "A farm has 1,200 hens and buys 34 more. How many hens?", Answer: "1234", Answers: []string{"1234"}, Line: 1},
				{ID: "2", Question: "Tom has 3 apples and eats 1. How many are left?", Answer: "2", Answers: []string{"2"}, Line: 2},
			},
		},
		{
			name: "limit beyond the file",
			file: "triviaqa.jsonl",
			opts: Options{Preset: PresetTriviaQA, Limit: 10},
			want: []Query{
				{ID: "tqa_1", Question: "Who wrote Hamlet?", Answer: "William Shakespeare", Answers: []string{"William Shakespeare", "Shakespeare"}, Line: 1},
				{ID: "tqa_2", Question: "What is the capital of France?", Answer: "Paris", Answers: []string{"Paris"}, Line: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", tt.file), tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(withoutFields(got), tt.want) {
				t.Errorf("Load:\n got %+v\nwant %+v", withoutFields(got), tt.want)
			}
			for _, q := range got {
				if q.Fields == nil {
					t.Errorf("query %q: Fields is nil", q.ID)
				}
			}
		})
	}
}

func TestLoadKeepsRawFields(t *testing.T) {
	qs, err := Load(filepath.Join("testdata", "plain.jsonl"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := qs[0].Fields["answer"]; got != int64(4) {
		t.Errorf("Fields[answer] = %#v, want int64(4)", got)
	}
	if got := qs[0].Fields["task"]; got != "math" {
		t.Errorf("Fields[task] = %#v, want \"math\"", got)
	}
	mm, err := Load(filepath.Join("testdata", "astronomy_test.csv"), Options{Preset: PresetMMLU})
	if err != nil {
		t.Fatal(err)
	}
	if got := mm[0].Fields["subject"]; got != "astronomy" {
		t.Errorf("header-less MMLU Fields[subject] = %#v, want \"astronomy\"", got)
	}
}

// TestLoadDropRaw keeps the mapped parts and drops only the raw rows.
func TestLoadDropRaw(t *testing.T) {
	path := filepath.Join("testdata", "plain.jsonl")
	kept, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := Load(path, Options{DropRaw: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range dropped {
		if q.Fields != nil {
			t.Fatalf("query %s keeps its raw row", q.ID)
		}
	}
	if !reflect.DeepEqual(withoutFields(kept), dropped) {
		t.Errorf("DropRaw changed the mapped queries:\n%+v\n%+v", withoutFields(kept), dropped)
	}
}

func TestLoadGzip(t *testing.T) {
	for _, name := range []string{"triviaqa.jsonl", "mmlu.csv"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join("testdata", name)
			plain, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			gzPath := filepath.Join(t.TempDir(), name+".gz")
			f, err := os.Create(gzPath)
			if err != nil {
				t.Fatal(err)
			}
			zw := gzip.NewWriter(f)
			if _, err := zw.Write(plain); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			preset := PresetTriviaQA
			if strings.HasSuffix(name, ".csv") {
				preset = PresetMMLU
			}
			want, err := Load(src, Options{Preset: preset})
			if err != nil {
				t.Fatal(err)
			}
			got, err := Load(gzPath, Options{Preset: preset})
			if err != nil {
				t.Fatalf("Load gzip: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("gzip read differs:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadExplicitFormat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queries.txt")
	if err := os.WriteFile(path, []byte(`{"question":"Why?"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, Options{}); err == nil || !strings.Contains(err.Error(), `".txt"`) {
		t.Errorf("Load without a format: err = %v, want one naming the extension", err)
	}
	qs, err := Load(path, Options{Format: FormatJSONL})
	if err != nil {
		t.Fatalf("Load with format jsonl: %v", err)
	}
	if len(qs) != 1 || qs[0].ID != "1" || qs[0].Question != "Why?" {
		t.Errorf("Load = %+v", withoutFields(qs))
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		file    string // written with content into a temp dir
		content string
		opts    Options
		want    []string // substrings of the error after the file name
	}{
		{"malformed JSON", "data.jsonl", "{\"question\":\"a\"}\n{\"question\":\n", Options{}, []string{"data.jsonl:2: malformed JSON"}},
		{"trailing data", "data.jsonl", "{\"question\":\"a\"} x\n", Options{}, []string{"data.jsonl:1: malformed JSON"}},
		{"not an object", "data.jsonl", "[1, 2]\n", Options{Format: FormatJSONL, Preset: PresetPlain}, []string{"data.jsonl:1: malformed JSON: want an object, got number"}},
		{"line not an object", "data.jsonl", "{\"question\":\"a\"}\n\"b\"\n", Options{}, []string{"data.jsonl:2: malformed JSON: want an object, got string"}},
		{"missing question", "data.jsonl", "{\"question\":\"a\"}\n\n{\"q\":\"b\"}\n", Options{}, []string{`data.jsonl:3: field "question": missing`}},
		{"null question", "data.jsonl", "{\"question\":null}\n", Options{}, []string{`data.jsonl:1: field "question": missing`}},
		{"empty question", "data.jsonl", "{\"question\":\"  \"}\n", Options{}, []string{`data.jsonl:1: field "question": empty`}},
		{"question of wrong type", "data.jsonl", "{\"question\":{\"a\":1}}\n", Options{}, []string{`data.jsonl:1: field "question": want a string or number, got object`}},
		{"answer of wrong type", "data.jsonl", "{\"question\":\"a\",\"answer\":{\"x\":1}}\n", Options{}, []string{`data.jsonl:1: field "answer": want a string or number, got object`}},
		{"answer list item of wrong type", "data.jsonl", "{\"question\":\"a\",\"answer\":[\"x\",[1]]}\n", Options{}, []string{`data.jsonl:1: field "answer": answer 2: want a string or number, got list`}},
		{"duplicate id", "data.jsonl", "{\"id\":\"q1\",\"question\":\"a\"}\n{\"id\":\"q7\",\"question\":\"b\"}\n{\"id\":\"q7\",\"question\":\"c\"}\n", Options{}, []string{`data.jsonl:3: duplicate id "q7" (first at line 2)`}},
		{"duplicate id with a row number", "data.jsonl", "{\"question\":\"a\"}\n{\"id\":\"1\",\"question\":\"b\"}\n", Options{}, []string{`data.jsonl:2: duplicate id "1" (first at line 1)`}},
		{"empty id", "data.jsonl", "{\"id\":\"\",\"question\":\"a\"}\n", Options{}, []string{`data.jsonl:1: field "id": empty`}},
		{"id of wrong type", "data.jsonl", "{\"id\":[1],\"question\":\"a\"}\n", Options{}, []string{`data.jsonl:1: field "id": want a string or number, got list`}},
		{"explicit field missing", "data.jsonl", "{\"question\":\"a\",\"gold\":\"1\"}\n{\"question\":\"b\"}\n", Options{Fields: Fields{Answer: "gold"}}, []string{`data.jsonl:2: field "gold": missing`}},
		{"empty file", "data.jsonl", "", Options{}, []string{"data.jsonl: no queries"}},
		{"blank file", "data.jsonl", "\n\n  \n", Options{}, []string{"data.jsonl: no queries"}},
		{"empty variant", "data.jsonl", "{\"question\":\"a\",\"variants\":[\"b\",\" \"]}\n", Options{}, []string{`data.jsonl:1: field "variants": variant 2 is empty`}},
		{"variant copies the question", "data.jsonl", "{\"question\":\"Why?\",\"variants\":[\"Why?\"]}\n", Options{}, []string{`data.jsonl:1: field "variants": variant 1 is a copy of the question`}},
		{"variants not a list", "data.jsonl", "{\"question\":\"a\",\"variants\":\"b\"}\n", Options{}, []string{`data.jsonl:1: field "variants": want a list, got string`}},
		{"choice without text", "data.jsonl", "{\"question\":\"a\",\"choices\":[{\"label\":\"A\"}]}\n", Options{}, []string{`data.jsonl:1: field "choices": choice 1: no "text"`}},
		{"duplicate choice label", "data.jsonl", "{\"question\":\"a\",\"choices\":[{\"text\":\"x\",\"label\":\"A\"},{\"text\":\"y\",\"label\":\"A\"}]}\n", Options{}, []string{`data.jsonl:1: field "choices": duplicate choice label "A"`}},
		{"gsm8k missing question", "test.jsonl", "{\"answer\":\"#### 1\"}\n", Options{Preset: PresetGSM8K}, []string{`test.jsonl:1: field "question": missing`}},
		{"arc answer not a label", "arc.jsonl", `{"id":"x","question":{"stem":"s","choices":[{"text":"a","label":"A"},{"text":"b","label":"B"}]},"answerKey":"F"}` + "\n", Options{Preset: PresetARC}, []string{`arc.jsonl:1: field "answerKey": "F" is not a choice label`}},
		{"arc missing choices", "arc.jsonl", `{"id":"x","question":{"stem":"s"},"answerKey":"A"}` + "\n", Options{Preset: PresetARC}, []string{`arc.jsonl:1: field "question.choices": missing`}},
		{"arc missing stem", "arc.jsonl", `{"id":"x","question":"s","answerKey":"A"}` + "\n", Options{Preset: PresetARC}, []string{`arc.jsonl:1: field "question.stem": missing`}},
		{"mmlu bad answer", "mmlu.csv", "question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,7\n", Options{Preset: PresetMMLU}, []string{`mmlu.csv:2: field "answer": want a choice index 0-3 or a letter A-D, got "7"`}},
		{"mmlu missing choice column", "mmlu.csv", "question,choice0,choice1,answer\nq,a,b,0\n", Options{Preset: PresetMMLU}, []string{`mmlu.csv:1: field "choices|choice0,choice1,choice2,choice3": missing column (columns: question, choice0, choice1, answer)`}},
		{"csv missing question column", "data.csv", "id,text\n1,hello\n", Options{}, []string{`data.csv:1: field "question": missing column (columns: id, text)`}},
		{"csv missing explicit column", "data.csv", "id,question\n1,hello\n", Options{Fields: Fields{Context: "passage"}}, []string{`data.csv:1: field "passage": missing column`}},
		{"csv wrong number of fields", "data.csv", "id,question\n1,hello\n2,hi,extra\n", Options{}, []string{"data.csv:3: malformed CSV: wrong number of fields"}},
		{"csv bad quote", "data.csv", "id,question\n1,\"hel\"lo\"\n", Options{}, []string{"data.csv:2: malformed CSV"}},
		{"csv empty question", "data.csv", "id,question\n1,hello\n2,\n", Options{}, []string{`data.csv:3: field "question": empty`}},
		{"csv duplicate column", "data.csv", "id,question,id\n1,hello,2\n", Options{}, []string{`data.csv:1: duplicate column "id"`}},
		{"csv only a header", "data.csv", "id,question\n", Options{}, []string{"data.csv: no queries"}},
		{"csv bad variants cell", "data.csv", "question,variants\nhello,\"[\"\"x\"\"\"\n", Options{}, []string{`data.csv:2: field "variants": want a list, got a string that is not a JSON list`}},
		{"json array element not an object", "data.json", "[\n{\"question\":\"a\"},\n 3\n]", Options{}, []string{"data.json:3: malformed JSON: want an object, got number"}},
		{"json array truncated", "data.json", "[\n{\"question\":\"a\"},\n", Options{}, []string{"data.json:", "malformed JSON"}},
		{"mbpp test not a string", "mbpp.json", "[\n{\"task_id\":1,\"prompt\":\"p\",\"test_list\":[\"assert f()\"]},\n{\"task_id\":2,\"prompt\":\"p\",\"test_list\":[\"assert f()\",[1]]}\n]", Options{Preset: PresetMBPP}, []string{`mbpp.json:3: field "test_list": item 2: want a string or number, got list`}},
		{"humaneval missing prompt", "HumanEval.jsonl", "{\"task_id\":\"HumanEval/0\",\"test\":\"\"}\n", Options{Preset: PresetHumanEval}, []string{`HumanEval.jsonl:1: field "prompt": missing`}},
		{"unknown preset", "data.jsonl", "{\"question\":\"a\"}\n", Options{Preset: "squad"}, []string{`unknown preset "squad"`, "data.jsonl"}},
		{"unknown format", "data.jsonl", "{\"question\":\"a\"}\n", Options{Format: "xml"}, []string{`unknown format "xml"`, "data.jsonl"}},
		{"negative limit", "data.jsonl", "{\"question\":\"a\"}\n", Options{Limit: -1}, []string{"limit -1"}},
		{"not gzip", "data.jsonl.gz", "{\"question\":\"a\"}\n", Options{}, []string{"data.jsonl.gz: read gzip"}},
		{"not parquet", "data.parquet", "PAR1 but not really", Options{}, []string{"data.parquet: read parquet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			qs, err := Load(path, tt.opts)
			if err == nil {
				t.Fatalf("Load = %+v, want an error", withoutFields(qs))
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file %q", msg, path)
			}
		})
	}
}

func TestLoadErrorIsInputError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.jsonl")
	if err := os.WriteFile(path, []byte("{\"question\":\"a\"}\n{\"question\":7,\"answer\":true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, Options{})
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("Load error %v (%T) is not an *InputError", err, err)
	}
	if ie.Path != path || ie.Line != 2 || ie.Field != "answer" {
		t.Errorf("InputError = {Path:%q Line:%d Field:%q}, want {%q 2 \"answer\"}", ie.Path, ie.Line, ie.Field, path)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.jsonl")
	_, err := Load(path, Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load error %v, want one wrapping os.ErrNotExist", err)
	}
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load error %v does not name %q", err, path)
	}
}

func TestLoadLongLine(t *testing.T) {
	long := strings.Repeat("word ", 100_000) // 500 KB, far past bufio.Scanner's default
	path := filepath.Join(t.TempDir(), "long.jsonl")
	content := `{"question":"short"}` + "\n" + `{"question":"` + long + `"}` + "\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[1].Question != long || qs[1].Line != 2 {
		t.Errorf("long line: got %d queries, line %d", len(qs), qs[len(qs)-1].Line)
	}
}

func TestNormaliseGSM8K(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2 + 2 = 4\n#### 4", "4"},
		{"#### 1,234,567", "1234567"},
		{"a #### 3 #### -7.5 ", "-7.5"},
		{"42", "42"},
		{"####", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := normaliseGSM8K(tt.in); got != tt.want {
				t.Errorf("normaliseGSM8K(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormaliseChoiceIndex(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		want    string
		wantErr bool
	}{
		{"0", 4, "A", false},
		{"3", 4, "D", false},
		{"4", 4, "", true},
		{"4", 5, "E", false},
		{"b", 4, "B", false},
		{"D", 4, "D", false},
		{"E", 4, "", true},
		{"12", 13, "M", false},
		{"", 4, "", true},
		{"1", 0, "B", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normaliseChoiceIndex(tt.in, tt.n)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("normaliseChoiceIndex(%q, %d) = %q, %v; want %q, error %v", tt.in, tt.n, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
