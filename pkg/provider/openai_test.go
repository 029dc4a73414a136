package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/problem"
)

const testKey = "sk-test-SECRET-0123456789"

// chatServer serves /v1/chat/completions with handle and records each
// request body it received.
func chatServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body map[string]any)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, "no route "+r.URL.Path, http.StatusTeapot)
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		handle(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func testModel(srv *httptest.Server) config.Model {
	return config.Model{Name: "small", Provider: "openai", BaseURL: srv.URL + "/v1/", Model: "qwen-7b", APIKeyEnv: "DARS_TEST_KEY"}
}

func chatRequest(n int) Request {
	return Request{
		Messages:    []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is 6*7?"}},
		Temperature: 0.7, TopP: 0.95, MaxTokens: 256, N: n,
		Seeds: []int64{1234, 1235, 1236}[:n],
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func completion(texts []string, usage map[string]int) map[string]any {
	choices := make([]map[string]any, len(texts))
	for i, s := range texts {
		// Reversed, to check Generate orders choices by index.
		choices[len(texts)-1-i] = map[string]any{
			"index": i, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": s},
		}
	}
	resp := map[string]any{"id": "x", "object": "chat.completion", "model": "qwen-7b", "choices": choices}
	if usage != nil {
		resp["usage"] = usage
	}
	return resp
}

func TestOpenAISuccess(t *testing.T) {
	t.Setenv("DARS_TEST_KEY", testKey)
	var got map[string]any
	var auth string
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		got, auth = body, r.Header.Get("Authorization")
		writeJSON(w, 200, completion([]string{"42", "41", "Final Answer: 42"}, map[string]int{"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}))
	})
	p, err := New(testModel(srv), config.Simulator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Generate(context.Background(), chatRequest(3))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer "+testKey {
		t.Errorf("Authorization = %q", auth)
	}
	want := map[string]any{"model": "qwen-7b", "n": 3.0, "seed": 1234.0, "max_tokens": 256.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, got[k], v)
		}
	}
	for k, v := range map[string]float64{"temperature": 0.7, "top_p": 0.95} {
		if f, ok := got[k].(float64); !ok || fmt.Sprintf("%.4f", f) != fmt.Sprintf("%.4f", v) {
			t.Errorf("body[%q] = %v, want %v", k, got[k], v)
		}
	}
	if msgs, _ := got["messages"].([]any); len(msgs) != 2 {
		t.Errorf("messages = %v", got["messages"])
	}
	if len(resp.Choices) != 3 || resp.Choices[0].Text != "42" || resp.Choices[2].Text != "Final Answer: 42" {
		t.Errorf("choices = %+v", resp.Choices)
	}
	if resp.Choices[1].FinishReason != "stop" {
		t.Errorf("finish reason = %q", resp.Choices[1].FinishReason)
	}
	if resp.PromptTokens != 20 || resp.CompletionTokens != 9 || resp.UsageEstimated {
		t.Errorf("usage = %d/%d estimated %v", resp.PromptTokens, resp.CompletionTokens, resp.UsageEstimated)
	}
}

func TestOpenAIEstimatedUsageAndNoKey(t *testing.T) {
	var auth []string
	var body map[string]any
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, b map[string]any) {
		auth, body = r.Header.Values("Authorization"), b
		writeJSON(w, 200, completion([]string{"abcdefgh", "abcde"}, nil))
	})
	m := testModel(srv)
	m.APIKeyEnv = ""
	p, err := NewOpenAI(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := chatRequest(2)
	req.Temperature = 0
	resp, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(auth) != 0 {
		t.Errorf("no key configured, but Authorization = %q", auth)
	}
	if v, ok := body["temperature"]; !ok || v != 0.0 {
		t.Errorf("temperature 0 not sent: body[temperature] = %v (present %v)", v, ok)
	}
	// "Be brief." + "What is 6*7?" = 21 chars → 6 tokens; 8 → 2, 5 → 2.
	if !resp.UsageEstimated || resp.PromptTokens != 6 || resp.CompletionTokens != 4 ||
		resp.Choices[0].CompletionTokens != 2 || resp.Choices[1].CompletionTokens != 2 {
		t.Errorf("estimated usage = %+v", resp)
	}
}

func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		retryable bool
		fatal     bool
		contains  []string // in the message
		hint      string   // the one hint, "" for none
	}{
		{name: "429", status: 429, body: `{"error":{"message":"slow down","type":"rate_limit"}}`,
			header: map[string]string{"Retry-After": "7"}, retryable: true, contains: []string{"slow down"}},
		{name: "500", status: 500, body: `{"error":{"message":"boom"}}`, retryable: true, contains: []string{"boom"}},
		{name: "503 html", status: 503, body: `<html>unavailable</html>`, retryable: true, contains: []string{"unavailable"}},
		{name: "401", status: 401, body: `{"error":{"message":"bad key ` + testKey + `"}}`, fatal: true,
			contains: []string{"unauthorized", "qwen-7b", "127.0.0.1", "[redacted]"},
			hint:     `check the key in the environment variable "DARS_TEST_KEY"`},
		{name: "403", status: 403, body: `{"error":{"message":"forbidden"}}`, fatal: true,
			contains: []string{"forbidden for model id", "qwen-7b"},
			hint:     `check the key in the environment variable "DARS_TEST_KEY"`},
		{name: "404", status: 404, body: `{"error":{"message":"The model does not exist"}}`, fatal: true,
			contains: []string{"qwen-7b", "127.0.0.1", "does not exist"}, hint: "check base_url and model"},
		{name: "402", status: 402, body: `{"error":{"message":"Insufficient credits"}}`, fatal: true,
			contains: []string{"payment required", "Insufficient credits", "qwen-7b"},
			hint:     "add credit to the account, then run the same command again"},
		{name: "429 insufficient_quota", status: 429,
			body:  `{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
			fatal: true, contains: []string{"quota exhausted", "You exceeded your current quota"},
			hint: `check the plan and billing; check the key in the environment variable "DARS_TEST_KEY"`},
		{name: "400", status: 400, body: `{"error":{"message":"context length exceeded"}}`, contains: []string{"context length exceeded"}},
		{name: "malformed 200", status: 200, body: `{"choices": [`, retryable: true, contains: []string{"malformed"}},
		{name: "not json 200", status: 200, body: `hello`, retryable: true, contains: []string{"malformed"}},
		{name: "empty 200", status: 200, body: ``, retryable: true, contains: []string{"malformed"}},
		{name: "no choices", status: 200, body: `{"choices": []}`, retryable: true, contains: []string{"no choices"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DARS_TEST_KEY", testKey)
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			p, err := New(testModel(srv), config.Simulator{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Generate(context.Background(), chatRequest(1))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			t.Log(err)
			if pe.Retryable != tt.retryable || pe.Fatal != tt.fatal {
				t.Errorf("retryable %v fatal %v, want %v %v: %v", pe.Retryable, pe.Fatal, tt.retryable, tt.fatal, err)
			}
			if tt.status != 200 && pe.StatusCode != tt.status {
				t.Errorf("status %d, want %d", pe.StatusCode, tt.status)
			}
			if pe.Model != "small" {
				t.Errorf("model %q", pe.Model)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("key leaked: %v", err)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "hint:") {
				t.Errorf("error %q carries its hint inline", err)
			}
			var want []string
			if tt.hint != "" {
				want = []string{tt.hint}
			}
			if got := problem.Hints(err); !slices.Equal(got, want) {
				t.Errorf("hints %q, want %q", got, want)
			}
			if tt.header["Retry-After"] == "7" && pe.RetryAfter != 7*time.Second {
				t.Errorf("RetryAfter = %v, want 7s", pe.RetryAfter)
			}
		})
	}
}

func TestOpenAIUnauthorizedHints(t *testing.T) {
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"message": "missing key"}})
	})
	for _, tt := range []struct{ name, env, want string }{
		{"unset", "DARS_TEST_UNSET_KEY", `"DARS_TEST_UNSET_KEY" is empty or unset`},
		{"no env", "", "no api_key_env"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := testModel(srv)
			m.APIKeyEnv = tt.env
			p, err := NewOpenAI(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Generate(context.Background(), chatRequest(1))
			if hints := problem.Hints(err); len(hints) != 1 || !strings.Contains(hints[0], tt.want) {
				t.Errorf("error %v: hints %q, want one containing %q", err, hints, tt.want)
			}
		})
	}
}

func TestOpenAITimeout(t *testing.T) {
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		<-r.Context().Done() // reply only when the client has gone
	})
	m := testModel(srv)
	m.Timeout = "50ms"
	p, err := New(m, config.Simulator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), chatRequest(1))
	var pe *Error
	if !errors.As(err, &pe) || !pe.Retryable || pe.Fatal {
		t.Fatalf("error %v, want a retryable *Error", err)
	}
	if !strings.Contains(pe.Message, "timeout") {
		t.Errorf("message %q does not say timeout", pe.Message)
	}
}

func TestOpenAICallerCancel(t *testing.T) {
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		<-r.Context().Done()
	})
	p, err := New(testModel(srv), config.Simulator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = p.Generate(ctx, chatRequest(1))
	var pe *Error
	if errors.As(err, &pe) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v (%T): want the caller's context error, not *Error", err, err)
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	m := testModel(srv)
	srv.Close()
	p, err := New(m, config.Simulator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), chatRequest(1))
	var pe *Error
	if !errors.As(err, &pe) || !pe.Retryable || pe.StatusCode != 0 {
		t.Errorf("error %v, want retryable with status 0", err)
	}
}

func TestNewOpenAIConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    config.Model
		want string
	}{
		{"no model id", config.Model{Name: "a", Provider: "openai"}, "model id is empty"},
		{"bad url", config.Model{Name: "a", Provider: "openai", Model: "x", BaseURL: "localhost:8000"}, "base_url"},
		{"bad timeout", config.Model{Name: "a", Provider: "openai", Model: "x", Timeout: "soon"}, "timeout"},
		{"negative timeout", config.Model{Name: "a", Provider: "openai", Model: "x", Timeout: "-1s"}, "timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.m, config.Simulator{}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"a"`) {
				t.Errorf("error %v, want it to name the model and contain %q", err, tt.want)
			}
		})
	}
}

func TestOpenAIConnectionReset(t *testing.T) {
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	p, err := New(testModel(srv), config.Simulator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), chatRequest(1))
	var pe *Error
	if !errors.As(err, &pe) || !pe.Retryable || pe.Fatal || pe.StatusCode != 0 {
		t.Errorf("error %v, want retryable with status 0", err)
	}
}

// TestOpenAIReasoningTokens: reasoning tokens reported in
// completion_tokens_details are kept; OpenAI counts them inside
// completion_tokens, and a server that reports more reasoning than
// completion tokens counts them apart, so both are billed.
func TestOpenAIReasoningTokens(t *testing.T) {
	t.Setenv("DARS_TEST_KEY", testKey)
	for _, tc := range []struct {
		name                   string
		completion, reasoning  int
		wantCompletion, wantRs int64
	}{
		{"inside completion_tokens (OpenAI)", 300, 250, 300, 250},
		{"apart from completion_tokens", 50, 250, 300, 250},
		{"none reported", 50, 0, 50, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				resp := completion([]string{"Final Answer: 42"}, nil)
				resp["usage"] = map[string]any{"prompt_tokens": 20, "completion_tokens": tc.completion,
					"completion_tokens_details": map[string]any{"reasoning_tokens": tc.reasoning}}
				writeJSON(w, 200, resp)
			})
			p, err := New(testModel(srv), config.Simulator{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.Generate(context.Background(), chatRequest(1))
			if err != nil {
				t.Fatal(err)
			}
			if resp.CompletionTokens != tc.wantCompletion || resp.ReasoningTokens != tc.wantRs || resp.Choices[0].CompletionTokens != tc.wantCompletion {
				t.Errorf("completion %d (choice %d), reasoning %d; want %d, %d", resp.CompletionTokens, resp.Choices[0].CompletionTokens,
					resp.ReasoningTokens, tc.wantCompletion, tc.wantRs)
			}
		})
	}
}
