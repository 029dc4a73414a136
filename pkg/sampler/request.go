package sampler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
)

// request is what one worker sends for one work of a batch: up to the n cap
// of its owed samples, built when the worker takes it.
type request struct {
	batch   *Batch
	work    *Work
	msgs    []provider.Message
	indices []int32
	seeds   []int64
	keys    []string
}

// rendered is a worker's last prompt: with few workers, one often takes
// several requests of one work in a row (a variant's samples past the n
// cap, or one at a time with n off).
type rendered struct {
	work *Work
	msgs []provider.Message
}

// build makes the request of the given samples of work wi of b: the
// work's prompt (last's when it is the same work; last is updated), seeds
// and keys. It runs outside the stream's lock.
func (mr *modelRun) build(b *Batch, wi int, indices []int32, last *rendered) (request, error) {
	wk := &b.work[wi]
	if last.work != wk {
		msgs, err := mr.s.opts.Prompt.Render(wk.Query, wk.Variant.Text)
		if err != nil {
			return request{}, err
		}
		*last = rendered{work: wk, msgs: msgs}
	}
	r := request{batch: b, work: wk, msgs: last.msgs, indices: indices, seeds: make([]int64, len(indices)), keys: make([]string, len(indices))}
	for i, idx := range indices {
		r.seeds[i], r.keys[i] = sampleKey(mr.s.opts, mr.model, wk, r.msgs, idx)
	}
	return r, nil
}

// send makes the requests that produce r's samples, at most the endpoint's
// n cap at a time, retrying retryable failures and re-asking for samples an
// endpoint left out, and hands every finished sample to the writer. A
// refused n lowers the cap and asks again without counting an attempt. No
// new attempt starts once the model's context is done; requests run under
// the stream's request context. Only a fatal endpoint error is returned,
// as the provider returned it (with its hint).
func (mr *modelRun) send(r *request) error {
	ctx, reqCtx := mr.ctx, mr.s.reqCtx
	m, s, now := mr.model, mr.s.opts.Sampling, mr.s.sched.opts.Now
	maxAttempts := mr.ep.attempts
	indices, seeds, keys := r.indices, r.seeds, r.keys
	tries := make([]int32, len(indices)) // requests each pending sample was part of; non-increasing
	var requests, retries int64
	emit := func(rows []record.Generation, estimated int64) {
		mr.s.results <- result{model: mr.mi, batch: r.batch, rows: rows, requests: requests, retries: retries, usageEstimated: estimated}
		requests, retries = 0, 0
	}
	// Samples left when send returns are given up: the writer settles them
	// with the reason, so their batch does not wait for them.
	defer func() {
		if len(indices) > 0 {
			mr.s.results <- result{model: mr.mi, batch: r.batch, abandoned: int64(len(indices)), requests: requests, retries: retries}
		}
	}()
	// fail records the first k pending samples as permanent errors.
	fail := func(k int, msg string) {
		rows := make([]record.Generation, k)
		for i := range rows {
			rows[i] = mr.row(r, indices[i], seeds[i], keys[i], now())
			rows[i].Attempts = tries[i]
			rows[i].Error = msg
		}
		emit(rows, 0)
		indices, seeds, keys, tries = indices[k:], seeds[k:], keys[k:], tries[k:]
	}
	for len(indices) > 0 {
		if ctx.Err() != nil || reqCtx.Err() != nil {
			return nil // cancelled, out of budget or the model stopped: what is missing stays missing
		}
		take := min(len(indices), mr.ep.requestCap())
		req := provider.Request{
			Messages: r.msgs, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: s.MaxTokens,
			N: take, Seeds: seeds[:take:take], JSONObject: mr.s.opts.JSONObject,
			Meta: workMeta(r.work, mr.s.opts.Dataset),
		}
		rep, err := mr.call(ctx, reqCtx, req)
		if errors.Is(err, errNotSent) {
			return nil
		}
		requests++
		for i := range take {
			tries[i]++
		}
		if err != nil {
			if ctx.Err() != nil || reqCtx.Err() != nil {
				return nil // stopping: what is missing stays missing
			}
			var pe *provider.Error
			if !errors.As(err, &pe) {
				pe = &provider.Error{Model: m.Config.Name, Message: err.Error(), Retryable: true}
			}
			if pe.Fatal {
				mr.fail(err) // before the samples are given up: they are the stop's
				return err
			}
			if pe.Param == "n" && take > 1 {
				// Not the samples' failure: ask again in smaller requests.
				for i := range take {
					tries[i]--
				}
				to := take - 1 // always progress, even when the stated limit is no lower
				switch {
				case pe.Limit == 0:
					to = 1
				case pe.Limit < take:
					to = pe.Limit
				}
				mr.ep.lowerCap(to, fmt.Sprintf("endpoint refused n=%d: %s", take, pe.Message))
				continue
			}
			if pe.Retryable && int(tries[0]) < maxAttempts {
				retries++
				if !wait(ctx, max(backoff(mr.s.sched.opts.Backoff, int(tries[0])), pe.RetryAfter)) {
					return nil
				}
				continue
			}
			fail(take, pe.Error())
			continue
		}
		got := rep.got
		if got < take && take > 1 {
			mr.ep.lowerCap(got, fmt.Sprintf("endpoint returned %d choices for n=%d", got, take))
		}
		if got > 0 {
			rows := make([]record.Generation, got)
			for i := range rows {
				c := rep.resp.Choices[i]
				g := mr.row(r, indices[i], seeds[i], keys[i], now())
				g.OutputText, g.FinishReason = c.Text, c.FinishReason
				g.PromptTokens, g.CompletionTokens, g.CostUSD = rep.prompt[i], rep.completion[i], rep.cost[i]
				g.ReasoningTokens = min(rep.reasoning[i], g.CompletionTokens)
				g.LatencyMS = rep.resp.Latency.Milliseconds()
				g.Attempts = tries[i]
				g.UsageEstimated = rep.estimated
				rows[i] = g
			}
			var estimated int64
			if rep.estimated {
				estimated = int64(got)
			}
			emit(rows, estimated)
			indices, seeds, keys, tries = indices[got:], seeds[got:], keys[got:], tries[got:]
		}
		if k := exhausted(tries, maxAttempts); k > 0 {
			fail(k, fmt.Sprintf("model %q: endpoint returned %d of %d samples asked for", m.Config.Name, got, take))
		}
	}
	return nil
}

// errNotSent reports that a request was not sent: the pass is stopping or
// the budget has no room for it.
var errNotSent = errors.New("request not sent")

// call sends one request once it has a slot of the endpoint, the endpoint's
// rate limits allow it and the budget has room for its estimate, then
// settles the slot, the limits and the budget with what the endpoint
// answered. It returns errNotSent when the
// request was not sent, else the endpoint's error.
func (mr *modelRun) call(ctx, reqCtx context.Context, req provider.Request) (reply, error) {
	ep, spend := mr.ep, mr.s.spend
	epoch, err := ep.slots.Acquire(ctx)
	if err != nil {
		return reply{}, errNotSent
	}
	tokens, err := ep.limits.wait(ctx, req)
	if err != nil {
		ep.slots.Release(epoch, false, false)
		return reply{}, errNotSent
	}
	price := mr.model.Config.Price
	reserved := estimateCost(req, price)
	if !spend.reserve(reserved) {
		ep.slots.Release(epoch, false, false)
		mr.s.stopIssuing(ErrBudget) // now, not when the budget's watcher runs: the samples given up say why
		return reply{}, errNotSent
	}
	resp, err := mr.model.Provider.Generate(reqCtx, req)
	var pe *provider.Error
	throttled := errors.As(err, &pe) && pe.StatusCode == 429
	if throttled {
		mr.throttled.Add(1)
	}
	if old, cur, changed := ep.slots.Release(epoch, err == nil, throttled); changed {
		ep.log.Debug("changed the requests in flight", "model", ep.name, "from", old, "to", cur)
	}
	if err != nil {
		spend.settle(reserved, 0)
		return reply{}, err
	}
	rep := settleUsage(resp, req.N, req.MaxTokens, price)
	var spent float64
	var used int64
	for i, c := range rep.cost {
		spent += c
		used += rep.prompt[i] + rep.completion[i]
	}
	spend.settle(reserved, spent)
	ep.limits.settle(tokens, used, rep.completion)
	return rep, nil
}

// row is the stored row of one sample of r, before the endpoint's answer
// fills it in.
func (mr *modelRun) row(r *request, idx int32, seed int64, key string, now time.Time) record.Generation {
	s, o := mr.s.opts.Sampling, mr.s.opts
	return record.Generation{
		Key: key, QueryID: r.work.Variant.QueryID, VariantID: r.work.Variant.VariantID, Model: mr.model.Config.Name,
		SampleIndex: idx, Seed: seed, Temperature: s.Temperature, TopP: s.TopP, MaxTokens: int32(s.MaxTokens),
		CreatedAt: now.UTC(), Purpose: cmp.Or(o.Purpose, record.PurposeSample), Caller: o.Caller, Subject: r.work.Subject,
	}
}
