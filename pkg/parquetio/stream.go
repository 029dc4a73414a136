package parquetio

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/darslabs/dars/pkg/record"
)

// RowWriter writes one file row by row, so a file of millions of rows never
// needs them all in memory: it holds at most one row group (16,384 rows or
// about 16 MiB of text) before writing it out. Rows must come in the file's
// order; the file appears at its path only when Close succeeds, and a
// writer that fails or is aborted leaves the path untouched. The row
// groups, and so the bytes, are the same however the rows are handed in.
type RowWriter[R any] struct {
	t      *table[R]
	path   string
	out    *atomicFile
	fw     *pqarrow.FileWriter
	sc     *arrow.Schema
	b      *array.RecordBuilder
	app    []func(*R)
	buf    []R
	bytes  int
	rows   int
	order  func(*R) sampleKey
	strict bool // a repeated key is an error
	prev   sampleKey
	err    error
}

// NewGenerationsWriter starts generations.parquet at path. Rows must be
// sorted as WriteGenerations requires.
func NewGenerationsWriter(path string, meta Meta) (*RowWriter[record.Generation], error) {
	return newRowWriter(generationsTable(), path, meta, generationKey, true)
}

// NewScoresWriter starts scores.parquet at path. Rows must be sorted as
// WriteScores requires.
func NewScoresWriter(path string, meta Meta) (*RowWriter[record.Score], error) {
	return newRowWriter(scoresTable(), path, meta, scoreKey, false)
}

func generationKey(r *record.Generation) sampleKey {
	return sampleKey{queryID: r.QueryID, variantID: r.VariantID, model: r.Model, sampleIndex: r.SampleIndex}
}

func scoreKey(r *record.Score) sampleKey {
	return sampleKey{queryID: r.QueryID, variantID: r.VariantID, model: r.Model, sampleIndex: r.SampleIndex}
}

func newRowWriter[R any](t *table[R], path string, meta Meta, order func(*R) sampleKey, strict bool) (*RowWriter[R], error) {
	md, err := meta.metadata(t.kind, t.version)
	if err != nil {
		return nil, fmt.Errorf("write %s %q: %w", t.kind, path, err)
	}
	w := &RowWriter[R]{t: t, path: path, sc: t.schema(&md), order: order, strict: strict}
	if w.out, err = createAtomic(path); err != nil {
		return nil, fmt.Errorf("write %s %q: %w", t.kind, path, err)
	}
	w.fw, err = pqarrow.NewFileWriter(w.sc, w.out.w, writerProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		w.out.abort()
		return nil, fmt.Errorf("write %s %q: create parquet writer: %w", t.kind, path, err)
	}
	w.b = array.NewRecordBuilder(memory.DefaultAllocator, w.sc)
	w.app = make([]func(*R), len(t.columns))
	for i, c := range t.columns {
		w.app[i] = c.writer(w.b.Field(i))
	}
	return w, nil
}

// Write appends one row. A row out of order is an error, and so is every
// later call: the file is then abandoned by Close.
func (w *RowWriter[R]) Write(r R) error {
	if w.err != nil {
		return w.err
	}
	if w.order != nil {
		k := w.order(&r)
		if w.rows > 0 {
			c := compareSampleKeys(w.prev, k)
			if c > 0 || (c == 0 && w.strict) {
				what := "sorts before"
				if c == 0 {
					what = "repeats"
				}
				return w.fail(fmt.Errorf("check order: row %d %s %s row %d %s", w.rows, k, what, w.rows-1, w.prev))
			}
		}
		w.prev = k
	}
	if len(w.buf) > 0 && (len(w.buf) >= maxRowGroupRows || w.bytes >= maxBatchBytes) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, r)
	if w.t.rowBytes != nil {
		w.bytes += w.t.rowBytes(&r)
	}
	w.rows++
	return nil
}

// Rows returns the number of rows written so far.
func (w *RowWriter[R]) Rows() int { return w.rows }

// flush writes the buffered rows as one row group.
func (w *RowWriter[R]) flush() error {
	batch := w.buf
	w.b.Reserve(len(batch))
	for i, c := range w.t.columns {
		if c.dataBytes == nil {
			continue
		}
		n := 0
		for j := range batch {
			n += c.dataBytes(&batch[j])
		}
		w.b.Field(i).(*array.StringBuilder).ReserveData(n)
	}
	for j := range batch {
		for _, app := range w.app {
			app(&batch[j])
		}
	}
	rec := w.b.NewRecordBatch()
	err := w.fw.Write(rec)
	rec.Release()
	if err != nil {
		return w.fail(fmt.Errorf("write rows %d to %d: %w", w.rows-len(batch), w.rows, err))
	}
	clear(w.buf) // drop the rows' strings before the next group
	w.buf, w.bytes = w.buf[:0], 0
	return nil
}

func (w *RowWriter[R]) fail(err error) error {
	w.err = fmt.Errorf("write %s %q: %w", w.t.kind, w.path, err)
	return w.err
}

// Close writes what is buffered (an empty file still gets one empty row
// group, so every reader sees the schema), finishes the file and moves it
// to its path. After an earlier error it removes the temp file and returns
// that error.
func (w *RowWriter[R]) Close() error {
	defer w.b.Release()
	if w.err == nil && (len(w.buf) > 0 || w.rows == 0) {
		_ = w.flush()
	}
	if w.err != nil {
		_ = w.fw.Close()
		w.out.abort()
		return w.err
	}
	if err := w.fw.Close(); err != nil {
		w.out.abort()
		return w.fail(fmt.Errorf("close parquet writer: %w", err))
	}
	if err := w.out.commit(); err != nil {
		return w.fail(err)
	}
	return nil
}

// Abort abandons the file: the temp file is removed and the path untouched.
func (w *RowWriter[R]) Abort() {
	if w.err == nil {
		w.err = fmt.Errorf("write %s %q: aborted", w.t.kind, w.path)
	}
	_ = w.Close()
}

// WriteFileAtomic writes b to path the way every output of a run is
// written: to a temp file beside it, synced, then renamed over path, so a
// reader never sees half a file (manifest.json, a run file from dars init).
func WriteFileAtomic(path string, b []byte) error {
	a, err := createAtomic(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := a.bw.Write(b); err != nil {
		a.abort()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := a.commit(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// RemoveStaleTemps removes the temp files an atomic write of path left
// behind when its process died before the rename (path + ".tmp-*"), and
// returns how many it removed. Call it only while no write of path can be
// going on (under the run directory's lock).
func RemoveStaleTemps(path string) (int, error) {
	stale, err := filepath.Glob(path + ".tmp-*")
	if err != nil {
		return 0, err
	}
	for i, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return i, fmt.Errorf("remove stale temp file: %w", err)
		}
	}
	return len(stale), nil
}

// atomicFile is a buffered temp file next to its final path
// (path + ".tmp-<random>") that commit flushes, fsyncs, closes and renames
// over the path, and abort removes.
type atomicFile struct {
	path string
	f    *os.File
	w    onlyWriter
	bw   *bufio.Writer
}

func createAtomic(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	return &atomicFile{path: path, f: f, bw: bw, w: onlyWriter{bw}}, nil
}

func (a *atomicFile) abort() {
	_ = a.f.Close()
	_ = os.Remove(a.f.Name())
}

func (a *atomicFile) commit() (err error) {
	tmp := a.f.Name()
	defer func() {
		if err != nil {
			a.abort()
		}
	}()
	if err := a.bw.Flush(); err != nil {
		return fmt.Errorf("write %q: %w", tmp, err)
	}
	if err := a.f.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod %q: %w", tmp, err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("sync %q: %w", tmp, err)
	}
	if err := a.f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", tmp, err)
	}
	if err := os.Rename(tmp, a.path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename %q: %w", tmp, err)
	}
	// Make the rename durable; not every file system can sync a directory,
	// and the file itself is already safe, so a failure here is not an error.
	if d, derr := os.Open(filepath.Dir(a.path)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
