package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// SchemaVersion is the value of the dars.schema_version metadata key of
// every file kind without a version of its own (table.version). It changes
// when a column is renamed, removed or changes type or meaning.
const SchemaVersion = "1"

// File kinds, the values of the dars.kind metadata key.
const (
	KindVariants    = "variants"
	KindRewrites    = "rewrites"
	KindGenerations = "generations"
	KindScores      = "scores"
	KindLabels      = "labels"
	KindRoutes      = "routes"
	KindTruth       = "sim_truth"
)

// Metadata keys written into every file's Parquet key-value metadata.
const (
	MetaSchemaVersion = "dars.schema_version"
	MetaKind          = "dars.kind"
	MetaConfigHash    = "dars.config_hash"
	MetaVersion       = "dars.version"
)

// metaPrefix prefixes every dars metadata key, including Meta.Extra keys.
const metaPrefix = "dars."

// arrowSchemaKey is the metadata key under which pqarrow stores the
// serialised Arrow schema; ReadMeta leaves it out.
const arrowSchemaKey = "ARROW:schema"

// ignoredArrowSchemaKey replaces arrowSchemaKey in a reader's in-memory
// metadata so that pqarrow does not decode the stored Arrow schema.
const ignoredArrowSchemaKey = "dars:ignored-arrow-schema"

const (
	// maxRowGroupRows caps the rows of one row group and of one Arrow batch.
	// 16,384 rather than 65,536: it cut the peak RSS of writing 200,000
	// generations from 297 to 228 MiB, and the file came out 0.5% smaller.
	maxRowGroupRows = 16 * 1024
	// maxBatchBytes caps the estimated variable-length bytes of one Arrow
	// batch, so a file of long generations never holds more than about this
	// much Arrow data in memory at once.
	maxBatchBytes = 16 << 20
)

// Meta is the caller-supplied part of a file's key-value metadata.
type Meta struct {
	// ConfigHash is written as dars.config_hash.
	ConfigHash string
	// Version is the dars version, written as dars.version.
	Version string
	// Extra holds further entries, each written as dars.<key>. A key must be
	// non-empty and must not name one of the keys set by this package.
	Extra map[string]string
}

// metadata returns the file's dars.* key-value metadata in a fixed order:
// the four standard keys, then the Extra keys sorted.
func (m Meta) metadata(kind, version string) (arrow.Metadata, error) {
	if version == "" {
		version = SchemaVersion
	}
	keys := []string{MetaSchemaVersion, MetaKind, MetaConfigHash, MetaVersion}
	values := []string{version, kind, m.ConfigHash, m.Version}
	extra := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		if k == "" {
			return arrow.Metadata{}, errors.New("check metadata: empty extra key")
		}
		switch metaPrefix + k {
		case MetaSchemaVersion, MetaKind, MetaConfigHash, MetaVersion:
			return arrow.Metadata{}, fmt.Errorf("check metadata: extra key %q is reserved", k)
		}
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		keys = append(keys, metaPrefix+k)
		values = append(values, m.Extra[k])
	}
	return arrow.NewMetadata(keys, values), nil
}

// table is one file kind: its columns in file order.
type table[R any] struct {
	kind string
	// version is the file kind's dars.schema_version; "" means SchemaVersion.
	version string
	columns []column[R]
	// since is how many of the columns the first version of the file had:
	// columns added later come last, and a file written before them is read
	// with them at their zero value. 0: every column is as old as the file.
	since int
	// rowBytes estimates a row's variable-length bytes, to bound batches;
	// nil means rows are small.
	rowBytes func(*R) int
	// newRow returns an empty row ready for the column readers; nil means
	// the zero value.
	newRow func() R
}

// schema returns the Arrow schema of the table with the given metadata.
func (t *table[R]) schema(md *arrow.Metadata) *arrow.Schema {
	fields := make([]arrow.Field, len(t.columns))
	for i, c := range t.columns {
		fields[i] = c.field
	}
	return arrow.NewSchema(fields, md)
}

// writerProperties builds the Parquet writer properties every dars file is
// written with: ZSTD, dictionary-encoded columns except those whose values
// are almost all distinct, statistics, bounded row groups.
func writerProperties() *parquet.WriterProperties {
	return parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithDictionaryDefault(true),
		// One sha256 per row: a dictionary only adds indices to store.
		parquet.WithDictionaryFor("generation_key", false),
		// Model outputs and rewrites are nearly all distinct; ZSTD alone
		// compresses them as well (measured: 30.7 vs 30.8 bytes per generation).
		parquet.WithDictionaryFor("output_text", false),
		parquet.WithDictionaryFor("text", false),
		parquet.WithMaxRowGroupLength(maxRowGroupRows),
		parquet.WithStats(true),
	)
}

// write writes rows to path atomically, in the order given, through a
// RowWriter; the caller has checked their order.
func (t *table[R]) write(path string, rows []R, meta Meta) error {
	w, err := newRowWriter(t, path, meta, nil, false)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// onlyWriter hides the Close method of the file, so closing the Parquet
// writer leaves the file open for Sync.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// openReader opens a Parquet file for Arrow reading. The caller closes the
// returned file.Reader.
func openReader(path string) (*file.Reader, *pqarrow.FileReader, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, err
	}
	// Read types from the Parquet schema, not from the stored Arrow schema:
	// arrow-go's IPC decoder trusts lengths in that blob and a corrupt one
	// can make it allocate tens of gigabytes (found by FuzzReadGenerations).
	// The Parquet logical types of dars files map to the same Arrow types,
	// and checkSchema verifies them. The stored schema is for other readers.
	for _, kv := range pf.MetaData().KeyValueMetadata() {
		if kv.Key == arrowSchemaKey {
			kv.Key = ignoredArrowSchemaKey
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: maxRowGroupRows}, memory.DefaultAllocator)
	if err != nil {
		_ = pf.Close()
		return nil, nil, err
	}
	return pf, fr, nil
}

// readTable reads every row of a file of some kind. plan receives the file's
// Arrow schema and returns the table to read it with (for labels and routes
// the columns depend on the file); the file's columns must then match the
// table's in order, name and type.
func readTable[R any](path, kind string, plan func(*arrow.Schema) (*table[R], error)) ([]R, error) {
	var rows []R
	err := eachRow(context.Background(), path, kind, plan, func(n int64) {
		rows = make([]R, 0, min(n, 1<<20))
	}, func(r R) error {
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// eachRow calls fn for every row of a file of some kind, in file order, a
// record batch in memory at a time; plan is as for readTable, and sized,
// when not nil, hears the file's row count before the first row. It stops
// at fn's first error and returns it unwrapped.
func eachRow[R any](ctx context.Context, path, kind string, plan func(*arrow.Schema) (*table[R], error), sized func(int64), fn func(R) error) (err error) {
	var fnErr error
	defer func() {
		// arrow-go can panic on corrupt input; a bad file is an error, not a crash.
		if p := recover(); p != nil {
			err = fmt.Errorf("read %s %q: corrupt parquet file: %v", kind, path, p)
		}
	}()
	err = readRows(ctx, path, plan, sized, func(r R) error {
		fnErr = fn(r)
		return fnErr
	})
	switch {
	case err == nil:
		return nil
	case fnErr != nil && errors.Is(err, fnErr):
		return fnErr
	}
	return fmt.Errorf("read %s %q: %w", kind, path, err)
}

func readRows[R any](ctx context.Context, path string, plan func(*arrow.Schema) (*table[R], error), sized func(int64), fn func(R) error) error {
	pf, fr, err := openReader(path)
	if err != nil {
		return err
	}
	defer pf.Close()
	sc, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	t, err := plan(sc)
	if err != nil {
		return err
	}
	if n := sc.NumFields(); t.since > 0 && n >= t.since && n < len(t.columns) {
		// A file from before the last columns were added: read what it has.
		old := *t
		old.columns = t.columns[:n]
		t = &old
	}
	if err := checkSchema(sc, t.schema(nil)); err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read rows: %w", err)
	}
	defer rr.Release()
	n := pf.NumRows()
	if n < 0 || n > 1<<40 {
		return fmt.Errorf("read rows: implausible row count %d", n)
	}
	if sized != nil {
		sized(n)
	}
	for rr.Next() {
		rec := rr.RecordBatch()
		readers := make([]func(int, *R), len(t.columns))
		for i, c := range t.columns {
			readers[i] = c.reader(rec.Column(i))
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			var r R
			if t.newRow != nil {
				r = t.newRow()
			}
			for _, rd := range readers {
				rd(i, &r)
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read rows: %w", err)
	}
	return nil
}

// checkSchema reports whether got has exactly the columns of want, in order,
// with the same names and Arrow types. Nullability is not compared: a reader
// accepts nulls in any column.
func checkSchema(got, want *arrow.Schema) error {
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("check schema: %d columns, want %d (%s)", got.NumFields(), want.NumFields(), fieldNames(want))
	}
	for i := 0; i < want.NumFields(); i++ {
		g, w := got.Field(i), want.Field(i)
		if g.Name != w.Name {
			return fmt.Errorf("check schema: column %d is %q, want %q", i, g.Name, w.Name)
		}
		if !arrow.TypeEqual(g.Type, w.Type) {
			return fmt.Errorf("check schema: column %q has type %s, want %s", g.Name, g.Type, w.Type)
		}
	}
	return nil
}

func fieldNames(sc *arrow.Schema) string {
	names := make([]string, sc.NumFields())
	for i := range names {
		names[i] = sc.Field(i).Name
	}
	return strings.Join(names, ", ")
}

// ReadMeta returns the Parquet key-value metadata of the file at path: the
// dars.* keys and any other key a writer stored, except the serialised Arrow
// schema (ARROW:schema).
func ReadMeta(path string) (md map[string]string, err error) {
	defer func() {
		if p := recover(); p != nil {
			md, err = nil, fmt.Errorf("read metadata %q: corrupt parquet file: %v", path, p)
		}
	}()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("read metadata %q: %w", path, err)
	}
	defer pf.Close()
	kv := pf.MetaData().KeyValueMetadata()
	md = make(map[string]string, kv.Len())
	for _, e := range kv {
		if e.Key == arrowSchemaKey {
			continue
		}
		v := ""
		if e.Value != nil {
			v = *e.Value
		}
		md[e.Key] = v
	}
	return md, nil
}
