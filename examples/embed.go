// Package examples holds the example run files and the quickstart data set.
package examples

import "embed"

// Quickstart holds the files `dars init` writes into a new directory:
// quickstart/dars.yaml, a commented run file with three simulated models, and
// quickstart/questions.jsonl, 50 math word problems with 2 given rewrites
// each. The files sit under the quickstart/ prefix; the run file refers to
// the data as questions.jsonl, so both must be written to the same directory.
//
//go:embed quickstart/dars.yaml quickstart/questions.jsonl
var Quickstart embed.FS
