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
// machines; any field change changes the hash. It hashes the expanded values,
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
		r.Models[i].BaseURL = redactURL(r.Models[i].BaseURL)
	}
	return r
}

// redactURL hides what a URL may carry as a credential: its user
// information and its query values.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.User == nil && u.RawQuery == "") {
		return s
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
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
