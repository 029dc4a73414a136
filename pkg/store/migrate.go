package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/darslabs/dars/pkg/record"
)

// migrations[v] moves a store from schema version v to v+1 inside the
// transaction Open's migrate runs. Each is tested on a store written by the
// dars of version v (testdata/v<v>).
var migrations = map[int]func(context.Context, *sql.Tx) error{
	1: migrate1to2,
	2: migrate2to3,
	3: migrate3to4,
}

// migrate3to4 adds the log of proposed rewrites (empty: no dars before
// schema 4 wrote rewrites).
func migrate3to4(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{rewritesTable, rewritesIndex} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// migrate2to3 adds the reasoning tokens of every call (0 for the calls
// stored before they were recorded).
func migrate2to3(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `ALTER TABLE generations ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0`)
	return err
}

// legacyJudgePrefix starts the made-up query id under which schema 1 stored
// an llm judge's call: "llm-judge:<judge>:<generation key>".
const legacyJudgePrefix = "llm-judge:"

// migrate1to2 gives every generation its purpose, caller and subject. An
// llm judge's calls, stored by schema 1 under the query id
// "llm-judge:<judge>:<key>", become calls of purpose judge, caller <judge>
// and subject <key>, filed under the query, variant of the generation they
// judge (their generation keys, and so their reuse, do not change). A
// verdict that a failed judge call left as an error, told apart in schema 1
// by its detail, gets the status of its own, call_failed.
func migrate1to2(ctx context.Context, tx *sql.Tx) error {
	var has int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('generations') WHERE name = 'usage_estimated'`).Scan(&has); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	var stmts []string
	if has == 0 { // a store from before usage_estimated existed
		stmts = append(stmts, `ALTER TABLE generations ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0`)
	}
	// 64 hex digits of a generation key after "llm-judge:<judge>:".
	const keyLen = 64
	p := len(legacyJudgePrefix)
	stmts = append(stmts,
		`ALTER TABLE generations ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sample'`,
		`ALTER TABLE generations ADD COLUMN caller TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE generations ADD COLUMN subject TEXT NOT NULL DEFAULT ''`,
		fmt.Sprintf(`UPDATE generations SET purpose = '%s',
			caller = substr(query_id, %d, length(query_id) - %d),
			subject = substr(query_id, -%d)
			WHERE qkind = 1 AND substr(query_id, 1, %d) = '%s' AND length(query_id) > %d
				AND substr(query_id, -%d, 1) = ':'`,
			record.PurposeJudge, p+1, p+1+keyLen, keyLen, p, legacyJudgePrefix, p+1+keyLen, keyLen+1),
		// SQLite indexes the join's generation_key on the fly: one pass.
		fmt.Sprintf(`UPDATE generations AS j SET query_id = g.query_id, qkind = g.qkind, qnum = g.qnum, variant_id = g.variant_id
			FROM generations AS g
			WHERE j.purpose = '%s' AND g.purpose = '%s' AND g.generation_key = j.subject`, record.PurposeJudge, record.PurposeSample),
		callsIndex,
		// "judge model call failed" began such a verdict's detail (judge.LLMCallFailed in schema 1).
		fmt.Sprintf(`UPDATE scores SET status = '%s' WHERE status = '%s' AND substr(detail, 1, 23) = 'judge model call failed'`,
			record.StatusCallFailed, record.StatusError),
	)
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}
