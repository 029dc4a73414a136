package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetBatch is the number of rows decoded at a time.
const parquetBatch = 4096

// readParquet reads a Parquet file row by row: each row becomes a map like a
// decoded JSON object (strings, int64/uint64/float64 numbers, bools, lists,
// structs as nested maps), so the JSON mapping applies, dotted paths included.
// Line numbers are 1-based row numbers.
func readParquet(r io.Reader, m *mapper) error {
	var src parquet.ReaderAtSeeker
	if f, ok := r.(*os.File); ok {
		src = f
	} else {
		// A gzipped file: Parquet needs random access, so hold it in memory.
		data, err := io.ReadAll(r)
		if err != nil {
			return &InputError{Path: m.path, Err: fmt.Errorf("read: %w", err)}
		}
		src = bytes.NewReader(data)
	}
	pf, err := file.NewParquetReader(src)
	if err != nil {
		return &InputError{Path: m.path, Err: fmt.Errorf("read parquet: %w", err)}
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: parquetBatch}, memory.DefaultAllocator)
	if err != nil {
		return &InputError{Path: m.path, Err: fmt.Errorf("read parquet: %w", err)}
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return &InputError{Path: m.path, Err: fmt.Errorf("read parquet: %w", err)}
	}
	defer rr.Release()

	row := 0
	for !m.full() && rr.Next() {
		rec := rr.RecordBatch()
		schema := rec.Schema()
		for i := 0; i < int(rec.NumRows()) && !m.full(); i++ {
			row++
			obj := make(map[string]any, rec.NumCols())
			for c := range int(rec.NumCols()) {
				obj[schema.Field(c).Name] = arrowValue(rec.Column(c), i)
			}
			if err := m.add(obj, row); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return &InputError{Path: m.path, Line: row + 1, Err: fmt.Errorf("read parquet: %w", err)}
	}
	return nil
}

// arrowValue converts element i of arr to the Go value a JSON decoder would
// give, with int64/uint64/float64 for numbers. Types without a JSON
// counterpart (timestamps, decimals, ...) become their text.
func arrowValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.LargeBinary:
		return string(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Dictionary:
		return arrowValue(a.Dictionary(), a.GetValueIndex(i))
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		obj := make(map[string]any, a.NumField())
		for f := range a.NumField() {
			obj[st.Field(f).Name] = arrowValue(a.Field(f), i)
		}
		return obj
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		values := a.ListValues()
		items := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			items = append(items, arrowValue(values, int(j)))
		}
		return items
	}
	return arr.ValueStr(i)
}
