// Package report summarises a run's labels for people: a table per model on
// the terminal, the same figures as JSON.
package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/darslabs/dars/pkg/record"
)

// ModelSummary is one model's figures over the queries of a run.
type ModelSummary struct {
	Model       string   `json:"model"`
	Queries     int      `json:"queries"`      // queries with at least one scored observation
	Scored      int64    `json:"scored"`       // scored observations
	Unscored    int64    `json:"unscored"`     // observations the judge could not read
	Errors      int64    `json:"errors"`       // failed observations
	MeanSuccess Number   `json:"mean_success"` // average of the per-query means
	MeanStd     Number   `json:"mean_std"`     // average per-query standard deviation
	MeanCIWidth Number   `json:"mean_ci_width"`
	PassAtK     []Number `json:"pass_at_k"` // averages, aligned with Summary.K
	CostMean    Number   `json:"cost_mean_usd"`
	BestShare   Number   `json:"best_share"` // share of queries routed to this model
	MeanPBest   Number   `json:"mean_p_best"`
	// InputShare is the share of the model's variance that lies between a
	// query's variants (the input side: how it is asked) rather than
	// within them (the output side: sampling), over the queries with both:
	// sum of var_between / sum of (var_between + var_within).
	InputShare Number `json:"input_share"`
}

// RewriteSummary counts rewrites.parquet: what the rewriter proposed.
type RewriteSummary struct {
	Kept     int            `json:"kept"`
	Rejected int            `json:"rejected"`
	Failed   int            `json:"failed"`  // attempts that gave no rewrite
	Reasons  map[string]int `json:"reasons"` // rejected and failed, by reason (its text before the first ":")
	// Short counts the queries left with fewer variants than
	// paraphrase.count, and Count is that count (from manifest.json; 0
	// when it does not say).
	Short int `json:"queries_short"`
	Count int `json:"count"`
}

// Summary is a whole run's summary.
type Summary struct {
	Queries        int             `json:"queries"`
	K              []int           `json:"k"`
	Models         []ModelSummary  `json:"models"`
	MeanFlipRate   Number          `json:"mean_single_shot_flip_rate"` // average over queries
	SingleShotSame Number          `json:"single_shot_agreement"`      // share of queries whose single-shot best is the best
	Undecided      int             `json:"queries_without_best"`       // queries where no model had a scored observation
	Agreement      []Agreement     `json:"judge_agreement,omitempty"`  // every pair of judges, when there are several
	Rewrites       *RewriteSummary `json:"rewrites,omitempty"`         // when a rewriter wrote variants
}

// SummarizeRewrites counts a rewrites log.
func SummarizeRewrites(ws []record.Rewrite) *RewriteSummary {
	s := &RewriteSummary{Reasons: map[string]int{}}
	for _, w := range ws {
		switch w.Status {
		case record.RewriteKept:
			s.Kept++
			continue
		case record.RewriteRejected:
			s.Rejected++
		case record.RewriteFailed:
			s.Failed++
		}
		reason, _, _ := strings.Cut(w.Reason, ":")
		s.Reasons[reason]++
	}
	return s
}

// Agreement is how often two judges pass or fail the same generations.
type Agreement struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Both   int64  `json:"both_scored"` // generations both judges scored
	Agrees Number `json:"agreement"`   // share of those with the same passed; NaN when none
}

// Summarize computes the summary of labels ls (with pass@k columns ks) and
// routes rs over models. Averages skip undefined (NaN) values.
func Summarize(ls []record.Label, ks []int, rs []record.Route, models []string) Summary {
	s := Summary{Queries: len(rs), K: ks}
	idx := map[string]int{}
	for i, m := range models {
		idx[m] = i
		s.Models = append(s.Models, ModelSummary{Model: m, PassAtK: make([]Number, len(ks))})
	}
	type acc struct {
		mean, std, ci, cost, pbest mean
		between, total             float64
	}
	accs := make([]acc, len(models))
	passes := make([][]mean, len(models))
	for i := range passes {
		passes[i] = make([]mean, len(ks))
	}
	for _, l := range ls {
		i, ok := idx[l.Model]
		if !ok {
			continue
		}
		m, a := &s.Models[i], &accs[i]
		m.Scored += l.N
		m.Unscored += l.NUnscored
		m.Errors += l.NError
		if l.N > 0 {
			m.Queries++
		}
		if l.IsBest {
			m.BestShare++
		}
		a.mean.add(l.Mean)
		if l.N > 0 { // a pair with no observation has only the prior's interval
			a.std.add(l.Std)
			a.ci.add(l.CIHigh - l.CILow)
		}
		a.cost.add(l.CostMean)
		a.pbest.add(l.PBest)
		if !math.IsNaN(l.VarBetween) && !math.IsNaN(l.VarWithin) {
			a.between += l.VarBetween
			a.total += l.VarBetween + l.VarWithin
		}
		for k := range ks {
			if k < len(l.PassAtK) {
				passes[i][k].add(l.PassAtK[k])
			}
		}
	}
	for i := range s.Models {
		m, a := &s.Models[i], &accs[i]
		m.MeanSuccess, m.MeanStd, m.MeanCIWidth = Number(a.mean.value()), Number(a.std.value()), Number(a.ci.value())
		m.CostMean, m.MeanPBest = Number(a.cost.value()), Number(a.pbest.value())
		m.InputShare = Number(math.NaN())
		if a.total > 0 {
			m.InputShare = Number(a.between / a.total)
		}
		for k := range ks {
			m.PassAtK[k] = Number(passes[i][k].value())
		}
		if s.Queries > 0 {
			m.BestShare /= Number(s.Queries)
		}
	}
	var flip, same mean
	for _, r := range rs {
		if r.BestModel == "" {
			s.Undecided++
			continue
		}
		flip.add(r.SingleShotFlipRate)
		if r.SingleShotBestModel == r.BestModel {
			same.add(1)
		} else {
			same.add(0)
		}
	}
	s.MeanFlipRate, s.SingleShotSame = Number(flip.value()), Number(same.value())
	return s
}

// JudgeAgreement compares every pair of judges on the generations both
// scored: the share where both pass or both fail. Judges are in name order.
func JudgeAgreement(scores []record.Score) []Agreement {
	passed := map[string]map[string]bool{} // judge → generation key → passed
	for _, sc := range scores {
		if sc.Status != record.StatusScored {
			continue
		}
		if passed[sc.Judge] == nil {
			passed[sc.Judge] = map[string]bool{}
		}
		passed[sc.Judge][sc.GenerationKey] = sc.Passed
	}
	judges := make([]string, 0, len(passed))
	for j := range passed {
		judges = append(judges, j)
	}
	slices.Sort(judges)
	var out []Agreement
	for i, a := range judges {
		for _, b := range judges[i+1:] {
			ag := Agreement{A: a, B: b}
			var same int64
			for k, pa := range passed[a] {
				if pb, ok := passed[b][k]; ok {
					ag.Both++
					if pa == pb {
						same++
					}
				}
			}
			ag.Agrees = Number(math.NaN())
			if ag.Both > 0 {
				ag.Agrees = Number(float64(same) / float64(ag.Both))
			}
			out = append(out, ag)
		}
	}
	return out
}

// mean averages the finite values it is given.
type mean struct {
	sum float64
	n   int
}

func (m *mean) add(v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		m.sum += v
		m.n++
	}
}

func (m mean) value() float64 {
	if m.n == 0 {
		return math.NaN()
	}
	return m.sum / float64(m.n)
}

// WriteText writes the summary as an aligned table.
func WriteText(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"model", "queries", "scored", "unscored", "errors", "mean", "std", "ci width"}
	for _, k := range s.K {
		head = append(head, fmt.Sprintf("pass@%d", k))
	}
	head = append(head, "cost/sample $", "best share", "p_best")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, m := range s.Models {
		cols := []string{m.Model, fmt.Sprint(m.Queries), fmt.Sprint(m.Scored), fmt.Sprint(m.Unscored), fmt.Sprint(m.Errors),
			num(m.MeanSuccess, 3), num(m.MeanStd, 3), num(m.MeanCIWidth, 3)}
		for _, p := range m.PassAtK {
			cols = append(cols, num(p, 3))
		}
		cols = append(cols, num(m.CostMean, 6), num(m.BestShare, 3), num(m.MeanPBest, 3))
		fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var err error
	if decided := s.Queries - s.Undecided; decided > 0 {
		_, err = fmt.Fprintf(w, "\n%d queries; single-shot labels pick a different best model %.1f%% of the time (mean flip rate); draw 0 agrees with the distribution on %.1f%% of queries\n",
			s.Queries, 100*s.MeanFlipRate, 100*s.SingleShotSame)
	}
	if err == nil && s.Rewrites != nil {
		_, err = fmt.Fprintf(w, "rewrites (rewrites.parquet): %d kept, %d rejected, %d attempts gave none%s\n",
			s.Rewrites.Kept, s.Rewrites.Rejected, s.Rewrites.Failed, reasonList(s.Rewrites.Reasons))
		if err == nil && s.Rewrites.Short > 0 {
			_, err = fmt.Fprintf(w, "%d queries have fewer variants than paraphrase.count (%d) asks for: they are labelled with the ones they have\n",
				s.Rewrites.Short, s.Rewrites.Count)
		}
	}
	if err == nil && s.Queries > 0 {
		var parts []string
		for _, m := range s.Models {
			if !math.IsNaN(float64(m.InputShare)) {
				parts = append(parts, fmt.Sprintf("%s %s", m.Model, pct(m.InputShare)))
			}
		}
		if len(parts) > 0 {
			_, err = fmt.Fprintf(w, "input side: the share of each model's variance between a query's variants, the rest within them: %s\n", strings.Join(parts, ", "))
		}
	}
	for _, ag := range s.Agreement {
		if err == nil {
			_, err = fmt.Fprintf(w, "judges %s and %s agree on %s of the %d samples both scored\n", ag.A, ag.B, pct(ag.Agrees), ag.Both)
		}
	}
	if err == nil && s.Undecided > 0 {
		_, err = fmt.Fprintf(w, "\n%d of %d queries have no scored observation for any model\n", s.Undecided, s.Queries)
	}
	return err
}

// Number is a figure that may be undefined (NaN); JSON writes that as null,
// which encoding/json cannot do for a bare float64.
type Number float64

// MarshalJSON writes the number, or null when it is NaN or infinite.
func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

func pct(v Number) string {
	if math.IsNaN(float64(v)) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(v))
}

func num(v Number, prec int) string {
	if math.IsNaN(float64(v)) {
		return "-"
	}
	return fmt.Sprintf("%.*f", prec, v)
}

// reasonList writes reasons as "; by reason: answer_leak 14, duplicate 10",
// most frequent first; "" when there are none.
func reasonList(reasons map[string]int) string {
	if len(reasons) == 0 {
		return ""
	}
	names := slices.Collect(maps.Keys(reasons))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(reasons[b], reasons[a]), strings.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, reasons[n])
	}
	return "; by reason: " + strings.Join(parts, ", ")
}
