package judge

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/excerpt"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// defaultF1Threshold is the F1 an answer needs to pass when the run file
// sets no f1_threshold: most of the gold's words, not a perfect copy.
const defaultF1Threshold = 0.8

// f1Judge scores the token overlap of an answer with the gold spans, as the
// DROP and SQuAD evaluations do, and passes it at a threshold.
type f1Judge struct {
	name      string
	threshold float64
}

var _ Judge = (*f1Judge)(nil)

func newF1(cfg config.Judge) (Judge, error) {
	th := f1Threshold(cfg)
	if math.IsNaN(th) || th <= 0 || th > 1 {
		return nil, fmt.Errorf("judge %q: option %q: must be in (0, 1], got %v", cfg.Name, optF1Threshold, th)
	}
	return &f1Judge{name: displayName(cfg), threshold: th}, nil
}

// f1Threshold returns cfg's threshold with the default applied.
func f1Threshold(cfg config.Judge) float64 {
	if cfg.F1Threshold == 0 {
		return defaultF1Threshold
	}
	return cfg.F1Threshold
}

// Name returns the judge's configured name.
func (j *f1Judge) Name() string { return j.name }

// Judge reads the declared answer (ExtractFinalAnswer, else the last
// non-empty line of the output), normalises it and every gold with
// NormalizeF1, and scores the best bag-of-tokens F1 over the golds. Score is
// that F1; Passed is F1 >= the threshold; Detail gives the F1 and whether the
// normalised answer equals a normalised gold (em=1). An empty answer is
// unscored; an item without a gold answer is an error verdict.
func (j *f1Judge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	gs, v, ok, err := needGolds(ctx, item)
	if !ok {
		return v, err
	}
	answer, ok := ExtractFinalAnswer(output)
	if !ok {
		answer = trimAnswer(excerpt.LastLine(output))
	}
	if answer == "" {
		return unscored("empty output"), nil
	}
	pred := f1Tokens(answer)
	best, em := 0.0, 0
	for _, g := range gs {
		gold := f1Tokens(g)
		if f := tokenF1(pred, gold); f > best {
			best = f
		}
		if strings.Join(pred, " ") == strings.Join(gold, " ") {
			em = 1
		}
	}
	return Verdict{
		Status:    record.StatusScored,
		Score:     best,
		Passed:    best >= j.threshold,
		Extracted: clip(answer),
		Detail:    fmt.Sprintf("f1=%.3f em=%d", best, em),
	}, nil
}

// NormalizeF1 normalises an answer the way the DROP evaluation does before
// comparing tokens, and returns the tokens joined by single spaces:
//
//   - lower-case;
//   - split into words on white space and dashes ("-", "–", ...);
//   - a word that is a decimal number, once stripped of the punctuation
//     around it and of thousands separators, is written in its shortest
//     form: "1,000" is "1000", "3.0" is "3", "$2.50" is "2.5";
//   - any other word loses every punctuation character (ASCII punctuation
//     and Unicode punctuation): "U.S." is "us", "don't" is "dont";
//   - the articles "a", "an" and "the" are dropped, as are words left empty.
//
// Written numbers ("three") are kept as words. The result has no leading,
// trailing or repeated spaces, and normalising it again changes nothing.
func NormalizeF1(s string) string {
	return strings.Join(f1Tokens(s), " ")
}

// f1Tokens implements NormalizeF1 and returns the tokens.
func f1Tokens(s string) []string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r)
	})
	toks := words[:0]
	for _, w := range words {
		t, ok := normalizeNumber(w)
		if !ok {
			// "0,05" loses its comma and then reads as a number; normalise
			// it as one so normalising twice changes nothing.
			t = removePunct(w)
			if n, ok := normalizeNumber(t); ok {
				t = n
			}
		}
		switch t {
		case "", "a", "an", "the":
			continue
		}
		toks = append(toks, t)
	}
	return toks
}

// normalizeNumber returns w in its shortest decimal form when w, stripped of
// the punctuation around it, is a decimal number with optional thousands
// separators ("1,234.50"), and false otherwise.
func normalizeNumber(w string) (string, bool) {
	w = strings.TrimRightFunc(w, isF1Punct)
	for w != "" && !(w[0] == '.' && len(w) > 1 && isDigit(w[1])) {
		// A leading '.' before a digit is part of the number: ".5".
		r, size := utf8.DecodeRuneInString(w)
		if !isF1Punct(r) {
			break
		}
		w = w[size:]
	}
	if w == "" {
		return "", false
	}
	digits, dot, frac := 0, false, 0
	for i := 0; i < len(w); i++ {
		switch c := w[i]; {
		case isDigit(c):
			if dot {
				frac++
			} else {
				digits++
			}
		case c == '.' && !dot:
			dot = true
		case c == ',' && !dot && digits > 0 && i+3 < len(w) && isDigit(w[i+1]) && isDigit(w[i+2]) && isDigit(w[i+3]) &&
			(i+4 == len(w) || !isDigit(w[i+4])):
			// A thousands separator: followed by exactly three digits.
		default:
			return "", false
		}
	}
	if digits+frac == 0 {
		return "", false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(w, ",", ""), 64)
	if err != nil || math.IsInf(v, 0) {
		// Too large for a float: keep the digits as written.
		return strings.ReplaceAll(w, ",", ""), true
	}
	return strconv.FormatFloat(v, 'f', -1, 64), true
}

// removePunct drops every punctuation character of w.
func removePunct(w string) string {
	if strings.IndexFunc(w, isF1Punct) < 0 {
		return w
	}
	return strings.Map(func(r rune) rune {
		if isF1Punct(r) {
			return -1
		}
		return r
	}, w)
}

// isF1Punct reports whether r is removed as punctuation: Python's
// string.punctuation (ASCII punctuation and symbols, as DROP and SQuAD use)
// or a Unicode punctuation character such as a curly quote.
func isF1Punct(r rune) bool {
	if r < 0x80 {
		return strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r)
	}
	return unicode.IsPunct(r)
}

// tokenF1 returns the F1 of the token multisets pred and gold: the harmonic
// mean of precision and recall over the tokens they share. Two empty lists
// score 1; one empty list scores 0.
func tokenF1(pred, gold []string) float64 {
	if len(pred) == 0 || len(gold) == 0 {
		if len(pred) == len(gold) {
			return 1
		}
		return 0
	}
	counts := make(map[string]int, len(gold))
	for _, t := range gold {
		counts[t]++
	}
	common := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	// 2PR/(P+R) = 2c/(|pred|+|gold|); one division keeps exact ratios such
	// as 0.8 equal to the threshold literal.
	return 2 * float64(common) / float64(len(pred)+len(gold))
}
