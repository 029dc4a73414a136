package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// Manifest is manifest.json: what a run is and what it holds (DESIGN §7),
// documented field by field in docs/schema.md.
type Manifest struct {
	DarsVersion   string         `json:"dars_version"`
	GoVersion     string         `json:"go_version"`
	SchemaVersion string         `json:"schema_version"`
	Run           string         `json:"run"`
	ConfigHash    string         `json:"config_hash"`
	Config        config.Config  `json:"config"` // secrets redacted
	UpdatedAt     time.Time      `json:"updated_at"`
	Counts        ManifestCounts `json:"counts"`
	// Rewrites is what the paraphrase stage left, when it ran.
	Rewrites *rewriteTally   `json:"rewrites,omitempty"`
	Models   []ManifestModel `json:"models"`
	Totals   ManifestTotals  `json:"totals"`
	// JudgeCalls is what each llm judge's calls cost, every call the store
	// holds (earlier rubrics' included: they were paid for). Totals leave
	// it out: they are the candidates' generations.
	JudgeCalls []ManifestJudgeCalls `json:"judge_calls,omitempty"`
	// Spend is every paid call the store holds, by purpose (sample, judge):
	// what the run's directory cost in all, earlier plans included.
	Spend []ManifestSpend `json:"spend"`
	// Store is the run store the manifest was written from: its id and
	// size. A later run refuses a store that is not this one or holds less
	// (lost or damaged): it would pay again for what was paid for.
	Store      ManifestStore      `json:"store"`
	Timings    map[string]float64 `json:"timings_seconds"` // this invocation, per stage
	LastSample *sampler.Summary   `json:"last_sample,omitempty"`
}

// ManifestCounts counts the plan and what the outputs hold.
type ManifestCounts struct {
	Queries          int                         `json:"queries"`
	Variants         int                         `json:"variants"`
	Models           int                         `json:"models"`
	SamplesPlanned   int64                       `json:"samples_planned"`
	Generations      int64                       `json:"generations"`
	GenerationErrors int64                       `json:"generation_errors"`
	Scores           map[string]map[string]int64 `json:"scores"` // judge → status → count
}

// ManifestJudgeCalls is what one llm judge's stored calls cost.
type ManifestJudgeCalls struct {
	Judge string `json:"judge"`
	Model string `json:"model"`
	Spent
}

// ManifestStore names the run store behind a manifest and what it held.
type ManifestStore struct {
	ID string `json:"id"`
	store.Size
}

// ManifestSpend is what the stored calls of one purpose cost.
type ManifestSpend struct {
	Purpose string `json:"purpose"`
	Spent
}

// Spent adds up stored calls.
type Spent struct {
	Calls            int64   `json:"calls"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// add counts sp in s.
func (s *Spent) add(sp store.Spend) {
	s.Calls += sp.Calls
	s.Errors += sp.Errors
	s.PromptTokens += sp.PromptTokens
	s.CompletionTokens += sp.CompletionTokens
	s.CostUSD += sp.CostUSD
}

// byPurpose adds up the store's spend (sorted by purpose) per purpose.
func byPurpose(spend []store.Spend) []ManifestSpend {
	out := []ManifestSpend{}
	for _, sp := range spend {
		if n := len(out); n == 0 || out[n-1].Purpose != sp.Purpose {
			out = append(out, ManifestSpend{Purpose: sp.Purpose})
		}
		out[len(out)-1].add(sp)
	}
	return out
}

// ManifestModel is one candidate's stored generations of the plan.
type ManifestModel struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	ModelTally
	// Adjustments are the request parameters the endpoint refused and dars
	// dropped or renamed for this model during this invocation.
	Adjustments []string `json:"adjustments,omitempty"`
}

// ManifestTotals adds up the candidates' generations of the plan.
type ManifestTotals struct {
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// ModelTally is what one model's stored generations add up to.
type ModelTally struct {
	Generations      int64   `json:"generations"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	FirstError       string  `json:"first_error,omitempty"` // the first failed sample's error, in output order
}

// tally adds up the plan's stored generations per model and verdicts per
// judge and status as they stream past, so the manifest can reuse an export
// pass instead of reading the store again.
type tally struct {
	models map[string]*ModelTally
	scores map[string]map[string]int64 // judge → status → count; nil until scores are counted
}

func newTally() *tally { return &tally{models: map[string]*ModelTally{}} }

// addGeneration counts g.
func (t *tally) addGeneration(g record.Generation) {
	mt := t.models[g.Model]
	if mt == nil {
		mt = &ModelTally{}
		t.models[g.Model] = mt
	}
	mt.Generations++
	if g.Error != "" {
		mt.Errors++
		if mt.FirstError == "" {
			mt.FirstError = g.Error
		}
	}
	mt.PromptTokens += g.PromptTokens
	mt.CompletionTokens += g.CompletionTokens
	mt.CostUSD += g.CostUSD
}

// addScore counts s.
func (t *tally) addScore(s record.Score) {
	if t.scores == nil {
		t.scores = map[string]map[string]int64{}
	}
	if t.scores[s.Judge] == nil {
		t.scores[s.Judge] = map[string]int64{}
	}
	t.scores[s.Judge][s.Status]++
}

// manifestSchema is the version of manifest.json's layout; fields are only
// ever added within a version.
const manifestSchema = "1"

// writeManifest counts what the store holds for the current plan (reusing
// what the export passes counted) and writes manifest.json beside the
// Parquet files.
func (x *execution) writeManifest(ctx context.Context, done counted, sum *sampler.Summary, total time.Duration) (Manifest, error) {
	m := Manifest{
		DarsVersion: x.opts.Version, GoVersion: runtime.Version(), SchemaVersion: manifestSchema,
		Run: x.cfg.Run, ConfigHash: x.cfg.Hash(), Config: x.cfg.Redacted(), UpdatedAt: time.Now().UTC(),
		Timings: x.timings, LastSample: sum, Rewrites: x.rewrites,
	}
	m.Timings["total"] = total.Seconds()
	m.Counts = ManifestCounts{Queries: len(x.queries), Variants: len(x.variants), Models: len(x.models),
		SamplesPlanned: int64(x.keys.Len()), Scores: map[string]map[string]int64{}}
	// The export passes of this execution counted the rows already; what
	// they did not count is read now.
	gens, scores := done.gens, done.scores
	if gens == nil {
		gens = newTally()
		if err := x.eachGeneration(ctx, func(g record.Generation) error { gens.addGeneration(g); return nil }); err != nil {
			return m, err
		}
	}
	if scores == nil {
		scores = newTally()
		if err := x.eachScore(ctx, func(s record.Score) error { scores.addScore(s); return nil }); err != nil {
			return m, err
		}
	}
	for _, mo := range x.models {
		mm := ManifestModel{Name: mo.Config.Name, Provider: mo.Config.Provider}
		if mt := gens.models[mo.Config.Name]; mt != nil {
			mm.ModelTally = *mt
		}
		if a, ok := mo.Provider.(interface{ Adjustments() []string }); ok {
			mm.Adjustments = a.Adjustments()
		}
		m.Counts.Generations += mm.Generations
		m.Counts.GenerationErrors += mm.Errors
		m.Totals.PromptTokens += mm.PromptTokens
		m.Totals.CompletionTokens += mm.CompletionTokens
		m.Totals.CostUSD += mm.CostUSD
		m.Models = append(m.Models, mm)
	}
	if scores.scores != nil {
		m.Counts.Scores = scores.scores
	}
	spend, err := x.st.Spend(ctx)
	if err != nil {
		return m, err
	}
	if m.Store.ID, err = x.st.ID(ctx); err != nil {
		return m, err
	}
	if m.Store.Size, err = x.st.Size(ctx); err != nil {
		return m, err
	}
	m.Spend = byPurpose(spend)
	for _, j := range x.judges {
		if j.batch == nil {
			continue
		}
		jc := ManifestJudgeCalls{Judge: j.cfg.Name, Model: j.model.Config.Name}
		for _, sp := range spend {
			if sp.Purpose == record.PurposeJudge && sp.Caller == j.cfg.Name {
				jc.add(sp)
			}
		}
		m.JudgeCalls = append(m.JudgeCalls, jc)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("encode manifest: %w", err)
	}
	return m, parquetio.WriteFileAtomic(x.path("manifest.json"), append(b, '\n'))
}
