package parquetio

import (
	"fmt"

	"github.com/darslabs/dars/pkg/record"
)

// sampleKey is the sort key of rows that identify one sample (or a prefix
// of one): query_id, variant_id, model, sample_index.
type sampleKey struct {
	queryID     string
	variantID   int32
	model       string
	sampleIndex int32
}

func (k sampleKey) String() string {
	return fmt.Sprintf("(query_id %q, variant_id %d, model %q, sample_index %d)", k.queryID, k.variantID, k.model, k.sampleIndex)
}

// compareSampleKeys orders keys as every output is sorted
// (record.CompareSampleKeys).
func compareSampleKeys(a, b sampleKey) int {
	return record.CompareSampleKeys(a.queryID, b.queryID, a.variantID, b.variantID, a.model, b.model, a.sampleIndex, b.sampleIndex)
}

// checkSorted returns an error naming the first row whose key sorts before
// the previous row's; with strict, equal neighbouring keys are an error too.
// It checks, never sorts: sorting is the caller's job.
func checkSorted[R any](rows []R, key func(*R) sampleKey, strict bool) error {
	for i := 1; i < len(rows); i++ {
		prev, cur := key(&rows[i-1]), key(&rows[i])
		c := compareSampleKeys(prev, cur)
		if c > 0 {
			return fmt.Errorf("check order: row %d %s sorts before row %d %s", i, cur, i-1, prev)
		}
		if c == 0 && strict {
			return fmt.Errorf("check order: row %d repeats key %s", i, cur)
		}
	}
	return nil
}

// checkQueryOrder returns an error naming the first row whose query_id
// sorts before the previous row's; with strict, a repeated query_id is an
// error too.
func checkQueryOrder[R any](rows []R, queryID func(*R) string, strict bool) error {
	for i := 1; i < len(rows); i++ {
		prev, cur := queryID(&rows[i-1]), queryID(&rows[i])
		c := record.CompareQueryID(prev, cur)
		if c > 0 {
			return fmt.Errorf("check order: row %d query_id %q sorts before row %d query_id %q", i, cur, i-1, prev)
		}
		if c == 0 && strict {
			return fmt.Errorf("check order: row %d repeats query_id %q", i, cur)
		}
	}
	return nil
}
