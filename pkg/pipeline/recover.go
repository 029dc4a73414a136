package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/darslabs/dars/pkg/judge"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/store"
)

// Recovered is what Recover rebuilt.
type Recovered struct {
	// Moved are the paths the damaged store's files were moved to: kept,
	// never deleted.
	Moved       []string `json:"moved"`
	Variants    int      `json:"variants"`
	Rewrites    int      `json:"rewrites"` // rows of the rewrites log
	Generations int64    `json:"generations"`
	Scores      int64    `json:"scores"`
	// JudgeCallsLost counts the llm-judge calls the last manifest counted:
	// they are not in the exported files, so the next judge pass asks for
	// the ones its verdicts still need.
	JudgeCallsLost int64         `json:"judge_calls_lost"`
	Store          ManifestStore `json:"store"`
}

// Recover rebuilds the run store from the run's exported files, for a
// store that was lost or damaged (ErrDamagedStore): it moves the store's
// files aside, makes a new store, fills it from variants.parquet,
// generations.parquet and scores.parquet (each verdict under the judge
// configuration it was given with, from the file's dars.judge_hash.*
// metadata), and records the new store in manifest.json, so the next run
// pays for nothing the files hold. The llm judges' own calls are not in
// the files.
func (r *Run) Recover(ctx context.Context) (res Recovered, err error) {
	gens := r.path("generations.parquet")
	if _, err := os.Stat(gens); err != nil {
		return res, problem.Input(fmt.Errorf("recover: nothing to recover from in %s: %w", r.dir, err),
			"dars recover rebuilds a store from a run's exported generations.parquet; without one, `dars run` starts the run")
	}
	st, moved, err := store.Rebuild(ctx, r.dir)
	res.Moved = moved
	if err != nil {
		return res, storeProblem(err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	vs, err := parquetio.ReadVariants(r.path("variants.parquet"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	if err := st.PutVariants(ctx, vs); err != nil {
		return res, err
	}
	res.Variants = len(vs)
	// The rewrites log: without it a recovered run would ask the rewriter
	// again from attempt 0, though the variants it kept are back.
	ws, err := parquetio.ReadRewrites(r.path("rewrites.parquet"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	if err := st.PutRewrites(ctx, ws, nil); err != nil {
		return res, err
	}
	res.Rewrites = len(ws)
	b := &batcher{put: func(rows []record.Generation) error { return st.PutGenerations(ctx, rows) }}
	err = parquetio.EachGeneration(ctx, gens, func(g record.Generation) error {
		g.Purpose = record.PurposeSample
		return b.add(g)
	})
	if err == nil {
		err = b.flush()
	}
	if err != nil {
		return res, err
	}
	res.Generations = int64(b.n)
	if res.Scores, err = recoverScores(ctx, st, r.path("scores.parquet")); err != nil {
		return res, err
	}
	if res.Store.ID, err = st.ID(ctx); err != nil {
		return res, err
	}
	if res.Store.Size, err = st.Size(ctx); err != nil {
		return res, err
	}
	res.JudgeCallsLost, err = r.recordStore(res.Store)
	return res, err
}

// recoverScores stores the verdicts of a scores.parquet file, each under
// its judge's configuration hash from the file's metadata. A verdict a
// failed judge call left undecided (exported as an error whose detail says
// so) is stored as undecided again, so the next judge pass asks again.
func recoverScores(ctx context.Context, st *store.Store, path string) (int64, error) {
	meta, err := parquetio.ReadMeta(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	byJudge := map[string][]record.Score{}
	var n int64
	flush := func(j string) error {
		err := st.PutScores(ctx, byJudge[j], meta[judgeHashKey(j)])
		byJudge[j] = byJudge[j][:0]
		return err
	}
	err = parquetio.EachScore(ctx, path, func(s record.Score) error {
		if s.Status == record.StatusError && strings.HasPrefix(s.Detail, judge.LLMCallFailed) {
			s.Status = record.StatusCallFailed
		}
		n++
		if byJudge[s.Judge] = append(byJudge[s.Judge], s); len(byJudge[s.Judge]) == cacheBatch {
			return flush(s.Judge)
		}
		return nil
	})
	for j := range byJudge {
		if err == nil {
			err = flush(j)
		}
	}
	return n, err
}

// recordStore writes the rebuilt store's id and size into the run's
// manifest.json, keeping every other field, and returns how many llm-judge
// calls the manifest counted. A run without a manifest is left without.
func (r *Run) recordStore(ms ManifestStore) (judgeCalls int64, err error) {
	path := r.path("manifest.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, fmt.Errorf("recover: read %s: %w", path, err)
	}
	var calls []ManifestJudgeCalls
	if raw, ok := m["judge_calls"]; ok {
		if err := json.Unmarshal(raw, &calls); err != nil {
			return 0, fmt.Errorf("recover: read %s: %w", path, err)
		}
	}
	for _, c := range calls {
		judgeCalls += c.Calls
	}
	if m["store"], err = json.Marshal(ms); err != nil {
		return judgeCalls, err
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return judgeCalls, err
	}
	return judgeCalls, parquetio.WriteFileAtomic(path, append(out, '\n'))
}
