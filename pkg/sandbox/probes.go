package sandbox

import (
	"context"
	"strings"
	"sync"
)

// Probes caches what New and Probe find out about interpreters: where a
// command's real executable is (asking through a shim such as pyenv takes
// a good part of a second) and the isolation its programs get (a probe
// starts the interpreter up to twice). One Probes shared by the sandboxes
// of a run resolves and probes each interpreter once in that run.
//
// An answer, failures included, is kept for the life of the Probes, except
// when the caller's context ended before it came: a probe cut short says
// nothing about the interpreter, so the next caller probes afresh. Callers
// asking at once about one interpreter share one probe; when the context
// of the caller doing the work ends, another waiting caller takes over.
//
// The zero value is an empty cache, ready to use. A Probes is safe for
// concurrent use and must not be copied after first use. A nil *Probes
// shares nothing: every call resolves and probes afresh.
type Probes struct {
	mu       sync.Mutex
	resolved map[string]*flight[[]string]  // by cacheKey(command): the interpreter's argv
	probed   map[string]*flight[Isolation] // by cacheKey(argv): what its programs get
	warned   bool                          // WarnOnce has been called
}

// NewProbes returns an empty cache; it is the same as new(Probes).
func NewProbes() *Probes { return new(Probes) }

// WarnOnce calls warn the first time it is called on p, and never again:
// the users of one Probes (the code judges of a run) use it to warn once per
// run, not once per judge, that programs run without namespaces. On a nil
// p it calls warn every time.
func (p *Probes) WarnOnce(warn func()) {
	if p != nil {
		p.mu.Lock()
		first := !p.warned
		p.warned = true
		p.mu.Unlock()
		if !first {
			return
		}
	}
	warn()
}

// flight is one resolution or probe, done by one caller while others wait.
type flight[T any] struct {
	done chan struct{} // closed when val and err are set, or the work was cut short
	val  T
	err  error
	// cut reports that the caller doing the work saw its context end: val
	// and err are not an answer, and the flight is no longer in the cache.
	cut bool
}

// cached returns the answer of work for key in the cache table picks in p,
// doing the work under ctx when no answer is kept or under way. A caller
// waiting for another's work gives up when its own ctx ends.
func cached[T any](ctx context.Context, p *Probes, table func(*Probes) *map[string]*flight[T], key string, work func(context.Context) (T, error)) (T, error) {
	if p == nil {
		return work(ctx)
	}
	m := table(p)
	for {
		p.mu.Lock()
		f, ok := (*m)[key]
		if !ok {
			if *m == nil {
				*m = make(map[string]*flight[T])
			}
			f = &flight[T]{done: make(chan struct{})}
			(*m)[key] = f
		}
		p.mu.Unlock()
		if !ok {
			return f.do(ctx, p, m, key, work)
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, context.Cause(ctx)
		case <-f.done:
		}
		if !f.cut {
			return f.val, f.err
		}
		// The caller doing the work gave up: try again, perhaps as the one
		// doing it.
	}
}

// do runs work for the flight f, which the caller has just put in the
// cache *m under key, and ends the flight: with an answer, or, when work
// failed because ctx ended, with the flight taken out of the cache.
func (f *flight[T]) do(ctx context.Context, p *Probes, m *map[string]*flight[T], key string, work func(context.Context) (T, error)) (T, error) {
	f.cut = true // until work returns, so a panic does not leave waiters blocked
	defer func() {
		if f.cut {
			p.mu.Lock()
			delete(*m, key)
			p.mu.Unlock()
		}
		close(f.done)
	}()
	val, err := work(ctx)
	f.val, f.err = val, err
	f.cut = err != nil && ctx.Err() != nil
	return val, err
}

// resolvedTable and probedTable pick a table of a Probes for cached.
func resolvedTable(p *Probes) *map[string]*flight[[]string] { return &p.resolved }
func probedTable(p *Probes) *map[string]*flight[Isolation]  { return &p.probed }

// cacheKey is the key of a command or an argv in a Probes.
func cacheKey(argv []string) string { return strings.Join(argv, "\x00") }
