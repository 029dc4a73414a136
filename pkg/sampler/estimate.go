package sampler

import (
	"context"
	"iter"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/provider"
)

// ModelEstimate is what sampling one model would cost before a request is
// sent: the samples still owed after subtracting the store, the requests
// they take with and without n-batching, and token and cost estimates.
//
// Token figures are estimates, not measurements: a prompt counts one token
// per four characters of its rendered messages (rounded up) plus the chat
// format's overhead, as the --max-cost reservation counts it, billed once
// per request, so n-batching bills a prompt once for all its samples while
// single calls bill it once per sample. Completion tokens are given twice:
// CompletionTokens is the upper bound (every sample runs to max_tokens) and
// CompletionTokensTypical assumes a quarter of max_tokens per sample, a
// common figure for short-answer benchmarks. Costs use the model's price per
// million tokens; CostUSD and CostUSDSingle take the upper bound, so a run
// never costs more than they say unless the prompt estimate is off.
type ModelEstimate struct {
	Model    string `json:"model"`
	Provider string `json:"provider"`
	// N is the model's n setting ("auto", "off" or a cap) and RequestCap the
	// most samples one planned request asks for.
	N          string `json:"n"`
	RequestCap int    `json:"request_cap"`

	Planned int64 `json:"planned"` // samples the plan needs from this model
	Stored  int64 `json:"stored"`  // already stored without error: not asked again
	Samples int64 `json:"samples"` // still owed: Planned - Stored

	Requests       int64 `json:"requests"`        // with n-batching at RequestCap
	RequestsSingle int64 `json:"requests_single"` // one sample per request (n off)

	PromptTokens            int64 `json:"prompt_tokens"`             // batched: once per request
	PromptTokensSingle      int64 `json:"prompt_tokens_single"`      // once per sample
	CompletionTokens        int64 `json:"completion_tokens"`         // upper bound: Samples x max_tokens
	CompletionTokensTypical int64 `json:"completion_tokens_typical"` // Samples x max_tokens/4

	CostUSD        float64 `json:"cost_usd"`         // batched prompts, completions at the upper bound
	CostUSDSingle  float64 `json:"cost_usd_single"`  // single calls, completions at the upper bound
	CostUSDTypical float64 `json:"cost_usd_typical"` // batched prompts, typical completions
}

// Estimate plans every model's remaining samples exactly as Run would
// (opts.Done is subtracted) and returns one ModelEstimate per model, in
// opts.Models order. It sends nothing and calls neither Commit nor
// Progress; it fails when a prompt does not render, or with ctx's error when
// ctx is done. It streams over the plan once and holds no per-sample state.
func Estimate(ctx context.Context, work []Work, opts Options) ([]ModelEstimate, error) {
	out := make([]ModelEstimate, len(opts.Models))
	for i, m := range opts.Models {
		out[i] = newModelEstimate(m, int64(len(work))*int64(max(opts.Sampling.Samples, 0)))
	}
	owed := make([]int64, len(out)) // per model, the current work's owed samples
	cur, prompt := -1, int64(0)     // the current work and its prompt tokens
	flush := func() {
		for i, k := range owed {
			out[i].addWork(k, prompt)
			owed[i] = 0
		}
	}
	err := eachSample(work, opts, func(msgs []provider.Message, p Planned) error {
		if p.Work != cur {
			if err := ctx.Err(); err != nil {
				return err
			}
			flush()
			cur, prompt = p.Work, promptTokens(msgs)
		}
		if !opts.holds(p.Key) {
			owed[p.Model]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	flush()
	for i, m := range opts.Models {
		out[i].finish(m.Config.Price, int64(max(opts.Sampling.MaxTokens, 0)))
	}
	return out, nil
}

// newModelEstimate is m's estimate before any sample is counted.
func newModelEstimate(m Model, planned int64) ModelEstimate {
	e := ModelEstimate{Model: m.Config.Name, Provider: m.Config.Provider, N: m.Config.N,
		RequestCap: requestCap(m), Planned: planned}
	if e.N == "" {
		e.N = "auto"
	}
	return e
}

// addWork counts k samples one work still owes, whose prompt is prompt
// tokens: in requests of RequestCap samples, as Run sends them.
func (e *ModelEstimate) addWork(k, prompt int64) {
	if k == 0 {
		return
	}
	reqs := (k + int64(e.RequestCap) - 1) / int64(e.RequestCap)
	e.Samples += k
	e.Requests += reqs
	e.RequestsSingle += k
	e.PromptTokens += reqs * prompt
	e.PromptTokensSingle += k * prompt
}

// finish derives what follows from the counted samples: the stored ones,
// the completion tokens and the costs.
func (e *ModelEstimate) finish(p config.Price, maxTokens int64) {
	e.Stored = e.Planned - e.Samples
	e.CompletionTokens = e.Samples * maxTokens
	e.CompletionTokensTypical = e.Samples * (maxTokens / 4)
	e.CostUSD = cost(e.PromptTokens, e.CompletionTokens, p.InputPerMTok, p.OutputPerMTok)
	e.CostUSDSingle = cost(e.PromptTokensSingle, e.CompletionTokens, p.InputPerMTok, p.OutputPerMTok)
	e.CostUSDTypical = cost(e.PromptTokens, e.CompletionTokensTypical, p.InputPerMTok, p.OutputPerMTok)
}

// EstimateTotal adds up estimates; its Model is "total" and its N and
// RequestCap are left empty.
func EstimateTotal(es []ModelEstimate) ModelEstimate {
	t := ModelEstimate{Model: "total"}
	for _, e := range es {
		t.Planned += e.Planned
		t.Stored += e.Stored
		t.Samples += e.Samples
		t.Requests += e.Requests
		t.RequestsSingle += e.RequestsSingle
		t.PromptTokens += e.PromptTokens
		t.PromptTokensSingle += e.PromptTokensSingle
		t.CompletionTokens += e.CompletionTokens
		t.CompletionTokensTypical += e.CompletionTokensTypical
		t.CostUSD += e.CostUSD
		t.CostUSDSingle += e.CostUSDSingle
		t.CostUSDTypical += e.CostUSDTypical
	}
	return t
}

// promptTokens estimates a prompt as the --max-cost reservation counts it:
// a token per four characters of its messages, rounded up, plus 4 per
// message and 3 for the reply's priming.
func promptTokens(msgs []provider.Message) int64 {
	chars := 0
	for _, m := range msgs {
		chars += len(m.Content)
	}
	return int64((chars+3)/4 + 4*len(msgs) + 3)
}

// cost prices prompt and completion tokens per million.
func cost(prompt, completion int64, inPerMTok, outPerMTok float64) float64 {
	return (float64(prompt)*inPerMTok + float64(completion)*outPerMTok) / 1e6
}

// EstimateCalls estimates what asking m s.Samples times about each of a
// number of prompts would cost, prompts given by their token estimates
// (PromptTokens): requests at m's n cap, a prompt billed once a request,
// completions at s.MaxTokens each (the upper bound). It is the dry run's
// estimate of an llm judge's calls, whose prompts hold outputs not written
// yet. Planned and Samples count calls; nothing is stored yet.
func EstimateCalls(m Model, s config.Sampling, prompts iter.Seq[int64]) ModelEstimate {
	e := newModelEstimate(m, 0)
	votes := int64(max(s.Samples, 0))
	for tokens := range prompts {
		e.Planned += votes
		e.addWork(votes, tokens)
	}
	e.finish(m.Config.Price, int64(max(s.MaxTokens, 0)))
	return e
}

// PromptTokens estimates the prompt tokens of msgs as the budget's
// reservation counts them: a token per four characters, rounded up, plus
// the chat format's overhead.
func PromptTokens(msgs []provider.Message) int64 { return promptTokens(msgs) }
