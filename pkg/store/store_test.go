package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/record"
)

// childEnv tells a re-executed test binary to act as another dars process:
// "lock:DIR" opens DIR and holds it until stdin closes; "crash:DIR" commits
// generation batches to DIR forever, printing each batch number once its
// commit has returned.
const childEnv = "DARS_STORE_TEST_CHILD"

// crashBatch is the number of rows per batch the crash child commits.
const crashBatch = 50

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(runChild(v))
	}
	os.Exit(m.Run())
}

func runChild(spec string) int {
	mode, dir, _ := strings.Cut(spec, ":")
	s, err := Open(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch mode {
	case "lock":
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n') // returns when the parent closes stdin
		return 0
	case "crash":
		ctx := context.Background()
		for b := 0; ; b++ {
			rows := make([]record.Generation, crashBatch)
			for i := range rows {
				rows[i] = gen(fmt.Sprintf("b%d-%d", b, i), strconv.Itoa(b), 0, "m", int32(i))
			}
			if err := s.PutGenerations(ctx, rows); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Println(b)
		}
	}
	fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
	return 2
}

func openT(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func gen(key, qid string, variant int32, model string, sample int32) record.Generation {
	return record.Generation{
		Key:              key,
		QueryID:          qid,
		VariantID:        variant,
		Model:            model,
		SampleIndex:      sample,
		Seed:             int64(sample)*7919 - 3,
		Temperature:      0.7,
		TopP:             0.95,
		MaxTokens:        1024,
		OutputText:       "The answer is 42.\nFinal Answer: 42",
		FinishReason:     "stop",
		Purpose:          record.PurposeSample,
		PromptTokens:     120,
		CompletionTokens: 35,
		CostUSD:          0.0000123,
		LatencyMS:        812,
		Attempts:         1,
		CreatedAt:        time.UnixMilli(1_760_000_000_123).UTC(),
		UsageEstimated:   sample%2 == 1,
	}
}

func allGenerations(t *testing.T, s *Store) []record.Generation {
	t.Helper()
	var out []record.Generation
	if err := s.Generations(context.Background(), func(g record.Generation) error {
		out = append(out, g)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func allScores(t *testing.T, s *Store, judge string) []record.Score {
	t.Helper()
	var out []record.Score
	if err := s.Scores(context.Background(), judge, func(r record.Score) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)

	variants := []record.Variant{
		{QueryID: "q1", VariantID: 0, Source: record.SourceOriginal, Text: "What is 6*7?"},
		{QueryID: "q1", VariantID: 1, Source: record.SourceRewrite, Text: "Compute six times seven. ünïcode ✓", Rewriter: "rewriter"},
		{QueryID: "q1", VariantID: 2, Source: record.SourceGiven, Text: ""},
	}
	zero := gen("k-zero", "q1", 0, "m", 1)
	zero.CreatedAt = time.Time{}
	zero.Seed = math.MinInt64
	zero.PromptTokens = math.MaxInt64
	nanRow := gen("k-nan", "q1", 0, "m", 2)
	nanRow.CostUSD = math.NaN()
	nanRow.Temperature = math.Inf(1)
	nanRow.TopP = -0.0
	generations := []record.Generation{
		gen("k-full", "q1", 0, "m", 0),
		zero,
		{Key: "k-err", QueryID: "q1", VariantID: 1, Model: "m", Purpose: record.PurposeSample, Error: "http 400: bad request",
			Attempts: 3, CreatedAt: time.UnixMilli(5).UTC()},
	}
	scores := []record.Score{
		{GenerationKey: "k-full", QueryID: "q1", VariantID: 0, Model: "m", SampleIndex: 0, Judge: "answer",
			Status: record.StatusScored, Score: 1, Passed: true, Extracted: "42", Detail: "exact"},
		{GenerationKey: "k-zero", QueryID: "q1", VariantID: 0, Model: "m", SampleIndex: 1, Judge: "answer",
			Status: record.StatusUnscored, Score: 0, Passed: false},
		{GenerationKey: "k-err", QueryID: "q1", VariantID: 1, Model: "m", Judge: "answer",
			Status: record.StatusError, Score: 0.25, Detail: "generation failed"},
	}
	if err := s.PutVariants(ctx, variants); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGenerations(ctx, generations); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGenerations(ctx, []record.Generation{nanRow}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScores(ctx, scores, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, "config_hash", "abc"); err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, s *Store) {
		gotV, err := s.Variants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotV, variants) {
			t.Errorf("variants:\n got %+v\nwant %+v", gotV, variants)
		}
		gotG := allGenerations(t, s)
		if len(gotG) != 4 {
			t.Fatalf("got %d generations, want 4", len(gotG))
		}
		// Order within (q1, 0, m): sample 0, 1, 2; then (q1, 1, m).
		wantG := []record.Generation{generations[0], zero, nanRow, generations[2]}
		for i := range wantG {
			g, w := gotG[i], wantG[i]
			if i == 2 {
				if !math.IsNaN(g.CostUSD) || !math.IsInf(g.Temperature, 1) {
					t.Errorf("NaN/Inf row: cost %v temperature %v", g.CostUSD, g.Temperature)
				}
				g.CostUSD, w.CostUSD = 0, 0
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("generation %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
		if gotS := allScores(t, s, ""); !reflect.DeepEqual(gotS, scores) {
			t.Errorf("scores:\n got %+v\nwant %+v", gotS, scores)
		}
		v, ok, err := s.Meta(ctx, "config_hash")
		if err != nil || !ok || v != "abc" {
			t.Errorf("Meta(config_hash) = %q, %v, %v", v, ok, err)
		}
		if _, ok, err := s.Meta(ctx, "missing"); ok || err != nil {
			t.Errorf("Meta(missing) = _, %v, %v", ok, err)
		}
		if v, _, _ := s.Meta(ctx, "schema_version"); v != strconv.Itoa(SchemaVersion) {
			t.Errorf("schema_version = %q, want %d", v, SchemaVersion)
		}
		c := countRows(t, s)
		if want := (rowCounts{Variants: 3, Generations: 4, GenerationErrors: 1, Scores: 3}); c != want {
			t.Errorf("Counts = %+v, want %+v", c, want)
		}
	}
	t.Run("live", func(t *testing.T) { check(t, s) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("reopened", func(t *testing.T) { check(t, openT(t, dir)) })
}

func TestOrdering(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	ids := []string{"a", "10", "2", "b", "002", "1", "", "A", "1000000000000000000", "99"}
	want := slices.Clone(ids)
	slices.SortStableFunc(want, record.CompareQueryID)

	var vs []record.Variant
	var gs []record.Generation
	var ss []record.Score
	for i, id := range ids {
		for _, variant := range []int32{1, 0} {
			vs = append(vs, record.Variant{QueryID: id, VariantID: variant, Source: record.SourceGiven})
			for _, model := range []string{"z", "m"} {
				for _, sample := range []int32{10, 2} {
					key := fmt.Sprintf("k%d-%d-%s-%d", i, variant, model, sample)
					gs = append(gs, gen(key, id, variant, model, sample))
					for _, judge := range []string{"j2", "j1"} {
						ss = append(ss, record.Score{GenerationKey: key, QueryID: id, VariantID: variant,
							Model: model, SampleIndex: sample, Judge: judge, Status: record.StatusScored})
					}
				}
			}
		}
	}
	if err := s.PutVariants(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if err := s.PutGenerations(ctx, gs); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScores(ctx, ss, "h"); err != nil {
		t.Fatal(err)
	}

	slices.SortFunc(vs, func(a, b record.Variant) int {
		if c := record.CompareQueryID(a.QueryID, b.QueryID); c != 0 {
			return c
		}
		return int(a.VariantID - b.VariantID)
	})
	cmpGen := func(aq string, av int32, am string, ai int32, bq string, bv int32, bm string, bi int32) int {
		if c := record.CompareQueryID(aq, bq); c != 0 {
			return c
		}
		if av != bv {
			return int(av - bv)
		}
		if c := strings.Compare(am, bm); c != 0 {
			return c
		}
		return int(ai - bi)
	}
	slices.SortFunc(gs, func(a, b record.Generation) int {
		return cmpGen(a.QueryID, a.VariantID, a.Model, a.SampleIndex, b.QueryID, b.VariantID, b.Model, b.SampleIndex)
	})
	slices.SortFunc(ss, func(a, b record.Score) int {
		if c := cmpGen(a.QueryID, a.VariantID, a.Model, a.SampleIndex, b.QueryID, b.VariantID, b.Model, b.SampleIndex); c != 0 {
			return c
		}
		return strings.Compare(a.Judge, b.Judge)
	})

	t.Run("variants", func(t *testing.T) {
		got, err := s.Variants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, vs) {
			t.Errorf("got  %v\nwant %v", variantIDs(got), variantIDs(vs))
		}
	})
	t.Run("generations", func(t *testing.T) {
		if got := allGenerations(t, s); !reflect.DeepEqual(got, gs) {
			t.Errorf("generations out of order")
		}
	})
	t.Run("scores", func(t *testing.T) {
		if got := allScores(t, s, ""); !reflect.DeepEqual(got, ss) {
			t.Errorf("scores out of order")
		}
	})
	t.Run("scores of one judge", func(t *testing.T) {
		var want []record.Score
		for _, r := range ss {
			if r.Judge == "j2" {
				want = append(want, r)
			}
		}
		if got := allScores(t, s, "j2"); !reflect.DeepEqual(got, want) {
			t.Errorf("scores of j2 out of order or unfiltered: %d rows, want %d", len(got), len(want))
		}
	})
	t.Run("query ids", func(t *testing.T) {
		if want[0] != "1" || want[1] != "002" || want[2] != "2" || want[3] != "10" || want[len(want)-1] != "b" {
			t.Fatalf("test assumption: CompareQueryID order is %q", want)
		}
		var got []string
		for _, v := range vs {
			if v.VariantID == 0 {
				got = append(got, v.QueryID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func variantIDs(vs []record.Variant) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%s/%d", v.QueryID, v.VariantID)
	}
	return out
}

func TestOrderUsesIndex(t *testing.T) {
	s := openT(t, t.TempDir())
	for name, q := range map[string]string{
		"variants":          `SELECT * FROM variants ORDER BY ` + variantOrder,
		"generations":       `SELECT ` + generationColumns + ` FROM generations ORDER BY ` + generationOrder,
		"scores":            `SELECT ` + scoreColumns + ` FROM scores ORDER BY ` + scoreOrder,
		"scores of a judge": `SELECT ` + scoreColumns + ` FROM scores WHERE judge = 'x' ORDER BY ` + scoreOrder,
	} {
		t.Run(name, func(t *testing.T) {
			rows, err := s.r.Query(`EXPLAIN QUERY PLAN ` + q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			p := strings.Join(plan, "; ")
			if strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "INDEX") {
				t.Errorf("query sorts instead of using its index: %s", p)
			}
		})
	}
}

func TestPutGenerationsKeepsPaidWork(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())

	good := gen(hk("good"), "1", 0, "m", 0)
	bad := gen(hk("bad"), "1", 0, "m", 1)
	bad.Error, bad.OutputText = "http 503: overloaded", ""
	badTwice := gen(hk("bad2"), "1", 0, "m", 2)
	badTwice.Error = "timeout"
	if err := s.PutGenerations(ctx, []record.Generation{good, bad, badTwice}); err != nil {
		t.Fatal(err)
	}

	goodAgain := good
	goodAgain.OutputText, goodAgain.Error = "different", "late failure"
	fixed := gen(hk("bad"), "1", 0, "m", 1)
	fixed.OutputText = "fixed"
	badTwiceAgain := badTwice
	badTwiceAgain.Error = "timeout again"
	if err := s.PutGenerations(ctx, []record.Generation{goodAgain, fixed, badTwiceAgain}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		key  string
		want record.Generation
	}{
		{"good row kept", hk("good"), good},
		{"errored row replaced by good", hk("bad"), fixed},
		{"errored row replaced by newer error", hk("bad2"), badTwiceAgain},
	}
	byKey := map[string]record.Generation{}
	for _, g := range allGenerations(t, s) {
		byKey[g.Key] = g
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := byKey[tt.key]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("done keys", func(t *testing.T) {
		done, err := s.DoneKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if done.Len() != 2 || !done.Has(hk("good")) || !done.Has(hk("bad")) {
			t.Errorf("DoneKeys = %q, want the keys of good and bad", slices.Collect(done.All()))
		}
	})
	t.Run("counts", func(t *testing.T) {
		c := countRows(t, s)
		if c.Generations != 3 || c.GenerationErrors != 1 {
			t.Errorf("Counts = %+v, want 3 generations, 1 error", c)
		}
	})
	t.Run("empty key rejects the whole batch", func(t *testing.T) {
		err := s.PutGenerations(ctx, []record.Generation{gen(hk("new"), "1", 0, "m", 3), {QueryID: "1"}})
		if err == nil {
			t.Fatal("want an error for an empty key")
		}
		if done, _ := s.DoneKeys(ctx); done.Len() != 2 {
			t.Errorf("a failed batch left rows behind: %v", done)
		}
	})
}

func TestScoredKeys(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	score := func(key, judge string, passed bool) record.Score {
		return record.Score{GenerationKey: hk(key), QueryID: "1", Model: "m", Judge: judge,
			Status: record.StatusScored, Passed: passed, Score: map[bool]float64{true: 1}[passed]}
	}
	if err := s.PutScores(ctx, []record.Score{score("a", "math", false), score("b", "math", true), score("a", "f1", true)}, "h1"); err != nil {
		t.Fatal(err)
	}
	// The math judge changed: hk("a") is re-scored under h2, hk("b") is not yet.
	if err := s.PutScores(ctx, []record.Score{score("a", "math", true)}, "h2"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		judge, hash string
		want        []string
	}{
		{"math", "h1", []string{hk("b")}},
		{"math", "h2", []string{hk("a")}},
		{"f1", "h1", []string{hk("a")}},
		{"f1", "h2", nil},
		{"nope", "h1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.judge+"/"+tt.hash, func(t *testing.T) {
			got, err := s.ScoredKeys(ctx, tt.judge, tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			keys := slices.Collect(got.All())
			if !slices.Equal(keys, tt.want) {
				t.Errorf("ScoredKeys = %q, want %q", keys, tt.want)
			}
		})
	}
	t.Run("new verdict replaces old", func(t *testing.T) {
		got := allScores(t, s, "math")
		i := slices.IndexFunc(got, func(r record.Score) bool { return r.GenerationKey == hk("a") })
		if len(got) != 2 || i < 0 || !got[i].Passed || got[i].Score != 1 {
			t.Errorf("math scores = %+v", got)
		}
		if c := countRows(t, s); c.Scores != 3 {
			t.Errorf("Counts.Scores = %d, want 3", c.Scores)
		}
	})
}

func TestCallbacks(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	if err := s.PutGenerations(ctx, []record.Generation{gen(hk("a"), "1", 0, "m", 0), gen(hk("b"), "2", 0, "m", 0)}); err != nil {
		t.Fatal(err)
	}
	t.Run("stops at first error", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := s.Generations(ctx, func(record.Generation) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("Generations = %v after %d calls, want stop after 1", err, n)
		}
	})
	t.Run("callback may write", func(t *testing.T) {
		// The judge stage scores while it iterates: this must not deadlock
		// on the single writer connection.
		err := s.Generations(ctx, func(g record.Generation) error {
			return s.PutScores(ctx, []record.Score{{GenerationKey: g.Key, QueryID: g.QueryID,
				Model: g.Model, Judge: "j", Status: record.StatusScored}}, "h")
		})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := s.ScoredKeys(ctx, "j", "h")
		if err != nil || keys.Len() != 2 {
			t.Errorf("ScoredKeys = %v, %v", keys, err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.PutGenerations(cctx, []record.Generation{gen("c", "3", 0, "m", 0)}); err == nil {
			t.Error("PutGenerations with a canceled context succeeded")
		}
	})
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	if err := s.SetMeta(ctx, "schema_version", strconv.Itoa(SchemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), dir)
	if want := fmt.Sprintf("version %d", SchemaVersion+1); !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open = %v, want ErrNewerSchema naming schema %s", err, want)
	}
	if _, err := OpenReader(ctx, dir); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("OpenReader = %v, want ErrNewerSchema", err)
	}
	// The refusal must release the lock.
	if err := s.SetMeta(ctx, "x", "y"); err == nil {
		t.Error("closed store still writable")
	}
	if _, err := Open(context.Background(), dir); errors.Is(err, ErrLocked) {
		t.Errorf("failed Open kept the lock: %v", err)
	}
}

func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	_, err := Open(context.Background(), dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	for _, want := range []string{dir, "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

// startChild re-executes the test binary as another dars process and waits
// for its first line of output.
func startChild(t *testing.T, spec string) (*exec.Cmd, *bufio.Scanner, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("child exited before it was ready: %v", sc.Err())
	}
	return cmd, sc, sc.Text()
}

func TestLockOtherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd, _, line := startChild(t, "lock:"+dir)
	if line != "ready" {
		t.Fatalf("child said %q", line)
	}
	_, err := Open(context.Background(), dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while a child holds the lock = %v, want ErrLocked", err)
	}
	if want := "pid " + strconv.Itoa(cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the holder %q", err, want)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // the kernel has released the flock once the child is reaped
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCrashSafety(t *testing.T) {
	const killAfter = 20 // batches confirmed before the kill
	dir := t.TempDir()
	cmd, sc, line := startChild(t, "crash:"+dir)
	last := -1
	for {
		b, err := strconv.Atoi(line)
		if err != nil || b != last+1 {
			t.Fatalf("child printed %q after batch %d", line, last)
		}
		last = b
		if last+1 == killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
		// Lines already in the pipe when the kill landed are commits that
		// returned too; read them all until the pipe closes.
		if !sc.Scan() {
			break
		}
		line = sc.Text()
	}
	cmd.Wait()
	if last+1 < killAfter {
		t.Fatalf("child died after %d batches, before the kill", last+1)
	}

	s := openT(t, dir)
	perBatch := map[int]int{}
	for _, g := range allGenerations(t, s) {
		b, err := strconv.Atoi(g.QueryID)
		if err != nil {
			t.Fatalf("unexpected row %+v", g)
		}
		perBatch[b]++
	}
	for b := 0; b <= last; b++ {
		if perBatch[b] != crashBatch {
			t.Errorf("committed batch %d has %d rows, want %d", b, perBatch[b], crashBatch)
		}
	}
	for b, n := range perBatch {
		if b > last+1 {
			t.Errorf("batch %d stored, but the child never began it", b)
		}
		if n != crashBatch {
			t.Errorf("batch %d is torn: %d of %d rows", b, n, crashBatch)
		}
	}
	t.Logf("child confirmed %d batches; %d batches stored", last+1, len(perBatch))
}

func BenchmarkPutGenerations(b *testing.B) {
	const total, batch = 60000, 500
	rows := make([]record.Generation, total)
	for i := range rows {
		// Keys are random like real ones; rows come in plan order (query,
		// variant, sample), as the sampler roughly commits them.
		key := fmt.Sprintf("%x", sha256.Sum256([]byte(strconv.Itoa(i))))
		g := gen(key, strconv.Itoa(i/25), int32(i/5%5), "model", int32(i%5))
		g.OutputText = strings.Repeat("step by step reasoning ", 20) + "Final Answer: " + strconv.Itoa(i)
		rows[i] = g
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < total; i += batch {
			if err := s.PutGenerations(ctx, rows[i:i+batch]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total), "rows/op")
}

// TestReplacingAFailedGenerationClearsItsErrorVerdicts: once a failed
// sample is paid for again, the judges must score the new output, not keep
// the verdict on the failure.
func TestReplacingAFailedGenerationClearsItsErrorVerdicts(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	failed := record.Generation{Key: hk("k1"), QueryID: "1", Model: "m", Error: "connection refused", CreatedAt: time.UnixMilli(1).UTC()}
	good := record.Generation{Key: hk("k2"), QueryID: "2", Model: "m", OutputText: "4", CreatedAt: time.UnixMilli(1).UTC()}
	if err := s.PutGenerations(ctx, []record.Generation{failed, good}); err != nil {
		t.Fatal(err)
	}
	verdicts := []record.Score{
		{GenerationKey: hk("k1"), QueryID: "1", Model: "m", Judge: "j", Status: record.StatusError, Detail: "generation failed"},
		{GenerationKey: hk("k2"), QueryID: "2", Model: "m", Judge: "j", Status: record.StatusError, Detail: "judge crashed"},
	}
	if err := s.PutScores(ctx, verdicts, "h"); err != nil {
		t.Fatal(err)
	}
	retried, again := failed, good
	retried.Error, retried.OutputText = "", "2"
	again.OutputText = "changed"
	if err := s.PutGenerations(ctx, []record.Generation{retried, again}); err != nil {
		t.Fatal(err)
	}
	scored, err := s.ScoredKeys(ctx, "j", "h")
	if err != nil {
		t.Fatal(err)
	}
	if scored.Has(hk("k1")) {
		t.Error("the verdict on the failed attempt survived its replacement")
	}
	if !scored.Has(hk("k2")) {
		t.Error("a kept generation lost its verdict")
	}
}

// TestOpenAddsUsageEstimatedToAnOlderStore: a schema-1 store written before
// the usage_estimated column existed opens, gains the column, and keeps its
// rows.
func TestOpenAddsUsageEstimatedToAnOlderStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openT(t, dir)
	if err := s.PutGenerations(ctx, []record.Generation{gen("k", "1", 0, "m", 0)}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{`DROP INDEX generations_calls`, `ALTER TABLE generations DROP COLUMN usage_estimated`,
		`ALTER TABLE generations DROP COLUMN purpose`, `ALTER TABLE generations DROP COLUMN caller`,
		`ALTER TABLE generations DROP COLUMN subject`, `ALTER TABLE generations DROP COLUMN reasoning_tokens`,
		`UPDATE meta SET value = '1' WHERE key = 'schema_version'`} {
		if _, err := s.w.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	if err := s.PutGenerations(ctx, []record.Generation{gen(hk("k2"), "2", 0, "m", 1)}); err != nil {
		t.Fatal(err)
	}
	got := allGenerations(t, s)
	if len(got) != 2 || got[0].UsageEstimated || !got[1].UsageEstimated {
		t.Fatalf("rows after the migration: %+v", got)
	}
}

// hk turns a readable test name into a generation key (hex sha256), as the
// key sets require.
func hk(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// TestOpenReaderBesideALiveRun reads a store another Open holds, sees its
// committed rows, and refuses writes; a missing store is not created.
func TestOpenReaderBesideALiveRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := openT(t, dir)
	if err := live.PutGenerations(ctx, []record.Generation{gen(hk("a"), "1", 0, "m", 0)}); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(context.Background(), dir)
	if err != nil {
		t.Fatalf("OpenReader beside a live run: %v", err)
	}
	defer r.Close()
	done, err := r.DoneKeys(ctx)
	if err != nil || !done.Has(hk("a")) {
		t.Fatalf("DoneKeys = %v, %v", done, err)
	}
	if err := live.PutGenerations(ctx, []record.Generation{gen(hk("b"), "1", 0, "m", 1)}); err != nil {
		t.Fatalf("the live run cannot write beside a reader: %v", err)
	}
	if done, _ := r.DoneKeys(ctx); done.Len() != 2 {
		t.Errorf("the reader does not see the new commit: %d keys", done.Len())
	}
	if err := r.PutGenerations(ctx, []record.Generation{gen(hk("c"), "1", 0, "m", 2)}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write through the reader: %v, want ErrReadOnly", err)
	}
	if err := r.SetMeta(ctx, "k", "v"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("SetMeta through the reader: %v, want ErrReadOnly", err)
	}
	missing := filepath.Join(t.TempDir(), "none")
	if _, err := OpenReader(context.Background(), missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenReader of a missing store: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("OpenReader created the directory")
	}
}

// rowCounts are the numbers of stored rows.
type rowCounts struct {
	Variants         int64
	Generations      int64 // every stored generation, errored ones included
	GenerationErrors int64 // stored generations with a non-empty Error
	Scores           int64
}

// countRows counts the stored rows in one snapshot.
func countRows(t *testing.T, s *Store) rowCounts {
	t.Helper()
	var c rowCounts
	err := s.r.QueryRowContext(context.Background(), `SELECT
		(SELECT count(*) FROM variants),
		(SELECT count(*) FROM generations),
		(SELECT count(*) FROM generations WHERE error <> ''),
		(SELECT count(*) FROM scores)`).Scan(&c.Variants, &c.Generations, &c.GenerationErrors, &c.Scores)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// call is an llm judge's call (vote idx) about the generation with key subject.
func call(key, judgeName, subject string, idx int32) record.Generation {
	g := gen(key, "1", 0, "grader", idx)
	g.Purpose, g.Caller, g.Subject = record.PurposeJudge, judgeName, subject
	return g
}

// TestCalls reads one judge's calls about one generation through the calls
// index, in vote order, and nothing of the neighbours; Generations and
// DoneKeys hold samples only.
func TestCalls(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	rows := []record.Generation{gen(hk("s"), "1", 0, "grader", 0),
		call(hk("x1"), "j", hk("s"), 1), call(hk("x0"), "j", hk("s"), 0), call(hk("y"), "j", hk("t"), 0), call(hk("z"), "j:2", hk("s"), 0)}
	if err := s.PutGenerations(ctx, rows); err != nil {
		t.Fatal(err)
	}
	of := func(caller, subject string) []string {
		var keys []string
		err := s.Calls(ctx, record.PurposeJudge, caller, subject, func(g record.Generation) error {
			if g.Purpose != record.PurposeJudge || g.Caller != caller || g.Subject != subject {
				t.Errorf("call %+v read back without its purpose, caller and subject", g)
			}
			keys = append(keys, g.Key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := of("j", hk("s")); !slices.Equal(got, []string{hk("x0"), hk("x1")}) {
		t.Errorf("Calls(j, s) = %q, want vote 0 then 1", got)
	}
	if got := of("j:2", hk("s")); !slices.Equal(got, []string{hk("z")}) {
		t.Errorf("Calls(j:2, s) = %q", got)
	}
	if got := of("j", hk("nope")); len(got) != 0 {
		t.Errorf("Calls(j, nope) = %q", got)
	}
	var samples []string
	if err := s.Generations(ctx, func(g record.Generation) error { samples = append(samples, g.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(samples, []string{hk("s")}) {
		t.Errorf("Generations = %q, want the sample only", samples)
	}
	if done, _ := s.DoneKeys(ctx); done.Len() != 1 || !done.Has(hk("s")) {
		t.Errorf("DoneKeys = %q, want the sample only", slices.Collect(done.All()))
	}
}

func TestSpend(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	a, b, c := call(hk("a"), "g", hk("1"), 0), call(hk("b"), "g", hk("2"), 0), call(hk("c"), "h", hk("1"), 0)
	b.Error = "status 500"
	d := gen(hk("d"), "1", 0, "m", 0)
	if err := s.PutGenerations(ctx, []record.Generation{a, b, c, d}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Spend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Spend{
		{Purpose: "judge", Caller: "g", Model: "grader", Calls: 2, Errors: 1, PromptTokens: a.PromptTokens + b.PromptTokens,
			CompletionTokens: a.CompletionTokens + b.CompletionTokens, CostUSD: a.CostUSD + b.CostUSD},
		{Purpose: "judge", Caller: "h", Model: "grader", Calls: 1, PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, CostUSD: c.CostUSD},
		{Purpose: "sample", Model: "m", Calls: 1, PromptTokens: d.PromptTokens, CompletionTokens: d.CompletionTokens, CostUSD: d.CostUSD},
	}
	if len(got) != len(want) {
		t.Fatalf("Spend = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if math.Abs(g.CostUSD-w.CostUSD) > 1e-12 {
			t.Errorf("Spend[%d].CostUSD = %v, want %v", i, g.CostUSD, w.CostUSD)
		}
		g.CostUSD, w.CostUSD = 0, 0
		if g != w {
			t.Errorf("Spend[%d] = %+v, want %+v", i, g, w)
		}
	}
}

// TestDecidedKeys: a verdict whose judge call failed is not decided,
// whatever its detail says; others are. ScoredKeys has them all.
func TestDecidedKeys(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	v := func(key, status, detail string) record.Score {
		return record.Score{GenerationKey: hk(key), QueryID: "1", Model: "m", Judge: "g", Status: status, Detail: detail}
	}
	err := s.PutScores(ctx, []record.Score{v("ok", record.StatusScored, "yes"), v("retry", record.StatusCallFailed, "call failed (1 of 3): 503"),
		v("final", record.StatusError, "generation failed: 400"), v("odd", record.StatusUnscored, "call failed but unscored")}, "h")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.DecidedKeys(ctx, "g", "h")
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != 3 || got.Has(hk("retry")) || !got.Has(hk("final")) || !got.Has(hk("odd")) {
		t.Errorf("DecidedKeys = %q", slices.Collect(got.All()))
	}
	if all, err := s.ScoredKeys(ctx, "g", "h"); err != nil || all.Len() != 4 {
		t.Errorf("ScoredKeys = %v (%v), want all 4", all.Len(), err)
	}
}

// TestOpenReaderOnAReadOnlyDirectory: a dry run reads a store in a
// directory nobody can write (a read-only mount), where SQLite cannot make
// the -shm file a WAL reader needs. It needs a read-only file system, so
// it runs where the test may mount one (as root) and says why it skips
// elsewhere.
func TestOpenReaderOnAReadOnlyDirectory(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	s := openT(t, src)
	if err := s.PutGenerations(ctx, []record.Generation{gen(hk("a"), "1", 0, "m", 0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", ro).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a file system to make read-only (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	b, err := os.ReadFile(filepath.Join(src, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ro, DBFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", ro).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	r, err := OpenReader(ctx, ro)
	if err != nil {
		t.Fatalf("OpenReader on a read-only directory: %v", err)
	}
	defer r.Close()
	done, err := r.DoneKeys(ctx)
	if err != nil || done.Len() != 1 {
		t.Fatalf("DoneKeys = %v, %v; want the one stored sample", done.Len(), err)
	}
}

// TestDamagedFile: a dars.db that is not a database is reported as
// damaged, naming the file, by Open and OpenReader alike.
func TestDamagedFile(t *testing.T) {
	ctx := context.Background()
	for name, content := range map[string]string{"garbage": "\x00\x01not sqlite at all", "header only": "SQLite format 3\x00garbage"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, DBFile)
			if err := os.WriteFile(path, []byte(strings.Repeat(content, 300)), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(ctx, dir); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Errorf("Open = %v, want ErrCorrupt naming %s", err, path)
			}
			if _, err := OpenReader(ctx, dir); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Errorf("OpenReader = %v, want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

// TestRewrites stores rewrite attempts with their kept variants and reads
// them back in the log's order (numeric query ids first, by value), with
// null variant ids and verdicts kept apart from 0 and "", and checks that
// storing an attempt again replaces its rows.
func TestRewrites(t *testing.T) {
	ctx := context.Background()
	s := openT(t, t.TempDir())
	rows := []record.Rewrite{
		{QueryID: "10", Attempt: 0, Item: 0, Text: "a", Status: record.RewriteKept, VariantID: 1, VerifierVerdict: record.VerdictYes, Rewriter: "rw", CallKey: "k1"},
		{QueryID: "10", Attempt: 0, Item: 1, Text: "b", Status: record.RewriteRejected, Reason: "duplicate", VariantID: -1, Rewriter: "rw", CallKey: "k1"},
		{QueryID: "9", Attempt: 1, Item: 0, Text: "not json", Status: record.RewriteFailed, Reason: "unparseable", VariantID: -1, Rewriter: "rw", CallKey: "k2"},
		{QueryID: "9", Attempt: 0, Item: 0, Text: "c", Status: record.RewriteRejected, Reason: "answer_leak", VariantID: -1, VerifierVerdict: record.VerdictNo, Rewriter: "rw", CallKey: "k3"},
	}
	kept := []record.Variant{{QueryID: "10", VariantID: 1, Source: record.SourceRewrite, Text: "a", Rewriter: "rw"}}
	if err := s.PutRewrites(ctx, rows, kept); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRewrites(ctx, rows[:1], kept); err != nil { // applied again: the same rows
		t.Fatal(err)
	}
	var got []record.Rewrite
	if err := s.Rewrites(ctx, func(r record.Rewrite) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []record.Rewrite{rows[3], rows[2], rows[0], rows[1]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Rewrites =\n%+v\nwant\n%+v", got, want)
	}
	vs, err := s.Variants(ctx)
	if err != nil || !reflect.DeepEqual(vs, kept) {
		t.Errorf("Variants = %+v, %v; want %+v", vs, err, kept)
	}
}
