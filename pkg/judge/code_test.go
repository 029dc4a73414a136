package judge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/sandbox"
)

func TestExtractCode(t *testing.T) {
	tests := []struct {
		name, output, want string
	}{
		{"no fence", "def f():\n    return 1\n", "def f():\n    return 1\n"},
		{"python fence", "Here:\n```python\ndef f():\n    return 1\n```\nDone.", "def f():\n    return 1\n"},
		{"py fence", "```py\nx = 1\n```", "x = 1\n"},
		{"last python block wins", "```python\na = 1\n```\nbetter:\n```python\na = 2\n```\n", "a = 2\n"},
		{"python block before a bare one", "```python\nx = 1\n```\nOutput:\n```\n1\n```\n", "x = 1\n"},
		{"bare fence", "```\nx = 1\n```", "x = 1\n"},
		{"other language only", "```bash\nls\n```", "```bash\nls\n```"},
		{"python beside another language", "```bash\npip install x\n```\n```Python3 title\nx = 1\n```", "x = 1\n"},
		{"unclosed block (truncated)", "Sure.\n```python\ndef f():\n    return", "def f():\n    return"},
		{"indented fence", "  ```python\n  x = 1\n  ```\n", "  x = 1\n"},
		{"fence with info cannot close", "```python\ns = '''\n```python\n'''\n```\n", "s = '''\n```python\n'''\n"},
		{"CRLF", "```python\r\nx = 1\r\n```\r\n", "x = 1\r\n"},
		{"empty block", "```python\n```", ""},
		{"empty output", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExtractCode(tt.output); got != tt.want {
				t.Errorf("ExtractCode(%q) = %q, want %q", tt.output, got, tt.want)
			}
		})
	}
}

// humanEvalItem is a HumanEval-layout item of a small function.
func humanEvalItem() Item {
	return Item{ID: "HumanEval/x", Fields: map[string]any{
		"task_id":     "HumanEval/x",
		"prompt":      "from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    \"\"\"Sum of xs.\n    >>> total([1, 2])\n    3\n    \"\"\"\n",
		"entry_point": "total",
		"test":        "def check(candidate):\n    assert candidate([1, 2]) == 3\n    assert candidate([]) == 0\n",
	}}
}

// mbppItem is an MBPP-layout item (sanitized: test_imports).
func mbppItem() Item {
	return Item{ID: "11", Fields: map[string]any{
		"task_id":      int64(11),
		"test_imports": []any{"import math"},
		"test_list":    []any{"assert hyp(3, 4) == 5", "assert hyp(5, 12) == 13"},
	}}
}

func TestTestProgram(t *testing.T) {
	he := humanEvalItem()
	withCode := mbppItem()
	withCode.Fields["code"] = "import math\ndef hyp(a, b):\n    return helper(a, b)\n\ndef helper(a, b):\n    return int(math.hypot(a, b))\n"
	tests := []struct {
		name     string
		item     Item
		code     string
		solution []string // substrings of Program.Solution, in order
		helpers  string   // Program.Helpers
		tests    []string // substrings of Program.Tests, in order
		calls    []string
		wantErr  string
	}{
		{
			name: "completion", item: he, code: "    return sum(xs)\n",
			solution: []string{"from typing import List", "def total(xs: List[int]) -> int:", "\"\"\"\n    return sum(xs)\n"},
			helpers:  he.Fields["prompt"].(string),
			tests:    []string{"def check(candidate):", "\ncheck(total)\n"},
			calls:    []string{"total"},
		},
		{
			name: "full function after the prompt", item: he, code: "def total(xs):\n    return sum(xs)",
			solution: []string{"from typing import List", "    \"\"\"\ndef total(xs):\n    return sum(xs)\n"},
			helpers:  he.Fields["prompt"].(string),
			tests:    []string{"check(total)"},
			calls:    []string{"total"},
		},
		{
			name: "__future__ import hoisted", item: he, code: "from __future__ import annotations\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n",
			solution: []string{"from __future__ import annotations\nfrom typing import List", "def total(xs: List[int])"},
			helpers:  he.Fields["prompt"].(string),
			tests:    []string{"check(total)"},
			calls:    []string{"total"},
		},
		{
			name: "mbpp", item: mbppItem(), code: "def hyp(a, b):\n    return int(math.hypot(a, b))",
			solution: []string{"import math\n", "def hyp(a, b):"},
			helpers:  "import math\n",
			tests:    []string{"assert hyp(3, 4) == 5\nassert hyp(5, 12) == 13\n"},
		},
		{
			name: "mbpp with its reference", item: withCode, code: "def hyp(a, b):\n    return 5",
			solution: []string{"import math\n", "def hyp(a, b):"},
			helpers:  "import math\n",
			tests:    []string{"assert hyp(3, 4) == 5"},
			calls:    []string{"hyp", "helper"},
		},
		{
			name: "mbpp setup code", item: Item{Fields: map[string]any{"test_setup_code": "import re", "test_list": []any{"assert f()"}}}, code: "def f(): return True",
			solution: []string{"import re\ndef f(): return True"},
			helpers:  "import re\n",
			tests:    []string{"assert f()"},
		},
		{
			name: "mbpp tests in a CSV cell", item: Item{Fields: map[string]any{"test_list": `["assert f()"]`}}, code: "def f(): return True",
			solution: []string{"def f(): return True"},
			tests:    []string{"assert f()\n"},
		},
		{name: "no tests", item: Item{Fields: map[string]any{"question": "q"}}, code: "x", wantErr: `item has no tests: want field "test"`},
		{name: "no fields", item: Item{}, code: "x", wantErr: "item has no tests"},
		{name: "no entry point", item: Item{Fields: map[string]any{"test": "def check(c): pass"}}, code: "x", wantErr: `field "entry_point": missing`},
		{name: "bad entry point", item: Item{Fields: map[string]any{"test": "t", "entry_point": "f(); import os"}}, code: "x", wantErr: `field "entry_point": "f(); import os" is not a Python name`},
		{name: "completion without prompt", item: Item{Fields: map[string]any{"test": "t", "entry_point": "f"}}, code: "    return 1", wantErr: `field "prompt": missing, and the output does not define f()`},
		{name: "test not a string", item: Item{Fields: map[string]any{"test": 3.0, "entry_point": "f"}}, code: "x", wantErr: `field "test": want a string, got float64`},
		{name: "empty test_list", item: Item{Fields: map[string]any{"test_list": []any{}}}, code: "x", wantErr: `field "test_list": empty`},
		{name: "test_list of numbers", item: Item{Fields: map[string]any{"test_list": []any{int64(1)}}}, code: "x", wantErr: `field "test_list": item 1: want a string, got int64`},
		{name: "test_list a bad string", item: Item{Fields: map[string]any{"test_list": "assert f()"}}, code: "x", wantErr: `field "test_list": want a list of strings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testProgram(tt.item, tt.code)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("testProgram error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("testProgram: %v", err)
			}
			inOrder(t, "solution", got.Solution, tt.solution)
			inOrder(t, "tests", got.Tests, tt.tests)
			if got.Helpers != tt.helpers {
				t.Errorf("helpers %q, want %q", got.Helpers, tt.helpers)
			}
			if !slices.Equal(got.Calls, tt.calls) {
				t.Errorf("calls %q, want %q", got.Calls, tt.calls)
			}
			if strings.Contains(got.Solution, "check(") || strings.Contains(got.Solution, "assert hyp") {
				t.Errorf("the solution holds the tests:\n%s", got.Solution)
			}
		})
	}
}

// inOrder fails t unless text holds want's strings in order.
func inOrder(t *testing.T, what, text string, want []string) {
	t.Helper()
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (in order):\n%s", what, w, text)
			return
		}
		rest = rest[i+len(w):]
	}
}

// testProbes is the test binary's cache of interpreter probes, as a run of
// dars has one: probing python3 afresh for each judge takes about a second.
var testProbes sandbox.Probes

// newCodeJudge builds a code judge, skipping the test without Python 3,
// and closes it when the test ends.
func newCodeJudge(t testing.TB, cfg config.Judge) *codeJudge {
	t.Helper()
	cfg.Type = "code"
	if cfg.Name == "" {
		cfg.Name = "tests"
	}
	if _, err := sandbox.Probe(t.Context(), cfg.Command, &testProbes); err != nil {
		t.Skipf("no usable python3: %v", err)
	}
	j, err := New(t.Context(), cfg, Options{Probes: &testProbes})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	cj := j.(*codeJudge)
	t.Cleanup(func() {
		if err := cj.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return cj
}

func TestCodeJudge(t *testing.T) {
	j := newCodeJudge(t, config.Judge{ExecTimeout: "2s"})
	t.Logf("isolation: %v", j.Isolation())
	he, mb := humanEvalItem(), mbppItem()
	tests := []struct {
		name   string
		item   Item
		output string
		status string
		passed bool
		detail string
	}{
		{name: "completion", item: he, output: "    return sum(xs)\n", status: record.StatusScored, passed: true},
		{name: "full function in a fence", item: he, output: "Here you go:\n```python\ndef total(xs: List[int]) -> int:\n    s = 0\n    for x in xs:\n        s += x\n    return s\n```\nIt loops.", status: record.StatusScored, passed: true},
		{name: "completion in a fence", item: he, output: "```python\n    return sum(xs)\n```", status: record.StatusScored, passed: true},
		{name: "uses a prompt import", item: he, output: "```python\ndef total(xs: List[int]) -> int:\n    return sum(xs)\n```", status: record.StatusScored, passed: true},
		{name: "wrong", item: he, output: "    return len(xs)\n", status: record.StatusScored, detail: "AssertionError"},
		{name: "syntax error", item: he, output: "```python\ndef total(xs):\n    return sum(xs\n```", status: record.StatusScored, detail: "SyntaxError"},
		{name: "exception", item: he, output: "    return xs[0] + xs[1]\n", status: record.StatusScored, detail: "IndexError: list index out of range"},
		{name: "main block exits", item: he, output: "def total(xs):\n    return sum(xs)\nimport sys\nsys.exit(0)\n", status: record.StatusScored, detail: "before its tests finished"},
		{name: "infinite loop", item: he, output: "    while True:\n        pass\n", status: record.StatusScored, detail: "timeout after 2s"},
		{name: "empty output", item: he, output: "  \n", status: record.StatusUnscored, detail: "no code in the output"},
		{name: "empty block", item: he, output: "```python\n```", status: record.StatusUnscored},
		{name: "mbpp", item: mb, output: "```python\ndef hyp(a, b):\n    return int(math.hypot(a, b))\n```", status: record.StatusScored, passed: true},
		{name: "mbpp wrong", item: mb, output: "def hyp(a, b):\n    return a + b\n", status: record.StatusScored, detail: "AssertionError (test line 1)"},
		{name: "mbpp wrong name", item: mb, output: "def hypot(a, b):\n    return 5\n", status: record.StatusScored, detail: "NameError: name 'hyp' is not defined"},
		{name: "item without tests", item: gold("5"), output: "x = 1", status: record.StatusError, detail: "item has no tests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := j.Judge(context.Background(), tt.item, tt.output)
			if err != nil {
				t.Fatalf("Judge: %v", err)
			}
			if v.Status != tt.status || v.Passed != tt.passed || !strings.Contains(v.Detail, tt.detail) {
				t.Errorf("Judge = %+v, want status %s, passed %v, detail containing %q", v, tt.status, tt.passed, tt.detail)
			}
			if want := 0.0; tt.passed {
				if v.Score != 1 {
					t.Errorf("score %v, want 1", v.Score)
				}
			} else if v.Score != want {
				t.Errorf("score %v, want 0", v.Score)
			}
		})
	}
}

func TestCodeJudgeContext(t *testing.T) {
	j := newCodeJudge(t, config.Judge{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Judge(ctx, humanEvalItem(), "    return sum(xs)\n"); err == nil {
		t.Error("Judge with a cancelled context succeeded")
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Judge(context.Background(), humanEvalItem(), "    return sum(xs)\n"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Judge after Close = %v, want a closed error", err)
	}
}

// TestCodeJudgeCases judges the outputs in testdata/code: each folder holds
// an item's raw row (case.json) and model outputs named pass*.md or
// fail*.md.
func TestCodeJudgeCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "code", "*"))
	if err != nil {
		t.Fatal(err)
	}
	j := newCodeJudge(t, config.Judge{ExecTimeout: "5s"})
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "case.json"))
		if err != nil {
			continue
		}
		var fields map[string]any
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		outputs, _ := filepath.Glob(filepath.Join(dir, "*.md"))
		for _, out := range outputs {
			name := filepath.Base(out)
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				output, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				v, err := j.Judge(context.Background(), Item{ID: filepath.Base(dir), Fields: fields}, string(output))
				if err != nil {
					t.Fatal(err)
				}
				if want := strings.HasPrefix(name, "pass"); v.Status != record.StatusScored || v.Passed != want {
					t.Errorf("Judge = %+v, want scored, passed %v", v, want)
				}
			})
		}
	}
}

func TestCodeJudgeOptions(t *testing.T) {
	if _, err := sandbox.Probe(t.Context(), nil, &testProbes); err != nil {
		t.Skipf("no usable python3: %v", err)
	}
	tests := []struct {
		name    string
		cfg     config.Judge
		wantErr string
	}{
		{"defaults", config.Judge{}, ""},
		{"all options", config.Judge{ExecWorkers: 3, ExecTimeout: "1500ms", MemoryMB: 512}, ""},
		{"workers too many", config.Judge{ExecWorkers: 65}, `option "workers": must be between 1 and 64, got 65`},
		{"workers negative", config.Judge{ExecWorkers: -1}, `option "workers"`},
		{"bad timeout", config.Judge{ExecTimeout: "10"}, `option "timeout": time: missing unit`},
		{"zero timeout", config.Judge{ExecTimeout: "0s"}, `option "timeout": must be positive`},
		{"tiny memory", config.Judge{MemoryMB: 10}, `option "memory_mb": must be at least 64, got 10`},
		{"missing interpreter", config.Judge{Command: []string{"no-such-python-dars"}}, `judge "c": interpreter`},
		{"empty interpreter", config.Judge{Command: []string{""}}, `option "command": the interpreter is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Name, tt.cfg.Type = "c", "code"
			j, err := New(t.Context(), tt.cfg, Options{Probes: &testProbes})
			if j != nil {
				defer j.(*codeJudge).Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := New(t.Context(), config.Judge{Name: "e", Type: "exact", MemoryMB: 512}, Options{}); err == nil || !strings.Contains(err.Error(), `option "memory_mb" does not apply to type "exact"`) {
		t.Errorf("memory_mb on exact: %v", err)
	}
}

// TestCodeJudgeNewOptions checks New hands a code judge its logger (none:
// discard) and honours its context while probing.
func TestCodeJudgeNewOptions(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	j := newCodeJudgeWith(t, Options{Log: log, Probes: &testProbes})
	if j.log != log {
		t.Error("the judge does not log to Options.Log")
	}
	if j = newCodeJudgeWith(t, Options{Probes: &testProbes}); j.log.Handler() != slog.DiscardHandler {
		t.Errorf("without Options.Log the judge logs to %T, want slog.DiscardHandler", j.log.Handler())
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// No Probes: a cache of its own, so the judge must probe, under ctx.
	if _, err := New(ctx, config.Judge{Name: "c", Type: "code"}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a cancelled context = %v, want context.Canceled", err)
	}
}

// newCodeJudgeWith builds a default code judge with opts.
func newCodeJudgeWith(t *testing.T, opts Options) *codeJudge {
	t.Helper()
	if _, err := sandbox.Probe(t.Context(), nil, &testProbes); err != nil {
		t.Skipf("no usable python3: %v", err)
	}
	j, err := New(t.Context(), config.Judge{Name: "c", Type: "code"}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	cj := j.(*codeJudge)
	t.Cleanup(func() { cj.Close() })
	return cj
}

// TestWeakIsolationWarning checks the warning about a sandbox without
// namespaces comes once per run (per sandbox.Probes), whatever the number
// of code judges, and not at all with namespaces.
func TestWeakIsolationWarning(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	weak := sandbox.Isolation{Reason: "forced by the test"}
	var run1, run2 sandbox.Probes
	judges := []*codeJudge{
		{name: "a", log: log, probes: &run1},
		{name: "b", log: log, probes: &run1},
		{name: "c", log: log, probes: &run2},
	}
	for _, j := range judges {
		j.warnWeakIsolation(sandbox.Isolation{Namespaces: true})
	}
	if logs.Len() != 0 {
		t.Fatalf("warned with namespaces: %s", logs.String())
	}
	for range 2 {
		for _, j := range judges {
			j.warnWeakIsolation(weak)
		}
	}
	if n := strings.Count(logs.String(), "runs without namespaces"); n != 2 {
		t.Errorf("%d warnings for two runs, want 2:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "forced by the test") {
		t.Errorf("the warning does not say why:\n%s", logs.String())
	}
}

func TestCodeHash(t *testing.T) {
	base := config.Judge{Name: "c", Type: "code"}
	with := func(f func(*config.Judge)) config.Judge {
		c := base
		f(&c)
		return c
	}
	same := []config.Judge{
		with(func(c *config.Judge) { c.ExecWorkers = 7 }),
		with(func(c *config.Judge) { c.ExecTimeout = "10s" }),
		with(func(c *config.Judge) { c.ExecTimeout = "10000ms" }),
		with(func(c *config.Judge) { c.MemoryMB = 1024 }),
		with(func(c *config.Judge) { c.Command = []string{"python3"} }),
	}
	for _, c := range same {
		if Hash(c) != Hash(base) {
			t.Errorf("Hash(%+v) differs from the defaults'", c)
		}
	}
	differ := []config.Judge{
		with(func(c *config.Judge) { c.ExecTimeout = "5s" }),
		with(func(c *config.Judge) { c.MemoryMB = 2048 }),
		with(func(c *config.Judge) { c.Command = []string{"python3.12"} }),
	}
	for _, c := range differ {
		if Hash(c) == Hash(base) {
			t.Errorf("Hash(%+v) equals the defaults'", c)
		}
	}
	// exec's timeout stays out of its hash.
	ex := config.Judge{Name: "x", Type: "exec", Command: []string{"j"}}
	ex2 := ex
	ex2.ExecTimeout = "5s"
	if Hash(ex) != Hash(ex2) {
		t.Error("exec: timeout changed the hash")
	}
}

// FuzzExtractCode checks ExtractCode returns a piece of its input and that
// building a program around it never panics.
func FuzzExtractCode(f *testing.F) {
	f.Add("```python\nx = 1\n```")
	f.Add("text\n```\ny\n```\n```py\nz")
	f.Add("   ```Python extra\r\na\r\n```")
	f.Add("````\n```python\n````")
	f.Add("from __future__ import annotations\ndef total(xs): pass")
	f.Fuzz(func(t *testing.T, output string) {
		code := ExtractCode(output)
		if !strings.Contains(output, code) {
			t.Fatalf("ExtractCode(%q) = %q, not a part of the output", output, code)
		}
		for _, item := range []Item{humanEvalItem(), mbppItem()} {
			if _, err := testProgram(item, code); err != nil {
				t.Fatalf("testProgram: %v", err)
			}
		}
	})
}

// TestCodeJudgeSecrets checks generated code cannot read the run's
// environment (where API keys live) into a verdict.
func TestCodeJudgeSecrets(t *testing.T) {
	secret := "sk-dars-test-secret-value"
	t.Setenv("DARS_TEST_API_KEY", secret)
	j := newCodeJudge(t, config.Judge{ExecTimeout: "5s"})
	output := "```python\nimport os\ndef total(xs):\n    raise ValueError(repr(dict(os.environ)))\n```"
	v, err := j.Judge(context.Background(), humanEvalItem(), output)
	if err != nil {
		t.Fatal(err)
	}
	if v.Passed || !strings.Contains(v.Detail, "ValueError: {") || strings.Contains(v.Detail, secret) {
		t.Errorf("Judge = %+v: want a failure that shows an environment without %q", v, secret)
	}
}

// TestCheckIsolation checks the code judge refuses a sandbox without
// namespaces, saying why and what to do, unless the judge says
// unsafe_no_sandbox (issue 9, item 4).
func TestCheckIsolation(t *testing.T) {
	weak := sandbox.Isolation{Reason: "user namespaces are disabled"}
	err := checkIsolation(config.Judge{Name: "tests", Type: "code"}, weak)
	if err == nil {
		t.Fatal("a sandbox without namespaces was accepted")
	}
	if !problem.IsInput(err) {
		t.Errorf("%v is not an input problem (exit 2)", err)
	}
	for _, want := range []string{`judge "tests"`, "user namespaces are disabled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if hints := strings.Join(problem.Hints(err), "\n"); !strings.Contains(hints, "unsafe_no_sandbox: true") {
		t.Errorf("hints %q do not name unsafe_no_sandbox", hints)
	}
	if err := checkIsolation(config.Judge{Name: "tests", Type: "code", UnsafeNoSandbox: true}, weak); err != nil {
		t.Errorf("unsafe_no_sandbox: %v", err)
	}
	if err := checkIsolation(config.Judge{Name: "tests", Type: "code"}, sandbox.Isolation{Namespaces: true}); err != nil {
		t.Errorf("namespaces: %v", err)
	}
}
