// Package provider is the seam between dars and the endpoints that generate:
// any OpenAI-compatible server (openai) and the embedded simulator (sim).
package provider

import (
	"context"
	"fmt"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string // system | user | assistant
	Content string
}

// Meta identifies the work a request does. Real endpoints never see it; the
// simulator derives difficulty, perturbation and the right answer from it.
type Meta struct {
	QueryID   string
	VariantID int32
	Gold      string   // the gold answer
	Choices   []string // options of a multiple-choice item

	// Purpose says what a call is for: "" a sample, "rewrite" or "verify"
	// (record.PurposeRewrite, record.PurposeVerify).
	Purpose  string
	Question string   // the original query's text
	Kind     string   // the task kind: math, choice, reading or open
	Count    int      // rewrite: how many new rewrites are asked for
	Avoid    []string // rewrite: the rewrites already kept
	Rewrite  string   // verify: the rewrite to check
}

// Request asks for N samples of one prompt.
type Request struct {
	Messages    []Message
	Temperature float64
	TopP        float64
	MaxTokens   int
	N           int     // samples wanted in this request, >= 1
	Seeds       []int64 // one per sample; endpoints that take one seed get Seeds[0]
	// JSONObject asks for a JSON object as the answer (response_format
	// json_object, "JSON mode"); an endpoint that refuses it is asked
	// again without it, for the rest of the run.
	JSONObject bool
	Meta       Meta
}

// Choice is one returned sample.
type Choice struct {
	Text             string
	FinishReason     string
	CompletionTokens int64 // 0 when the endpoint reports only a total
}

// Response is an endpoint's answer to one Request.
type Response struct {
	Choices          []Choice
	PromptTokens     int64 // for the whole request
	CompletionTokens int64 // for the whole request
	UsageEstimated   bool  // the endpoint gave no usage; tokens were estimated
	// ReasoningTokens are the completion tokens spent reasoning, for the
	// whole request, as the endpoint reported them (included in
	// CompletionTokens); 0 when it reported none.
	ReasoningTokens int64
	Latency         time.Duration
}

// Provider generates samples. Generate returns either a Response with at most
// req.N choices or an error; an *Error in it, found with errors.As, tells the
// caller whether to retry, and problem.Hints gives the likely fix where one
// is known. Implementations are safe for concurrent use.
type Provider interface {
	Generate(ctx context.Context, req Request) (Response, error)
}

// Error is an endpoint's refusal or failure, classified for the caller. Its
// Message never carries a hint: a known fix comes with the error as a
// problem.Hint wrapping the *Error, so find the *Error with errors.As.
type Error struct {
	Model      string // the models[] name
	StatusCode int    // HTTP status, 0 when no response arrived
	Message    string // the server's message, never a secret
	Retryable  bool   // 429, 5xx, timeouts, resets, malformed bodies
	Fatal      bool   // 401, 402, 403, 404, an exhausted quota: every further request to this model fails too
	// RetryAfter is how long the server asked the caller to wait (its
	// Retry-After header on a retryable error, or its x-ratelimit-reset-*
	// headers on a 429), 0 when it did not say.
	RetryAfter time.Duration
	// Param is the request parameter a refusing 400 names, such as "n" when
	// the server will not give that many samples in one request; "" when the
	// error names none. An error with Param "n" is neither retryable nor
	// fatal: the caller asks again with a smaller n.
	Param string
	// Limit is the numeric cap the server's message states for Param, such
	// as 4 in "Value must be between 1 <= value <= 4" or 1 in "Only n=1 is
	// supported"; 0 when the message states none.
	Limit int
}

func (e *Error) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("model %q: %s", e.Model, e.Message)
	}
	return fmt.Sprintf("model %q: status %d: %s", e.Model, e.StatusCode, e.Message)
}
