package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/record"
)

// Shard is one part of a run split across processes or machines
// (DESIGN §10): the queries whose stable hash falls in part Index of Count.
// The zero Shard is the whole run.
type Shard struct{ Index, Count int }

// Active reports whether s is a part of a run rather than the whole.
func (s Shard) Active() bool { return s.Count > 0 }

// Dir is the shard's own directory under the run directory.
func (s Shard) Dir() string { return fmt.Sprintf("shard-%d-of-%d", s.Index, s.Count) }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Holds reports whether the shard owns queryID. The hash ignores the run
// seed, so a query stays in its shard whatever else changes.
func (s Shard) Holds(queryID string) bool {
	if !s.Active() {
		return true
	}
	sum := sha256.Sum256([]byte("dars-shard\x00" + queryID))
	return binary.BigEndian.Uint64(sum[:8])%uint64(s.Count) == uint64(s.Index)
}

// shardIndexVars are the variables job runners set to a task's index.
var shardIndexVars = [...]string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"}

// ParseShard reads --shard i/k; i may be "auto" to take the index a job
// runner sets (Kubernetes Indexed Jobs, Slurm arrays, counted from
// SLURM_ARRAY_TASK_MIN when set), looked up with getenv. "" is the whole
// run.
func ParseShard(v string, getenv func(string) string) (Shard, error) {
	if v == "" {
		return Shard{}, nil
	}
	is, ks, ok := strings.Cut(v, "/")
	k, err := strconv.Atoi(ks)
	if !ok || err != nil || k < 1 {
		return Shard{}, fmt.Errorf("--shard %q: want i/k with k >= 1, e.g. 0/4 or auto/4", v)
	}
	if is == "auto" {
		for _, name := range shardIndexVars {
			if s := getenv(name); s != "" {
				i, err := strconv.Atoi(s)
				if err != nil {
					return Shard{}, fmt.Errorf("--shard auto: %s=%q is not an integer", name, s)
				}
				if name == "SLURM_ARRAY_TASK_ID" && getenv("SLURM_ARRAY_TASK_MIN") != "" {
					lo, err := strconv.Atoi(getenv("SLURM_ARRAY_TASK_MIN"))
					if err != nil {
						return Shard{}, fmt.Errorf("--shard auto: SLURM_ARRAY_TASK_MIN=%q is not an integer", getenv("SLURM_ARRAY_TASK_MIN"))
					}
					i -= lo
				}
				is = strconv.Itoa(i)
				break
			}
		}
		if is == "auto" {
			return Shard{}, fmt.Errorf("--shard auto/%d: none of %s is set", k, strings.Join(shardIndexVars[:], ", "))
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= k {
		return Shard{}, fmt.Errorf("--shard %q: want an index i with 0 <= i < %d", v, k)
	}
	return Shard{Index: i, Count: k}, nil
}

// parts is what the shards of a run have written: read-only extensions of
// the run store for the unsharded run that gathers them. Only their keys
// are held; their rows stream from the files when read.
type parts struct {
	dirs   []string               // the shard directories, each with its generations.parquet
	done   *keyset.Set            // planned part generations without error
	scored map[string]*keyset.Set // judge → planned generation keys with a verdict of the judge as configured now
	// current[i][judge] reports whether dirs[i]'s verdicts of judge are of
	// the judge as configured now.
	current []map[string]bool
}

// findParts finds the shard directories under the run directory, checks
// that they are every part of one split, and reads their keys: the planned
// generations they hold and the verdicts of judges whose configuration is
// unchanged. It returns nil when there is none.
func (r *Run) findParts(ctx context.Context) (*parts, error) {
	dirs, err := filepath.Glob(filepath.Join(r.dir, "shard-*-of-*"))
	if err != nil || len(dirs) == 0 {
		return nil, err
	}
	if err := completeShards(dirs); err != nil {
		return nil, err
	}
	p := &parts{dirs: dirs, scored: map[string]*keyset.Set{}, current: make([]map[string]bool, len(dirs))}
	var done keyset.Builder
	scored := map[string]*keyset.Builder{}
	for i, d := range dirs {
		err := parquetio.EachGeneration(ctx, filepath.Join(d, "generations.parquet"), func(g record.Generation) error {
			if g.Error == "" && r.keys.Has(g.Key) {
				done.Add(g.Key) // planned, so a well-formed key
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read shard part: %w", err)
		}
		path := filepath.Join(d, "scores.parquet")
		meta, err := parquetio.ReadMeta(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read shard part: %w", err)
		}
		p.current[i] = map[string]bool{}
		for _, j := range r.judges {
			p.current[i][j.cfg.Name] = meta[judgeHashKey(j.cfg.Name)] == j.hash
		}
		err = parquetio.EachScore(ctx, path, func(s record.Score) error {
			if !p.current[i][s.Judge] || !r.keys.Has(s.GenerationKey) {
				return nil
			}
			if scored[s.Judge] == nil {
				scored[s.Judge] = &keyset.Builder{}
			}
			return scored[s.Judge].Add(s.GenerationKey)
		})
		if err != nil {
			return nil, fmt.Errorf("read shard part: %w", err)
		}
	}
	p.done = done.Set()
	for j, b := range scored {
		p.scored[j] = b.Set()
	}
	return p, nil
}

// completeShards checks that the shard directories are every part of one
// split, each with its generations: labels over a missing shard would be
// labels of a smaller data set, with costs normalised over it.
func completeShards(dirs []string) error {
	count, have := 0, map[int]bool{}
	for _, d := range dirs {
		var i, k int
		n, _ := fmt.Sscanf(filepath.Base(d), "shard-%d-of-%d", &i, &k)
		if n != 2 || k < 1 || i < 0 || i >= k || filepath.Base(d) != (Shard{Index: i, Count: k}).Dir() {
			return problem.Input(fmt.Errorf("shard parts: %s is not a shard directory (shard-i-of-k)", d), "move it out of the run directory")
		}
		if count != 0 && k != count {
			return problem.Input(fmt.Errorf("shard parts: %s belongs to a split in %d, others to a split in %d", d, k, count),
				"keep the parts of one split only")
		}
		count = k
		if _, err := os.Stat(filepath.Join(d, "generations.parquet")); err == nil {
			have[i] = true
		}
	}
	var missing []string
	for i := 0; i < count; i++ {
		if !have[i] {
			missing = append(missing, fmt.Sprintf("%d/%d", i, count))
		}
	}
	if len(missing) > 0 {
		return problem.Input(fmt.Errorf("shard parts: shard %s not done yet (no generations.parquet)", strings.Join(missing, ", ")),
			"run `dars run --shard i/k` for each missing shard first")
	}
	return nil
}

// judgeHashKey is the scores.parquet metadata key that records the
// configuration hash of a judge's verdicts.
func judgeHashKey(judge string) string { return "dars.judge_hash." + judge }
