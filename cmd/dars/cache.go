package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/store"
)

// cacheWait is the longest a run waits for another run to release a shared
// cache.
const cacheWait = 2 * time.Minute

// openCache opens the store named by the run file's cache key, waiting
// while another run holds it: runs share a cache by taking turns for the
// moments they read or write it.
func (a *app) openCache(ctx context.Context, dir string) (*store.Store, error) {
	deadline := time.Now().Add(cacheWait)
	delay := 100 * time.Millisecond
	for logged := false; ; {
		st, err := store.Open(dir)
		if err == nil || !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("cache: %w", err)
			}
			return st, nil
		}
		if !logged {
			a.log.Info("waiting for the cache: another run is using it", "cache", dir)
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

// cacheBatch is how many generations one transaction copies to or from the
// cache.
const cacheBatch = 2000

// fromCache copies into the run store every generation of the plan that the
// run lacks and the cache holds (an identical generation key is the same
// request), a batch at a time.
func (a *app) fromCache(ctx context.Context, env *runEnv, st *store.Store) error {
	done, err := st.DoneKeys(ctx)
	if err != nil {
		return err
	}
	if done.Covers(env.keys) {
		return nil // every planned sample is stored already
	}
	cache, err := a.openCache(ctx, env.cfg.Resolve(env.cfg.Cache))
	if err != nil {
		return err
	}
	var rows []record.Generation
	copied := 0
	put := func() error {
		copied += len(rows)
		err := st.PutGenerations(ctx, rows)
		rows = rows[:0]
		return err
	}
	err = cache.Generations(ctx, func(g record.Generation) error {
		if g.Error != "" || !env.keys.Has(g.Key) || done.Has(g.Key) {
			return nil
		}
		if rows = append(rows, g); len(rows) == cacheBatch {
			return put()
		}
		return nil
	})
	if err == nil && len(rows) > 0 {
		err = put()
	}
	if cerr := cache.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if copied > 0 {
		a.log.Info("answered from the cache", "samples", copied)
	}
	return nil
}

// toCache adds the generations this pass made (those not in before, the
// store's keys when it started, cache copies included) to the cache, so
// later runs are answered from it. The cache is opened only when there is
// something to add.
func (a *app) toCache(ctx context.Context, env *runEnv, st *store.Store, before *keyset.Set) error {
	var cache *store.Store
	var rows []record.Generation
	put := func() error {
		if cache == nil {
			c, err := a.openCache(ctx, env.cfg.Resolve(env.cfg.Cache))
			if err != nil {
				return err
			}
			cache = c
		}
		err := cache.PutGenerations(ctx, rows)
		rows = rows[:0]
		return err
	}
	err := env.eachGeneration(ctx, st, func(g record.Generation) error {
		if g.Error != "" || before.Has(g.Key) {
			return nil
		}
		if rows = append(rows, g); len(rows) == cacheBatch {
			return put()
		}
		return nil
	})
	if err == nil && len(rows) > 0 {
		err = put()
	}
	if cache != nil {
		if cerr := cache.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
