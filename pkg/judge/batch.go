package judge

import (
	"context"

	"github.com/darslabs/dars/pkg/config"
)

// Prompt is one call a batch judge needs: a rendered prompt about one output
// of the batch.
type Prompt struct {
	Of   int // the index, in the batch, of the output the call is about
	Text string
}

// Reply is one sample's reply to a Prompt: its text, or the error that
// ended the call.
type Reply struct {
	Text  string
	Error string
}

// Asker asks the model a batch judge names for s.Samples replies to each
// prompt, sampled as s says, and returns them in prompts' order, a reply
// per sample. The pipeline implements it through the run's scheduler and
// store: the calls are rate-limited with every other call to that
// endpoint, retried, resumed after a crash without paying twice, cached
// and counted in the run's budget. A call that failed is a Reply with
// Error; Ask's error means the asking itself failed (the run was
// cancelled, a commit failed) and no verdict of the batch may be kept.
type Asker func(ctx context.Context, prompts []Prompt, s config.Sampling) ([][]Reply, error)

// BatchJudge is a judge whose verdicts need paid calls to a model of the
// run file (the llm judge). The pipeline judges a batch of outputs at once
// through JudgeBatch and never calls Judge.
type BatchJudge interface {
	Judge
	// Model names the models[] entry the judge calls.
	Model() string
	// Sampling is how each output's calls are sampled: one sample a vote.
	Sampling() config.Sampling
	// Prompt is the call the judge makes about output of item, for the dry
	// run's estimate.
	Prompt(item Item, output string) (string, error)
	// JudgeBatch returns a verdict for outputs[i] of items[i], for every i,
	// asking its model through ask. A verdict that a failed call left
	// undecided has record.StatusCallFailed: the next pass asks again. An
	// error (ask's) means no verdict of the batch is kept.
	JudgeBatch(ctx context.Context, ask Asker, items []Item, outputs []string) ([]Verdict, error)
}

var _ BatchJudge = (*LLM)(nil)
