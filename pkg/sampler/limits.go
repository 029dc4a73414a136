package sampler

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/provider"
)

// adaptiveLimit bounds one model's requests in flight and adapts the bound
// to the endpoint: a 429 halves it (at least 1), and every 2×limit
// consecutive successes grow it by one, back up to the configured maximum.
// Only 429s break a run of successes: other failures say nothing about
// the endpoint's capacity. Waiters are served first come, first served.
type adaptiveLimit struct {
	max int // the configured concurrency

	mu       sync.Mutex
	limit    int
	inFlight int
	streak   int             // successes since the limit last changed
	epoch    uint64          // bumped on every decrease
	waiters  []chan struct{} // closed when granted a slot
}

func newAdaptiveLimit(maxInFlight int) *adaptiveLimit {
	n := max(1, maxInFlight)
	return &adaptiveLimit{max: n, limit: n}
}

// Acquire waits for a request slot or until ctx is done. The epoch it
// returns goes back to Release, so that the 429s of requests sent before
// the last decrease do not halve the limit again: one halving per round of
// requests, not one per request of a storm.
func (l *adaptiveLimit) Acquire(ctx context.Context) (epoch uint64, err error) {
	l.mu.Lock()
	if l.inFlight < l.limit && len(l.waiters) == 0 {
		l.inFlight++
		e := l.epoch
		l.mu.Unlock()
		return e, nil
	}
	ready := make(chan struct{})
	l.waiters = append(l.waiters, ready)
	l.mu.Unlock()
	select {
	case <-ready:
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.epoch, nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		select {
		case <-ready: // granted while cancelling: hand the slot on
			l.inFlight--
			l.grant()
		default:
			for i, w := range l.waiters {
				if w == ready {
					l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
					break
				}
			}
		}
		return 0, ctx.Err()
	}
}

// Release gives back a slot taken at epoch, telling whether its request
// succeeded or was throttled (429), and reports a change of the limit.
func (l *adaptiveLimit) Release(epoch uint64, success, throttled bool) (old, cur int, changed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old = l.limit
	l.inFlight--
	switch {
	case throttled:
		l.streak = 0
		if epoch == l.epoch && l.limit > 1 {
			l.limit = max(1, l.limit/2)
			l.epoch++
		}
	case success:
		l.streak++
		if l.limit < l.max && l.streak >= 2*l.limit {
			l.limit++
			l.streak = 0
		}
	}
	l.grant()
	return old, l.limit, old != l.limit
}

// Limit returns the requests currently allowed in flight.
func (l *adaptiveLimit) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}

// grant hands free slots to the waiters in order; l.mu is held.
func (l *adaptiveLimit) grant() {
	for l.inFlight < l.limit && len(l.waiters) > 0 {
		l.inFlight++
		close(l.waiters[0])
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
	}
}

// limits are one model's requests/min and tokens/min budgets; a zero limit
// is no limit. Tokens are estimated before a request and settled after it.
type limits struct {
	rpm, tpm *rate.Limiter
	// perSample is the running estimate of completion tokens per sample
	// (an average of what the endpoint answered), max_tokens until then.
	perSample *atomic.Int64
}

func newLimits(m config.Model) limits {
	l := limits{perSample: new(atomic.Int64)}
	if m.RPM > 0 {
		l.rpm = rate.NewLimiter(rate.Limit(float64(m.RPM)/60), max(1, m.RPM/60))
	}
	if m.TPM > 0 {
		l.tpm = rate.NewLimiter(rate.Limit(float64(m.TPM)/60), max(1, m.TPM/6))
	}
	return l
}

// wait blocks until a request may go: one request, and its token estimate
// (the prompt at four characters a token plus the expected completion per
// sample, at most max_tokens). It returns the tokens it took.
func (l limits) wait(ctx context.Context, req provider.Request) (int, error) {
	if l.rpm != nil {
		if err := l.rpm.Wait(ctx); err != nil {
			return 0, err
		}
	}
	if l.tpm == nil {
		return 0, nil
	}
	chars := 0
	for _, m := range req.Messages {
		chars += len(m.Content)
	}
	per := int(l.perSample.Load())
	if per <= 0 || per > req.MaxTokens {
		per = req.MaxTokens
	}
	tokens := min(chars/4+1+req.N*per, l.tpm.Burst())
	if err := l.tpm.WaitN(ctx, tokens); err != nil {
		return 0, err
	}
	return tokens, nil
}

// settle learns the completion tokens per sample from an answer and, when
// the request used more tokens than it took, takes the rest from the
// tokens/min budget at once, so later requests wait for it.
func (l limits) settle(took int, used int64, completion []int64) {
	if len(completion) > 0 {
		var sum int64
		for _, c := range completion {
			sum += c
		}
		got := sum / int64(len(completion))
		for {
			old := l.perSample.Load()
			next := got
			if old > 0 {
				next = (3*old + got + 3) / 4
			}
			if l.perSample.CompareAndSwap(old, next) {
				break
			}
		}
	}
	if l.tpm != nil && used > int64(took) {
		l.tpm.ReserveN(time.Now(), min(int(used)-took, l.tpm.Burst()))
	}
}
