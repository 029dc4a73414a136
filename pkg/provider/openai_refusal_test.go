package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// requestLog records the bodies a fake endpoint received.
type requestLog struct {
	mu     sync.Mutex
	bodies []map[string]any
}

func (l *requestLog) add(b map[string]any) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bodies = append(l.bodies, b)
	return len(l.bodies)
}

func (l *requestLog) all() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.bodies...)
}

func TestOpenAINRefused(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		limit  int
	}{
		{"openai style param n", 400,
			`{"error":{"message":"Value must be between 1 <= value <= 4","type":"invalid_request_error","param":"n","code":null}}`, 4},
		{"vllm top-level param n", 400,
			`{"object":"error","message":"Value must be between 1 <= value <= 4","type":"BadRequestError","param":"n","code":400}`, 4},
		{"at most", 400, `{"error":{"message":"n must be at most 6, got 8"}}`, 6},
		{"plain text", 400, `n must be at most 2`, 2},
		{"only n=1", 400, `{"error":{"message":"Only n=1 is supported"}}`, 1},
		{"not supported, no number", 400,
			`{"error":{"message":"'n' is not supported with this model.","param":null}}`, 0},
		{"reasoning default only", 400,
			`{"error":{"message":"Unsupported value: 'n' does not support 8 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"n","code":"unsupported_value"}}`, 1},
		{"llama.cpp one choice", 400,
			`{"error":{"code":400,"message":"Only one completion choice is allowed","type":"invalid_request_error"}}`, 1},
		{"fastapi 422", 422,
			`{"detail":[{"type":"less_than_equal","loc":["body","n"],"msg":"Input should be less than or equal to 5","input":8}]}`, 5},
		{"less than", 400, `{"error":{"message":"n must be less than 4"}}`, 3},
		{"stated cap not below sent", 400, `{"error":{"message":"n must be at most 16","param":"n"}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log requestLog
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				log.add(body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			p, err := NewOpenAI(testModel(srv), nil)
			if err != nil {
				t.Fatal(err)
			}
			req := chatRequest(1)
			req.N, req.Seeds = 8, []int64{1, 2, 3, 4, 5, 6, 7, 8}
			_, err = p.Generate(context.Background(), req)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if pe.Param != "n" || pe.Limit != tt.limit || pe.Retryable || pe.Fatal {
				t.Errorf("Param %q Limit %d retryable %v fatal %v, want \"n\" %d false false: %v",
					pe.Param, pe.Limit, pe.Retryable, pe.Fatal, tt.limit, err)
			}
			if got := len(log.all()); got != 1 {
				t.Errorf("%d requests, want 1: n is the caller's to lower", got)
			}
			if adj := p.Adjustments(); len(adj) != 0 {
				t.Errorf("Adjustments = %q, want none for n", adj)
			}
		})
	}
}

func TestOpenAINotNamed(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		body string
	}{
		{"context length", 8, `{"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens."}}`},
		{"n not sent", 1, `{"error":{"message":"n must be at most 4","param":"n"}}`},
		{"max_tokens too large", 8, `{"error":{"message":"max_tokens is too large: 9000. This model supports at most 4096 completion tokens.","param":"max_tokens"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log requestLog
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				log.add(body)
				w.WriteHeader(400)
				io.WriteString(w, tt.body)
			})
			p, err := NewOpenAI(testModel(srv), nil)
			if err != nil {
				t.Fatal(err)
			}
			req := chatRequest(1)
			req.N = tt.n
			_, err = p.Generate(context.Background(), req)
			var pe *Error
			if !errors.As(err, &pe) || pe.Retryable || pe.Fatal {
				t.Fatalf("error %v, want a plain 400 *Error", err)
			}
			if pe.Param == "n" || len(log.all()) != 1 || len(p.Adjustments()) != 0 {
				t.Errorf("Param %q, %d requests, adjustments %q: want no n refusal, 1 request, none",
					pe.Param, len(log.all()), p.Adjustments())
			}
		})
	}
}

func TestOpenAIRefusedParameter(t *testing.T) {
	tests := []struct {
		name    string
		param   string // the refused parameter
		status  int
		body    string
		renamed string // the name it is sent under afterwards, "" when dropped
		adjust  string
	}{
		{"max_tokens renamed", "max_tokens", 400,
			`{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}`,
			"max_completion_tokens", `renamed "max_tokens" to "max_completion_tokens": Unsupported parameter`},
		{"seed unrecognized", "seed", 400,
			`{"error":{"message":"Unrecognized request argument supplied: seed","type":"invalid_request_error","param":null,"code":null}}`,
			"", `dropped "seed": Unrecognized request argument supplied: seed`},
		{"temperature default only", "temperature", 400,
			`{"error":{"message":"Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.","type":"invalid_request_error","param":"temperature","code":"unsupported_value"}}`,
			"", `dropped "temperature": Unsupported value`},
		{"top_p vllm top-level", "top_p", 400,
			`{"object":"error","message":"top_p is not supported by this model","type":"BadRequestError","param":null,"code":400}`,
			"", `dropped "top_p"`},
		{"seed plain text", "seed", 400, `unsupported parameter: seed`, "", `dropped "seed"`},
		{"seed ollama style", "seed", 400, `{"error":"seed is not allowed"}`, "", `dropped "seed"`},
		{"seed 422 extra inputs", "seed", 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","seed"],"msg":"Extra inputs are not permitted"}]}`, "", `dropped "seed"`},
		{"response_format unsupported", "response_format", 400,
			`{"error":{"message":"response_format is not supported by this model","type":"invalid_request_error","param":"response_format","code":null}}`,
			"", `dropped "response_format"`},
		{"response_format unrecognized", "response_format", 400,
			`{"error":{"message":"Unrecognized request argument supplied: response_format","type":"invalid_request_error","param":null,"code":null}}`,
			"", `dropped "response_format": Unrecognized request argument`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log requestLog
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				log.add(body)
				if _, ok := body[tt.param]; ok {
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body)
					return
				}
				writeJSON(w, 200, completion([]string{"42"}, map[string]int{"prompt_tokens": 5, "completion_tokens": 1}))
			})
			var logs bytes.Buffer
			p, err := NewOpenAI(testModel(srv), slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			req := chatRequest(1)
			req.JSONObject = true // sent only when asked: the JSON-mode rows refuse it
			resp, err := p.Generate(context.Background(), req)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if len(resp.Choices) != 1 || resp.Choices[0].Text != "42" {
				t.Errorf("choices = %+v", resp.Choices)
			}
			bodies := log.all()
			if len(bodies) != 2 {
				t.Fatalf("%d requests, want 2 (refused, then again without %q)", len(bodies), tt.param)
			}
			if _, ok := bodies[0][tt.param]; !ok {
				t.Errorf("first request lacks %q", tt.param)
			}
			if _, ok := bodies[1][tt.param]; ok {
				t.Errorf("second request still sends %q", tt.param)
			}
			if tt.renamed != "" && bodies[1][tt.renamed] != 256.0 {
				t.Errorf("second request: %q = %v, want 256", tt.renamed, bodies[1][tt.renamed])
			}
			for _, k := range []string{"model", "messages"} {
				if _, ok := bodies[1][k]; !ok {
					t.Errorf("second request lacks %q", k)
				}
			}
			adj := p.Adjustments()
			if len(adj) != 1 || !strings.Contains(adj[0], tt.adjust) {
				t.Errorf("Adjustments = %q, want one containing %q", adj, tt.adjust)
			}

			// Later requests never send it.
			if _, err := p.Generate(context.Background(), req); err != nil {
				t.Fatalf("second Generate: %v", err)
			}
			bodies = log.all()
			if len(bodies) != 3 {
				t.Fatalf("%d requests after a second Generate, want 3", len(bodies))
			}
			if _, ok := bodies[2][tt.param]; ok {
				t.Errorf("a later request sends %q again", tt.param)
			}
			if len(p.Adjustments()) != 1 {
				t.Errorf("Adjustments = %q, want one", p.Adjustments())
			}
			if got := strings.Count(logs.String(), "refused a parameter"); got != 1 {
				t.Errorf("logged %d times, want once:\n%s", got, logs.String())
			}
			if !strings.Contains(logs.String(), "param="+tt.param) {
				t.Errorf("log does not name %q:\n%s", tt.param, logs.String())
			}
		})
	}
}

// TestOpenAIRefusedAgain: a server that refuses a parameter dars no longer
// sends gets one re-send, not a loop.
func TestOpenAIRefusedAgain(t *testing.T) {
	var log requestLog
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		log.add(body)
		writeJSON(w, 400, map[string]any{"error": map[string]any{
			"message": "Unsupported parameter: 'seed'", "param": "seed", "code": "unsupported_parameter"}})
	})
	p, err := NewOpenAI(testModel(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err = p.Generate(context.Background(), chatRequest(1))
		var pe *Error
		if !errors.As(err, &pe) || pe.Retryable || pe.Fatal || pe.StatusCode != 400 {
			t.Fatalf("Generate %d: error %v, want a non-retryable 400", i, err)
		}
	}
	if got := len(log.all()); got != 3 {
		t.Errorf("%d requests, want 3 (refused, re-sent without seed, then one)", got)
	}
	if adj := p.Adjustments(); len(adj) != 1 {
		t.Errorf("Adjustments = %q, want one", adj)
	}
}

// TestOpenAIRefusesEverything: a server that refuses every sampling
// parameter in turn gets each dropped once, then answers.
func TestOpenAIRefusesEverything(t *testing.T) {
	var log requestLog
	order := []string{"temperature", "top_p", "seed", "max_tokens", "max_completion_tokens"}
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		log.add(body)
		for _, p := range order {
			if _, ok := body[p]; ok {
				writeJSON(w, 400, map[string]any{"error": map[string]any{
					"message": "Unsupported parameter: '" + p + "' is not supported with this model."}})
				return
			}
		}
		writeJSON(w, 200, completion([]string{"ok"}, nil))
	})
	p, err := NewOpenAI(testModel(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Generate(context.Background(), chatRequest(1)); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if got := len(log.all()); got != len(order)+1 {
		t.Errorf("%d requests, want %d", got, len(order)+1)
	}
	adj := p.Adjustments()
	want := []string{`dropped "temperature"`, `dropped "top_p"`, `dropped "seed"`,
		`renamed "max_tokens" to "max_completion_tokens"`, `dropped "max_completion_tokens"`}
	if len(adj) != len(want) {
		t.Fatalf("Adjustments = %q, want %d", adj, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(adj[i], want[i]) {
			t.Errorf("Adjustments[%d] = %q, want prefix %q", i, adj[i], want[i])
		}
	}
}

// TestOpenAIRefusedConcurrently: many requests refused at once learn the
// parameter once and all succeed.
func TestOpenAIRefusedConcurrently(t *testing.T) {
	var log requestLog
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		log.add(body)
		if _, ok := body["seed"]; ok {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "Unrecognized request argument supplied: seed"}})
			return
		}
		writeJSON(w, 200, completion([]string{"ok"}, nil))
	})
	p, err := NewOpenAI(testModel(srv), nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 16
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			_, err := p.Generate(context.Background(), chatRequest(1))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Generate: %v", err)
		}
	}
	if adj := p.Adjustments(); len(adj) != 1 {
		t.Errorf("Adjustments = %q, want one", adj)
	}
	if got := len(log.all()); got > 2*workers {
		t.Errorf("%d requests, want at most %d", got, 2*workers)
	}
}

func TestOpenAIRefusalKeyRedacted(t *testing.T) {
	t.Setenv("DARS_TEST_KEY", testKey)
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if _, ok := body["seed"]; ok {
			writeJSON(w, 400, map[string]any{"error": map[string]any{
				"message": "Unrecognized request argument supplied: seed (key " + testKey + ")"}})
			return
		}
		writeJSON(w, 400, map[string]any{"error": map[string]any{"message": "bad request from " + testKey}})
	})
	var logs bytes.Buffer
	p, err := NewOpenAI(testModel(srv), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Generate(context.Background(), chatRequest(1))
	if err == nil {
		t.Fatal("no error")
	}
	for what, s := range map[string]string{"error": err.Error(), "adjustments": strings.Join(p.Adjustments(), "\n"), "log": logs.String()} {
		if strings.Contains(s, testKey) {
			t.Errorf("key in the %s: %s", what, s)
		}
	}
	if len(p.Adjustments()) != 1 || !strings.Contains(p.Adjustments()[0], "[redacted]") {
		t.Errorf("Adjustments = %q", p.Adjustments())
	}
}

// TestOpenAIRequestParameters: what the body holds for each kind of request.
func TestOpenAIRequestParameters(t *testing.T) {
	tests := []struct {
		name    string
		modelID string
		req     func() Request
		want    map[string]any // nil value: absent
	}{
		{"n=1 not sent", "qwen-7b", func() Request { return chatRequest(1) },
			map[string]any{"n": nil, "seed": 1234.0, "max_tokens": 256.0, "max_completion_tokens": nil}},
		{"temperature 0 sent", "qwen-7b", func() Request { r := chatRequest(2); r.Temperature = 0; return r },
			map[string]any{"temperature": 0.0, "n": 2.0}},
		{"no top_p, no seed, no cap", "qwen-7b", func() Request {
			r := chatRequest(1)
			r.TopP, r.Seeds, r.MaxTokens = 0, nil, 0
			return r
		}, map[string]any{"top_p": nil, "seed": nil, "max_tokens": nil, "max_completion_tokens": nil}},
		// go-openai would refuse these before sending; the server decides.
		{"reasoning model", "o3-mini", func() Request { return chatRequest(3) },
			map[string]any{"max_completion_tokens": 256.0, "max_tokens": nil, "n": 3.0, "temperature": 0.7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]any
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				got = body
				writeJSON(w, 200, completion([]string{"a", "b", "c"}, nil))
			})
			m := testModel(srv)
			m.Model = tt.modelID
			p, err := NewOpenAI(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Generate(context.Background(), tt.req()); err != nil {
				t.Fatalf("Generate: %v", err)
			}
			for k, v := range tt.want {
				gv, ok := got[k]
				switch {
				case v == nil && ok:
					t.Errorf("body[%q] = %v, want absent", k, gv)
				case v != nil && !ok:
					t.Errorf("body[%q] absent, want %v", k, v)
				case v != nil && gv != v:
					t.Errorf("body[%q] = %v, want %v", k, gv, v)
				}
			}
			if got["model"] != tt.modelID {
				t.Errorf("model = %v", got["model"])
			}
		})
	}
}

func TestNLimit(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		sent int
		want int
	}{
		{"Value must be between 1 <= value <= 4", 8, 4},
		{"n must be at most 8", 10, 8},
		{"n must be at most 8", 8, 0},
		{"Only n=1 is supported", 5, 1},
		{"'n' is not supported with this model.", 5, 0},
		{"n: must be less than 3", 5, 2},
		{"n should be between 1 and 4", 5, 4},
		{"maximum value of n is 2: maximum 2", 5, 2},
		{"Only one completion choice is allowed", 5, 1},
		{"n must be <= 0", 5, 0},
	} {
		if got := nLimit(tt.msg, tt.sent); got != tt.want {
			t.Errorf("nLimit(%q, %d) = %d, want %d", tt.msg, tt.sent, got, tt.want)
		}
	}
}

func FuzzNLimit(f *testing.F) {
	for _, s := range []string{"Value must be between 1 <= value <= 4", "n must be at most 99999999999999999999", "only n=0", "< 1", "less than 0"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, msg string, sent int) {
		if got := nLimit(msg, sent); got < 0 || (got > 0 && got >= sent) {
			t.Fatalf("nLimit(%q, %d) = %d: want 0 or in [1, sent)", msg, sent, got)
		}
		namesN(msg)
		refusedParams(droppableParams, msg, "", "")
	})
}

func TestErrorBody(t *testing.T) {
	for _, tt := range []struct{ body, msg, param, code string }{
		{`{"object":"error","message":"bad n","type":"BadRequestError","param":"n","code":400}`, "bad n", "n", "400"},
		{`{"error":"seed is not allowed"}`, "seed is not allowed", "", ""},
		{`{"detail":[{"loc":["body","top_p"],"msg":"Extra inputs are not permitted"}]}`, "body.top_p: Extra inputs are not permitted", "top_p", ""},
		{`{"detail":"Not Found"}`, "Not Found", "", ""},
		{`<html>oops</html>`, "", "", ""},
		{`{"error":{"message":"nested"}}`, "", "", ""},
	} {
		msg, param, code := errorBody([]byte(tt.body))
		if msg != tt.msg || param != tt.param || code != tt.code {
			t.Errorf("errorBody(%s) = %q %q %q, want %q %q %q", tt.body, msg, param, code, tt.msg, tt.param, tt.code)
		}
	}
}

// TestOpenAIJSONObject checks JSON mode is asked as response_format
// {"type": "json_object"} when the request says so, and only then.
func TestOpenAIJSONObject(t *testing.T) {
	var log requestLog
	srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		log.add(body)
		writeJSON(w, 200, completion([]string{`{"rewrites": []}`}, map[string]int{"prompt_tokens": 5, "completion_tokens": 4}))
	})
	p, err := NewOpenAI(testModel(srv), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	req := chatRequest(1)
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	req.JSONObject = true
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	bodies := log.all()
	if _, ok := bodies[0]["response_format"]; ok {
		t.Errorf("a plain request sends response_format: %v", bodies[0]["response_format"])
	}
	rf, _ := bodies[1]["response_format"].(map[string]any)
	if rf["type"] != "json_object" {
		t.Errorf("response_format = %v, want {\"type\": \"json_object\"}", bodies[1]["response_format"])
	}
}
