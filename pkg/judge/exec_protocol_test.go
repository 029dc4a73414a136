package judge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// TestExecVerdictsStayWithTheirSample runs judge programs that write more
// than one line per request: every verdict must be its own sample's or an
// error, never another sample's.
func TestExecVerdictsStayWithTheirSample(t *testing.T) {
	tests := []struct {
		mode       string
		wantDetail string // in the detail of every error verdict
	}{
		{"twice", "extra line"},
		{"chatty", "not a verdict"},
		{"wrong-id", `"id" is 2, want 1`},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			j := newExecJudge(t, config.Judge{Command: execScript(t, tt.mode), ExecWorkers: 1})
			errs := 0
			for i := range 6 {
				out := fmt.Sprint(i)
				v, err := j.Judge(t.Context(), Item{ID: out, Answer: "0"}, out)
				if err != nil {
					t.Fatalf("sample %d: Judge: %v", i, err)
				}
				if v.Status == record.StatusError {
					errs++
					if !strings.Contains(v.Detail, tt.wantDetail) {
						t.Errorf("sample %d: detail %q, want it to contain %q", i, v.Detail, tt.wantDetail)
					}
					continue
				}
				if v.Extracted != out {
					t.Errorf("sample %d got the verdict of the sample with output %q", i, v.Extracted)
				}
			}
			if errs == 0 {
				t.Errorf("no error verdict from a judge program in mode %q", tt.mode)
			}
		})
	}
}

func TestExecFieldNamesAreCaseSensitive(t *testing.T) {
	j := newExecJudge(t, config.Judge{Command: execScript(t, "case"), ExecWorkers: 1})
	v, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != record.StatusError || !strings.Contains(v.Detail, `"Score"`) {
		t.Errorf(`verdict with "Score" = %+v, want an error verdict naming the field`, v)
	}
}

func TestExecClipsVerdict(t *testing.T) {
	j := newExecJudge(t, config.Judge{Command: execScript(t, "big"), ExecWorkers: 1})
	v, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Detail) > maxExtracted || len(v.Extracted) > maxExtracted {
		t.Errorf("detail of %d bytes and extracted of %d bytes, want both at most %d", len(v.Detail), len(v.Extracted), maxExtracted)
	}
	j = newExecJudge(t, config.Judge{Command: execScript(t, "huge"), ExecWorkers: 1})
	v, err = j.Judge(t.Context(), Item{Answer: "a"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if want := "judge program wrote a verdict line longer than 1 MiB"; v.Status != record.StatusError || v.Detail != want {
		t.Errorf("verdict of a 2 MiB line = %+v, want an error verdict %q", v, want)
	}
}

// TestExecOldProtocol checks that a program written for protocol 1 stops
// the judge with one error that says what to add, for every sample.
func TestExecOldProtocol(t *testing.T) {
	j := newExecJudge(t, config.Judge{Name: "old", Command: execScript(t, "v1"), ExecWorkers: 2})
	const want = `judge "old" stopped: the program's verdict has no "id", as exec protocol 1 wrote them: ` +
		`since protocol 2 each verdict must echo its request's "id", e.g. {"id": req["id"], "passed": true} ` +
		`(see "Protocol 2" in docs/judges.md)`
	for i := range 3 {
		_, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
		var stopped *StoppedError
		if !errors.As(err, &stopped) || !errors.Is(err, ErrStopped) || err.Error() != want {
			t.Fatalf("call %d: error %v, want %s", i, err, want)
		}
		if len(j.live) != 0 {
			t.Fatalf("call %d: %d workers live after the judge stopped", i, len(j.live))
		}
	}
}

// TestExecStopsAfterTimeouts checks that a program that hangs stops the
// judge after maxTimeoutsInARow timeouts: the samples in flight and those
// after get the reason at once, not a timeout each.
func TestExecStopsAfterTimeouts(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "hang")
	const workers = 3
	j := newExecJudge(t, config.Judge{Command: execScript(t, "hang-when", marker), ExecWorkers: workers, ExecTimeout: "200ms"})
	item := Item{Answer: "a"}
	for range workers { // start the processes, so the first requests' grace is past
		if v, err := j.Judge(t.Context(), item, "a"); err != nil || !v.Passed {
			t.Fatalf("call before the hang = %+v, %v", v, err)
		}
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const calls = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		timeouts int
		stopErrs []error
	)
	for range calls {
		wg.Go(func() {
			v, err := j.Judge(t.Context(), item, "a")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrStopped):
				stopErrs = append(stopErrs, err)
			case err == nil && v.Status == record.StatusError && strings.HasPrefix(v.Detail, "judge program gave no verdict within 200ms"):
				timeouts++
			default:
				t.Errorf("Judge = %+v, %v; want a timeout verdict or the judge's stop", v, err)
			}
		})
	}
	wg.Wait()
	if timeouts < maxTimeoutsInARow || timeouts > maxTimeoutsInARow+workers-1 {
		t.Errorf("%d timeout verdicts, want %d (or up to %d that timed out at once)", timeouts, maxTimeoutsInARow, maxTimeoutsInARow+workers-1)
	}
	start := time.Now()
	_, err := j.Judge(t.Context(), item, "a")
	const want = `judge "ext" stopped: 3 requests in a row got no verdict within 200ms: the program hangs (try it on one request line by hand), or raise "timeout"`
	if err == nil || err.Error() != want {
		t.Errorf("call after the stop: %v, want %s", err, want)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("call after the stop took %v, want an answer at once", d)
	}
	for _, err := range stopErrs {
		if err.Error() != want {
			t.Errorf("stopped call: %v, want %s", err, want)
		}
	}
	if len(j.live) != 0 {
		t.Errorf("%d workers live after the judge stopped", len(j.live))
	}
}

func TestExecStartGrace(t *testing.T) {
	tests := []struct {
		slowest time.Duration // the slowest start seen; 0 = none yet
		want    time.Duration
	}{
		{0, execStartGrace},
		{10 * time.Millisecond, minStartGrace},
		{2 * time.Second, 4 * time.Second},
		{time.Minute, execStartGrace},
	}
	for _, tt := range tests {
		j := &execJudge{slowest: tt.slowest}
		if got := j.startGrace(); got != tt.want {
			t.Errorf("startGrace after a start of %v = %v, want %v", tt.slowest, got, tt.want)
		}
	}
}
