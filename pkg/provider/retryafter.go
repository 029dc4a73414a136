// How long a server asks the caller to wait: Retry-After, retry-after-ms and
// OpenAI's x-ratelimit-reset-* headers.

package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

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
