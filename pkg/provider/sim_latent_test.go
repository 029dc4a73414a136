package provider

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

// TestSimTextIdentity: outcomes follow the question's text and the data
// set, not the row-number id, so two data sets numbered 1..n differ.
func TestSimTextIdentity(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 0.5}, config.Simulator{})
	base := Meta{QueryID: "1", Dataset: "test.jsonl", Question: "Tom has 3 apples and buys 4 more. How many now?"}
	base.VariantText = base.Question
	p := s.TrueP(base)

	renumbered := base
	renumbered.QueryID, renumbered.VariantID = "77", 3
	if got := s.TrueP(renumbered); got != p {
		t.Errorf("same texts under other ids: p %v, want %v", got, p)
	}
	spaced := base
	spaced.Question = "  tom has 3 apples and\tbuys 4 more.  HOW many now? "
	spaced.VariantText = spaced.Question
	if got := s.TrueP(spaced); got != p {
		t.Errorf("the same text in other case and spacing: p %v, want %v", got, p)
	}

	differs := func(name string, mutate func(m *Meta)) {
		t.Helper()
		n := 0
		for i := range 50 {
			a := base
			a.Question = fmt.Sprintf("%s (%d)", base.Question, i)
			a.VariantText = a.Question
			b := a
			mutate(&b)
			if s.TrueP(a) != s.TrueP(b) {
				n++
			}
		}
		if n < 50 {
			t.Errorf("%s: p differs on %d of 50 queries, want all", name, n)
		}
	}
	differs("other data set", func(m *Meta) { m.Dataset = "other.csv" })
	differs("other question, same ids", func(m *Meta) { m.Question += " Explain."; m.VariantText = m.Question })
	differs("other variant text", func(m *Meta) { m.VariantText = "Consider this. " + m.VariantText })
	differs("other subject", func(m *Meta) { m.Subject = "astronomy" })
}

// TestSimSpreads: the run file's spreads are the SDs of the logit parts,
// and a zero spread removes its part.
func TestSimSpreads(t *testing.T) {
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	const n = 4000
	for _, sc := range []config.Simulator{
		{DifficultySD: 1.5, InputSD: 0.6, AffinitySD: 0.8, Affinity: config.AffinityText},
		{DifficultySD: 0, InputSD: 1.5, AffinitySD: 0, Affinity: config.AffinityHash},
		{DifficultySD: 2, InputSD: 0, AffinitySD: 1.2, Affinity: config.AffinityText},
	} {
		t.Run(fmt.Sprintf("%+v", sc), func(t *testing.T) {
			s := NewSim(config.Model{Name: "m", Skill: 0.3}, sc)
			var total, input []float64
			for i := range n {
				q := randomQuestion(i, 12)
				a := Meta{Dataset: "d", Question: q, VariantText: q}
				b := a
				b.VariantText = "Rephrased: " + q
				la, lb := logit(s.TrueP(a)), logit(s.TrueP(b))
				total = append(total, la)
				// Two variants of one query differ only by their
				// perturbations: the difference has SD sqrt(2)·input_sd.
				input = append(input, (la-lb)/math.Sqrt2)
			}
			want := math.Sqrt(sc.DifficultySD*sc.DifficultySD + sc.InputSD*sc.InputSD + sc.AffinitySD*sc.AffinitySD)
			if got := stddev(total); math.Abs(got-want) > 0.06*want+0.01 {
				t.Errorf("SD of the logit %.3f, want %.3f", got, want)
			}
			if got := stddev(input); math.Abs(got-sc.InputSD) > 0.06*sc.InputSD+1e-9 {
				t.Errorf("SD of the input-side part %.3f, want %.3f", got, sc.InputSD)
			}
		})
	}
}

// TestSimAffinityStructure: under affinity text, queries that share most of
// their words have correlated affinities (a router can learn where a model
// is strong) while queries with no word in common do not; under affinity
// hash nothing is shared. Either way the affinity's spread is affinity_sd,
// over queries for one model and over models for one query.
func TestSimAffinityStructure(t *testing.T) {
	const (
		pairs  = 300
		models = 40
	)
	for _, tt := range []struct {
		mode                   string
		sharedLo, sharedHi     float64
		disjointLo, disjointHi float64
	}{
		// Sharing 9 of 12 words, two topics have cosine about 0.75, and
		// 70% of the affinity's variance is the topic part: about 0.5.
		{config.AffinityText, 0.35, 0.7, -0.1, 0.1},
		{config.AffinityHash, -0.1, 0.1, -0.1, 0.1},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			sc := config.DefaultSimulator()
			sc.Affinity = tt.mode
			sims := make([]*Sim, models)
			for i := range sims {
				sims[i] = NewSim(config.Model{Name: fmt.Sprint("model-", i)}, sc)
			}
			aff := func(s *Sim, q string) float64 {
				m := Meta{Dataset: "d", Question: q}
				return s.affinity(m, questionDigest(m))
			}
			var all, sharedX, sharedY, disX, disY []float64
			for p := range pairs {
				words := strings.Fields(randomQuestion(p, 15))
				a := strings.Join(words[:12], " ")
				b := strings.Join(append(append([]string{}, words[:9]...), words[12:15]...), " ")
				c := randomQuestion(pairs+p, 12)
				for _, s := range sims {
					xa, xb, xc := aff(s, a), aff(s, b), aff(s, c)
					sharedX, sharedY = append(sharedX, xa), append(sharedY, xb)
					disX, disY = append(disX, xa), append(disY, xc)
					all = append(all, xa)
				}
			}
			if r := corr(sharedX, sharedY); r < tt.sharedLo || r > tt.sharedHi {
				t.Errorf("correlation of affinities of queries sharing 9 of 12 words %.3f, want in [%.2f, %.2f]", r, tt.sharedLo, tt.sharedHi)
			}
			if r := corr(disX, disY); r < tt.disjointLo || r > tt.disjointHi {
				t.Errorf("correlation of affinities of queries with no word in common %.3f, want in [%.2f, %.2f]", r, tt.disjointLo, tt.disjointHi)
			}
			if got := stddev(all); math.Abs(got-sc.AffinitySD) > 0.05 {
				t.Errorf("SD of the affinity %.3f, want %.2f", got, sc.AffinitySD)
			}
			// One model over many queries: its spread is affinity_sd too,
			// whatever its weights.
			for _, s := range sims[:3] {
				var xs []float64
				for q := range 3000 {
					xs = append(xs, aff(s, randomQuestion(10_000+q, 12)))
				}
				if got := stddev(xs); math.Abs(got-sc.AffinitySD) > 0.06 {
					t.Errorf("%s: SD of the affinity over queries %.3f, want %.2f", s.name, got, sc.AffinitySD)
				}
			}
		})
	}
}

// TestSimSubjectAffinity: items of one subject share part of their topic,
// so their affinities correlate even when their words differ.
func TestSimSubjectAffinity(t *testing.T) {
	var xs, ys []float64
	for i := range 40 {
		s := NewSim(config.Model{Name: fmt.Sprint("model-", i)}, config.Simulator{})
		for q := range 100 {
			a := Meta{Question: randomQuestion(q, 10), Subject: "college_chemistry"}
			b := Meta{Question: randomQuestion(1000+q, 10), Subject: "college_chemistry"}
			xs = append(xs, s.affinity(a, questionDigest(a)))
			ys = append(ys, s.affinity(b, questionDigest(b)))
		}
	}
	// Half the topic is the subject's: cosine about 0.5, times 0.7.
	if r := corr(xs, ys); r < 0.2 || r > 0.55 {
		t.Errorf("correlation of affinities within a subject %.3f, want in [0.2, 0.55]", r)
	}
}

// randomQuestion returns n words drawn by hash from a vocabulary of 2,000
// made-up content words: question i is the same on every call.
func randomQuestion(i, n int) string {
	words := make([]string, n)
	for j := range words {
		words[j] = fmt.Sprintf("word%c%c%c", 'a'+rune(newHash("q").u64(uint64(i)).u64(uint64(j)).sum()%26),
			'a'+rune(newHash("q2").u64(uint64(i)).u64(uint64(j)).sum()%26),
			'a'+rune(newHash("q3").u64(uint64(i)).u64(uint64(j)).sum()%3))
	}
	return strings.Join(words, " ")
}

func stddev(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
		sq += x * x
	}
	n := float64(len(xs))
	return math.Sqrt(sq/n - (sum/n)*(sum/n))
}

func corr(xs, ys []float64) float64 {
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(len(xs))
	my /= float64(len(ys))
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ys[i] - my) * (ys[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// FuzzSimHashText: hashing a text normalised on the fly equals hashing the
// normalised string, so the question digest and the rewriter's duplicate
// test agree on what counts as the same text.
func FuzzSimHashText(f *testing.F) {
	for _, s := range []string{"", "  How MANY\tapples?\n", "Ünïcode  Σ ß", "\xff\xfe bad utf8", "a\u00a0b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := newHash("x").text(s), newHash("x").str(normText(s)); got != want {
			t.Errorf("text(%q) = %x, str(normText) = %x", s, got, want)
		}
	})
}
