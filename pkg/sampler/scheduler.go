package sampler

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// SchedulerOptions configure a Scheduler for the life of a run.
type SchedulerOptions struct {
	// InFlight, when set, is the context requests already sent run under.
	// Cancelling a stream's context stops its new requests and retries;
	// requests in flight finish (and are committed) until InFlight is
	// cancelled too. Nil: requests stop with the stream's context.
	InFlight context.Context
	// Backoff is the first retry wait; it doubles per attempt, jittered,
	// up to maxBackoff. Default 500ms.
	Backoff time.Duration
	Now     func() time.Time // default time.Now
	// Log receives the scheduler's decisions that a user should know about,
	// such as an endpoint's n cap learned from its answers. Nil discards them.
	Log *slog.Logger
}

// Scheduler sends the requests of every stream of a run. It keeps one
// endpoint per endpoint identity (Model.Endpoint) for its whole life:
// requests in flight under an adaptive limit, the rpm and tpm buckets, the
// n cap learned from the endpoint, the retry policy; and one cost budget
// for every stream. A judge that calls a candidate's endpoint shares that
// endpoint's limits with the candidate's samples. Safe for concurrent use.
type Scheduler struct {
	opts SchedulerOptions

	mu        sync.Mutex
	endpoints map[string]*endpoint
	spend     *budget // nil: no budget
}

// NewScheduler returns a scheduler with no endpoint yet and no budget.
func NewScheduler(opts SchedulerOptions) *Scheduler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{opts: opts, endpoints: map[string]*endpoint{}}
}

// SetBudget sets the most, in USD, that the requests of the streams opened
// from now on may cost together, counted from zero: math.Inf(1) is no
// budget (a new scheduler's), zero or less leaves room for nothing. Before
// each request its cost is estimated from above (the prompt at four
// characters a token plus chat overhead, and max_tokens for every sample)
// and reserved; a request whose reservation does not fit is not sent, every
// stream stops issuing, and each that still owed samples ends with
// ErrBudget once its requests in flight are committed. Nothing is spent
// past the budget as long as the endpoints bill no more than the estimate.
// Call it while no stream is open.
func (s *Scheduler) SetBudget(usd float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spend = nil
	if !math.IsInf(usd, 1) {
		s.spend = newBudget(max(usd, 0))
	}
}

// Spent returns what the requests answered since the last SetBudget cost,
// and whether the budget stopped them.
func (s *Scheduler) Spent() (usd float64, over bool) {
	s.mu.Lock()
	b := s.spend
	s.mu.Unlock()
	return b.exhausted()
}

// Run sends every sample work owes in one stream and returns its summary:
// Open, Submit and Close in one call.
func (s *Scheduler) Run(ctx context.Context, work []Work, opts Options) (Summary, error) {
	st := s.Open(ctx, opts)
	if _, err := st.Submit(work, nil); err != nil {
		sum, _ := st.Close()
		return sum, err
	}
	return st.Close()
}

// endpoint is what the scheduler knows about one endpoint identity. Its
// limits come from the first models[] entry seen with that identity.
type endpoint struct {
	name      string // the first model entry's name, for logs
	slots     *adaptiveLimit
	limits    limits
	configCap int          // the most samples a request asks for, as configured
	attempts  int          // the most attempts a sample gets
	nCap      atomic.Int64 // the cap learned from the endpoint; 0 while it never pushed back
	log       *slog.Logger
}

// endpointOf returns m's endpoint, created on first use.
func (s *Scheduler) endpointOf(m Model) *endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.endpoints[m.Endpoint]; e != nil {
		return e
	}
	e := &endpoint{
		name:      m.Config.Name,
		slots:     newAdaptiveLimit(m.Config.EffectiveConcurrency()),
		limits:    newLimits(m.Config),
		configCap: requestCap(m),
		attempts:  m.Config.MaxAttempts,
		log:       s.opts.Log,
	}
	if e.attempts <= 0 {
		e.attempts = 5
	}
	s.endpoints[m.Endpoint] = e
	return e
}

// budget returns the budget of the streams opened now.
func (s *Scheduler) budget() *budget {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spend
}

// requestCap is the most samples the next request may ask for: the
// learned cap once the endpoint pushed back, else the configured one.
func (e *endpoint) requestCap() int {
	if c := e.nCap.Load(); c > 0 {
		return int(c)
	}
	return e.configCap
}

// lowerCap lowers the endpoint's n cap to to (at least 1) for the rest of
// the run and logs the change; a cap already as low stays, so every change
// is logged once however many workers see the same refusal.
func (e *endpoint) lowerCap(to int, why string) {
	to = max(to, 1)
	for {
		cur := e.nCap.Load()
		old := cur
		if old == 0 {
			old = int64(e.configCap)
		}
		if int64(to) >= old {
			return
		}
		if e.nCap.CompareAndSwap(cur, int64(to)) {
			e.log.Info("lowered the n cap", "model", e.name, "from", old, "to", to, "reason", why)
			return
		}
	}
}
