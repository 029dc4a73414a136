// The math judge's evaluator: the value of a normalised answer, exact as a
// rational where it can be, else a float64.

package judge

import (
	"math"
	"math/big"
	"strings"
)

// mathValue is the value of an evaluated answer: exact when rat is set,
// else the float64 f.
type mathValue struct {
	rat *big.Rat
	f   float64
}

// exactValue wraps r, carrying it as a float64 when it is too large to
// keep computing with exactly.
func exactValue(r *big.Rat) mathValue {
	if r.Num().BitLen()+r.Denom().BitLen() > maxRatBits {
		f, _ := r.Float64()
		return mathValue{f: f}
	}
	return mathValue{rat: r}
}

// float returns v as a float64 (infinite when out of range).
func (v mathValue) float() float64 {
	if v.rat != nil {
		f, _ := v.rat.Float64()
		return f
	}
	return v.f
}

// finite reports whether v is a usable number.
func (v mathValue) finite() bool {
	if v.rat != nil {
		return true
	}
	return !math.IsNaN(v.f) && !math.IsInf(v.f, 0)
}

// evalMath evaluates a normalised answer as a number: decimals (exact),
// + - * / and \cdot \times \div, unary signs, parentheses and braces,
// \frac{a}{b}, mixed numbers (3\frac{1}{2} is 3.5), powers (exact for
// integer exponents), \sqrt{x} and \sqrt[n]{x} (exact for perfect powers)
// and \pi (inexact). A factor directly before \frac, \sqrt, \pi or a
// bracket multiplies it, binding tighter than '/'. ok is false for
// anything else, such as a variable, and for a division by zero.
func evalMath(s string) (mathValue, bool) {
	if s == "" || len(s) > maxMathEval {
		return mathValue{}, false
	}
	p := mathParser{s: s}
	v, ok := p.expr()
	if !ok || p.pos != len(s) || !v.finite() {
		return mathValue{}, false
	}
	return v, true
}

// mathParser is evalMath's recursive-descent parser.
type mathParser struct {
	s     string
	pos   int
	depth int // nesting of expr calls
}

// peek returns the next byte, or 0 at the end.
func (p *mathParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// accept consumes b when it comes next.
func (p *mathParser) accept(b byte) bool {
	if p.peek() == b {
		p.pos++
		return true
	}
	return false
}

// commandAt returns the name of the command starting at the current
// position ("frac" for \frac), or "".
func (p *mathParser) commandAt() string {
	if p.peek() != '\\' {
		return ""
	}
	j := p.pos + 1
	for j < len(p.s) && isLetter(p.s[j]) {
		j++
	}
	return p.s[p.pos+1 : j]
}

// acceptCommand consumes the command \name when it comes next.
func (p *mathParser) acceptCommand(name string) bool {
	if p.commandAt() == name {
		p.pos += 1 + len(name)
		return true
	}
	return false
}

// expr parses a sum: products joined by + and -.
func (p *mathParser) expr() (mathValue, bool) {
	if p.depth >= maxMathDepth {
		return mathValue{}, false
	}
	p.depth++
	v, ok := p.product()
	for ok {
		var neg bool
		switch {
		case p.accept('+'):
		case p.accept('-'):
			neg = true
		default:
			p.depth--
			return v, true
		}
		var w mathValue
		if w, ok = p.product(); ok {
			v = addValues(v, w, neg)
		}
	}
	p.depth--
	return v, false
}

// product parses factors joined by * / \cdot \times \div.
func (p *mathParser) product() (mathValue, bool) {
	v, ok := p.unary()
	for ok {
		var div bool
		switch {
		case p.accept('*'), p.acceptCommand("cdot"), p.acceptCommand("times"):
		case p.accept('/'), p.acceptCommand("div"):
			div = true
		default:
			return v, true
		}
		var w mathValue
		if w, ok = p.unary(); !ok {
			break
		}
		if div {
			v, ok = divValues(v, w)
		} else {
			v = mulValues(v, w)
		}
	}
	return v, false
}

// unary parses a signed implicit product.
func (p *mathParser) unary() (mathValue, bool) {
	switch {
	case p.accept('-'):
		v, ok := p.unary()
		return negValue(v), ok
	case p.accept('+'):
		return p.unary()
	}
	return p.implicitProduct()
}

// implicitProduct parses powers written side by side, as in 2\sqrt{3} or
// 3\pi(1+2).
func (p *mathParser) implicitProduct() (mathValue, bool) {
	v, ok := p.power()
	for ok && p.startsFactor() {
		var w mathValue
		if w, ok = p.power(); ok {
			v = mulValues(v, w)
		}
	}
	return v, ok
}

// startsFactor reports whether an implicit factor starts next. A digit
// can only follow a factor that is not a bare number, as in \sqrt{2}3,
// which TeX reads as the product.
func (p *mathParser) startsFactor() bool {
	switch c := p.peek(); {
	case c == '(' || c == '{' || isDigit(c):
		return true
	case c == '\\':
		switch p.commandAt() {
		case "frac", "sqrt", "pi":
			return true
		}
	}
	return false
}

// power parses an atom with an optional exponent: ^{expr} or ^digit.
func (p *mathParser) power() (mathValue, bool) {
	base, ok := p.atom()
	if !ok || !p.accept('^') {
		return base, ok
	}
	var exp mathValue
	switch c := p.peek(); {
	case c == '{':
		if exp, ok = p.group('{', '}'); !ok {
			return mathValue{}, false
		}
	case isDigit(c):
		exp = exactValue(new(big.Rat).SetInt64(int64(c - '0')))
		p.pos++
	default:
		return mathValue{}, false
	}
	return powValue(base, exp)
}

// atom parses a number, a bracketed group, \frac, \sqrt or \pi.
func (p *mathParser) atom() (mathValue, bool) {
	switch c := p.peek(); {
	case isDigit(c) || c == '.':
		return p.number()
	case c == '(':
		return p.group('(', ')')
	case c == '{':
		return p.group('{', '}')
	case c == '\\':
		switch {
		case p.acceptCommand("frac"):
			num, ok := p.group('{', '}')
			if !ok {
				return mathValue{}, false
			}
			den, ok := p.group('{', '}')
			if !ok {
				return mathValue{}, false
			}
			return divValues(num, den)
		case p.acceptCommand("sqrt"):
			index := int64(2)
			if p.peek() == '[' {
				n, ok := p.group('[', ']')
				if !ok || n.rat == nil || !n.rat.IsInt() || !n.rat.Num().IsInt64() {
					return mathValue{}, false
				}
				if index = n.rat.Num().Int64(); index < 2 || index > maxRootIndex {
					return mathValue{}, false
				}
			}
			x, ok := p.group('{', '}')
			if !ok {
				return mathValue{}, false
			}
			return rootValue(x, index)
		case p.acceptCommand("pi"):
			return mathValue{f: math.Pi}, true
		}
	}
	return mathValue{}, false
}

// group parses open expr close.
func (p *mathParser) group(open, close byte) (mathValue, bool) {
	if !p.accept(open) {
		return mathValue{}, false
	}
	v, ok := p.expr()
	if !ok || !p.accept(close) {
		return mathValue{}, false
	}
	return v, true
}

// number parses a decimal (digits, a point, digits, and an exponent of up
// to three digits such as e-5) exactly, and a mixed number: an integer
// followed by \frac{d}{d} of digits is their sum.
func (p *mathParser) number() (mathValue, bool) {
	start := p.pos
	p.skipDigits()
	integer := true
	if p.accept('.') {
		integer = false
		p.skipDigits()
	}
	lit := strings.TrimSuffix(p.s[start:p.pos], ".")
	if lit == "" || lit == "." {
		return mathValue{}, false
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		k := p.pos + 1
		if k < len(p.s) && (p.s[k] == '-' || p.s[k] == '+') {
			k++
		}
		d := k
		for k < len(p.s) && isDigit(p.s[k]) {
			k++
		}
		if k > d && k-d <= 3 {
			lit = lit + p.s[p.pos:k]
			p.pos = k
			integer = false
		}
	}
	r, ok := new(big.Rat).SetString(lit)
	if !ok {
		return mathValue{}, false
	}
	if integer {
		if frac, n, ok := mixedFraction(p.s[p.pos:]); ok {
			r.Add(r, frac)
			p.pos += n
		}
	}
	return exactValue(r), true
}

// skipDigits advances past a run of digits.
func (p *mathParser) skipDigits() {
	for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
		p.pos++
	}
}

// mixedFraction reads the \frac{d}{d} of digits that starts s: its value
// and length.
func mixedFraction(s string) (*big.Rat, int, bool) {
	rest, ok := strings.CutPrefix(s, `\frac{`)
	if !ok {
		return nil, 0, false
	}
	num, rest, ok := cutDigits(rest, "}{")
	if !ok {
		return nil, 0, false
	}
	den, rest, ok := cutDigits(rest, "}")
	if !ok {
		return nil, 0, false
	}
	n, _ := new(big.Int).SetString(num, 10)
	d, _ := new(big.Int).SetString(den, 10)
	if d.Sign() == 0 {
		return nil, 0, false
	}
	return new(big.Rat).SetFrac(n, d), len(s) - len(rest), true
}

// cutDigits reads the digits that start s up to sep: the digits and what
// follows sep.
func cutDigits(s, sep string) (digits, rest string, ok bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || !strings.HasPrefix(s[i:], sep) {
		return "", "", false
	}
	return s[:i], s[i+len(sep):], true
}

// addValues returns a+b, or a-b when neg.
func addValues(a, b mathValue, neg bool) mathValue {
	if a.rat != nil && b.rat != nil {
		if neg {
			return exactValue(new(big.Rat).Sub(a.rat, b.rat))
		}
		return exactValue(new(big.Rat).Add(a.rat, b.rat))
	}
	if neg {
		return mathValue{f: a.float() - b.float()}
	}
	return mathValue{f: a.float() + b.float()}
}

// mulValues returns a*b.
func mulValues(a, b mathValue) mathValue {
	if a.rat != nil && b.rat != nil {
		return exactValue(new(big.Rat).Mul(a.rat, b.rat))
	}
	return mathValue{f: a.float() * b.float()}
}

// divValues returns a/b; ok is false when b is zero.
func divValues(a, b mathValue) (mathValue, bool) {
	if b.rat != nil {
		if b.rat.Sign() == 0 {
			return mathValue{}, false
		}
		if a.rat != nil {
			return exactValue(new(big.Rat).Quo(a.rat, b.rat)), true
		}
	}
	d := b.float()
	if d == 0 {
		return mathValue{}, false
	}
	return mathValue{f: a.float() / d}, true
}

// negValue returns -v.
func negValue(v mathValue) mathValue {
	if v.rat != nil {
		return mathValue{rat: new(big.Rat).Neg(v.rat)}
	}
	return mathValue{f: -v.f}
}

// powValue returns base^exp: exact for a rational base and an integer
// exponent while the result stays under maxRatBits, else as a float64.
// ok is false for 0 to a negative power and for results that are not
// finite real numbers.
func powValue(base, exp mathValue) (mathValue, bool) {
	if base.rat != nil && exp.rat != nil && exp.rat.IsInt() && exp.rat.Num().IsInt64() {
		n := exp.rat.Num().Int64()
		bits := int64(base.rat.Num().BitLen() + base.rat.Denom().BitLen())
		if n >= -maxExactExponent && n <= maxExactExponent && bits*abs64(n) <= maxRatBits {
			if base.rat.Sign() == 0 && n < 0 {
				return mathValue{}, false
			}
			e := big.NewInt(abs64(n))
			num := new(big.Int).Exp(base.rat.Num(), e, nil)
			den := new(big.Int).Exp(base.rat.Denom(), e, nil)
			if n < 0 {
				num, den = den, num
			}
			return exactValue(new(big.Rat).SetFrac(num, den)), true
		}
	}
	f := math.Pow(base.float(), exp.float())
	return mathValue{f: f}, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// rootValue returns the n-th root of x: exact when x is a rational whose
// numerator and denominator are perfect n-th powers. ok is false for an
// even root of a negative number.
func rootValue(x mathValue, n int64) (mathValue, bool) {
	if x.rat != nil {
		sign := x.rat.Sign()
		if sign < 0 && n%2 == 0 {
			return mathValue{}, false
		}
		a := new(big.Rat).Abs(x.rat)
		if num, ok := intRoot(a.Num(), n); ok {
			if den, ok := intRoot(a.Denom(), n); ok {
				r := new(big.Rat).SetFrac(num, den)
				if sign < 0 {
					r.Neg(r)
				}
				return exactValue(r), true
			}
		}
	}
	f := x.float()
	if f < 0 && n%2 == 0 {
		return mathValue{}, false
	}
	var root float64
	switch {
	case n == 2:
		root = math.Sqrt(f)
	case f < 0:
		root = -math.Pow(-f, 1/float64(n))
	default:
		root = math.Pow(f, 1/float64(n))
	}
	return mathValue{f: root}, !math.IsNaN(root) && !math.IsInf(root, 0)
}

// intRoot returns the integer n-th root of x >= 0 when x is a perfect n-th
// power.
func intRoot(x *big.Int, n int64) (*big.Int, bool) {
	if n == 2 {
		r := new(big.Int).Sqrt(x)
		return r, new(big.Int).Mul(r, r).Cmp(x) == 0
	}
	f, _ := new(big.Float).SetInt(x).Float64()
	if math.IsInf(f, 0) {
		return nil, false
	}
	guess, _ := big.NewFloat(math.Round(math.Pow(f, 1/float64(n)))).Int(nil)
	e := big.NewInt(n)
	for _, d := range []int64{0, -1, 1} {
		r := new(big.Int).Add(guess, big.NewInt(d))
		if r.Sign() >= 0 && new(big.Int).Exp(r, e, nil).Cmp(x) == 0 {
			return r, true
		}
	}
	return nil, false
}

// abs64 returns |n|.
func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
