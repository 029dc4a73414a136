package provider

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/config"
)

// The text affinity's structure (docs/simulator.md). Neither is a run-file
// key: affinity_sd sets the affinity's size, these only its shape.
const (
	// simDims is the number of latent topic directions a query's words
	// are hashed into. With few directions, queries that share a few words
	// already point the same way, so a router learns from a few hundred
	// queries; each model is strong in some directions and weak in others.
	simDims = 4
	// simNoiseShare is the share of an affinity's variance that is pure
	// noise per (model, query), which no router can learn from the text.
	simNoiseShare = 0.3
)

// TrueP returns the probability in (0, 1) that one sample of this model on
// the query and variant m describes is correct:
//
//	sigmoid(skill - difficulty + perturbation + affinity)
//
// difficulty ~ difficulty_sd·N(0,1) from a hash of (m.Dataset, m.Question);
// perturbation ~ input_sd·N(0,1) from a hash of (m.Dataset, m.Question,
// m.VariantText); affinity from the model and the question's words or
// subject (see affinity). Texts are compared lower-cased with their
// whitespace collapsed. A Meta without a Question hashes its QueryID
// instead, one without a VariantText its VariantID.
func (s *Sim) TrueP(m Meta) float64 {
	q := questionDigest(m)
	difficulty := s.cfg.DifficultySD * normal(newHash("difficulty").str(m.Dataset).u64(q))
	perturbation := s.cfg.InputSD * normal(newHash("perturbation").str(m.Dataset).u64(q).u64(variantDigest(m)))
	return 1 / (1 + math.Exp(-(s.skill - difficulty + perturbation + s.affinity(m, q))))
}

// affinity returns the model's logit bonus on the query whose question
// digest is q:
// affinity_sd·noise for affinity hash, where noise ~ N(0,1) hashes (model,
// data set, question); for affinity text
//
//	affinity_sd·(sqrt(1-w)·<weights, topic(m)> + sqrt(w)·noise)
//
// with w = simNoiseShare, the model's weights of length sqrt(simDims) and
// the query's topic a unit vector, so <weights, topic> has variance 1 over
// models for a query and over queries for a model, and the affinity's
// spread is affinity_sd either way.
func (s *Sim) affinity(m Meta, q uint64) float64 {
	noise := normal(newHash("affinity").str(s.name).str(m.Dataset).u64(q))
	if s.cfg.Affinity == config.AffinityHash {
		return s.cfg.AffinitySD * noise
	}
	u := topic(m, q)
	var dot float64
	for i := range simDims {
		dot += s.weights[i] * u[i]
	}
	return s.cfg.AffinitySD * (math.Sqrt(1-simNoiseShare)*dot + math.Sqrt(simNoiseShare)*noise)
}

// modelWeights returns a model's direction in the topic space, hashed from
// its name and scaled to length sqrt(simDims).
func modelWeights(name string) [simDims]float64 {
	w := direction("model", name)
	unit(&w)
	for i := range w {
		w[i] *= math.Sqrt(simDims)
	}
	return w
}

// topic returns the unit vector of a query's topic: the normalised sum of
// the directions of its content words (lower-cased runs of letters, three
// bytes or more, not stop words; each distinct word once), averaged half
// and half with its subject's direction when it has one; a query with
// neither gets a direction of its own, from q. It allocates nothing for a
// question of up to 64 distinct content words: it runs for every request.
func topic(m Meta, q uint64) [simDims]float64 {
	var text [simDims]float64
	var seenBuf [64]simHash
	seen := seenBuf[:0]
	var wordBuf [64]byte
	word := wordBuf[:0]
	flush := func() {
		if _, stop := stopWords[string(word)]; len(word) >= 3 && !stop {
			h := newHash("word").bytes(word)
			if !slices.Contains(seen, h) {
				seen = append(seen, h)
				d := directionOf(h)
				for i := range text {
					text[i] += d[i]
				}
			}
		}
		word = word[:0]
	}
	for _, r := range m.Question {
		if unicode.IsLetter(r) {
			word = utf8.AppendRune(word, unicode.ToLower(r))
			continue
		}
		flush()
	}
	flush()
	hasText := unit(&text)
	subject := strings.ToLower(strings.TrimSpace(m.Subject))
	switch {
	case subject != "":
		u := direction("subject", subject)
		unit(&u)
		for i := range u {
			u[i] += text[i]
		}
		unit(&u)
		return u
	case hasText:
		return text
	}
	u := directionOf(newHash("query").u64(q))
	unit(&u)
	return u
}

// stopWords are words that say nothing of a query's topic: function words
// and the phrasing every question of a benchmark shares.
var stopWords = func() map[string]struct{} {
	words := strings.Fields(`
		the and for are was were been being its this that these those
		what which who whom whose when where why how many much does did has have had
		will would can could should may might must not than then there their they them
		his her him you your our she into about after before each every per all some any
		more most less other such only also same both either neither from with
		following true false answer question statement statements best correct choose select
		find given let value total number`)
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}()

// direction returns simDims standard normal draws hashed from (label, s).
func direction(label, s string) [simDims]float64 { return directionOf(newHash(label).str(s)) }

// directionOf returns simDims standard normal draws hashed from h.
func directionOf(h simHash) [simDims]float64 {
	var d [simDims]float64
	for i := range d {
		d[i] = normal(h.u64(uint64(i)))
	}
	return d
}

// unit scales v to length 1 and reports whether it could (v is not zero).
func unit(v *[simDims]float64) bool {
	var n float64
	for _, x := range v {
		n += x * x
	}
	if n == 0 {
		return false
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] /= n
	}
	return true
}

// questionDigest is what identifies the query's question in the hashes:
// its text, lower-cased with its whitespace collapsed, or its id when the
// Meta has no text.
func questionDigest(m Meta) uint64 {
	if strings.TrimSpace(m.Question) == "" {
		return newHash("query id").str(m.QueryID).sum()
	}
	return newHash("question").text(m.Question).sum()
}

// variantDigest is what identifies the variant in the perturbation's hash:
// its text, normalised like the question, or its id when the Meta has no
// text.
func variantDigest(m Meta) uint64 {
	if strings.TrimSpace(m.VariantText) == "" {
		return newHash("variant id").u64(uint64(int64(m.VariantID))).sum()
	}
	return newHash("variant").text(m.VariantText).sum()
}

// normText lower-cases s and collapses its whitespace, as dars's duplicate
// filter compares rewrites; simHash.text hashes the same bytes.
func normText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
