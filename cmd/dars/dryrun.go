package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// dryRunReport is what `--dry-run --json` prints.
type dryRunReport struct {
	DryRun    bool                    `json:"dry_run"`
	MaxTokens int                     `json:"max_tokens"`
	Models    []sampler.ModelEstimate `json:"models"`
	Total     sampler.ModelEstimate   `json:"total"`
}

// dryRun loads everything a sampling pass needs, subtracts what the run's
// store (and the shard parts and the shared cache, when there are any)
// already holds, and prints per model the samples and requests still owed
// with and without n-batching, estimated tokens and cost. It sends no
// request and writes nothing: a run directory that does not exist yet is
// not created.
func (a *app) dryRun(ctx context.Context) error {
	env, err := a.loadEnv()
	if err != nil {
		return err
	}
	done, err := a.storedKeys(ctx, env)
	if err != nil {
		return err
	}
	opts := env.opts
	opts.Done = done.Has
	es, err := sampler.Estimate(env.work, opts)
	if err != nil {
		return badInput(err, "")
	}
	r := dryRunReport{DryRun: true, MaxTokens: env.cfg.Sampling.MaxTokens, Models: es, Total: sampler.EstimateTotal(es)}
	if a.g.json {
		return writeJSON(a.stdout, r)
	}
	if a.g.quiet {
		return nil
	}
	return writeDryRun(a.stdout, r)
}

// storedKeys gathers the keys of the generations that need no request: the
// run store's, the shard parts', and the shared cache's. The stores are read
// without their locks, so a dry run works beside a live run and sees what it
// has committed; stores that do not exist yet hold nothing and are not
// created.
func (a *app) storedKeys(ctx context.Context, env *runEnv) (*keyset.Set, error) {
	var done *keyset.Set
	add := func(dir string) error {
		st, err := store.OpenReader(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		keys, err := st.DoneKeys(ctx)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		done = keyset.Union(done, keys)
		return err
	}
	if err := add(env.dir); err != nil {
		return nil, err
	}
	if env.parts != nil {
		done = keyset.Union(done, env.parts.done)
	}
	if env.cfg.Cache != "" {
		if err := add(env.cfg.Resolve(env.cfg.Cache)); err != nil {
			return nil, err
		}
	}
	return done, nil
}

// writeDryRun prints the estimates as a table, one row per model and a total.
func writeDryRun(w io.Writer, r dryRunReport) error {
	header := []string{"model", "n", "planned", "stored", "owed", "requests", "requests n=1",
		"prompt tok", "prompt tok n=1", "max compl tok", "cost USD", "cost USD n=1"}
	row := func(e sampler.ModelEstimate) []string {
		n := e.N
		if n == "auto" && e.RequestCap > 0 && e.RequestCap < 1<<20 {
			n = "auto:" + strconv.Itoa(e.RequestCap)
		}
		return []string{e.Model, n, thousands(e.Planned), thousands(e.Stored), thousands(e.Samples),
			thousands(e.Requests), thousands(e.RequestsSingle), thousands(e.PromptTokens),
			thousands(e.PromptTokensSingle), thousands(e.CompletionTokens), usd(e.CostUSD), usd(e.CostUSDSingle)}
	}
	rows := [][]string{header}
	for _, e := range r.Models {
		rows = append(rows, row(e))
	}
	rows = append(rows, row(r.Total))
	widths := make([]int, len(header))
	for _, cells := range rows {
		for i, c := range cells {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, cells := range rows {
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		b.WriteString("\n")
	}
	t := r.Total
	fmt.Fprintf(&b, "dry run: nothing was sent. %s of %s samples are owed; n-batching saves %s requests and $%s.\n",
		thousands(t.Samples), thousands(t.Planned), thousands(t.RequestsSingle-t.Requests), usd(t.CostUSDSingle-t.CostUSD))
	fmt.Fprintf(&b, "estimates: a prompt token per 4 characters plus chat overhead; completions at max_tokens (%d) per sample, an upper bound (at a quarter of it: %s tokens, $%s)\n",
		r.MaxTokens, thousands(t.CompletionTokensTypical), usd(t.CostUSDTypical))
	_, err := io.WriteString(w, b.String())
	return err
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
