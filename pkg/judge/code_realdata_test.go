package judge

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/darslabs/dars/internal/refdata"
	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// readHumanEval returns the rows of d's HumanEval file.
func readHumanEval(t testing.TB, d refdata.Copy) []map[string]any {
	t.Helper()
	f := d.Open(t, "humaneval/HumanEval.jsonl.gz")
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	dec := json.NewDecoder(zr)
	for dec.More() {
		var row map[string]any
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	return rows
}

// readMBPP returns the rows of d's sanitized MBPP file.
func readMBPP(t testing.TB, d refdata.Copy) []map[string]any {
	t.Helper()
	f := d.Open(t, "mbpp/sanitized-mbpp.json")
	var rows []map[string]any
	if err := json.NewDecoder(f).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// codeCase is one output to judge and the verdict it must get.
type codeCase struct {
	name   string
	item   Item
	output string
	pass   bool
}

// judgeCases judges every case with j, at most j's workers at a time, and
// reports each case whose verdict is not the expected one.
func judgeCases(t *testing.T, j Judge, cases []codeCase) {
	t.Helper()
	start := time.Now()
	var (
		mu     sync.Mutex
		wrong  []string
		wg     sync.WaitGroup
		passed int
	)
	for _, c := range cases {
		wg.Go(func() {
			v, err := j.Judge(context.Background(), c.item, c.output)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				wrong = append(wrong, fmt.Sprintf("%s: %v", c.name, err))
			case v.Status != record.StatusScored || v.Passed != c.pass:
				wrong = append(wrong, fmt.Sprintf("%s: %s passed=%v %q", c.name, v.Status, v.Passed, v.Detail))
			}
			if v.Passed {
				passed++
			}
		})
	}
	wg.Wait()
	sort.Strings(wrong)
	for _, w := range wrong {
		t.Error(w)
	}
	d := time.Since(start)
	t.Logf("%d outputs (%d passed) in %v: %.1f samples/s", len(cases), passed, d.Round(time.Millisecond), float64(len(cases))/d.Seconds())
}

// realDataRows returns the rows of d a real-data test judges: every row
// of the slice (chosen to be few); of the full sets, all of them when
// DARS_CODE_ALL=1, else every tenth (the whole set takes minutes on two
// cores), none under -short.
func realDataRows(t *testing.T, d refdata.Copy, rows []map[string]any) []map[string]any {
	t.Helper()
	if !d.IsFull() {
		return rows
	}
	if testing.Short() {
		t.Skip("-short: the full set runs hundreds of Python programs")
	}
	if os.Getenv("DARS_CODE_ALL") == "1" {
		return rows
	}
	t.Logf("judging every tenth of %d rows; DARS_CODE_ALL=1 judges them all", len(rows))
	var some []map[string]any
	for i := 0; i < len(rows); i += 10 {
		some = append(some, rows[i])
	}
	return some
}

// TestHumanEvalCanonical judges HumanEval canonical solutions, as a
// completion and as a whole function in a fenced block (both must pass),
// and a broken version of each that returns None (must fail).
func TestHumanEvalCanonical(t *testing.T) {
	refdata.Each(t, func(t *testing.T, d refdata.Copy) {
		rows := readHumanEval(t, d)
		if want := d.Want(16, 164); len(rows) != want {
			t.Errorf("%d HumanEval rows, want %d", len(rows), want)
		}
		rows = realDataRows(t, d, rows)
		j := newCodeJudge(t, config.Judge{ExecWorkers: 2})
		var cases []codeCase
		for _, row := range rows {
			item := Item{ID: row["task_id"].(string), Fields: row}
			solution := row["canonical_solution"].(string)
			cases = append(cases,
				codeCase{name: item.ID + " completion", item: item, output: solution, pass: true},
				codeCase{name: item.ID + " function", item: item, pass: true,
					output: "Here is the function:\n\n```python\n" + row["prompt"].(string) + solution + "```\n"},
				codeCase{name: item.ID + " broken", item: item, output: "    return None\n"},
			)
		}
		judgeCases(t, j, cases)
	})
}

// topLevelDef finds the functions a program defines at the top level.
var topLevelDef = regexp.MustCompile(`(?m)^def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// TestMBPPCode judges the reference code of sanitized MBPP tasks (must
// pass) and the same code with its functions redefined to return None
// (must fail).
func TestMBPPCode(t *testing.T) {
	refdata.Each(t, func(t *testing.T, d refdata.Copy) {
		rows := readMBPP(t, d)
		if want := d.Want(17, 427); len(rows) != want {
			t.Errorf("%d MBPP rows, want %d", len(rows), want)
		}
		rows = realDataRows(t, d, rows)
		j := newCodeJudge(t, config.Judge{ExecWorkers: 2})
		var cases []codeCase
		for _, row := range rows {
			item := Item{ID: fmt.Sprint(row["task_id"]), Fields: row}
			code := row["code"].(string)
			var broken strings.Builder
			broken.WriteString(code + "\n")
			for _, m := range topLevelDef.FindAllStringSubmatch(code, -1) {
				fmt.Fprintf(&broken, "\ndef %s(*args, **kwargs):\n    return None\n", m[1])
			}
			cases = append(cases,
				codeCase{name: "MBPP/" + item.ID + " reference", item: item, output: "```python\n" + code + "\n```", pass: true},
				codeCase{name: "MBPP/" + item.ID + " broken", item: item, output: broken.String()},
			)
		}
		judgeCases(t, j, cases)
	})
}

// BenchmarkCodeHumanEval measures the code judge's throughput on the
// HumanEval canonical solutions with 2 workers (samples/s): the full set's
// when present, else the slice's.
func BenchmarkCodeHumanEval(b *testing.B) {
	rows := readHumanEval(b, refdata.ForBench(b, "humaneval/HumanEval.jsonl.gz"))
	j := newCodeJudge(b, config.Judge{ExecWorkers: 2})
	items := make([]Item, len(rows))
	for i, row := range rows {
		items[i] = Item{ID: row["task_id"].(string), Fields: row}
	}
	var next atomic.Int64
	b.SetParallelism(2) // goroutines per CPU: keep both workers busy
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)-1) % len(items)
			v, err := j.Judge(context.Background(), items[i], items[i].Fields["canonical_solution"].(string))
			if err != nil || !v.Passed {
				b.Errorf("%s: %+v %v", items[i].ID, v, err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "samples/s")
}
