package paraphrase

import (
	"math"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reasons a rewrite is rejected: short snake_case strings, stored as they
// are in the reason column of variants.parquet and rewrites.parquet.
const (
	ReasonEmpty          = "empty"           // nothing but white space
	ReasonDuplicate      = "duplicate"       // the same as the original, a kept rewrite or an earlier candidate
	ReasonAnswerLeak     = "answer_leak"     // states the gold answer, which the original does not
	ReasonNumberMissing  = "number_missing"  // drops a number the original writes in digits
	ReasonChoicesChanged = "choices_changed" // writes the options into the stem
	ReasonPassageChanged = "passage_changed" // quotes a long span of the passage
	ReasonTooShort       = "too_short"       // shorter than MinLengthRatio of the original
	ReasonTooLong        = "too_long"        // longer than MaxLengthRatio of the original
)

// Reasons returns every rejection reason, in the order Filter checks them.
func Reasons() []string {
	return []string{ReasonEmpty, ReasonDuplicate, ReasonAnswerLeak, ReasonNumberMissing,
		ReasonChoicesChanged, ReasonPassageChanged, ReasonTooShort, ReasonTooLong}
}

// Default length bounds, as a ratio of a rewrite's runes to the original's.
const (
	DefaultMinLengthRatio = 0.5
	DefaultMaxLengthRatio = 2.0
)

// PassageSpanWords is the length, in words, of the shortest span of a
// reading item's passage that a rewrite may not quote unless the original
// question quotes it too. A question seldom needs a dozen words of the
// passage in a row; a rewrite that has them is restating the passage.
const PassageSpanWords = 12

// FilterOptions tunes Filter. A ratio that is zero, negative or NaN takes
// its default.
type FilterOptions struct {
	MinLengthRatio float64 // a rewrite shorter than this times the original (in runes) is too_short; default 0.5
	MaxLengthRatio float64 // a rewrite longer than this times the original (in runes) is too_long; default 2.0
}

// Decision is Filter's verdict on one candidate rewrite.
type Decision struct {
	Text   string // the candidate, trimmed of surrounding white space
	Kept   bool
	Reason string // "" when kept; else one of the Reason constants
}

// Filter decides each candidate rewrite of q in order, keeping it or
// rejecting it with one reason. kept are the rewrites of q already kept:
// a candidate equal to one of them, to the original or to an earlier
// candidate of this batch is a duplicate. When several reasons apply, the
// first in the order of Reasons is given. The checks are described in
// docs/paraphrase.md; each is conservative, rejecting when in doubt, because a false
// reject costs a call to the rewriter and a false keep corrupts the labels
// of q.
func Filter(q Query, kept []string, candidates []string, opts FilterOptions) []Decision {
	f := newFilter(q, kept, opts)
	decisions := make([]Decision, 0, len(candidates))
	for _, c := range candidates {
		text := strings.TrimSpace(c)
		reason := f.reason(text)
		if text != "" {
			f.seen[dupKey(text)] = true
		}
		decisions = append(decisions, Decision{Text: text, Kept: reason == "", Reason: reason})
	}
	return decisions
}

// filter holds what Filter works out once per query.
type filter struct {
	q          Query
	original   textView
	length     int             // runes of the original
	minRatio   float64         // bounds of a rewrite's length over the original's
	maxRatio   float64         //
	seen       map[string]bool // dupKey of the original, the kept rewrites and earlier candidates
	leaks      []phrase        // forms of the gold answer: any of them in a rewrite, and not in the original, leaks it
	letter     string          // the gold option's letter, when the gold is a letter or an option's text
	options    []phrase        // the options that are not a lone letter
	passage    map[string]bool // every PassageSpanWords-word span of the passage
	quotedSpan map[string]bool // the same spans of the original question
}

func newFilter(q Query, kept []string, opts FilterOptions) *filter {
	f := &filter{
		q:        q,
		original: newTextView(q.Question),
		length:   utf8.RuneCountInString(strings.TrimSpace(q.Question)),
		minRatio: ratioOr(opts.MinLengthRatio, DefaultMinLengthRatio),
		maxRatio: ratioOr(opts.MaxLengthRatio, DefaultMaxLengthRatio),
		seen:     map[string]bool{dupKey(q.Question): true},
	}
	for _, k := range kept {
		f.seen[dupKey(k)] = true
	}
	f.letter, f.leaks = goldForms(q)
	for _, c := range q.Choices {
		if p, ok := newPhrase(c); ok && !isLoneLetter(p.text) {
			f.options = append(f.options, p)
		}
	}
	if strings.TrimSpace(q.Context) != "" {
		f.passage = spans(q.Context, PassageSpanWords)
		f.quotedSpan = spans(q.Question, PassageSpanWords)
	}
	return f
}

func ratioOr(r, def float64) float64 {
	if r <= 0 || math.IsNaN(r) {
		return def
	}
	return r
}

// reason returns why text is rejected, or "" to keep it.
func (f *filter) reason(text string) string {
	if text == "" {
		return ReasonEmpty
	}
	if f.seen[dupKey(text)] {
		return ReasonDuplicate
	}
	rewrite := newTextView(text)
	switch {
	case f.leaksAnswer(rewrite):
		return ReasonAnswerLeak
	case f.dropsNumber(rewrite):
		return ReasonNumberMissing
	case f.writesOptions(rewrite):
		return ReasonChoicesChanged
	case f.quotesPassage(text):
		return ReasonPassageChanged
	}
	if f.length == 0 {
		return ""
	}
	ratio := float64(utf8.RuneCountInString(text)) / float64(f.length)
	switch {
	case ratio < f.minRatio:
		return ReasonTooShort
	case ratio > f.maxRatio:
		return ReasonTooLong
	}
	return ""
}

// dupKey is the form in which two texts that differ only in case, white
// space or trailing punctuation are equal.
func dupKey(s string) string {
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	return strings.TrimRightFunc(s, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}

// leaksAnswer reports whether the rewrite states the gold answer, in a
// form the original does not have.
func (f *filter) leaksAnswer(rewrite textView) bool {
	for _, p := range f.leaks {
		if p.statedIn(rewrite) && !p.presentIn(f.original) {
			return true
		}
	}
	if f.letter == "" {
		return false
	}
	return namesLetter(rewrite.raw, f.letter) && !namesLetter(f.original.raw, f.letter)
}

// dropsNumber reports whether a number the original writes in digits is
// missing from the rewrite, in digits or in words.
func (f *filter) dropsNumber(rewrite textView) bool {
	for v := range f.original.digits {
		if !rewrite.digits[v] && !rewrite.words[v] {
			return true
		}
	}
	return false
}

// writesOptions reports whether the rewrite writes the options into the
// stem: the text of two or more options, or the markers of two or more
// option letters ("A." or "(B)"), that the original does not have.
func (f *filter) writesOptions(rewrite textView) bool {
	if len(f.q.Choices) == 0 {
		return false
	}
	texts := 0
	for _, p := range f.options {
		if p.statedIn(rewrite) && !p.presentIn(f.original) {
			texts++
		}
	}
	if texts >= 2 {
		return true
	}
	marked, before := optionMarkers(rewrite.raw), optionMarkers(f.original.raw)
	letters := 0
	for i := range f.q.Choices {
		if l := ChoiceLetter(i); marked[l] && !before[l] {
			letters++
		}
	}
	return letters >= 2
}

// quotesPassage reports whether the rewrite quotes PassageSpanWords words
// of the passage in a row that the original question does not.
func (f *filter) quotesPassage(text string) bool {
	if f.passage == nil {
		return false
	}
	for s := range spans(text, PassageSpanWords) {
		if f.passage[s] && !f.quotedSpan[s] {
			return true
		}
	}
	return false
}

// spans returns every run of n words of s, lower-cased, punctuation
// dropped.
func spans(s string, n int) map[string]bool {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	out := map[string]bool{}
	for i := 0; i+n <= len(words); i++ {
		out[strings.Join(words[i:i+n], " ")] = true
	}
	return out
}

// optionMarker is an option's letter as a list marks it: "A." "B)".
var optionMarker = regexp.MustCompile(`([A-Z]{1,2})[.)]`)

// optionMarkers returns the letters that s marks as options: "A." or
// "A)" at the start or after a space, or "(A)", followed by a space or the
// end.
func optionMarkers(s string) map[string]bool {
	letters := map[string]bool{}
	for _, m := range optionMarker.FindAllStringSubmatchIndex(s, -1) {
		start, end := m[0], m[1]
		if start > 0 && !strings.ContainsRune(" \t\r\n(", rune(s[start-1])) {
			continue
		}
		if end < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[end])) {
			continue
		}
		letters[s[m[2]:m[3]]] = true
	}
	return letters
}

// namedLetter is an option letter named as the answer: "(B)", "answer is
// B", "answer: B", "option B", "choice (B)". The letter must be a
// capital: "the answer is a number" names no option.
var namedLetter = regexp.MustCompile(`\(([A-Z])\)|(?i:answer|option|choice)\s*(?:(?i:is|was|would be|=|:)\s*)?\(?([A-Z])\b`)

// namesLetter reports whether s names the option letter as an answer.
func namesLetter(s, letter string) bool {
	for _, m := range namedLetter.FindAllStringSubmatch(s, -1) {
		if m[1] == letter || m[2] == letter {
			return true
		}
	}
	return false
}
