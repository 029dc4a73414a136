package sampler

import (
	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/provider"
)

// reply is one answered request with its usage settled per choice.
type reply struct {
	resp       provider.Response
	got        int // choices used: at most the samples asked for
	prompt     []int64
	completion []int64
	reasoning  []int64 // of completion: the request's reasoning tokens, shared evenly
	cost       []float64
	estimated  bool // tokens estimated: no usage, or an impossible one
}

// estimateCost bounds a request's cost from above: its prompt at four
// characters a token (rounded up) plus the chat format's overhead of a few
// tokens per message, and max_tokens for every sample asked for.
func estimateCost(req provider.Request, p config.Price) float64 {
	prompt := promptTokens(req.Messages)
	return (float64(prompt)*p.InputPerMTok + float64(req.N)*float64(req.MaxTokens)*p.OutputPerMTok) / 1e6
}

// settleUsage gives each of the first n choices its tokens and cost,
// checking what the endpoint reported against what the choices prove. The
// prompt is shared evenly. Completion tokens:
//   - per choice, when the endpoint gave a count for every choice: its own;
//   - else from the request's total: a choice that finished for "length"
//     wrote maxTokens tokens (it ran to the limit), and the others share
//     what is left. When the total cannot hold the length choices (a
//     server that reports one choice's usage for n > 1, as llama-server
//     does), the others are estimated from their text;
//   - when, with several choices, the counts add up to less than half of
//     what the texts' length implies (four characters a token), each choice
//     is estimated from its text.
//
// Every correction marks the reply estimated, as does an endpoint that gave
// no usage at all.
func settleUsage(resp provider.Response, n, maxTokens int, p config.Price) reply {
	got := min(len(resp.Choices), n)
	rep := reply{resp: resp, got: got, estimated: resp.UsageEstimated,
		prompt: splitEven(resp.PromptTokens, got), reasoning: splitEven(resp.ReasoningTokens, got), cost: make([]float64, got)}
	guess := make([]int64, got)
	for i := range guess {
		guess[i] = int64((len(resp.Choices[i].Text) + 3) / 4)
	}
	perChoice := got > 0
	for i := 0; i < got; i++ {
		perChoice = perChoice && resp.Choices[i].CompletionTokens > 0
	}
	switch {
	case perChoice:
		rep.completion = make([]int64, got)
		for i := range rep.completion {
			rep.completion[i] = resp.Choices[i].CompletionTokens
		}
	case rep.estimated:
		rep.completion = splitEven(resp.CompletionTokens, got)
	default:
		rep.completion, rep.estimated = fromTotal(resp, got, int64(maxTokens), guess)
	}
	for i := range rep.cost {
		rep.cost[i] = (float64(rep.prompt[i])*p.InputPerMTok + float64(rep.completion[i])*p.OutputPerMTok) / 1e6
	}
	return rep
}

// fromTotal shares the request's completion tokens among its first got
// choices: maxTokens to each that finished for "length", the rest evenly
// among the others, corrected from their texts' lengths (guess) when the
// total cannot be right. It reports whether it corrected anything.
func fromTotal(resp provider.Response, got int, maxTokens int64, guess []int64) (completion []int64, corrected bool) {
	completion = make([]int64, got)
	left := resp.CompletionTokens
	var others []int
	for i := 0; i < got; i++ {
		if maxTokens > 0 && resp.Choices[i].FinishReason == "length" {
			completion[i] = maxTokens
			left -= maxTokens
			continue
		}
		others = append(others, i)
	}
	if len(others) < got && left < 0 {
		corrected = true // the total cannot hold the choices that ran to the limit
		left = 0
	}
	share := splitEven(left, len(others))
	var shared, guessed int64
	for k, i := range others {
		completion[i] = share[k]
		shared += share[k]
		guessed += guess[i]
	}
	if len(others) > 0 && (corrected || got > 1) && 2*shared < guessed {
		for _, i := range others {
			completion[i] = guess[i]
		}
		corrected = true
	}
	if got == 1 && len(others) == 0 && resp.CompletionTokens != maxTokens {
		corrected = true // one choice that ran to the limit wrote max_tokens, whatever was reported
	}
	return completion, corrected
}

// splitEven shares total among n samples; the remainder goes to the first ones.
func splitEven(total int64, n int) []int64 {
	out := make([]int64, n)
	if n == 0 {
		return out
	}
	q, rem := total/int64(n), total%int64(n)
	for i := range out {
		out[i] = q
		if int64(i) < rem {
			out[i]++
		}
	}
	return out
}
