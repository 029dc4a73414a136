package judge

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/excerpt"

	"github.com/darslabs/dars/pkg/config"
)

// defaultLetters are the option letters of a choice judge without letters,
// extended through the alphabet for items with more choices.
const (
	defaultLetters = "ABCD"
	alphabet       = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// choiceJudge compares the option letter an output picks with the gold one.
type choiceJudge struct {
	name    string
	letters string // "" = defaultLetters, widened to the item's choices
}

var _ Judge = (*choiceJudge)(nil)

func newChoice(cfg config.Judge) (Judge, error) {
	if err := checkLetters(cfg.Letters); err != nil {
		return nil, fmt.Errorf("judge %q: option %q: %w", cfg.Name, optLetters, err)
	}
	return &choiceJudge{name: displayName(cfg), letters: cfg.Letters}, nil
}

// checkLetters accepts "" or at least two ASCII letters or digits, unique
// regardless of case.
func checkLetters(letters string) error {
	if letters == "" {
		return nil
	}
	if len(letters) < 2 {
		return fmt.Errorf("want at least two letters, got %q", letters)
	}
	seen := map[byte]bool{}
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if !isLetter(c) && !isDigit(c) {
			return fmt.Errorf("%q is not an ASCII letter or digit", letters[i:i+1])
		}
		up := upper(c)
		if seen[up] {
			return fmt.Errorf("letter %q appears twice in %q", string(c), letters)
		}
		seen[up] = true
	}
	return nil
}

// Name returns the judge's configured name.
func (j *choiceJudge) Name() string { return j.name }

// Judge reads the picked letter with ExtractChoice and passes it when it is
// the gold letter. The gold (item.Answer, else Answers[0]) may be a letter, a
// 0-based index or a choice's text. No letter found is unscored; a gold that
// names no option is an error verdict.
func (j *choiceJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	letters := j.letters
	if letters == "" {
		letters = defaultLetters
		if n := len(item.Choices); n > len(letters) {
			if n > len(alphabet) {
				return judgeError(fmt.Sprintf("item has %d choices, more than %d letters", n, len(alphabet))), nil
			}
			letters = alphabet[:n]
		}
	}
	gs := golds(item)
	if len(gs) == 0 {
		return judgeError("item has no gold answer"), nil
	}
	gold, ok := goldLetter(gs[0], letters, item.Choices)
	if !ok {
		return judgeError(fmt.Sprintf("gold answer %q names no option of %q", gs[0], letters)), nil
	}
	got, ok := ExtractChoice(output, letters, item.Choices)
	if !ok {
		return unscored("no option letter found"), nil
	}
	if got == gold {
		return binary(true, got, "gold option "+gold), nil
	}
	return binary(false, got, fmt.Sprintf("picked %s, gold %s", got, gold)), nil
}

// goldLetter reads a gold answer as one of letters: a letter (any case,
// parentheses allowed), a 0-based index, or the text of a choice.
func goldLetter(gold, letters string, choices []string) (string, bool) {
	g := strings.TrimSpace(gold)
	if l, ok := letterIn(strings.Trim(g, "()"), letters, true); ok {
		return l, true
	}
	if i, err := strconv.Atoi(g); err == nil && i >= 0 && i < len(letters) {
		return letters[i : i+1], true
	}
	return choiceByText(g, letters, choices)
}

// letterIn returns the configured letter that s is: exactly one byte, equal
// to a letter of letters (case-insensitively when fold).
func letterIn(s, letters string, fold bool) (string, bool) {
	if len(s) != 1 {
		return "", false
	}
	for i := 0; i < len(letters); i++ {
		if letters[i] == s[0] || (fold && upper(letters[i]) == upper(s[0])) {
			return letters[i : i+1], true
		}
	}
	return "", false
}

// choiceByText returns the letter of the one choice whose text equals s,
// both stripped of answer decoration (trimAnswer) and normalised
// case-insensitively.
func choiceByText(s, letters string, choices []string) (string, bool) {
	ns := normalizeText(trimAnswer(s), false)
	if ns == "" {
		return "", false
	}
	found := -1
	for i, c := range choices {
		if i >= len(letters) {
			break
		}
		if normalizeText(trimAnswer(c), false) == ns {
			if found >= 0 {
				return "", false // two options read the same: ambiguous
			}
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return letters[found : found+1], true
}

// Patterns ExtractChoice tries after the declared answer, strongest first.
// Each gives a candidate letter in group 1; the last match counts.
var (
	// "answer is (B)", "answer: (b)", "answer is option (C)": any case.
	answerParenPattern = regexp.MustCompile(`(?i)answer\s*(?:is|:)\s*:?\s*(?:option|choice)?\s*\**\s*\(([a-z0-9])\)`)
	// "answer is B", "answer: B.", "the correct answer is **C**".
	answerBarePattern = regexp.MustCompile(`(?i:answer)\s*(?:(?i:is)\s*:?|:)\s*(?:(?i:option|choice)\s*)?\**\s*([A-Za-z0-9])\**([^A-Za-z0-9]|$)`)
	// "**B**", "**(B)**".
	boldPattern = regexp.MustCompile(`\*\*\s*\(?([A-Za-z0-9])\)?\s*\*\*`)
	// "B) ..." or "(B) ..." at the start of a line.
	lineParenPattern = regexp.MustCompile(`(?m)^[ \t]*\(?([A-Za-z0-9])\)`)
	// A line holding only a letter: "B", "(B)", "B.".
	loneLetterPattern = regexp.MustCompile(`(?m)^[ \t*]*\(?([A-Za-z0-9])\)?\.?[ \t*]*\r?$`)
)

// ExtractChoice reads the option an output picks and returns it as one of
// letters (ASCII letters or digits, e.g. "ABCD"), or as several joined by
// commas ("A,B") when the answer names more than one ("A, B", "A and B",
// "A or C"): a wrong answer to a single-answer question, never its first
// letter. In order, it tries:
//
//  1. the declared answer (ExtractFinalAnswer): a lone letter ("B", "(B)",
//     "B."), a letter opening the answer ("B) Paris", "(B) Paris",
//     "option B"), or the exact text of one choice; a lone capital letter
//     outside letters is returned as is, so a declared but impossible answer
//     scores 0 instead of going unread;
//  2. "answer is (B)" / "answer: (b)", any case;
//  3. "answer is B" / "answer: B": a capital in letters, or a lowercase
//     letter ending the sentence ("the answer is b.");
//  4. "**B**";
//  5. "B)" or "(B)" at the start of a line;
//  6. a line holding only the letter;
//  7. the output's last non-empty line equal to one choice's text.
//
// For 2-6 the last occurrence counts and the letter must be in letters
// (matched by case for bare letters). ok is false when nothing matches.
func ExtractChoice(output, letters string, choices []string) (letter string, ok bool) {
	if ans, found := ExtractFinalAnswer(output); found {
		t := strings.TrimSpace(ans)
		if m := answerOpening.FindStringSubmatchIndex(t); m != nil {
			if l, ok := letterIn(t[m[2]:m[3]], letters, false); ok {
				if more := moreLetters(t[m[3]:], letters); more != "" {
					return l + more, true
				}
			}
		}
		if l, ok := letterFromAnswer(ans, letters, choices); ok {
			return l, true
		}
	}
	if l, ok := lastLetter(answerParenPattern, output, letters, true); ok {
		return l, true
	}
	if l, ok := lastAnswerBare(output, letters); ok {
		return l, true
	}
	for _, re := range []*regexp.Regexp{boldPattern, lineParenPattern, loneLetterPattern} {
		if l, ok := lastLetter(re, output, letters, false); ok {
			return l, true
		}
	}
	return choiceByText(excerpt.LastLine(output), letters, choices)
}

// answerOpening matches a letter that opens a declared answer.
var answerOpening = regexp.MustCompile(`^(?:(?i:option|choice)\s+)?\(?([A-Za-z0-9])(?:\)|\.|:|$|\s*$)`)

// letterFromAnswer implements step 1 of ExtractChoice.
func letterFromAnswer(ans, letters string, choices []string) (string, bool) {
	t := strings.TrimSpace(strings.Trim(ans, " *()[]."))
	if l, ok := letterIn(t, letters, true); ok {
		return l, true
	}
	if len(t) == 1 && t[0] >= 'A' && t[0] <= 'Z' {
		return t, true
	}
	if l, ok := choiceByText(ans, letters, choices); ok {
		return l, true
	}
	if m := answerOpening.FindStringSubmatch(strings.TrimSpace(ans)); m != nil {
		if l, ok := letterIn(m[1], letters, true); ok {
			return l, true
		}
	}
	return "", false
}

// lastLetter returns the letter of the last match of re whose group 1 is in
// letters.
func lastLetter(re *regexp.Regexp, s, letters string, fold bool) (string, bool) {
	ms := re.FindAllStringSubmatch(s, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if l, ok := letterIn(ms[i][1], letters, fold); ok {
			return l, true
		}
	}
	return "", false
}

// lastAnswerBare implements step 3 of ExtractChoice.
func lastAnswerBare(s, letters string) (string, bool) {
	ms := answerBarePattern.FindAllStringSubmatchIndex(s, -1)
	for i := len(ms) - 1; i >= 0; i-- {
		c, after := s[ms[i][2]:ms[i][3]], s[ms[i][4]:ms[i][5]]
		if l, ok := letterIn(c, letters, false); ok {
			return l + moreLetters(s[ms[i][3]:], letters), true
		}
		// A lowercase letter is a word ("the answer is a ...") unless it
		// ends the sentence.
		if after == "" || strings.ContainsAny(after, ".!)\n") {
			if l, ok := letterIn(c, letters, true); ok {
				return l, true
			}
		}
	}
	return "", false
}

// upper uppercases an ASCII letter and keeps any other byte.
func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// moreLetterPattern matches another option letter right after an answer's
// letter: ", B", " and B", " or (C)", "/D", " & B".
var moreLetterPattern = regexp.MustCompile(`^\s*(?:,|;|/|&|\+|\band\b|\bor\b)\s*\(?([A-Z0-9])\)?(?:[^A-Za-z0-9]|$)`)

// moreLetters returns ",B,C" for the option letters (capitals, in letters)
// that follow an answer's letter in rest, "" when none does.
func moreLetters(rest, letters string) string {
	var out string
	for {
		m := moreLetterPattern.FindStringSubmatchIndex(rest)
		if m == nil {
			return out
		}
		l, ok := letterIn(rest[m[2]:m[3]], letters, false)
		if !ok {
			return out
		}
		out += "," + l
		rest = rest[m[3]:]
	}
}
