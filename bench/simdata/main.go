// Command simdata writes a synthetic data set and a run file for measuring
// dars on the simulator at scale: N arithmetic questions, each with K given
// rewrites, and M simulated models of increasing skill.
//
//	go run ./bench/simdata -dir /tmp/dars-bench -queries 1000 -variants 3 -models 4 -samples 5
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "directory to write questions.jsonl and dars.yaml into")
	queries := flag.Int("queries", 1000, "number of queries")
	variants := flag.Int("variants", 3, "variants per query, the original included")
	models := flag.Int("models", 4, "simulated candidate models")
	samples := flag.Int("samples", 5, "samples per (query, variant, model)")
	flag.Parse()
	if *dir == "" || *variants < 1 || *models < 1 || *queries < 1 {
		fmt.Fprintln(os.Stderr, "simdata: -dir is required; -queries, -variants, -models must be >= 1")
		os.Exit(2)
	}
	if err := write(*dir, *queries, *variants, *models, *samples); err != nil {
		fmt.Fprintln(os.Stderr, "simdata:", err)
		os.Exit(1)
	}
}

func write(dir string, queries, variants, models, samples int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "questions.jsonl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	phrasings := []string{
		"A crate holds %d apples and another holds %d. How many apples are there in all?",
		"There are %d apples in one crate and %d in a second crate. What is the total number of apples?",
		"If you put a crate of %d apples together with a crate of %d apples, how many apples do you have?",
		"Two crates contain %d and %d apples. Find the total count of apples.",
		"Count the apples: one crate has %d, the other has %d. How many altogether?",
		"One crate is filled with %d apples; a second crate is filled with %d. How many apples are in both crates?",
	}
	for i := 1; i <= queries; i++ {
		a, b := 3+(i*37)%500, 7+(i*91)%700
		row := map[string]any{
			"id":       fmt.Sprintf("b%05d", i),
			"question": fmt.Sprintf(phrasings[0], a, b),
			"answer":   fmt.Sprint(a + b),
		}
		vs := []string{}
		for v := 1; v < variants; v++ {
			vs = append(vs, fmt.Sprintf(phrasings[v%len(phrasings)], a, b)+fmt.Sprintf(" (version %d)", v))
		}
		row["variants"] = vs
		if err := enc.Encode(row); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`run: bench
out: out
seed: 7
dataset:
  path: questions.jsonl
  fields: {id: id, question: question, answer: answer, variants: variants}
prompt:
  template: "{{.Question}}\n\nEnd with a line 'Final Answer: <answer>'."
sampling:
  samples: %d
models:
`, samples)
	for m := 0; m < models; m++ {
		cfg += fmt.Sprintf("  - {name: sim-%d, provider: sim, skill: %.2f, price: {input_per_mtok: %.2f, output_per_mtok: %.2f}}\n",
			m, -1+float64(m)*0.8, 0.1*float64(m+1), 0.3*float64(m+1))
	}
	cfg += "judges:\n  - {name: answer, type: numeric}\n"
	return os.WriteFile(filepath.Join(dir, "dars.yaml"), []byte(cfg), 0o644)
}
