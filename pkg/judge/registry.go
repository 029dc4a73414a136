package judge

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/excerpt"
	"github.com/darslabs/dars/pkg/sandbox"
)

// Option names as they appear in the run file, used in error messages.
const (
	optPattern       = "pattern"
	optTolerance     = "tolerance"
	optLetters       = "letters"
	optCaseSensitive = "case_sensitive"
	optF1Threshold   = "f1_threshold"
)

// judgeType describes one built-in judge type.
type judgeType struct {
	// version changes whenever the type's verdicts change for the same
	// options, so Hash tells stale scores apart.
	version int
	// options are the run-file options the type reads; any other option set
	// on a judge of this type is a configuration mistake.
	options []string
	// build makes a judge of the type from its config alone. Types that
	// start something (a sandbox) set buildWith instead, which also gets
	// New's context and Options.
	build     func(cfg config.Judge) (Judge, error)
	buildWith func(ctx context.Context, cfg config.Judge, opts Options) (Judge, error)
}

// types maps a judge type name to its description. It is never written.
var types = map[string]judgeType{
	"exact":    {version: 1, options: []string{optCaseSensitive}, build: newExact},
	"contains": {version: 1, options: []string{optCaseSensitive}, build: newContains},
	"regex":    {version: 1, options: []string{optPattern, optCaseSensitive}, build: newRegex},
	"numeric":  {version: 1, options: []string{optPattern, optTolerance}, build: newNumeric},
	"choice":   {version: 1, options: []string{optLetters}, build: newChoice},
	"math":     {version: 2, options: []string{optPattern}, build: newMath},
	"f1":       {version: 1, options: []string{optF1Threshold}, build: newF1},
	"exec":     {version: 2, options: []string{optCommand, optExecWorkers, optExecTimeout}, buildWith: newExec},
	"code":     {version: 1, options: []string{optCommand, optExecWorkers, optExecTimeout, optMemoryMB}, buildWith: newCode},
	"llm":      {version: 1, options: []string{optModel, optRubric, optVotes, optTemperature, optMaxTokens}, build: newLLM},
}

// Types returns the judge type names New accepts, sorted.
func Types() []string {
	names := make([]string, 0, len(types))
	for name := range types {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Options are what New hands the judges that need more than their config.
// The zero value is valid.
type Options struct {
	// Log is where the judge reports what the run should know, such as a
	// code judge's sandbox without namespaces; nil discards it. The judge
	// does not add its own name: give it a logger that does, if wanted.
	Log *slog.Logger
	// Probes caches what the code judges find out about interpreters and
	// the sandbox. Share one among the judges of a run, so each interpreter
	// is probed once and each warning is logged once; nil gives the judge a
	// cache of its own.
	Probes *sandbox.Probes
	// SecretVars are the environment variables the run file makes secrets:
	// never passed to a judge's program.
	SecretVars []string
}

// logger returns o.Log, or a logger that discards.
func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// New builds the judge cfg describes. It fails, naming the judge and the
// option, when the type is unknown, an option is invalid, or an option is set
// that the type does not read. ctx bounds the building only (a code judge
// probes its interpreter); a judge that holds processes or other resources
// implements io.Closer, and the caller closes it.
func New(ctx context.Context, cfg config.Judge, opts Options) (Judge, error) {
	t, ok := types[cfg.Type]
	if !ok {
		return nil, fmt.Errorf("judge %q: unknown type %q (want one of: %s)",
			cfg.Name, cfg.Type, strings.Join(Types(), ", "))
	}
	for _, opt := range setOptions(cfg) {
		if !slices.Contains(t.options, opt) {
			return nil, fmt.Errorf("judge %q: option %q does not apply to type %q", cfg.Name, opt, cfg.Type)
		}
	}
	if t.buildWith != nil {
		return t.buildWith(ctx, cfg, opts)
	}
	return t.build(cfg)
}

// setOptions lists the options cfg sets to a non-zero value.
func setOptions(cfg config.Judge) []string {
	var set []string
	if cfg.Pattern != "" {
		set = append(set, optPattern)
	}
	if cfg.Tolerance != 0 {
		set = append(set, optTolerance)
	}
	if cfg.Letters != "" {
		set = append(set, optLetters)
	}
	if cfg.CaseSensitive {
		set = append(set, optCaseSensitive)
	}
	if cfg.F1Threshold != 0 {
		set = append(set, optF1Threshold)
	}
	if len(cfg.Command) > 0 {
		set = append(set, optCommand)
	}
	if cfg.ExecWorkers != 0 {
		set = append(set, optExecWorkers)
	}
	if cfg.ExecTimeout != "" {
		set = append(set, optExecTimeout)
	}
	if cfg.MemoryMB != 0 {
		set = append(set, optMemoryMB)
	}
	if cfg.Model != "" {
		set = append(set, optModel)
	}
	if cfg.Rubric != "" {
		set = append(set, optRubric)
	}
	if cfg.Votes != 0 {
		set = append(set, optVotes)
	}
	if cfg.Temperature != nil {
		set = append(set, optTemperature)
	}
	if cfg.MaxTokens != 0 {
		set = append(set, optMaxTokens)
	}
	return set
}

// Hash returns the hex sha256 of everything that decides cfg's verdicts: the
// name, the type, the type's implementation version and the options the type
// reads (with defaults applied, so spelling out a default keeps the hash).
// Two configs with the same hash score every output the same way; Primary
// does not count. Hash does not validate cfg.
func Hash(cfg config.Judge) string {
	t := types[cfg.Type]
	canon := struct {
		Name          string   `json:"name"`
		Type          string   `json:"type"`
		Version       int      `json:"version"`
		Pattern       string   `json:"pattern,omitempty"`
		Tolerance     string   `json:"tolerance,omitempty"`
		Letters       string   `json:"letters,omitempty"`
		CaseSensitive bool     `json:"case_sensitive,omitempty"`
		F1Threshold   string   `json:"f1_threshold,omitempty"`
		Command       []string `json:"command,omitempty"`
		Timeout       string   `json:"timeout,omitempty"`
		MemoryMB      int      `json:"memory_mb,omitempty"`
		Model         string   `json:"model,omitempty"`
		Rubric        string   `json:"rubric,omitempty"`
		Votes         int      `json:"votes,omitempty"`
		Temperature   string   `json:"temperature,omitempty"`
		MaxTokens     int      `json:"max_tokens,omitempty"`
	}{Name: cfg.Name, Type: cfg.Type, Version: t.version}
	for _, opt := range t.options {
		switch opt {
		case optPattern:
			canon.Pattern = cfg.Pattern
		case optTolerance:
			tol := cfg.Tolerance
			if tol == 0 {
				tol = defaultTolerance
			}
			canon.Tolerance = strconv.FormatFloat(tol, 'g', -1, 64)
		case optLetters:
			canon.Letters = cfg.Letters
		case optCaseSensitive:
			canon.CaseSensitive = cfg.CaseSensitive
		case optF1Threshold:
			canon.F1Threshold = strconv.FormatFloat(f1Threshold(cfg), 'g', -1, 64)
		case optModel:
			// The model's endpoint is part of every call's generation key;
			// the caller adds it to the hash (see HashWith).
			canon.Model = cfg.Model
		case optRubric:
			canon.Rubric = cfg.Rubric
			if strings.TrimSpace(canon.Rubric) == "" {
				canon.Rubric = DefaultRubric
			}
		case optVotes:
			canon.Votes = llmVotes(cfg)
		case optTemperature:
			canon.Temperature = strconv.FormatFloat(llmTemperature(cfg), 'g', -1, 64)
		case optMaxTokens:
			canon.MaxTokens = cmp.Or(cfg.MaxTokens, defaultLLMMaxTokens)
		case optCommand:
			// Workers and timeout decide throughput, not how an output is
			// scored, so only the argv is part of the hash (but see code).
			canon.Command = cfg.Command
			if cfg.Type == "code" && len(cfg.Command) == 0 {
				canon.Command = []string{defaultCodeInterpreter}
			}
		case optExecTimeout:
			// A code judge's timeout decides which programs pass.
			if cfg.Type == "code" {
				canon.Timeout = codeHashTimeout(cfg)
			}
		case optMemoryMB:
			canon.MemoryMB = codeMemoryMB(cfg)
		}
	}
	b, err := json.Marshal(canon)
	if err != nil {
		// A struct of strings, ints and bools always marshals.
		panic(fmt.Sprintf("judge: marshal hash input: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// displayName is the name a judge reports: its configured name, else its type.
func displayName(cfg config.Judge) string {
	if cfg.Name != "" {
		return cfg.Name
	}
	return cfg.Type
}

// maxExtracted caps Verdict.Extracted so a long output is not stored twice.
const maxExtracted = 512

// clip cuts s to at most maxExtracted bytes on a rune boundary.
func clip(s string) string {
	return excerpt.Clip(s, maxExtracted, "")
}
