package main

import (
	"encoding/json"
	"net/http"
)

// chatRequest is what the test endpoints read from a chat completions call.
type chatRequest struct {
	Model    string `json:"model"`
	N        int    `json:"n"`
	Seed     *int   `json:"seed"`
	Messages []struct {
		Content string `json:"content"`
	} `json:"messages"`
}

// samples is how many choices the request asks for.
func (r chatRequest) samples() int { return max(r.N, 1) }

// prompt is the last message's text.
func (r chatRequest) prompt() string { return r.Messages[len(r.Messages)-1].Content }

// readChat decodes a chat completions request, answering 400 when it does
// not decode (ok is then false).
func readChat(w http.ResponseWriter, r *http.Request) (req chatRequest, ok bool) {
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, "bad chat request", http.StatusBadRequest)
		return req, false
	}
	return req, true
}

// writeChat answers with one choice per content and usage of promptTokens
// plus completionTokens per choice.
func writeChat(w http.ResponseWriter, model string, contents []string, promptTokens, completionTokens int) {
	choices := make([]map[string]any, len(contents))
	for i, c := range contents {
		choices[i] = map[string]any{"index": i, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": c}}
	}
	n := len(contents)
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "model": model, "choices": choices,
		"usage": map[string]any{"prompt_tokens": promptTokens, "completion_tokens": completionTokens * n, "total_tokens": promptTokens + completionTokens*n}})
}

// repeat is n copies of s.
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
