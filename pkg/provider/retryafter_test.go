package provider

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{"fraction", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{"ms", http.Header{"Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
		{"date", http.Header{"Retry-After": {now.Add(10 * time.Second).Format(http.TimeFormat)}}, 10 * time.Second},
		{"past date", http.Header{"Retry-After": {now.Add(-time.Hour).Format(http.TimeFormat)}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"negative", http.Header{"Retry-After": {"-4"}}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.h, now); got != tt.want {
				t.Errorf("retryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "0.5", "-1", "Mon, 02 Jan 2026 03:04:15 GMT", "", "1e308", "NaN", "inf"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range []string{"Retry-After", "Retry-After-Ms"} {
			if d := retryAfter(http.Header{k: {v}}, now); d < 0 {
				t.Fatalf("%s %q: negative %v", k, v, d)
			}
		}
	})
}

func TestRateLimitReset(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, tt := range []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", h(), 0},
		{"requests 1s", h("x-ratelimit-reset-requests", "1s"), time.Second},
		{"tokens 20ms", h("x-ratelimit-reset-tokens", "20ms"), 20 * time.Millisecond},
		{"6m0s", h("x-ratelimit-reset-tokens", "6m0s"), 6 * time.Minute},
		{"compound", h("x-ratelimit-reset-requests", "1m2.5s"), 62500 * time.Millisecond},
		{"seconds", h("x-ratelimit-reset-requests", "2"), 2 * time.Second},
		{"fraction of seconds", h("x-ratelimit-reset-requests", "0.25"), 250 * time.Millisecond},
		{"rfc3339", h("x-ratelimit-reset-requests", now.Add(3*time.Second).Format(time.RFC3339)), 3 * time.Second},
		{"both, smallest", h("x-ratelimit-reset-requests", "1s", "x-ratelimit-reset-tokens", "6m0s"), time.Second},
		{"both, remaining not 0: smallest",
			h("x-ratelimit-reset-requests", "1s", "x-ratelimit-remaining-requests", "10",
				"x-ratelimit-reset-tokens", "6m0s", "x-ratelimit-remaining-tokens", "5"), time.Second},
		{"tokens exhausted",
			h("x-ratelimit-reset-requests", "1s", "x-ratelimit-remaining-requests", "10",
				"x-ratelimit-reset-tokens", "6m0s", "x-ratelimit-remaining-tokens", "0"), 6 * time.Minute},
		{"requests exhausted",
			h("x-ratelimit-reset-requests", "7s", "x-ratelimit-remaining-requests", "0",
				"x-ratelimit-reset-tokens", "20ms", "x-ratelimit-remaining-tokens", "900"), 7 * time.Second},
		{"both exhausted: larger",
			h("x-ratelimit-reset-requests", "7s", "x-ratelimit-remaining-requests", "0",
				"x-ratelimit-reset-tokens", "30s", "x-ratelimit-remaining-tokens", "0"), 30 * time.Second},
		{"garbage", h("x-ratelimit-reset-requests", "soon"), 0},
		{"negative", h("x-ratelimit-reset-requests", "-3s"), 0},
		{"beyond cap", h("x-ratelimit-reset-requests", "1000h"), 0},
		{"NaN", h("x-ratelimit-reset-requests", "NaN"), 0},
		{"garbage and good", h("x-ratelimit-reset-requests", "soon", "x-ratelimit-reset-tokens", "3s"), 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := rateLimitReset(tt.h, now); got != tt.want {
				t.Errorf("rateLimitReset = %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzParseReset(f *testing.F) {
	for _, s := range []string{"1s", "6m0s", "20ms", "2", "-1", "1e308", "NaN", "2026-01-02T03:04:15Z", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseReset(v, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseReset(%q) = %v", v, d)
		}
	})
}

// TestOpenAIRateLimitHeaders: on a 429 the reset headers fill RetryAfter
// when Retry-After is absent; Retry-After wins; other statuses ignore them.
func TestOpenAIRateLimitHeaders(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		header map[string]string
		want   time.Duration
	}{
		{"429 reset headers", 429, map[string]string{
			"x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-requests": "0",
			"x-ratelimit-reset-tokens": "6m0s", "x-ratelimit-remaining-tokens": "1000"}, time.Second},
		{"429 retry-after wins", 429, map[string]string{"Retry-After": "4", "x-ratelimit-reset-requests": "1s"}, 4 * time.Second},
		{"429 retry-after-ms wins", 429, map[string]string{"retry-after-ms": "150", "x-ratelimit-reset-tokens": "9s"}, 150 * time.Millisecond},
		{"503 ignores reset headers", 503, map[string]string{"x-ratelimit-reset-requests": "1s"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := chatServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				writeJSON(w, tt.status, map[string]any{"error": map[string]any{"message": "slow down"}})
			})
			p, err := NewOpenAI(testModel(srv), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Generate(context.Background(), chatRequest(1))
			var pe *Error
			if !errors.As(err, &pe) || !pe.Retryable {
				t.Fatalf("error %v, want retryable *Error", err)
			}
			if pe.RetryAfter != tt.want {
				t.Errorf("RetryAfter = %v, want %v", pe.RetryAfter, tt.want)
			}
		})
	}
}
