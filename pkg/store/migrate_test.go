package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/darslabs/dars/pkg/record"
)

// v1Store is a store written by dars at schema 1: the store of the run in
// the repository's testdata/store-v1 (see its README).
var v1Store = filepath.Join("..", "..", "testdata", "store-v1", "out", "v1", DBFile)

// copyStore copies the store database at path into a new directory and
// returns the directory.
func copyStore(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMigrateV1 opens a store written by dars at schema 1 (v1Store,
// see its README: a sim run with a numeric judge, an llm judge voting twice
// on a sim model, and an llm judge whose endpoint refused every call) and
// checks that it is migrated in place and read as schema 2 reads it.
func TestMigrateV1(t *testing.T) {
	ctx := context.Background()
	dir := copyStore(t, v1Store)
	if _, err := OpenReader(ctx, dir); !errors.Is(err, ErrOlderSchema) {
		t.Fatalf("OpenReader on an unmigrated store = %v, want ErrOlderSchema", err)
	}
	s := openT(t, dir)
	if v, _, _ := s.Meta(ctx, "schema_version"); v != strconv.Itoa(SchemaVersion) {
		t.Fatalf("schema_version = %q after the migration, want %d", v, SchemaVersion)
	}
	samples := map[string]record.Generation{}
	if err := s.Generations(ctx, func(g record.Generation) error {
		if g.Purpose != record.PurposeSample || g.Caller != "" || g.Subject != "" {
			t.Errorf("sample %s: purpose %q, caller %q, subject %q", g.Key, g.Purpose, g.Caller, g.Subject)
		}
		samples[g.Key] = g
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// 4 variants (query 1 has a rewrite) x 2 candidates x 2 samples.
	if len(samples) != 16 {
		t.Fatalf("%d samples after the migration, want 16", len(samples))
	}
	if done, err := s.DoneKeys(ctx); err != nil || done.Len() != 16 {
		t.Fatalf("DoneKeys = %v (%v), want the 16 samples", done.Len(), err)
	}
	hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	calls := map[string]int{}
	for key, g := range samples {
		for _, judge := range []string{"rubric", "offline"} {
			var votes []int32
			err := s.Calls(ctx, record.PurposeJudge, judge, key, func(c record.Generation) error {
				votes = append(votes, c.SampleIndex)
				if c.QueryID != g.QueryID || c.VariantID != g.VariantID {
					t.Errorf("%s's call about %s filed under (%q, %d), want the sample's (%q, %d)",
						judge, key, c.QueryID, c.VariantID, g.QueryID, g.VariantID)
				}
				if !hex.MatchString(c.Key) || c.Key == key {
					t.Errorf("call key %q", c.Key)
				}
				if (judge == "offline") != (c.Error != "") {
					t.Errorf("%s's call: error %q", judge, c.Error)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			calls[judge] += len(votes)
			if want := map[string]int{"rubric": 2, "offline": 1}[judge]; len(votes) != want {
				t.Errorf("%s has %d calls about %s, want %d", judge, len(votes), key, want)
			}
		}
	}
	spend, err := s.Spend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byCaller := map[string]int64{}
	for _, sp := range spend {
		byCaller[sp.Purpose+"/"+sp.Caller] += sp.Calls
	}
	if byCaller["sample/"] != 16 || byCaller["judge/rubric"] != 32 || byCaller["judge/offline"] != 16 || len(byCaller) != 3 {
		t.Errorf("spend by purpose and caller = %v, want 16 samples, 32 rubric and 16 offline calls and nothing else", byCaller)
	}
	statuses := map[string]map[string]int{}
	if err := s.Scores(ctx, "", func(r record.Score) error {
		if statuses[r.Judge] == nil {
			statuses[r.Judge] = map[string]int{}
		}
		statuses[r.Judge][r.Status]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if statuses["offline"][record.StatusCallFailed] != 16 || statuses["answer"][record.StatusScored] != 16 || statuses["rubric"][record.StatusUnscored] != 16 {
		t.Errorf("verdict statuses after the migration: %v", statuses)
	}
	// A second Open finds schema 2 and changes nothing.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	if got := countRows(t, s); got.Generations != 16+32+16 || got.Scores != 48 {
		t.Errorf("rows after reopening: %+v", got)
	}
	if _, err := OpenReader(ctx, dir); err != nil {
		t.Errorf("OpenReader on the migrated store: %v", err)
	}
}

// v2Store is a store written by dars at schema 2 (testdata/store-v2).
var v2Store = filepath.Join("..", "..", "testdata", "store-v2", DBFile)

// TestMigrateV2 opens a store written by dars at schema 2 and checks that
// it is migrated in place, every call kept with its purpose, and its
// reasoning tokens 0 (they were not recorded).
func TestMigrateV2(t *testing.T) {
	ctx := context.Background()
	dir := copyStore(t, v2Store)
	if _, err := OpenReader(ctx, dir); !errors.Is(err, ErrOlderSchema) {
		t.Fatalf("OpenReader on an unmigrated store = %v, want ErrOlderSchema", err)
	}
	s := openT(t, dir)
	if v, _, _ := s.Meta(ctx, "schema_version"); v != strconv.Itoa(SchemaVersion) {
		t.Fatalf("schema_version = %q after the migration, want %d", v, SchemaVersion)
	}
	if _, err := s.ID(ctx); err != nil {
		t.Fatal(err)
	}
	var samples int
	err := s.Generations(ctx, func(g record.Generation) error {
		samples++
		if g.ReasoningTokens != 0 || g.Purpose != record.PurposeSample {
			t.Errorf("sample %s: purpose %q, reasoning tokens %d", g.Key, g.Purpose, g.ReasoningTokens)
		}
		return nil
	})
	if err != nil || samples != 16 {
		t.Fatalf("%d samples after the migration (%v), want 16", samples, err)
	}
	spend, err := s.Spend(ctx)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	for _, sp := range spend {
		calls[sp.Purpose+"/"+sp.Caller] += sp.Calls
	}
	if calls["sample/"] != 16 || calls["judge/rubric"] != 32 {
		t.Errorf("calls by purpose after the migration: %v", calls)
	}
}

// v3Store is a store written by dars at schema 3 (testdata/store-v3).
var v3Store = filepath.Join("..", "..", "testdata", "store-v3", DBFile)

// TestMigrateV3 opens a store written by dars at schema 3 and checks that
// it is migrated in place: its samples kept, an empty rewrites log that
// takes rows.
func TestMigrateV3(t *testing.T) {
	ctx := context.Background()
	dir := copyStore(t, v3Store)
	if _, err := OpenReader(ctx, dir); !errors.Is(err, ErrOlderSchema) {
		t.Fatalf("OpenReader on an unmigrated store = %v, want ErrOlderSchema", err)
	}
	s := openT(t, dir)
	if v, _, _ := s.Meta(ctx, "schema_version"); v != strconv.Itoa(SchemaVersion) {
		t.Fatalf("schema_version = %q after the migration, want %d", v, SchemaVersion)
	}
	var samples int
	if err := s.Generations(ctx, func(record.Generation) error { samples++; return nil }); err != nil || samples != 16 {
		t.Fatalf("%d samples after the migration (%v), want 16", samples, err)
	}
	var logged int
	if err := s.Rewrites(ctx, func(record.Rewrite) error { logged++; return nil }); err != nil || logged != 0 {
		t.Fatalf("%d rewrites after the migration (%v), want 0", logged, err)
	}
	r := record.Rewrite{QueryID: "1", Attempt: 0, Text: "x", Status: record.RewriteKept, VariantID: 1, Rewriter: "big", CallKey: "k"}
	if err := s.PutRewrites(ctx, []record.Rewrite{r}, []record.Variant{{QueryID: "1", VariantID: 1, Source: record.SourceRewrite, Text: "x", Rewriter: "big"}}); err != nil {
		t.Fatalf("PutRewrites on the migrated store: %v", err)
	}
}
