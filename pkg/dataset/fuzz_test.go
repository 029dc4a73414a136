package dataset

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addTestdata seeds f with every fixture whose name ends in ext.
func addTestdata(f *testing.F, ext string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*"+ext))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkFuzzResult asserts the reader contract: either queries that keep the
// promises of Load, or an *InputError.
func checkFuzzResult(t *testing.T, m *mapper, err error) {
	if err != nil {
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v (%T) is not an *InputError", err, err)
		}
		return
	}
	seen := make(map[string]bool)
	for _, q := range m.queries {
		if q.ID == "" || seen[q.ID] {
			t.Fatalf("query id %q empty or repeated", q.ID)
		}
		seen[q.ID] = true
		if len(bytes.TrimSpace([]byte(q.Question))) == 0 {
			t.Fatalf("query %q has an empty question", q.ID)
		}
		if q.Line < 1 {
			t.Fatalf("query %q has line %d", q.ID, q.Line)
		}
		if q.Answer != "" && (len(q.Answers) == 0 || q.Answers[0] != q.Answer) {
			t.Fatalf("query %q: Answers %q do not start with Answer %q", q.ID, q.Answers, q.Answer)
		}
		// Every text part reaches a Parquet string column: it must be UTF-8.
		parts := append([]string{q.ID, q.Question, q.Answer, q.Context, q.Task}, q.Answers...)
		parts = append(append(parts, q.Choices...), q.Variants...)
		for _, s := range parts {
			if !utf8.ValidString(s) || strings.Contains(s, invalidMark) {
				t.Fatalf("query %q: %q is not valid UTF-8 text", q.ID, s)
			}
		}
		checkRawRowUTF8(t, q.Fields)
	}
}

func FuzzJSONL(f *testing.F) {
	addTestdata(f, ".jsonl")
	addTestdata(f, ".json")
	f.Add([]byte("{\"question\":\"a\"}\n{\"question\":"))
	f.Add([]byte("\ufeff\n\n{\"id\":1,\"question\":\"a\",\"variants\":[\"b\"]}"))
	f.Add([]byte("[{\"question\":\"a\"},{\"question\":\"b\"}] x"))
	f.Add([]byte(`{"question":{"stem":"s","choices":[{"text":"a","label":"2"},{"text":"b","label":"10"}]},"answerKey":"10"}`))
	f.Add([]byte("{\"id\":\"a\xff\",\"question\":\"q\xfe\",\"choices\":[\"\xc3\"],\"answer\":\"\xff\"}\n{\"question\":\"\xe2\x82\",\"variants\":[\"v\xff\"]}"))
	for _, preset := range Presets() {
		f.Add([]byte(`{"question":"q","answer":"#### 1,2","choices":["a","b"],"id":null}` + "\n" + preset))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, preset := range Presets() {
			m, err := newMapper("fuzz.jsonl", Options{Preset: preset})
			if err != nil {
				t.Fatal(err)
			}
			checkFuzzResult(t, m, readJSON(bytes.NewReader(data), m))
		}
	})
}

func FuzzCSV(f *testing.F) {
	addTestdata(f, ".csv")
	f.Add([]byte("id,question,answer\n1,\"a\nb\",2\n"))
	f.Add([]byte("question,variants,choices\nq,\"[\"\"x\"\"]\",\"[{\"\"text\"\":\"\"a\"\",\"\"label\"\":\"\"B\"\"}]\"\n"))
	f.Add([]byte("q,a,b,c,d,A\n"))
	f.Add([]byte("id,question\n1,\"bad\"quote\n"))
	f.Add([]byte("id,question,choices,answer\n\xff,q\xfe,\"[\"\"\xc3\"\"]\",\xff\n2,\xe2\x82,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, preset := range Presets() {
			m, err := newMapper("abstract_algebra_test.csv", Options{Preset: preset, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			checkFuzzResult(t, m, readCSV(bytes.NewReader(data), m))
		}
	})
}
