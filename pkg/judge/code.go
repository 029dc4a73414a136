package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/sandbox"
)

// Options of the code judge.
const (
	// optMemoryMB is the address-space option, in MiB.
	optMemoryMB = "memory_mb"
	// optUnsafeNoSandbox lets the judge run generated code where the
	// sandbox cannot isolate it.
	optUnsafeNoSandbox = "unsafe_no_sandbox"
)

// codeJudge runs the generated Python against the item's tests in a
// sandbox (pkg/sandbox) and passes an output whose tests run to their end.
// The code and the tests run in two processes: the tests call the code's
// functions and get plain data back, so code cannot fake its verdict.
//
// Items come in two layouts, read from the raw row (Item.Fields):
// HumanEval ("prompt", "test", "entry_point") and MBPP ("test_list", with
// "test_imports" or "test_setup_code").
type codeJudge struct {
	name   string
	sb     *sandbox.Sandbox
	log    *slog.Logger
	probes *sandbox.Probes // shared with the run's other code judges, for WarnOnce
}

var (
	_ Judge     = (*codeJudge)(nil)
	_ io.Closer = (*codeJudge)(nil)
)

// newCode builds a code judge: it checks the options and, under ctx,
// resolves and probes the interpreter (see sandbox.New), through
// opts.Probes. It refuses a sandbox without namespaces unless the judge
// says unsafe_no_sandbox.
func newCode(ctx context.Context, cfg config.Judge, opts Options) (Judge, error) {
	sc, err := codeSandboxConfig(cfg)
	if err != nil {
		return nil, err
	}
	probes := opts.Probes
	if probes == nil {
		probes = new(sandbox.Probes)
	}
	sb, err := sandbox.New(ctx, sc, probes)
	if err != nil {
		return nil, fmt.Errorf("judge %q: %w", cfg.Name, err)
	}
	if err := checkIsolation(cfg, sb.Isolation()); err != nil {
		sb.Close()
		return nil, err
	}
	return &codeJudge{name: displayName(cfg), sb: sb, log: opts.logger(), probes: probes}, nil
}

// checkIsolation refuses iso, a sandbox's isolation, when it has no
// namespaces (not Linux, or a container that forbids them) and cfg does
// not say unsafe_no_sandbox: there generated code would run with dars's
// user's access to files, the network and processes.
func checkIsolation(cfg config.Judge, iso sandbox.Isolation) error {
	if iso.Namespaces || cfg.UnsafeNoSandbox {
		return nil
	}
	reason := iso.Reason
	if reason == "" {
		reason = "no namespaces"
	}
	return problem.Input(
		fmt.Errorf("judge %q: the sandbox cannot isolate generated code here (%s), so the judge will not run it", cfg.Name, reason),
		fmt.Sprintf("run dars on Linux where namespaces work (as root, or with unprivileged user namespaces), "+
			"or set %s: true on judge %q to run generated code with your user's access to files, network and processes", optUnsafeNoSandbox, cfg.Name))
}

// codeSandboxConfig checks the code judge's options and applies defaults:
// workers = the number of CPUs (at most sandbox.MaxWorkers), timeout 10s,
// memory_mb 1024, command python3.
func codeSandboxConfig(cfg config.Judge) (sandbox.Config, error) {
	sc := sandbox.Config{Command: cfg.Command, MemoryMB: cfg.MemoryMB, Workers: cfg.ExecWorkers}
	if len(cfg.Command) > 0 && cfg.Command[0] == "" {
		return sc, fmt.Errorf("judge %q: option %q: the interpreter is empty", cfg.Name, optCommand)
	}
	switch {
	case sc.Workers == 0:
		sc.Workers = min(runtime.NumCPU(), sandbox.MaxWorkers)
	case sc.Workers < 1 || sc.Workers > sandbox.MaxWorkers:
		return sc, fmt.Errorf("judge %q: option %q: must be between 1 and %d, got %d",
			cfg.Name, optExecWorkers, sandbox.MaxWorkers, sc.Workers)
	}
	timeout, err := codeTimeout(cfg)
	if err != nil {
		return sc, err
	}
	sc.Timeout = timeout
	sc.MemoryMB = codeMemoryMB(cfg)
	if sc.MemoryMB < sandbox.MinMemoryMB {
		return sc, fmt.Errorf("judge %q: option %q: must be at least %d, got %d",
			cfg.Name, optMemoryMB, sandbox.MinMemoryMB, sc.MemoryMB)
	}
	return sc, nil
}

// codeTimeout returns the code judge's timeout option, default
// sandbox.DefaultTimeout.
func codeTimeout(cfg config.Judge) (time.Duration, error) {
	if cfg.ExecTimeout == "" {
		return sandbox.DefaultTimeout, nil
	}
	d, err := time.ParseDuration(cfg.ExecTimeout)
	if err != nil {
		return 0, fmt.Errorf("judge %q: option %q: %w", cfg.Name, optExecTimeout, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("judge %q: option %q: must be positive, got %q", cfg.Name, optExecTimeout, cfg.ExecTimeout)
	}
	return d, nil
}

// defaultCodeInterpreter is the interpreter of a code judge without a
// command.
const defaultCodeInterpreter = "python3"

// codeHashTimeout is the timeout option as Hash sees it: the parsed
// duration with the default applied, or the raw text when it does not parse.
func codeHashTimeout(cfg config.Judge) string {
	d, err := codeTimeout(cfg)
	if err != nil {
		return cfg.ExecTimeout
	}
	return d.String()
}

// codeMemoryMB is the memory_mb option with the default applied.
func codeMemoryMB(cfg config.Judge) int {
	if cfg.MemoryMB == 0 {
		return sandbox.DefaultMemoryMB
	}
	return cfg.MemoryMB
}

// Name returns the judge's configured name.
func (j *codeJudge) Name() string { return j.name }

// Isolation reports how the judge's sandbox isolates programs.
func (j *codeJudge) Isolation() sandbox.Isolation { return j.sb.Isolation() }

// Close kills the programs in flight and waits for them.
func (j *codeJudge) Close() error { return j.sb.Close() }

// Judge extracts the code from output, builds the item's test program
// around it and runs it. Passing tests score 1; failing tests, an exception
// or a timeout score 0 with the reason in Detail; an output without code is
// unscored; an item without tests, or a sandbox that fails, is an error
// verdict. Go errors mean ctx ended or the judge was closed.
func (j *codeJudge) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	if err := ctx.Err(); err != nil {
		return Verdict{}, err
	}
	code := ExtractCode(output)
	if strings.TrimSpace(code) == "" {
		return unscored("no code in the output"), nil
	}
	prog, err := testProgram(item, code)
	if err != nil {
		return judgeError(err.Error()), nil
	}
	j.warnWeakIsolation(j.sb.Isolation())
	res, err := j.sb.Run(ctx, prog)
	switch {
	case errors.Is(err, sandbox.ErrClosed):
		return Verdict{}, fmt.Errorf("judge %q: closed", j.name)
	case ctx.Err() != nil:
		return Verdict{}, ctx.Err()
	case err != nil:
		return judgeError(err.Error()), nil
	case res.Passed:
		return binary(true, code, "tests passed"), nil
	}
	return binary(false, code, res.Detail), nil
}

// warnWeakIsolation logs, once per run (per sandbox.Probes), that programs
// run without namespaces when iso, the sandbox's isolation, has none (the
// judge says unsafe_no_sandbox): they can read the user's files, reach the
// network and outlive the run.
func (j *codeJudge) warnWeakIsolation(iso sandbox.Isolation) {
	if iso.Namespaces {
		return
	}
	j.probes.WarnOnce(func() {
		// The caller's logger names the judge (see Options.Log).
		j.log.Warn("code judge: unsafe_no_sandbox: generated code runs without namespaces, so it can read your files, reach the network and other processes of its user",
			"isolation", iso.String())
	})
}

// fencedBlock is one ``` block of an output.
type fencedBlock struct {
	lang string // the info string's first word, lower-cased
	body string
}

// isPythonLang reports whether lang is the info string of a Python block.
func isPythonLang(lang string) bool {
	switch lang {
	case "python", "py", "python3", "py3":
		return true
	}
	return false
}

// ExtractCode returns the code in a model's output: the last fenced block
// marked python (or py), else the last fenced block without a language,
// else the whole output. A block still open at the end of the output (a
// truncated answer) counts, up to the end.
func ExtractCode(output string) string {
	blocks := fencedBlocks(output)
	for i := len(blocks) - 1; i >= 0; i-- {
		if isPythonLang(blocks[i].lang) {
			return blocks[i].body
		}
	}
	for i := len(blocks) - 1; i >= 0; i-- {
		if blocks[i].lang == "" {
			return blocks[i].body
		}
	}
	return output
}

// fencedBlocks splits output into its ``` blocks. A fence is a line whose
// text, after up to three spaces of indentation, starts with three
// backticks; a block closes at a fence with no info string.
func fencedBlocks(output string) []fencedBlock {
	var (
		blocks []fencedBlock
		open   *fencedBlock
		body   strings.Builder
	)
	for line := range strings.Lines(output) {
		text := strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimLeft(text, " ")
		if len(text)-len(trimmed) > 3 || !strings.HasPrefix(trimmed, "```") {
			if open != nil {
				body.WriteString(line)
			}
			continue
		}
		info := strings.TrimSpace(strings.TrimLeft(trimmed, "`"))
		switch {
		case open == nil:
			lang, _, _ := strings.Cut(info, " ")
			open = &fencedBlock{lang: strings.ToLower(lang)}
			body.Reset()
		case info == "":
			open.body = body.String()
			blocks = append(blocks, *open)
			open = nil
		default:
			body.WriteString(line) // a fence with an info string cannot close
		}
	}
	if open != nil {
		open.body = body.String()
		blocks = append(blocks, *open)
	}
	return blocks
}

// testProgram builds the program that runs code against item's tests, or
// says which field the item lacks.
func testProgram(item Item, code string) (sandbox.Program, error) {
	f := item.Fields
	_, hasTest := f["test"]
	_, hasList := f["test_list"]
	switch {
	case hasTest:
		return humanEvalProgram(item, code)
	case hasList:
		return mbppProgram(f, code)
	}
	return sandbox.Program{}, errors.New(`item has no tests: want field "test" with "entry_point" (HumanEval) or "test_list" (MBPP)`)
}

// humanEvalProgram builds a HumanEval item's program. The solution is the
// prompt and the code: code that does not define the entry point is a
// completion of the prompt; code that does is put after the prompt too, so
// the prompt's imports and helper functions stay defined, and its
// definition replaces the prompt's stub. The tester runs the prompt (for
// helper functions the test calls), the item's test (which defines check)
// and check(entry_point), with entry_point the solution's.
func humanEvalProgram(item Item, code string) (sandbox.Program, error) {
	test, err := textField(item.Fields, "test", true)
	if err != nil {
		return sandbox.Program{}, err
	}
	entry, err := textField(item.Fields, "entry_point", true)
	if err != nil {
		return sandbox.Program{}, err
	}
	if !isIdentifier(entry) {
		return sandbox.Program{}, fmt.Errorf("field %q: %q is not a Python name", "entry_point", entry)
	}
	prompt, err := textField(item.Fields, "prompt", false)
	if err != nil {
		return sandbox.Program{}, err
	}
	full := definesFunction(code, entry)
	if prompt == "" && !full {
		return sandbox.Program{}, fmt.Errorf(`field "prompt": missing, and the output does not define %s() to test`, entry)
	}
	var b strings.Builder
	future, code := hoistFuture(code)
	b.WriteString(future)
	b.WriteString(prompt)
	if full && prompt != "" && !strings.HasSuffix(prompt, "\n") {
		b.WriteString("\n")
	}
	b.WriteString(code)
	b.WriteString("\n")
	return sandbox.Program{
		Solution: b.String(),
		Helpers:  prompt,
		Tests:    fmt.Sprintf("%s\n\ncheck(%s)\n", test, entry),
		Calls:    []string{entry},
	}, nil
}

// mbppProgram builds an MBPP item's program: the solution is the item's
// imports and setup code, then the code; the tester runs the imports and
// setup code, then each assert of test_list. The asserts call the
// solution's functions named like the reference's (field "code"), also
// where such a name is a built-in's (MBPP task 126 defines sum).
func mbppProgram(f map[string]any, code string) (sandbox.Program, error) {
	tests, err := stringList(f, "test_list", true)
	if err != nil {
		return sandbox.Program{}, err
	}
	if len(tests) == 0 {
		return sandbox.Program{}, errors.New(`field "test_list": empty`)
	}
	imports, err := stringList(f, "test_imports", false)
	if err != nil {
		return sandbox.Program{}, err
	}
	setup, err := textField(f, "test_setup_code", false)
	if err != nil {
		return sandbox.Program{}, err
	}
	var head strings.Builder
	for _, s := range imports {
		head.WriteString(s + "\n")
	}
	if setup != "" {
		head.WriteString(setup + "\n")
	}
	future, code := hoistFuture(code)
	return sandbox.Program{
		Solution: future + head.String() + code + "\n",
		Helpers:  head.String(),
		Tests:    strings.Join(tests, "\n") + "\n",
		Calls:    referenceFunctions(f),
	}, nil
}

// topLevelDefRe matches a top-level function definition.
var topLevelDefRe = regexp.MustCompile(`(?m)^(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// referenceFunctions returns the names of the functions the reference
// solution (field "code", when it is a string) defines at the top level.
func referenceFunctions(f map[string]any) []string {
	ref, _ := f["code"].(string)
	var names []string
	for _, m := range topLevelDefRe.FindAllStringSubmatch(ref, -1) {
		names = append(names, m[1])
	}
	return names
}

// textField returns the string field name of a row; a missing or null
// field is "" unless required.
func textField(f map[string]any, name string, required bool) (string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		if required {
			return "", fmt.Errorf("field %q: missing", name)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("field %q: want a string, got %T", name, v)
	}
	if required && strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("field %q: empty", name)
	}
	return s, nil
}

// stringList returns the list-of-strings field name of a row. A string
// holding a JSON list (a CSV cell) is decoded.
func stringList(f map[string]any, name string, required bool) ([]string, error) {
	v, ok := f[name]
	if !ok || v == nil {
		if required {
			return nil, fmt.Errorf("field %q: missing", name)
		}
		return nil, nil
	}
	if s, isString := v.(string); isString {
		var items []any
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			return nil, fmt.Errorf("field %q: want a list of strings, got a string that is not a JSON list", name)
		}
		v = items
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("field %q: want a list of strings, got %T", name, v)
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("field %q: item %d: want a string, got %T", name, i+1, it)
		}
		out[i] = s
	}
	return out, nil
}

var identifierRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// isIdentifier reports whether s is an ASCII Python name.
func isIdentifier(s string) bool { return identifierRe.MatchString(s) }

// definesFunction reports whether code defines name at the top level.
func definesFunction(code, name string) bool {
	re := regexp.MustCompile(`(?m)^(?:async\s+)?def\s+` + regexp.QuoteMeta(name) + `\s*\(`)
	return re.MatchString(code)
}

// futureRe matches a __future__ import, which Python accepts only at the
// start of a file.
var futureRe = regexp.MustCompile(`(?m)^from\s+__future__\s+import\s+[^\n]*\n?`)

// hoistFuture moves code's __future__ imports out, so they can open the
// program.
func hoistFuture(code string) (future, rest string) {
	var b strings.Builder
	rest = futureRe.ReplaceAllStringFunc(code, func(m string) string {
		b.WriteString(strings.TrimRight(m, "\n") + "\n")
		return ""
	})
	return b.String(), rest
}
