package paraphrase

import (
	"math/big"
	"regexp"
	"strings"
	"unicode"
)

// digitNumber matches a number written in digits: a fraction of two
// integers (3/4), an integer with or without thousands separators (1,000),
// a decimal (2.5) or a decimal without its leading zero (.5). A sign is
// not part of it: "x-3" and "-3" both hold 3, since a dash is as often a
// minus between terms as a sign.
var digitNumber = regexp.MustCompile(`\d+/[1-9]\d*|(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+`)

// numberValue returns the canonical text of the value of a number matched
// by digitNumber: "1,000", "1000" and "1000.0" are all "1000"; "0.5", ".5"
// and "1/2" are all "1/2".
func numberValue(s string) (string, bool) {
	r, ok := new(big.Rat).SetString(strings.ReplaceAll(s, ",", ""))
	if !ok {
		return "", false
	}
	return r.RatString(), true
}

// digitValues returns the values of the numbers written in digits in s.
func digitValues(s string) map[string]bool {
	values := map[string]bool{}
	for _, m := range digitNumber.FindAllString(s, -1) {
		if v, ok := numberValue(m); ok {
			values[v] = true
		}
	}
	return values
}

// Number words. A value is strong when a word that gives it is hardly
// ever anything but a number ("seven", "a dozen"); "one", ordinals
// ("second") and fractions ("half") are weak: they say a number as often
// as something else ("no one", "the second case"), so they count for a
// number that must be kept, never for an answer that leaks.
var (
	unitWords = map[string]int64{
		"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
		"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
		"eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
		"fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
		"nineteen": 19,
	}
	tensWords = map[string]int64{
		"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
		"sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
	}
	scaleWords = map[string]int64{
		"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
	}
	// countWords are numbers on their own: "a dozen", "a hundred".
	countWords = map[string]int64{
		"dozen": 12, "hundred": 100, "thousand": 1_000,
		"million": 1_000_000, "billion": 1_000_000_000,
	}
	ordinalWords = map[string]int64{
		"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
		"sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
		"twice": 2, "double": 2, "triple": 3,
	}
	// denominatorWords name a fraction's denominator: "three quarters"
	// is 3/4, "a third" 1/3.
	denominatorWords = map[string]int64{
		"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4,
		"quarters": 4, "fourth": 4, "fourths": 4, "fifth": 5, "fifths": 5,
		"sixth": 6, "sixths": 6, "seventh": 7, "sevenths": 7, "eighth": 8,
		"eighths": 8, "ninth": 9, "ninths": 9, "tenth": 10, "tenths": 10,
	}
)

// wordValues returns the values of the numbers written in words in s:
// all of them, and the strong ones alone. Cardinals compose ("twenty-five",
// "three hundred and two", "two thousand"); "a dozen" is 12.
func wordValues(s string) (all, strong map[string]bool) {
	all, strong = map[string]bool{}, map[string]bool{}
	add := func(v *big.Rat, isStrong bool) {
		all[v.RatString()] = true
		if isStrong {
			strong[v.RatString()] = true
		}
	}
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) })
	for i := 0; i < len(words); {
		value, n, onlyOne := cardinal(words[i:])
		if n > 0 {
			add(new(big.Rat).SetInt64(value), !onlyOne)
			i += n
			if i < len(words) {
				if d, ok := denominatorWords[words[i]]; ok {
					add(big.NewRat(value, d), false)
					i++
				}
			}
			continue
		}
		w := words[i]
		if v, ok := ordinalWords[w]; ok {
			add(new(big.Rat).SetInt64(v), false)
		}
		if d, ok := denominatorWords[w]; ok {
			add(big.NewRat(1, d), false)
		}
		if v, ok := countWords[w]; ok {
			add(new(big.Rat).SetInt64(v), true)
		}
		i++
	}
	return all, strong
}

// cardinal reads the number words that open words: their value, how many
// words it took (0 when words does not open with one), and whether the
// number is the lone word "one".
func cardinal(words []string) (value int64, n int, onlyOne bool) {
	var total, current int64
	for n < len(words) {
		w := words[n]
		switch {
		case unitWords[w] > 0 || w == "zero":
			current += unitWords[w]
		case tensWords[w] > 0:
			current += tensWords[w]
		case w == "hundred" && current > 0 && current < 100:
			current *= 100
		case scaleWords[w] > 0 && current > 0 && current < 1000:
			total += current * scaleWords[w]
			current = 0
		case w == "and" && n > 0 && n+1 < len(words) && isCardinalWord(words[n+1]):
		default:
			return total + current, n, n == 1 && words[0] == "one"
		}
		n++
	}
	return total + current, n, n == 1 && words[0] == "one"
}

func isCardinalWord(w string) bool {
	_, unit := unitWords[w]
	return unit || tensWords[w] > 0
}
