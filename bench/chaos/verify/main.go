// Command verify checks a run directory after the chaos test: every planned
// sample once in generations.parquet, every (sample, judge) verdict once in
// scores.parquet, labels for every (query, model), and no temp file left.
//
//	go run ./bench/chaos/verify RUN_DIR
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/darslabs/dars/pkg/parquetio"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verify RUN_DIR")
		os.Exit(2)
	}
	if err := verify(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(1)
	}
}

func verify(dir string) error {
	var m struct {
		Counts struct {
			Queries        int   `json:"queries"`
			Models         int   `json:"models"`
			SamplesPlanned int64 `json:"samples_planned"`
		} `json:"counts"`
		Config struct {
			Judges []struct {
				Name string `json:"name"`
			} `json:"judges"`
			Paraphrase struct {
				Count int `json:"count"`
			} `json:"paraphrase"`
		} `json:"config"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	var problems []string
	if m.Config.Paraphrase.Count > 0 {
		ps, err := verifyRewrites(dir, m.Counts.Queries, m.Config.Paraphrase.Count)
		if err != nil {
			return err
		}
		problems = append(problems, ps...)
	}
	gens, err := parquetio.ReadGenerations(filepath.Join(dir, "generations.parquet"))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, g := range gens {
		if seen[g.Key] {
			problems = append(problems, "generation "+g.Key+" twice")
		}
		seen[g.Key] = true
	}
	if int64(len(seen)) != m.Counts.SamplesPlanned {
		problems = append(problems, fmt.Sprintf("%d distinct generations, %d planned", len(seen), m.Counts.SamplesPlanned))
	}
	scores, err := parquetio.ReadScores(filepath.Join(dir, "scores.parquet"))
	if err != nil {
		return err
	}
	verdicts := map[string]bool{}
	for _, s := range scores {
		k := s.GenerationKey + "/" + s.Judge
		if verdicts[k] {
			problems = append(problems, "verdict "+k+" twice")
		}
		verdicts[k] = true
		if !seen[s.GenerationKey] {
			problems = append(problems, "verdict on a generation not exported: "+k)
		}
	}
	if want := len(seen) * len(m.Config.Judges); len(verdicts) != want {
		problems = append(problems, fmt.Sprintf("%d verdicts, want %d (every generation by every judge)", len(verdicts), want))
	}
	ls, _, err := parquetio.ReadLabels(filepath.Join(dir, "labels.parquet"))
	if err != nil {
		return err
	}
	if want := m.Counts.Queries * m.Counts.Models; len(ls) != want {
		problems = append(problems, fmt.Sprintf("%d labels, want %d", len(ls), want))
	}
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			problems = append(problems, "temp file left: "+path)
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		if len(problems) > 10 {
			problems = append(problems[:10], fmt.Sprintf("... %d more", len(problems)-10))
		}
		return fmt.Errorf("%s", strings.Join(problems, "\n  "))
	}
	fmt.Printf("ok: %d generations once each, %d verdicts once each, %d labels, no temp file\n", len(seen), len(verdicts), len(ls))
	return nil
}

// verifyRewrites checks the input side: every query has the original and
// count variants, each (query, variant) once; every kept rewrite of the log
// is a variant with its text, and every rewrite variant is kept once in
// the log.
func verifyRewrites(dir string, queries, count int) ([]string, error) {
	var problems []string
	vs, err := parquetio.ReadVariants(filepath.Join(dir, "variants.parquet"))
	if err != nil {
		return nil, err
	}
	ws, err := parquetio.ReadRewrites(filepath.Join(dir, "rewrites.parquet"))
	if err != nil {
		return nil, err
	}
	text := map[string]string{} // "query/variant" -> text
	perQuery := map[string]int{}
	for _, v := range vs {
		k := fmt.Sprintf("%s/%d", v.QueryID, v.VariantID)
		if _, ok := text[k]; ok {
			problems = append(problems, "variant "+k+" twice")
		}
		text[k] = v.Text
		perQuery[v.QueryID]++
		if v.Source == "rewrite" {
			text["rewrite "+k] = v.Text
		}
	}
	if len(perQuery) != queries {
		problems = append(problems, fmt.Sprintf("variants of %d queries, want %d", len(perQuery), queries))
	}
	for q, n := range perQuery {
		if n != count+1 {
			problems = append(problems, fmt.Sprintf("query %s: %d variants, want %d", q, n, count+1))
		}
	}
	logged := map[string]bool{}
	for _, w := range ws {
		if w.Status != "kept" {
			continue
		}
		k := fmt.Sprintf("rewrite %s/%d", w.QueryID, w.VariantID)
		switch {
		case logged[k]:
			problems = append(problems, "kept twice in the log: "+k)
		case text[k] != w.Text:
			problems = append(problems, "kept in the log but not a variant with its text: "+k)
		}
		logged[k] = true
	}
	for k := range text {
		if strings.HasPrefix(k, "rewrite ") && !logged[k] {
			problems = append(problems, "a variant the log does not keep: "+k)
		}
	}
	return problems, nil
}
