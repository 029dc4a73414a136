// Package parquetio declares every Parquet schema dars writes (variants,
// generations, scores, labels, routes, sim_truth) and writes and reads them.
//
// Each file kind's columns are declared once, as a table of columns built
// from the row types in pkg/record; the Arrow schema, the writer and the
// reader all come from that one declaration, and docs/schema.md documents it.
// Writers check (never fix) the row order, write ZSTD-compressed files with
// dars.* key-value metadata and the Arrow schema stored, produce the same
// bytes for the same input, and replace the destination atomically: a temp
// file in the same directory, fsynced and renamed after a clean close.
package parquetio
