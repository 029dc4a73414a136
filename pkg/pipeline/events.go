package pipeline

import (
	"time"

	"github.com/darslabs/dars/pkg/sampler"
)

// EventKind says what an Event reports.
type EventKind uint8

// Event kinds, in the order a stage emits them.
const (
	StageStart   EventKind = iota + 1 // a stage begins
	CallProgress                      // a stream of paid calls committed more (Progress)
	CallEnd                           // a stream of paid calls ended (Progress is its summary)
	StageEnd                          // a stage ended (Elapsed)
)

// Event is a step of a run, for a caller to show: Execute reports through
// Options.Events and never prints.
type Event struct {
	Kind  EventKind
	Stage Stage
	// Purpose and Caller say whose paid calls a CallProgress or CallEnd
	// counts: record.PurposeSample for the candidates' samples,
	// record.PurposeJudge with the llm judge's name for its calls.
	Purpose  string
	Caller   string
	Progress sampler.Progress
	Elapsed  time.Duration // StageEnd: how long the stage took
}

// emit hands e to Options.Events, one event at a time.
func (x *execution) emit(e Event) {
	if x.opts.Events == nil {
		return
	}
	x.emitMu.Lock()
	defer x.emitMu.Unlock()
	x.opts.Events(e)
}

// callProgress is the Progress callback of a stream of calls for purpose
// and caller during stage.
func (x *execution) callProgress(stage Stage, purpose, caller string) func(sampler.Progress) {
	return func(p sampler.Progress) {
		x.emit(Event{Kind: CallProgress, Stage: stage, Purpose: purpose, Caller: caller, Progress: p})
	}
}
