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

// settleUsage gives each of the first n choices its tokens and cost. The
// prompt is shared evenly. Completion tokens come from the response; when
// they add up to less than half of what the texts' length implies (a server
// that reports one choice's usage for n > 1), each choice is estimated at
// four characters a token and the reply is marked estimated, as it is when
// the endpoint gave no usage at all.
func settleUsage(resp provider.Response, n int, p config.Price) reply {
	got := min(len(resp.Choices), n)
	rep := reply{resp: resp, got: got, estimated: resp.UsageEstimated,
		prompt: splitEven(resp.PromptTokens, got), completion: completionTokens(resp, got), cost: make([]float64, got)}
	if !rep.estimated && got > 1 {
		guess := make([]int64, got)
		var reported, guessed int64
		for i := range guess {
			guess[i] = int64((len(resp.Choices[i].Text) + 3) / 4)
			guessed += guess[i]
			reported += rep.completion[i]
		}
		if 2*reported < guessed {
			rep.completion, rep.estimated = guess, true
		}
	}
	for i := range rep.cost {
		rep.cost[i] = (float64(rep.prompt[i])*p.InputPerMTok + float64(rep.completion[i])*p.OutputPerMTok) / 1e6
	}
	return rep
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

// completionTokens gives each of the first n choices its completion tokens:
// the per-choice figure when the endpoint gave one for every choice, else
// the request's total shared evenly.
func completionTokens(resp provider.Response, n int) []int64 {
	out := make([]int64, n)
	for i := 0; i < n; i++ {
		if resp.Choices[i].CompletionTokens <= 0 {
			return splitEven(resp.CompletionTokens, n)
		}
		out[i] = resp.Choices[i].CompletionTokens
	}
	return out
}
