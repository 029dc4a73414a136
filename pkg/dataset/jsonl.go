package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// readJSON reads JSON Lines, one object per line, streaming lines of any
// length; blank lines are skipped. A file whose first character is "["
// is read as one JSON array of objects instead.
func readJSON(r io.Reader, m *mapper) error {
	br := skipBOM(r)
	skipped := 0 // newlines before the first non-blank byte
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &InputError{Path: m.path, Err: fmt.Errorf("read: %w", err)}
		}
		switch c {
		case '\n':
			skipped++
			continue
		case ' ', '\t', '\r':
			continue
		}
		br.UnreadByte()
		if c == '[' {
			return readJSONArray(br, m, skipped)
		}
		return readJSONLines(br, m, skipped)
	}
}

// readJSONLines reads one object per line from br; line counts the lines
// already consumed.
func readJSONLines(br *bufio.Reader, m *mapper, line int) error {
	for !m.full() {
		data, err := br.ReadBytes('\n')
		if len(data) > 0 {
			line++
			if len(bytes.TrimSpace(data)) > 0 {
				row, derr := decodeObject(data)
				if derr != nil {
					return &InputError{Path: m.path, Line: line, Err: fmt.Errorf("malformed JSON: %w", derr)}
				}
				if aerr := m.add(row, line); aerr != nil {
					return aerr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &InputError{Path: m.path, Line: line + 1, Err: fmt.Errorf("read: %w", err)}
		}
	}
	return nil
}

// readJSONArray reads a JSON array of objects (a .json export).
func readJSONArray(r io.Reader, m *mapper, skipped int) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return &InputError{Path: m.path, Err: fmt.Errorf("read: %w", err)}
	}
	data = markInvalid(data) // keeps newlines: the lines stay where they were
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// lineAt counts newlines incrementally: offsets only grow.
	lineNo, counted := 1+skipped, int64(0)
	lineAt := func(off int64) int {
		// Skip the separator and blanks before the element: its line is
		// where its first byte sits.
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		if off > counted {
			lineNo += bytes.Count(data[counted:off], []byte("\n"))
			counted = off
		}
		return lineNo
	}
	malformed := func(err error) error {
		return &InputError{Path: m.path, Line: lineAt(dec.InputOffset()), Err: fmt.Errorf("malformed JSON: %w", err)}
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	for dec.More() && !m.full() {
		line := lineAt(dec.InputOffset())
		var v any
		if err := dec.Decode(&v); err != nil {
			return malformed(err)
		}
		row, ok := v.(map[string]any)
		if !ok {
			return &InputError{Path: m.path, Line: line, Err: fmt.Errorf("malformed JSON: want an object, got %s", kind(v))}
		}
		if err := m.add(row, line); err != nil {
			return err
		}
	}
	if m.full() {
		return nil
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed(errors.New("unexpected data after the array"))
	}
	return nil
}
