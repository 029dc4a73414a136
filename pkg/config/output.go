package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Resolve returns p relative to the run file's directory: absolute paths and
// "" come back unchanged; when Path is "" (a config built in code) relative
// paths stay relative to the working directory.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	if c.Path == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

// RunDir returns the run's output directory, <out>/<run>, resolved like any
// other path in the file.
func (c *Config) RunDir() string {
	return c.Resolve(filepath.Join(c.Out, c.Run))
}

// Hash returns the hex SHA-256 of a canonical encoding of the config (Path
// and Out excluded: where a run is written does not change what it
// computes, so the same run under another --out hashes the same): fields in declaration order under their YAML names, floats in
// their shortest exact form. Equal configs hash equal across runs and
// machines; any field change changes the hash, except that a field tagged
// hash:"omitzero" (one added to the run file later) is left out while it is
// unset, and one tagged hash:"omitdefault" while it holds its default
// (the simulator section). It hashes the expanded values,
// so a run whose ${VAR} expands differently hashes differently; the hash is
// one-way and never reveals them.
func (c *Config) Hash() string {
	h := sha256.New()
	h.Write([]byte("dars-config-v1\n"))
	cp := *c
	cp.Path, cp.Out = "", ""
	writeCanonical(h, reflect.ValueOf(cp))
	return hex.EncodeToString(h.Sum(nil))
}

func writeCanonical(h hash.Hash, v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		h.Write([]byte("{"))
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			// A field added to the run file since the hash was defined is
			// tagged hash:"omitzero" (or hash:"omitdefault" when its
			// default is not the zero value): left unset, it hashes as
			// absent, so the hash of every run file that does not set it
			// stays the same.
			if omitted(f, v.Field(i)) {
				continue
			}
			if name == "" {
				name = f.Name
			}
			h.Write([]byte(strconv.Quote(name) + ":"))
			writeCanonical(h, v.Field(i))
			h.Write([]byte(","))
		}
		h.Write([]byte("}"))
	case reflect.Slice:
		h.Write([]byte("["))
		for i := range v.Len() {
			writeCanonical(h, v.Index(i))
			h.Write([]byte(","))
		}
		h.Write([]byte("]"))
	case reflect.Pointer:
		if v.IsNil() {
			h.Write([]byte("null"))
			return
		}
		writeCanonical(h, v.Elem())
	case reflect.String:
		h.Write([]byte(strconv.Quote(v.String())))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		h.Write([]byte(strconv.FormatInt(v.Int(), 10)))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if f == 0 {
			f = math.Abs(f) // -0 and 0 are the same setting
		}
		h.Write([]byte(strconv.FormatFloat(f, 'g', -1, 64)))
	case reflect.Bool:
		h.Write([]byte(strconv.FormatBool(v.Bool())))
	default:
		// Unreachable for the Config types; fail loudly if one is added.
		panic(fmt.Sprintf("config: Hash cannot encode %s", v.Type()))
	}
}

// omitted reports whether Hash leaves out field f, holding v: tagged
// hash:"omitzero" and zero, or tagged hash:"omitdefault" and equal to its
// default, as its type's IsDefault method says.
func omitted(f reflect.StructField, v reflect.Value) bool {
	switch f.Tag.Get("hash") {
	case "omitzero":
		return v.IsZero()
	case "omitdefault":
		d, ok := v.Interface().(interface{ IsDefault() bool })
		if !ok {
			// Unreachable for the Config types; fail loudly if one is added.
			panic(fmt.Sprintf("config: field %s is tagged hash:\"omitdefault\" but %s has no IsDefault method", f.Name, v.Type()))
		}
		return d.IsDefault()
	}
	return false
}

// Redacted returns a deep copy for outputs such as the manifest: every
// string field whose value Load took from ${VAR} expansion, and that still
// holds that value, is replaced by the text as written (e.g. "${API_BASE}"),
// so values put in through the environment never reach outputs. Numbers and
// booleans keep their values. The receiver is not modified.
func (c *Config) Redacted() Config {
	r := c.clone()
	root := reflect.ValueOf(&r).Elem()
	for _, e := range c.expansions {
		f, ok := fieldAt(root, e.steps)
		if ok && f.Kind() == reflect.String && f.String() == e.value {
			f.SetString(e.raw)
		}
	}
	r.expansions = nil
	for i := range r.Models {
		r.Models[i].BaseURL = RedactURL(r.Models[i].BaseURL)
	}
	return r
}

// RedactURL returns s with what a URL may carry as a credential hidden:
// its user information becomes "REDACTED", and so do every query value and
// the fragment (https://REDACTED@host/v1?key=REDACTED; a query part without
// "=" goes whole). Text that url.Parse refuses or reads without a scheme
// or a host, or that holds an "@" outside the user information, is
// redacted by its shape instead, erring on the side of hiding: everything
// before its last "@", and everything after its first "?" or "#". Text
// with none of these comes back unchanged, so RedactURL is safe on any
// base URL before it goes into a message, a log line or an output.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" ||
		strings.Contains(u.Path+u.RawQuery+u.Fragment, "@") {
		return redactURLText(s)
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" {
		return s
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[i] = k + "=" + redacted
			} else if p != "" {
				parts[i] = redacted
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = redacted, ""
	}
	return u.String()
}

// redacted replaces a credential in RedactURL's result.
const redacted = "REDACTED"

// redactURLText is RedactURL for text url.Parse cannot take apart (a
// password holding "/", "?", "#" or "@", a bad port, no scheme). Which "@"
// ends the user information and which "?" starts the query is then a
// guess, so it hides both readings: what precedes the last "@" and what
// follows the first "?" or "#".
func redactURLText(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if ok {
		scheme += "://"
	} else {
		scheme, rest = "", s
	}
	from, to := 0, len(rest) // what is kept
	at := strings.LastIndexByte(rest, '@')
	if at >= 0 {
		from = at + 1
	}
	q := strings.IndexAny(rest, "?#")
	if q >= 0 {
		to = q
	}
	var b strings.Builder
	b.WriteString(scheme)
	if at >= 0 {
		b.WriteString(redacted + "@")
	}
	if from < to {
		b.WriteString(rest[from:to])
	}
	if q >= 0 {
		b.WriteString(rest[q:q+1] + redacted)
	}
	return b.String()
}

// SecretVars returns the names of the environment variables the run file
// makes secret, sorted and without repeats: every models[].api_key_env,
// and every variable a ${VAR} in a models[].base_url names (a URL may take
// user information, a token in its path or a signed query from one). A
// config built in code, with no ${VAR} expanded, has only the former. The
// names hold no secret themselves; a caller that hands an environment on,
// such as to a judge program, leaves these variables out.
func (c *Config) SecretVars() []string {
	var names []string
	for _, m := range c.Models {
		if m.APIKeyEnv != "" {
			names = append(names, m.APIKeyEnv)
		}
	}
	for _, e := range c.expansions {
		if strings.HasPrefix(e.field, "models[") && strings.HasSuffix(e.field, "].base_url") {
			names = append(names, e.vars...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// clone returns a copy that shares no slices or pointers with c.
func (c *Config) clone() Config {
	r := *c
	r.Models = append([]Model(nil), c.Models...)
	for i, m := range r.Models {
		if m.Candidate != nil {
			b := *m.Candidate
			r.Models[i].Candidate = &b
		}
	}
	r.Judges = append([]Judge(nil), c.Judges...)
	r.Labels.PassAtK = append([]int(nil), c.Labels.PassAtK...)
	r.expansions = append([]expansion(nil), c.expansions...)
	return r
}

// fieldAt follows reflect steps (struct field or slice index) from v.
func fieldAt(v reflect.Value, steps []int) (reflect.Value, bool) {
	for _, s := range steps {
		switch v.Kind() {
		case reflect.Struct:
			if s >= v.NumField() {
				return reflect.Value{}, false
			}
			v = v.Field(s)
		case reflect.Slice:
			if s >= v.Len() {
				return reflect.Value{}, false
			}
			v = v.Index(s)
		default:
			return reflect.Value{}, false
		}
	}
	return v, true
}
