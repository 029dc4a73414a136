package sampler

import (
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// SampleMeta returns the provider.Meta of a sample of variant v of query q
// from the data set whose identity is ds (config.Dataset.Identity): what
// the simulator draws the sample's success from. Every sample request
// carries it, and the pipeline hands the same Meta to the simulator's TrueP
// for sim_truth.parquet, so the truth and the samples share their inputs.
// The subject is q.Task (the mmlu preset reads the subject into it), else
// a string "subject" field of the row.
func SampleMeta(q *dataset.Query, v record.Variant, ds string) provider.Meta {
	subject := q.Task
	if s, ok := q.Fields["subject"].(string); ok && subject == "" {
		subject = s
	}
	return provider.Meta{QueryID: q.ID, VariantID: v.VariantID, Gold: q.Answer, Choices: q.Choices,
		Dataset: ds, Question: q.Question, VariantText: v.Text, Subject: subject}
}

// workMeta returns the provider.Meta of w's requests: a sample's
// (SampleMeta), or for a call that is not one (w.Meta.Purpose set: a
// rewrite, a verification) w.Meta with the query's id, gold answer and
// choices and the data set's identity filled in.
func workMeta(w *Work, ds string) provider.Meta {
	if w.Meta.Purpose == "" {
		return SampleMeta(w.Query, w.Variant, ds)
	}
	m := w.Meta
	m.QueryID, m.VariantID = w.Query.ID, w.Variant.VariantID
	m.Gold, m.Choices, m.Dataset = w.Query.Answer, w.Query.Choices, ds
	return m
}
