package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/pipeline"
	"github.com/darslabs/dars/pkg/sampler"
)

// dryRun prints, per model, the samples and requests a run still owes with
// and without n-batching, estimated tokens and cost, what the llm judges'
// calls would add, and what the stored calls cost. It sends no request and
// writes nothing.
func (a *app) dryRun(ctx context.Context) (err error) {
	run, err := a.openRun(ctx, 0, nil)
	if err != nil {
		return err
	}
	defer closeRun(run, &err)
	est, err := run.Estimate(ctx)
	if err != nil {
		return err
	}
	if a.json {
		return writeJSON(a.stdout, est)
	}
	if a.quiet {
		return nil
	}
	return writeDryRun(a.stdout, est)
}

// writeDryRun prints the estimates as a table, one row per candidate, a
// total, and one row per llm judge; then what the stored calls cost.
func writeDryRun(w io.Writer, r pipeline.Estimate) error {
	header := []string{"model", "n", "planned", "stored", "owed", "requests", "requests n=1",
		"prompt tok", "prompt tok n=1", "max compl tok", "cost USD", "cost USD n=1"}
	row := func(name string, e sampler.ModelEstimate) []string {
		n := e.N
		if n == "auto" && e.RequestCap > 0 && e.RequestCap < 1<<20 {
			n = "auto:" + strconv.Itoa(e.RequestCap)
		}
		return []string{name, n, thousands(e.Planned), thousands(e.Stored), thousands(e.Samples),
			thousands(e.Requests), thousands(e.RequestsSingle), thousands(e.PromptTokens),
			thousands(e.PromptTokensSingle), thousands(e.CompletionTokens), usd(e.CostUSD), usd(e.CostUSDSingle)}
	}
	rows := [][]string{header}
	for _, e := range r.Models {
		rows = append(rows, row(e.Model, e))
	}
	rows = append(rows, row(r.Total.Model, r.Total))
	for _, j := range r.JudgeCalls {
		rows = append(rows, row("judge "+j.Judge+" ("+j.Model+")", j.ModelEstimate))
	}
	if r.RewriteCalls != nil {
		rows = append(rows, row("rewrite ("+r.RewriteCalls.Model+")", *r.RewriteCalls))
	}
	if r.VerifyCalls != nil {
		rows = append(rows, row("verify ("+r.VerifyCalls.Model+")", *r.VerifyCalls))
	}
	var b strings.Builder
	writeTable(&b, rows)
	t := r.Total
	fmt.Fprintf(&b, "dry run: nothing was sent. %s of %s samples are owed; n-batching saves %s requests and $%s.\n",
		thousands(t.Samples), thousands(t.Planned), thousands(t.RequestsSingle-t.Requests), usd(t.CostUSDSingle-t.CostUSD))
	fmt.Fprintf(&b, "estimates: a prompt token per 4 characters plus chat overhead; completions at max_tokens (%d) per sample, an upper bound (at a quarter of it: %s tokens, $%s)\n",
		r.MaxTokens, thousands(t.CompletionTokensTypical), usd(t.CostUSDTypical))
	if r.RewriteCalls != nil {
		fmt.Fprintf(&b, "rewrite rows: %s rewrites owed, one rewriter call per query that lacks some (more when an answer keeps too few, up to paraphrase.max_attempts in a row)", thousands(int64(r.RewritesOwed)))
		if r.VerifyCalls != nil {
			b.WriteString(" and one verifier call per rewrite")
		}
		b.WriteString("; the candidates' rows count their samples at the original's length\n")
	}
	if len(r.JudgeCalls) > 0 {
		b.WriteString("judge rows: one call per vote about each planned sample without a verdict; the prompt holds an output of max_tokens (an upper bound)\n")
	}
	if len(r.Stored) > 0 {
		parts := make([]string, len(r.Stored))
		for i, s := range r.Stored {
			parts[i] = fmt.Sprintf("%s %s calls $%s", s.Purpose, thousands(s.Calls), usd(s.CostUSD))
		}
		fmt.Fprintf(&b, "stored so far: %s\n", strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable writes rows as columns: the first left-aligned, the others
// right-aligned, two spaces apart.
func writeTable(b *strings.Builder, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, cells := range rows {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, cells := range rows {
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
}

// thousands formats n with comma separators: 1234567 → 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// usd formats a dollar amount: cents from a dollar up, four decimals below.
func usd(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1 || v <= -1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
}
