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
