package sampler

import (
	"context"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/provider"
)

// Planned is one sample a plan owes, stored or not.
type Planned struct {
	Work        int // index into the work slice
	Model       int // index into Options.Models
	SampleIndex int32
	Seed        int64
	Key         string // the generation key
}

// EachKey calls fn for every sample work owes: in work order, then
// Options.Models order, then sample index. Options.Done is not consulted.
// It stops at fn's first error and returns it, and fails when a prompt does
// not render. Each work's prompt is rendered once, whatever the models.
func EachKey(work []Work, opts Options, fn func(Planned) error) error {
	return eachSample(work, opts, func(_ []provider.Message, p Planned) error { return fn(p) })
}

// PlanKeys returns the generation key of every sample the plan owes, stored
// or not: the set that outputs are exported from, so that generations left
// in the store by an earlier prompt or parameter set never mix in. It stops
// with ctx's error when ctx is done.
func PlanKeys(ctx context.Context, work []Work, opts Options) (*keyset.Set, error) {
	var b keyset.Builder
	err := EachKey(work, opts, func(p Planned) error {
		if p.SampleIndex == 0 && p.Model == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return b.Add(p.Key)
	})
	if err != nil {
		return nil, err
	}
	return b.Set(), nil
}
