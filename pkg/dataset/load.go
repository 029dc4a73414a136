package dataset

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Options says how Load reads a data set file. The zero value reads the
// format named by the file's extension with the plain preset and no limit.
type Options struct {
	// Format is jsonl, csv or parquet; "" picks it from the extension
	// (.jsonl, .json, .ndjson, .csv, .parquet, each optionally followed by .gz,
	// which is read through gzip).
	Format string
	// Preset is gsm8k, mmlu, arc, triviaqa, humaneval, mbpp or plain; ""
	// means plain.
	Preset string
	// Fields overrides the preset's mapping field by field: a non-empty name
	// replaces the preset's. A field named here must exist in every row (a
	// CSV column, a JSON key, a Parquet column); a null value counts as
	// absent, a missing key is an error, which catches misspelt names.
	Fields Fields
	// Limit keeps the first Limit queries of the file; 0 keeps all.
	Limit int
	// DropRaw leaves Query.Fields nil: the raw rows are not kept, which
	// saves their memory (about a kilobyte a row) when no judge reads them.
	DropRaw bool
}

// Fields maps the columns of a data set to the parts of a Query. The names
// are identical to config.Fields so the caller can copy one into the other.
//
// A name is looked up as an exact column or key first; otherwise dots walk
// into nested objects ("question.stem"). Choices and Variants may also name
// several columns separated by commas ("A,B,C,D"), one item per column. A
// name may list alternatives separated by "|"; the first one present in the
// row is used.
type Fields struct {
	ID       string // the query's id; absent = the 1-based row number
	Question string // the question text (required in every row)
	Answer   string // a string or number, or a list of acceptable answers
	Choices  string // a list of strings or of {text, label} objects
	Context  string // a passage the question is about
	Task     string // the item's task type or subject
	Variants string // a list of rewrites given with the data
}

// Format names accepted in Options.Format.
const (
	FormatJSONL   = "jsonl"
	FormatCSV     = "csv"
	FormatParquet = "parquet"
)

// InputError reports a problem at one place of an input file. Its message
// reads "path:line: field "name": what is wrong", leaving out the line when
// the problem concerns the whole file and the field when it is not about one.
type InputError struct {
	Path  string // the file as given to Load
	Line  int    // 1-based line (JSONL, CSV) or row (Parquet); 0 for the whole file
	Field string // the column or key as configured, e.g. "question.stem"
	Err   error  // what is wrong
}

// Error formats the error as "path:line: field "name": cause".
func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

// Load reads the queries of the data set at path, maps every row through the
// preset and opts.Fields, and returns them in file order. It promises that
// every returned query has a non-empty Question and a unique non-empty ID,
// that every text in it is valid UTF-8, and that Line points back into the
// file. Problems with the content are returned as *InputError naming the
// file, the line and the field; a file without any query is an error.
// Load is LoadWithReport without the report: text that was not UTF-8 is
// repaired silently.
func Load(path string, opts Options) ([]Query, error) {
	qs, _, err := LoadWithReport(path, opts)
	return qs, err
}

// LoadWithReport is Load that also says what it repaired: the fields whose
// bytes were not UTF-8 and now hold U+FFFD (see Report.Warning). An id that
// is not UTF-8 is an error, marked as an input problem with a hint.
func LoadWithReport(path string, opts Options) ([]Query, Report, error) {
	if opts.Limit < 0 {
		return nil, Report{}, fmt.Errorf("load queries %q: limit %d is negative", path, opts.Limit)
	}
	format, gz, err := detectFormat(path, opts.Format)
	if err != nil {
		return nil, Report{}, fmt.Errorf("load queries %q: %w", path, err)
	}
	m, err := newMapper(path, opts)
	if err != nil {
		return nil, Report{}, fmt.Errorf("load queries %q: %w", path, err)
	}

	f, err := os.Open(path)
	if err != nil {
		return nil, Report{}, fmt.Errorf("load queries: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, Report{}, &InputError{Path: path, Err: fmt.Errorf("read gzip: %w", err)}
		}
		defer zr.Close()
		r = zr
	}

	switch format {
	case FormatJSONL:
		err = readJSON(r, m)
	case FormatCSV:
		err = readCSV(r, m)
	case FormatParquet:
		err = readParquet(r, m)
	}
	if err != nil {
		return nil, Report{}, err
	}
	if len(m.queries) == 0 {
		return nil, Report{}, &InputError{Path: path, Err: errors.New("no queries")}
	}
	return m.queries, m.report, nil
}

// detectFormat returns the format to read and whether the file is gzipped.
func detectFormat(path, format string) (string, bool, error) {
	name := strings.ToLower(filepath.Base(path))
	gz := strings.HasSuffix(name, ".gz")
	name = strings.TrimSuffix(name, ".gz")
	if format == "" {
		switch filepath.Ext(name) {
		case ".jsonl", ".json", ".ndjson":
			format = FormatJSONL
		case ".csv":
			format = FormatCSV
		case ".parquet", ".pq":
			format = FormatParquet
		default:
			return "", false, fmt.Errorf("cannot tell the format from the extension %q (set the format: jsonl, csv or parquet)", filepath.Ext(name))
		}
	}
	switch format {
	case FormatJSONL, FormatCSV, FormatParquet:
		return format, gz, nil
	case "json", "ndjson":
		return FormatJSONL, gz, nil
	}
	return "", false, fmt.Errorf("unknown format %q (want jsonl, csv or parquet)", format)
}

// utf8BOM is skipped at the start of text files; spreadsheet exports add it.
const utf8BOM = "\xEF\xBB\xBF"

// skipBOM returns a buffered reader positioned after a leading UTF-8 BOM.
func skipBOM(r io.Reader) *bufio.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, err := br.Peek(3); err == nil && string(head) == utf8BOM {
		br.Discard(3)
	}
	return br
}
