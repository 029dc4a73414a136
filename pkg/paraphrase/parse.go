package paraphrase

import (
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
)

// rewritesKey finds the "rewrites" key of an object, complete or not.
var rewritesKey = regexp.MustCompile(`"rewrites"\s*:`)

// ParseRewrites returns the rewrites in a rewriter's answer. It reads the
// JSON object {"rewrites": [...]} whether it stands alone, sits in a
// code fence or amid prose; with several such objects, the last valid one
// wins, and objects without "rewrites" are passed over. An answer with no
// such object may be a bare JSON list of strings (again the last one
// wins). Trailing commas before a closing bracket or brace are tolerated,
// as models write them; nothing else that is not JSON is. The strings are
// returned as written (Filter trims them); an empty list is returned
// empty, without an error, and the caller asks again.
//
// The error is a short reason, for the rewrite's record: no JSON object or
// list at all, a "rewrites" that is not a list of strings, an object cut
// off (a truncated answer), or a list of something else than strings.
func ParseRewrites(answer string) ([]string, error) {
	var found rewritesFound
	for _, raw := range jsonValues(answer) {
		found.add(raw)
	}
	return found.result(answer)
}

// rewritesFound is what ParseRewrites found in an answer's JSON values.
type rewritesFound struct {
	fromObject, fromList []string
	haveObject, haveList bool // fromObject, fromList are set
	badRewrites          bool // an object has "rewrites" that is not a list of strings
	badList              bool // a bare list is not a list of strings
	sawObject, sawValue  bool
}

func (f *rewritesFound) add(raw json.RawMessage) {
	f.sawValue = true
	if raw[0] == '[' {
		if list, ok := stringList(raw); ok {
			f.fromList, f.haveList = list, true
		} else {
			f.badList = true
		}
		return
	}
	f.sawObject = true
	field, ok := objectField(raw, "rewrites")
	if !ok {
		return
	}
	if list, ok := stringList(field); ok {
		f.fromObject, f.haveObject = list, true
	} else {
		f.badRewrites = true
	}
}

// result picks the rewrites, or says why there are none, in the order of
// preference ParseRewrites documents.
func (f *rewritesFound) result(answer string) ([]string, error) {
	switch {
	case f.haveObject:
		return f.fromObject, nil
	case f.badRewrites:
		return nil, errors.New(`"rewrites" is not a list of strings`)
	case rewritesKey.MatchString(answer):
		return nil, errors.New(`the object with "rewrites" is cut off or not valid JSON`)
	case f.haveList:
		return f.fromList, nil
	case f.badList:
		return nil, errors.New("the JSON list is not a list of strings")
	case f.sawObject:
		return nil, errors.New(`no "rewrites" field in the JSON object`)
	case !f.sawValue && strings.ContainsAny(answer, "{["):
		return nil, errors.New("no complete JSON object or list in the answer")
	default:
		return nil, errors.New("no JSON object or list in the answer")
	}
}

// ParseVerdict returns a verifier's verdict: the last JSON object in
// answer whose "same" field reads, alone, in a code fence or amid prose
// (trailing commas tolerated, as in ParseRewrites). "same" is a JSON
// boolean, or one of the strings "true", "false", "yes" and "no" (any
// case), which models write too; a bare yes or no outside JSON is not
// read, because prose says yes and no for other reasons. reason is the
// "reason" field trimmed, or "" when it is missing or not a string.
func ParseVerdict(answer string) (same bool, reason string, err error) {
	var found, sawObject, badSame bool
	for _, raw := range jsonValues(answer) {
		if raw[0] != '{' {
			continue
		}
		sawObject = true
		field, ok := objectField(raw, "same")
		if !ok {
			continue
		}
		s, ok := sameValue(field)
		if !ok {
			badSame = true
			continue
		}
		found = true
		same, reason = s, stringField(raw, "reason")
	}
	switch {
	case found:
		return same, reason, nil
	case badSame:
		return false, "", errors.New(`"same" is not true or false`)
	case sawObject:
		return false, "", errors.New(`no "same" field in the JSON object`)
	default:
		return false, "", errors.New("no JSON object in the answer")
	}
}

// sameValue reads a verdict's "same" field.
func sameValue(raw json.RawMessage) (bool, bool) {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false, false
	}
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes":
			return true, true
		case "false", "no":
			return false, true
		}
	}
	return false, false
}

// objectField returns the field key of the JSON object raw.
func objectField(raw json.RawMessage, key string) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, false
	}
	field, ok := obj[key]
	return field, ok
}

// stringField returns the string field key of the JSON object raw,
// trimmed, or "" when it is missing or not a string.
func stringField(raw json.RawMessage, key string) string {
	field, ok := objectField(raw, key)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(field, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// stringList returns raw as a list of strings when it is one: a JSON
// array whose every element is a string (null is not).
func stringList(raw json.RawMessage) ([]string, bool) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	list := make([]string, 0, len(items))
	for _, item := range items {
		var s string
		if len(item) == 0 || item[0] != '"' || json.Unmarshal(item, &s) != nil {
			return nil, false
		}
		list = append(list, s)
	}
	return list, true
}

// jsonValues returns the JSON objects and lists in s that are not inside
// another one, in order, with trailing commas removed. A brace or bracket
// that begins no valid value is passed over. The bytes scanned in all are
// bounded by a small multiple of len(s), so that text with many openings
// that never close, such as intervals in a math answer, costs about one
// pass rather than a pass per opening (see spanFinder).
func jsonValues(s string) []json.RawMessage {
	var values []json.RawMessage
	f := spanFinder{s: s, budget: scanBudget * (len(s) + 1024)}
	for i := 0; i < len(s) && f.budget > 0; {
		j := strings.IndexAny(s[i:], "{[")
		if j < 0 {
			break
		}
		start := i + j
		if end, ok := f.span(start); ok {
			if raw, valid := validJSON(s[start:end]); valid {
				values = append(values, raw)
				i = end
				continue
			}
		}
		i = start + 1
	}
	return values
}

// spanFinder finds where the object or list opening at an offset of s
// closes, remembering what its last scan learnt: a scan from an opening
// that is not inside a string sees every later opening outside a string
// just as a scan from that opening would, so one scan settles all of them.
type spanFinder struct {
	s      string
	budget int   // bytes left to scan
	from   int   // the last scan's start
	to     int   // the offset where the last scan stopped
	opens  []int // the openings outside strings in [from, to), in order
	ends   []int // for each of opens, the offset past its close, or -1
}

// span returns the offset just past the close of the object or list that
// opens at s[start]; ok is false when it is never closed, or closed by the
// wrong kind of bracket.
func (f *spanFinder) span(start int) (end int, ok bool) {
	if start > f.from && start < f.to {
		if k, known := slices.BinarySearch(f.opens, start); known {
			return f.ends[k], f.ends[k] >= 0
		}
	}
	f.scan(start)
	return f.ends[0], f.ends[0] >= 0
}

// scan matches brackets from s[start], outside strings, until the opening
// at start closes, a bracket is closed by the wrong kind, or the budget
// or s ends; it records the close of every opening it passes.
func (f *spanFinder) scan(start int) {
	limit := min(len(f.s), start+f.budget)
	f.from, f.opens, f.ends = start, f.opens[:0], f.ends[:0]
	var (
		stack    []int // indexes in opens of the open brackets
		inString bool
		escaped  bool
	)
	defer func() { f.budget -= f.to - start }()
	for i := start; i < limit; i++ {
		c := f.s[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			stack = append(stack, len(f.opens))
			f.opens, f.ends = append(f.opens, i), append(f.ends, -1)
		case '}', ']':
			if len(stack) == 0 || closer(f.s[f.opens[stack[len(stack)-1]]]) != c {
				f.to = i + 1
				return
			}
			f.ends[stack[len(stack)-1]] = i + 1
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				f.to = i + 1
				return
			}
		}
	}
	f.to = limit
}

// closer returns the bracket that closes open.
func closer(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// scanBudget is how many times over an answer jsonValues may scan it.
const scanBudget = 16

// validJSON returns text as JSON when it is valid, as it is or with its
// trailing commas removed.
func validJSON(text string) (json.RawMessage, bool) {
	if json.Valid([]byte(text)) {
		return json.RawMessage(text), true
	}
	if !strings.Contains(text, ",") {
		return nil, false
	}
	repaired := dropTrailingCommas(text)
	return repaired, json.Valid(repaired)
}

// dropTrailingCommas returns text without the commas, outside strings,
// that white space aside directly precede a closing brace or bracket.
func dropTrailingCommas(text string) []byte {
	out := make([]byte, 0, len(text))
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ',' && closesNext(text[i+1:]):
			continue
		}
		out = append(out, c)
	}
	return out
}

// closesNext reports whether rest, white space aside, opens with a
// closing brace or bracket.
func closesNext(rest string) bool {
	rest = strings.TrimLeft(rest, " \t\r\n")
	return rest != "" && (rest[0] == '}' || rest[0] == ']')
}
