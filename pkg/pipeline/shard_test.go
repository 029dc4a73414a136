package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		v    string
		env  map[string]string
		want Shard
		err  bool
	}{
		{"", nil, Shard{}, false},
		{"0/4", nil, Shard{0, 4}, false},
		{"3/4", nil, Shard{3, 4}, false},
		{"4/4", nil, Shard{}, true},
		{"-1/4", nil, Shard{}, true},
		{"1/0", nil, Shard{}, true},
		{"1", nil, Shard{}, true},
		{"auto/4", map[string]string{"JOB_COMPLETION_INDEX": "2"}, Shard{2, 4}, false},
		{"auto/4", map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "3"}, Shard{2, 4}, false},
		{"auto/4", map[string]string{"SLURM_ARRAY_TASK_ID": "x"}, Shard{}, true},
		{"auto/4", nil, Shard{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			got, err := ParseShard(tt.v, env(tt.env))
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("ParseShard(%q) = %v, %v; want %v, error %v", tt.v, got, err, tt.want, tt.err)
			}
		})
	}
}

// TestShardsPartition: every query falls in exactly one shard, and the
// shards are roughly even.
func TestShardsPartition(t *testing.T) {
	const k, n = 4, 4000
	counts := make([]int, k)
	for q := 0; q < n; q++ {
		id := fmt.Sprint(q)
		owners := 0
		for i := 0; i < k; i++ {
			if (Shard{i, k}).Holds(id) {
				owners++
				counts[i]++
			}
		}
		if owners != 1 {
			t.Fatalf("query %s is in %d shards", id, owners)
		}
	}
	for i, c := range counts {
		if c < n/k*8/10 || c > n/k*12/10 {
			t.Errorf("shard %d holds %d of %d queries", i, c, n)
		}
	}
}

// TestCompleteShards: the parts must be every shard of one split, each with
// its generations, and a directory only like a shard's (a backup copy) is
// refused rather than read as a part.
func TestCompleteShards(t *testing.T) {
	mk := func(t *testing.T, names ...string) []string {
		root := t.TempDir()
		var dirs []string
		for _, n := range names {
			d := filepath.Join(root, n)
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "generations.parquet"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, d)
		}
		return dirs
	}
	for _, tt := range []struct {
		names []string
		want  string // "" for no error
	}{
		{[]string{"shard-0-of-2", "shard-1-of-2"}, ""},
		{[]string{"shard-0-of-2"}, "shard 1/2 not done yet"},
		{[]string{"shard-0-of-2", "shard-1-of-3"}, "belongs to a split in 3"},
		{[]string{"shard-0-of-2", "shard-1-of-2", "shard-1-of-2.bak"}, "is not a shard directory"},
		{[]string{"shard-00-of-2", "shard-1-of-2"}, "is not a shard directory"},
	} {
		err := completeShards(mk(t, tt.names...))
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("completeShards(%q) = %v, want %q", tt.names, err, tt.want)
		}
	}
}
