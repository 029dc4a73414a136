package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The simulated rewriter (Meta.Purpose rewrite) writes surface rewrites of
// Meta.Question: phrases swapped from simPhrases and a lead-in from
// simLeadIns, never touching a digit, a name, a symbol or a $...$ span. About
// one rewrite in simBadEvery is bad in a way dars's filters catch. The
// simulated verifier (Meta.Purpose verify) says no exactly when a rewrite
// lost a number of the question or gives away an answer the question does
// not show. Both are pure functions of the request: the same call gets the
// same answer. docs/simulator.md lists what they do.
const (
	simBadEvery  = 8  // one rewrite in simBadEvery is bad, on average
	simWrapEvery = 20 // one rewrite answer in simWrapEvery is fenced or has prose around its JSON
	simMaxCount  = 64 // the most rewrites one answer holds
)

// simPhrases maps a phrase, matched case-insensitively at word boundaries,
// to the phrases that may replace it. Each swap keeps the sentence
// grammatical in the common uses of the phrase and keeps its meaning.
var simPhrases = map[string][]string{
	"how many":               {"what number of"},
	"how much money":         {"what amount of money"},
	"in total":               {"altogether", "in all"},
	"in all":                 {"in total", "altogether"},
	"altogether":             {"in total", "in all"},
	"calculate":              {"compute", "work out"},
	"compute":                {"calculate", "work out"},
	"find":                   {"determine", "work out"},
	"determine":              {"find", "work out"},
	"buys":                   {"purchases"},
	"bought":                 {"purchased"},
	"purchases":              {"buys"},
	"purchased":              {"bought"},
	"wants to":               {"would like to", "plans to"},
	"needs to":               {"has to", "must"},
	"has to":                 {"needs to"},
	"what is":                {"what's"},
	"what's":                 {"what is"},
	"which of the following": {"which one of the following"},
	"which of these":         {"which one of these"},
	"is equal to":            {"equals"},
	"equals":                 {"is equal to"},
	"suppose":                {"assume"},
	"assume":                 {"suppose"},
	"children":               {"kids"},
	"kids":                   {"children"},
	"earns":                  {"makes"},
	"starts":                 {"begins"},
	"started":                {"began"},
	"begins":                 {"starts"},
	"began":                  {"started"},
	"large":                  {"big"},
	"big":                    {"large"},
	"quickly":                {"fast"},
	"each day":               {"every day", "per day"},
	"every day":              {"each day", "per day"},
	"per day":                {"each day", "a day"},
	"each week":              {"every week", "per week"},
	"every week":             {"each week", "per week"},
	"per week":               {"each week", "a week"},
	"approximately":          {"roughly", "about"},
	"at least":               {"no less than"},
	"at most":                {"no more than"},
	"in order to":            {"to"},
}

// simLeadIns frame a rewrite; none holds a digit.
var simLeadIns = [...]string{
	"Consider the following. ",
	"Here is a problem. ",
	"Read carefully. ",
	"Please answer this question. ",
	"Question: ",
	"Try this one. ",
	"Think about the following. ",
	"A question for you. ",
}

// simPhrase matches any key of simPhrases, longest first.
var simPhrase = func() *regexp.Regexp {
	keys := make([]string, 0, len(simPhrases))
	for k := range simPhrases {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return regexp.MustCompile(`(?i)\b(?:` + strings.Join(keys, "|") + `)\b`)
}()

// simNumber matches a number as the filters see one: digits with optional
// thousands commas and decimals; simAmount, one with its dollar sign.
var (
	simNumber = regexp.MustCompile(`\d[\d,]*(?:\.\d+)?`)
	simAmount = regexp.MustCompile(`\$?\d[\d,]*(?:\.\d+)?`)
)

// simRewriteAnswer is the rewriter's answer to one seed: {"rewrites": [...]}
// with min(m.Count, simMaxCount) rewrites of m.Question, none equal to the
// question or to one of m.Avoid after case and whitespace normalisation,
// except the bad ones; fewer when the phrase table runs out of distinct
// rewrites of a short question. One answer in simWrapEvery comes fenced as
// ```json or with prose around the JSON.
func simRewriteAnswer(m Meta, seed int64) string {
	q := normText(m.Question)
	want := min(max(m.Count, 0), simMaxCount)
	seen := map[string]bool{q: true}
	for _, a := range m.Avoid {
		seen[normText(a)] = true
	}
	out := make([]string, 0, want)
	spots := phraseSpots(m.Question)
	for attempt := 0; len(out) < want && attempt < 12*want+24; attempt++ {
		k := len(out)
		hb := newHash("bad").u64(uint64(seed)).str(q).u64(uint64(k)).sum()
		r := surfaceRewrite(m.Question, spots, newHash("rewrite").u64(uint64(seed)).str(q).u64(uint64(attempt)))
		if n := normText(r); n == "" || seen[n] {
			continue
		} else if hb%simBadEvery != 0 {
			seen[n] = true
			out = append(out, r)
			continue
		}
		out = append(out, badRewrite(m, r, hb>>8))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Rewrites []string `json:"rewrites"`
	}{out}) // cannot fail: strings only
	text := strings.TrimSpace(b.String())
	switch h := newHash("wrap").u64(uint64(seed)).str(q).sum(); {
	case h%simWrapEvery != 0:
		return text
	case (h>>8)&1 == 0:
		return "```json\n" + text + "\n```"
	default:
		return "Here are the rewrites you asked for:\n\n" + text + "\n\nEach keeps every number and name of the original."
	}
}

// phraseSpots returns where the phrases of simPhrases are in question, as
// [start, end) byte offsets, leaving out those inside $...$ in a text with
// LaTeX.
func phraseSpots(question string) [][]int {
	spots := simPhrase.FindAllStringIndex(question, -1)
	if strings.ContainsAny(question, `\^_{`) {
		spots = slices.DeleteFunc(spots, func(loc []int) bool { return inMath(question, loc[0]) })
	}
	return spots
}

// surfaceRewrite rewrites question by h: each phrase at spots swapped with
// probability 1/2, and a lead-in with probability 1/2, or always when no
// phrase was swapped.
func surfaceRewrite(question string, spots [][]int, h simHash) string {
	var b strings.Builder
	last, swapped := 0, false
	for i, loc := range spots {
		hi := h.u64(uint64(i)).sum()
		if hi&1 == 0 {
			continue
		}
		match := question[loc[0]:loc[1]]
		alts := simPhrases[strings.ToLower(match)]
		b.WriteString(question[last:loc[0]])
		b.WriteString(matchCase(alts[(hi>>1)%uint64(len(alts))], match))
		last, swapped = loc[1], true
	}
	b.WriteString(question[last:])
	text := b.String()
	if hl := h.str("lead-in").sum(); !swapped || hl&1 == 1 {
		text = simLeadIns[(hl>>1)%uint64(len(simLeadIns))] + text
	}
	return text
}

// inMath reports whether byte i of s, a text with LaTeX in it, is inside a
// $...$ span: an unescaped dollar sign opens or closes one (LaTeX texts
// write a price as \$5). In a text without LaTeX a dollar sign is a price
// and the caller does not ask.
func inMath(s string, i int) bool {
	open := false
	for j := 0; j < i; j++ {
		if s[j] == '$' && (j == 0 || s[j-1] != '\\') {
			open = !open
		}
	}
	return open
}

// matchCase gives replacement the case of the first letter of match.
func matchCase(replacement, match string) string {
	r, _ := utf8.DecodeRuneInString(match)
	if !unicode.IsUpper(r) {
		return replacement
	}
	first, size := utf8.DecodeRuneInString(replacement)
	return string(unicode.ToUpper(first)) + replacement[size:]
}

// badRewrite spoils the good rewrite r in one of the ways dars's filters
// catch, picked by h among those that apply to m: the question repeated
// verbatim (a duplicate of the original); for math, every occurrence of one
// of the question's numbers dropped (a lost quantity); outside multiple
// choice, the gold answer appended when the question does not show it (a
// leaked answer).
func badRewrite(m Meta, r string, h uint64) string {
	kinds := []func() string{func() string { return m.Question }}
	if nums := numbersIn(m.Question); m.Kind == "math" && len(nums) > 0 {
		kinds = append(kinds, func() string {
			drop := nums[(h>>4)%uint64(len(nums))]
			return simAmount.ReplaceAllStringFunc(r, func(n string) string {
				if slices.Equal(numbersIn(n), []string{drop}) {
					return "some"
				}
				return n
			})
		})
	}
	if gold := strings.TrimSpace(m.Gold); gold != "" && m.Kind != "choice" && !showsAnswer(m.Question, gold) {
		kinds = append(kinds, func() string { return r + " (answer: " + gold + ")" })
	}
	return kinds[h%uint64(len(kinds))]()
}

// simVerifyAnswer is the verifier's answer: {"same": false, ...} when
// m.Rewrite is empty, lost a number of m.Question, or shows the gold answer
// where the question does not; else {"same": true, ...}.
func simVerifyAnswer(m Meta) string {
	same, reason := true, "it asks the same question with the same answer"
	have := numbersIn(m.Rewrite)
	gold := strings.TrimSpace(m.Gold)
	switch {
	case normText(m.Rewrite) == "":
		same, reason = false, "the rewrite is empty"
	default:
		for _, n := range numbersIn(m.Question) {
			if !slices.Contains(have, n) {
				same, reason = false, fmt.Sprintf("the rewrite drops the number %s", n)
				break
			}
		}
		if same && gold != "" && showsAnswer(m.Rewrite, gold) && !showsAnswer(m.Question, gold) {
			same, reason = false, "the rewrite gives away the answer"
		}
	}
	b, _ := json.Marshal(struct {
		Same   bool   `json:"same"`
		Reason string `json:"reason"`
	}{same, reason}) // cannot fail: a bool and a string
	return string(b)
}

// numbersIn returns the distinct numbers of s, thousands commas removed, in
// order of appearance.
func numbersIn(s string) []string {
	var out []string
	for _, n := range simNumber.FindAllString(s, -1) {
		n = strings.TrimRight(strings.ReplaceAll(n, ",", ""), ".")
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// showsAnswer reports whether text shows gold: as one of its numbers for a
// numeric gold, else as a case-insensitive match at word boundaries.
func showsAnswer(text, gold string) bool {
	if _, _, ok := numberShape(gold); ok {
		return slices.Contains(numbersIn(text), strings.TrimLeft(strings.ReplaceAll(gold, ",", ""), "+-"))
	}
	t, g := strings.ToLower(text), strings.ToLower(gold)
	for i := 0; ; {
		j := strings.Index(t[i:], g)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(g)
		before, _ := utf8.DecodeLastRuneInString(t[:start])
		after, _ := utf8.DecodeRuneInString(t[end:])
		if !isWordRune(before) && !isWordRune(after) {
			return true
		}
		i = start + 1
	}
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
