package sampler

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is the jittered exponential wait before retry attempt+1.
func backoff(base time.Duration, attempt int) time.Duration {
	d := min(base<<min(attempt-1, 8), maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// maxBackoff caps one retry's wait (before jitter): a long tail of waits
// doubling into minutes holds a whole run up for a handful of samples.
const maxBackoff = 20 * time.Second

// wait sleeps d or until ctx is done; it reports whether d elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// exhausted counts the leading samples that were asked for maxAttempts times.
func exhausted(tries []int32, maxAttempts int) int {
	k := 0
	for k < len(tries) && int(tries[k]) >= maxAttempts {
		k++
	}
	return k
}
