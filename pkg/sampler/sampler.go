// Package sampler sends every request a run pays for. One long-lived
// Scheduler holds, per endpoint identity, what the run learns about that
// endpoint (requests in flight and their AIMD limit, the learned n cap,
// the rpm and tpm buckets) and the run's cost budget, for the whole run.
// Every stage that calls a model (candidate sampling, an llm judge, the
// rewriter) opens a Stream on it: the stream plans the samples its work
// owes, skips what the store holds, sends the rest with retries, and hands
// every finished sample to one writer that commits it before it counts.
//
//	sched := sampler.NewScheduler(sampler.SchedulerOptions{...})
//	sum, err := sched.Run(ctx, work, opts)     // one batch of work
//
//	s := sched.Open(ctx, opts)                 // or a stream of batches
//	b, err := s.Submit(work)
//	err = b.Wait(ctx)                          // the batch's samples are committed
//	sum, err := s.Close()
package sampler

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// Model is one model as the scheduler drives it.
type Model struct {
	Config   config.Model
	Provider provider.Provider
	Endpoint string // provider.Identity of the model: part of every generation key, and the scheduler's key
}

// Work is one prompt that every model of a stream owes N samples: a
// variant of a query for a candidate, a rubric about one generation for an
// llm judge.
type Work struct {
	// Query is what the prompt renders from (with Variant.Text as its
	// question) and what the samples' seeds hash: its ID, and the variant id
	// for a sample (Subject ""); its ID alone for a call (Subject set), whose
	// ID then names the call.
	Query *dataset.Query
	// Variant gives the stored rows their query_id and variant_id, and the
	// prompt its question text.
	Variant record.Variant
	// Subject is what a call is about, stored with its rows (the key of the
	// generation an llm judge's call judges); "" for a candidate's sample.
	Subject string
	// Meta is what the provider may know of the work beyond its messages:
	// a call's purpose and what the simulator needs to answer it. The
	// query id, variant id, gold answer and choices are filled in from
	// Query and Variant.
	Meta provider.Meta
}

// seedID is the query id and variant id the samples of w hash into their
// seeds: a call is named by its query id alone.
func (w *Work) seedID() (string, int32) {
	if w.Subject != "" {
		return w.Query.ID, 0
	}
	return w.Query.ID, w.Variant.VariantID
}

// Options configure one stream.
type Options struct {
	Seed     int64           // the run seed
	Sampling config.Sampling // samples, temperature, top_p, max_tokens
	Prompt   *Prompt
	Models   []Model
	Done     func(key string) bool // reports the generation keys the store already holds; nil: none
	Dataset  string                // the data set's identity (config.Dataset.Identity), for every request's Meta

	// Purpose and Caller are stored with every row of the stream
	// (record.Generation): what it was paid for (record.PurposeSample when
	// empty) and who asked (an llm judge's name).
	Purpose string
	Caller  string
	// JSONObject asks every request of the stream for a JSON object
	// (provider.Request.JSONObject).
	JSONObject bool

	// Commit stores a batch of finished samples; it is called from a single
	// goroutine. A sample counts as done only after Commit returns nil.
	Commit func(context.Context, []record.Generation) error
	// Progress, when set, is called from the writer after every commit.
	Progress func(Progress)

	BatchSize int // most samples per commit; default 512
}

// ModelProgress counts one model's samples in one stream.
type ModelProgress struct {
	Model            string `json:"model"`
	Total            int64  `json:"total"`  // samples the stream's work owes this model
	Stored           int64  `json:"stored"` // already in the store when submitted
	Done             int64  `json:"done"`   // committed by this stream, errors included
	Errors           int64  `json:"errors"` // committed with a permanent error
	Requests         int64  `json:"requests"`
	Retries          int64  `json:"retries"`
	Throttled        int64  `json:"throttled"` // 429 answers seen
	PromptTokens     int64  `json:"prompt_tokens"`
	CompletionTokens int64  `json:"completion_tokens"`
	// UsageEstimated counts committed samples whose tokens were estimated
	// from the text because the endpoint gave no usage or an impossible one.
	UsageEstimated int64   `json:"usage_estimated"`
	CostUSD        float64 `json:"cost_usd"`
	// NCap is the most samples per request the scheduler learned the
	// endpoint allows (it refused a larger n or returned fewer choices); 0
	// when the endpoint never pushed back.
	NCap   int    `json:"n_cap"`
	Failed string `json:"failed,omitempty"` // why the model stopped early
}

// Progress is a snapshot of every model's counts, in Options.Models order.
type Progress struct {
	Models  []ModelProgress `json:"models"`
	Elapsed time.Duration   `json:"elapsed_ns"`
}

// Summary is the final Progress of a stream.
type Summary = Progress

// ErrModelStopped reports that at least one model stopped early on a fatal
// endpoint error (auth, unknown model); the Summary says which and why.
var ErrModelStopped = errors.New("a model stopped early")

// ErrBudget reports that a stream stopped issuing requests because the next
// one could have spent past the scheduler's budget; what finished is
// committed and a later run resumes from it.
var ErrBudget = errors.New("cost budget reached")

// StoppedError is one model's fatal endpoint error, which stopped it for
// the rest of the run. It unwraps to ErrModelStopped and the endpoint's
// error (a *provider.Error, with its hint when it has one).
type StoppedError struct {
	Model string
	Err   error
}

func (e *StoppedError) Error() string {
	return "model " + strconv.Quote(e.Model) + " stopped: " + e.Err.Error()
}
func (e *StoppedError) Unwrap() []error { return []error{ErrModelStopped, e.Err} }

// stoppedModels are the models a stream lost, as one error.
type stoppedModels []error

func (s stoppedModels) Error() string {
	msgs := make([]string, len(s))
	for i, e := range s {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (s stoppedModels) Unwrap() []error { return s }

// requestCap is the most samples one request asks for: the model's n cap,
// 1 when n is off. "auto" asks for every sample of a variant at once from the
// simulator and at most 8 from an endpoint.
func requestCap(m Model) int {
	switch v := strings.TrimSpace(m.Config.N); v {
	case "off":
		return 1
	case "", "auto":
		if m.Config.Provider == "sim" {
			return 1 << 20
		}
		return 8
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 1
		}
		return n
	}
}
