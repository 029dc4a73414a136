package sampler

import (
	"context"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

func TestSampleMeta(t *testing.T) {
	q := &dataset.Query{ID: "7", Question: "Which gas?", Answer: "B", Choices: []string{"O2", "CO2"}, Task: "chemistry"}
	v := record.Variant{QueryID: "7", VariantID: 2, Text: "Which one gas?"}
	got := SampleMeta(q, v, "test.csv")
	if got.QueryID != "7" || got.VariantID != 2 || got.Gold != "B" || len(got.Choices) != 2 ||
		got.Dataset != "test.csv" || got.Question != "Which gas?" || got.VariantText != "Which one gas?" ||
		got.Subject != "chemistry" || got.Purpose != "" {
		t.Errorf("SampleMeta = %+v", got)
	}
	q.Task, q.Fields = "", map[string]any{"subject": "physics"}
	if got := SampleMeta(q, v, ""); got.Subject != "physics" {
		t.Errorf("subject from the row's field: %q", got.Subject)
	}
}

// TestRequestsCarrySampleMeta: every sample request carries SampleMeta of
// its work with the stream's data set, the inputs the simulator's truth uses.
func TestRequestsCarrySampleMeta(t *testing.T) {
	var mu sync.Mutex
	var metas []provider.Meta
	f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
		mu.Lock()
		metas = append(metas, r.Meta)
		mu.Unlock()
		return answer(r), nil
	}}
	work := testWork(2, 2)
	opts := testOptions(t, &memStore{}, fakeModel("a", "auto", 1, f))
	opts.Dataset = "q.jsonl"
	if _, err := run(context.Background(), work, opts); err != nil {
		t.Fatal(err)
	}
	want := map[[2]any]provider.Meta{}
	for _, w := range work {
		m := SampleMeta(w.Query, w.Variant, "q.jsonl")
		want[[2]any{m.QueryID, m.VariantID}] = m
	}
	if len(metas) != len(work) {
		t.Fatalf("%d requests, want %d", len(metas), len(work))
	}
	for _, m := range metas {
		w := want[[2]any{m.QueryID, m.VariantID}]
		if m.Dataset != "q.jsonl" || m.Question != w.Question || m.VariantText != w.VariantText || m.Gold != w.Gold {
			t.Errorf("request Meta %+v, want %+v", m, w)
		}
	}
}
