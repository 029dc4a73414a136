package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/sampler"
)

// progress shows sampling progress on stderr: a live line per model on a
// terminal, a log line every few seconds otherwise, nothing with --quiet.
type progress struct {
	w        io.Writer
	live     bool
	quiet    bool
	every    time.Duration
	mu       sync.Mutex
	last     time.Time
	lines    int // lines drawn by the last live update
	a        *app
	log      *slog.Logger // where the non-terminal lines go
	anything bool
}

func (a *app) newProgress() *progress {
	live := isTerminal(a.stderr)
	every := 5 * time.Second
	if live {
		every = 200 * time.Millisecond
	}
	return &progress{w: a.stderr, live: live, quiet: a.g.quiet, every: every, a: a, log: a.log}
}

func (p *progress) update(s sampler.Progress) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	p.draw(s)
}

func (p *progress) draw(s sampler.Progress) {
	if !p.live {
		for _, m := range s.Models {
			p.log.Info("sampling", "model", m.Model, "done", m.Stored+m.Done, "total", m.Total,
				"errors", m.Errors, "retries", m.Retries, "throttled", m.Throttled, "cost_usd", fmt.Sprintf("%.4f", m.CostUSD))
		}
		return
	}
	var b strings.Builder
	if p.lines > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", p.lines)
	}
	for _, m := range s.Models {
		b.WriteString("\x1b[2K")
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

// finish draws the final state once.
func (p *progress) finish(s sampler.Summary) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live || p.anything {
		p.draw(s)
		return
	}
	for _, m := range s.Models {
		p.log.Info("sampled", "model", m.Model, "new", m.Done, "stored_before", m.Stored, "total", m.Total,
			"errors", m.Errors, "cost_usd", fmt.Sprintf("%.4f", m.CostUSD))
	}
}

// pingModels sends one tiny request to every candidate model.
func pingModels(ctx context.Context, env *runEnv) error {
	for _, m := range env.models {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := m.Provider.Generate(ctx, provider.Request{
			Messages:    []provider.Message{{Role: "user", Content: "Reply with the word ok."}},
			Temperature: env.cfg.Sampling.Temperature, TopP: env.cfg.Sampling.TopP, MaxTokens: 4, N: 1,
			Seeds: []int64{1}, Meta: provider.Meta{QueryID: "ping", Gold: "ok"},
		})
		cancel()
		if err != nil {
			return fmt.Errorf("ping model %q: %w", m.Config.Name, err)
		}
	}
	return nil
}
