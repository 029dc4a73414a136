package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/darslabs/dars/pkg/problem"
)

// Environment variables that override the run file after it is read.
const (
	EnvRun  = "DARS_RUN"  // overrides run
	EnvOut  = "DARS_OUT"  // overrides out
	EnvSeed = "DARS_SEED" // overrides seed (an integer)
)

// maxNodes bounds the YAML nodes one Load visits, so that a file of nested
// aliases (a "billion laughs") fails fast instead of exhausting memory.
const maxNodes = 100_000

// Error is one problem in a run file. Load and Validate return each *Error
// marked by problem.Input, with its likely fix where one is known (see
// problem.Hints), and join several with errors.Join, so callers can tell a
// bad config from other failures with errors.As.
type Error struct {
	File  string // the run file; "" for problems found by Validate
	Line  int    // 1-based line in File; 0 when unknown
	Field string // the key path, e.g. "models[1].n"; "" for the file as a whole
	Msg   string // the problem, including the key path where there is one
}

// Error formats the problem as "file:line: msg".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// envLookup reports an environment variable's value and whether it is set.
type envLookup func(name string) (string, bool)

// Load reads the run file at path: DefaultConfig(), then the file over it
// (with ${VAR} and ${VAR:-default} expanded from the environment in every
// scalar value), then the DARS_RUN, DARS_OUT and DARS_SEED overrides. Keys
// the file leaves out, or sets to null, keep their defaults; lists given in
// the file replace the default list. Load does not call Validate: apply
// flags first, then validate.
//
// Every error names the file, and the line and key path where there is one:
// unknown keys (with a hint at the nearest valid key), values of the wrong
// type, unset variables, duplicate keys, invalid YAML, an empty file.
func Load(path string) (Config, error) {
	return load(path, os.LookupEnv)
}

func load(path string, lookup envLookup) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	root, err := parse(path, data)
	if err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	d := &decoder{file: path, lookup: lookup, budget: maxNodes}
	d.decode(root, reflect.ValueOf(&cfg).Elem(), keyPath{})
	if err := errors.Join(d.errs...); err != nil {
		return Config{}, err
	}
	cfg.expansions = d.expansions
	if err := applyEnv(&cfg, lookup); err != nil {
		return Config{}, err
	}
	cfg.Path = path
	return cfg, nil
}

// applyEnv applies the DARS_* overrides; an empty variable counts as unset.
func applyEnv(cfg *Config, lookup envLookup) error {
	if v, ok := lookup(EnvRun); ok && v != "" {
		cfg.Run = v
	}
	if v, ok := lookup(EnvOut); ok && v != "" {
		cfg.Out = v
	}
	if v, ok := lookup(EnvSeed); ok && v != "" {
		seed, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return problem.Input(&Error{Field: "seed", Msg: fmt.Sprintf("%s: want an integer, got %q", EnvSeed, v)}, "")
		}
		cfg.Seed = seed
	}
	return nil
}

// emptyFileHint is the likely fix for a run file that holds no keys.
const emptyFileHint = "run `dars init` for a commented example"

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse reads exactly one YAML document whose top level is a mapping.
func parse(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, problem.Input(&Error{File: file, Msg: "empty file"}, emptyFileHint)
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, problem.Input(&Error{File: file, Line: extra.Line, Msg: "more than one YAML document; want one"}, "")
	case !errors.Is(err, io.EOF):
		return nil, yamlError(file, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, problem.Input(&Error{File: file, Msg: "empty file"}, emptyFileHint)
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil, problem.Input(&Error{File: file, Line: root.Line, Msg: "empty file"}, emptyFileHint)
	}
	if resolveAlias(root).Kind != yaml.MappingNode {
		return nil, problem.Input(&Error{File: file, Line: root.Line, Msg: fmt.Sprintf("want a mapping of keys at the top level, got %s", describe(root))}, "")
	}
	return root, nil
}

// yamlError turns a YAML syntax error into an *Error with the line split out,
// marked by problem.Input.
func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return problem.Input(&Error{File: file, Line: line, Msg: "invalid YAML: " + m[2]}, "")
	}
	return problem.Input(&Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}, "")
}

// keyPath is where a value sits: its printable key path ("models[1].n") and
// the reflect steps from the Config root (field index or slice index).
type keyPath struct {
	name  string
	steps []int
}

func (p keyPath) field(name string, index int) keyPath {
	n := name
	if p.name != "" {
		n = p.name + "." + name
	}
	return keyPath{name: n, steps: appendStep(p.steps, index)}
}

func (p keyPath) elem(i int) keyPath {
	return keyPath{name: fmt.Sprintf("%s[%d]", p.name, i), steps: appendStep(p.steps, i)}
}

func appendStep(steps []int, i int) []int {
	out := make([]int, len(steps), len(steps)+1)
	copy(out, steps)
	return append(out, i)
}

// expansion records a string field whose value came from ${VAR} expansion,
// so that Redacted and error messages can put the unexpanded text back and
// SecretVars can name the variables.
type expansion struct {
	steps []int    // reflect steps from the Config root
	field string   // the key path, e.g. "models[1].base_url"
	raw   string   // the value as written in the file
	value string   // the value after expansion
	vars  []string // the variables named in raw, in order, with repeats
}

// decoder walks a yaml.Node tree into a Config by the yaml struct tags,
// collecting every error rather than stopping at the first.
type decoder struct {
	file       string
	lookup     envLookup
	budget     int
	errs       []error
	expansions []expansion
}

// fail records a problem at n, with hint as its likely fix ("" for none).
func (d *decoder) fail(n *yaml.Node, p keyPath, msg, hint string) {
	d.errs = append(d.errs, problem.Input(&Error{File: d.file, Line: n.Line, Field: p.name, Msg: msg}, hint))
}

func (d *decoder) failField(n *yaml.Node, p keyPath, msg string) {
	d.fail(n, p, p.name+": "+msg, "")
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, p keyPath) {
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.fail(n, p, fmt.Sprintf("more than %d YAML nodes (nested aliases?)", maxNodes), "")
		}
		return
	}
	n = resolveAlias(n)
	if isNull(n) {
		if v.Kind() == reflect.Pointer {
			v.Set(reflect.Zero(v.Type()))
		}
		return // null keeps the default
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, p)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.failField(n, p, "want a list, got "+describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), p.elem(i))
		}
		v.Set(s)
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		before := len(d.errs)
		d.decode(n, elem.Elem(), p)
		if len(d.errs) == before {
			v.Set(elem)
		}
	default:
		d.decodeScalar(n, v, p)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, p keyPath) {
	if n.Kind != yaml.MappingNode {
		d.failField(n, p, "want a mapping, got "+describe(n))
		return
	}
	fields := yamlFields(v.Type())
	// Merged mappings (<<: *anchor) go first: explicit keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMerge(n.Content[i]) {
			d.merge(n.Content[i+1], v, p)
		}
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, p, "want a string key, got "+describe(k)+in(p), "")
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			d.fail(k, p, fmt.Sprintf("duplicate key %q%s (first at line %d)", name, in(p), first), "")
			continue
		}
		seen[name] = k.Line
		idx, ok := fields[name]
		if !ok {
			hint := ""
			if near := nearest(name, fields); near != "" {
				hint = fmt.Sprintf("did you mean %q?", near)
			}
			d.fail(k, p, fmt.Sprintf("unknown key %q%s", name, in(p)), hint)
			continue
		}
		d.decode(val, v.Field(idx), p.field(name, idx))
	}
}

func (d *decoder) merge(n *yaml.Node, v reflect.Value, p keyPath) {
	n = resolveAlias(n)
	if n.Kind == yaml.SequenceNode {
		for _, item := range n.Content {
			d.decode(item, v, p)
		}
		return
	}
	d.decode(n, v, p)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, p keyPath) {
	if n.Kind != yaml.ScalarNode {
		d.failField(n, p, fmt.Sprintf("want %s, got %s", wantName(v.Kind()), describe(n)))
		return
	}
	text, expanded, err := expand(n.Value, d.lookup)
	if err != nil {
		var unset *unsetError
		hint := ""
		if errors.As(err, &unset) {
			hint = fmt.Sprintf("set %s, or give a default: ${%s:-value}", unset.name, unset.name)
		}
		d.fail(n, p, p.name+": "+err.Error(), hint)
		return
	}
	// Never echo an expanded value: it may be a secret.
	got := strconv.Quote(text)
	if expanded {
		got = fmt.Sprintf("%q after expansion", n.Value)
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
		if expanded {
			d.expansions = append(d.expansions, expansion{steps: p.steps, field: p.name, raw: n.Value, value: text, vars: varNames(n.Value)})
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.TrimSpace(text), 10, v.Type().Bits())
		if err != nil {
			d.failField(n, p, "want an integer, got "+got)
			return
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(text), v.Type().Bits())
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.failField(n, p, "want a number, got "+got)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, ok := parseBool(text)
		if !ok {
			d.failField(n, p, "want true or false, got "+got)
			return
		}
		v.SetBool(b)
	default:
		d.failField(n, p, fmt.Sprintf("cannot set a value of type %s", v.Type()))
	}
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// yamlFields maps a struct's yaml key names to field indices.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		m[name] = i
	}
	return m
}

// nearest returns the valid key closest to name, or "" when none is close.
func nearest(name string, fields map[string]int) string {
	best, bestDist := "", 0
	lower := strings.ToLower(name)
	for key := range fields {
		limit := min(2, max(1, len(key)/3))
		if abs(len(lower)-len(key)) > limit {
			continue
		}
		dist := editDistance(lower, key)
		if dist > limit {
			continue
		}
		if best == "" || dist < bestDist || (dist == bestDist && key < best) {
			best, bestDist = key, dist
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and adjacent swaps.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func in(p keyPath) string {
	if p.name == "" {
		return ""
	}
	return " (in " + p.name + ")"
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!merge" && n.Value == "<<"
}

func describe(n *yaml.Node) string {
	switch resolveAlias(n).Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

func wantName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + k.String()
}
