// The OpenAI-compatible client: its construction and Generate. How a failed
// request is classified is in openai_errors.go, refused parameters in
// openai_refusal.go, Retry-After in retryafter.go and the HTTP transport in
// transport.go.

package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	openai "github.com/sashabaranov/go-openai"

	"github.com/darslabs/dars/pkg/config"
)

// DefaultTimeout bounds one request when a model entry sets no timeout.
const DefaultTimeout = 120 * time.Second

// DefaultAzureAPIVersion is the api-version an azure model entry uses when it
// sets none: the generally available Chat Completions version.
const DefaultAzureAPIVersion = "2024-10-21"

// defaultOpenAIBaseURL is used when a model entry of provider openai sets no base_url.
const defaultOpenAIBaseURL = "https://api.openai.com/v1"

// OpenAI talks to any OpenAI-compatible Chat Completions endpoint (OpenAI,
// Azure OpenAI, vLLM, SGLang, Ollama, llama.cpp, OpenRouter, ...). Generate
// never retries a failure: each of its errors holds an *Error (find it with
// errors.As) that says whether a retry can help, wrapped by problem.Hint
// where the fix is known, except when ctx ends, which gives an error wrapping
// ctx.Err(). The one exception is a refused parameter: when the server
// answers 400 because it does not support seed, top_p, temperature or
// max_tokens, the parameter is dropped (max_tokens renamed to
// max_completion_tokens) for the rest of the run and the same request is sent
// again at once, since a refused request is not billed. The API key is read
// from the environment once, at construction, and never appears in an error;
// nor does what the base URL carries as a credential: messages name the
// endpoint by config.RedactURL of it. Safe for concurrent use.
type OpenAI struct {
	name      string   // the models[] name
	kind      string   // config.ProviderOpenAI or config.ProviderAzure
	modelID   string   // the provider's model id; for azure the deployment name
	endpoint  string   // the base URL as messages name it, redacted by config.RedactURL
	secrets   []string // what the request carries as a credential, scrubbed from messages
	keyEnv    string
	key       string
	timeout   time.Duration
	reasoning bool // o1/o3/o4/gpt-5 ids: ask with max_completion_tokens first
	client    *openai.Client
	log       *slog.Logger // where refused parameters are reported; never nil

	mu          sync.Mutex
	refused     map[string]string // parameter → the server's message refusing it
	adjustments []string          // what was dropped or renamed, in order
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns the client for a model entry: BaseURL (default the OpenAI
// API), Model (the id sent to the server), APIKeyEnv (the environment variable
// holding the key, sent as a bearer token; empty sends no key), Timeout (a Go
// duration, default DefaultTimeout) and Concurrency (sizes the connection
// pool). The client reports to log what it adjusts, such as a parameter the
// model refused (once per parameter); a nil log discards.
func NewOpenAI(m config.Model, log *slog.Logger) (*OpenAI, error) {
	return newCompatible(m, config.ProviderOpenAI, log)
}

// NewAzure returns the client for an Azure OpenAI model entry: BaseURL is the
// resource endpoint (https://NAME.openai.azure.com; required), Model the
// deployment name, APIVersion the api-version query (default
// DefaultAzureAPIVersion) and APIKeyEnv the environment variable holding the
// key, sent in the api-key header. Timeout, Concurrency and log as for
// NewOpenAI.
func NewAzure(m config.Model, log *slog.Logger) (*OpenAI, error) {
	return newCompatible(m, config.ProviderAzure, log)
}

func newCompatible(m config.Model, kind string, log *slog.Logger) (*OpenAI, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("new %s provider for model %q: %s", kind, m.Name, fmt.Sprintf(format, args...))
	}
	base := openAIBaseURL(m)
	if kind == config.ProviderAzure {
		if m.Model == "" {
			return nil, fail("deployment name is empty: set models[].model")
		}
		if strings.ContainsAny(m.Model, "/?#% \t\n") {
			return nil, fail("deployment name %q holds a character not allowed in a URL path segment", m.Model)
		}
		if m.BaseURL == "" {
			return nil, fail("base_url is empty: set it to the resource endpoint, e.g. https://NAME.openai.azure.com")
		}
		base = azureBaseURL(m)
	} else if m.Model == "" {
		return nil, fail("model id is empty: set models[].model")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fail("base_url %q is not an http(s) URL", config.RedactURL(base))
	}
	timeout := DefaultTimeout
	if m.Timeout != "" {
		timeout, err = time.ParseDuration(m.Timeout)
		if err != nil || timeout <= 0 {
			return nil, fail("timeout %q is not a positive duration such as \"120s\"", m.Timeout)
		}
	}
	var key string
	if m.APIKeyEnv != "" {
		key = os.Getenv(m.APIKeyEnv)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = max(m.Concurrency, 16)
	var cfg openai.ClientConfig
	if kind == config.ProviderAzure {
		cfg = openai.DefaultAzureConfig(key, base)
		cfg.APIVersion = azureAPIVersion(m)
		// The deployment is named exactly as configured; go-openai's default
		// mapper would strip dots and colons from it.
		cfg.AzureModelMapperFunc = func(deployment string) string { return deployment }
	} else {
		cfg = openai.DefaultConfig(key)
		cfg.BaseURL = base
	}
	cfg.HTTPClient = exchangeDoer{client: &http.Client{Transport: transport}}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	id := m.Model
	return &OpenAI{
		name:     m.Name,
		kind:     kind,
		modelID:  id,
		endpoint: config.RedactURL(base),
		secrets:  credentials(key, u.User),
		keyEnv:   m.APIKeyEnv,
		key:      key,
		timeout:  timeout,
		reasoning: strings.HasPrefix(id, "o1") || strings.HasPrefix(id, "o3") ||
			strings.HasPrefix(id, "o4") || strings.HasPrefix(id, "gpt-5"),
		client:  openai.NewClientWithConfig(cfg),
		log:     log,
		refused: make(map[string]string),
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

// azureBaseURL is the resource endpoint of an azure model entry, without
// trailing slash or a trailing /openai (go-openai adds that part itself).
func azureBaseURL(m config.Model) string {
	return strings.TrimSuffix(strings.TrimRight(m.BaseURL, "/"), "/openai")
}

// azureAPIVersion is the api-version an azure model entry asks for.
func azureAPIVersion(m config.Model) string {
	if v := strings.TrimSpace(m.APIVersion); v != "" {
		return v
	}
	return DefaultAzureAPIVersion
}

// Adjustments returns, in the order they happened, the changes made to this
// model's requests because the server refused a parameter, e.g.
// `dropped "seed": <server message>` or
// `renamed "max_tokens" to "max_completion_tokens": <server message>`.
// The slice is a copy; nil when nothing was adjusted.
func (o *OpenAI) Adjustments() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.adjustments)
}

// Generate sends a Chat Completions request for req.N samples with seed
// req.Seeds[0]; n is sent only when req.N > 1. Choices come back in the
// server's index order, at most req.N. When the server reports no usage,
// tokens are estimated at four characters a token and UsageEstimated is set.
// A 400 refusing n gives an *Error with Param "n" and the cap the server
// stated, and is not retried here. A 400 refusing another parameter is
// answered by sending the request again without it, at most once per
// parameter.
func (o *OpenAI) Generate(ctx context.Context, req Request) (Response, error) {
	if req.N < 1 {
		return Response{}, &Error{Model: o.name, Message: fmt.Sprintf("n must be at least 1, got %d", req.N)}
	}
	for _, v := range []float64{req.Temperature, req.TopP} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Response{}, &Error{Model: o.name, Message: fmt.Sprintf("temperature %v or top_p %v is not a finite number", req.Temperature, req.TopP)}
		}
	}
	// Only the model and the messages go through go-openai's request struct:
	// the sampling parameters are written into the body by exchangeDoer, so
	// that a zero temperature is sent (go-openai's omitempty would drop it),
	// refused parameters can be left out, and go-openai's client-side checks
	// of reasoning models never refuse a request the server would take.
	creq := openai.ChatCompletionRequest{
		Model:    o.modelID,
		Messages: make([]openai.ChatCompletionMessage, len(req.Messages)),
	}
	for i, m := range req.Messages {
		creq.Messages[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	var tried []string // parameters this call has already re-sent without
	var err error
	// Each pass but the last learns at least one new refused parameter.
	for range len(droppableParams) + 1 {
		x := o.newExchange(req)
		var resp Response
		resp, err = o.send(ctx, creq, req, x)
		if err == nil {
			return resp, nil
		}
		var pe *Error
		if len(x.refused) == 0 || !errors.As(err, &pe) {
			return Response{}, err
		}
		fresh := false
		for _, p := range x.refused {
			if !slices.Contains(tried, p) {
				tried, fresh = append(tried, p), true
			}
		}
		if !fresh {
			return Response{}, err
		}
		o.refuse(x.refused, pe.Message)
	}
	return Response{}, err
}

// send makes one Chat Completions request.
func (o *OpenAI) send(ctx context.Context, creq openai.ChatCompletionRequest, req Request, x *exchange) (Response, error) {
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
	if d := cresp.Usage.CompletionTokensDetails; d != nil && d.ReasoningTokens > 0 {
		resp.ReasoningTokens = int64(d.ReasoningTokens)
		// OpenAI counts reasoning inside completion_tokens. A server that
		// reports more reasoning than completion tokens counts them apart:
		// both are billed.
		if resp.ReasoningTokens > resp.CompletionTokens {
			resp.CompletionTokens += resp.ReasoningTokens
		}
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
