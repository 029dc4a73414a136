package parquetio

import (
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// column declares one Parquet column of a row type R: its Arrow field, how a
// row's value is appended to a builder, and how it is read back. Every column
// of every file kind is declared once, as a column, in this package.
type column[R any] struct {
	field arrow.Field
	// writer binds a builder of field.Type and returns the function that
	// appends one row's value to it.
	writer func(b array.Builder) func(r *R)
	// reader binds an array of field.Type and returns the function that
	// stores the value at index i into a row.
	reader func(a arrow.Array) func(i int, r *R)
	// dataBytes, for string columns, gives a row's value length so a batch
	// can reserve its data buffer once instead of growing it by copies.
	dataBytes func(r *R) int
}

// timestampMS is the Arrow type of every timestamp column: milliseconds, UTC.
var timestampMS arrow.DataType = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

// float64List is the Arrow type of list<double> columns. The element field
// is named "element", the name Parquet uses, so the Arrow schema stored in
// the file and the one read back are identical.
var float64List arrow.DataType = arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Float64, Nullable: true})

// stringColumn is a required string column.
func stringColumn[R any](name string, get func(*R) string, set func(*R, string)) column[R] {
	return column[R]{
		field:     arrow.Field{Name: name, Type: arrow.BinaryTypes.String},
		dataBytes: func(r *R) int { return len(get(r)) },
		writer: func(b array.Builder) func(*R) {
			sb := b.(*array.StringBuilder)
			return func(r *R) { sb.Append(get(r)) }
		},
		reader: func(a arrow.Array) func(int, *R) {
			sa := a.(*array.String)
			return func(i int, r *R) {
				if sa.IsValid(i) {
					set(r, sa.Value(i))
				}
			}
		},
	}
}

// optStringColumn is a nullable string column: "" is written as null and
// null reads back as "".
func optStringColumn[R any](name string, get func(*R) string, set func(*R, string)) column[R] {
	c := stringColumn(name, get, set)
	c.field.Nullable = true
	c.writer = func(b array.Builder) func(*R) {
		sb := b.(*array.StringBuilder)
		return func(r *R) {
			if s := get(r); s != "" {
				sb.Append(s)
			} else {
				sb.AppendNull()
			}
		}
	}
	return c
}

// int32Column is a required int32 column.
func int32Column[R any](name string, get func(*R) int32, set func(*R, int32)) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32},
		writer: func(b array.Builder) func(*R) {
			ib := b.(*array.Int32Builder)
			return func(r *R) { ib.Append(get(r)) }
		},
		reader: func(a arrow.Array) func(int, *R) {
			ia := a.(*array.Int32)
			return func(i int, r *R) {
				if ia.IsValid(i) {
					set(r, ia.Value(i))
				}
			}
		},
	}
}

// optInt32Column is a nullable int32 column: a negative value is written
// as null and null reads back as -1.
func optInt32Column[R any](name string, get func(*R) int32, set func(*R, int32)) column[R] {
	c := int32Column(name, get, set)
	c.field.Nullable = true
	c.writer = func(b array.Builder) func(*R) {
		ib := b.(*array.Int32Builder)
		return func(r *R) {
			if v := get(r); v >= 0 {
				ib.Append(v)
			} else {
				ib.AppendNull()
			}
		}
	}
	c.reader = func(a arrow.Array) func(int, *R) {
		ia := a.(*array.Int32)
		return func(i int, r *R) {
			if ia.IsValid(i) {
				set(r, ia.Value(i))
			} else {
				set(r, -1)
			}
		}
	}
	return c
}

// int64Column is a required int64 column.
func int64Column[R any](name string, get func(*R) int64, set func(*R, int64)) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64},
		writer: func(b array.Builder) func(*R) {
			ib := b.(*array.Int64Builder)
			return func(r *R) { ib.Append(get(r)) }
		},
		reader: func(a arrow.Array) func(int, *R) {
			ia := a.(*array.Int64)
			return func(i int, r *R) {
				if ia.IsValid(i) {
					set(r, ia.Value(i))
				}
			}
		},
	}
}

// float64Column is a required double column; NaN is written as NaN.
func float64Column[R any](name string, get func(*R) float64, set func(*R, float64)) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64},
		writer: func(b array.Builder) func(*R) {
			fb := b.(*array.Float64Builder)
			return func(r *R) { fb.Append(get(r)) }
		},
		reader: func(a arrow.Array) func(int, *R) {
			fa := a.(*array.Float64)
			return func(i int, r *R) {
				if fa.IsValid(i) {
					set(r, fa.Value(i))
				} else {
					set(r, math.NaN())
				}
			}
		},
	}
}

// optFloat64Column is a nullable double column: NaN, the labels' "undefined",
// is written as null, and null reads back as NaN.
func optFloat64Column[R any](name string, get func(*R) float64, set func(*R, float64)) column[R] {
	return optFloat64ColumnIf(name, func(r *R) (float64, bool) { return get(r), true }, set)
}

// optFloat64ColumnIf is a nullable double column whose value is null when
// get reports false or the value is NaN; null reads back as NaN.
func optFloat64ColumnIf[R any](name string, get func(*R) (float64, bool), set func(*R, float64)) column[R] {
	c := float64Column(name, nil, set)
	c.field.Nullable = true
	c.writer = func(b array.Builder) func(*R) {
		fb := b.(*array.Float64Builder)
		return func(r *R) {
			if v, ok := get(r); ok && !math.IsNaN(v) {
				fb.Append(v)
			} else {
				fb.AppendNull()
			}
		}
	}
	return c
}

// boolColumn is a required boolean column.
func boolColumn[R any](name string, get func(*R) bool, set func(*R, bool)) column[R] {
	return boolColumnIf(name, func(r *R) (bool, bool) { return get(r), true }, set, false)
}

// boolColumnIf is a boolean column whose value is null when get reports
// false; nullable says whether the field may hold nulls. Null reads back as
// false.
func boolColumnIf[R any](name string, get func(*R) (bool, bool), set func(*R, bool), nullable bool) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: arrow.FixedWidthTypes.Boolean, Nullable: nullable},
		writer: func(b array.Builder) func(*R) {
			bb := b.(*array.BooleanBuilder)
			return func(r *R) {
				if v, ok := get(r); ok {
					bb.Append(v)
				} else {
					bb.AppendNull()
				}
			}
		},
		reader: func(a arrow.Array) func(int, *R) {
			ba := a.(*array.Boolean)
			return func(i int, r *R) {
				if ba.IsValid(i) {
					set(r, ba.Value(i))
				}
			}
		},
	}
}

// timestampColumn is a required timestamp[ms, UTC] column. Sub-millisecond
// precision is dropped; values read back in UTC.
func timestampColumn[R any](name string, get func(*R) time.Time, set func(*R, time.Time)) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: timestampMS},
		writer: func(b array.Builder) func(*R) {
			tb := b.(*array.TimestampBuilder)
			return func(r *R) { tb.Append(arrow.Timestamp(get(r).UnixMilli())) }
		},
		reader: func(a arrow.Array) func(int, *R) {
			ta := a.(*array.Timestamp)
			return func(i int, r *R) {
				if ta.IsValid(i) {
					set(r, time.UnixMilli(int64(ta.Value(i))).UTC())
				}
			}
		},
	}
}

// float64ListColumn is a required list<double> column whose NaN elements are
// written as null and read back as NaN. A nil or empty slice is written as an
// empty list and reads back as an empty, non-nil slice.
func float64ListColumn[R any](name string, get func(*R) []float64, set func(*R, []float64)) column[R] {
	return column[R]{
		field: arrow.Field{Name: name, Type: float64List},
		writer: func(b array.Builder) func(*R) {
			lb := b.(*array.ListBuilder)
			vb := lb.ValueBuilder().(*array.Float64Builder)
			return func(r *R) {
				lb.Append(true)
				for _, v := range get(r) {
					if math.IsNaN(v) {
						vb.AppendNull()
					} else {
						vb.Append(v)
					}
				}
			}
		},
		reader: func(a arrow.Array) func(int, *R) {
			la := a.(*array.List)
			va := la.ListValues().(*array.Float64)
			return func(i int, r *R) {
				if !la.IsValid(i) {
					set(r, []float64{})
					return
				}
				start, end := la.ValueOffsets(i)
				out := make([]float64, 0, end-start)
				for j := start; j < end; j++ {
					if va.IsValid(int(j)) {
						out = append(out, va.Value(int(j)))
					} else {
						out = append(out, math.NaN())
					}
				}
				set(r, out)
			}
		},
	}
}
