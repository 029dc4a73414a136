// The parameters an OpenAI request sends, and what the client does when the
// server refuses one: a refused seed, top_p, temperature, max_tokens or
// response_format (JSON mode) is dropped or renamed for the rest of the
// run; a refused n is reported with the cap the server stated, for the
// caller to ask again in smaller requests.

package provider

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/excerpt"
)

// Sampling parameters dars sends, by their names in the request body.
const (
	paramN                   = "n"
	paramTemperature         = "temperature"
	paramTopP                = "top_p"
	paramSeed                = "seed"
	paramMaxTokens           = "max_tokens"
	paramMaxCompletionTokens = "max_completion_tokens"
	paramResponseFormat      = "response_format"
)

// droppableParams are the parameters a model may refuse and be asked again
// without; n is not among them: its cap is the caller's to learn.
var droppableParams = []string{paramTemperature, paramTopP, paramSeed, paramMaxTokens, paramMaxCompletionTokens, paramResponseFormat}

// newExchange writes req's sampling parameters, less the refused ones, as
// JSON members for exchangeDoer to add to the body.
func (o *OpenAI) newExchange(req Request) *exchange {
	o.mu.Lock()
	defer o.mu.Unlock()
	x := &exchange{n: req.N}
	b := make([]byte, 0, 128)
	add := func(name string, value func([]byte) []byte) {
		if _, no := o.refused[name]; no {
			return
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = value(b)
		if name != paramN {
			x.sent = append(x.sent, name)
		}
	}
	float := func(v float64) func([]byte) []byte {
		return func(b []byte) []byte { return strconv.AppendFloat(b, v, 'g', -1, 64) }
	}
	integer := func(v int64) func([]byte) []byte {
		return func(b []byte) []byte { return strconv.AppendInt(b, v, 10) }
	}
	add(paramTemperature, float(req.Temperature))
	if req.TopP > 0 {
		add(paramTopP, float(req.TopP))
	}
	if req.N > 1 {
		add(paramN, integer(int64(req.N)))
	}
	if len(req.Seeds) > 0 {
		add(paramSeed, integer(req.Seeds[0]))
	}
	if req.MaxTokens > 0 {
		if f := o.tokensField(); f != "" {
			add(f, integer(int64(req.MaxTokens)))
		}
	}
	if req.JSONObject {
		add(paramResponseFormat, func(b []byte) []byte { return append(b, `{"type":"json_object"}`...) })
	}
	x.params = b
	return x
}

// tokensField is the name under which the output cap is sent: max_tokens
// (max_completion_tokens for reasoning model ids) unless the server refused
// it, then the other, then none. The caller holds o.mu.
func (o *OpenAI) tokensField() string {
	order := []string{paramMaxTokens, paramMaxCompletionTokens}
	if o.reasoning {
		order[0], order[1] = order[1], order[0]
	}
	for _, f := range order {
		if _, no := o.refused[f]; !no {
			return f
		}
	}
	return ""
}

// refuse records parameters the server refused, so no later request of
// this model sends them, and logs and lists each the first time.
func (o *OpenAI) refuse(params []string, msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	msg = excerpt.Clip(msg, 300, "...")
	for _, p := range params {
		if _, done := o.refused[p]; done {
			continue
		}
		o.refused[p] = msg
		adj := fmt.Sprintf("dropped %q: %s", p, msg)
		if p == paramMaxTokens || p == paramMaxCompletionTokens {
			if f := o.tokensField(); f != "" {
				adj = fmt.Sprintf("renamed %q to %q: %s", p, f, msg)
			}
		}
		o.adjustments = append(o.adjustments, adj)
		o.log.Warn("the endpoint refused a parameter; requests of this model go on without it",
			"model", o.name, "param", p, "adjustment", adj)
	}
}

// noteRefusal marks a 400 (or 422) that refuses a parameter the request
// sent: for n it sets e.Param and e.Limit; for another parameter it sets
// e.Param and records in x every refused one, for Generate to send again
// without them.
func noteRefusal(e *Error, x *exchange, msg, param, code string) {
	if e.StatusCode != http.StatusBadRequest && e.StatusCode != http.StatusUnprocessableEntity {
		return
	}
	param = strings.TrimSpace(param)
	if x.n > 1 && (param == paramN || (param == "" && namesN(msg))) {
		e.Param = paramN
		e.Limit = nLimit(msg, x.n)
		return
	}
	if refused := refusedParams(x.sent, msg, param, code); len(refused) > 0 {
		e.Param = refused[0]
		x.refused = refused
	}
}

// nPatterns recognise a message about the n parameter.
var nPatterns = []*regexp.Regexp{
	regexp.MustCompile("(?i)['\"`]n['\"`]"),
	regexp.MustCompile(`(?i)\bn\s*(?:<=|>=|=|<|>|≤)`),
	regexp.MustCompile(`(?i)\bn\s+(?:must|should|is|are|cannot|can not|can't|may|has|needs|exceeds|greater|larger|above|over)\b`),
	regexp.MustCompile(`(?i)\b(?:parameter|argument|value of|field)\s+n\b`),
	regexp.MustCompile(`(?i)\bonly one (?:completion )?choice\b`),
}

// namesN reports whether a message speaks of the n parameter.
func namesN(msg string) bool {
	for _, re := range nPatterns {
		if re.MatchString(msg) {
			return true
		}
	}
	return false
}

// nCaps find the cap on n a message states; the last submatch is the number
// and off is added to it ("less than 5" allows 4).
var nCaps = []struct {
	re  *regexp.Regexp
	off int
}{
	{regexp.MustCompile(`(?i)\bonly\s+(?:['"` + "`" + `]?n['"` + "`" + `]?\s*=\s*)?(\d+)\b`), 0},
	{regexp.MustCompile(`(?i)\bonly the default \((\d+)\)`), 0},
	{regexp.MustCompile(`(?i)(?:<=|≤)\s*(\d+)`), 0},
	{regexp.MustCompile(`(?i)\bbetween\s+\d+\s+and\s+(\d+)`), 0},
	{regexp.MustCompile(`(?i)\b(?:at most|no more than|not more than|no greater than|not greater than|less than or equal to|up to|cannot exceed|must not exceed|maximum(?: value)?(?: is| of|:)?|max(?: is| of|:|=)?)\s*(\d+)`), 0},
	{regexp.MustCompile(`(?i)(?:\bless than|<)\s*(\d+)`), -1},
}

// nLimit is the cap on n a message states, 0 when it states none or one
// that would not have refused the sent n.
func nLimit(msg string, sent int) int {
	lower := strings.ToLower(msg)
	if strings.Contains(lower, "only one") || strings.Contains(lower, "only a single") {
		return 1
	}
	for _, c := range nCaps {
		m := c.re.FindAllStringSubmatch(msg, -1)
		if len(m) == 0 {
			continue
		}
		v, err := strconv.Atoi(m[len(m)-1][1])
		if err != nil {
			continue
		}
		if v += c.off; v >= 1 && v < sent {
			return v
		}
		return 0
	}
	return 0
}

// refusalPhrase is how servers say they do not take a parameter.
var refusalPhrase = regexp.MustCompile(`(?i)unsupported|not supported|unrecogni[sz]ed|not allowed|not permitted|does not support|doesn't support|only the default|unknown (?:parameter|argument|field)|extra (?:inputs|fields)|not a valid (?:parameter|argument)`)

// refusedParams returns the parameters among sent that a 400 refuses: the
// one its param field names, else every one its message names, when the
// code or the message says the parameter is unsupported.
func refusedParams(sent []string, msg, param, code string) []string {
	switch strings.ToLower(code) {
	case "unsupported_parameter", "unsupported_value":
	default:
		if !refusalPhrase.MatchString(msg) {
			return nil
		}
	}
	if param != "" {
		if slices.Contains(sent, param) {
			return []string{param}
		}
		return nil
	}
	var out []string
	for _, p := range sent {
		if mentions(msg, p) {
			out = append(out, p)
		}
	}
	return out
}

// mentions reports whether msg holds name as a whole identifier.
func mentions(msg, name string) bool {
	msg = strings.ToLower(msg)
	ident := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
	}
	for from := 0; ; {
		i := strings.Index(msg[from:], name)
		if i < 0 {
			return false
		}
		i += from
		j := i + len(name)
		if (i == 0 || !ident(msg[i-1])) && (j == len(msg) || !ident(msg[j])) {
			return true
		}
		from = i + 1
	}
}
