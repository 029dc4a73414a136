package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/store"
)

// The shared cache (cache: DIR in the run file) is a store of its own that
// several runs read and add to: a generation whose key is in it is the same
// request, answered once for every run.

// cacheWait is the longest a run waits for another run to release a shared
// cache.
const cacheWait = 2 * time.Minute

// openCache opens the shared cache, waiting while another run holds it:
// runs share a cache by taking turns for the moments they read or write it.
func (x *execution) openCache(ctx context.Context) (*store.Store, error) {
	dir := x.cfg.Resolve(x.cfg.Cache)
	deadline := time.Now().Add(cacheWait)
	delay := 100 * time.Millisecond
	for logged := false; ; {
		st, err := store.Open(ctx, dir)
		if err == nil || !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("cache: %w", storeProblem(err))
			}
			return st, nil
		}
		if !logged {
			x.opts.Log.Info("waiting for the cache: another run is using it", "cache", dir)
			logged = true
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// withCache runs fn on the open shared cache and closes it, returning the
// first error.
func (x *execution) withCache(ctx context.Context, fn func(*store.Store) error) (err error) {
	cache, err := x.openCache(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cache.Close(); err == nil {
			err = cerr
		}
	}()
	return fn(cache)
}

// cacheBatch is how many generations one transaction copies to or from the
// cache.
const cacheBatch = 2000

// batcher hands rows to put cacheBatch at a time.
type batcher struct {
	rows []record.Generation
	put  func([]record.Generation) error
	n    int // rows put
}

func (b *batcher) add(g record.Generation) error {
	if b.rows = append(b.rows, g); len(b.rows) == cacheBatch {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if len(b.rows) == 0 {
		return nil
	}
	b.n += len(b.rows)
	err := b.put(b.rows)
	b.rows = b.rows[:0]
	return err
}

// fromCache copies into the run store every sample of the plan that the
// run lacks and the cache holds, a batch at a time.
func (x *execution) fromCache(ctx context.Context) error {
	done, err := x.st.DoneKeys(ctx)
	if err != nil {
		return err
	}
	if done.Covers(x.keys) {
		return nil // every planned sample is stored already
	}
	b := &batcher{put: func(rows []record.Generation) error { return x.st.PutGenerations(ctx, rows) }}
	err = x.withCache(ctx, func(cache *store.Store) error {
		err := cache.Generations(ctx, func(g record.Generation) error {
			if g.Error != "" || !x.keys.Has(g.Key) || done.Has(g.Key) {
				return nil
			}
			return b.add(g)
		})
		if err != nil {
			return err
		}
		return b.flush()
	})
	if err == nil && b.n > 0 {
		x.opts.Log.Info("answered from the cache", "samples", b.n)
	}
	return err
}

// toCache adds the samples this pass made (those not in before, the
// store's keys when it started, cache copies included) to the cache, so
// later runs are answered from it. The cache is opened only when there is
// something to add.
func (x *execution) toCache(ctx context.Context, before *keyset.Set) error {
	var cache *store.Store
	b := &batcher{put: func(rows []record.Generation) error {
		if cache == nil {
			c, err := x.openCache(ctx)
			if err != nil {
				return err
			}
			cache = c
		}
		return cache.PutGenerations(ctx, rows)
	}}
	err := x.eachGeneration(ctx, func(g record.Generation) error {
		if g.Error != "" || before.Has(g.Key) {
			return nil
		}
		return b.add(g)
	})
	if err == nil {
		err = b.flush()
	}
	if cache != nil {
		if cerr := cache.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// callsFromCache copies into the run store the calls the cache holds that
// the store lacks: those of purpose by caller about the subjects, whose
// keys are wanted.
func (x *execution) callsFromCache(ctx context.Context, purpose, caller string, subjects []string, wanted *keyset.Set) error {
	if wanted.Len() == 0 {
		return nil
	}
	var rows []record.Generation
	err := x.withCache(ctx, func(cache *store.Store) error {
		for _, s := range subjects {
			err := cache.Calls(ctx, purpose, caller, s, func(g record.Generation) error {
				if g.Error == "" && wanted.Has(g.Key) {
					rows = append(rows, g)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(rows) == 0 {
		return err
	}
	x.opts.Log.Info("calls answered from the cache", "purpose", purpose, "caller", caller, "calls", len(rows))
	return x.st.PutGenerations(ctx, rows)
}

// callsToCache adds rows, calls this pass made, to the cache.
func (x *execution) callsToCache(ctx context.Context, rows []record.Generation) error {
	if len(rows) == 0 {
		return nil
	}
	return x.withCache(ctx, func(cache *store.Store) error { return cache.PutGenerations(ctx, rows) })
}
