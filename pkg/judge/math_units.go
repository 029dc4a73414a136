// The math judge's units: the trailing unit words and \text{...} groups
// normalizeMath drops after a quantity.

package judge

import "strings"

// unitWords are the unit names stripUnits drops when one ends an answer
// after a number, written without \text (lower case; a trailing '.' of an
// abbreviation is ignored).
var unitWords = map[string]bool{
	"mm": true, "cm": true, "km": true, "meter": true, "meters": true, "metre": true, "metres": true,
	"millimeter": true, "millimeters": true, "centimeter": true, "centimeters": true,
	"kilometer": true, "kilometers": true, "inch": true, "inches": true, "ft": true,
	"foot": true, "feet": true, "yd": true, "yard": true, "yards": true, "mile": true,
	"miles": true, "mph": true, "kg": true, "gram": true, "grams": true, "kilogram": true,
	"kilograms": true, "lb": true, "lbs": true, "pound": true, "pounds": true, "oz": true,
	"ounce": true, "ounces": true, "ml": true, "liter": true, "liters": true, "litre": true,
	"litres": true, "gallon": true, "gallons": true, "sec": true, "second": true,
	"seconds": true, "min": true, "minute": true, "minutes": true, "hr": true, "hrs": true,
	"hour": true, "hours": true, "day": true, "days": true, "week": true, "weeks": true,
	"month": true, "months": true, "year": true, "years": true, "degree": true,
	"degrees": true, "dollar": true, "dollars": true, "cent": true, "cents": true,
	"percent": true, "unit": true, "units": true, "sq": true, "square": true, "cubic": true,
}

// stripUnits drops the units that end an answer after a quantity: trailing
// \text{...}-style groups of words (one starting with a space, as MATH
// writes units, or of two letters or more) and trailing unitWords, each
// with an optional ^2 or ^3. What is left must end like a quantity (a digit,
// '}' or ')'), so \text{yes} and "2x" are kept.
func stripUnits(s string) string {
	for range maxUnits {
		t, ok := stripUnit(s)
		if !ok {
			return s
		}
		s = t
	}
	return s
}

// maxUnits caps the trailing unit groups stripUnits drops, which keeps it
// linear in the answer's length.
const maxUnits = 4

// stripUnit drops one trailing unit as stripUnits describes.
func stripUnit(s string) (string, bool) {
	body := trimUnitPower(strings.TrimRight(s, " "))
	var rest string
	if strings.HasSuffix(body, "}") {
		start, content, ok := trailingTextGroup(body)
		if !ok || !isUnitText(content) {
			return s, false
		}
		rest = body[:start]
	} else {
		rest = trimUnitWords(body)
		if len(rest) == len(body) {
			return s, false
		}
	}
	rest = strings.TrimRight(rest, " ")
	if !endsLikeQuantity(rest) {
		return s, false
	}
	return rest, true
}

// trimUnitWords drops the unitWords that end s ("square feet"), each
// with an optional ^2 or ^3.
func trimUnitWords(s string) string {
	for {
		body := trimUnitPower(strings.TrimRight(s, " "))
		j := len(body)
		for j > 0 && (isLetter(body[j-1]) || body[j-1] == '.') {
			j--
		}
		if j > 0 && body[j-1] == '\\' {
			return s // a command such as \min, not a word
		}
		if !unitWords[asciiLower(strings.TrimRight(body[j:], "."))] {
			return s
		}
		s = body[:j]
	}
}

// trimUnitPower drops a trailing ^2, ^3, ^{2} or ^{3} from s.
func trimUnitPower(s string) string {
	for _, p := range []string{"^2", "^3", "^{2}", "^{3}"} {
		if t, ok := strings.CutSuffix(s, p); ok {
			return strings.TrimRight(t, " ")
		}
	}
	return s
}

// trailingTextGroup reads the text command whose braced argument ends s:
// where the command starts and its argument.
func trailingTextGroup(s string) (start int, content string, ok bool) {
	open := matchingOpenBrace(s)
	if open < 0 {
		return 0, "", false
	}
	cmdEnd := len(strings.TrimRight(s[:open], " "))
	i := cmdEnd
	for i > 0 && isLetter(s[i-1]) {
		i--
	}
	if i == 0 || s[i-1] != '\\' || !textCommands[s[i:cmdEnd]] {
		return 0, "", false
	}
	return i - 1, s[open+1 : len(s)-1], true
}

// matchingOpenBrace returns the index of the '{' matching the '}' that ends
// s, or -1. Escaped braces are skipped.
func matchingOpenBrace(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		if i > 0 && s[i-1] == '\\' {
			i--
			continue
		}
		switch s[i] {
		case '}':
			depth++
		case '{':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// isUnitText reports whether a text group's content names a unit: words
// only (letters, spaces, '.', '/'), either written after a space as MATH
// does or at least two letters long.
func isUnitText(content string) bool {
	letters := 0
	for i := 0; i < len(content); i++ {
		switch c := content[i]; {
		case isLetter(c):
			letters++
		case c == ' ' || c == '.' || c == '/':
		default:
			return false
		}
	}
	return letters >= 2 || (letters == 1 && content[0] == ' ')
}

// endsLikeQuantity reports whether s, what a unit follows, ends as a number
// or expression does: a digit, ')' or a '}' that does not close a text
// command.
func endsLikeQuantity(s string) bool {
	if s == "" {
		return false
	}
	switch s[len(s)-1] {
	case ')':
		return true
	case '}':
		_, _, text := trailingTextGroup(s)
		return !text
	}
	return isDigit(s[len(s)-1])
}
