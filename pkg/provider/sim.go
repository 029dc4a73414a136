package provider

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/darslabs/dars/pkg/config"
)

// Spreads of the simulator's latent effects, on the logit scale.
const (
	simDifficultySD   = 1.5 // per query: how hard it is for every model
	simPerturbationSD = 0.6 // per (query, variant): input-side effect, the same for every model
	simAffinitySD     = 0.8 // per (model, query): the best model varies by query
)

// Sim is the embedded simulator: a model with a skill answering queries with
// a difficulty, without a network or a key. Each sample of a (query, variant)
// is correct with probability TrueP, decided by a hash of its seed, so the
// same request always gives the same response. A Sim is immutable and safe for
// concurrent use.
type Sim struct {
	name  string
	skill float64
}

var _ Provider = (*Sim)(nil)

// NewSim returns the simulator for a model entry: its Name and Skill matter,
// every other field is ignored.
func NewSim(m config.Model) *Sim {
	return &Sim{name: m.Name, skill: m.Skill}
}

// TrueP returns the probability in (0, 1) that one sample of this model on
// (queryID, variantID) is correct:
// sigmoid(skill - difficulty(query) + perturbation(query, variant) + affinity(model, query)).
func (s *Sim) TrueP(queryID string, variantID int32) float64 {
	difficulty := simDifficultySD * normal(newHash("difficulty").str(queryID))
	perturbation := simPerturbationSD * normal(newHash("perturbation").str(queryID).u64(uint64(int64(variantID))))
	affinity := simAffinitySD * normal(newHash("affinity").str(s.name).str(queryID))
	return 1 / (1 + math.Exp(-(s.skill - difficulty + perturbation + affinity)))
}

// Generate answers req.N samples of one prompt. Sample i uses req.Seeds[i]
// (Seeds[0]+i when Seeds is shorter); the answer is written in the format the
// last user message asks for. Tokens and latency are simulated: Generate
// never sleeps.
func (s *Sim) Generate(ctx context.Context, req Request) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("generate %q: %w", s.name, err)
	}
	if req.N < 1 {
		return Response{}, &Error{Model: s.name, Message: fmt.Sprintf("n must be at least 1, got %d", req.N)}
	}
	p := s.TrueP(req.Meta.QueryID, req.Meta.VariantID)
	format := detectAnswerFormat(req.Messages)
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
		seed := sampleSeed(req.Seeds, i)
		answer := req.Meta.Gold
		if newHash("correct").u64(uint64(seed)).uniform() >= p {
			answer = wrongAnswer(req.Meta, seed)
		}
		text := simText(format, answer, seed)
		tokens := ceilQuarter(utf8.RuneCountInString(text)) + 20 + int64(newHash("hidden").u64(uint64(seed)).sum()%181)
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
