package dataset

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/darslabs/dars/pkg/problem"
)

// b64 encodes s for a binary column of array.RecordFromJSON.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestLoadRepairsInvalidUTF8 checks that every text part of a query that
// reaches an output is valid UTF-8 whatever the file holds: invalid bytes
// become U+FFFD, and the report counts the fields repaired.
func TestLoadRepairsInvalidUTF8(t *testing.T) {
	want := []Query{
		{
			ID: "q1", Question: "caf\uFFFD?", Answer: "\uFFFD4", Answers: []string{"\uFFFD4", "x"},
			Choices: []string{"a\uFFFD", "b"}, Context: "ctx\uFFFD", Task: "t\uFFFD", Variants: []string{"v\uFFFD"},
		},
		{ID: "q2", Question: "clean", Answer: "1", Answers: []string{"1"}},
	}
	wantReport := func(path string, first int) Report {
		return Report{Path: path, Repaired: 6, RepairedRows: 1, FirstLine: first, FirstField: "question"}
	}
	parquetSchema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "question", Type: arrow.BinaryTypes.Binary},
		{Name: "answer", Type: arrow.ListOf(arrow.BinaryTypes.Binary)},
		{Name: "choices", Type: arrow.ListOf(arrow.BinaryTypes.Binary)},
		{Name: "context", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "task", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "variants", Type: arrow.ListOf(arrow.BinaryTypes.Binary), Nullable: true},
	}, nil)
	parquetRows := `[
		{"id": "q1", "question": "` + b64("caf\xe9?") + `", "answer": ["` + b64("\xff4") + `", "` + b64("x") + `"],
		 "choices": ["` + b64("a\xff\xfe") + `", "` + b64("b") + `"], "context": "` + b64("ctx\xfe") + `",
		 "task": "` + b64("t\xff") + `", "variants": ["` + b64("v\xc3") + `"]},
		{"id": "q2", "question": "` + b64("clean") + `", "answer": ["` + b64("1") + `"], "choices": [], "context": null, "task": null, "variants": null}
	]`

	tests := []struct {
		name    string
		file    string
		content string   // written as is; "" for the parquet case
		lines   []int    // Line of each wanted query
		answers []string // Answers of the first query when not as in want (a CSV cell holds one answer)
	}{
		{
			name: "csv",
			file: "data.csv",
			content: "id,question,answer,choices,context,task,variants\n" +
				"q1,caf\xe9?,\xff4,\"[\"\"a\xff\xfe\"\",\"\"b\"\"]\",ctx\xfe,t\xff,\"[\"\"v\xc3\"\"]\"\n" +
				"q2,clean,1,,,,\n",
			lines:   []int{2, 3},
			answers: []string{"\uFFFD4"},
		},
		{
			name: "jsonl",
			file: "data.jsonl",
			content: "{\"id\":\"q1\",\"question\":\"caf\xe9?\",\"answer\":[\"\xff4\",\"x\"],\"choices\":[\"a\xff\xfe\",\"b\"]," +
				"\"context\":\"ctx\xfe\",\"task\":\"t\xff\",\"variants\":[\"v\xc3\"]}\n" +
				"{\"id\":\"q2\",\"question\":\"clean\",\"answer\":1}\n",
			lines: []int{1, 2},
		},
		{
			name: "json array",
			file: "data.json",
			content: "[\n{\"id\":\"q1\",\"question\":\"caf\xe9?\",\"answer\":[\"\xff4\",\"x\"],\"choices\":[\"a\xff\xfe\",\"b\"]," +
				"\"context\":\"ctx\xfe\",\"task\":\"t\xff\",\"variants\":[\"v\xc3\"]},\n" +
				"{\"id\":\"q2\",\"question\":\"clean\",\"answer\":1}\n]\n",
			lines: []int{2, 3},
		},
		{name: "parquet", file: "data.parquet", lines: []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			if tt.content == "" {
				path = writeParquet(t, tt.file, parquetSchema, parquetRows, 10)
			} else {
				path = filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, rep, err := LoadWithReport(path, Options{})
			if err != nil {
				t.Fatalf("LoadWithReport: %v", err)
			}
			w := make([]Query, len(want))
			for i, q := range want {
				q.Line = tt.lines[i]
				if i == 0 && tt.answers != nil {
					q.Answers = tt.answers
				}
				w[i] = q
			}
			if !reflect.DeepEqual(withoutFields(got), w) {
				t.Errorf("queries:\n got %#v\nwant %#v", withoutFields(got), w)
			}
			if r := wantReport(path, tt.lines[0]); rep != r {
				t.Errorf("report = %+v, want %+v", rep, r)
			}
			for _, q := range got {
				checkRawRowUTF8(t, q.Fields)
			}
			wantWarn := fmt.Sprintf(`%s: replaced invalid UTF-8 with U+FFFD in 6 fields of 1 row (first at line %d, field "question")`, path, tt.lines[0])
			if got := rep.Warning(); got != wantWarn {
				t.Errorf("Warning() = %q, want %q", got, wantWarn)
			}
		})
	}
}

// checkRawRowUTF8 fails when a key or string of a raw row is not valid UTF-8.
func checkRawRowUTF8(t *testing.T, v any) {
	t.Helper()
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) || strings.Contains(x, invalidMark) {
			t.Errorf("raw row string %q is not repaired", x)
		}
	case []any:
		for _, it := range x {
			checkRawRowUTF8(t, it)
		}
	case map[string]any:
		for k, it := range x {
			checkRawRowUTF8(t, k)
			checkRawRowUTF8(t, it)
		}
	}
}

func TestLoadCleanDataReportsNothing(t *testing.T) {
	_, rep, err := LoadWithReport(filepath.Join("testdata", "plain.jsonl"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired != 0 || rep.RepairedRows != 0 || rep.Warning() != "" {
		t.Errorf("report = %+v, warning %q; want nothing repaired", rep, rep.Warning())
	}
}

// TestLoadKeepsValidReplacementChar: a U+FFFD already in the data is text,
// not a repair.
func TestLoadKeepsValidReplacementChar(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.jsonl")
	if err := os.WriteFile(path, []byte("{\"id\":\"\uFFFD\",\"question\":\"a \uFFFD b\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	qs, rep, err := LoadWithReport(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if qs[0].ID != "\uFFFD" || qs[0].Question != "a \uFFFD b" || rep.Repaired != 0 {
		t.Errorf("got %#v, report %+v", withoutFields(qs), rep)
	}
}

// TestLoadRejectsInvalidID: an id keys the rows of every output, so one
// that is not UTF-8 is an error naming the file, the row and the field,
// never repaired (two ids could become one).
func TestLoadRejectsInvalidID(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.Binary},
		{Name: "question", Type: arrow.BinaryTypes.String},
	}, nil)
	tests := []struct {
		name    string
		file    string
		content string
		opts    Options
		want    string // after the path
	}{
		{"csv", "data.csv", "id,question\nok,q\n\xff1,q\n", Options{}, `:3: field "id": not valid UTF-8`},
		{"jsonl", "data.jsonl", "{\"id\":\"ok\",\"question\":\"q\"}\n{\"id\":\"a\xff\",\"question\":\"q\"}\n", Options{}, `:2: field "id": not valid UTF-8`},
		{"json array", "data.json", "[{\"id\":\"ok\",\"question\":\"q\"},\n{\"id\":\"a\xff\",\"question\":\"q\"}]", Options{}, `:2: field "id": not valid UTF-8`},
		{"renamed id", "data.jsonl", "{\"key\":\"\xc3\",\"question\":\"q\"}\n", Options{Fields: Fields{ID: "key"}}, `:1: field "key": not valid UTF-8`},
		{"parquet binary id", "data.parquet", "", Options{}, `:2: field "id": not valid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			if tt.content == "" {
				rows := `[{"id": "` + b64("ok") + `", "question": "q"}, {"id": "` + b64("\x00\x9f\xff") + `", "question": "q"}]`
				path = writeParquet(t, tt.file, schema, rows, 10)
			} else {
				path = filepath.Join(t.TempDir(), tt.file)
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			qs, err := Load(path, tt.opts)
			if err == nil {
				t.Fatalf("Load = %#v, want an error", withoutFields(qs))
			}
			if !strings.Contains(err.Error(), path+tt.want) {
				t.Errorf("error %q does not contain %q", err, path+tt.want)
			}
			if !utf8.ValidString(err.Error()) {
				t.Errorf("error %q is not valid UTF-8 itself", err)
			}
			if !problem.IsInput(err) || len(problem.Hints(err)) == 0 {
				t.Errorf("error %v is not an input problem with a hint", err)
			}
		})
	}
}

// TestMarkInvalid checks the JSON pre-pass against encoding/json: the same
// documents are valid, and the decoded values are the same once each mark
// (a run of invalid bytes) and each run of U+FFFD (one per invalid byte in
// encoding/json) count as one replacement.
func TestMarkInvalid(t *testing.T) {
	for _, s := range []string{
		`{"a":"x` + "\xff\xfe" + `y","b":["` + "\xc3" + `"],"` + "k\xff" + `":1}`,
		`"` + "\\\"\xff\\\\" + `"`,
		`{"a":"ok"}`,
		"\xff{}",
		`{"a":"` + "\xe2\x82" + `"}`,
	} {
		checkMarkInvalid(t, []byte(s))
	}
}

func FuzzMarkInvalid(f *testing.F) {
	f.Add([]byte(`{"a":"x` + "\xff" + `"}`))
	f.Add([]byte(`["` + "\\u00e9\xe9\\\"" + `", 1]`))
	f.Fuzz(func(t *testing.T, data []byte) { checkMarkInvalid(t, data) })
}

func checkMarkInvalid(t *testing.T, data []byte) {
	t.Helper()
	if strings.Contains(string(data), invalidMark) {
		return // the mark in the input counts as invalid: not comparable
	}
	marked := markInvalid(data)
	if utf8.Valid(data) && string(marked) != string(data) {
		t.Fatalf("markInvalid changed valid UTF-8 %q to %q", data, marked)
	}
	if json.Valid(data) != json.Valid(marked) {
		t.Fatalf("json.Valid(%q) = %v but json.Valid(markInvalid) = %v (%q)", data, json.Valid(data), json.Valid(marked), marked)
	}
	var std, ours any
	if json.Unmarshal(data, &std) != nil {
		return
	}
	if err := json.Unmarshal(marked, &ours); err != nil {
		t.Fatalf("decode %q: %v", marked, err)
	}
	// collapse maps each mark and each run of U+FFFD to one U+FFFD; ok is
	// false when two keys of an object become one (then the decoders may
	// keep different values, which is not a difference worth reporting).
	collapse := func(v any) (out any, ok bool) {
		ok = true
		one := func(s string) string {
			s = strings.ReplaceAll(s, invalidMark, "\uFFFD")
			for strings.Contains(s, "\uFFFD\uFFFD") {
				s = strings.ReplaceAll(s, "\uFFFD\uFFFD", "\uFFFD")
			}
			return s
		}
		var walk func(v any) any
		walk = func(v any) any {
			switch x := v.(type) {
			case string:
				return one(x)
			case []any:
				for i := range x {
					x[i] = walk(x[i])
				}
			case map[string]any:
				m := make(map[string]any, len(x))
				for k, it := range x {
					if _, dup := m[one(k)]; dup {
						ok = false
					}
					m[one(k)] = walk(it)
				}
				return m
			}
			return v
		}
		return walk(v), ok
	}
	a, okA := collapse(std)
	b, okB := collapse(ours)
	if !okA || !okB {
		return
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("decoded %q:\nencoding/json %#v\nmarked        %#v", data, a, b)
	}
}
