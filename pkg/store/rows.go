package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/record"
)

func nan() float64 { return math.NaN() }

// PutVariants stores rows in one transaction, replacing any stored variant
// with the same (query_id, variant_id).
func (s *Store) PutVariants(ctx context.Context, rows []record.Variant) error {
	if len(rows) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error { return putVariants(ctx, tx, rows) })
	if err != nil {
		return fmt.Errorf("put variants: %w", err)
	}
	return nil
}

// putVariants upserts rows in tx.
func putVariants(ctx context.Context, tx *sql.Tx, rows []record.Variant) error {
	if len(rows) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO variants
		(query_id, qkind, qnum, variant_id, source, text, rewriter) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(`+variantOrder+`) DO UPDATE SET
			source = excluded.source, text = excluded.text, rewriter = excluded.rewriter`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer stmt.Close()
	for _, v := range rows {
		kind, num := queryOrder(v.QueryID)
		if _, err := stmt.ExecContext(ctx, v.QueryID, kind, num, v.VariantID, v.Source, v.Text, v.Rewriter); err != nil {
			return fmt.Errorf("variant %q/%d: %w", v.QueryID, v.VariantID, err)
		}
	}
	return nil
}

// Variants returns every stored variant sorted by query_id (as
// record.CompareQueryID orders it), then variant_id.
func (s *Store) Variants(ctx context.Context) ([]record.Variant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT query_id, variant_id, source, text, rewriter
		FROM variants ORDER BY `+variantOrder)
	if err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	defer rows.Close()
	var out []record.Variant
	for rows.Next() {
		var v record.Variant
		if err := rows.Scan(&v.QueryID, &v.VariantID, &v.Source, &v.Text, &v.Rewriter); err != nil {
			return nil, fmt.Errorf("read variants: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	return out, nil
}

// PutGenerations stores rows in one transaction: when it returns nil every
// row is durable; when it returns an error none is. A key already stored
// without error is kept, never overwritten, so paid work is never lost; a
// stored row with a non-empty Error is replaced by the new row. CreatedAt is
// kept to the millisecond, in UTC; an empty Purpose is
// record.PurposeSample.
func (s *Store) PutGenerations(ctx context.Context, rows []record.Generation) error {
	if len(rows) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO generations (`+generationColumns+`, qkind, qnum)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(`+generationOrder+`) DO UPDATE SET
				seed = excluded.seed,
				temperature = excluded.temperature, top_p = excluded.top_p,
				max_tokens = excluded.max_tokens, output_text = excluded.output_text,
				finish_reason = excluded.finish_reason, prompt_tokens = excluded.prompt_tokens,
				completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd,
				latency_ms = excluded.latency_ms, attempts = excluded.attempts,
				error = excluded.error, created_at = excluded.created_at,
				usage_estimated = excluded.usage_estimated,
				purpose = excluded.purpose, caller = excluded.caller, subject = excluded.subject,
				reasoning_tokens = excluded.reasoning_tokens
			WHERE generations.error <> ''`)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer stmt.Close()
		// A good row that replaces a failed one changes what its verdicts
		// are about: drop the error verdicts of the failed attempt, so the
		// judges score the new output. (A good row that is kept changes
		// nothing: its verdicts were never error verdicts of a failure.)
		clear, err := tx.PrepareContext(ctx, `DELETE FROM scores
			WHERE qkind = ? AND qnum = ? AND query_id = ? AND variant_id = ? AND model = ?
				AND sample_index = ? AND generation_key = ? AND status = 'error'
				AND EXISTS (SELECT 1 FROM generations g WHERE g.qkind = ? AND g.qnum = ? AND g.query_id = ?
					AND g.variant_id = ? AND g.model = ? AND g.sample_index = ? AND g.generation_key = ? AND g.error <> '')`)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer clear.Close()
		for i := range rows {
			g := &rows[i]
			if g.Key == "" {
				return fmt.Errorf("row %d: empty generation key", i)
			}
			kind, num := queryOrder(g.QueryID)
			if g.Error == "" {
				_, err := clear.ExecContext(ctx, kind, num, g.QueryID, g.VariantID, g.Model, g.SampleIndex, g.Key,
					kind, num, g.QueryID, g.VariantID, g.Model, g.SampleIndex, g.Key)
				if err != nil {
					return fmt.Errorf("generation %q: clear stale verdicts: %w", g.Key, err)
				}
			}
			_, err := stmt.ExecContext(ctx,
				g.Key, g.QueryID, g.VariantID, g.Model, g.SampleIndex, g.Seed,
				nullFloat(g.Temperature), nullFloat(g.TopP), g.MaxTokens,
				g.OutputText, g.FinishReason, g.PromptTokens, g.CompletionTokens,
				nullFloat(g.CostUSD), g.LatencyMS, g.Attempts, g.Error,
				g.CreatedAt.UnixMilli(), g.UsageEstimated, cmp.Or(g.Purpose, record.PurposeSample), g.Caller, g.Subject,
				g.ReasoningTokens, kind, num)
			if err != nil {
				return fmt.Errorf("generation %q: %w", g.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put generations: %w", err)
	}
	return nil
}

// generationColumns are read and written in this order.
const generationColumns = `generation_key, query_id, variant_id, model, sample_index, seed,
	temperature, top_p, max_tokens, output_text, finish_reason, prompt_tokens,
	completion_tokens, cost_usd, latency_ms, attempts, error, created_at, usage_estimated,
	purpose, caller, subject, reasoning_tokens`

// isSample selects the candidates' samples among the stored calls.
const isSample = `purpose = '` + record.PurposeSample + `'`

// DoneKeys returns the keys of the samples stored without error: paid for,
// never to be requested again.
func (s *Store) DoneKeys(ctx context.Context) (*keyset.Set, error) {
	return s.keys(ctx, "read done keys", `SELECT generation_key FROM generations WHERE error = '' AND `+isSample)
}

// Generations calls fn for every stored sample (purpose
// record.PurposeSample, errored ones included) in (query_id, variant_id,
// model, sample_index, generation_key) order, query_id as
// record.CompareQueryID orders it. It stops at fn's first error and
// returns it unwrapped. fn may call the Store's other methods, writes
// included; the iteration reads the snapshot taken when it started.
func (s *Store) Generations(ctx context.Context, fn func(record.Generation) error) error {
	return s.generations(ctx, fn, `SELECT `+generationColumns+` FROM generations WHERE `+isSample+` ORDER BY `+generationOrder)
}

// Calls calls fn for every stored call of purpose made by caller about
// subject (an llm judge's calls about one generation), in sample index
// order, through the calls index. It stops at fn's first error and returns
// it unwrapped.
func (s *Store) Calls(ctx context.Context, purpose, caller, subject string, fn func(record.Generation) error) error {
	return s.generations(ctx, fn, `SELECT `+generationColumns+` FROM generations INDEXED BY generations_calls
		WHERE purpose = ? AND caller = ? AND subject = ? AND purpose <> 'sample' ORDER BY sample_index, generation_key`,
		purpose, caller, subject)
}

// generations runs a query of generationColumns and calls fn for each row.
func (s *Store) generations(ctx context.Context, fn func(record.Generation) error, query string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("read generations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			g                   record.Generation
			temp, topP, costUSD sql.NullFloat64
			createdMS           int64
		)
		err := rows.Scan(&g.Key, &g.QueryID, &g.VariantID, &g.Model, &g.SampleIndex, &g.Seed,
			&temp, &topP, &g.MaxTokens, &g.OutputText, &g.FinishReason, &g.PromptTokens,
			&g.CompletionTokens, &costUSD, &g.LatencyMS, &g.Attempts, &g.Error, &createdMS, &g.UsageEstimated,
			&g.Purpose, &g.Caller, &g.Subject, &g.ReasoningTokens)
		if err != nil {
			return fmt.Errorf("read generations: %w", err)
		}
		g.Temperature = floatOrNaN(temp)
		g.TopP = floatOrNaN(topP)
		g.CostUSD = floatOrNaN(costUSD)
		g.CreatedAt = time.UnixMilli(createdMS).UTC()
		if err := fn(g); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read generations: %w", err)
	}
	return nil
}

// PutScores stores rows in one transaction, replacing any stored verdict
// with the same (generation_key, judge), and records judgeHash beside each
// so that a changed judge can be told apart and re-run.
func (s *Store) PutScores(ctx context.Context, rows []record.Score, judgeHash string) error {
	if len(rows) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO scores (`+scoreColumns+`, judge_hash, qkind, qnum)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(`+scoreOrder+`) DO UPDATE SET
				status = excluded.status,
				score = excluded.score, passed = excluded.passed,
				extracted = excluded.extracted, detail = excluded.detail,
				judge_hash = excluded.judge_hash`)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer stmt.Close()
		for i := range rows {
			r := &rows[i]
			if r.GenerationKey == "" || r.Judge == "" {
				return fmt.Errorf("row %d: empty generation key or judge", i)
			}
			kind, num := queryOrder(r.QueryID)
			_, err := stmt.ExecContext(ctx,
				r.GenerationKey, r.QueryID, r.VariantID, r.Model, r.SampleIndex, r.Judge,
				r.Status, nullFloat(r.Score), r.Passed, r.Extracted, r.Detail,
				judgeHash, kind, num)
			if err != nil {
				return fmt.Errorf("score %q/%q: %w", r.GenerationKey, r.Judge, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put scores: %w", err)
	}
	return nil
}

// scoreColumns are read and written in this order.
const scoreColumns = `generation_key, query_id, variant_id, model, sample_index, judge,
	status, score, passed, extracted, detail`

// ScoredKeys returns the generation keys judge has a verdict on under
// judgeHash, whatever its status. A key scored under another hash is
// absent: the judge changed and that generation needs scoring again.
func (s *Store) ScoredKeys(ctx context.Context, judge, judgeHash string) (*keyset.Set, error) {
	return s.keys(ctx, fmt.Sprintf("read keys scored by %q", judge),
		`SELECT generation_key FROM scores WHERE judge = ? AND judge_hash = ?`, judge, judgeHash)
}

// DecidedKeys is ScoredKeys without the verdicts that a failed call of
// the judge left undecided (record.StatusCallFailed): the keys a judge pass
// need not score again.
func (s *Store) DecidedKeys(ctx context.Context, judge, judgeHash string) (*keyset.Set, error) {
	return s.keys(ctx, fmt.Sprintf("read keys decided by %q", judge),
		`SELECT generation_key FROM scores WHERE judge = ? AND judge_hash = ? AND status <> ?`,
		judge, judgeHash, record.StatusCallFailed)
}

// Scores calls fn for every stored score in the order of Generations, then
// judge name; only judge's scores when judge is not "". It stops at fn's
// first error and returns it unwrapped. fn may call the Store's other
// methods, writes included.
func (s *Store) Scores(ctx context.Context, judge string, fn func(record.Score) error) error {
	q := `SELECT ` + scoreColumns + ` FROM scores`
	var args []any
	if judge != "" {
		q += ` WHERE judge = ?`
		args = append(args, judge)
	}
	q += ` ORDER BY ` + scoreOrder
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("read scores: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r     record.Score
			score sql.NullFloat64
		)
		err := rows.Scan(&r.GenerationKey, &r.QueryID, &r.VariantID, &r.Model, &r.SampleIndex,
			&r.Judge, &r.Status, &score, &r.Passed, &r.Extracted, &r.Detail)
		if err != nil {
			return fmt.Errorf("read scores: %w", err)
		}
		r.Score = floatOrNaN(score)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read scores: %w", err)
	}
	return nil
}

// keys collects the first column of query, generation keys, into a set. A
// stored key that is not one is an error naming it.
func (s *Store) keys(ctx context.Context, what, query string, args ...any) (*keyset.Set, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var b keyset.Builder
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if err := b.Add(k); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, s.path, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b.Set(), nil
}

// Spend is what the stored calls of one purpose, caller and model cost.
type Spend struct {
	Purpose          string
	Caller           string // the llm judge's name for its calls; "" for samples
	Model            string
	Calls            int64
	Errors           int64 // calls stored with an error
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64
}

// Spend adds up every stored call, samples included, by purpose, caller
// and model, in that order: what the store holds was paid for, whatever
// plan it belonged to.
func (s *Store) Spend(ctx context.Context) ([]Spend, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT purpose, caller, model, count(*), count(CASE WHEN error <> '' THEN 1 END),
		coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cost_usd), 0)
		FROM generations GROUP BY purpose, caller, model ORDER BY purpose, caller, model`)
	if err != nil {
		return nil, fmt.Errorf("add up spend: %w", err)
	}
	defer rows.Close()
	var out []Spend
	for rows.Next() {
		var sp Spend
		if err := rows.Scan(&sp.Purpose, &sp.Caller, &sp.Model, &sp.Calls, &sp.Errors, &sp.PromptTokens, &sp.CompletionTokens, &sp.CostUSD); err != nil {
			return nil, fmt.Errorf("add up spend: %w", err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("add up spend: %w", err)
	}
	return out, nil
}

// rewritesOrder is the rewrites log's order: by query, then attempt, then
// position in the attempt's answer.
const rewritesOrder = `qkind, qnum, query_id, attempt, item`

// PutRewrites stores the log rows of rewrite attempts and the variants they
// kept in one transaction, so a kept rewrite is never a variant without its
// log row nor the reverse. Rows already stored (the same query, attempt and
// item) are replaced: applying an attempt again gives the same rows.
func (s *Store) PutRewrites(ctx context.Context, rows []record.Rewrite, kept []record.Variant) error {
	if len(rows) == 0 && len(kept) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO rewrites
			(query_id, qkind, qnum, attempt, item, text, status, reason, variant_id, verifier_verdict, rewriter, call_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(`+rewritesOrder+`) DO UPDATE SET
				text = excluded.text, status = excluded.status, reason = excluded.reason,
				variant_id = excluded.variant_id, verifier_verdict = excluded.verifier_verdict,
				rewriter = excluded.rewriter, call_key = excluded.call_key`)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		defer stmt.Close()
		for _, r := range rows {
			kind, num := queryOrder(r.QueryID)
			var variant, verdict any
			if r.VariantID >= 0 {
				variant = r.VariantID
			}
			if r.VerifierVerdict != "" {
				verdict = r.VerifierVerdict
			}
			if _, err := stmt.ExecContext(ctx, r.QueryID, kind, num, r.Attempt, r.Item, r.Text, r.Status, r.Reason,
				variant, verdict, r.Rewriter, r.CallKey); err != nil {
				return fmt.Errorf("rewrite %q attempt %d item %d: %w", r.QueryID, r.Attempt, r.Item, err)
			}
		}
		return putVariants(ctx, tx, kept)
	})
	if err != nil {
		return fmt.Errorf("put rewrites: %w", err)
	}
	return nil
}

// Rewrites calls fn with every logged rewrite, in the log's order.
func (s *Store) Rewrites(ctx context.Context, fn func(record.Rewrite) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT query_id, attempt, item, text, status, reason, variant_id, verifier_verdict, rewriter, call_key
		FROM rewrites ORDER BY `+rewritesOrder)
	if err != nil {
		return fmt.Errorf("read rewrites: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r record.Rewrite
		var variant sql.NullInt32
		var verdict sql.NullString
		if err := rows.Scan(&r.QueryID, &r.Attempt, &r.Item, &r.Text, &r.Status, &r.Reason, &variant, &verdict, &r.Rewriter, &r.CallKey); err != nil {
			return fmt.Errorf("read rewrites: %w", err)
		}
		r.VariantID = -1
		if variant.Valid {
			r.VariantID = variant.Int32
		}
		r.VerifierVerdict = verdict.String
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read rewrites: %w", err)
	}
	return nil
}
