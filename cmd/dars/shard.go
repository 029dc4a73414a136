package main

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/record"
)

// shard is one part of a run split across processes or machines
// (DESIGN §10): the queries whose stable hash falls in part index of count.
// The zero shard is the whole run.
type shard struct{ index, count int }

func (s shard) active() bool { return s.count > 0 }

// dir is the shard's own directory under the run directory.
func (s shard) dir() string { return fmt.Sprintf("shard-%d-of-%d", s.index, s.count) }

func (s shard) String() string { return fmt.Sprintf("%d/%d", s.index, s.count) }

// holds reports whether the shard owns queryID. The hash ignores the run
// seed, so a query stays in its shard whatever else changes.
func (s shard) holds(queryID string) bool {
	if !s.active() {
		return true
	}
	sum := sha256.Sum256([]byte("dars-shard\x00" + queryID))
	return binary.BigEndian.Uint64(sum[:8])%uint64(s.count) == uint64(s.index)
}

// shardIndexVars are the variables job runners set to a task's index.
var shardIndexVars = []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"}

// parseShard reads --shard i/k; i may be "auto" to take the index a job
// runner sets (Kubernetes Indexed Jobs, Slurm arrays, counted from
// SLURM_ARRAY_TASK_MIN when set).
func parseShard(v string, getenv func(string) string) (shard, error) {
	if v == "" {
		return shard{}, nil
	}
	is, ks, ok := strings.Cut(v, "/")
	k, err := strconv.Atoi(ks)
	if !ok || err != nil || k < 1 {
		return shard{}, fmt.Errorf("--shard %q: want i/k with k >= 1, e.g. 0/4 or auto/4", v)
	}
	if is == "auto" {
		for _, name := range shardIndexVars {
			if s := getenv(name); s != "" {
				i, err := strconv.Atoi(s)
				if err != nil {
					return shard{}, fmt.Errorf("--shard auto: %s=%q is not an integer", name, s)
				}
				if name == "SLURM_ARRAY_TASK_ID" && getenv("SLURM_ARRAY_TASK_MIN") != "" {
					lo, err := strconv.Atoi(getenv("SLURM_ARRAY_TASK_MIN"))
					if err != nil {
						return shard{}, fmt.Errorf("--shard auto: SLURM_ARRAY_TASK_MIN=%q is not an integer", getenv("SLURM_ARRAY_TASK_MIN"))
					}
					i -= lo
				}
				is = strconv.Itoa(i)
				break
			}
		}
		if is == "auto" {
			return shard{}, fmt.Errorf("--shard auto/%d: none of %s is set", k, strings.Join(shardIndexVars, ", "))
		}
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 || i >= k {
		return shard{}, fmt.Errorf("--shard %q: want an index i with 0 <= i < %d", v, k)
	}
	return shard{index: i, count: k}, nil
}

// parts is what the shards of a run have written: read-only extensions of
// the run store for the unsharded commands that gather them.
type parts struct {
	gens   []record.Generation
	scores []record.Score
	done   *keyset.Set            // part generations without error
	scored map[string]*keyset.Set // judge → generation keys with a current verdict
}

// loadParts reads every shard directory's generations.parquet and
// scores.parquet under the run directory, keeping only the plan's
// generations and verdicts of judges whose configuration is unchanged.
func (env *runEnv) loadParts() (*parts, error) {
	dirs, err := filepath.Glob(filepath.Join(env.dir, "shard-*-of-*"))
	if err != nil || len(dirs) == 0 {
		return nil, err
	}
	if err := completeShards(dirs); err != nil {
		return nil, err
	}
	p := &parts{scored: map[string]*keyset.Set{}}
	var done keyset.Builder
	scored := map[string]*keyset.Builder{}
	hashes := map[string]string{}
	for _, j := range env.judges {
		hashes[j.cfg.Name] = j.hash
	}
	for _, d := range dirs {
		gens, err := parquetio.ReadGenerations(filepath.Join(d, "generations.parquet"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read shard part: %w", err)
		}
		for _, g := range gens {
			if env.keys.Has(g.Key) {
				p.gens = append(p.gens, g)
				if g.Error == "" {
					done.Add(g.Key) // planned, so a well-formed key
				}
			}
		}
		path := filepath.Join(d, "scores.parquet")
		meta, err := parquetio.ReadMeta(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read shard part: %w", err)
		}
		scores, err := parquetio.ReadScores(path)
		if err != nil {
			return nil, fmt.Errorf("read shard part: %w", err)
		}
		for _, s := range scores {
			h, ok := hashes[s.Judge]
			if !env.keys.Has(s.GenerationKey) || !ok || meta[judgeHashKey(s.Judge)] != h {
				continue
			}
			p.scores = append(p.scores, s)
			if scored[s.Judge] == nil {
				scored[s.Judge] = &keyset.Builder{}
			}
			scored[s.Judge].Add(s.GenerationKey)
		}
	}
	// Parts are written sorted, one file per shard: sorting all of them puts
	// them in output order for the merge with the store.
	slices.SortFunc(p.gens, cmpGeneration)
	slices.SortFunc(p.scores, cmpScore)
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
		if n, _ := fmt.Sscanf(filepath.Base(d), "shard-%d-of-%d", &i, &k); n != 2 || k < 1 || i < 0 || i >= k {
			return badInput(fmt.Errorf("shard parts: %s is not a shard directory (shard-i-of-k)", d), "move it out of the run directory")
		}
		if count != 0 && k != count {
			return badInput(fmt.Errorf("shard parts: %s belongs to a split in %d, others to a split in %d", d, k, count),
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
		return badInput(fmt.Errorf("shard parts: shard %s not done yet (no generations.parquet)", strings.Join(missing, ", ")),
			"run `dars run --shard i/k` for each missing shard first")
	}
	return nil
}

// judgeHashKey is the scores.parquet metadata key (after "dars.") that
// records the configuration hash of a judge's verdicts.
func judgeHashKey(judge string) string { return "dars.judge_hash." + judge }

// mergeSorted calls fn for every row of stream (which yields rows in
// cmp order) and of part (sorted by cmp), in cmp order; a part row that
// is the same as a stream row is left out, the stream's taken. Only part is
// held in memory. It stops at fn's first error and returns it.
func mergeSorted[R any](part []R, cmp func(a, b R) int, same func(a, b *R) bool, fn func(R) error, stream func(emit func(R) error) error) error {
	err := stream(func(r R) error {
		for len(part) > 0 && cmp(part[0], r) < 0 {
			if err := fn(part[0]); err != nil {
				return err
			}
			part = part[1:]
		}
		for len(part) > 0 && cmp(part[0], r) == 0 && same(&part[0], &r) {
			part = part[1:]
		}
		return fn(r)
	})
	if err != nil {
		return err
	}
	for i := range part {
		if err := fn(part[i]); err != nil {
			return err
		}
	}
	return nil
}

// cmpGeneration orders generations as generations.parquet is sorted.
func cmpGeneration(a, b record.Generation) int {
	return cmpRow(a.QueryID, b.QueryID, a.VariantID, b.VariantID, a.Model, b.Model, a.SampleIndex, b.SampleIndex, a.Key, b.Key)
}

// cmpScore orders verdicts as scores.parquet is sorted: by generation, then
// judge.
func cmpScore(a, b record.Score) int {
	if c := cmpRow(a.QueryID, b.QueryID, a.VariantID, b.VariantID, a.Model, b.Model, a.SampleIndex, b.SampleIndex, a.GenerationKey, b.GenerationKey); c != 0 {
		return c
	}
	return cmp.Compare(a.Judge, b.Judge)
}

// cmpRow orders rows as every output is sorted: query id (record.CompareQueryID),
// variant, model, sample index, then key.
func cmpRow(qa, qb string, va, vb int32, ma, mb string, sa, sb int32, ka, kb string) int {
	if c := record.CompareQueryID(qa, qb); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(va, vb), cmp.Compare(ma, mb), cmp.Compare(sa, sb), cmp.Compare(ka, kb))
}
