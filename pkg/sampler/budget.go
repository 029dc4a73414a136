package sampler

import (
	"context"
	"sync"
)

// budget is a scheduler's cost budget, shared by every stream and model:
// spent is what answered requests cost, reserved the estimates of requests
// in flight. A nil *budget is no budget.
type budget struct {
	limit float64
	// stopped is cancelled (with ErrBudget) by the first reservation that
	// does not fit: every stream watches it and stops issuing.
	stopped context.Context
	stop    context.CancelCauseFunc

	mu       sync.Mutex
	spent    float64
	reserved float64
	over     bool
}

func newBudget(limit float64) *budget {
	b := &budget{limit: limit}
	b.stopped, b.stop = context.WithCancelCause(context.Background())
	return b
}

// reserve books est for a request about to be sent and reports whether it
// fits; the first that does not stops every model from issuing more.
func (b *budget) reserve(est float64) bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.over {
		return false
	}
	if b.spent+b.reserved+est > b.limit {
		b.over = true
		b.stop(ErrBudget)
		return false
	}
	b.reserved += est
	return true
}

// settle replaces a request's reservation by what it cost.
func (b *budget) settle(reserved, spent float64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserved -= reserved
	b.spent += spent
}

// exhausted reports what was spent and whether the budget stopped the pass.
func (b *budget) exhausted() (spent float64, over bool) {
	if b == nil {
		return 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent, b.over
}
