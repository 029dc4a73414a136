package judge

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// refData is one copy of the reference benchmark files (GSM8K, MMLU,
// HumanEval, MBPP under their upstream names). The slice, a few dozen rows
// per set in the repository's testdata/data (see testdata/README.md), is
// always there, so the real-data tests run on every clone; the full sets
// beside the repository (../shared/data, or $DARS_SHARED_DATA) are read
// too when present.
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

// full reports whether d is the full sets.
func (d refData) full() bool { return d.name == "full" }

// want returns the figure a test expects of d: slice on the slice, full
// on the full sets.
func (d refData) want(slice, full int) int {
	if d.full() {
		return full
	}
	return slice
}

// open opens rel in d and closes it when t ends. A file missing from the
// slice fails t; one missing from the full sets skips it.
func (d refData) open(t testing.TB, rel string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(d.dir, rel))
	if err != nil {
		if d.full() {
			t.Skipf("full set not available (set DARS_SHARED_DATA to its folder): %v", err)
		}
		t.Fatalf("slice missing from the repository: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// forEachRefData runs test as subtest "slice", then as subtest "full".
func forEachRefData(t *testing.T, test func(t *testing.T, d refData)) {
	t.Helper()
	for _, d := range []refData{sliceData, fullData()} {
		t.Run(d.name, func(t *testing.T) { test(t, d) })
	}
}

// benchRefData returns the copy a benchmark reads rel from: the full sets
// when they hold rel, else the slice.
func benchRefData(b *testing.B, rel string) refData {
	b.Helper()
	full := fullData()
	if _, err := os.Stat(filepath.Join(full.dir, rel)); err == nil {
		return full
	}
	b.Logf("full set not available, benchmarking the slice of %s", rel)
	return sliceData
}

// TestGSM8KGolds judges every GSM8K reference solution against its own gold
// (the whole solution, as a data set without a preset gives it) and a
// "Final Answer:" line against the number after "####".
func TestGSM8KGolds(t *testing.T) {
	forEachRefData(t, func(t *testing.T, d refData) {
		f := d.open(t, "gsm8k/test.jsonl")
		j, err := New(t.Context(), config.Judge{Name: "n", Type: "numeric"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		rows := 0
		for sc.Scan() {
			rows++
			var row struct{ Question, Answer string }
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatalf("line %d: %v", rows, err)
			}
			num := strings.TrimSpace(row.Answer[strings.LastIndex(row.Answer, "####")+4:])
			checks := []struct{ gold, output string }{
				{row.Answer, row.Answer},
				{num, "Let me think.\nFinal Answer: " + num},
				{row.Answer, "The total is " + num + " dollars."},
			}
			for _, c := range checks {
				v, err := j.Judge(ctx, Item{Answer: c.gold}, c.output)
				if err != nil || v.Status != record.StatusScored || !v.Passed {
					t.Errorf("line %d: gold %q, output %q: %+v, %v", rows, num, c.output, v, err)
				}
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		if want := d.want(29, 1319); rows != want {
			t.Errorf("read %d rows, want %d", rows, want)
		}
	})
}

// TestMMLUGolds reads MMLU golds as 0-based indexes and checks that a
// declared letter, and a declared choice text when it is unambiguous, pass.
func TestMMLUGolds(t *testing.T) {
	forEachRefData(t, func(t *testing.T, d refData) {
		f := d.open(t, "mmlu/test.csv")
		j, err := New(t.Context(), config.Judge{Name: "mc", Type: "choice"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r := csv.NewReader(f)
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
		rows := 0
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("row %d: %v", rows+1, err)
			}
			rows++
			idx, err := strconv.Atoi(rec[6])
			if err != nil {
				t.Fatalf("row %d: answer %q", rows, rec[6])
			}
			item := Item{Answer: rec[6], Choices: rec[2:6]}
			letter := string(rune('A' + idx))
			outputs := []string{"Final Answer: " + letter, "The answer is (" + letter + ")."}
			if _, ok := choiceByText(rec[2+idx], "ABCD", item.Choices); ok && len(strings.TrimSpace(rec[2+idx])) > 1 &&
				!strings.Contains(rec[2+idx], "\n") {
				outputs = append(outputs, "Final Answer: "+rec[2+idx])
			}
			for _, out := range outputs {
				v, err := j.Judge(ctx, item, out)
				if err != nil || v.Status != record.StatusScored || !v.Passed {
					t.Errorf("row %d: gold %s, output %q: %+v, %v", rows, letter, out, v, err)
				}
			}
		}
		if want := d.want(32, 14042); rows != want {
			t.Errorf("read %d rows, want %d", rows, want)
		}
	})
}
