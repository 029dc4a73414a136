package sampler

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/record"
)

// estimateWork is two queries of one variant each whose prompts are 8 and 9
// characters: 2 and 3 tokens of text, plus 7 of chat overhead (one message).
func estimateWork() []Work {
	qs := []*dataset.Query{{ID: "q1", Question: "abcdefgh"}, {ID: "q2", Question: "abcdefghi"}}
	var w []Work
	for _, q := range qs {
		w = append(w, Work{Query: q, Variant: record.Variant{QueryID: q.ID, VariantID: 0, Text: q.Question}})
	}
	return w
}

func estimateModel(provider, n string) Model {
	return Model{
		Config: config.Model{Name: "m", Provider: provider, N: n,
			Price: config.Price{InputPerMTok: 1, OutputPerMTok: 2}},
		Endpoint: provider + "|http://127.0.0.1/v1|m",
	}
}

// storedKeys returns the generation keys of the given sample indices of one
// work item, as the store would hold them after an earlier pass.
func storedKeys(t *testing.T, opts Options, m Model, w Work, indices ...int32) map[string]struct{} {
	t.Helper()
	msgs, err := opts.Prompt.Render(w.Query, w.Variant.Text)
	if err != nil {
		t.Fatal(err)
	}
	s := opts.Sampling
	out := map[string]struct{}{}
	for _, idx := range indices {
		seed := Seed(opts.Seed, w.Query.ID, w.Variant.VariantID, m.Config.Name, idx)
		out[GenerationKey(m.Endpoint, msgs, s.Temperature, s.TopP, s.MaxTokens, idx, seed)] = struct{}{}
	}
	return out
}

func TestEstimate(t *testing.T) {
	prompt, err := NewPrompt(config.Prompt{Template: "{{.Question}}"})
	if err != nil {
		t.Fatal(err)
	}
	work := estimateWork()
	base := Options{Seed: 1, Prompt: prompt,
		Sampling: config.Sampling{Samples: 5, Temperature: 0.7, TopP: 0.95, MaxTokens: 100}}

	// done builds the stored set of a case from its model.
	type doneFn func(opts Options, m Model) map[string]struct{}
	partlyStored := func(opts Options, m Model) map[string]struct{} {
		d := storedKeys(t, opts, m, work[0], 0, 1, 2)
		for k := range storedKeys(t, opts, m, work[1], 4) {
			d[k] = struct{}{}
		}
		return d
	}
	allStored := func(opts Options, m Model) map[string]struct{} {
		d := storedKeys(t, opts, m, work[0], 0, 1, 2, 3, 4)
		for k := range storedKeys(t, opts, m, work[1], 0, 1, 2, 3, 4) {
			d[k] = struct{}{}
		}
		return d
	}
	tests := []struct {
		name  string
		model Model
		done  doneFn
		want  ModelEstimate
	}{
		{"n off", estimateModel("openai", "off"), nil, ModelEstimate{N: "off", RequestCap: 1,
			Planned: 10, Samples: 10, Requests: 10, RequestsSingle: 10, PromptTokens: 95, PromptTokensSingle: 95}},
		{"n cap 3", estimateModel("openai", "3"), nil, ModelEstimate{N: "3", RequestCap: 3,
			Planned: 10, Samples: 10, Requests: 4, RequestsSingle: 10, PromptTokens: 38, PromptTokensSingle: 95}},
		{"n auto endpoint", estimateModel("openai", "auto"), nil, ModelEstimate{N: "auto", RequestCap: 8,
			Planned: 10, Samples: 10, Requests: 2, RequestsSingle: 10, PromptTokens: 19, PromptTokensSingle: 95}},
		{"n unset is auto", estimateModel("openai", ""), nil, ModelEstimate{N: "auto", RequestCap: 8,
			Planned: 10, Samples: 10, Requests: 2, RequestsSingle: 10, PromptTokens: 19, PromptTokensSingle: 95}},
		{"n auto sim", estimateModel("sim", "auto"), nil, ModelEstimate{N: "auto", RequestCap: 1 << 20,
			Planned: 10, Samples: 10, Requests: 2, RequestsSingle: 10, PromptTokens: 19, PromptTokensSingle: 95}},
		// q1 holds samples 0-2, q2 sample 4: q1 owes 3,4 (one request), q2
		// owes 0-3 (3 + 1).
		{"stored subtracted", estimateModel("openai", "3"), partlyStored, ModelEstimate{N: "3", RequestCap: 3,
			Planned: 10, Stored: 4, Samples: 6, Requests: 3, RequestsSingle: 6, PromptTokens: 9 + 2*10, PromptTokensSingle: 2*9 + 4*10}},
		{"everything stored", estimateModel("openai", "auto"), allStored, ModelEstimate{N: "auto", RequestCap: 8,
			Planned: 10, Stored: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			opts.Models = []Model{tt.model}
			if tt.done != nil {
				opts.Done = inMap(tt.done(opts, tt.model))
			}
			got, err := Estimate(context.Background(), work, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d estimates, want 1", len(got))
			}
			w := tt.want
			w.Model, w.Provider = "m", tt.model.Config.Provider
			w.CompletionTokens = w.Samples * 100
			w.CompletionTokensTypical = w.Samples * 25
			w.CostUSD = float64(w.PromptTokens*1+w.CompletionTokens*2) / 1e6
			w.CostUSDSingle = float64(w.PromptTokensSingle*1+w.CompletionTokens*2) / 1e6
			w.CostUSDTypical = float64(w.PromptTokens*1+w.CompletionTokensTypical*2) / 1e6
			g := got[0]
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"cost_usd", g.CostUSD, w.CostUSD}, {"cost_usd_single", g.CostUSDSingle, w.CostUSDSingle},
				{"cost_usd_typical", g.CostUSDTypical, w.CostUSDTypical}} {
				if math.Abs(c.got-c.want) > 1e-12 {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			g.CostUSD, g.CostUSDSingle, g.CostUSDTypical = w.CostUSD, w.CostUSDSingle, w.CostUSDTypical
			if g != w {
				t.Errorf("got  %+v\nwant %+v", g, w)
			}
		})
	}
}

func TestEstimateSeveralModelsAndTotal(t *testing.T) {
	prompt, err := NewPrompt(config.Prompt{System: "sys!", Template: "{{.Question}}"}) // +4 chars
	if err != nil {
		t.Fatal(err)
	}
	a, b := estimateModel("openai", "off"), estimateModel("openai", "5")
	a.Config.Name, b.Config.Name = "a", "b"
	opts := Options{Seed: 1, Prompt: prompt, Models: []Model{a, b},
		Sampling: config.Sampling{Samples: 5, MaxTokens: 8}}
	es, err := Estimate(context.Background(), estimateWork(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Model != "a" || es[1].Model != "b" {
		t.Fatalf("estimates %+v, want a then b", es)
	}
	// 12 and 13 characters in two messages: 3 + 11 and 4 + 11 tokens.
	if es[0].PromptTokens != 5*14+5*15 || es[1].PromptTokens != 14+15 {
		t.Errorf("prompt tokens %d and %d, want 145 and 29", es[0].PromptTokens, es[1].PromptTokens)
	}
	tot := EstimateTotal(es)
	if tot.Model != "total" || tot.Samples != 20 || tot.Requests != 12 || tot.RequestsSingle != 20 ||
		tot.PromptTokens != 174 || tot.CompletionTokens != 160 || tot.CompletionTokensTypical != 40 {
		t.Errorf("total %+v", tot)
	}
	if math.Abs(tot.CostUSD-(es[0].CostUSD+es[1].CostUSD)) > 1e-15 {
		t.Errorf("total cost %v", tot.CostUSD)
	}
	b2, err := json.Marshal(tot)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"requests_single":20`, `"prompt_tokens_single":`, `"completion_tokens_typical":40`, `"cost_usd_single":`} {
		if !strings.Contains(string(b2), k) {
			t.Errorf("json %s lacks %s", b2, k)
		}
	}
}

func TestEstimateReportsTemplateErrors(t *testing.T) {
	prompt, err := NewPrompt(config.Prompt{Template: "{{.Nope}}"})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Prompt: prompt, Models: []Model{estimateModel("openai", "off")}, Sampling: config.Sampling{Samples: 1}}
	if _, err := Estimate(context.Background(), estimateWork(), opts); err == nil {
		t.Fatal("a template that does not render must be an error")
	}
}
