package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/darslabs/dars/pkg/pipeline"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
)

// progress draws a run's events on stderr: a live line per model for the
// stream of calls going on when stderr is a terminal, a log line every few
// seconds otherwise, nothing with --quiet.
type progress struct {
	w     io.Writer
	live  bool
	quiet bool
	every time.Duration
	log   *slog.Logger

	mu       sync.Mutex
	last     time.Time
	lines    int  // lines drawn by the last live update
	anything bool // this stream drew something
}

func (a *app) newProgress() *progress {
	live := isTerminal(a.stderr)
	every := 5 * time.Second
	if live {
		every = 200 * time.Millisecond
	}
	return &progress{w: a.stderr, live: live, quiet: a.quiet, every: every, log: a.log}
}

// event draws one event of the run.
func (p *progress) event(e pipeline.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case pipeline.CallProgress:
		if time.Since(p.last) < p.every {
			return
		}
		p.last = time.Now()
		p.draw(e, false)
	case pipeline.CallEnd:
		p.draw(e, true)
		p.lines, p.anything, p.last = 0, false, time.Time{}
	}
}

// logger is where a stream's log lines go: an llm judge's calls under its
// name, not as the run's sampling.
func (p *progress) logger(e pipeline.Event) *slog.Logger {
	switch e.Purpose {
	case record.PurposeJudge:
		return p.log.With("judge", e.Caller)
	case record.PurposeRewrite, record.PurposeVerify:
		return p.log.With("purpose", e.Purpose)
	}
	return p.log
}

// draw shows a stream's state; final is its summary once it ended.
func (p *progress) draw(e pipeline.Event, final bool) {
	s := e.Progress
	doing, did := "sampling", "sampled"
	switch e.Purpose {
	case record.PurposeRewrite:
		doing, did = "rewriting", "rewrote"
	case record.PurposeVerify:
		doing, did = "verifying", "verified"
	}
	if !p.live {
		if final && !p.anything {
			for _, m := range s.Models {
				p.logger(e).Info(did, "model", m.Model, "new", m.Done, "stored_before", m.Stored, "total", m.Total,
					"errors", m.Errors, "cost_usd", fmt.Sprintf("%.4f", m.CostUSD))
			}
			return
		}
		for _, m := range s.Models {
			p.logger(e).Info(doing, "model", m.Model, "done", m.Stored+m.Done, "total", m.Total,
				"errors", m.Errors, "retries", m.Retries, "throttled", m.Throttled, "cost_usd", fmt.Sprintf("%.4f", m.CostUSD))
		}
		p.anything = true
		return
	}
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.lines)
	}
	for _, m := range s.Models {
		b.WriteString("\x1b[2K")
		switch e.Purpose {
		case record.PurposeJudge:
			b.WriteString("judge " + e.Caller + ": ")
		case record.PurposeRewrite, record.PurposeVerify:
			b.WriteString(e.Purpose + ": ")
		}
		b.WriteString(progressLine(m, s.Elapsed))
		b.WriteByte('\n')
	}
	p.lines = len(s.Models)
	p.anything = true
	io.WriteString(p.w, b.String())
}

// progressLine is one model's line: done/total, rate, ETA, retries, errors, cost.
func progressLine(m sampler.ModelProgress, elapsed time.Duration) string {
	done := m.Stored + m.Done
	rate := 0.0
	if elapsed > 0 {
		rate = float64(m.Done) / elapsed.Seconds()
	}
	eta := "-"
	if rate > 0 && done < m.Total {
		eta = time.Duration(float64(m.Total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100.0
	if m.Total > 0 {
		pct = 100 * float64(done) / float64(m.Total)
	}
	line := fmt.Sprintf("%-16s %7d/%-7d %5.1f%%  %8.1f/s  eta %-8s retries %-5d errors %-5d $%.4f",
		m.Model, done, m.Total, pct, rate, eta, m.Retries, m.Errors, m.CostUSD)
	if m.Throttled > 0 {
		line += fmt.Sprintf("  429s %d", m.Throttled)
	}
	if m.NCap > 0 {
		line += fmt.Sprintf("  n<=%d", m.NCap)
	}
	if m.Failed != "" {
		line += "  stopped: " + m.Failed
	}
	return line
}
