package judge

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// golds returns the item's acceptable answers: Answers, else Answer alone.
// Empty strings are dropped.
func golds(item Item) []string {
	var out []string
	for _, a := range item.Answers {
		if strings.TrimSpace(a) != "" {
			out = append(out, a)
		}
	}
	if len(out) == 0 && strings.TrimSpace(item.Answer) != "" {
		out = append(out, item.Answer)
	}
	return out
}

// needGolds starts a judge that compares with gold answers: it returns the
// item's golds and ok, or, when ctx is done or the item has no gold, what
// the judge returns at once (ctx's error, or an error verdict).
func needGolds(ctx context.Context, item Item) (gs []string, v Verdict, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, Verdict{}, false, err
	}
	if gs = golds(item); len(gs) == 0 {
		return nil, judgeError("item has no gold answer"), false, nil
	}
	return gs, Verdict{}, true, nil
}

// normalizeText prepares an answer for comparison: surrounding spaces and a
// trailing period removed, inner whitespace collapsed to one space, case
// folded unless caseSensitive.
func normalizeText(s string, caseSensitive bool) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimSpace(strings.TrimSuffix(s, "."))
	if !caseSensitive {
		s = strings.ToLower(s)
	}
	return s
}

// matchGold returns the first gold equal to answer after normalisation.
func matchGold(answer string, golds []string, caseSensitive bool) (string, bool) {
	a := normalizeText(answer, caseSensitive)
	for _, g := range golds {
		if normalizeText(g, caseSensitive) == a {
			return g, true
		}
	}
	return "", false
}

// binary builds the verdict of a pass/fail comparison.
func binary(passed bool, extracted, detail string) Verdict {
	v := Verdict{Status: record.StatusScored, Passed: passed, Extracted: clip(extracted), Detail: detail}
	if passed {
		v.Score = 1
	}
	return v
}

// unscored builds the verdict of an output the judge could not read.
func unscored(detail string) Verdict {
	return Verdict{Status: record.StatusUnscored, Detail: detail}
}

// judgeError builds the verdict of an item the judge cannot score, such as
// one without a usable gold answer.
func judgeError(detail string) Verdict {
	return Verdict{Status: record.StatusError, Detail: detail}
}

// exactJudge passes an output whose declared answer equals a gold answer.
type exactJudge struct {
	name          string
	caseSensitive bool
}

var _ Judge = (*exactJudge)(nil)

func newExact(cfg config.Judge) (Judge, error) {
	return &exactJudge{name: displayName(cfg), caseSensitive: cfg.CaseSensitive}, nil
}

// Name returns the judge's configured name.
func (j *exactJudge) Name() string { return j.name }

// Judge reads the declared answer (ExtractFinalAnswer, else the whole trimmed
// output) and passes it when it equals any gold after normalisation. An empty
// output is unscored; an item without a gold answer is an error verdict.
func (j *exactJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	gs, v, ok, err := needGolds(ctx, item)
	if !ok {
		return v, err
	}
	answer, ok := ExtractFinalAnswer(output)
	if !ok {
		answer = strings.TrimSpace(output)
	}
	if answer == "" {
		return unscored("empty output"), nil
	}
	if g, ok := matchGold(answer, gs, j.caseSensitive); ok {
		return binary(true, answer, fmt.Sprintf("equals gold %q", g)), nil
	}
	return binary(false, answer, "matches no gold answer"), nil
}

// containsJudge passes an output that contains a gold answer as a whole word.
type containsJudge struct {
	name          string
	caseSensitive bool
}

var _ Judge = (*containsJudge)(nil)

func newContains(cfg config.Judge) (Judge, error) {
	return &containsJudge{name: displayName(cfg), caseSensitive: cfg.CaseSensitive}, nil
}

// Name returns the judge's configured name.
func (j *containsJudge) Name() string { return j.name }

// Judge passes the output when it contains any gold (normalised like exact)
// not inside a longer word: "Paris" is in "It is Paris." but not in
// "Parisian". Extracted is the gold found. An empty output is unscored.
func (j *containsJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	gs, v, ok, err := needGolds(ctx, item)
	if !ok {
		return v, err
	}
	if strings.TrimSpace(output) == "" {
		return unscored("empty output"), nil
	}
	text := strings.Join(strings.Fields(output), " ")
	if !j.caseSensitive {
		text = strings.ToLower(text)
	}
	for _, g := range gs {
		ng := normalizeText(g, j.caseSensitive)
		if ng != "" && containsWord(text, ng) {
			return binary(true, g, fmt.Sprintf("contains gold %q", g)), nil
		}
	}
	return binary(false, "", "contains no gold answer"), nil
}

// containsWord reports whether sub occurs in s with no letter or digit
// joined to either end of it (where sub itself ends in a letter or digit).
func containsWord(s, sub string) bool {
	for off := 0; off <= len(s)-len(sub); {
		i := strings.Index(s[off:], sub)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(sub)
		if boundaryBefore(s, i, sub) && boundaryAfter(s, end, sub) {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		off = i + size
	}
	return false
}

func boundaryBefore(s string, i int, sub string) bool {
	first, _ := utf8.DecodeRuneInString(sub)
	if i == 0 || !isWordRune(first) {
		return true
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	return !isWordRune(prev)
}

func boundaryAfter(s string, end int, sub string) bool {
	last, _ := utf8.DecodeLastRuneInString(sub)
	if end == len(s) || !isWordRune(last) {
		return true
	}
	next, _ := utf8.DecodeRuneInString(s[end:])
	return !isWordRune(next)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// regexJudge matches a pattern against the output.
//
// With a capture group, the first group of the last match is the answer,
// compared with the gold answers like exact: no match is unscored. Without a
// group, the pattern is the criterion itself: a match passes, no match fails
// (scored 0), and gold answers are not used.
type regexJudge struct {
	name          string
	re            *regexp.Regexp
	capture       bool
	caseSensitive bool
}

var _ Judge = (*regexJudge)(nil)

func newRegex(cfg config.Judge) (Judge, error) {
	if cfg.Pattern == "" {
		return nil, fmt.Errorf("judge %q: option %q is required for type %q", cfg.Name, optPattern, cfg.Type)
	}
	re, err := compilePattern(cfg)
	if err != nil {
		return nil, err
	}
	return &regexJudge{
		name: displayName(cfg), re: re, capture: re.NumSubexp() > 0, caseSensitive: cfg.CaseSensitive,
	}, nil
}

// compilePattern compiles cfg.Pattern, naming the judge and the option on
// failure.
func compilePattern(cfg config.Judge) (*regexp.Regexp, error) {
	re, err := regexp.Compile(cfg.Pattern)
	if err != nil {
		return nil, fmt.Errorf("judge %q: option %q: compile %q: %w", cfg.Name, optPattern, cfg.Pattern, err)
	}
	return re, nil
}

// optionalPattern compiles the judge's pattern when it has one; nil when not.
func optionalPattern(cfg config.Judge) (*regexp.Regexp, error) {
	if cfg.Pattern == "" {
		return nil, nil
	}
	return compilePattern(cfg)
}

// lastMatch returns the text of the last match of re in s: its first group
// when re has one, else the whole match.
func lastMatch(re *regexp.Regexp, s string) (string, bool) {
	ms := re.FindAllStringSubmatchIndex(s, -1)
	if len(ms) == 0 {
		return "", false
	}
	m := ms[len(ms)-1]
	if re.NumSubexp() > 0 {
		if m[2] < 0 {
			return "", false
		}
		return s[m[2]:m[3]], true
	}
	return s[m[0]:m[1]], true
}

// Name returns the judge's configured name.
func (j *regexJudge) Name() string { return j.name }

// Judge applies the pattern as the regexJudge type documents.
func (j *regexJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	if !j.capture {
		m, ok := lastMatch(j.re, output)
		if ok {
			return binary(true, m, "pattern matches"), nil
		}
		return binary(false, "", "pattern does not match"), nil
	}
	gs := golds(item)
	if len(gs) == 0 {
		return judgeError("item has no gold answer"), nil
	}
	answer, ok := lastMatch(j.re, output)
	if !ok {
		return unscored("pattern does not match"), nil
	}
	answer = trimAnswer(answer)
	if answer == "" {
		return unscored("pattern captured an empty answer"), nil
	}
	if g, ok := matchGold(answer, gs, j.caseSensitive); ok {
		return binary(true, answer, fmt.Sprintf("equals gold %q", g)), nil
	}
	return binary(false, answer, "matches no gold answer"), nil
}
