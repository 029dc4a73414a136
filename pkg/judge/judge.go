// Package judge scores generations. A Judge reads one output and returns a
// Verdict; judges register by type name and are built from the run file.
package judge

import (
	"context"

	"github.com/darslabs/dars/pkg/dataset"
)

// Item is what a judge knows about the query a generation answered.
type Item = dataset.Query

// Verdict is a judge's reading of one output. Status is one of
// record.StatusScored, record.StatusUnscored (no answer could be read: never
// a silent 0) or record.StatusError.
type Verdict struct {
	Status    string
	Score     float64 // in [0, 1]
	Passed    bool
	Extracted string // the answer the judge read from the output
	Detail    string // why, in a few words
}

// Judge scores one output for one item. An error means the judge itself
// failed (not the output); the caller records it as a StatusError verdict.
// Implementations are safe for concurrent use.
type Judge interface {
	Name() string
	Judge(ctx context.Context, item Item, output string) (Verdict, error)
}
