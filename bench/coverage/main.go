// Command coverage measures how often the labels' intervals hold the truth
// on a simulated run: the share of (query, model) pairs whose [ci_low_iid,
// ci_high_iid] holds the mean of the simulator's p over the pair's drawn
// variants (every variant gets the same number of samples), and whose
// [ci_low, ci_high] does (that interval is for the mean over every rewrite
// of the query, which the drawn ones only estimate: pkg/labels's
// calibration tests check it against that truth; docs/intervals.md).
//
//	go run ./bench/coverage /tmp/dars-bench/out/bench
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/darslabs/dars/pkg/parquetio"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: coverage RUN_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	ls, _, err := parquetio.ReadLabels(filepath.Join(dir, "labels.parquet"))
	if err != nil {
		fail(err)
	}
	truth, err := parquetio.ReadTruth(filepath.Join(dir, "sim_truth.parquet"))
	if err != nil {
		fail(err)
	}
	type pair struct{ q, m string }
	sum, cnt := map[pair]float64{}, map[pair]int{}
	for _, t := range truth {
		k := pair{t.QueryID, t.Model}
		sum[k] += t.P
		cnt[k]++
	}
	var held, heldIID, total int
	var width, widthIID float64
	for _, l := range ls {
		k := pair{l.QueryID, l.Model}
		if cnt[k] == 0 || l.N == 0 {
			continue
		}
		p := sum[k] / float64(cnt[k])
		total++
		width += l.CIHigh - l.CILow
		widthIID += l.CIHighIID - l.CILowIID
		if l.CILow <= p && p <= l.CIHigh {
			held++
		}
		if l.CILowIID <= p && p <= l.CIHighIID {
			heldIID++
		}
	}
	if total == 0 {
		fail(fmt.Errorf("no labelled pair has a truth in %s", dir))
	}
	fmt.Printf("pairs %d  of the drawn variants' mean: iid interval coverage %.4f, mean width %.4f; rephrasing interval coverage %.4f, mean width %.4f\n",
		total, float64(heldIID)/float64(total), widthIID/float64(total), float64(held)/float64(total), width/float64(total))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coverage:", err)
	os.Exit(1)
}
