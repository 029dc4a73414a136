package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// readCSV reads a CSV file whose first row names the columns. Every cell
// is a string; list fields (choices, variants) take a JSON list in one cell
// or several columns joined by commas in the field name. A preset that knows
// a header-less layout (MMLU's question,A,B,C,D,answer) reads it when the
// first row lacks the question column and has that layout's width.
func readCSV(r io.Reader, m *mapper) error {
	cr := csv.NewReader(skipBOM(r))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return m.csvError(err)
	}
	header = append([]string(nil), header...)
	var first []string // the first data row when the file has no header
	if h := m.preset.headerless; h != nil && len(header) == len(h) && !hasColumn(header, m.fields.Question) {
		first, header = header, h
	}
	seen := make(map[string]bool, len(header))
	for _, col := range header {
		if seen[col] {
			return &InputError{Path: m.path, Line: 1, Err: fmt.Errorf("duplicate column %q", col)}
		}
		seen[col] = true
	}
	if err := m.checkColumns(seen, header); err != nil {
		return err
	}
	// Original MMLU files are named <subject>_test.csv and carry no subject column.
	subject := ""
	if first != nil && m.fields.Task != "" && !seen[m.fields.Task] {
		subject = mmluSubject(filepath.Base(m.path))
	}

	toRow := func(rec []string) map[string]any {
		row := make(map[string]any, len(header)+1)
		for i, col := range header {
			row[col] = rec[i]
		}
		if subject != "" {
			row[m.fields.Task] = subject
		}
		return row
	}
	if first != nil {
		if err := m.add(toRow(first), 1); err != nil {
			return err
		}
	}
	for !m.full() {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return m.csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if err := m.add(toRow(rec), line); err != nil {
			return err
		}
	}
	return nil
}

// mmluSubject returns the subject in a file name of the original MMLU
// release (abstract_algebra_test.csv), or "".
func mmluSubject(base string) string {
	name := strings.TrimSuffix(strings.TrimSuffix(base, ".gz"), ".csv")
	for _, split := range []string{"_test", "_dev", "_val"} {
		if sub, ok := strings.CutSuffix(name, split); ok && sub != "" {
			return sub
		}
	}
	return ""
}

// csvError turns a csv.ParseError into an InputError at its line.
func (m *mapper) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{Path: m.path, Line: pe.StartLine, Err: fmt.Errorf("malformed CSV: %w", pe.Err)}
	}
	return &InputError{Path: m.path, Err: fmt.Errorf("read: %w", err)}
}

// checkColumns fails on the header line when a required column is absent:
// the question, the choices of a multiple-choice preset, and every field the
// caller named.
func (m *mapper) checkColumns(have map[string]bool, header []string) error {
	required := []string{m.fields.Question}
	if m.preset.requireChoices {
		required = append(required, m.fields.Choices)
	}
	e := m.explicit
	required = append(required, e.ID, e.Answer, e.Choices, e.Context, e.Task, e.Variants)
	for _, field := range required {
		if field == "" || hasColumn(header, field) {
			continue
		}
		return &InputError{
			Path: m.path, Line: 1, Field: field,
			Err: fmt.Errorf("missing column (columns: %s)", strings.Join(header, ", ")),
		}
	}
	return nil
}

// hasColumn reports whether one "|" alternative of field is a column, or
// a comma-separated list of columns.
func hasColumn(header []string, field string) bool {
	for alt := range strings.SplitSeq(field, "|") {
		all := true
		for col := range strings.SplitSeq(alt, ",") {
			if !slices.Contains(header, strings.TrimSpace(col)) {
				all = false
				break
			}
		}
		if all || slices.Contains(header, alt) {
			return true
		}
	}
	return false
}
