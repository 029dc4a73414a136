package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/darslabs/dars/pkg/config"
)

// DefaultTimeout bounds one request when a model entry sets no timeout.
const DefaultTimeout = 120 * time.Second

// defaultOpenAIBaseURL is used when a model entry of provider openai sets no base_url.
const defaultOpenAIBaseURL = "https://api.openai.com/v1"

// OpenAI talks to any OpenAI-compatible Chat Completions endpoint (OpenAI,
// vLLM, SGLang, Ollama, llama.cpp, OpenRouter, ...). Each Generate makes
// exactly one HTTP request and never retries; its errors are *Error values
// that say whether a retry can help, except when ctx ends, which gives an
// error wrapping ctx.Err(). The API key is read from the environment once, at
// construction, and never appears in an error. Safe for concurrent use.
type OpenAI struct {
	name      string // the models[] name
	modelID   string // the provider's model id
	baseURL   string // without trailing slash
	keyEnv    string
	key       string
	timeout   time.Duration
	reasoning bool // o1/o3/o4/gpt-5 ids: max_completion_tokens, no temperature 0 patch
	client    *openai.Client
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns the client for a model entry: BaseURL (default the OpenAI
// API), Model (the id sent to the server), APIKeyEnv (the environment variable
// holding the key; empty sends no key), Timeout (a Go duration, default
// DefaultTimeout) and Concurrency (sizes the connection pool).
func NewOpenAI(m config.Model) (*OpenAI, error) {
	if m.Model == "" {
		return nil, fmt.Errorf("new openai provider for model %q: model id is empty: set models[].model", m.Name)
	}
	base := openAIBaseURL(m)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new openai provider for model %q: base_url %q is not an http(s) URL", m.Name, base)
	}
	timeout := DefaultTimeout
	if m.Timeout != "" {
		timeout, err = time.ParseDuration(m.Timeout)
		if err != nil || timeout <= 0 {
			return nil, fmt.Errorf("new openai provider for model %q: timeout %q is not a positive duration such as \"120s\"", m.Name, m.Timeout)
		}
	}
	var key string
	if m.APIKeyEnv != "" {
		key = os.Getenv(m.APIKeyEnv)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = max(m.Concurrency, 16)
	cfg := openai.DefaultConfig(key)
	cfg.BaseURL = base
	cfg.HTTPClient = exchangeDoer{client: &http.Client{Transport: transport}}
	id := m.Model
	return &OpenAI{
		name:    m.Name,
		modelID: id,
		baseURL: base,
		keyEnv:  m.APIKeyEnv,
		key:     key,
		timeout: timeout,
		reasoning: strings.HasPrefix(id, "o1") || strings.HasPrefix(id, "o3") ||
			strings.HasPrefix(id, "o4") || strings.HasPrefix(id, "gpt-5"),
		client: openai.NewClientWithConfig(cfg),
	}, nil
}

// openAIBaseURL is the effective base URL of an openai model entry, without
// trailing slash.
func openAIBaseURL(m config.Model) string {
	if m.BaseURL == "" {
		return defaultOpenAIBaseURL
	}
	return strings.TrimRight(m.BaseURL, "/")
}

// Generate sends one Chat Completions request for req.N samples with seed
// req.Seeds[0]. Choices come back in the server's index order, at most req.N.
// When the server reports no usage, tokens are estimated at four characters a
// token and UsageEstimated is set.
func (o *OpenAI) Generate(ctx context.Context, req Request) (Response, error) {
	if req.N < 1 {
		return Response{}, &Error{Model: o.name, Message: fmt.Sprintf("n must be at least 1, got %d", req.N)}
	}
	creq := openai.ChatCompletionRequest{
		Model:       o.modelID,
		Messages:    make([]openai.ChatCompletionMessage, len(req.Messages)),
		Temperature: float32(req.Temperature),
		TopP:        float32(req.TopP),
		N:           req.N,
	}
	for i, m := range req.Messages {
		creq.Messages[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	if len(req.Seeds) > 0 {
		seed := int(req.Seeds[0])
		creq.Seed = &seed
	}
	if o.reasoning {
		creq.MaxCompletionTokens = req.MaxTokens
	} else {
		creq.MaxTokens = req.MaxTokens
	}
	// go-openai drops a zero temperature (omitempty), which servers read as
	// their default (often 1): the exchange tells the transport to put it back.
	x := &exchange{zeroTemperature: req.Temperature == 0 && !o.reasoning}
	tctx, cancel := context.WithTimeout(context.WithValue(ctx, exchangeKey{}, x), o.timeout)
	defer cancel()

	start := time.Now()
	cresp, err := o.client.CreateChatCompletion(tctx, creq)
	latency := time.Since(start)
	if err != nil {
		return Response{}, o.classify(ctx, tctx, x, err)
	}
	if len(cresp.Choices) == 0 {
		return Response{}, &Error{Model: o.name, StatusCode: x.status, Retryable: true,
			Message: "malformed response: no choices"}
	}
	choices := slices.Clone(cresp.Choices)
	slices.SortStableFunc(choices, func(a, b openai.ChatCompletionChoice) int { return a.Index - b.Index })
	if len(choices) > req.N {
		choices = choices[:req.N]
	}
	resp := Response{
		Choices:          make([]Choice, len(choices)),
		PromptTokens:     int64(cresp.Usage.PromptTokens),
		CompletionTokens: int64(cresp.Usage.CompletionTokens),
		Latency:          latency,
	}
	for i, c := range choices {
		resp.Choices[i] = Choice{Text: c.Message.Content, FinishReason: string(c.FinishReason)}
	}
	switch {
	case cresp.Usage.PromptTokens == 0 && cresp.Usage.CompletionTokens == 0:
		resp.UsageEstimated = true
		chars := 0
		for _, m := range req.Messages {
			chars += utf8.RuneCountInString(m.Content)
		}
		resp.PromptTokens = ceilQuarter(chars)
		for i := range resp.Choices {
			t := ceilQuarter(utf8.RuneCountInString(resp.Choices[i].Text))
			resp.Choices[i].CompletionTokens = t
			resp.CompletionTokens += t
		}
	case len(resp.Choices) == 1:
		resp.Choices[0].CompletionTokens = resp.CompletionTokens
	}
	return resp, nil
}

// classify turns a failed request into an *Error, or an error wrapping
// ctx.Err() when the caller's context ended.
func (o *OpenAI) classify(ctx, tctx context.Context, x *exchange, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("generate %q: %w", o.name, ctx.Err())
	}
	e := &Error{Model: o.name}
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &apiErr):
		o.byStatus(e, apiErr.HTTPStatusCode, apiErr.Message)
	case errors.As(err, &reqErr):
		msg := strings.TrimSpace(string(reqErr.Body))
		if msg == "" {
			msg = http.StatusText(reqErr.HTTPStatusCode)
		}
		o.byStatus(e, reqErr.HTTPStatusCode, truncate(msg, 300))
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		e.Retryable = true
		e.StatusCode = x.status
		e.Message = fmt.Sprintf("no complete reply from %q within the timeout %s", o.baseURL, o.timeout)
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF) && x.status != 0:
		e.Retryable = true
		e.StatusCode = x.status
		e.Message = fmt.Sprintf("malformed response body: %v", err)
	case isClientRejection(err):
		e.Message = fmt.Sprintf("request for model id %q rejected before sending: %v", o.modelID, err)
	default: // connection refused or reset, DNS, TLS: the network may recover
		e.Retryable = true
		e.StatusCode = x.status
		e.Message = fmt.Sprintf("request to %q failed: %v", o.baseURL, err)
	}
	if e.Retryable {
		e.RetryAfter = retryAfter(x.header, time.Now())
	}
	if o.key != "" {
		e.Message = strings.ReplaceAll(e.Message, o.key, "[redacted]")
	}
	return e
}

// byStatus classifies an HTTP error status: 408, 429 and 5xx are retryable;
// 401, 403 and 404 are fatal for the model; other 4xx fail this request only.
func (o *OpenAI) byStatus(e *Error, status int, msg string) {
	e.StatusCode = status
	where := fmt.Sprintf("model id %q at %q", o.modelID, o.baseURL)
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		e.Retryable = true
		e.Message = msg
	case status == http.StatusUnauthorized:
		e.Fatal = true
		e.Message = fmt.Sprintf("unauthorized for %s: %s; hint: %s", where, msg, o.keyHint())
	case status == http.StatusForbidden:
		e.Fatal = true
		e.Message = fmt.Sprintf("forbidden for %s: %s; hint: %s", where, msg, o.keyHint())
	case status == http.StatusNotFound:
		e.Fatal = true
		e.Message = fmt.Sprintf("not found: %s: %s; hint: check base_url and model", where, msg)
	default:
		e.Message = msg
	}
}

// keyHint says where the key comes from, never what it is.
func (o *OpenAI) keyHint() string {
	switch {
	case o.keyEnv == "":
		return "no api_key_env is set for this model, so no key was sent"
	case o.key == "":
		return fmt.Sprintf("the environment variable %q is empty or unset", o.keyEnv)
	default:
		return fmt.Sprintf("check the key in the environment variable %q", o.keyEnv)
	}
}

// isClientRejection reports errors go-openai returns before sending anything:
// the request is invalid for this model id and will stay invalid.
func isClientRejection(err error) bool {
	for _, target := range []error{
		openai.ErrChatCompletionInvalidModel,
		openai.ErrReasoningModelMaxTokensDeprecated,
		openai.ErrReasoningModelLimitationsLogprobs,
		openai.ErrReasoningModelLimitationsOther,
		openai.ErrReasoningSamplingUnsupported,
		openai.ErrReasoningEffortUnsupported,
		openai.ErrReasoningToolsRequireResponses,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// maxRetryAfter caps a server's Retry-After: a longer wait is not believed.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads Retry-After (seconds or an HTTP date) or retry-after-ms;
// 0 when absent, unparseable, in the past or beyond maxRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms <= maxRetryAfter.Seconds()*1000 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if !(s > 0 && s <= maxRetryAfter.Seconds()) { // also rejects NaN
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) && t.Sub(now) <= maxRetryAfter {
		return t.Sub(now)
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// exchange carries one request's wishes to the transport and what the
// transport saw back. Only the goroutine running the request touches it.
type exchange struct {
	zeroTemperature bool        // send "temperature": 0 explicitly
	status          int         // the HTTP status, 0 when no response arrived
	header          http.Header // the response headers
}

type exchangeKey struct{}

// exchangeDoer is the HTTP client go-openai uses: it restores a zero
// temperature in the body and records the status and headers of the reply.
type exchangeDoer struct{ client *http.Client }

func (d exchangeDoer) Do(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x != nil && x.zeroTemperature && req.Body != nil {
		if err := setTemperatureZero(req); err != nil {
			return nil, err
		}
	}
	resp, err := d.client.Do(req)
	if x != nil && resp != nil {
		x.status = resp.StatusCode
		x.header = resp.Header
	}
	return resp, err
}

func setTemperatureZero(req *http.Request) error {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	fields["temperature"] = json.RawMessage("0")
	if body, err = json.Marshal(fields); err != nil {
		return fmt.Errorf("encode request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return nil
}
