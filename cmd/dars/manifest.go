package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// manifest is manifest.json: what a run is and what it holds (DESIGN §7).
type manifest struct {
	DarsVersion   string          `json:"dars_version"`
	GoVersion     string          `json:"go_version"`
	SchemaVersion string          `json:"schema_version"`
	Run           string          `json:"run"`
	ConfigHash    string          `json:"config_hash"`
	Config        config.Config   `json:"config"` // secrets redacted
	UpdatedAt     time.Time       `json:"updated_at"`
	Counts        manifestCounts  `json:"counts"`
	Models        []manifestModel `json:"models"`
	Totals        manifestTotals  `json:"totals"`
	// JudgeCalls is what each llm judge's calls cost, every call the store
	// holds (earlier rubrics' included: they were paid for). Totals leave
	// it out: they are the candidates' generations.
	JudgeCalls []manifestJudgeCalls `json:"judge_calls,omitempty"`
	Timings    map[string]float64   `json:"timings_seconds"` // this invocation, per stage
	LastSample *sampler.Summary     `json:"last_sample,omitempty"`
}

type manifestCounts struct {
	Queries          int                         `json:"queries"`
	Variants         int                         `json:"variants"`
	Models           int                         `json:"models"`
	SamplesPlanned   int64                       `json:"samples_planned"`
	Generations      int64                       `json:"generations"`
	GenerationErrors int64                       `json:"generation_errors"`
	Scores           map[string]map[string]int64 `json:"scores"` // judge → status → count
}

type manifestJudgeCalls struct {
	Judge            string  `json:"judge"`
	Model            string  `json:"model"`
	Calls            int64   `json:"calls"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

type manifestModel struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	modelTally
	// Adjustments are the request parameters the endpoint refused and dars
	// dropped or renamed for this model during this invocation.
	Adjustments []string `json:"adjustments,omitempty"`
}

type manifestTotals struct {
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// modelTally is what one model's stored generations add up to.
type modelTally struct {
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
	models map[string]*modelTally
	scores map[string]map[string]int64 // judge → status → count; nil until scores are counted
}

func newTally() *tally { return &tally{models: map[string]*modelTally{}} }

// addGeneration counts g.
func (t *tally) addGeneration(g record.Generation) {
	mt := t.models[g.Model]
	if mt == nil {
		mt = &modelTally{}
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

// writeManifest counts what the store holds for the current plan and writes
// manifest.json beside the Parquet files.
func (env *runEnv) writeManifest(ctx context.Context, st *store.Store, sum *sampler.Summary, total time.Duration) (manifest, error) {
	m := manifest{
		DarsVersion: version(), GoVersion: runtime.Version(), SchemaVersion: "1",
		Run: env.cfg.Run, ConfigHash: env.cfg.Hash(), Config: env.cfg.Redacted(), UpdatedAt: time.Now().UTC(),
		Timings: env.timings, LastSample: sum,
	}
	m.Timings["total"] = total.Seconds()
	m.Counts = manifestCounts{Queries: len(env.queries), Variants: len(env.variants), Models: len(env.models),
		SamplesPlanned: int64(env.keys.Len()), Scores: map[string]map[string]int64{}}
	// The export passes of this invocation counted the rows already; what
	// they did not count is read now.
	gens, scores := env.genTally, env.scoreTally
	if gens == nil {
		gens = newTally()
		if err := env.eachGeneration(ctx, st, func(g record.Generation) error { gens.addGeneration(g); return nil }); err != nil {
			return m, err
		}
	}
	if scores == nil {
		scores = newTally()
		if err := env.eachScore(ctx, st, func(s record.Score) error { scores.addScore(s); return nil }); err != nil {
			return m, err
		}
	}
	for _, mo := range env.models {
		mm := manifestModel{Name: mo.Config.Name, Provider: mo.Config.Provider}
		if mt := gens.models[mo.Config.Name]; mt != nil {
			mm.modelTally = *mt
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
	for _, j := range env.judges {
		if j.model == nil {
			continue
		}
		prefix := llmJudgeQuery(j.cfg.Name, "")
		// Exactly a generation key after the prefix: judge "g" must not
		// count the calls of a judge named "g:v2".
		sp, err := st.SpendOf(ctx, prefix, len(prefix)+sha256.Size*2)
		if err != nil {
			return m, err
		}
		m.JudgeCalls = append(m.JudgeCalls, manifestJudgeCalls{Judge: j.cfg.Name, Model: j.model.Config.Name, Calls: sp.Generations,
			Errors: sp.Errors, PromptTokens: sp.PromptTokens, CompletionTokens: sp.CompletionTokens, CostUSD: sp.CostUSD})
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("encode manifest: %w", err)
	}
	return m, writeFileAtomic(env.path("manifest.json"), append(b, '\n'))
}

// writeFileAtomic writes b to a temp file beside path, syncs it and renames
// it over path, so a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
