package paraphrase

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textView is a text as the filters compare it.
type textView struct {
	raw    string
	folded string          // lower-cased, white space collapsed
	digits map[string]bool // values of the numbers written in digits
	words  map[string]bool // values of the numbers written in words
	strong map[string]bool // the values in words that are hardly anything but numbers
}

func newTextView(s string) textView {
	words, strong := wordValues(s)
	return textView{raw: s, folded: fold(s), digits: digitValues(s), words: words, strong: strong}
}

// fold lower-cases s and makes every run of white space one space.
func fold(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// phrase is a gold answer or an option, as looked for in a text: by value
// when it is a number alone, else as whole words.
type phrase struct {
	text  string // folded
	value string // the number's canonical value, or "" for text
}

// newPhrase returns the phrase of s; false when s is blank.
func newPhrase(s string) (phrase, bool) {
	text := fold(s)
	if text == "" {
		return phrase{}, false
	}
	p := phrase{text: text}
	if n, ok := bareNumber(s); ok {
		p.value, _ = numberValue(n)
	}
	return p, true
}

// statedIn reports whether v states the phrase: a number in digits or in
// a strong number word; text as whole words.
func (p phrase) statedIn(v textView) bool {
	if p.value != "" {
		return v.digits[p.value] || v.strong[p.value]
	}
	return wholeMatch(v.folded, p.text)
}

// presentIn is statedIn counting every number word: what excuses a
// rewrite's "3" is any way the original says three.
func (p phrase) presentIn(v textView) bool {
	if p.value != "" {
		return v.digits[p.value] || v.words[p.value]
	}
	return wholeMatch(v.folded, p.text)
}

var (
	// goldLetter is a gold answer that names an option: "B", "(B)", "B.".
	goldLetter = regexp.MustCompile(`^\(?([A-Za-z])[).:]?$`)
	// latexFrac is a LaTeX fraction of two integers.
	latexFrac = regexp.MustCompile(`^\\[dt]?frac\{(\d+)\}\{(\d+)\}$`)
	// wholeNumber is digitNumber alone.
	wholeNumber = regexp.MustCompile(`^(?:` + digitNumber.String() + `)$`)
	// numberDress is what a gold number is dressed in: currency and
	// percent signs, LaTeX spacing and thousands separators.
	numberDress = strings.NewReplacer(`\$`, "", "$", "", `\%`, "", "%", "", `\!`, "", `\,`, "", "{,}", ",")
)

// bareNumber returns the number that s is, undressed ("$1,000" is
// "1,000", "\frac{3}{4}" is "3/4", "-2." is "2"), when s is a number and
// nothing else.
func bareNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if inner, ok := strings.CutPrefix(s, `\boxed{`); ok && strings.HasSuffix(inner, "}") {
		s = strings.TrimSuffix(inner, "}")
	}
	s = strings.TrimSpace(numberDress.Replace(s))
	s = strings.TrimSuffix(s, ".")
	s = strings.TrimLeft(s, "+-−")
	if m := latexFrac.FindStringSubmatch(s); m != nil {
		s = m[1] + "/" + m[2]
	}
	return s, wholeNumber.MatchString(s)
}

// goldForms returns what of q's gold answer a rewrite must not state: the
// letter of the gold option (when the gold is a letter, or the text of an
// option), and the phrases of the gold (its text, or for a letter the text
// of the option it names). Letters are only looked for as named answers
// ("(B)", "answer is B"), never as a lone letter: "a" is an article.
func goldForms(q Query) (letter string, leaks []phrase) {
	gold := strings.TrimSpace(q.Answer)
	if gold == "" {
		return "", nil
	}
	if m := goldLetter.FindStringSubmatch(gold); m != nil {
		letter = strings.ToUpper(m[1])
		if i := int(letter[0] - 'A'); i < len(q.Choices) {
			if p, ok := newPhrase(q.Choices[i]); ok && !isLoneLetter(p.text) {
				leaks = append(leaks, p)
			}
		}
		return letter, leaks
	}
	p, _ := newPhrase(gold)
	for i, c := range q.Choices {
		if fold(c) == p.text {
			letter = ChoiceLetter(i)
			break
		}
	}
	return letter, []phrase{p}
}

// isLoneLetter reports whether s is one letter: an option such as "a"
// cannot be told from the article.
func isLoneLetter(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	return size == len(s) && unicode.IsLetter(r)
}

// wholeMatch reports whether word occurs in text as whole words: where
// word begins or ends with a letter or digit, the text next to it does
// not continue the word or the number ("2" is not in "12", "2.5" or
// "1/2"; "cat" is not in "cats").
func wholeMatch(text, word string) bool {
	if word == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(word)
	last, _ := utf8.DecodeLastRuneInString(word)
	for from := 0; from <= len(text)-len(word); {
		i := strings.Index(text[from:], word)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(word)
		if !continuesBefore(text[:start], first) && !continuesAfter(text[end:], last) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		from = start + size
	}
	return false
}

// continuesBefore reports whether before, the text just ahead of a match
// that opens with rune first, runs into it.
func continuesBefore(before string, first rune) bool {
	if !isWordRune(first) || before == "" {
		return false
	}
	prev, size := utf8.DecodeLastRuneInString(before)
	if isWordRune(prev) {
		return true
	}
	if !unicode.IsDigit(first) {
		return false
	}
	if prev == '.' {
		return true // ".5" holds no whole 5
	}
	prevprev, _ := utf8.DecodeLastRuneInString(before[:len(before)-size])
	return (prev == ',' || prev == '/') && unicode.IsDigit(prevprev)
}

// continuesAfter reports whether after, the text just behind a match that
// ends with rune last, runs on from it.
func continuesAfter(after string, last rune) bool {
	if !isWordRune(last) || after == "" {
		return false
	}
	next, size := utf8.DecodeRuneInString(after)
	if isWordRune(next) {
		return true
	}
	if !unicode.IsDigit(last) || !strings.ContainsRune(".,/", next) {
		return false
	}
	nextnext, _ := utf8.DecodeRuneInString(after[size:])
	return unicode.IsDigit(nextnext)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
