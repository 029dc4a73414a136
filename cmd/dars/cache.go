package main

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// fromCache copies into the run store every generation of the plan that the
// run lacks and the cache holds (an identical generation key is the same
// request).
func (a *app) fromCache(ctx context.Context, env *runEnv, st *store.Store) error {
	done, err := st.DoneKeys(ctx)
	if err != nil {
		return err
	}
	want := make(map[string]struct{})
	for k := range env.keys {
		if _, ok := done[k]; !ok {
			want[k] = struct{}{}
		}
	}
	copied := make(map[string]struct{})
	if len(want) == 0 {
		return nil
	}
	cache, err := a.openCache(ctx, env.cfg.Resolve(env.cfg.Cache))
	if err != nil {
		return err
	}
	var rows []record.Generation
	err = cache.Generations(ctx, func(g record.Generation) error {
		if _, ok := want[g.Key]; ok && g.Error == "" {
			rows = append(rows, g)
			copied[g.Key] = struct{}{}
		}
		return nil
	})
	if cerr := cache.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for len(rows) > 0 {
		n := min(len(rows), 2000)
		if err := st.PutGenerations(ctx, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	if len(copied) > 0 {
		a.log.Info("answered from the cache", "samples", len(copied))
	}
	return nil
}

// toCache adds the generations this pass made (those not in before, the
// store's keys when it started, cache copies included) to the cache, so
// later runs are answered from it.
func (a *app) toCache(ctx context.Context, env *runEnv, st *store.Store, before map[string]struct{}) error {
	gens, err := env.generations(ctx, st)
	if err != nil {
		return err
	}
	var rows []record.Generation
	for _, g := range gens {
		if _, ok := before[g.Key]; !ok && g.Error == "" {
			rows = append(rows, g)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	cache, err := a.openCache(ctx, env.cfg.Resolve(env.cfg.Cache))
	if err != nil {
		return err
	}
	for len(rows) > 0 && err == nil {
		n := min(len(rows), 2000)
		err = cache.PutGenerations(ctx, rows[:n])
		rows = rows[n:]
	}
	if cerr := cache.Close(); err == nil {
		err = cerr
	}
	return err
}
