package dataset

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Text that is not UTF-8 must not reach an output: Parquet string columns
// hold UTF-8, and DuckDB refuses a file with anything else. The mapper
// decides per part of a query:
//
//   - an id that is not UTF-8 is an error naming the file, the row and the
//     field: ids key the rows of every output, and repairing two ids could
//     make them one;
//   - the question, answers, choices, context, task and variants are
//     repaired: each run of bytes that is not UTF-8 becomes one U+FFFD (as
//     strings.ToValidUTF8 does), and Report counts the fields repaired.
//
// Choice labels only match answers and become letters, so they are used as
// read. The raw row a judge reads (Query.Fields) is repaired the same way,
// keys included, without counting: it reaches no output column.

// invalidMark stands, inside a decoded JSON string, for a run of bytes
// that were not UTF-8 in the file: encoding/json would replace them with
// U+FFFD silently, and the mapper could then neither count the repair nor
// reject an id. U+FDD0 is a Unicode noncharacter, reserved for a program's
// internal use and not expected in interchanged text; one that the data
// holds anyway is treated like invalid bytes in every format.
const invalidMark = "\uFDD0"

// validText reports whether s is UTF-8 without invalidMark.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, invalidMark)
}

// repairText replaces each run of bytes in s that is not UTF-8, and each
// invalidMark, with U+FFFD.
func repairText(s string) string {
	if validText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), invalidMark, "\uFFFD")
}

// markInvalid returns JSON text with each run of bytes that are not UTF-8
// inside a string replaced by invalidMark, so that the decoded value shows
// where they were. Bytes outside strings are left for the decoder to
// reject, so data and the result are valid JSON alike. Valid UTF-8 is
// returned as is, without a copy.
func markInvalid(data []byte) []byte {
	if utf8.Valid(data) {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	inString, escaped, inRun := false, false, false
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			inRun = false
			switch {
			case escaped:
				escaped = false
			case inString && c == '\\':
				escaped = true
			case c == '"':
				inString = !inString
			}
			out = append(out, c)
			i++
			continue
		}
		escaped = false // a JSON escape is ASCII: the decoder rejects this one
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 && inString {
			if !inRun {
				out = append(out, invalidMark...)
				inRun = true
			}
			i++
			continue
		}
		inRun = false
		out = append(out, data[i:i+size]...)
		i += size
	}
	return out
}

// Report says what Load changed in the data as it read it, for the caller
// to log: the outputs show U+FFFD where the file held bytes that were not
// UTF-8.
type Report struct {
	Path         string // the file as given to Load
	Repaired     int    // fields (one part of one query: its question, its choices, ...) in which invalid UTF-8 became U+FFFD
	RepairedRows int    // queries with at least one repaired field
	FirstLine    int    // the line (row) of the first repaired field; 0 when none
	FirstField   string // the column or key of the first repaired field, as found
}

// Warning returns one line for the log, "" when nothing was repaired, e.g.
// `data.csv: replaced invalid UTF-8 with U+FFFD in 3 fields of 2 rows (first at line 7, field "question")`.
func (r Report) Warning() string {
	if r.Repaired == 0 {
		return ""
	}
	return fmt.Sprintf("%s: replaced invalid UTF-8 with U+FFFD in %s of %s (first at line %d, field %q)",
		r.Path, count(r.Repaired, "field"), count(r.RepairedRows, "row"), r.FirstLine, r.FirstField)
}

// count writes n and its noun, plural when n is not 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// repair returns s repaired, noting field as repaired in the row being
// mapped when it was not valid text.
func (m *mapper) repair(s, field string) string {
	if validText(s) {
		return s
	}
	if !slices.Contains(m.rowRepaired, field) {
		m.rowRepaired = append(m.rowRepaired, field)
	}
	return repairText(s)
}

// countRepairs adds the fields repaired in the row just mapped at line to
// the report.
func (m *mapper) countRepairs(line int) {
	if len(m.rowRepaired) == 0 {
		return
	}
	if m.report.Repaired == 0 {
		m.report.FirstLine, m.report.FirstField = line, m.rowRepaired[0]
	}
	m.report.Repaired += len(m.rowRepaired)
	m.report.RepairedRows++
}
