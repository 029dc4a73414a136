package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/record"
)

// FuzzQueryOrder checks that the (qkind, qnum, query_id) sort columns order
// any two ids exactly as record.CompareQueryID does.
func FuzzQueryOrder(f *testing.F) {
	for _, seed := range [][2]string{
		{"2", "10"}, {"10", "a"}, {"002", "2"}, {"", "0"}, {"999999999999999999", "1000000000000000000"},
		{"-1", "1"}, {"1.5", "1"}, {" 1", "1"}, {"０", "0"}, {"a", "B"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ak, an := queryOrder(a)
		bk, bn := queryOrder(b)
		got := cmp.Or(cmp.Compare(ak, bk), cmp.Compare(an, bn), cmp.Compare(a, b))
		if want := record.CompareQueryID(a, b); got != want {
			t.Errorf("order(%q, %q) = %d, CompareQueryID = %d", a, b, got, want)
		}
	})
}

// FuzzGenerationRoundTrip stores arbitrary text and numbers and checks that
// they read back unchanged: output text is paid for and must not be mangled
// (invalid UTF-8, NUL bytes and all).
func FuzzGenerationRoundTrip(f *testing.F) {
	f.Add("q1", "The answer is 42.", "stop", "", int64(7), 0.7, int64(1_760_000_000_123))
	f.Add("10", "nul\x00inside", "length", "http 500", int64(-1), math.Inf(-1), int64(0))
	f.Add("", "\xff\xfe invalid utf-8", "", "x", int64(math.MaxInt64), -0.0, int64(-62135596800000))
	s := openT(f, f.TempDir())
	ctx := context.Background()
	n := 0
	f.Fuzz(func(t *testing.T, qid, text, finish, errText string, seed int64, temp float64, createdMS int64) {
		n++
		want := record.Generation{
			Purpose: record.PurposeSample,
			Key:     fmt.Sprintf("fuzz-%d", n), QueryID: qid, VariantID: int32(seed), Model: finish,
			SampleIndex: int32(n), Seed: seed, Temperature: temp, TopP: temp, MaxTokens: int32(createdMS),
			OutputText: text, FinishReason: finish, PromptTokens: seed, CompletionTokens: createdMS,
			CostUSD: temp, LatencyMS: seed, Attempts: 1, Error: errText,
			CreatedAt: time.UnixMilli(createdMS).UTC(),
		}
		if err := s.PutGenerations(ctx, []record.Generation{want}); err != nil {
			t.Fatal(err)
		}
		var got []record.Generation
		err := s.Generations(ctx, func(g record.Generation) error {
			if g.Key == want.Key {
				got = append(got, g)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("got %d rows for key %q, want 1", len(got), want.Key)
		}
		g := got[0]
		if math.IsNaN(temp) {
			if !math.IsNaN(g.Temperature) || !math.IsNaN(g.TopP) || !math.IsNaN(g.CostUSD) {
				t.Fatalf("NaN not kept: %+v", g)
			}
			g.Temperature, g.TopP, g.CostUSD = 0, 0, 0
			want.Temperature, want.TopP, want.CostUSD = 0, 0, 0
		}
		if !reflect.DeepEqual(g, want) {
			t.Errorf("round trip:\n got %+v\nwant %+v", g, want)
		}
	})
}
