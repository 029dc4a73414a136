// How the OpenAI client classifies a failed request: by HTTP status, by the
// error body of the servers go-openai does not parse, and by an exhausted
// quota; retryable or fatal, with the likely fix where it is known.

package provider

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/darslabs/dars/pkg/excerpt"

	openai "github.com/sashabaranov/go-openai"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/problem"
)

// classify turns a failed request into an *Error, wrapped by problem.Hint
// when the likely fix is known, or an error wrapping ctx.Err() when the
// caller's context ended.
func (o *OpenAI) classify(ctx, tctx context.Context, x *exchange, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("generate %q: %w", o.name, ctx.Err())
	}
	e := &Error{Model: o.name}
	var hint string
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
		hint = o.byStatus(e, reqErr.HTTPStatusCode, excerpt.Clip(msg, 300, "..."))
		hint = cmp.Or(o.noteQuota(e, code), hint)
		noteRefusal(e, x, msg, param, code)
	case errors.As(err, &apiErr):
		hint = o.byStatus(e, apiErr.HTTPStatusCode, apiErr.Message)
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
		hint = cmp.Or(o.noteQuota(e, code), hint)
		noteRefusal(e, x, apiErr.Message, param, code)
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		e.Retryable = true
		e.StatusCode = x.status
		e.Message = fmt.Sprintf("no complete reply from %q within the timeout %s", o.endpoint, o.timeout)
	case errors.As(err, &syntaxErr), errors.As(err, &typeErr),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF) && x.status != 0:
		e.Retryable = true
		e.StatusCode = x.status
		e.Message = "malformed response body: " + redactRequestURL(err)
	case isClientRejection(err):
		e.Message = fmt.Sprintf("request for model id %q rejected before sending: %v", o.modelID, err)
	default: // connection refused or reset, DNS, TLS: the network may recover
		e.Retryable = true
		e.StatusCode = x.status
		e.Message = fmt.Sprintf("request to %q failed: %s", o.endpoint, redactRequestURL(err))
	}
	if e.Retryable {
		now := time.Now()
		e.RetryAfter = retryAfter(x.header, now)
		if e.RetryAfter == 0 && e.StatusCode == http.StatusTooManyRequests {
			e.RetryAfter = rateLimitReset(x.header, now)
		}
	}
	e.Message = o.scrub(e.Message)
	return problem.Hint(e, hint)
}

// redactRequestURL is err's message with the request URL in it redacted:
// net/http's *url.Error masks a password but shows the user name and the
// query (where a token may be).
func redactRequestURL(err error) string {
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		msg = strings.ReplaceAll(msg, ue.URL, config.RedactURL(ue.URL))
	}
	return msg
}

// credentials lists what a request carries as a credential, for scrub:
// the key (a bearer token, or Azure's api-key header) and the base URL's
// user information, whose password net/http sends in a basic
// Authorization header when no key is set.
func credentials(key string, user *url.Userinfo) []string {
	var out []string
	if key != "" {
		out = append(out, key)
	}
	if user == nil {
		return out
	}
	pw, _ := user.Password()
	if pw != "" {
		out = append(out, pw)
	}
	// As net/http's Request.SetBasicAuth encodes it.
	return append(out, base64.StdEncoding.EncodeToString([]byte(user.Username()+":"+pw)))
}

// scrub hides in a message what the server may have echoed of the
// credentials it was sent.
func (o *OpenAI) scrub(msg string) string {
	for _, s := range o.secrets {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	return msg
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

// byStatus classifies an HTTP error status: 408, 429 and 5xx are retryable;
// 401, 402, 403 and 404 are fatal for the model, and byStatus returns their
// likely fix; other 4xx fail this request only.
func (o *OpenAI) byStatus(e *Error, status int, msg string) (hint string) {
	e.StatusCode = status
	where := fmt.Sprintf("model id %q at %q", o.modelID, o.endpoint)
	if o.kind == config.ProviderAzure {
		where = fmt.Sprintf("deployment %q at %q", o.modelID, o.endpoint)
	}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		e.Retryable = true
		e.Message = msg
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Fatal = true
		e.Message = fmt.Sprintf("%s for %s: %s", strings.ToLower(http.StatusText(status)), where, msg)
		return o.keyHint()
	case status == http.StatusPaymentRequired:
		e.Fatal = true
		e.Message = fmt.Sprintf("payment required for %s: %s", where, msg)
		return "add credit to the account, then run the same command again"
	case status == http.StatusNotFound:
		e.Fatal = true
		e.Message = fmt.Sprintf("not found: %s: %s", where, msg)
		return "check base_url and model"
	default:
		e.Message = msg
	}
	return ""
}

// noteQuota makes an exhausted account fatal for the model: a 429 whose code
// is insufficient_quota (OpenAI's "You exceeded your current quota") will
// not pass by waiting, unlike a rate limit. It returns the likely fix, ""
// when the account is not exhausted.
func (o *OpenAI) noteQuota(e *Error, code string) string {
	if e.StatusCode != http.StatusTooManyRequests || code != "insufficient_quota" {
		return ""
	}
	e.Retryable, e.Fatal = false, true
	e.Message = fmt.Sprintf("quota exhausted for the account behind %q: %s", o.endpoint, e.Message)
	return "check the plan and billing; " + o.keyHint()
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
