package sampler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/provider"
)

// issued is one request as an endpoint saw it.
type issued struct {
	QueryID   string
	VariantID int32
	Seeds     []int64
}

// TestRunIssuesThePlanInOrder: one worker asks for exactly the owed samples
// of the plan, work by work, in sample index order, grouped per work at the
// n cap; every row carries the key, seed and index EachKey gives it.
func TestRunIssuesThePlanInOrder(t *testing.T) {
	for _, n := range []string{"off", "2", "auto"} {
		t.Run("n="+n, func(t *testing.T) {
			var mu sync.Mutex
			var got []issued
			f := &fakeProvider{generate: func(_ int, r provider.Request) (provider.Response, error) {
				mu.Lock()
				got = append(got, issued{r.Meta.QueryID, r.Meta.VariantID, slices.Clone(r.Seeds)})
				mu.Unlock()
				return answer(r), nil
			}}
			st := &memStore{}
			work := testWork(4, 2)
			opts := testOptions(t, st, fakeModel("a", n, 1, f))
			// Stored: every sample whose index and work add up to a multiple of three.
			stored := map[string]struct{}{}
			var owed []Planned
			if err := EachKey(work, opts, func(p Planned) error {
				if (p.Work+int(p.SampleIndex))%3 == 0 {
					stored[p.Key] = struct{}{}
				} else {
					owed = append(owed, p)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			opts.Done = inMap(stored)
			sum, err := run(context.Background(), work, opts)
			if err != nil {
				t.Fatal(err)
			}
			if m := sum.Models[0]; m.Total != 40 || m.Stored != int64(len(stored)) || m.Done != int64(len(owed)) {
				t.Fatalf("progress %+v; want total 40, %d stored, %d done", m, len(stored), len(owed))
			}
			want := groupPlan(work, owed, requestCap(opts.Models[0]))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("requests issued\n%v\nwant\n%v", got, want)
			}
			for _, p := range owed {
				g, ok := st.rows[p.Key]
				if !ok || g.Seed != p.Seed || g.SampleIndex != p.SampleIndex || g.QueryID != work[p.Work].Query.ID ||
					g.VariantID != work[p.Work].Variant.VariantID {
					t.Fatalf("planned %+v, stored %+v (found %v)", p, g, ok)
				}
			}
		})
	}
}

// groupPlan groups owed samples, in plan order, into the requests one
// worker issues: per work, at most nCap samples each.
func groupPlan(work []Work, owed []Planned, nCap int) []issued {
	var out []issued
	for i, p := range owed {
		if i == 0 || p.Work != owed[i-1].Work || len(out[len(out)-1].Seeds) == nCap {
			out = append(out, issued{work[p.Work].Query.ID, work[p.Work].Variant.VariantID, nil})
		}
		last := &out[len(out)-1]
		last.Seeds = append(last.Seeds, p.Seed)
	}
	return out
}

// TestOwedSetTake: the cursor hands out every owed sample once, in order,
// grouped per work and at most n at a time, whatever n each take asks for;
// word boundaries and long stretches of stored samples make no difference.
func TestOwedSetTake(t *testing.T) {
	for _, tc := range []struct {
		name    string
		works   int
		perWork int
		owed    func(wi, idx int) bool
	}{
		{"nothing owed", 20, 5, func(int, int) bool { return false }},
		{"everything owed", 30, 5, func(int, int) bool { return true }},
		{"no samples", 10, 0, func(int, int) bool { return true }},
		{"no work", 0, 5, func(int, int) bool { return true }},
		{"a pattern across words", 40, 7, func(wi, idx int) bool { return (wi*3+idx)%4 != 0 }},
		{"long stored stretches", 300, 3, func(wi, idx int) bool { return wi%97 == 5 || (wi == 299 && idx == 2) }},
		{"one sample per work", 200, 1, func(wi, _ int) bool { return wi%2 == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOwedSet(tc.works, tc.perWork)
			type sample struct{ wi, idx int }
			var want []sample
			for wi := range tc.works {
				for idx := range tc.perWork {
					if tc.owed(wi, idx) {
						o.add(wi, int32(idx))
						want = append(want, sample{wi, idx})
					}
				}
			}
			if o.count != int64(len(want)) {
				t.Fatalf("count %d, want %d", o.count, len(want))
			}
			var got []sample
			for call := 0; ; call++ {
				n := []int{1, 3, 2, 1 << 20, 0}[call%5] // 0 takes one
				wi, indices, ok := o.take(n)
				if !ok {
					break
				}
				if len(indices) == 0 || len(indices) > max(n, 1) {
					t.Fatalf("take(%d) gave %d samples", n, len(indices))
				}
				for _, idx := range indices {
					got = append(got, sample{wi, int(idx)})
				}
				// A take stops short of n only at the end of its work's owed samples.
				if len(indices) < max(n, 1) {
					if next, ok := o.peek(); ok && next == wi {
						t.Fatalf("take(%d) gave %v of work %d and left more of it", n, indices, wi)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("handed out\n%v\nwant\n%v", got, want)
			}
			if _, _, ok := o.take(1); ok {
				t.Fatal("a drained set handed out more")
			}
		})
	}
}

// peek is the work the next take would hand out, without taking it.
func (o *owedSet) peek() (wi int, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.nextOwed(o.next)
	if b < 0 {
		return 0, false
	}
	return b / o.perWork, true
}
