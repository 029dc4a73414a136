package main

import (
	"strings"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/sampler"
)

func TestProgressLine(t *testing.T) {
	m := sampler.ModelProgress{Model: "gpt", Total: 1000, Stored: 200, Done: 300, Errors: 2, Retries: 7, Throttled: 3, NCap: 4, CostUSD: 1.5}
	line := progressLine(m, 10*time.Second)
	for _, want := range []string{"gpt", "500/1000", "50.0%", "30.0/s", "eta 17s", "retries 7", "errors 2", "$1.5000", "429s 3", "n<=4"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	done := progressLine(sampler.ModelProgress{Model: "m", Total: 10, Done: 10, Failed: "bad key"}, time.Second)
	if !strings.Contains(done, "eta -") || !strings.Contains(done, "stopped: bad key") {
		t.Errorf("finished line %q", done)
	}
}
