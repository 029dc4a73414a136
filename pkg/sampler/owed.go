package sampler

import (
	"math/bits"
	"sync"

	"github.com/darslabs/dars/pkg/provider"
)

// sampleKey is the seed and generation key of sample idx of wk for model m,
// with msgs the work's rendered prompt: the one place a sample's identity is
// computed, for the plan, the pass and the dry run alike.
func sampleKey(opts Options, m Model, wk *Work, msgs []provider.Message, idx int32) (seed int64, key string) {
	s := opts.Sampling
	id, variant := wk.seedID()
	seed = Seed(opts.Seed, id, variant, m.Config.Name, idx)
	return seed, GenerationKey(m.Endpoint, msgs, s.Temperature, s.TopP, s.MaxTokens, idx, seed)
}

// eachSample is EachKey that also hands fn the rendered prompt of the
// sample's work, valid until the next work.
func eachSample(work []Work, opts Options, fn func(msgs []provider.Message, p Planned) error) error {
	for wi := range work {
		wk := &work[wi]
		msgs, err := opts.Prompt.Render(wk.Query, wk.Variant.Text)
		if err != nil {
			return err
		}
		for mi, m := range opts.Models {
			for idx := int32(0); idx < int32(opts.Sampling.Samples); idx++ {
				seed, key := sampleKey(opts, m, wk, msgs, idx)
				if err := fn(msgs, Planned{Work: wi, Model: mi, SampleIndex: idx, Seed: seed, Key: key}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// holds reports whether the store already holds the sample key names.
func (o *Options) holds(key string) bool {
	return o.Done != nil && o.Done(key)
}

// owedSet is what one model still owes a pass: a bit per (work, sample
// index), set when the store does not hold the sample, so that a plan of
// millions of samples costs a bit each rather than a request and a key
// string. Its cursor hands the owed samples out in plan order, a request at
// a time, to the model's workers; the seeds, keys and prompt of a request
// are computed only then.
type owedSet struct {
	perWork int      // samples a model owes each work
	words   []uint64 // bit wi*perWork+idx is set when sample idx of work wi is owed
	count   int64    // bits set

	mu   sync.Mutex
	next int // the first bit not handed out yet
}

// newOwedSet is an empty set for works works of perWork samples each.
func newOwedSet(works, perWork int) *owedSet {
	perWork = max(perWork, 0)
	return &owedSet{perWork: perWork, words: make([]uint64, (works*perWork+63)/64)}
}

// add marks sample idx of work wi as owed; it is called before the cursor
// hands anything out.
func (o *owedSet) add(wi int, idx int32) {
	b := wi*o.perWork + int(idx)
	o.words[b/64] |= 1 << (b % 64)
	o.count++
}

// take hands out the next request's samples: the work of the first owed
// sample not handed out yet, and that work's owed sample indices from it
// on, in order, at most n (at least 1). ok is false once every owed sample
// was handed out. It is safe for concurrent use.
func (o *owedSet) take(n int) (wi int, indices []int32, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.nextOwed(o.next)
	if b < 0 {
		o.next = len(o.words) * 64
		return 0, nil, false
	}
	wi = b / o.perWork
	first, end := wi*o.perWork, (wi+1)*o.perWork
	limit := min(max(n, 1), end-b)
	indices = make([]int32, 0, limit)
	for b >= 0 && b < end && len(indices) < limit {
		indices = append(indices, int32(b-first))
		b = o.nextOwed(b + 1)
	}
	o.next = b
	if b < 0 {
		o.next = len(o.words) * 64
	}
	return wi, indices, true
}

// nextOwed returns the first set bit at from or after, or -1 when none is.
func (o *owedSet) nextOwed(from int) int {
	w := from / 64
	if w >= len(o.words) {
		return -1
	}
	if rest := o.words[w] >> (from % 64); rest != 0 {
		return from + bits.TrailingZeros64(rest)
	}
	for w++; w < len(o.words); w++ {
		if o.words[w] != 0 {
			return w*64 + bits.TrailingZeros64(o.words[w])
		}
	}
	return -1
}
