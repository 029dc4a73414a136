package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/judge"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/store"
)

// stallingJudge passes the first `after` outputs it is asked about, then
// cancels the run and hangs until the cancellation reaches it.
type stallingJudge struct {
	mu     sync.Mutex
	calls  int
	after  int
	cancel context.CancelFunc
}

func (j *stallingJudge) Name() string { return "stall" }

func (j *stallingJudge) Judge(ctx context.Context, item judge.Item, output string) (judge.Verdict, error) {
	j.mu.Lock()
	j.calls++
	n := j.calls
	j.mu.Unlock()
	if n <= j.after {
		return judge.Verdict{Status: record.StatusScored, Score: 1, Passed: true}, nil
	}
	j.cancel()
	<-ctx.Done()
	return judge.Verdict{Status: record.StatusError, Detail: "cancelled"}, ctx.Err()
}

// TestVerdictsCommittedAsTheyCome: a judge pass stopped half-way keeps the
// verdicts it finished (a kill loses a group at most, never a chunk of
// 4,096), and none that the cancellation produced.
func TestVerdictsCommittedAsTheyCome(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := &dataset.Query{ID: "1", Question: "q"}
	x := &execution{Run: &Run{byID: map[string]*dataset.Query{"1": q}}, st: st}
	const done = 40
	j := &stallingJudge{after: done, cancel: cancel}
	gens := make([]record.Generation, 100)
	for i := range gens {
		gens[i] = record.Generation{Key: fmt.Sprintf("%064x", i), QueryID: "1", Model: "m", SampleIndex: int32(i), OutputText: "x"}
	}
	err = x.judgeChunk(ctx, judgeEntry{cfg: config.Judge{Name: "stall"}, j: j, hash: "h"}, gens)
	if err == nil {
		t.Fatal("judgeChunk on a cancelled run returned nil")
	}
	var stored, scored int
	if err := st.Scores(context.Background(), "stall", func(s record.Score) error {
		stored++
		if s.Status == record.StatusScored {
			scored++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A worker may finish a verdict just as the cancellation lands: it is
	// dropped, so up to one verdict a worker can be missing.
	if stored > done || stored < done-runtime.GOMAXPROCS(0) || scored != stored {
		t.Fatalf("%d verdicts stored (%d scored) after a cancellation at the %dth; want the %d finished (less one a worker at most), and none of the cancellation's",
			stored, scored, done+1, done)
	}
}

// TestStaleTempsRemoved: temp files a killed export left beside the
// outputs are removed when a run takes the directory.
func TestStaleTempsRemoved(t *testing.T) {
	cfg := loadConfig(t, filepath.Join("..", "..", "examples", "quickstart", "dars.yaml"))
	cfg.Out = t.TempDir()
	dir := cfg.RunDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := []string{"generations.parquet.tmp-123", "manifest.json.tmp-9"}
	for _, n := range append(stale, "notes.tmp-keep") {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	run, err := Open(ctx, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if _, err := run.Execute(ctx, Sample); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s is still there (%v)", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.tmp-keep")); err != nil {
		t.Errorf("a file that is not an output's temp was removed: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") && e.Name() != "notes.tmp-keep" {
			t.Errorf("temp file left after the run: %s", e.Name())
		}
	}
}

// TestStoreLostRows: a store that holds fewer calls than the manifest
// counts (its -wal lost after a crash) stops the run before anything is
// paid again, and Recover brings the rows back from the Parquet files.
func TestStoreLostRows(t *testing.T) {
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
	db, err := sql.Open("sqlite", filepath.Join(run.Dir(), store.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM generations WHERE rowid % 10 = 0`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	calls := &callLog{}
	run.opts.Events = calls.event
	_, err = run.Execute(ctx, All)
	if !errors.Is(err, ErrDamagedStore) || !strings.Contains(err.Error(), "calls, fewer than the") {
		t.Fatalf("Execute on a store that lost rows = %v, want ErrDamagedStore", err)
	}
	if n, streams := calls.sent(record.PurposeSample, ""); streams != 0 || n != 0 {
		t.Fatalf("%d requests (%d streams) sent on a damaged store", n, streams)
	}
	rec, err := run.Recover(ctx)
	if err != nil || rec.Generations != 3750 || rec.Scores != 3750 || rec.Rewrites == 0 || len(rec.Moved) == 0 {
		t.Fatalf("Recover = %+v, %v", rec, err)
	}
	res, err := run.Execute(ctx, All)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := calls.sent(record.PurposeSample, ""); n != 0 || res.Manifest.Counts.Generations != 3750 {
		t.Fatalf("after Recover: %d requests, %d generations; want none paid again", n, res.Manifest.Counts.Generations)
	}
	// The rewrites log came back with the variants: the rewriter is not
	// asked again.
	if n, _ := calls.sent(record.PurposeRewrite, "sim-rewriter"); n != 0 {
		t.Fatalf("after Recover: %d rewriter requests; want none", n)
	}
}
