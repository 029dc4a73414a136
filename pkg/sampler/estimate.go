package sampler

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
// Progress; it fails only when a prompt does not render.
func Estimate(work []Work, opts Options) ([]ModelEstimate, error) {
	plans, err := plan(work, opts)
	if err != nil {
		return nil, err
	}
	s := opts.Sampling
	maxTokens := int64(max(s.MaxTokens, 0))
	out := make([]ModelEstimate, len(plans))
	for i, p := range plans {
		mc := p.model.Config
		e := ModelEstimate{
			Model: mc.Name, Provider: mc.Provider, N: mc.N, RequestCap: requestCap(p.model),
			Planned: int64(len(work)) * int64(max(s.Samples, 0)),
		}
		if e.N == "" {
			e.N = "auto"
		}
		for _, r := range p.requests {
			k := int64(len(r.indices))
			pt := promptTokens(r)
			e.Samples += k
			e.Requests++
			e.RequestsSingle += k
			e.PromptTokens += pt
			e.PromptTokensSingle += pt * k
		}
		e.Stored = e.Planned - e.Samples
		e.CompletionTokens = e.Samples * maxTokens
		e.CompletionTokensTypical = e.Samples * (maxTokens / 4)
		in, outp := mc.Price.InputPerMTok, mc.Price.OutputPerMTok
		e.CostUSD = cost(e.PromptTokens, e.CompletionTokens, in, outp)
		e.CostUSDSingle = cost(e.PromptTokensSingle, e.CompletionTokens, in, outp)
		e.CostUSDTypical = cost(e.PromptTokens, e.CompletionTokensTypical, in, outp)
		out[i] = e
	}
	return out, nil
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

// promptTokens estimates one request's prompt as estimateCost does: a token
// per four characters of its messages, rounded up, plus 4 per message and 3
// for the reply's priming.
func promptTokens(r request) int64 {
	chars := 0
	for _, m := range r.msgs {
		chars += len(m.Content)
	}
	return int64((chars+3)/4 + 4*len(r.msgs) + 3)
}

func cost(prompt, completion int64, inPerMTok, outPerMTok float64) float64 {
	return (float64(prompt)*inPerMTok + float64(completion)*outPerMTok) / 1e6
}
