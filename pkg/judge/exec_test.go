package judge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// execScript returns the argv of testdata/exec_judge.py in mode, skipping
// the test when python3 is absent.
func execScript(t *testing.T, mode ...string) []string {
	t.Helper()
	py, err := realPython()
	if err != nil {
		t.Skipf("python3: %v", err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "exec_judge.py"))
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{py, script}, mode...)
}

// realPython is python3's real executable, not a shim that takes a second
// to start it (pyenv).
var realPython = sync.OnceValues(func() (string, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
})

// newExecJudge builds an exec judge and closes it when the test ends.
func newExecJudge(t *testing.T, cfg config.Judge) *execJudge {
	t.Helper()
	return newExecJudgeWith(t, cfg, Options{})
}

// newExecJudgeWith is newExecJudge with opts.
func newExecJudgeWith(t *testing.T, cfg config.Judge, opts Options) *execJudge {
	t.Helper()
	cfg.Type = "exec"
	if cfg.Name == "" {
		cfg.Name = "ext"
	}
	j, err := New(t.Context(), cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ej := j.(*execJudge)
	t.Cleanup(func() {
		if err := ej.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ej
}

// pidOf returns the pid the test script names in a verdict's detail.
func pidOf(t *testing.T, v Verdict) string {
	t.Helper()
	for f := range strings.FieldsSeq(v.Detail) {
		if pid, ok := strings.CutPrefix(f, "pid="); ok {
			return pid
		}
	}
	t.Fatalf("no pid in detail %q", v.Detail)
	return ""
}

func TestExecNew(t *testing.T) {
	py := execScript(t)
	tests := []struct {
		name    string
		cfg     config.Judge
		wantErr string // "" = no error
	}{
		{"defaults", config.Judge{Name: "x", Type: "exec", Command: py}, ""},
		{"all options", config.Judge{Name: "x", Type: "exec", Command: py, ExecWorkers: 4, ExecTimeout: "2s"}, ""},
		{"no command", config.Judge{Name: "x", Type: "exec"}, `judge "x": option "command" is required for type "exec"`},
		{"empty argv0", config.Judge{Name: "x", Type: "exec", Command: []string{""}}, `judge "x": option "command" is required`},
		{"missing program", config.Judge{Name: "x", Type: "exec", Command: []string{"/nonexistent/judge"}}, `judge "x": option "command": exec: "/nonexistent/judge"`},
		{"negative workers", config.Judge{Name: "x", Type: "exec", Command: py, ExecWorkers: -1}, `judge "x": option "workers": must be between 1 and 64, got -1`},
		{"too many workers", config.Judge{Name: "x", Type: "exec", Command: py, ExecWorkers: 65}, `judge "x": option "workers": must be between`},
		{"bad timeout", config.Judge{Name: "x", Type: "exec", Command: py, ExecTimeout: "soon"}, `judge "x": option "timeout": time: invalid duration`},
		{"zero timeout", config.Judge{Name: "x", Type: "exec", Command: py, ExecTimeout: "0s"}, `judge "x": option "timeout": must be positive`},
		{"command on exact", config.Judge{Name: "e", Type: "exact", Command: py}, `judge "e": option "command" does not apply to type "exact"`},
		{"workers on math", config.Judge{Name: "m", Type: "math", ExecWorkers: 2}, `judge "m": option "workers" does not apply`},
		{"timeout on choice", config.Judge{Name: "c", Type: "choice", ExecTimeout: "1s"}, `judge "c": option "timeout" does not apply`},
		{"pattern on exec", config.Judge{Name: "x", Type: "exec", Command: py, Pattern: "a"}, `judge "x": option "pattern" does not apply to type "exec"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := New(t.Context(), tt.cfg, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if err := j.(io.Closer).Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestExecHash(t *testing.T) {
	base := config.Judge{Name: "x", Type: "exec", Command: []string{"judge", "a"}}
	h := Hash(base)
	// Version 2 (protocol 2): verdicts stored under protocol 1 may belong to
	// other samples, so they must not count as decided.
	const golden = "4e3e67cbd658ee99bff03eb6258752517186299f839fcd79085dcd380092c347"
	if h != golden {
		t.Errorf("Hash(exec) = %s, want %s: change it only with a version bump", h, golden)
	}
	if Hash(config.Judge{Name: "x", Type: "exec", Command: []string{"judge", "a"}, ExecWorkers: 8, ExecTimeout: "1m"}) != h {
		t.Error("workers or timeout changed the exec hash")
	}
	if Hash(config.Judge{Name: "x", Type: "exec", Command: []string{"judge", "b"}}) == h {
		t.Error("command does not change the exec hash")
	}
}

func TestExecVerdicts(t *testing.T) {
	j := newExecJudge(t, config.Judge{Command: execScript(t), ExecWorkers: 3})
	tests := []struct {
		name   string
		item   Item
		output string
		want   Verdict // Detail not compared
	}{
		{"pass", Item{ID: "1", Answer: "Paris"}, "paris", Verdict{Status: record.StatusScored, Score: 1, Passed: true, Extracted: "paris"}},
		{"fail", Item{ID: "2", Answer: "Paris"}, "London", Verdict{Status: record.StatusScored, Extracted: "London"}},
		{"answers", Item{ID: "3", Answers: []string{"4", "four"}}, "four", Verdict{Status: record.StatusScored, Score: 1, Passed: true, Extracted: "four"}},
		{"unscored", Item{ID: "4", Answer: "x"}, "  ", Verdict{Status: record.StatusUnscored}},
		{"newlines and unicode", Item{ID: "5", Answer: "a\nb <é>"}, "A\nB <É>", Verdict{Status: record.StatusScored, Score: 1, Passed: true, Extracted: "A\nB <É>"}},
	}
	// Every case many times at once: verdicts must not cross between calls.
	const rounds = 10
	var wg sync.WaitGroup
	for range rounds {
		for _, tt := range tests {
			wg.Go(func() {
				got, err := j.Judge(t.Context(), tt.item, tt.output)
				if err != nil {
					t.Errorf("%s: Judge: %v", tt.name, err)
					return
				}
				got.Detail = ""
				if got != tt.want {
					t.Errorf("%s: Judge = %+v, want %+v", tt.name, got, tt.want)
				}
			})
		}
	}
	wg.Wait()
}

func TestExecReusesProcesses(t *testing.T) {
	const workers = 2
	j := newExecJudge(t, config.Judge{Command: execScript(t), ExecWorkers: workers})
	var (
		mu   sync.Mutex
		pids = map[string]bool{}
		wg   sync.WaitGroup
	)
	for i := range 20 {
		wg.Go(func() {
			v, err := j.Judge(t.Context(), Item{ID: fmt.Sprint(i), Answer: "42"}, "42")
			if err != nil || !v.Passed {
				t.Errorf("Judge = %+v, %v", v, err)
				return
			}
			mu.Lock()
			pids[pidOf(t, v)] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(pids) == 0 || len(pids) > workers {
		t.Errorf("saw %d distinct pids %v over 20 calls, want 1..%d", len(pids), pids, workers)
	}
}

// TestExecFailures checks that each way a worker can fail gives that sample
// an error verdict, and that the judge recovers with a fresh process.
func TestExecFailures(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "hung")
	tests := []struct {
		name       string
		mode       []string
		timeout    string
		okFirst    int    // calls answered before the failing one
		wantDetail string // substring of the failing verdict's detail
		recovers   bool   // the call after the failure passes
	}{
		{"crash", []string{"crash"}, "", 1, "judge program exited (exit status 3); stderr: exec_judge.py: crashing as asked", true},
		{"hang", []string{"hang", marker}, "200ms", 1, "judge program gave no verdict within 200ms", true},
		{"garbage", []string{"garbage"}, "", 0, `judge program: a line that is not a verdict ("this is not json")`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newExecJudge(t, config.Judge{Command: execScript(t, tt.mode...), ExecWorkers: 1, ExecTimeout: tt.timeout})
			item := Item{ID: "1", Answer: "yes"}
			var firstPid string
			for range tt.okFirst {
				v, err := j.Judge(t.Context(), item, "yes")
				if err != nil || !v.Passed {
					t.Fatalf("call before failure: %+v, %v", v, err)
				}
				firstPid = pidOf(t, v)
			}
			v, err := j.Judge(t.Context(), item, "yes")
			if err != nil {
				t.Fatalf("failing call: Go error %v, want an error verdict", err)
			}
			if v.Status != record.StatusError || !strings.Contains(v.Detail, tt.wantDetail) {
				t.Fatalf("failing call = %+v, want status error with detail containing %q", v, tt.wantDetail)
			}
			if len(j.live) != 0 {
				t.Errorf("%d workers still live after the failure, want the failed one stopped", len(j.live))
			}
			v, err = j.Judge(t.Context(), item, "yes")
			if err != nil {
				t.Fatalf("call after failure: %v", err)
			}
			if !tt.recovers {
				return
			}
			if !v.Passed {
				t.Fatalf("call after failure = %+v, want passed", v)
			}
			if pid := pidOf(t, v); pid == firstPid {
				t.Errorf("call after failure answered by the old pid %s", pid)
			}
		})
	}
}

func TestExecEnvHidesKeys(t *testing.T) {
	t.Setenv("DARS_TEST_API_KEY", "sk-secret")
	// SBPASS has no secret-looking suffix: the run file names it.
	t.Setenv("SBPASS", "hunter2")
	j := newExecJudgeWith(t, config.Judge{Command: execScript(t)}, Options{SecretVars: []string{"SBPASS"}})
	v, err := j.Judge(t.Context(), Item{Answer: "a"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Detail, "key=no") {
		t.Errorf("detail %q: the judge program saw DARS_TEST_API_KEY", v.Detail)
	}
	if !strings.Contains(v.Detail, "pass=no") {
		t.Errorf("detail %q: the judge program saw SBPASS, a secret of the run file", v.Detail)
	}
}

func TestExecJudgeEnv(t *testing.T) {
	in := []string{"PATH=/bin", "OPENAI_API_KEY=x", "GH_TOKEN=y", "AWS_SECRET=z", "my_key=w", "KEYRING=ok", "TOKEN_FILE=ok",
		"A=B=C_KEY", "SBPASS=p", "sbpass=ok", "SBPASSWORD=ok"}
	tests := []struct {
		name    string
		secrets []string
		want    []string
	}{
		{"suffixes", nil, []string{"PATH=/bin", "KEYRING=ok", "TOKEN_FILE=ok", "A=B=C_KEY", "SBPASS=p", "sbpass=ok", "SBPASSWORD=ok"}},
		{"named secrets too", []string{"SBPASS", "PATH"}, []string{"KEYRING=ok", "TOKEN_FILE=ok", "A=B=C_KEY", "sbpass=ok", "SBPASSWORD=ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeEnv(in, tt.secrets); !slices.Equal(got, tt.want) {
				t.Errorf("judgeEnv = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExecContextAndClose(t *testing.T) {
	// hang answers its first request and never its second.
	j := newExecJudge(t, config.Judge{Command: execScript(t, "hang"), ExecWorkers: 1})
	item := Item{Answer: "a"}
	if v, err := j.Judge(t.Context(), item, "a"); err != nil || !v.Passed {
		t.Fatalf("first call = %+v, %v", v, err)
	}
	// The judge's own timeout is 30s: the context ends the call first.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := j.Judge(ctx, item, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Judge past the context deadline: %v, want context.DeadlineExceeded", err)
	}
	if len(j.live) != 0 {
		t.Errorf("%d workers live after an interrupted request, want it retired", len(j.live))
	}
	if _, err := j.Judge(t.Context(), item, "a"); err != nil {
		t.Fatalf("call after interruption: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if len(j.live) != 0 {
		t.Errorf("%d workers live after Close", len(j.live))
	}
	if _, err := j.Judge(t.Context(), item, "a"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Judge after Close: %v, want a closed error", err)
	}
}

func TestParseExecVerdict(t *testing.T) {
	const id = 7
	tests := []struct {
		line    string
		want    Verdict
		wantErr string // "" = the line is the request's verdict
	}{
		{`{"id": 7, "passed": true}`, Verdict{Status: record.StatusScored, Score: 1, Passed: true}, ""},
		{`{"passed": false, "extracted": "x", "id": 7}`, Verdict{Status: record.StatusScored, Extracted: "x"}, ""},
		{`{"id": 7, "score": 0.5}`, Verdict{Status: record.StatusScored, Score: 0.5}, ""},
		{`{"id": 7, "score": 1}`, Verdict{Status: record.StatusScored, Score: 1, Passed: true}, ""},
		{`{"id": 7, "score": 0.7, "passed": true, "detail": "ok"}`, Verdict{Status: record.StatusScored, Score: 0.7, Passed: true, Detail: "ok"}, ""},
		{`{"id": 7, "status": "scored", "score": 0}`, Verdict{Status: record.StatusScored}, ""},
		{`{"id": 7, "status": "unscored", "score": 1, "detail": "no answer"}`, Verdict{Status: record.StatusUnscored, Detail: "no answer"}, ""},
		{`{"id": 7, "status": "error", "detail": "boom"}`, Verdict{Status: record.StatusError, Detail: "boom"}, ""},
		{`{"id": 7, "status": null, "score": null, "passed": true}`, Verdict{Status: record.StatusScored, Score: 1, Passed: true}, ""},
		{`{"id": 7.0, "passed": true}`, Verdict{Status: record.StatusScored, Score: 1, Passed: true}, ""},
		{`{"id": 7, "passed": true, "extra": [1], "Extra": {}}`, Verdict{Status: record.StatusScored, Score: 1, Passed: true}, ""},
		{`{"id": 7, "status": "maybe", "passed": true}`, judgeError(`judge program: invalid status "maybe" (want scored, unscored or error)`), ""},
		{`{"id": 7, "score": 1.5}`, judgeError("judge program: score 1.5 is outside [0, 1]"), ""},
		{`{"id": 7, "score": -0.1}`, judgeError("judge program: score -0.1 is outside [0, 1]"), ""},
		{`{"id": 7}`, judgeError("judge program: scored verdict has neither score nor passed"), ""},
		{`{"id": 7, "score": "1"}`, judgeError(`judge program: field "score" must be a number, got "1"`), ""},
		{`{"id": 7, "score": 1e400}`, judgeError(`judge program: field "score" must be a number, got 1e400`), ""},
		{`{"id": 7, "passed": 1}`, judgeError(`judge program: field "passed" must be true or false, got 1`), ""},
		{`{"id": 7, "detail": ["a"]}`, judgeError(`judge program: field "detail" must be a string, got ["a"]`), ""},
		// Field names are case-sensitive, and each comes once.
		{`{"id": 7, "Score": 1}`, judgeError(`judge program: field "Score": field names are case-sensitive, want "score"`), ""},
		{`{"id": 7, "passed": true, "DETAIL": "x"}`, judgeError(`judge program: field "DETAIL": field names are case-sensitive, want "detail"`), ""},
		{`{"id": 7, "passed": true, "passed": false}`, judgeError(`judge program: field "passed" appears twice`), ""},
		// Not this request's verdict: the worker is out of step.
		{`{"passed": true}`, Verdict{}, `the verdict has no "id"`},
		{`{"ID": 7, "passed": true}`, Verdict{}, `the verdict has "ID", want "id" (field names are case-sensitive)`},
		{`{"id": 6, "passed": true}`, Verdict{}, `the verdict's "id" is 6, want 7: an extra line for an earlier request`},
		{`{"id": 8, "passed": true}`, Verdict{}, `the verdict's "id" is 8, want 7`},
		{`{"id": "7", "passed": true}`, Verdict{}, `the verdict's "id" is "7", want 7 (echo the request's "id" as it came, a number)`},
		{`{"id": null, "passed": true}`, Verdict{}, `the verdict's "id" is null, want 7`},
		{`not json`, Verdict{}, `a line that is not a verdict ("not json")`},
		{`{"id": 7, "passed": true} {"id": 7, "passed": false}`, Verdict{}, "more than one JSON value on the line"},
		{`{"id": 7, "passed": true} x`, Verdict{}, "more than one JSON value on the line"},
		{`{"id": 7, "passed": true`, Verdict{}, "a line that is not a verdict"},
		{`[]`, Verdict{}, "not a JSON object"},
		{`7`, Verdict{}, "not a JSON object"},
		{``, Verdict{}, "an empty line"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := parseExecVerdict([]byte(tt.line), id)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseExecVerdict error = %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("parseExecVerdict error = %v, want one containing %q", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseExecVerdict = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseExecVerdictClips(t *testing.T) {
	long := strings.Repeat("é", 1000)
	v, err := parseExecVerdict([]byte(`{"id": 1, "passed": true, "extracted": "`+long+`", "detail": "`+long+`"}`), 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.Extracted != clip(long) || v.Detail != clip(long) || len(v.Detail) > maxExtracted {
		t.Errorf("extracted of %d bytes and detail of %d bytes, want both clipped to %d", len(v.Extracted), len(v.Detail), maxExtracted)
	}
}

func FuzzParseExecVerdict(f *testing.F) {
	for _, s := range []string{
		`{"id": 1, "passed": true}`, `{"id": 1, "score": 0.5, "detail": "x"}`, `{"id": 1, "status": "unscored"}`,
		`{"id": 1, "status": "error", "detail": "boom"}`, `{"id": 1, "score": 1e308}`, `{"id": 1, "score": NaN}`,
		`not json`, `{}`, `null`, `{"passed": true}`, `{"id": 2, "passed": true}`, `{"ID": 1, "Score": 1}`,
		`{"id": 1, "passed": true, "passed": false}`, `{"id": 1, "passed": true} {}`, `{"id": "1", "passed": true}`,
		`{"id": 1, "extracted": "` + strings.Repeat("é", 400) + `", "passed": false}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		v, err := parseExecVerdict(line, 1)
		if err != nil {
			if v != (Verdict{}) {
				t.Fatalf("parseExecVerdict(%q) = %+v with error %v", line, v, err)
			}
			return
		}
		// Accepted: the line is one JSON object whose "id" is 1.
		var obj map[string]any
		if jerr := json.Unmarshal(line, &obj); jerr != nil || obj["id"] != float64(1) {
			t.Fatalf("parseExecVerdict(%q) accepted a line without id 1 (%v)", line, jerr)
		}
		switch v.Status {
		case record.StatusScored, record.StatusUnscored, record.StatusError:
		default:
			t.Fatalf("parseExecVerdict(%q): status %q", line, v.Status)
		}
		if math.IsNaN(v.Score) || v.Score < 0 || v.Score > 1 {
			t.Fatalf("parseExecVerdict(%q): score %v", line, v.Score)
		}
		if v.Status != record.StatusScored && (v.Score != 0 || v.Passed) {
			t.Fatalf("parseExecVerdict(%q) = %+v: a score on a non-scored verdict", line, v)
		}
		if len(v.Extracted) > maxExtracted || len(v.Detail) > maxExtracted {
			t.Fatalf("parseExecVerdict(%q): extracted or detail not clipped", line)
		}
		// Field names match exactly: a name that is a field's in another
		// case never scores.
		for k := range obj {
			if _, ok := verdictFields[strings.ToLower(k)]; ok && k != strings.ToLower(k) && v.Status != record.StatusError {
				t.Fatalf("parseExecVerdict(%q) = %+v: accepted field %q", line, v, k)
			}
		}
	})
}

func TestExecEncodeRequest(t *testing.T) {
	got, err := encodeRequest(3, Item{ID: "q1", Answer: "<a>", Context: "x\ny"}, "out\n")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"protocol":2,"id":3,"item":{"id":"q1","question":"","answer":"<a>","answers":[],"choices":[],"context":"x\ny","task":""},"output":"out\n"}` + "\n"
	if string(got) != want {
		t.Errorf("encodeRequest =\n%s\nwant\n%s", got, want)
	}
}

func TestExecReadLine(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		limit   int
		want    []string
		wantErr error // after the lines
	}{
		{"lines", "a\nbb\r\n", 10, []string{"a", "bb"}, io.EOF},
		{"partial last line", "a\nb", 10, []string{"a"}, io.EOF},
		{"too long", strings.Repeat("x", 30) + "\n", 10, nil, errLineTooLong},
		{"long but allowed", strings.Repeat("x", 5000) + "\n", 6000, []string{strings.Repeat("x", 5000)}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			var got []string
			for {
				line, err := readLine(r, tt.limit)
				if err != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Errorf("error = %v, want %v", err, tt.wantErr)
					}
					break
				}
				got = append(got, string(line))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzExecReadLine checks that readLine never returns a line over its limit
// or one holding a newline, and returns the input's lines in order.
func FuzzExecReadLine(f *testing.F) {
	f.Add([]byte("a\nbb\r\n"), 4)
	f.Add([]byte(strings.Repeat("x", 40)+"\nshort\n"), 16)
	f.Add([]byte("no newline"), 100)
	f.Add([]byte("\n\n\r\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		if limit < 0 || limit > 1<<16 {
			return
		}
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		rest := string(in)
		for {
			line, err := readLine(r, limit)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errLineTooLong) {
					t.Fatalf("readLine: %v", err)
				}
				return
			}
			if len(line) > limit || bytes.ContainsRune(line, '\n') {
				t.Fatalf("readLine(limit %d) = %q", limit, line)
			}
			before, after, ok := strings.Cut(rest, "\n")
			if !ok || strings.TrimRight(before, "\r") != string(line) {
				t.Fatalf("readLine = %q, want the next line of %q", line, rest)
			}
			rest = after
		}
	})
}
