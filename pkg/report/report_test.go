package report

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/record"
)

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	ls := []record.Label{
		{QueryID: "1", Model: "a", N: 4, Mean: 0.5, Std: 0.5, CILow: 0.2, CIHigh: 0.8, PassAtK: []float64{0.5}, CostMean: 1, PBest: 0.3},
		{QueryID: "1", Model: "b", N: 4, Mean: 1, Std: 0, CILow: 0.6, CIHigh: 1, PassAtK: []float64{1}, CostMean: 3, PBest: 0.7, IsBest: true},
		{QueryID: "2", Model: "a", N: 4, NUnscored: 1, Mean: 0, Std: 0, CILow: 0, CIHigh: 0.4, PassAtK: []float64{0}, CostMean: 1, PBest: 0, IsBest: false},
		{QueryID: "2", Model: "b", N: 0, NError: 4, Mean: nan, Std: 0, CILow: 0, CIHigh: 1, PassAtK: []float64{nan}, CostMean: 2, PBest: 0},
	}
	rs := []record.Route{
		{QueryID: "1", BestModel: "b", SingleShotBestModel: "a", SingleShotFlipRate: 0.4},
		{QueryID: "2", BestModel: "", SingleShotFlipRate: nan},
	}
	s := Summarize(ls, []int{1}, rs, []string{"a", "b"})
	a, b := s.Models[0], s.Models[1]
	if s.Queries != 2 || s.Undecided != 1 {
		t.Fatalf("queries %d undecided %d", s.Queries, s.Undecided)
	}
	if a.MeanSuccess != 0.25 || a.Queries != 2 || a.Unscored != 1 || a.BestShare != 0 {
		t.Errorf("model a: %+v", a)
	}
	if b.MeanSuccess != 1 || b.Queries != 1 || b.Errors != 4 || b.BestShare != 0.5 || b.PassAtK[0] != 1 {
		t.Errorf("model b: %+v (NaN means must be skipped)", b)
	}
	if math.Abs(float64(a.MeanCIWidth)-0.5) > 1e-12 || s.MeanFlipRate != 0.4 || s.SingleShotSame != 0 {
		t.Errorf("ci width %v flip %v same %v", a.MeanCIWidth, s.MeanFlipRate, s.SingleShotSame)
	}
	var out strings.Builder
	if err := WriteText(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pass@1", "best share", "40.0%", "1 of 2 queries have no scored observation"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestJudgeAgreementAndJSON(t *testing.T) {
	sc := func(key, judge, status string, passed bool) record.Score {
		return record.Score{GenerationKey: key, Judge: judge, Status: status, Passed: passed}
	}
	ag := JudgeAgreement([]record.Score{
		sc("k1", "b", record.StatusScored, true), sc("k1", "a", record.StatusScored, true),
		sc("k2", "a", record.StatusScored, false), sc("k2", "b", record.StatusScored, true),
		sc("k3", "a", record.StatusScored, true), sc("k3", "b", record.StatusUnscored, false),
		sc("k4", "a", record.StatusScored, false), sc("k4", "b", record.StatusScored, false),
		sc("k5", "c", record.StatusScored, true),
	})
	if len(ag) != 3 || ag[0].A != "a" || ag[0].B != "b" || ag[0].Both != 3 || math.Abs(float64(ag[0].Agrees)-2.0/3) > 1e-12 {
		t.Fatalf("agreement %+v", ag)
	}
	if ag[1].B != "c" || ag[1].Both != 0 || !math.IsNaN(float64(ag[1].Agrees)) {
		t.Fatalf("judges with nothing in common: %+v", ag[1])
	}
	b, err := json.Marshal(Summary{Agreement: ag, MeanFlipRate: Number(math.NaN())})
	if err != nil {
		t.Fatalf("a summary with undefined figures must encode: %v", err)
	}
	if !strings.Contains(string(b), `"mean_single_shot_flip_rate":null`) || !strings.Contains(string(b), `"agreement":null`) {
		t.Fatalf("NaN must encode as null: %s", b)
	}
}

// TestInputSideAndRewrites checks the input side's share of each model's
// variance (pooled over the queries that have both parts) and the count of
// the rewrites log by status and reason, and how the text says them.
func TestInputSideAndRewrites(t *testing.T) {
	nan := math.NaN()
	ls := []record.Label{
		{QueryID: "1", Model: "a", N: 10, VarBetween: 0.01, VarWithin: 0.03},
		{QueryID: "2", Model: "a", N: 10, VarBetween: 0.05, VarWithin: 0.11},
		{QueryID: "1", Model: "b", N: 10, VarBetween: nan, VarWithin: 0.2}, // one variant: no input side
		{QueryID: "2", Model: "b", N: 10, VarBetween: 0, VarWithin: 0.2},
	}
	rs := []record.Route{{QueryID: "1", BestModel: "a"}, {QueryID: "2", BestModel: "a"}}
	s := Summarize(ls, nil, rs, []string{"a", "b"})
	if got := float64(s.Models[0].InputShare); math.Abs(got-0.3) > 1e-12 {
		t.Errorf("model a input share %v, want 0.3 (0.06 of 0.2)", got)
	}
	if got := float64(s.Models[1].InputShare); got != 0 {
		t.Errorf("model b input share %v, want 0 (the pair without variants left out)", got)
	}
	s.Rewrites = SummarizeRewrites([]record.Rewrite{
		{Status: record.RewriteKept}, {Status: record.RewriteKept},
		{Status: record.RewriteRejected, Reason: "duplicate"},
		{Status: record.RewriteRejected, Reason: "verifier_no: lost a number"},
		{Status: record.RewriteRejected, Reason: "verifier_no: other"},
		{Status: record.RewriteFailed, Reason: "unparseable: no JSON"},
	})
	if r := s.Rewrites; r.Kept != 2 || r.Rejected != 3 || r.Failed != 1 || r.Reasons["verifier_no"] != 2 || r.Reasons["unparseable"] != 1 {
		t.Errorf("rewrites %+v", r)
	}
	s.Rewrites.Short, s.Rewrites.Count = 1, 4
	var out strings.Builder
	if err := WriteText(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"rewrites (rewrites.parquet): 2 kept, 3 rejected, 1 attempts gave none; by reason: verifier_no 2, duplicate 1, unparseable 1",
		"between a query's variants, the rest within them: a 30.0%, b 0.0%",
		"1 queries have fewer variants than paraphrase.count (4) asks for: they are labelled with the ones they have",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
}
