package dataset

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/problem"
)

// mapper turns raw rows (decoded JSON objects, CSV records, Parquet rows)
// into queries, checking them as it goes. Every reader feeds it.
type mapper struct {
	path     string
	preset   preset
	fields   Fields // the preset's mapping with the caller's overrides
	explicit Fields // the caller's overrides: these must be present in every row
	limit    int
	dropRaw  bool           // leave Query.Fields nil
	rows     int            // rows mapped so far, for row-number ids
	seen     map[string]int // id -> line of its first row
	queries  []Query

	rowRepaired []string // fields of the row being mapped whose text was repaired
	report      Report
}

func newMapper(path string, opts Options) (*mapper, error) {
	p, err := presetByName(opts.Preset)
	if err != nil {
		return nil, err
	}
	f := p.fields
	o := opts.Fields
	for _, pair := range []struct {
		dst *string
		src string
	}{
		{&f.ID, o.ID}, {&f.Question, o.Question}, {&f.Answer, o.Answer},
		{&f.Choices, o.Choices}, {&f.Context, o.Context}, {&f.Task, o.Task},
		{&f.Variants, o.Variants},
	} {
		if pair.src != "" {
			*pair.dst = pair.src
		}
	}
	if f.Question == "" {
		return nil, errors.New("no question field: set fields.question")
	}
	return &mapper{
		path: path, preset: p, fields: f, explicit: o, limit: opts.Limit, dropRaw: opts.DropRaw,
		seen: make(map[string]int), report: Report{Path: path},
	}, nil
}

// full reports whether the limit has been reached: readers stop then.
func (m *mapper) full() bool { return m.limit > 0 && len(m.queries) >= m.limit }

// fail builds the error for field at line.
func (m *mapper) fail(line int, field string, format string, args ...any) error {
	return &InputError{Path: m.path, Line: line, Field: field, Err: fmt.Errorf(format, args...)}
}

// add maps one row read at line and appends the query.
func (m *mapper) add(row map[string]any, line int) error {
	q, err := m.query(row, line)
	if err != nil {
		return err
	}
	if first, dup := m.seen[q.ID]; dup {
		return m.fail(line, "", "duplicate id %q (first at line %d)", q.ID, first)
	}
	m.seen[q.ID] = line
	m.queries = append(m.queries, q)
	m.countRepairs(line)
	return nil
}

// query maps one row; rows counts it for row-number ids.
func (m *mapper) query(row map[string]any, line int) (Query, error) {
	m.rows++
	m.rowRepaired = m.rowRepaired[:0]
	q := Query{Line: line}
	f := m.fields

	name, v, ok := lookup(row, f.Question)
	if !ok || v == nil {
		return q, m.fail(line, name, "missing")
	}
	s, err := scalar(v)
	if err != nil {
		return q, m.fail(line, name, "%w", err)
	}
	s = m.repair(s, name)
	if strings.TrimSpace(s) == "" {
		return q, m.fail(line, name, "empty")
	}
	q.Question = s

	if name, q.ID, err = m.text(row, line, f.ID, m.explicit.ID != ""); err != nil {
		return q, err
	}
	if q.ID == "" {
		if name, v, ok := lookup(row, f.ID); ok && v != nil {
			return q, m.fail(line, name, "empty")
		}
		q.ID = strconv.Itoa(m.rows)
	}
	if !validText(q.ID) {
		return q, problem.Input(m.fail(line, name, "not valid UTF-8 (%q); ids are text in every output",
			strings.ReplaceAll(q.ID, invalidMark, "\uFFFD")), invalidIDHint)
	}
	if q.Context, err = m.context(row, line); err != nil {
		return q, err
	}
	if name, q.Task, err = m.text(row, line, f.Task, m.explicit.Task != ""); err != nil {
		return q, err
	}
	q.Task = m.repair(q.Task, name)

	labels, err := m.choices(row, line, &q)
	if err != nil {
		return q, err
	}
	if err := m.answers(row, line, &q, labels); err != nil {
		return q, err
	}
	if err := m.variants(row, line, &q); err != nil {
		return q, err
	}
	if !m.dropRaw {
		q.Fields = plainRow(row)
	}
	return q, nil
}

// invalidIDHint is the fix of an id that is not UTF-8 text.
const invalidIDHint = "convert the id column to text (hex, say), or set dataset.fields.id to a text column"

// text returns the scalar at field as read (not repaired) and the name it
// was found under; "" when the row lacks it (an error when required).
func (m *mapper) text(row map[string]any, line int, field string, required bool) (name, s string, err error) {
	if field == "" {
		return "", "", nil
	}
	name, v, ok := lookup(row, field)
	if !ok {
		if required {
			return name, "", m.fail(line, name, "missing")
		}
		return name, "", nil
	}
	if v == nil {
		return name, "", nil
	}
	if s, err = scalar(v); err != nil {
		return name, "", m.fail(line, name, "%w", err)
	}
	return name, s, nil
}

// context returns the context field, repaired: a scalar, or under a preset
// with contextLines also a list of strings joined one per line.
func (m *mapper) context(row map[string]any, line int) (string, error) {
	field := m.fields.Context
	required := m.explicit.Context != ""
	if m.preset.contextLines {
		if name, v, ok := lookup(row, field); ok {
			if items, isList := v.([]any); isList {
				lines := make([]string, len(items))
				for i, it := range items {
					s, err := scalar(it)
					if err != nil {
						return "", m.fail(line, name, "item %d: %w", i+1, err)
					}
					lines[i] = s
				}
				return m.repair(strings.Join(lines, "\n"), name), nil
			}
		}
	}
	name, s, err := m.text(row, line, field, required)
	return m.repair(s, name), err
}

// choices fills q.Choices in letter order and returns the label of each
// choice when every choice carries one.
func (m *mapper) choices(row map[string]any, line int, q *Query) ([]string, error) {
	field := m.fields.Choices
	if field == "" {
		return nil, nil
	}
	name, v, ok := lookupList(row, field)
	if !ok && m.explicit.Choices != "" || v == nil && m.preset.requireChoices {
		return nil, m.fail(line, name, "missing")
	}
	if v == nil {
		return nil, nil
	}
	items, err := list(v)
	if err != nil {
		return nil, m.fail(line, name, "%w", err)
	}
	if len(items) > maxChoices {
		return nil, m.fail(line, name, "%d choices, at most %d", len(items), maxChoices)
	}
	type choice struct{ text, label string }
	cs := make([]choice, len(items))
	labelled := len(items) > 0
	for i, it := range items {
		if obj, isObj := it.(map[string]any); isObj {
			t, ok := obj["text"]
			if !ok || t == nil {
				return nil, m.fail(line, name, "choice %d: no \"text\"", i+1)
			}
			if cs[i].text, err = scalar(t); err != nil {
				return nil, m.fail(line, name, "choice %d: text: %w", i+1, err)
			}
			if l, ok := obj["label"]; ok && l != nil {
				if cs[i].label, err = scalar(l); err != nil {
					return nil, m.fail(line, name, "choice %d: label: %w", i+1, err)
				}
			}
		} else if cs[i].text, err = scalar(it); err != nil {
			return nil, m.fail(line, name, "choice %d: %w", i+1, err)
		}
		if cs[i].label == "" {
			labelled = false
		}
	}
	var labels []string
	if labelled {
		slices.SortStableFunc(cs, func(a, b choice) int { return compareLabels(a.label, b.label) })
		labels = make([]string, len(cs))
		for i, c := range cs {
			if i > 0 && c.label == cs[i-1].label {
				return nil, m.fail(line, name, "duplicate choice label %q", c.label)
			}
			labels[i] = c.label
		}
	}
	if len(cs) > 0 {
		q.Choices = make([]string, len(cs))
		for i, c := range cs {
			q.Choices[i] = m.repair(c.text, name)
		}
	}
	if m.preset.requireChoices && len(q.Choices) == 0 {
		return nil, m.fail(line, name, "empty")
	}
	return labels, nil
}

// compareLabels orders choice labels numerically when both are integers,
// else as strings: "2" < "10", "A" < "B".
func compareLabels(a, b string) int {
	x, errX := strconv.Atoi(a)
	y, errY := strconv.Atoi(b)
	if errX == nil && errY == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

// answers fills q.Answer and q.Answers, normalised by the preset's rule.
func (m *mapper) answers(row map[string]any, line int, q *Query, labels []string) error {
	field := m.fields.Answer
	if field == "" {
		return nil
	}
	name, v, ok := lookup(row, field)
	if !ok && m.explicit.Answer != "" {
		return m.fail(line, name, "missing")
	}
	if v == nil {
		return nil
	}
	var raw []string
	if items, isList := v.([]any); isList {
		for i, it := range items {
			s, err := scalar(it)
			if err != nil {
				return m.fail(line, name, "answer %d: %w", i+1, err)
			}
			raw = append(raw, s)
		}
	} else {
		s, err := scalar(v)
		if err != nil {
			return m.fail(line, name, "want a string or number, got %s", kind(v))
		}
		if strings.TrimSpace(s) == "" {
			return nil // an empty cell: no gold answer
		}
		raw = []string{s}
	}
	var err error
	for i, s := range raw {
		switch m.preset.answer {
		case answerAfterHashes:
			s = normaliseGSM8K(s)
		case answerChoiceIndex:
			if j := slices.Index(labels, s); j >= 0 {
				s = letter(j) // labelled choices: the label wins over an index
			} else if s, err = normaliseChoiceIndex(s, len(q.Choices)); err != nil {
				return m.fail(line, name, "%w", err)
			}
		case answerChoiceLabel:
			j := slices.Index(labels, strings.TrimSpace(s))
			if j < 0 {
				if labels == nil {
					return m.fail(line, name, "choices carry no labels to match %q", s)
				}
				return m.fail(line, name, "%q is not a choice label (labels: %s)", s, strings.Join(labels, ", "))
			}
			s = letter(j)
		default:
			if j := slices.Index(labels, s); j >= 0 {
				s = letter(j)
			}
		}
		raw[i] = m.repair(s, name)
	}
	if len(raw) > 0 {
		q.Answer = raw[0]
		q.Answers = raw
	}
	return nil
}

// variants fills q.Variants, rejecting empty rewrites and copies of the
// question: either would silently weigh the original twice.
func (m *mapper) variants(row map[string]any, line int, q *Query) error {
	field := m.fields.Variants
	if field == "" {
		return nil
	}
	name, v, ok := lookupList(row, field)
	if !ok && m.explicit.Variants != "" {
		return m.fail(line, name, "missing")
	}
	if v == nil {
		return nil
	}
	items, err := list(v)
	if err != nil {
		return m.fail(line, name, "%w", err)
	}
	question := strings.TrimSpace(q.Question)
	for i, it := range items {
		s, err := scalar(it)
		if err != nil {
			return m.fail(line, name, "variant %d: %w", i+1, err)
		}
		s = m.repair(s, name)
		switch strings.TrimSpace(s) {
		case "":
			return m.fail(line, name, "variant %d is empty", i+1)
		case question:
			return m.fail(line, name, "variant %d is a copy of the question", i+1)
		}
		q.Variants = append(q.Variants, s)
	}
	return nil
}

// lookup finds field in row: the first "|" alternative present wins; each
// is an exact key or a dotted path into nested objects. ok reports whether
// the key exists; its value may still be nil (JSON null, Parquet null), which
// callers treat as absent but not as a misnamed field. name is the
// alternative found, or the whole field when none is.
func lookup(row map[string]any, field string) (name string, v any, ok bool) {
	if field == "" {
		return "", nil, false
	}
	for alt := range strings.SplitSeq(field, "|") {
		if v, ok := lookupPath(row, alt); ok {
			return alt, v, true
		}
	}
	return field, nil, false
}

// lookupList is lookup that also gathers comma-separated columns into a list.
func lookupList(row map[string]any, field string) (name string, v any, ok bool) {
	for alt := range strings.SplitSeq(field, "|") {
		if v, ok := lookupPath(row, alt); ok {
			return alt, v, true
		}
		if !strings.Contains(alt, ",") {
			continue
		}
		var items []any
		for col := range strings.SplitSeq(alt, ",") {
			v, ok := lookupPath(row, strings.TrimSpace(col))
			if !ok {
				items = nil
				break
			}
			items = append(items, v)
		}
		if items != nil {
			return alt, items, true
		}
	}
	return field, nil, false
}

func lookupPath(row map[string]any, path string) (any, bool) {
	if v, ok := row[path]; ok {
		return v, true
	}
	var cur any = row
	for part := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// scalar renders a string, number or boolean as text.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("want a string or number, got %s", kind(v))
}

// list returns v as a list. A string holding a JSON array (a CSV cell) is
// decoded; an empty string is an empty list.
func list(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case string:
		t := strings.TrimSpace(x)
		if t == "" {
			return nil, nil // an empty CSV cell: no items
		}
		if strings.HasPrefix(t, "[") {
			var items []any
			dec := json.NewDecoder(bytes.NewReader(markInvalid([]byte(t))))
			dec.UseNumber()
			if err := dec.Decode(&items); err != nil {
				return nil, fmt.Errorf("want a list, got a string that is not a JSON list: %w", err)
			}
			return items, nil
		}
	}
	return nil, fmt.Errorf("want a list, got %s", kind(v))
}

// kind names the JSON type of v for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case json.Number, int64, uint64, float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// plainRow returns row with JSON numbers turned into int64 or float64, so
// Query.Fields holds the same Go types whatever the input format, and with
// every key and string repaired to valid UTF-8.
func plainRow(row map[string]any) map[string]any {
	var invalidKeys []string
	for k, v := range row {
		row[k] = plainValue(v)
		if !validText(k) {
			invalidKeys = append(invalidKeys, k)
		}
	}
	for _, k := range invalidKeys {
		v := row[k]
		delete(row, k)
		row[repairText(k)] = v
	}
	return row
}

func plainValue(v any) any {
	switch x := v.(type) {
	case string:
		return repairText(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return x.String()
	case []any:
		for i := range x {
			x[i] = plainValue(x[i])
		}
	case map[string]any:
		return plainRow(x)
	}
	return v
}

// decodeObject decodes one JSON object, numbers kept as json.Number so an
// answer like "1.50" or a large id keeps its exact text, and bytes that are
// not UTF-8 inside strings kept as invalidMark for the mapper to judge.
func decodeObject(data []byte) (map[string]any, error) {
	data = markInvalid(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return nil, errors.New("unexpected data after the object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object, got %s", kind(v))
	}
	return obj, nil
}
