// Package store is the run store: one SQLite database (dars.db, WAL) per
// output directory that holds every variant, generation and score of a run.
// It is the source of truth while a run is live: every write is a committed
// transaction before it returns, so a run killed at any moment (kill -9)
// reopens with every committed row and nothing half-written. An exclusive
// lock on dars.lock keeps a second dars process out of the directory.
//
// Rows are read back in the order every output is sorted: query_id as
// record.CompareQueryID orders it, then variant_id, model, sample_index.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// File names inside an output directory.
const (
	DBFile   = "dars.db"   // the SQLite database
	LockFile = "dars.lock" // flock'd by the process that has the store open
)

// SchemaVersion is the version of the tables this package reads and writes,
// stored under the meta key "schema_version". Open migrates a store of an
// older version in place (see migrations) and refuses a newer one; every
// change to the tables bumps it and adds its migration.
//
//	1  variants, generations, scores (dars up to the engine's move into pkg/pipeline)
//	2  generations.purpose, caller, subject: every paid call with what it was for;
//	   an llm judge's calls move out of made-up query ids; scores.status
//	   call_failed for a verdict whose judge call failed
//	3  generations.reasoning_tokens
const SchemaVersion = 4

// ErrLocked is wrapped by Open when another process (or another Open in this
// process) holds the output directory.
var ErrLocked = errors.New("output directory is in use by another dars process")

// busyTimeoutMS bounds how long a statement waits for SQLite's own locks,
// e.g. a reader racing a checkpoint. The flock keeps other processes out,
// so waits are short in practice.
const busyTimeoutMS = 10000

// maxReaders bounds the read pool. Reads get their own pool so that a
// callback of Generations or Scores may write (e.g. PutScores while
// iterating generations) without waiting for the connection it is using.
const maxReaders = 4

// Store is an open run store. Its methods are safe for concurrent use;
// writes are serialised on one connection, reads run beside them on a
// snapshot (WAL). Close it to release the directory.
type Store struct {
	dir  string
	path string
	lock *os.File
	w    *sql.DB // exactly one connection: the single writer
	r    *sql.DB // readers
}

// Open creates dir if needed, takes an exclusive lock on dir/dars.lock
// (writing this process's pid into it) and opens dir/dars.db, creating the
// schema on first use and migrating a store of an older schema version in
// place. The lock dies with the process, so a killed run never leaves a
// stale lock. If another Open (from this or another process) holds the
// directory, Open fails with an error that wraps ErrLocked and names the
// directory and the holder's pid. A database written by a newer schema
// version is refused with an error wrapping ErrNewerSchema.
func Open(ctx context.Context, dir string) (*Store, error) {
	if strings.ContainsRune(dir, '?') {
		return nil, fmt.Errorf("open store %q: directory name must not contain '?'", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockDir(dir, filepath.Join(dir, LockFile))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{dir: dir, path: filepath.Join(dir, DBFile), lock: lock}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		unlockDir(lock)
		return nil, fmt.Errorf("open store %q: %w", s.path, corrupt(err))
	}
	return s, nil
}

// ErrCorrupt is wrapped by Open and OpenReader when dars.db is not a
// database, or a damaged one.
var ErrCorrupt = errors.New("store file damaged")

// SQLite's result codes for a damaged file and for a file it cannot open.
const (
	sqliteCorrupt  = 11 // SQLITE_CORRUPT
	sqliteCantOpen = 14 // SQLITE_CANTOPEN
	sqliteNotADB   = 26 // SQLITE_NOTADB
)

// sqliteCode is the SQLite result code in err, or 0.
func sqliteCode(err error) int {
	var se interface{ Code() int }
	if errors.As(err, &se) {
		return se.Code() & 0xff // the primary code of an extended one
	}
	return 0
}

// corrupt marks an error SQLite gives for a damaged file with ErrCorrupt.
func corrupt(err error) error {
	if c := sqliteCode(err); c == sqliteCorrupt || c == sqliteNotADB {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

func (s *Store) open(ctx context.Context) error {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.Itoa(busyTimeoutMS))
	q.Set("_foreign_keys", "0")
	q.Set("_journal_mode", "WAL")
	// In WAL mode NORMAL never corrupts the database and never loses a
	// committed transaction when the process dies (kill -9): the commit is
	// in the OS's page cache before it returns. Only an OS crash or power
	// loss can drop the last commits before a checkpoint, and those are
	// re-requested on resume. FULL adds an fsync per commit: about 7 ms on
	// our VM disk, 0.85 s per 60,000 rows in batches of 500, which nearly
	// doubled BenchmarkPutGenerations.
	q.Set("_synchronous", "NORMAL")
	// IMMEDIATE takes the write lock at BEGIN, so a write transaction never
	// fails half-way upgrading from a read lock.
	q.Set("_txlock", "immediate")
	var err error
	if s.w, err = sql.Open("sqlite", s.path+"?"+q.Encode()); err != nil {
		return err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return s.openReaders(ctx)
}

// openReaders opens the read pool: query-only connections beside the writer.
func (s *Store) openReaders(ctx context.Context) error {
	rq := url.Values{}
	rq.Set("_busy_timeout", strconv.Itoa(busyTimeoutMS))
	rq.Set("_query_only", "1")
	var err error
	if s.r, err = sql.Open("sqlite", s.path+"?"+rq.Encode()); err != nil {
		return err
	}
	s.r.SetMaxOpenConns(maxReaders)
	s.r.SetMaxIdleConns(maxReaders)
	return s.r.PingContext(ctx)
}

// openImmutable opens path read-only as a file nothing changes: no -shm,
// no lock.
func openImmutable(ctx context.Context, path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Set("immutable", "1")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// ErrReadOnly is returned by a write to a store opened with OpenReader.
var ErrReadOnly = errors.New("store opened read-only")

// ErrNewerSchema is wrapped by Open and OpenReader when the database was
// written by a newer dars: reading it could misread it.
var ErrNewerSchema = errors.New("store written by a newer dars")

// ErrOlderSchema is wrapped by OpenReader when the database was written by
// an older dars and has not been migrated yet: a reader may not migrate it
// (it holds no lock), and reading it as it is could misread it.
var ErrOlderSchema = errors.New("store written by an older dars, not migrated yet")

// OpenReader opens an existing dir/dars.db for reading only, without the
// directory lock: a dry run can read what a live run has committed (WAL
// readers see the last commit) without stopping it. Writes fail with
// ErrReadOnly. A missing database is an error wrapping fs.ErrNotExist; a
// database of another schema version is refused (ErrNewerSchema,
// ErrOlderSchema), never misread.
func OpenReader(ctx context.Context, dir string) (*Store, error) {
	if strings.ContainsRune(dir, '?') {
		return nil, fmt.Errorf("open store %q: directory name must not contain '?'", dir)
	}
	s := &Store{dir: dir, path: filepath.Join(dir, DBFile)}
	if _, err := os.Stat(s.path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.openReaders(ctx); err != nil {
		s.closeDBs()
		if sqliteCode(err) != sqliteCantOpen {
			return nil, fmt.Errorf("open store %q: %w", s.path, corrupt(err))
		}
		// A reader of a WAL database needs to write its -shm file; in a
		// directory it cannot write (a read-only mount) no process can be
		// writing the store either, so it is read as it is on disk.
		if s.r, err = openImmutable(ctx, s.path); err != nil {
			return nil, fmt.Errorf("open store %q: %w", s.path, corrupt(err))
		}
	}
	v, err := schemaVersion(ctx, s.r)
	err = corrupt(err)
	if err == nil && v != SchemaVersion && v != 0 {
		err = fmt.Errorf("schema version %d, this dars reads %d: %w", v, SchemaVersion, ErrOlderSchema)
		if v > SchemaVersion {
			err = fmt.Errorf("schema version %d, this dars reads %d: %w", v, SchemaVersion, ErrNewerSchema)
		}
	}
	if err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open store %q: %w", s.path, err)
	}
	return s, nil
}

// schemaVersion reads the stored schema version: 0 for a database without
// tables yet, 1 for one made before versions were recorded.
func schemaVersion(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var n int
	err := db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read schema: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v string
	err = db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 1, nil
	case err != nil:
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	got, perr := strconv.Atoi(v)
	if perr != nil || got < 1 {
		return 0, fmt.Errorf("read schema version: invalid value %q", v)
	}
	return got, nil
}

// migrate brings the database to SchemaVersion in one transaction: it
// creates the tables of a new database, or runs the migrations from the
// stored version on, and records the version. A newer version is refused
// before anything is touched; a failed migration leaves the database as it
// was.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin schema: %w", err)
	}
	defer tx.Rollback()
	v, err := schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("schema version %d is newer than this dars supports (%d): %w; use a newer dars", v, SchemaVersion, ErrNewerSchema)
	case v == SchemaVersion:
	case v == 0:
		for _, stmt := range schema {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
	default:
		for from := v; from < SchemaVersion; from++ {
			if err := migrations[from](ctx, tx); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", from, from+1, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO meta(key, value) VALUES('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		strconv.Itoa(SchemaVersion)); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	// A store's id is drawn once, when its tables are made (or when a store
	// from before ids is first opened): a store made again in its place,
	// empty, has another.
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("draw store id: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('store_id', ?) ON CONFLICT(key) DO NOTHING`,
		hex.EncodeToString(id)); err != nil {
		return fmt.Errorf("write store id: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit schema: %w", err)
	}
	return nil
}

// schema creates every table and index.
//
// qkind and qnum make SQL order query ids the way record.CompareQueryID
// does: qkind is 0 for an id of at most 18 decimal digits and qnum its value;
// qkind is 1 and qnum 0 for any other id. ORDER BY qkind, qnum, query_id.
//
// Generations and scores have no index on generation_key alone: a sha256
// key is random, and a B-tree keyed by it rewrites about one page per
// inserted row, which made batched inserts several times slower. Their
// uniqueness lives instead in the sort index, which the sampler fills
// nearly in order. A generation_key determines its query, variant, model
// and sample index (they are part of the request it hashes), so upserting
// on the whole sort key is upserting on generation_key. ScoredKeys and
// Scores of one judge scan the table in this order and filter: there are
// few judges, and one more index would tempt the planner to sort.
var schema = [...]string{
	`CREATE TABLE IF NOT EXISTS meta (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS variants (
		query_id   TEXT    NOT NULL,
		qkind      INTEGER NOT NULL,
		qnum       INTEGER NOT NULL,
		variant_id INTEGER NOT NULL,
		source     TEXT    NOT NULL,
		text       TEXT    NOT NULL,
		rewriter   TEXT    NOT NULL
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS variants_order
		ON variants (qkind, qnum, query_id, variant_id)`,
	`CREATE TABLE IF NOT EXISTS generations (
		generation_key    TEXT    NOT NULL,
		query_id          TEXT    NOT NULL,
		qkind             INTEGER NOT NULL,
		qnum              INTEGER NOT NULL,
		variant_id        INTEGER NOT NULL,
		model             TEXT    NOT NULL,
		sample_index      INTEGER NOT NULL,
		seed              INTEGER NOT NULL,
		temperature       REAL,
		top_p             REAL,
		max_tokens        INTEGER NOT NULL,
		output_text       TEXT    NOT NULL,
		finish_reason     TEXT    NOT NULL,
		prompt_tokens     INTEGER NOT NULL,
		completion_tokens INTEGER NOT NULL,
		cost_usd          REAL,
		latency_ms        INTEGER NOT NULL,
		attempts          INTEGER NOT NULL,
		error             TEXT    NOT NULL,
		created_at        INTEGER NOT NULL,
		usage_estimated   INTEGER NOT NULL DEFAULT 0,
		purpose           TEXT    NOT NULL DEFAULT 'sample',
		caller            TEXT    NOT NULL DEFAULT '',
		subject           TEXT    NOT NULL DEFAULT '',
		reasoning_tokens  INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS generations_order
		ON generations (qkind, qnum, query_id, variant_id, model, sample_index, generation_key)`,
	callsIndex,
	`CREATE TABLE IF NOT EXISTS scores (
		generation_key TEXT    NOT NULL,
		judge          TEXT    NOT NULL,
		judge_hash     TEXT    NOT NULL,
		query_id       TEXT    NOT NULL,
		qkind          INTEGER NOT NULL,
		qnum           INTEGER NOT NULL,
		variant_id     INTEGER NOT NULL,
		model          TEXT    NOT NULL,
		sample_index   INTEGER NOT NULL,
		status         TEXT    NOT NULL,
		score          REAL,
		passed         INTEGER NOT NULL,
		extracted      TEXT    NOT NULL,
		detail         TEXT    NOT NULL
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS scores_order
		ON scores (qkind, qnum, query_id, variant_id, model, sample_index, generation_key, judge)`,
	rewritesTable,
	rewritesIndex,
}

// rewritesTable logs every rewrite a rewriter proposed and every failed
// attempt (record.Rewrite); the kept ones are also variants.
const rewritesTable = `CREATE TABLE IF NOT EXISTS rewrites (
		query_id         TEXT    NOT NULL,
		qkind            INTEGER NOT NULL,
		qnum             INTEGER NOT NULL,
		attempt          INTEGER NOT NULL,
		item             INTEGER NOT NULL,
		text             TEXT    NOT NULL,
		status           TEXT    NOT NULL,
		reason           TEXT    NOT NULL,
		variant_id       INTEGER,
		verifier_verdict TEXT,
		rewriter         TEXT    NOT NULL,
		call_key         TEXT    NOT NULL
	)`

// rewritesIndex orders the log and makes (query, attempt, item) unique.
const rewritesIndex = `CREATE UNIQUE INDEX IF NOT EXISTS rewrites_order
		ON rewrites (qkind, qnum, query_id, attempt, item)`

// callsIndex finds the calls that are not samples by who made them and
// what about (Calls). It is partial: samples, most of the rows, neither
// pay for it on insert nor take room in it.
const callsIndex = `CREATE INDEX IF NOT EXISTS generations_calls
	ON generations (purpose, caller, subject) WHERE purpose <> 'sample'`

// Sort keys used by every ordered read and every upsert.
const (
	variantOrder    = `qkind, qnum, query_id, variant_id`
	generationOrder = `qkind, qnum, query_id, variant_id, model, sample_index, generation_key`
	scoreOrder      = generationOrder + `, judge`
)

// Path returns the database file, dir/dars.db.
func (s *Store) Path() string { return s.path }

// Dir returns the output directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Close closes the database, then releases the directory lock. The store
// must not be used afterwards.
func (s *Store) Close() error {
	err := s.closeDBs()
	if s.lock == nil { // OpenReader
		return err
	}
	if uerr := unlockDir(s.lock); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

func (s *Store) closeDBs() error {
	var errs []error
	// Readers first: the writer's close is the last connection, which
	// checkpoints the WAL into the database file.
	if s.r != nil {
		if err := s.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store readers: %w", err))
		}
	}
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store %q: %w", s.path, err))
		}
	}
	return errors.Join(errs...)
}

// ID returns the store's id: drawn when its tables were made, so a store
// made again in the same place (after the first was lost) has another.
func (s *Store) ID(ctx context.Context) (string, error) {
	id, ok, err := s.Meta(ctx, "store_id")
	if err == nil && !ok {
		err = fmt.Errorf("read store id of %s: none (schema version older than %d)", s.path, SchemaVersion)
	}
	return id, err
}

// Size counts what the store holds.
type Size struct {
	Generations int64 `json:"generations"` // every stored call, samples and judge calls, errored ones included
	Scores      int64 `json:"scores"`
}

// Size counts the store's rows in one snapshot. Generations never shrink
// (a failed call is replaced, never removed); verdicts can (a replaced
// failure's error verdicts go).
func (s *Store) Size(ctx context.Context) (Size, error) {
	var sz Size
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM generations), (SELECT count(*) FROM scores)`).
		Scan(&sz.Generations, &sz.Scores)
	if err != nil {
		return Size{}, fmt.Errorf("count rows of %s: %w", s.path, err)
	}
	return sz, nil
}

// SetMeta stores value under key, replacing any previous value.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	if s.w == nil {
		return fmt.Errorf("%s: %w", s.path, ErrReadOnly)
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		key, value)
	if err != nil {
		return fmt.Errorf("set meta %q: %w", key, err)
	}
	return nil
}

// Meta returns the value stored under key; ok is false when there is none.
func (s *Store) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("read meta %q: %w", key, err)
	}
	return value, true, nil
}

// queryOrder returns the qkind and qnum columns of a query id: (0, value)
// when record.CompareQueryID treats it as a number (a non-empty run of at
// most 18 decimal digits), (1, 0) otherwise.
func queryOrder(id string) (kind int, num int64) {
	if id == "" || len(id) > 18 {
		return 1, 0
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c < '0' || c > '9' {
			return 1, 0
		}
		num = num*10 + int64(c-'0')
	}
	return 0, num
}

// writeTx runs fn in one write transaction and commits it.
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.w == nil {
		return fmt.Errorf("%s: %w", s.path, ErrReadOnly)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// nullFloat stores NaN as NULL (SQLite would anyway) so that reading it back
// can restore the NaN instead of failing.
func nullFloat(f float64) sql.NullFloat64 {
	if f != f {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: f, Valid: true}
}

func floatOrNaN(f sql.NullFloat64) float64 {
	if !f.Valid {
		return nan()
	}
	return f.Float64
}
