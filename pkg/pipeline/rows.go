package pipeline

import (
	"context"
	"errors"
	"iter"
	"path/filepath"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/record"
)

// eachGeneration calls fn for every stored sample of the plan, in output
// order, with the shard parts' samples merged in (of a key both hold, the
// store's row unless only the part's is without error: the sample stage
// counts either as done). Rows stream from the store and the part files:
// memory does not grow with the run. It stops at fn's first error and
// returns it.
func (x *execution) eachGeneration(ctx context.Context, fn func(record.Generation) error) error {
	streams := []func(func(record.Generation) error) error{
		func(emit func(record.Generation) error) error { return x.st.Generations(ctx, emit) },
	}
	if x.parts != nil {
		for _, d := range x.parts.dirs {
			path := filepath.Join(d, "generations.parquet")
			streams = append(streams, func(emit func(record.Generation) error) error {
				return parquetio.EachGeneration(ctx, path, emit)
			})
		}
	}
	answered := func(kept, other *record.Generation) bool { return kept.Error != "" && other.Error == "" }
	return merge(record.CompareGenerations, answered, func(g record.Generation) error {
		if !x.keys.Has(g.Key) {
			return nil
		}
		return fn(g)
	}, streams...)
}

// eachScore calls fn for every stored verdict on the plan's samples by a
// configured judge as configured now, in output order, with the shard
// parts' verdicts merged in (a decided verdict wins over one a failed
// judge call left undecided). A verdict left undecided reads as
// record.StatusError, as every output shows it. It stops at fn's first
// error and returns it.
func (x *execution) eachScore(ctx context.Context, fn func(record.Score) error) error {
	// Only verdicts of each judge's current configuration count: a changed
	// judge's old verdicts wait for `dars judge` to replace them.
	current := make(map[string]*keyset.Set, len(x.judges))
	for _, j := range x.judges {
		keys, err := x.st.ScoredKeys(ctx, j.cfg.Name, j.hash)
		if err != nil {
			return err
		}
		current[j.cfg.Name] = keys
	}
	streams := []func(func(record.Score) error) error{
		func(emit func(record.Score) error) error {
			return x.st.Scores(ctx, "", func(s record.Score) error {
				if !current[s.Judge].Has(s.GenerationKey) {
					return nil
				}
				return emit(s)
			})
		},
	}
	if x.parts != nil {
		for i, d := range x.parts.dirs {
			if x.parts.current[i] == nil {
				continue // no scores.parquet
			}
			path := filepath.Join(d, "scores.parquet")
			streams = append(streams, func(emit func(record.Score) error) error {
				return parquetio.EachScore(ctx, path, func(s record.Score) error {
					if !x.parts.current[i][s.Judge] {
						return nil
					}
					return emit(s)
				})
			})
		}
	}
	decidedWins := func(kept, other *record.Score) bool {
		return kept.Status == record.StatusCallFailed && other.Status != record.StatusCallFailed
	}
	return merge(record.CompareScores, decidedWins, func(s record.Score) error {
		if !x.keys.Has(s.GenerationKey) {
			return nil
		}
		if s.Status == record.StatusCallFailed {
			s.Status = record.StatusError
		}
		return fn(s)
	}, streams...)
}

// merge calls fn for every row of the streams in cmp order; each stream
// yields its rows in that order with no two equal. Rows of several streams
// that compare equal are one row: the first stream's, unless prefer(kept,
// other) says a later one's is better. Only one row per stream is held. It
// stops at the first error of fn or of a stream and returns it.
func merge[R any](cmp func(a, b *R) int, prefer func(kept, other *R) bool, fn func(R) error, streams ...func(emit func(R) error) error) error {
	if len(streams) == 1 {
		return streams[0](fn)
	}
	type head struct {
		row  R
		ok   bool
		next func() (R, bool)
		stop func()
		err  *error
	}
	heads := make([]*head, len(streams))
	for i, stream := range streams {
		var err error
		seq := func(yield func(R) bool) {
			err = stream(func(r R) error {
				if !yield(r) {
					return errStopMerge
				}
				return nil
			})
		}
		next, stop := iter.Pull(iter.Seq[R](seq))
		defer stop()
		h := &head{next: next, stop: stop, err: &err}
		h.row, h.ok = next()
		heads[i] = h
	}
	streamErr := func() error {
		for _, h := range heads {
			if *h.err != nil && !errors.Is(*h.err, errStopMerge) {
				return *h.err
			}
		}
		return nil
	}
	for {
		var min *head
		for _, h := range heads {
			if h.ok && (min == nil || cmp(&h.row, &min.row) < 0) {
				min = h
			}
		}
		if min == nil {
			return streamErr()
		}
		row := min.row
		for _, h := range heads {
			for h.ok && cmp(&h.row, &row) == 0 {
				if prefer(&row, &h.row) {
					row = h.row
				}
				h.row, h.ok = h.next()
			}
		}
		if err := streamErr(); err != nil {
			return err
		}
		if err := fn(row); err != nil {
			return err
		}
	}
}

// errStopMerge ends a stream the merge no longer reads.
var errStopMerge = errors.New("merge stopped")
