package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/excerpt"
	"github.com/darslabs/dars/pkg/keyset"
	"github.com/darslabs/dars/pkg/paraphrase"
	"github.com/darslabs/dars/pkg/parquetio"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sampler"
	"github.com/darslabs/dars/pkg/store"
)

// Defaults of the paraphrase settings that take 0 for "the default".
const (
	defaultRewriteAttempts  = 3
	defaultRewriteMaxTokens = 2048
	// failedTextMax clips the answer a failed attempt logs.
	failedTextMax = 500
)

// Reasons of the rewrites the paraphrase stage itself rejects or fails,
// beside paraphrase's filter reasons.
const (
	reasonSurplus      = "surplus"       // the query had its count of variants already
	reasonVerifierNo   = "verifier_no"   // the verifier said it is not the same question
	reasonVerifyFailed = "verify_failed" // the verifier's call failed or its answer did not parse
	reasonCallFailed   = "call_failed"   // the rewriter's call failed
	reasonUnparseable  = "unparseable"   // the rewriter's answer held no list of rewrites
	reasonNoRewrites   = "no_rewrites"   // the answer parsed to an empty list
)

// presetKinds are the task kinds of the presets that have one.
var presetKinds = map[string]paraphrase.Kind{
	dataset.PresetGSM8K: paraphrase.KindMath,
	dataset.PresetMMLU:  paraphrase.KindChoice,
	dataset.PresetARC:   paraphrase.KindChoice,
}

// rewriteKind is the run's task kind: dataset.kind, else the preset's, else
// open.
func rewriteKind(cfg config.Config) paraphrase.Kind {
	if k, err := paraphrase.ParseKind(cfg.Dataset.Kind); err == nil && cfg.Dataset.Kind != "" {
		return k
	}
	if k, ok := presetKinds[cfg.Dataset.Preset]; ok {
		return k
	}
	return paraphrase.KindOpen
}

// rewriteQuery is one query's input side as the paraphrase stage sees it:
// its given variants and what the rewrites log and the variants table say.
type rewriteQuery struct {
	q         *dataset.Query
	kept      []record.Variant // rewrites kept, by variant id
	attempts  int32            // attempts logged: the next one's number
	sinceKept int              // the last attempts in a row that kept nothing, but for failed calls
	tries     int              // this run's attempts in a row that kept nothing, failed calls included
}

// wantsCall reports whether the query gets another attempt in this run:
// it lacks variants, and neither the attempts in a row that kept nothing
// nor this run's tries (a rewriter that is down) reached the limit.
func (rq *rewriteQuery) wantsCall(rw rewriter) bool {
	return rq.missing(rw.count) > 0 && rq.sinceKept < rw.attempts && rq.tries < rw.attempts
}

// missing is how many variants q still lacks of count.
func (rq *rewriteQuery) missing(count int) int {
	return count - len(rq.q.Variants) - len(rq.kept)
}

// nextVariant is the id the next kept rewrite gets: after the given
// variants and the rewrites kept.
func (rq *rewriteQuery) nextVariant() int32 {
	id := int32(len(rq.q.Variants))
	for _, v := range rq.kept {
		id = max(id, v.VariantID)
	}
	return id + 1
}

// avoid lists the texts a new rewrite must differ from: the given variants
// and the rewrites kept.
func (rq *rewriteQuery) avoid() []string {
	out := slices.Clone(rq.q.Variants)
	for _, v := range rq.kept {
		out = append(out, v.Text)
	}
	return out
}

// rewriteTally counts what the paraphrase stage left, for the manifest and
// the exit status.
type rewriteTally struct {
	Kept     int `json:"kept"`     // rewrites kept (variants of source rewrite), this run's and earlier
	Rejected int `json:"rejected"` // rewrites rejected
	Failed   int `json:"failed"`   // attempts that gave no rewrite
	// Short are the queries left with fewer variants than paraphrase.count;
	// FailedQueries those of them whose attempts ran out (the run's exit
	// status is 3).
	Short         int `json:"short"`
	FailedQueries int `json:"failed_queries"`
}

// rewriter is the paraphrase stage's settings, from the run file.
type rewriter struct {
	model    sampler.Model
	verifier *sampler.Model
	kind     paraphrase.Kind
	override string
	count    int
	attempts int
	sampling config.Sampling
	filter   paraphrase.FilterOptions
}

// newRewriter reads the paraphrase settings of cfg.
func (r *Run) newRewriter() rewriter {
	p := r.cfg.Paraphrase
	kind := rewriteKind(r.cfg)
	rw := rewriter{model: r.rewriterModel, verifier: r.verifierModel, kind: kind,
		override: p.Instructions[string(kind)], count: p.Count, attempts: p.MaxAttempts,
		sampling: config.Sampling{Samples: 1, Temperature: p.Temperature, TopP: 1, MaxTokens: p.MaxTokens},
		filter:   paraphrase.FilterOptions{MinLengthRatio: p.MinLengthRatio, MaxLengthRatio: p.MaxLengthRatio}}
	if rw.attempts == 0 {
		rw.attempts = defaultRewriteAttempts
	}
	if rw.sampling.MaxTokens == 0 {
		rw.sampling.MaxTokens = defaultRewriteMaxTokens
	}
	return rw
}

// paraphraseQuery is what the rewriter sees of q.
func (rw rewriter) query(q *dataset.Query) paraphrase.Query {
	return paraphrase.Query{ID: q.ID, Question: q.Question, Answer: q.Answer, Choices: q.Choices, Context: q.Context, Kind: rw.kind}
}

// paraphrase runs the input side: for every query of the run without its
// count of variants, the rewriter is asked for the missing ones, in rounds
// of one call per such query, until each has them or has made its
// attempts in a row without keeping one. Every call goes through the
// store and the rewriter's scheduler like a sample; every attempt's
// outcome is logged (the rewrites table) with the variants it kept, in one
// transaction, so a killed run resumes where it stopped and pays for no
// call twice.
func (x *execution) paraphrase(ctx context.Context) (rewriteTally, error) {
	var tally rewriteTally
	if x.cfg.Paraphrase.Count <= 0 {
		return tally, nil
	}
	defer x.begin(Paraphrase)()
	rw := x.newRewriter()
	state, err := rewriteState(ctx, x.st, x.queries, x.partRewrites)
	if err != nil {
		return tally, err
	}
	calls := &rewriteCalls{x: x, rw: rw}
	defer calls.close()
	for {
		var round []*rewriteQuery
		for _, rq := range state {
			if rq.wantsCall(rw) {
				round = append(round, rq)
			}
		}
		if len(round) == 0 {
			break
		}
		if err := calls.round(ctx, round); err != nil {
			return tally, err
		}
	}
	if err := calls.close(); err != nil {
		return tally, err
	}
	return x.rewriteTally(ctx, state, rw)
}

// rewriteState reads from st and the shards' parts, for every query of qs,
// the rewrites kept and the attempts logged. An attempt whose call failed
// (the endpoint down, a timeout) does not count among the attempts in a
// row that kept nothing: a later run asks again. A nil st (a dry run before
// the store exists) holds nothing.
func rewriteState(ctx context.Context, st *store.Store, qs []dataset.Query, parts partRewrites) ([]*rewriteQuery, error) {
	byID := make(map[string]*rewriteQuery, len(qs))
	out := make([]*rewriteQuery, len(qs))
	for i := range qs {
		rq := &rewriteQuery{q: &qs[i]}
		byID[rq.q.ID], out[i] = rq, rq
	}
	var vs []record.Variant
	if st != nil {
		var err error
		if vs, err = st.Variants(ctx); err != nil {
			return nil, err
		}
	}
	for _, v := range mergeVariants(parts.variants, vs) {
		if rq := byID[v.QueryID]; rq != nil && v.Source == record.SourceRewrite {
			rq.kept = append(rq.kept, v)
		}
	}
	// Per query, what each attempt came to: kept a rewrite, or its call
	// failed.
	const kept, callFailed = 1, 2
	outcome := map[string]map[int32]int{}
	each := func(w record.Rewrite) error {
		rq := byID[w.QueryID]
		if rq == nil {
			return nil
		}
		rq.attempts = max(rq.attempts, w.Attempt+1)
		if outcome[w.QueryID] == nil {
			outcome[w.QueryID] = map[int32]int{}
		}
		switch {
		case w.Status == record.RewriteKept:
			outcome[w.QueryID][w.Attempt] = kept
		case w.Status == record.RewriteFailed && strings.HasPrefix(w.Reason, reasonCallFailed) && outcome[w.QueryID][w.Attempt] != kept:
			outcome[w.QueryID][w.Attempt] = callFailed
		}
		return nil
	}
	for _, w := range parts.rewrites {
		if err := each(w); err != nil {
			return nil, err
		}
	}
	if st != nil {
		if err := st.Rewrites(ctx, each); err != nil {
			return nil, err
		}
	}
	for _, rq := range out {
		for a := rq.attempts - 1; a >= 0 && outcome[rq.q.ID][a] != kept; a-- {
			if outcome[rq.q.ID][a] != callFailed {
				rq.sinceKept++
			}
		}
		if given := int32(len(rq.q.Variants)); len(rq.kept) > 0 && rq.kept[0].VariantID <= given {
			return nil, fmt.Errorf("query %q: the data set now gives %d variants, but variant %d is a rewrite the store kept; "+
				"give the rewrites another run name, or remove the store to rewrite from scratch", rq.q.ID, given, rq.kept[0].VariantID)
		}
	}
	return out, nil
}

// rewriteTally counts the log and the queries left short.
func (x *execution) rewriteTally(ctx context.Context, state []*rewriteQuery, rw rewriter) (rewriteTally, error) {
	var t rewriteTally
	held := make(map[string]bool, len(state))
	for _, rq := range state {
		held[rq.q.ID] = true
		if rq.missing(rw.count) > 0 {
			t.Short++
			if rq.sinceKept >= rw.attempts {
				t.FailedQueries++
			}
		}
	}
	log, err := x.rewriteLog(ctx)
	for _, w := range log {
		if !held[w.QueryID] {
			continue
		}
		switch w.Status {
		case record.RewriteKept:
			t.Kept++
		case record.RewriteRejected:
			t.Rejected++
		case record.RewriteFailed:
			t.Failed++
		}
	}
	return t, err
}

// rewriteCalls is the paraphrase stage's streams of calls: the rewriter's,
// and the verifier's when the run file names one, each opened on first use.
type rewriteCalls struct {
	x  *execution
	rw rewriter

	rewrite, verify *sampler.Stream
	rwOpts, vOpts   sampler.Options
}

// close closes the streams that were opened, reports each one's end, and
// returns the first error.
func (c *rewriteCalls) close() error {
	var errs []error
	for _, s := range []struct {
		stream  **sampler.Stream
		purpose string
		caller  func() string
	}{
		{&c.rewrite, record.PurposeRewrite, func() string { return c.rw.model.Config.Name }},
		{&c.verify, record.PurposeVerify, func() string { return c.rw.verifier.Config.Name }},
	} {
		if *s.stream == nil {
			continue
		}
		sum, err := (*s.stream).Close()
		*s.stream = nil
		c.x.emit(Event{Kind: CallEnd, Stage: Paraphrase, Purpose: s.purpose, Caller: s.caller(), Progress: sum})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// open returns the stream of calls to m for purpose, opened on first use.
func (c *rewriteCalls) open(ctx context.Context, purpose string, m sampler.Model, system string) (*sampler.Stream, sampler.Options, error) {
	x := c.x
	prompt, err := sampler.NewPrompt(config.Prompt{System: system, Template: "{{.Question}}"})
	if err != nil {
		return nil, sampler.Options{}, err
	}
	opts := sampler.Options{Seed: x.cfg.Seed, Sampling: c.rw.sampling, Prompt: prompt, Models: []sampler.Model{m},
		Purpose: purpose, Caller: m.Config.Name, Commit: x.st.PutGenerations, JSONObject: true,
		Progress: x.callProgress(Paraphrase, purpose, m.Config.Name)}
	return x.sched.Open(ctx, opts), opts, nil
}

// round makes one attempt for each query of qs: asks the rewriter for the
// missing rewrites, decides each, asks the verifier about those the
// filters kept, and logs the outcome with the variants kept.
func (c *rewriteCalls) round(ctx context.Context, qs []*rewriteQuery) error {
	x, rw := c.x, c.rw
	if c.rewrite == nil {
		s, opts, err := c.open(ctx, record.PurposeRewrite, rw.model, paraphrase.Instructions(rw.kind, rw.override))
		if err != nil {
			return err
		}
		c.rewrite, c.rwOpts = s, opts
	}
	work := make([]sampler.Work, len(qs))
	for i, rq := range qs {
		n, avoid := rq.missing(rw.count), rq.avoid()
		_, user := paraphrase.RewriteMessages(rw.query(rq.q), n, avoid, rw.override)
		id := "rewrite:" + rq.q.ID + ":" + strconv.Itoa(int(rq.attempts))
		work[i] = sampler.Work{
			Query:   &dataset.Query{ID: id, Question: user, Answer: rq.q.Answer, Choices: rq.q.Choices},
			Variant: record.Variant{QueryID: rq.q.ID, Text: user},
			Subject: rq.q.ID,
			Meta: provider.Meta{Purpose: record.PurposeRewrite, Question: rq.q.Question, Kind: string(rw.kind),
				Count: n, Avoid: avoid},
		}
	}
	answers, err := c.ask(ctx, c.rewrite, c.rwOpts, record.PurposeRewrite, rw.model.Config.Name, work)
	if err != nil {
		return err
	}
	// Decide each query's candidates; those the filters keep go to the
	// verifier, when there is one.
	type pending struct {
		rq         *rewriteQuery
		key        string
		rows       []record.Rewrite
		decisions  []paraphrase.Decision
		callFailed bool
	}
	ps := make([]pending, len(qs))
	for i, rq := range qs {
		a := answers[i]
		p := pending{rq: rq, key: a.key}
		log := func(item int, text, status, reason string) {
			p.rows = append(p.rows, record.Rewrite{QueryID: rq.q.ID, Attempt: rq.attempts, Item: int32(item), Text: text,
				Status: status, Reason: reason, VariantID: -1, Rewriter: rw.model.Config.Name, CallKey: a.key})
		}
		switch {
		case a.err != "":
			p.callFailed = true
			log(0, "", record.RewriteFailed, reasonCallFailed+": "+excerpt.Clip(a.err, failedTextMax, "…"))
		default:
			texts, perr := paraphrase.ParseRewrites(a.text)
			switch {
			case perr != nil:
				log(0, excerpt.Clip(a.text, failedTextMax, "…"), record.RewriteFailed, reasonUnparseable+": "+perr.Error())
			case len(texts) == 0:
				log(0, excerpt.Clip(a.text, failedTextMax, "…"), record.RewriteFailed, reasonNoRewrites)
			default:
				p.decisions = paraphrase.Filter(rw.query(rq.q), rq.avoid(), texts, rw.filter)
				for k, d := range p.decisions {
					status, reason := record.RewriteKept, ""
					if !d.Kept {
						status, reason = record.RewriteRejected, d.Reason
					}
					log(k, d.Text, status, reason)
				}
			}
		}
		ps[i] = p
	}
	if rw.verifier != nil {
		if err := c.verifyAll(ctx, qs, func(yield func(q *rewriteQuery, row *record.Rewrite) bool) {
			for i := range ps {
				for k := range ps[i].rows {
					if ps[i].rows[k].Status == record.RewriteKept && !yield(ps[i].rq, &ps[i].rows[k]) {
						return
					}
				}
			}
		}); err != nil {
			return err
		}
	}
	// The kept ones become variants, up to the query's count; each attempt
	// is logged with its variants in one transaction.
	for i := range ps {
		p := &ps[i]
		rq := p.rq
		want := rq.missing(rw.count)
		var kept []record.Variant
		next := rq.nextVariant()
		for k := range p.rows {
			row := &p.rows[k]
			if row.Status != record.RewriteKept {
				continue
			}
			if len(kept) == want {
				row.Status, row.Reason = record.RewriteRejected, reasonSurplus
				continue
			}
			row.VariantID = next
			kept = append(kept, record.Variant{QueryID: rq.q.ID, VariantID: next, Source: record.SourceRewrite,
				Text: row.Text, Rewriter: rw.model.Config.Name})
			next++
		}
		if err := x.st.PutRewrites(ctx, p.rows, kept); err != nil {
			return err
		}
		rq.attempts++
		rq.kept = append(rq.kept, kept...)
		switch {
		case len(kept) > 0:
			rq.sinceKept, rq.tries = 0, 0
		case p.callFailed:
			rq.tries++
		default:
			rq.sinceKept++
			rq.tries++
		}
	}
	return nil
}

// verifyAll asks the verifier about every row the filters kept (each
// yielded with its query), and marks the rows it turns down or could not
// judge as rejected, with the verdict.
func (c *rewriteCalls) verifyAll(ctx context.Context, _ []*rewriteQuery, each func(func(*rewriteQuery, *record.Rewrite) bool)) error {
	rw := c.rw
	if c.verify == nil {
		system, _ := paraphrase.VerifyMessages(paraphrase.Query{}, "")
		s, opts, err := c.open(ctx, record.PurposeVerify, *rw.verifier, system)
		if err != nil {
			return err
		}
		c.verify, c.vOpts = s, opts
	}
	var work []sampler.Work
	var rows []*record.Rewrite
	for rq, row := range each {
		_, user := paraphrase.VerifyMessages(rw.query(rq.q), row.Text)
		id := fmt.Sprintf("verify:%s:%d:%d", rq.q.ID, row.Attempt, row.Item)
		work = append(work, sampler.Work{
			Query:   &dataset.Query{ID: id, Question: user, Answer: rq.q.Answer, Choices: rq.q.Choices},
			Variant: record.Variant{QueryID: rq.q.ID, Text: user},
			Subject: rq.q.ID,
			Meta: provider.Meta{Purpose: record.PurposeVerify, Question: rq.q.Question, Kind: string(rw.kind),
				Rewrite: row.Text},
		})
		rows = append(rows, row)
	}
	if len(work) == 0 {
		return nil
	}
	answers, err := c.ask(ctx, c.verify, c.vOpts, record.PurposeVerify, rw.verifier.Config.Name, work)
	if err != nil {
		return err
	}
	for i, a := range answers {
		row := rows[i]
		if a.err != "" {
			row.Status, row.Reason = record.RewriteRejected, reasonVerifyFailed+": "+excerpt.Clip(a.err, failedTextMax, "…")
			continue
		}
		same, why, perr := paraphrase.ParseVerdict(a.text)
		switch {
		case perr != nil:
			row.Status, row.Reason = record.RewriteRejected, reasonVerifyFailed+": "+perr.Error()
		case same:
			row.VerifierVerdict = record.VerdictYes
		default:
			row.VerifierVerdict = record.VerdictNo
			row.Status, row.Reason = record.RewriteRejected, reasonVerifierNo
			if why != "" {
				row.Reason += ": " + excerpt.Clip(why, failedTextMax, "…")
			}
		}
	}
	return nil
}

// callAnswer is one call's outcome: its answer, or why there is none.
type callAnswer struct {
	key  string
	text string
	err  string
}

// ask gets one answer for each of work through stream: from the store or
// the shared cache when it holds one, else by a call. A call that failed,
// or that was not made (the model stopped, the budget), is an answer with
// its error; the stream's stop (the rewriter's model stopped, the budget,
// Ctrl-C) is ask's error, after the answers that came are committed.
func (c *rewriteCalls) ask(ctx context.Context, stream *sampler.Stream, opts sampler.Options, purpose, caller string, work []sampler.Work) ([]callAnswer, error) {
	x := c.x
	keys := make([]string, len(work))
	err := sampler.EachKey(work, opts, func(p sampler.Planned) error {
		keys[p.Work] = p.Key
		return nil
	})
	if err != nil {
		return nil, err
	}
	// One read per query, though a query's verifications are several works.
	subjects := make([]string, len(work))
	for i, w := range work {
		subjects[i] = w.Subject
	}
	subjects = slices.Compact(slices.Sorted(slices.Values(subjects)))
	stored := func(ctx context.Context, into map[string]record.Generation) (*keyset.Set, error) {
		return x.storedCalls(ctx, purpose, caller, subjects, into)
	}
	before, err := stored(ctx, nil)
	if err != nil {
		return nil, err
	}
	if x.cfg.Cache != "" {
		var want keyset.Builder
		for _, k := range keys {
			if !before.Has(k) {
				want.Add(k)
			}
		}
		if err := x.callsFromCache(ctx, purpose, caller, subjects, want.Set()); err != nil {
			return nil, err
		}
		if before, err = stored(ctx, nil); err != nil {
			return nil, err
		}
	}
	b, err := stream.Submit(work, before.Has)
	if err != nil {
		return nil, err
	}
	waitErr := b.Wait(ctx)
	rctx := x.afterStop(ctx)
	got := map[string]record.Generation{}
	if _, err := stored(rctx, got); err != nil {
		return nil, errors.Join(waitErr, err)
	}
	if x.cfg.Cache != "" {
		var fresh []record.Generation
		for k, g := range got {
			if g.Error == "" && !before.Has(k) {
				fresh = append(fresh, g)
			}
		}
		if err := x.callsToCache(rctx, fresh); err != nil {
			return nil, errors.Join(waitErr, err)
		}
	}
	if waitErr != nil {
		if errors.Is(waitErr, sampler.ErrBudget) {
			waitErr = x.budgetError(waitErr)
		}
		return nil, waitErr // stopped: the answers that came are stored, and decided by the next run
	}
	out := make([]callAnswer, len(work))
	for i, k := range keys {
		g, ok := got[k]
		switch {
		case !ok:
			out[i] = callAnswer{key: k, err: "no stored answer"}
		case g.Error != "":
			out[i] = callAnswer{key: k, err: g.Error}
		default:
			out[i] = callAnswer{key: k, text: g.OutputText}
		}
	}
	return out, nil
}

// addRewriteVariants adds the rewrites the store kept for the run's
// queries to its variants, and plans their samples.
func (x *execution) addRewriteVariants(ctx context.Context) error {
	vs, err := x.st.Variants(ctx)
	if err != nil {
		return err
	}
	var added []record.Variant
	for _, v := range vs {
		if v.Source == record.SourceRewrite && x.byID[v.QueryID] != nil {
			added = append(added, v)
		}
	}
	merged := mergeVariants(x.variants, added)
	if len(merged) == len(x.variants) {
		return nil
	}
	x.variants = merged
	if err := x.checkPlanSize(); err != nil {
		return err
	}
	x.work = make([]sampler.Work, len(x.variants))
	for i, v := range x.variants {
		x.work[i] = sampler.Work{Query: x.byID[v.QueryID], Variant: v}
	}
	keys, err := sampler.PlanKeys(ctx, x.work, x.samplingOptions())
	if err != nil {
		return err
	}
	x.keys = keys
	return nil
}

// exportRewrites writes rewrites.parquet: the log of the run's queries,
// the shards' included.
func (x *execution) exportRewrites(ctx context.Context) error {
	rows, err := x.rewriteLog(ctx)
	if err != nil {
		return err
	}
	return parquetio.WriteRewrites(x.path("rewrites.parquet"), rows, x.meta())
}

// rewriteLog returns the rewrites log of the run's queries, the shards'
// parts' and the store's (which wins where both hold a row), sorted.
func (x *execution) rewriteLog(ctx context.Context) ([]record.Rewrite, error) {
	rows := map[[3]string]record.Rewrite{}
	add := func(w record.Rewrite) error {
		if x.byID[w.QueryID] != nil {
			rows[[3]string{w.QueryID, strconv.Itoa(int(w.Attempt)), strconv.Itoa(int(w.Item))}] = w
		}
		return nil
	}
	for _, w := range x.partRewrites.rewrites {
		_ = add(w)
	}
	if err := x.st.Rewrites(ctx, add); err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Values(rows))
	slices.SortFunc(out, func(a, b record.Rewrite) int {
		return record.CompareSampleKeys(a.QueryID, b.QueryID, a.Attempt, b.Attempt, "", "", a.Item, b.Item)
	})
	return out, nil
}

// partRewrites are what the shards of a run kept and logged of the input
// side, for the unsharded run that gathers them.
type partRewrites struct {
	variants []record.Variant // of source rewrite
	rewrites []record.Rewrite
}

// readPartRewrites reads the rewrite variants and the rewrites logs the
// shard directories under the run directory exported; none when there are
// no shards or they wrote none.
func (r *Run) readPartRewrites() (partRewrites, error) {
	var p partRewrites
	dirs, err := filepath.Glob(filepath.Join(r.dir, "shard-*-of-*"))
	if err != nil {
		return p, err
	}
	for _, d := range dirs {
		vs, err := parquetio.ReadVariants(filepath.Join(d, "variants.parquet"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return p, fmt.Errorf("read shard part: %w", err)
		}
		for _, v := range vs {
			if v.Source == record.SourceRewrite && r.byID[v.QueryID] != nil {
				p.variants = append(p.variants, v)
			}
		}
		ws, err := parquetio.ReadRewrites(filepath.Join(d, "rewrites.parquet"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return p, fmt.Errorf("read shard part: %w", err)
		}
		p.rewrites = append(p.rewrites, ws...)
	}
	return p, nil
}

// mergeVariants returns the variants of a and of b, once per (query,
// variant id) (a's when both hold one), sorted.
func mergeVariants(a, b []record.Variant) []record.Variant {
	type id struct {
		q string
		v int32
	}
	seen := make(map[id]bool, len(a)+len(b))
	out := make([]record.Variant, 0, len(a)+len(b))
	for _, vs := range [][]record.Variant{a, b} {
		for _, v := range vs {
			if k := (id{v.QueryID, v.VariantID}); !seen[k] {
				seen[k] = true
				out = append(out, v)
			}
		}
	}
	slices.SortFunc(out, func(x, y record.Variant) int {
		return record.CompareSampleKeys(x.QueryID, y.QueryID, x.VariantID, y.VariantID, "", "", 0, 0)
	})
	return out
}

// estimateRewrites adds to est the paraphrase stage's calls for the
// rewrites the run's store has not kept yet, and returns the work of every
// variant the run would sample: the plan's, the rewrites kept, and a stand-in
// with its original's text for each rewrite to come. It reads the store
// without its lock and writes nothing.
func (r *Run) estimateRewrites(ctx context.Context, est *Estimate) ([]sampler.Work, error) {
	count := r.cfg.Paraphrase.Count
	if count <= 0 {
		return r.work, nil
	}
	var state []*rewriteQuery
	st, err := store.OpenReader(ctx, r.dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if state, err = rewriteState(ctx, nil, r.queries, r.partRewrites); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, storeProblem(err)
	default:
		state, err = rewriteState(ctx, st, r.queries, r.partRewrites)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	rw := r.newRewriter()
	work := slices.Clone(r.work)
	var rewritePrompts, verifyPrompts []int64
	rewriteSystem := paraphrase.Instructions(rw.kind, rw.override)
	verifySystem, _ := paraphrase.VerifyMessages(paraphrase.Query{}, "")
	planned := make(map[record.Variant]bool, len(work)) // the plan's rewrites (Open read the stored ones)
	for _, w := range work {
		if w.Variant.Source == record.SourceRewrite {
			planned[w.Variant] = true
		}
	}
	for _, rq := range state {
		q := rq.q
		for _, v := range rq.kept {
			if !planned[v] {
				work = append(work, sampler.Work{Query: q, Variant: v})
			}
		}
		n := rq.missing(count)
		if n <= 0 || rq.sinceKept >= rw.attempts {
			continue
		}
		est.RewritesOwed += n
		_, user := paraphrase.RewriteMessages(rw.query(q), n, rq.avoid(), rw.override)
		rewritePrompts = append(rewritePrompts, sampler.PromptTokens([]provider.Message{{Role: "system", Content: rewriteSystem}, {Role: "user", Content: user}}))
		next := rq.nextVariant()
		for k := range n {
			v := record.Variant{QueryID: q.ID, VariantID: next + int32(k), Source: record.SourceRewrite, Text: q.Question}
			work = append(work, sampler.Work{Query: q, Variant: v})
			if rw.verifier != nil {
				_, vuser := paraphrase.VerifyMessages(rw.query(q), q.Question)
				verifyPrompts = append(verifyPrompts, sampler.PromptTokens([]provider.Message{{Role: "system", Content: verifySystem}, {Role: "user", Content: vuser}}))
			}
		}
	}
	e := sampler.EstimateCalls(rw.model, rw.sampling, slices.Values(rewritePrompts))
	e.Model = rw.model.Config.Name
	est.RewriteCalls = &e
	if rw.verifier != nil {
		v := sampler.EstimateCalls(*rw.verifier, rw.sampling, slices.Values(verifyPrompts))
		v.Model = rw.verifier.Config.Name
		est.VerifyCalls = &v
	}
	slices.SortStableFunc(work, func(a, b sampler.Work) int {
		return record.CompareSampleKeys(a.Variant.QueryID, b.Variant.QueryID, a.Variant.VariantID, b.Variant.VariantID, "", "", 0, 0)
	})
	return work, nil
}

// storedRewrites returns the rewrites the run's store kept for its queries,
// read without the lock (Open writes nothing), so that the plan counts
// them from the start. A store that cannot be read (none yet, an older
// schema, damage) gives none here: Execute, which opens it for real, adds
// what it holds or says what is wrong.
func (r *Run) storedRewrites(ctx context.Context) []record.Variant {
	if r.cfg.Paraphrase.Count <= 0 {
		return nil
	}
	st, err := store.OpenReader(ctx, r.dir)
	if err != nil {
		return nil
	}
	defer st.Close()
	vs, err := st.Variants(ctx)
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(vs, func(v record.Variant) bool { return v.Source != record.SourceRewrite || r.byID[v.QueryID] == nil })
}
