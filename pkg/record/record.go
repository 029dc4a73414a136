// Package record holds the rows that flow between the stages of a run:
// variants, generations, scores, labels, routes and the simulator's truth.
// They are plain values: the store persists them, pkg/parquetio writes them,
// the stages produce and consume them. Column names and meanings are
// documented once in docs/schema.md.
package record

import (
	"cmp"
	"strings"
	"time"
)

// Sources of a variant.
const (
	SourceOriginal = "original" // variant 0: the query as the data set gives it
	SourceRewrite  = "rewrite"  // written by the rewriter model
	SourceGiven    = "given"    // listed in the data set's variants field
)

// Score statuses. Only StatusScored counts in a label.
const (
	StatusScored   = "scored"   // the judge read an answer and scored it
	StatusUnscored = "unscored" // the judge could not find an answer to score
	StatusError    = "error"    // the generation failed or the judge failed
	// StatusCallFailed is a verdict a judge could not give because a paid
	// call it needed (an llm judge's call to its model) failed: not final,
	// asked again by the next judge pass. The store keeps it apart; every
	// output shows it as StatusError with the reason in Detail.
	StatusCallFailed = "call_failed"
)

// Purposes of a paid call: every generation the store holds was made for
// one of them (DESIGN §7).
const (
	PurposeSample  = "sample"  // a candidate model's sample of a variant
	PurposeJudge   = "judge"   // an llm judge's call about one generation
	PurposeRewrite = "rewrite" // the rewriter's call for a query's variants
	PurposeVerify  = "verify"  // the verifier's call about a rewrite
)

// Rewrite statuses: what became of a rewrite the rewriter proposed.
const (
	RewriteKept     = "kept"     // it passed the filters (and the verifier): a variant
	RewriteRejected = "rejected" // a filter or the verifier turned it down (Reason says which)
	RewriteFailed   = "failed"   // the attempt gave no rewrite to decide: the call failed or its answer did not parse
)

// Verifier verdicts of a rewrite; "" when it was not verified.
const (
	VerdictYes = "yes"
	VerdictNo  = "no"
)

// Rewrite is one rewrite a rewriter proposed for a query, or one failed
// attempt to get some. Attempts are numbered per query from 0, in the order
// they were made; Item is the rewrite's position in the attempt's answer (0
// for a failed attempt).
type Rewrite struct {
	QueryID         string
	Attempt         int32
	Item            int32
	Text            string // the rewrite; a failed attempt's answer, clipped
	Status          string // RewriteKept, RewriteRejected or RewriteFailed
	Reason          string // why it was rejected or failed; "" when kept
	VariantID       int32  // the variant it became when kept; -1 otherwise
	VerifierVerdict string // VerdictYes, VerdictNo, or "" when not verified
	Rewriter        string // the models[] name that wrote it
	CallKey         string // the generation key of the call that proposed it
}

// Variant is one phrasing of a query. VariantID 0 is the original.
type Variant struct {
	QueryID   string
	VariantID int32
	Source    string
	Text      string
	Rewriter  string // model name that wrote it; empty unless Source is rewrite
}

// Generation is one sample: one model's answer to one variant.
type Generation struct {
	Key              string // generation_key: hex sha256 of the canonical request
	QueryID          string
	VariantID        int32
	Model            string // the models[] name in the run file
	SampleIndex      int32
	Seed             int64
	Temperature      float64
	TopP             float64
	MaxTokens        int32
	OutputText       string
	FinishReason     string
	PromptTokens     int64
	CompletionTokens int64
	CostUSD          float64
	LatencyMS        int64
	Attempts         int32
	Error            string // empty when the endpoint answered
	CreatedAt        time.Time
	// UsageEstimated marks tokens dars estimated (four characters a token)
	// because the endpoint reported no usage or an impossible figure (one
	// choice's completion tokens for n > 1).
	UsageEstimated bool
	// ReasoningTokens are the completion tokens a reasoning model spent
	// thinking before it answered: part of CompletionTokens (and billed
	// with them), reported by the endpoint; 0 when it reported none.
	ReasoningTokens int64

	// Purpose says what the call was paid for (PurposeSample when empty);
	// Caller names who made it (an llm judge's name) and Subject what it is
	// about (the key of the generation an llm judge's call judges). They
	// live in the store only: generations.parquet holds samples alone.
	Purpose string
	Caller  string
	Subject string
}

// Score is one judge's verdict on one generation.
type Score struct {
	GenerationKey string
	QueryID       string
	VariantID     int32
	Model         string
	SampleIndex   int32
	Judge         string
	Status        string // StatusScored, StatusUnscored or StatusError
	Score         float64
	Passed        bool
	Extracted     string
	Detail        string
}

// Label is the distribution-aware label of one (query, model) pair.
type Label struct {
	QueryID         string
	Model           string
	N               int64 // scored observations
	NUnscored       int64
	NError          int64
	Successes       int64 // scored observations with Passed
	Mean            float64
	Std             float64 // sample standard deviation, ddof 1; 0 when N <= 1
	VariantMeans    []float64
	VarBetween      float64
	VarWithin       float64
	BetaAlpha       float64
	BetaBeta        float64
	CILow           float64 // the interval over every rewrite of the query (labels schema 2)
	CIHigh          float64
	CILowIID        float64 // the interval as if the observations were independent draws
	CIHighIID       float64
	PassAtK         []float64 // aligned with the configured k values
	CostMean        float64
	CostNorm        float64
	Utility         float64
	PBest           float64
	IsBest          bool
	SingleShotScore float64
}

// Route is the routing target of one query.
type Route struct {
	QueryID             string
	BestModel           string
	BestUtility         float64
	PBest               []float64 // aligned with the run's model order
	SingleShotBestModel string
	SingleShotFlipRate  float64
}

// Truth is the simulator's true success probability of one
// (query, variant, model) triple.
type Truth struct {
	QueryID   string
	VariantID int32
	Model     string
	P         float64
}

// CompareGenerations orders generations as generations.parquet and the
// store sort them: query_id (CompareQueryID), variant_id, model,
// sample_index, then generation key.
func CompareGenerations(a, b *Generation) int {
	return compareSample(a.QueryID, b.QueryID, a.VariantID, b.VariantID, a.Model, b.Model, a.SampleIndex, b.SampleIndex,
		a.Key, b.Key)
}

// CompareScores orders verdicts as scores.parquet and the store sort them:
// by their generation as CompareGenerations does, then judge name.
func CompareScores(a, b *Score) int {
	return cmp.Or(compareSample(a.QueryID, b.QueryID, a.VariantID, b.VariantID, a.Model, b.Model, a.SampleIndex, b.SampleIndex,
		a.GenerationKey, b.GenerationKey), strings.Compare(a.Judge, b.Judge))
}

// CompareSampleKeys orders the identity of samples, or of rows keyed by a
// prefix of it (zero values for the parts a row lacks): query_id
// (CompareQueryID), variant_id, model, sample_index. It is the one order
// of every output; the store's SQL mirrors it (pkg/store).
func CompareSampleKeys(qa, qb string, va, vb int32, ma, mb string, sa, sb int32) int {
	return compareSample(qa, qb, va, vb, ma, mb, sa, sb, "", "")
}

func compareSample(qa, qb string, va, vb int32, ma, mb string, sa, sb int32, ka, kb string) int {
	if c := CompareQueryID(qa, qb); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(va, vb), strings.Compare(ma, mb), cmp.Compare(sa, sb), strings.Compare(ka, kb))
}

// CompareQueryID orders query ids the way every output is sorted: ids that
// are both decimal integers compare as numbers ("2" < "10"), any other pair
// compares as strings, and integers sort before other ids.
func CompareQueryID(a, b string) int {
	ai, aok := decimal(a)
	bi, bok := decimal(b)
	switch {
	case aok && bok:
		if ai != bi {
			if ai < bi {
				return -1
			}
			return 1
		}
	case aok:
		return -1
	case bok:
		return 1
	}
	return strings.Compare(a, b)
}

// decimal reads a non-negative decimal integer of at most 18 digits.
func decimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
