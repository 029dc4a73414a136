package provider

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// Sim is the embedded simulator: a model with a skill answering queries with
// a difficulty, without a network or a key. Each sample of a (query, variant)
// is correct with probability TrueP, decided by a hash of its seed, so the
// same request always gives the same response. It also rewrites and
// verifies rewrites when a request's Meta.Purpose asks it to. A Sim is
// immutable and safe for concurrent use. docs/simulator.md describes it.
type Sim struct {
	name    string
	skill   float64
	cfg     config.Simulator
	weights [simDims]float64 // the model's direction in the topic space, of length sqrt(simDims)
}

var _ Provider = (*Sim)(nil)

// NewSim returns the simulator for a model entry and the run file's
// simulator settings: the model's Name and Skill matter, every other field
// is ignored. A zero Simulator stands for config.DefaultSimulator().
func NewSim(m config.Model, sc config.Simulator) *Sim {
	if sc == (config.Simulator{}) {
		sc = config.DefaultSimulator()
	}
	return &Sim{name: m.Name, skill: m.Skill, cfg: sc, weights: modelWeights(m.Name)}
}

// Generate answers req.N samples of one prompt. Sample i uses req.Seeds[i]
// (Seeds[0]+i when Seeds is shorter); the answer is written in the format the
// last user message asks for. A request whose Meta.Purpose is
// record.PurposeRewrite or record.PurposeVerify gets, per seed, a JSON
// answer of rewrites or a verdict instead (sim_rewrite.go). Tokens and
// latency are simulated: Generate never sleeps.
func (s *Sim) Generate(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("generate %q: %w", s.name, err)
	}
	if req.N < 1 {
		return Response{}, &Error{Model: s.name, Message: fmt.Sprintf("n must be at least 1, got %d", req.N)}
	}
	var answer func(seed int64) (text string, tokens int64)
	switch req.Meta.Purpose {
	case "", record.PurposeSample, record.PurposeJudge:
		answer = s.sampleAnswer(req)
	case record.PurposeRewrite:
		answer = func(seed int64) (string, int64) {
			text := simRewriteAnswer(req.Meta, seed)
			return text, ceilQuarter(utf8.RuneCountInString(text))
		}
	case record.PurposeVerify:
		answer = func(int64) (string, int64) {
			text := simVerifyAnswer(req.Meta)
			return text, ceilQuarter(utf8.RuneCountInString(text))
		}
	default:
		return Response{}, &Error{Model: s.name, Message: fmt.Sprintf("the simulator cannot answer a call of purpose %q", req.Meta.Purpose)}
	}
	promptChars := 0
	for _, m := range req.Messages {
		promptChars += utf8.RuneCountInString(m.Content)
	}
	resp := Response{
		Choices:      make([]Choice, req.N),
		PromptTokens: ceilQuarter(promptChars),
	}
	var longest int64
	for i := range req.N {
		text, tokens := answer(sampleSeed(req.Seeds, i))
		if req.MaxTokens > 0 && tokens > int64(req.MaxTokens) {
			tokens = int64(req.MaxTokens)
		}
		resp.Choices[i] = Choice{Text: text, FinishReason: "stop", CompletionTokens: tokens}
		resp.CompletionTokens += tokens
		longest = max(longest, tokens)
	}
	// The samples of one request decode in parallel: the longest sets the
	// latency, jittered by ±20% from the first seed.
	jitter := 0.8 + 0.4*newHash("latency").u64(uint64(sampleSeed(req.Seeds, 0))).uniform()
	base := 150*time.Millisecond + time.Duration(longest)*8*time.Millisecond
	resp.Latency = time.Duration(float64(base) * jitter)
	return resp, nil
}

// sampleAnswer returns the answer to one sample of req by its seed: the gold
// with probability TrueP, else a plausible wrong answer, in the format the
// prompt asks for, with hidden reasoning tokens on top of the text's.
func (s *Sim) sampleAnswer(req Request) func(seed int64) (string, int64) {
	p := s.TrueP(req.Meta)
	format := detectAnswerFormat(req.Messages)
	return func(seed int64) (string, int64) {
		answer := req.Meta.Gold
		if newHash("correct").u64(uint64(seed)).uniform() >= p {
			answer = wrongAnswer(req.Meta, seed)
		}
		text := simText(format, answer, seed)
		return text, ceilQuarter(utf8.RuneCountInString(text)) + 20 + int64(newHash("hidden").u64(uint64(seed)).sum()%181)
	}
}

// sampleSeed returns the seed of sample i: Seeds[i], or Seeds[0]+i when the
// caller gave fewer seeds.
func sampleSeed(seeds []int64, i int) int64 {
	switch {
	case i < len(seeds):
		return seeds[i]
	case len(seeds) > 0:
		return seeds[0] + int64(i)
	default:
		return int64(i)
	}
}

func ceilQuarter(n int) int64 { return int64((n + 3) / 4) }

// answerFormat is how a prompt asks for its final answer.
type answerFormat int

const (
	formatPlain  answerFormat = iota // "The answer is X."
	formatBoxed                      // \boxed{X}
	formatHashes                     // "#### X"
	formatFinal                      // "Final Answer: X"
)

// detectAnswerFormat reads the last user message (the last message when no
// user message exists) for the answer format it asks for.
func detectAnswerFormat(msgs []Message) answerFormat {
	text := ""
	if len(msgs) > 0 {
		text = msgs[len(msgs)-1].Content
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			text = msgs[i].Content
			break
		}
	}
	switch {
	case strings.Contains(text, `\boxed`):
		return formatBoxed
	case strings.Contains(text, "####"):
		return formatHashes
	case strings.Contains(text, "Final Answer"):
		return formatFinal
	default:
		return formatPlain
	}
}

var (
	simOpenings = [...]string{
		"Let me work through this step by step.",
		"First, I identify what is being asked.",
		"I will reason about the given information.",
		"Breaking the problem into parts.",
		"Reading the question carefully.",
		"Let me think about the key facts.",
		"Consider each condition in turn.",
		"Start from what we know.",
	}
	simMiddles = [...]string{
		"Combining the pieces gives the result.",
		"Checking the arithmetic once more.",
		"This rules out the other options.",
		"The calculation follows directly.",
		"Putting it together carefully.",
	}
)

// simText writes one sample: a few words of reasoning chosen by the seed,
// then the answer in the requested format.
func simText(format answerFormat, answer string, seed int64) string {
	h := newHash("text").u64(uint64(seed)).sum()
	opening := simOpenings[h%uint64(len(simOpenings))]
	middle := simMiddles[(h>>8)%uint64(len(simMiddles))]
	var b strings.Builder
	b.Grow(len(opening) + len(middle) + len(answer) + 32)
	b.WriteString(opening)
	b.WriteByte(' ')
	b.WriteString(middle)
	switch format {
	case formatBoxed:
		b.WriteString(` So the answer is \boxed{`)
		b.WriteString(answer)
		b.WriteString("}.")
	case formatHashes:
		b.WriteString("\n#### ")
		b.WriteString(answer)
	case formatFinal:
		b.WriteString("\nFinal Answer: ")
		b.WriteString(answer)
	default:
		b.WriteString(" The answer is ")
		b.WriteString(answer)
		b.WriteByte('.')
	}
	return b.String()
}

var (
	// textDistractors are wrong answers for free-text golds.
	textDistractors = [...]string{
		"Paris", "Albert Einstein", "the Pacific Ocean", "blue", "yes", "no",
		"Napoleon", "carbon dioxide", "Shakespeare", "none of the above",
	}
	// mathDistractors are wrong answers for golds that look like mathematics;
	// they avoid small integers and simple forms a symbolic judge could equate
	// with a gold.
	mathDistractors = [...]string{
		`\frac{7}{13}`, `3\sqrt{5}`, `-\frac{11}{4}`, `2\pi`, `\sqrt{17}`, `\frac{\pi}{7}`,
	}
)

// wrongAnswer returns a plausible answer different from meta.Gold: a nearby
// number for a numeric gold (same shape), another option for a multiple-choice
// gold, else a distractor that differs from the gold case-insensitively.
func wrongAnswer(meta Meta, seed int64) string {
	h := newHash("wrong").u64(uint64(seed)).sum()
	gold := strings.TrimSpace(meta.Gold)
	if w, ok := wrongChoice(gold, meta.Choices, h); ok {
		return w
	}
	if w, ok := wrongNumber(gold, h); ok {
		return w
	}
	list := textDistractors[:]
	if strings.ContainsAny(gold, `\^{}/0123456789`) {
		list = mathDistractors[:]
	}
	start := int(h % uint64(len(list)))
	for i := range list {
		if d := list[(start+i)%len(list)]; !strings.EqualFold(d, gold) {
			return d
		}
	}
	return "none"
}

// wrongChoice picks another option when gold is an option letter (answered
// as a letter in the gold's case) or an option's text (answered as text).
func wrongChoice(gold string, choices []string, h uint64) (string, bool) {
	k := len(choices)
	if k < 2 {
		return "", false
	}
	pick := func(idx int) int { return (idx + 1 + int(h%uint64(k-1))) % k }
	if len(gold) == 1 {
		c := gold[0]
		switch {
		case c >= 'A' && int(c-'A') < k:
			return string(rune('A' + pick(int(c-'A')))), true
		case c >= 'a' && int(c-'a') < k:
			return string(rune('a' + pick(int(c-'a')))), true
		}
	}
	for i, c := range choices {
		if strings.EqualFold(strings.TrimSpace(c), gold) {
			w := choices[pick(i)]
			if !strings.EqualFold(strings.TrimSpace(w), gold) {
				return w, true
			}
		}
	}
	return "", false
}

// wrongNumber offsets a numeric gold by a nonzero integer in [-3, 3], keeping
// its shape: integers stay integers, decimals keep their decimals, grouped
// thousands stay grouped. ok is false when gold is not a plain number or the
// offset cannot change it.
func wrongNumber(gold string, h uint64) (string, bool) {
	decimals, grouped, ok := numberShape(gold)
	if !ok {
		return "", false
	}
	offset := int64(1 + h%3)
	if h&(1<<40) != 0 {
		offset = -offset
	}
	plain := gold
	if grouped {
		plain = strings.ReplaceAll(gold, ",", "")
	}
	negative := strings.HasPrefix(plain, "-")
	var out string
	if decimals < 0 {
		v, err := strconv.ParseInt(plain, 10, 64)
		if err != nil || v > math.MaxInt64-3 || v < math.MinInt64+3 {
			return "", false
		}
		if !negative && v+offset < 0 {
			offset = -offset
		}
		out = strconv.FormatInt(v+offset, 10)
		if grouped {
			out = groupThousands(out)
		}
	} else {
		v, err := strconv.ParseFloat(plain, 64)
		if err != nil {
			return "", false
		}
		if !negative && v+float64(offset) < 0 {
			offset = -offset
		}
		w := v + float64(offset)
		if w == v {
			return "", false
		}
		out = strconv.FormatFloat(w, 'f', decimals, 64)
	}
	if out == gold {
		return "", false
	}
	return out, true
}

// numberShape reports whether s is a plain decimal number ([+-]digits, an
// optional fraction, optional thousands commas in the integer part) and
// its number of decimals (-1 for an integer).
func numberShape(s string) (decimals int, grouped, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	intStart := i
	groupLen := -1 // digits since the last comma; -1 before any comma
	digits := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == ',') {
		if s[i] == ',' {
			if digits == 0 || (groupLen >= 0 && groupLen != 3) || (groupLen < 0 && digits > 3) {
				return 0, false, false
			}
			groupLen = 0
			grouped = true
		} else {
			digits++
			if groupLen >= 0 {
				groupLen++
			}
		}
		i++
	}
	if grouped && groupLen != 3 {
		return 0, false, false
	}
	decimals = -1
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		decimals = i - fracStart
		if decimals == 0 {
			return 0, false, false
		}
	} else if i == intStart || digits == 0 {
		return 0, false, false
	}
	if i != len(s) {
		return 0, false, false
	}
	return decimals, grouped, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// groupThousands inserts commas into a plain integer: "-1234567" → "-1,234,567".
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// simHash is FNV-1a 64 over labelled fields, finished with the SplitMix64
// mixer so that neighbouring seeds give independent draws.
type simHash uint64

func newHash(label string) simHash { return simHash(14695981039346656037).str(label) }

// str hashes s followed by a 0 separator.
func (h simHash) str(s string) simHash {
	for i := 0; i < len(s); i++ {
		h ^= simHash(s[i])
		h *= 1099511628211
	}
	h *= 1099511628211 // the 0 separator: xor with 0 is a no-op
	return h
}

// text hashes s as normText would write it, lower-cased with its runs of
// white space collapsed to one space and trimmed, followed by a 0
// separator, without building the string: h.text(s) == h.str(normText(s)).
func (h simHash) text(s string) simHash {
	var buf [utf8.UTFMax]byte
	space := false
	started := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && started {
			h ^= ' '
			h *= 1099511628211
		}
		space, started = false, true
		for _, c := range utf8.AppendRune(buf[:0], unicode.ToLower(r)) {
			h ^= simHash(c)
			h *= 1099511628211
		}
	}
	h *= 1099511628211
	return h
}

// bytes hashes b followed by a 0 separator, as str does a string.
func (h simHash) bytes(b []byte) simHash {
	for _, c := range b {
		h ^= simHash(c)
		h *= 1099511628211
	}
	h *= 1099511628211
	return h
}

func (h simHash) u64(v uint64) simHash {
	for i := 0; i < 8; i++ {
		h ^= simHash(byte(v >> (8 * i)))
		h *= 1099511628211
	}
	return h
}

func (h simHash) sum() uint64 {
	z := uint64(h) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform maps the hash to (0, 1), never 0 or 1.
func (h simHash) uniform() float64 {
	return (float64(h.sum()>>11) + 0.5) / (1 << 53)
}

// normal maps the hash to a standard normal draw.
func normal(h simHash) float64 { return distuv.UnitNormal.Quantile(h.uniform()) }
