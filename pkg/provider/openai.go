package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
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

// Sampling parameters dars sends, by their names in the request body.
const (
	paramN                   = "n"
	paramTemperature         = "temperature"
	paramTopP                = "top_p"
	paramSeed                = "seed"
	paramMaxTokens           = "max_tokens"
	paramMaxCompletionTokens = "max_completion_tokens"
)

// droppableParams are the parameters a model may refuse and be asked again
// without; n is not among them: its cap is the caller's to learn.
var droppableParams = []string{paramTemperature, paramTopP, paramSeed, paramMaxTokens, paramMaxCompletionTokens}

// OpenAI talks to any OpenAI-compatible Chat Completions endpoint (OpenAI,
// Azure OpenAI, vLLM, SGLang, Ollama, llama.cpp, OpenRouter, ...). Generate
// never retries a failure: its errors are *Error values that say whether a
// retry can help, except when ctx ends, which gives an error wrapping
// ctx.Err(). The one exception is a refused parameter: when the server
// answers 400 because it does not support seed, top_p, temperature or
// max_tokens, the parameter is dropped (max_tokens renamed to
// max_completion_tokens) for the rest of the run and the same request is sent
// again at once, since a refused request is not billed. The API key is read
// from the environment once, at construction, and never appears in an error.
// Safe for concurrent use.
type OpenAI struct {
	name      string // the models[] name
	kind      string // config.ProviderOpenAI or config.ProviderAzure
	modelID   string // the provider's model id; for azure the deployment name
	baseURL   string // without trailing slash
	keyEnv    string
	key       string
	timeout   time.Duration
	reasoning bool // o1/o3/o4/gpt-5 ids: ask with max_completion_tokens first
	client    *openai.Client

	mu          sync.Mutex
	refused     map[string]string // parameter → the server's message refusing it
	adjustments []string          // what was dropped or renamed, in order
	log         *slog.Logger
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns the client for a model entry: BaseURL (default the OpenAI
// API), Model (the id sent to the server), APIKeyEnv (the environment variable
// holding the key, sent as a bearer token; empty sends no key), Timeout (a Go
// duration, default DefaultTimeout) and Concurrency (sizes the connection
// pool).
func NewOpenAI(m config.Model) (*OpenAI, error) {
	return newCompatible(m, config.ProviderOpenAI)
}

// NewAzure returns the client for an Azure OpenAI model entry: BaseURL is the
// resource endpoint (https://NAME.openai.azure.com; required), Model the
// deployment name, APIVersion the api-version query (default
// DefaultAzureAPIVersion) and APIKeyEnv the environment variable holding the
// key, sent in the api-key header. Timeout and Concurrency as for NewOpenAI.
func NewAzure(m config.Model) (*OpenAI, error) {
	return newCompatible(m, config.ProviderAzure)
}

func newCompatible(m config.Model, kind string) (*OpenAI, error) {
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
		return nil, fail("base_url %q is not an http(s) URL", base)
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
	id := m.Model
	return &OpenAI{
		name:    m.Name,
		kind:    kind,
		modelID: id,
		baseURL: base,
		keyEnv:  m.APIKeyEnv,
		key:     key,
		timeout: timeout,
		reasoning: strings.HasPrefix(id, "o1") || strings.HasPrefix(id, "o3") ||
			strings.HasPrefix(id, "o4") || strings.HasPrefix(id, "gpt-5"),
		client:  openai.NewClientWithConfig(cfg),
		refused: make(map[string]string),
		log:     slog.New(slog.DiscardHandler),
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

// SetLogger sets where the client reports what it adjusts, such as a
// parameter the model refused (once per parameter); nil discards.
func (o *OpenAI) SetLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	o.mu.Lock()
	o.log = l
	o.mu.Unlock()
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

// newExchange writes req's sampling parameters, less the refused ones, as
// JSON members for exchangeDoer to add to the body.
func (o *OpenAI) newExchange(req Request) *exchange {
	o.mu.Lock()
	defer o.mu.Unlock()
	x := &exchange{n: req.N}
	b := make([]byte, 0, 128)
	add := func(name string, value func([]byte) []byte) {
		if _, no := o.refused[name]; no {
			return
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = value(b)
		if name != paramN {
			x.sent = append(x.sent, name)
		}
	}
	float := func(v float64) func([]byte) []byte {
		return func(b []byte) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }
	}
	integer := func(v int64) func([]byte) []byte {
		return func(b []byte) []byte { return strconv.AppendInt(b, v, 10) }
	}
	add(paramTemperature, float(req.Temperature))
	if req.TopP > 0 {
		add(paramTopP, float(req.TopP))
	}
	if req.N > 1 {
		add(paramN, integer(int64(req.N)))
	}
	if len(req.Seeds) > 0 {
		add(paramSeed, integer(req.Seeds[0]))
	}
	if req.MaxTokens > 0 {
		if f := o.tokensField(); f != "" {
			add(f, integer(int64(req.MaxTokens)))
		}
	}
	x.params = b
	return x
}

// tokensField is the name under which the output cap is sent: max_tokens
// (max_completion_tokens for reasoning model ids) unless the server refused
// it, then the other, then none. The caller holds o.mu.
func (o *OpenAI) tokensField() string {
	order := []string{paramMaxTokens, paramMaxCompletionTokens}
	if o.reasoning {
		order[0], order[1] = order[1], order[0]
	}
	for _, f := range order {
		if _, no := o.refused[f]; !no {
			return f
		}
	}
	return ""
}

// refuse records parameters the server refused, so no later request of
// this model sends them, and logs and lists each the first time.
func (o *OpenAI) refuse(params []string, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	msg = truncate(msg, 300)
	for _, p := range params {
		if _, done := o.refused[p]; done {
			continue
		}
		o.refused[p] = msg
		adj := fmt.Sprintf("dropped %q: %s", p, msg)
		if p == paramMaxTokens || p == paramMaxCompletionTokens {
			if f := o.tokensField(); f != "" {
				adj = fmt.Sprintf("renamed %q to %q: %s", p, f, msg)
			}
		}
		o.adjustments = append(o.adjustments, adj)
		o.log.Warn("the endpoint refused a parameter; requests of this model go on without it",
			"model", o.name, "param", p, "adjustment", adj)
	}
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
	case errors.As(err, &reqErr):
		// Before *APIError: go-openai wraps a half-decoded APIError (from a
		// body such as {"error": "text"}) in a RequestError.
		msg, param, code := errorBody(reqErr.Body)
		if msg == "" {
			msg = strings.TrimSpace(string(reqErr.Body))
		}
		if msg == "" {
			msg = http.StatusText(reqErr.HTTPStatusCode)
		}
		o.byStatus(e, reqErr.HTTPStatusCode, truncate(msg, 300))
		o.noteQuota(e, code)
		noteRefusal(e, x, msg, param, code)
	case errors.As(err, &apiErr):
		o.byStatus(e, apiErr.HTTPStatusCode, apiErr.Message)
		var param string
		if apiErr.Param != nil {
			param = *apiErr.Param
		}
		var code string
		if apiErr.Code != nil {
			code = fmt.Sprint(apiErr.Code)
		}
		if apiErr.Type == "insufficient_quota" {
			code = apiErr.Type
		}
		o.noteQuota(e, code)
		noteRefusal(e, x, apiErr.Message, param, code)
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
		now := time.Now()
		e.RetryAfter = retryAfter(x.header, now)
		if e.RetryAfter == 0 && e.StatusCode == http.StatusTooManyRequests {
			e.RetryAfter = rateLimitReset(x.header, now)
		}
	}
	if o.key != "" {
		e.Message = strings.ReplaceAll(e.Message, o.key, "[redacted]")
	}
	return e
}

// errorBody reads the error bodies go-openai does not parse: vLLM's and
// SGLang's top-level {"message", "param", "code"}, Ollama's {"error": "..."},
// and FastAPI's 422 {"detail": [{"loc": [...], "msg": "..."}]}. It returns
// empty strings for anything else.
func errorBody(body []byte) (msg, param, code string) {
	var v struct {
		Message any             `json:"message"`
		Param   any             `json:"param"`
		Code    any             `json:"code"`
		Error   json.RawMessage `json:"error"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", "", ""
	}
	str := func(a any) string {
		switch a := a.(type) {
		case string:
			return a
		case float64:
			return strconv.FormatFloat(a, 'g', -1, 64)
		}
		return ""
	}
	msg, param, code = str(v.Message), str(v.Param), str(v.Code)
	var s string
	if msg == "" && json.Unmarshal(v.Error, &s) == nil {
		msg = s
	}
	var details []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if msg == "" && json.Unmarshal(v.Detail, &details) == nil && len(details) > 0 {
		parts := make([]string, 0, len(details))
		for _, d := range details {
			loc := make([]string, 0, len(d.Loc))
			for _, l := range d.Loc {
				loc = append(loc, str(l))
			}
			parts = append(parts, strings.Join(loc, ".")+": "+d.Msg)
			if param == "" && len(d.Loc) > 0 {
				param = str(d.Loc[len(d.Loc)-1])
			}
		}
		msg = strings.Join(parts, "; ")
	} else if msg == "" && json.Unmarshal(v.Detail, &s) == nil {
		msg = s
	}
	return msg, param, code
}

// noteRefusal marks a 400 (or 422) that refuses a parameter the request
// sent: for n it sets e.Param and e.Limit; for another parameter it sets
// e.Param and records in x every refused one, for Generate to send again
// without them.
func noteRefusal(e *Error, x *exchange, msg, param, code string) {
	if e.StatusCode != http.StatusBadRequest && e.StatusCode != http.StatusUnprocessableEntity {
		return
	}
	param = strings.TrimSpace(param)
	if x.n > 1 && (param == paramN || (param == "" && namesN(msg))) {
		e.Param = paramN
		e.Limit = nLimit(msg, x.n)
		return
	}
	if refused := refusedParams(x.sent, msg, param, code); len(refused) > 0 {
		e.Param = refused[0]
		x.refused = refused
	}
}

// nPatterns recognise a message about the n parameter.
var nPatterns = []*regexp.Regexp{
	regexp.MustCompile("(?i)['\"`]n['\"`]"),
	regexp.MustCompile(`(?i)\bn\s*(?:<=|>=|=|<|>|≤)`),
	regexp.MustCompile(`(?i)\bn\s+(?:must|should|is|are|cannot|can not|can't|may|has|needs|exceeds|greater|larger|above|over)\b`),
	regexp.MustCompile(`(?i)\b(?:parameter|argument|value of|field)\s+n\b`),
	regexp.MustCompile(`(?i)\bonly one (?:completion )?choice\b`),
}

// namesN reports whether a message speaks of the n parameter.
func namesN(msg string) bool {
	for _, re := range nPatterns {
		if re.MatchString(msg) {
			return true
		}
	}
	return false
}

// nCaps find the cap on n a message states; the last submatch is the number
// and off is added to it ("less than 5" allows 4).
var nCaps = []struct {
	re  *regexp.Regexp
	off int
}{
	{regexp.MustCompile(`(?i)\bonly\s+(?:['"` + "`" + `]?n['"` + "`" + `]?\s*=\s*)?(\d+)\b`), 0},
	{regexp.MustCompile(`(?i)\bonly the default \((\d+)\)`), 0},
	{regexp.MustCompile(`(?i)(?:<=|≤)\s*(\d+)`), 0},
	{regexp.MustCompile(`(?i)\bbetween\s+\d+\s+and\s+(\d+)`), 0},
	{regexp.MustCompile(`(?i)\b(?:at most|no more than|not more than|no greater than|not greater than|less than or equal to|up to|cannot exceed|must not exceed|maximum(?: value)?(?: is| of|:)?|max(?: is| of|:|=)?)\s*(\d+)`), 0},
	{regexp.MustCompile(`(?i)(?:\bless than|<)\s*(\d+)`), -1},
}

// nLimit is the cap on n a message states, 0 when it states none or one
// that would not have refused the sent n.
func nLimit(msg string, sent int) int {
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "only one") || strings.Contains(lower, "only a single") {
		return 1
	}
	for _, c := range nCaps {
		m := c.re.FindAllStringSubmatch(msg, -1)
		if len(m) == 0 {
			continue
		}
		v, err := strconv.Atoi(m[len(m)-1][1])
		if err != nil {
			continue
		}
		if v += c.off; v >= 1 && v < sent {
			return v
		}
		return 0
	}
	return 0
}

// refusalPhrase is how servers say they do not take a parameter.
var refusalPhrase = regexp.MustCompile(`(?i)unsupported|not supported|unrecogni[sz]ed|not allowed|not permitted|does not support|doesn't support|only the default|unknown (?:parameter|argument|field)|extra (?:inputs|fields)|not a valid (?:parameter|argument)`)

// refusedParams returns the parameters among sent that a 400 refuses: the
// one its param field names, else every one its message names, when the
// code or the message says the parameter is unsupported.
func refusedParams(sent []string, msg, param, code string) []string {
	switch strings.ToLower(code) {
	case "unsupported_parameter", "unsupported_value":
	default:
		if !refusalPhrase.MatchString(msg) {
			return nil
		}
	}
	if param != "" {
		if slices.Contains(sent, param) {
			return []string{param}
		}
		return nil
	}
	var out []string
	for _, p := range sent {
		if mentions(msg, p) {
			out = append(out, p)
		}
	}
	return out
}

// mentions reports whether msg holds name as a whole identifier.
func mentions(msg, name string) bool {
	msg = strings.ToLower(msg)
	ident := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	for from := 0; ; {
		i := strings.Index(msg[from:], name)
		if i < 0 {
			return false
		}
		i += from
		j := i + len(name)
		if (i == 0 || !ident(msg[i-1])) && (j == len(msg) || !ident(msg[j])) {
			return true
		}
		from = i + 1
	}
}

// byStatus classifies an HTTP error status: 408, 429 and 5xx are retryable;
// 401, 402, 403 and 404 are fatal for the model; other 4xx fail this request
// only.
func (o *OpenAI) byStatus(e *Error, status int, msg string) {
	e.StatusCode = status
	where := fmt.Sprintf("model id %q at %q", o.modelID, o.baseURL)
	if o.kind == config.ProviderAzure {
		where = fmt.Sprintf("deployment %q at %q", o.modelID, o.baseURL)
	}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		e.Retryable = true
		e.Message = msg
	case status == http.StatusUnauthorized:
		e.Fatal = true
		e.Message = fmt.Sprintf("unauthorized for %s: %s; hint: %s", where, msg, o.keyHint())
	case status == http.StatusPaymentRequired:
		e.Fatal = true
		e.Message = fmt.Sprintf("payment required for %s: %s; hint: add credit to the account, then run the same command again", where, msg)
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

// noteQuota makes an exhausted account fatal for the model: a 429 whose code
// is insufficient_quota (OpenAI's "You exceeded your current quota") will
// not pass by waiting, unlike a rate limit.
func (o *OpenAI) noteQuota(e *Error, code string) {
	if e.StatusCode == http.StatusTooManyRequests && code == "insufficient_quota" {
		e.Retryable, e.Fatal = false, true
		e.Message = fmt.Sprintf("quota exhausted for the account behind %q: %s; hint: check the plan and billing; %s",
			o.baseURL, e.Message, o.keyHint())
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

// rateLimitReset reads OpenAI's x-ratelimit-reset-requests and
// x-ratelimit-reset-tokens (durations such as "1s", "6m0s", "20ms", or
// seconds): the longest among the limits whose x-ratelimit-remaining-* is 0,
// else the shortest given; 0 when none parses.
func rateLimitReset(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	var exhausted, given time.Duration
	for _, kind := range []string{"requests", "tokens"} {
		d := parseReset(h.Get("X-Ratelimit-Reset-"+kind), now)
		if d <= 0 {
			continue
		}
		if given == 0 || d < given {
			given = d
		}
		if rem := strings.TrimSpace(h.Get("X-Ratelimit-Remaining-" + kind)); rem != "" {
			if r, err := strconv.ParseFloat(rem, 64); err == nil && r <= 0 {
				exhausted = max(exhausted, d)
			}
		}
	}
	if exhausted > 0 {
		return exhausted
	}
	return given
}

// parseReset reads one x-ratelimit-reset-* value: a Go duration, a number of
// seconds or an RFC 3339 time; 0 when absent, unparseable, not positive or
// beyond maxRetryAfter.
func parseReset(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if !(s > 0 && s <= maxRetryAfter.Seconds()) { // also rejects NaN
			return 0
		}
		d = time.Duration(s * float64(time.Second))
	} else if pd, err := time.ParseDuration(v); err == nil {
		d = pd
	} else if t, err := time.Parse(time.RFC3339, v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 || d > maxRetryAfter {
		return 0
	}
	return d
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

// exchange carries one request's parameters to the transport and what the
// transport saw back. Only the goroutine running the request touches it.
type exchange struct {
	params  []byte   // JSON members to add to the body: "temperature":0.7,...
	n       int      // samples asked for; n is in params only when > 1
	sent    []string // the droppable parameters in params
	refused []string // those a 400 refused, set by classify

	status int         // the HTTP status, 0 when no response arrived
	header http.Header // the response headers
}

type exchangeKey struct{}

// exchangeDoer is the HTTP client go-openai uses: it adds the sampling
// parameters to the body and records the status and headers of the reply.
type exchangeDoer struct{ client *http.Client }

func (d exchangeDoer) Do(req *http.Request) (*http.Response, error) {
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x != nil && len(x.params) > 0 && req.Body != nil {
		if err := addParams(req, x.params); err != nil {
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

// addParams appends JSON members to the object in the request body. The
// members are never among those go-openai wrote: the request struct leaves
// every sampling parameter at its omitted zero value.
func addParams(req *http.Request, params []byte) error {
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return fmt.Errorf("add sampling parameters: the request body is not a JSON object")
	}
	out := make([]byte, 0, len(body)+len(params)+1)
	out = bytes.TrimRight(append(out, body[:len(body)-1]...), " \t\r\n")
	if out[len(out)-1] != '{' {
		out = append(out, ',')
	}
	out = append(out, params...)
	out = append(out, '}')
	req.Body = io.NopCloser(bytes.NewReader(out))
	req.ContentLength = int64(len(out))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	return nil
}
