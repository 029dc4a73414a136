package pipeline

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/record"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// repoTestdata is the repository's shared testdata directory.
var repoTestdata = filepath.Join("..", "..", "testdata")

// copyTree copies the directory src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loadConfig reads a run file and validates it.
func loadConfig(t *testing.T, path string) config.Config {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// callLog records the end of every stream of calls a run reports.
type callLog struct {
	mu   sync.Mutex
	ends []Event
}

func (c *callLog) event(e Event) {
	if e.Kind == CallEnd {
		c.mu.Lock()
		c.ends = append(c.ends, e)
		c.mu.Unlock()
	}
}

// sent is how many requests the streams of purpose (and caller) sent.
func (c *callLog) sent(purpose, caller string) (requests int64, streams int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.ends {
		if e.Purpose == purpose && e.Caller == caller {
			streams++
			for _, m := range e.Progress.Models {
				requests += m.Requests
			}
		}
	}
	return requests, streams
}

// TestResumeV1Run resumes a run written by dars at store schema 1
// (testdata/store-v1: samples, an llm judge voting twice, an llm judge
// whose endpoint refused every call): its store is migrated in place, not
// one sample or stored judge call is asked again, and the outputs are the
// old run's, byte for byte (generations.parquet row for row: it has a
// column more since); only the refused judge's calls are asked again, as
// failed calls always are.
func TestResumeV1Run(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, filepath.Join(repoTestdata, "store-v1"), dir)
	old := filepath.Join(repoTestdata, "store-v1", "out", "v1")
	cfg := loadConfig(t, filepath.Join(dir, "dars.yaml"))
	calls := &callLog{}
	ctx := context.Background()
	run, err := Open(ctx, cfg, Options{Events: calls.event})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	res, err := run.Execute(ctx, All)
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), `judge "offline"`) {
		t.Fatalf("Execute = %v; want the offline judge's failed calls, as the old run had", err)
	}
	if n, _ := calls.sent(record.PurposeSample, ""); n != 0 {
		t.Errorf("%d sampling requests sent: the migrated store's samples were not recognised", n)
	}
	if n, streams := calls.sent(record.PurposeJudge, "rubric"); n != 0 {
		t.Errorf("%d requests of the rubric judge sent (%d streams): its stored calls were not recognised", n, streams)
	}
	if n, _ := calls.sent(record.PurposeJudge, "offline"); n == 0 {
		t.Error("the offline judge's failed calls were not asked again")
	}
	// generations.parquet gained reasoning_tokens since (store schema 3):
	// its rows are compared value by value, the new column 0 in both.
	oldGens, err := parquetio.ReadGenerations(filepath.Join(old, "generations.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	newGens, err := parquetio.ReadGenerations(filepath.Join(run.Dir(), "generations.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", newGens) != fmt.Sprintf("%+v", oldGens) {
		t.Errorf("generations.parquet's rows differ from the schema-1 run's")
	}
	// Labels schema 2 gave ci_low, ci_high and p_best a new meaning (over
	// every rewrite, docs/intervals.md): the rest of the labels and routes
	// must be the schema-1 run's, the iid interval its ci_low and ci_high.
	oldLabels, _, err := parquetio.ReadLabels(filepath.Join(old, "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	newLabels, _, err := parquetio.ReadLabels(filepath.Join(run.Dir(), "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ls := range [][]record.Label{oldLabels, newLabels} {
		for i := range ls {
			ls[i].CILow, ls[i].CIHigh, ls[i].PBest = 0, 0, 0
		}
	}
	if fmt.Sprintf("%+v", newLabels) != fmt.Sprintf("%+v", oldLabels) {
		t.Errorf("labels.parquet differs from the schema-1 run's beyond ci_low, ci_high and p_best:\n%+v\n%+v", newLabels, oldLabels)
	}
	oldRoutes, _, err := parquetio.ReadRoutes(filepath.Join(old, "routes.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	newRoutes, _, err := parquetio.ReadRoutes(filepath.Join(run.Dir(), "routes.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range [][]record.Route{oldRoutes, newRoutes} {
		for i := range rs {
			rs[i].PBest = nil
		}
	}
	if fmt.Sprintf("%+v", newRoutes) != fmt.Sprintf("%+v", oldRoutes) {
		t.Errorf("routes.parquet differs from the schema-1 run's beyond p_best")
	}
	for _, name := range []string{"variants.parquet", "sim_truth.parquet"} {
		want, err := os.ReadFile(filepath.Join(old, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(run.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the schema-1 run's", name)
		}
	}
	want, err := parquetio.ReadScores(filepath.Join(old, "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquetio.ReadScores(filepath.Join(run.Dir(), "scores.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d verdicts, the schema-1 run had %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Judge == "offline" {
			// Asked again and refused again: still an error, its detail the new refusal's.
			if g.Judge != "offline" || g.Status != record.StatusError || !strings.HasPrefix(g.Detail, "judge model call failed") {
				t.Errorf("verdict %d: %+v", i, g)
			}
			continue
		}
		if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
			t.Errorf("verdict %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if res.Manifest.Counts.Generations != 16 || len(res.Manifest.JudgeCalls) != 2 {
		t.Errorf("manifest counts %+v, judge calls %+v", res.Manifest.Counts, res.Manifest.JudgeCalls)
	}
}

// TestQuickstartGolden runs the quickstart on the simulator and compares
// its labels, routes, variants and rewrites log, value by value, with the golden files in
// testdata/golden/quickstart (go test ./pkg/pipeline -run QuickstartGolden
// -update rewrites them). The simulator and every draw are seeded: any change to
// what a run computes shows here.
func TestQuickstartGolden(t *testing.T) {
	cfg := loadConfig(t, filepath.Join("..", "..", "examples", "quickstart", "dars.yaml"))
	cfg.Out = t.TempDir()
	ctx := context.Background()
	run, err := Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if _, err := run.Execute(ctx, All); err != nil {
		t.Fatal(err)
	}
	ls, _, err := parquetio.ReadLabels(filepath.Join(run.Dir(), "labels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := parquetio.ReadRoutes(filepath.Join(run.Dir(), "routes.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "labels.txt", ls)
	golden(t, "routes.txt", rs)
	// The input side: the rewrites the simulated rewriter wrote and why each
	// proposal was kept or rejected.
	vs, err := parquetio.ReadVariants(filepath.Join(run.Dir(), "variants.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := parquetio.ReadRewrites(filepath.Join(run.Dir(), "rewrites.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "variants.txt", vs)
	golden(t, "rewrites.txt", ws)
}

// golden compares rows, one line each as %+v writes them (every float in
// its shortest exact form, NaN as NaN), with testdata/golden/quickstart/name,
// or rewrites it with -update.
func golden[R any](t *testing.T, name string, rows []R) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%+v\n", r)
	}
	path := filepath.Join(repoTestdata, "golden", "quickstart", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	gotLines, wantLines := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%s: %d rows, golden has %d", name, len(gotLines)-1, len(wantLines)-1)
	}
	for i := range wantLines {
		if gotLines[i] != wantLines[i] {
			t.Fatalf("%s row %d:\n got %s\nwant %s", name, i, gotLines[i], wantLines[i])
		}
	}
}

// TestMerge: the merge of sorted streams yields every row once, in order,
// the first stream's row where several hold it; a stream's error stops it.
func TestMerge(t *testing.T) {
	ints := func(xs ...int) func(func(int) error) error {
		return func(emit func(int) error) error {
			for _, x := range xs {
				if err := emit(x); err != nil {
					return err
				}
			}
			return nil
		}
	}
	cmp := func(a, b *int) int { return *a - *b }
	first := func(kept, other *int) bool { return false }
	var got []int
	err := merge(cmp, first, func(x int) error { got = append(got, x); return nil }, ints(1, 4, 6), ints(2, 4, 9), ints(), ints(0, 6, 7))
	if err != nil || !slices.Equal(got, []int{0, 1, 2, 4, 6, 7, 9}) {
		t.Fatalf("merge = %v, %v", got, err)
	}
	boom := errors.New("boom")
	failing := func(emit func(int) error) error {
		if err := emit(3); err != nil {
			return err
		}
		return boom
	}
	got = nil
	if err := merge(cmp, first, func(x int) error { got = append(got, x); return nil }, ints(1, 5), failing); !errors.Is(err, boom) {
		t.Fatalf("merge with a failing stream = %v (rows %v), want its error", err, got)
	}
	stop := errors.New("stop")
	got = nil
	err = merge(cmp, first, func(x int) error {
		got = append(got, x)
		if x == 2 {
			return stop
		}
		return nil
	}, ints(1, 2, 3), ints(2, 4))
	if !errors.Is(err, stop) || !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("merge stopped by fn = %v, %v", got, err)
	}

	// Equal rows: the first stream's, unless prefer picks a later one (here
	// the row whose tag is set, as a part's answered sample beats the
	// store's failed one).
	type row struct {
		k   int
		tag string
	}
	rows := func(rs ...row) func(func(row) error) error {
		return func(emit func(row) error) error {
			for _, r := range rs {
				if err := emit(r); err != nil {
					return err
				}
			}
			return nil
		}
	}
	var kept []row
	err = merge(func(a, b *row) int { return a.k - b.k }, func(kept, other *row) bool { return kept.tag == "" && other.tag != "" },
		func(r row) error { kept = append(kept, r); return nil },
		rows(row{1, "store"}, row{2, ""}, row{3, "store"}), rows(row{1, "part"}, row{2, "part"}, row{3, ""}))
	if want := []row{{1, "store"}, {2, "part"}, {3, "store"}}; err != nil || !slices.Equal(kept, want) {
		t.Fatalf("merge with prefer = %v, %v; want %v", kept, err, want)
	}
}

// TestPlanBounds: a plan too large to hold is refused before it is built,
// with the fix; planning stops when its context is cancelled.
func TestPlanBounds(t *testing.T) {
	cfg := loadConfig(t, filepath.Join("..", "..", "examples", "quickstart", "dars.yaml"))
	cfg.Out = t.TempDir()
	huge := cfg
	huge.Sampling.Samples = 1_000_000 // 150 variants x 3 models: 450 million samples
	_, err := Open(context.Background(), huge, Options{})
	if !problem.IsInput(err) || !strings.Contains(err.Error(), "more than one run plans") || len(problem.Hints(err)) == 0 {
		t.Fatalf("Open of a 450-million-sample plan = %v; want an input error with a hint", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Open(ctx, cfg, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context = %v, want context.Canceled", err)
	}
}
