package paraphrase

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseRewrites(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   []string
		err    string // a substring of the error; "" for none
	}{
		{name: "strict", answer: `{"rewrites": ["a b", "c d"]}`, want: []string{"a b", "c d"}},
		{name: "fenced", answer: "```json\n{\"rewrites\": [\"one\", \"two\"]}\n```", want: []string{"one", "two"}},
		{name: "prose around", answer: "Sure! Here are the rewrites:\n{\"rewrites\": [\"x?\"]}\nHope this helps {:", want: []string{"x?"}},
		{name: "prose with braces before", answer: "Given the set {1, 2 and [sic] text: {\"rewrites\": [\"y\"]}", want: []string{"y"}},
		{name: "bare list", answer: `["first", "second"]`, want: []string{"first", "second"}},
		{name: "bare list fenced", answer: "```\n[\"first\"]\n```", want: []string{"first"}},
		{name: "escapes", answer: `{"rewrites": ["He said \"go\" \\ then {left} [right]", "tab\tnew\nline"]}`, want: []string{`He said "go" \ then {left} [right]`, "tab\tnew\nline"}},
		{name: "unicode", answer: `{"rewrites": ["Combien font 2 + 2 ? — réponds", "\u00e9t\u00e9 日本語"]}`, want: []string{"Combien font 2 + 2 ? — réponds", "été 日本語"}},
		{name: "empty list", answer: `{"rewrites": []}`, want: []string{}},
		{name: "trailing commas", answer: "{\"rewrites\": [\"a\", \"b\",\n],\n}", want: []string{"a", "b"}},
		{name: "comma in string kept", answer: `{"rewrites": ["a, ]", "b,}"]}`, want: []string{"a, ]", "b,}"}},
		{name: "two objects", answer: `{"note": "draft"} then {"rewrites": ["kept"]}`, want: []string{"kept"}},
		{name: "two rewrites objects: last wins", answer: `For example {"rewrites": ["example"]}. Final: {"rewrites": ["real"]}`, want: []string{"real"}},
		{name: "object beats list", answer: `[1] see {"rewrites": ["r"]} and ["other"]`, want: []string{"r"}},
		{name: "extra fields", answer: `{"count": 2, "rewrites": ["a", "b"], "notes": ["n"]}`, want: []string{"a", "b"}},
		{name: "strings kept as written", answer: `{"rewrites": ["  padded  "]}`, want: []string{"  padded  "}},

		{name: "no json", answer: "I cannot help with that.", err: "no JSON object or list in the answer"},
		{name: "empty answer", answer: "", err: "no JSON object or list"},
		{name: "truncated", answer: `{"rewrites": ["one", "tw`, err: "cut off or not valid JSON"},
		{name: "truncated after list", answer: `{"rewrites": ["one", "two"], "notes": ["x"`, err: "cut off"},
		{name: "truncated bare list", answer: `["one", "tw`, err: "no complete JSON object or list"},
		{name: "non-strings", answer: `{"rewrites": [1, 2]}`, err: `"rewrites" is not a list of strings`},
		{name: "objects in list", answer: `{"rewrites": [{"text": "a"}]}`, err: `"rewrites" is not a list of strings`},
		{name: "null element", answer: `{"rewrites": ["a", null]}`, err: `"rewrites" is not a list of strings`},
		{name: "null rewrites", answer: `{"rewrites": null}`, err: `"rewrites" is not a list of strings`},
		{name: "string rewrites", answer: `{"rewrites": "a"}`, err: `"rewrites" is not a list of strings`},
		{name: "wrong key", answer: `{"paraphrases": ["a"]}`, err: `no "rewrites" field`},
		{name: "bare list of numbers", answer: `[1, 2, 3]`, err: "the JSON list is not a list of strings"},
		{name: "single quotes", answer: `{'rewrites': ['a']}`, err: "no complete JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRewrites(tt.answer)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseRewrites(%q) = %q, %v; want error containing %q", tt.answer, got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseRewrites(%q) = %#v, %v; want %#v", tt.answer, got, err, tt.want)
			}
		})
	}
}

func TestParseRewritesManyBraces(t *testing.T) {
	// Openings that never close: one scan settles them all.
	answer := strings.Repeat("{", 100_000) + `{"rewrites": ["late"]}`
	if got, err := ParseRewrites(answer); err != nil || len(got) != 1 {
		t.Errorf("ParseRewrites behind 100,000 unclosed openings = %q, %v", got, err)
	}
	// Openings that fail at once cost next to nothing: LaTeX before the answer.
	answer = strings.Repeat(`\frac{1}{2} and [0, 1) `, 5_000) + `{"rewrites": ["found"]}`
	if got, err := ParseRewrites(answer); err != nil || len(got) != 1 {
		t.Errorf("ParseRewrites after 10,000 failed openings = %q, %v", got, err)
	}
	// A few unclosed openings in prose do not hide the answer.
	answer = "Consider {x | x > 0 and the list [a, b " + `{"rewrites": ["found"]}`
	if got, err := ParseRewrites(answer); err != nil || len(got) != 1 {
		t.Errorf("ParseRewrites after unclosed openings = %q, %v", got, err)
	}
}

func TestParseVerdict(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		same   bool
		reason string
		err    string
	}{
		{name: "strict true", answer: `{"same": true, "reason": "only the wording differs"}`, same: true, reason: "only the wording differs"},
		{name: "strict false", answer: `{"same": false, "reason": " drops the unit "}`, reason: "drops the unit"},
		{name: "fenced", answer: "```json\n{\"same\": true}\n```", same: true},
		{name: "prose", answer: "Let me compare.\n{\"same\": false, \"reason\": \"adds a hint\"}\nDone.", reason: "adds a hint"},
		{name: "yes string", answer: `{"same": "Yes", "reason": "ok"}`, same: true, reason: "ok"},
		{name: "no string", answer: `{"same": "no"}`},
		{name: "true string", answer: `{"same": "TRUE"}`, same: true},
		{name: "trailing comma", answer: `{"same": true, "reason": "fine",}`, same: true, reason: "fine"},
		{name: "last wins", answer: `e.g. {"same": true} but really {"same": false, "reason": "x"}`, reason: "x"},
		{name: "reason not a string", answer: `{"same": true, "reason": 3}`, same: true},
		{name: "other object after", answer: `{"same": true} {"note": 1}`, same: true},

		{name: "no json", answer: "Yes, they are the same.", err: "no JSON object in the answer"},
		{name: "list only", answer: `[true]`, err: "no JSON object"},
		{name: "no same field", answer: `{"equal": true}`, err: `no "same" field`},
		{name: "same not boolean", answer: `{"same": "maybe"}`, err: `"same" is not true or false`},
		{name: "same number", answer: `{"same": 1}`, err: `"same" is not true or false`},
		{name: "truncated", answer: `{"same": true, "reason": "cut`, err: "no JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			same, reason, err := ParseVerdict(tt.answer)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseVerdict(%q) = %v, %q, %v; want error containing %q", tt.answer, same, reason, err, tt.err)
				}
				return
			}
			if err != nil || same != tt.same || reason != tt.reason {
				t.Fatalf("ParseVerdict(%q) = %v, %q, %v; want %v, %q", tt.answer, same, reason, err, tt.same, tt.reason)
			}
		})
	}
}

func FuzzParseRewrites(f *testing.F) {
	f.Add(`{"rewrites": ["a", "b"]}`, "a", "b")
	f.Add("```json\n{\"rewrites\": [\"x\",]}\n```", `quote " and \ slash`, "{[")
	f.Add(`["bare"] {"rewrites": [1]}`, "日本語", "\xff")
	f.Add(`{"rewrites": ["one", "tw`, "", " ")
	f.Add(strings.Repeat("{[", 50), "\u2028", "</question>")
	f.Fuzz(func(t *testing.T, answer, a, b string) {
		// Any answer: no panic, and either a list or an error, never both.
		got, err := ParseRewrites(answer)
		if err != nil && got != nil {
			t.Fatalf("ParseRewrites(%q) = %q and error %v", answer, got, err)
		}
		if err == nil && got == nil {
			t.Fatalf("ParseRewrites(%q) = nil list without an error", answer)
		}

		// Round trip: a marshalled list parses back to itself, as an
		// object, fenced amid prose, and bare.
		want := roundTrip(t, []string{a, b})
		obj, _ := json.Marshal(map[string][]string{"rewrites": {a, b}})
		bare, _ := json.Marshal([]string{a, b})
		for _, text := range []string{
			string(obj),
			"Here you go:\n```json\n" + string(obj) + "\n```\nAnything else?",
			string(bare),
		} {
			got, err := ParseRewrites(text)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("ParseRewrites(%q) = %q, %v; want %q", text, got, err, want)
			}
		}
	})
}

// roundTrip returns list as JSON gives it back: invalid UTF-8 becomes
// U+FFFD.
func roundTrip(t *testing.T, list []string) []string {
	data, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

func FuzzParseVerdict(f *testing.F) {
	f.Add(`{"same": true, "reason": "ok"}`, true, "ok")
	f.Add("```json\n{\"same\": \"no\",}\n```", false, `a "quoted" reason`)
	f.Add(`{"same": 1}`, false, "\xff")
	f.Add(`{"same": true, "reason": "cut`, true, "")
	f.Fuzz(func(t *testing.T, answer string, same bool, reason string) {
		if s, r, err := ParseVerdict(answer); err != nil && (s || r != "") {
			t.Fatalf("ParseVerdict(%q) = %v, %q and error %v", answer, s, r, err)
		}

		data, _ := json.Marshal(map[string]any{"same": same, "reason": reason})
		var want struct{ Reason string }
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{string(data), "Verdict:\n```json\n" + string(data) + "\n```"} {
			gotSame, gotReason, err := ParseVerdict(text)
			if err != nil || gotSame != same || gotReason != strings.TrimSpace(want.Reason) {
				t.Fatalf("ParseVerdict(%q) = %v, %q, %v; want %v, %q", text, gotSame, gotReason, err, same, want.Reason)
			}
		}
	})
}
