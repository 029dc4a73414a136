package judge

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/darslabs/dars/internal/refdata"
	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// TestGSM8KGolds judges every GSM8K reference solution against its own gold
// (the whole solution, as a data set without a preset gives it) and a
// "Final Answer:" line against the number after "####".
func TestGSM8KGolds(t *testing.T) {
	refdata.Each(t, func(t *testing.T, d refdata.Copy) {
		f := d.Open(t, "gsm8k/test.jsonl")
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
		if want := d.Want(29, 1319); rows != want {
			t.Errorf("read %d rows, want %d", rows, want)
		}
	})
}

// TestMMLUGolds reads MMLU golds as 0-based indexes and checks that a
// declared letter, and a declared choice text when it is unambiguous, pass.
func TestMMLUGolds(t *testing.T) {
	refdata.Each(t, func(t *testing.T, d refdata.Copy) {
		f := d.Open(t, "mmlu/test.csv")
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
		if want := d.Want(32, 14042); rows != want {
			t.Errorf("read %d rows, want %d", rows, want)
		}
	})
}
