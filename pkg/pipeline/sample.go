package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
)

// sample runs the output side: every sample the plan owes that neither the
// store, the shard parts nor the shared cache holds, committed to the store.
func (x *execution) sample(ctx context.Context) (*sampler.Summary, error) {
	defer x.begin(Sample)()
	if err := x.st.PutVariants(ctx, x.variants); err != nil {
		return nil, err
	}
	if x.cfg.Cache != "" {
		if err := x.fromCache(ctx); err != nil {
			return nil, err
		}
	}
	done, err := x.st.DoneKeys(ctx)
	if err != nil {
		return nil, err
	}
	if x.parts != nil {
		done = keyset.Union(done, x.parts.done)
	}
	if x.budget.limited && x.budget.left <= 0 && !done.Covers(x.keys) {
		return nil, fmt.Errorf("--max-cost $%.4g: %w: the stored calls cost $%.4g already; raise it to go on",
			x.opts.MaxCostUSD, sampler.ErrBudget, x.budget.stored)
	}
	opts := x.samplingOptions()
	opts.Done = done.Has
	opts.Commit = x.st.PutGenerations
	opts.Progress = x.callProgress(Sample, record.PurposeSample, "")
	sum, err := x.sched.Run(ctx, x.work, opts)
	x.emit(Event{Kind: CallEnd, Stage: Sample, Purpose: record.PurposeSample, Progress: sum})
	if errors.Is(err, sampler.ErrBudget) {
		err = x.budgetError(err)
	}
	if x.cfg.Cache != "" {
		// What finished is worth sharing even when the pass stopped early,
		// but a second Ctrl-C (the in-flight context) cuts the wait short.
		if cerr := x.toCache(x.afterStop(ctx), done); cerr != nil && err == nil {
			err = cerr
		}
	}
	return &sum, err
}

// afterStop is the context for the work that follows a stream that ctx may
// have stopped: storing and sharing what finished. It ends with the
// in-flight context (a second Ctrl-C), not with ctx.
func (x *execution) afterStop(ctx context.Context) context.Context {
	if x.opts.InFlight != nil {
		return x.opts.InFlight
	}
	return context.WithoutCancel(ctx)
}

// runBudget is what Options.MaxCostUSD leaves this execution.
type runBudget struct {
	limited bool
	stored  float64 // what the stored calls of the run cost
	left    float64 // MaxCostUSD - stored
}

// setBudget gives the scheduler what --max-cost leaves once the stored
// calls of this run are paid: the plan's samples, and every call of the
// run's llm judges.
func (x *execution) setBudget(ctx context.Context) error {
	if x.opts.MaxCostUSD <= 0 {
		x.sched.SetBudget(math.Inf(1))
		return nil
	}
	stored, err := x.storedCost(ctx)
	if err != nil {
		return err
	}
	x.budget = runBudget{limited: true, stored: stored, left: x.opts.MaxCostUSD - stored}
	x.sched.SetBudget(x.budget.left)
	return nil
}

// storedCost is what the run has paid for so far: its stored samples (of
// the plan: earlier prompts' samples are another run's) and every stored
// call of its llm judges.
func (x *execution) storedCost(ctx context.Context) (float64, error) {
	var usd float64
	err := x.eachGeneration(ctx, func(g record.Generation) error {
		usd += g.CostUSD
		return nil
	})
	if err != nil {
		return 0, err
	}
	spend, err := x.st.Spend(ctx)
	if err != nil {
		return 0, err
	}
	for _, sp := range spend {
		for _, j := range x.judges {
			if j.batch != nil && sp.Purpose == record.PurposeJudge && sp.Caller == j.cfg.Name {
				usd += sp.CostUSD
			}
		}
	}
	return usd, nil
}

// budgetError says, for a stream the budget stopped, what was stored and
// what this execution spent.
func (x *execution) budgetError(err error) error {
	spent, _ := x.sched.Spent()
	return fmt.Errorf("--max-cost $%.4g: %w before passing it (stored $%.4g + this pass $%.4g); raise it and run again to finish",
		x.opts.MaxCostUSD, sampler.ErrBudget, x.budget.stored, spent)
}
