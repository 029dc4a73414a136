// Package keyset holds large sets of generation keys compactly: 32 bytes a
// key in one sorted slice instead of a 64-character string in a map (about
// 120 bytes an entry), so a run of millions of samples keeps its plan and
// its done set in tens of megabytes.
package keyset

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"
)

// Key is a generation key: the sha256 its hex string spells.
type Key [32]byte

// Parse reads a 64-character hex key.
func Parse(s string) (Key, error) {
	var k Key
	if len(s) != 2*len(k) {
		return k, fmt.Errorf("key %q: want %d hex characters, have %d", s, 2*len(k), len(s))
	}
	for i := range k {
		hi, ok1 := unhex(s[2*i])
		lo, ok2 := unhex(s[2*i+1])
		if !ok1 || !ok2 {
			return k, fmt.Errorf("key %q: not hex", s)
		}
		k[i] = hi<<4 | lo
	}
	return k, nil
}

// String returns the key's hex form, as the store and the Parquet files hold it.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Set is an immutable set of keys. The zero Set and a nil *Set are empty.
type Set struct {
	keys []Key // sorted, no repeats
}

// Builder collects keys for a Set; adding a key twice is harmless.
type Builder struct {
	keys []Key
}

// Add adds the key s spells; a string that is not a key is an error.
func (b *Builder) Add(s string) error {
	k, err := Parse(s)
	if err != nil {
		return err
	}
	b.keys = append(b.keys, k)
	return nil
}

// AddKey adds k.
func (b *Builder) AddKey(k Key) { b.keys = append(b.keys, k) }

// Set sorts the keys collected so far into a Set and empties the builder.
func (b *Builder) Set() *Set {
	ks := b.keys
	b.keys = nil
	slices.SortFunc(ks, func(x, y Key) int { return bytes.Compare(x[:], y[:]) })
	ks = slices.Compact(ks)
	return &Set{keys: slices.Clip(ks)}
}

// Len returns the number of keys.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// HasKey reports whether k is in the set.
func (s *Set) HasKey(k Key) bool {
	if s == nil {
		return false
	}
	_, ok := slices.BinarySearchFunc(s.keys, k, func(x, y Key) int { return bytes.Compare(x[:], y[:]) })
	return ok
}

// Has reports whether the key hex spells is in the set; a string that is
// not a key is not in any set.
func (s *Set) Has(hex string) bool {
	k, err := Parse(hex)
	return err == nil && s.HasKey(k)
}

// All yields every key in the set in hex form, in byte order.
func (s *Set) All() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		for _, k := range s.keys {
			if !yield(k.String()) {
				return
			}
		}
	}
}

// Union returns a set of the keys in s or t.
func Union(s, t *Set) *Set {
	var b Builder
	b.keys = make([]Key, 0, s.Len()+t.Len())
	if s != nil {
		b.keys = append(b.keys, s.keys...)
	}
	if t != nil {
		b.keys = append(b.keys, t.keys...)
	}
	return b.Set()
}

// Covers reports whether every key of t is in s.
func (s *Set) Covers(t *Set) bool {
	if t.Len() == 0 {
		return true
	}
	if s.Len() < t.Len() {
		return false
	}
	i := 0
	for _, k := range t.keys {
		for i < len(s.keys) && bytes.Compare(s.keys[i][:], k[:]) < 0 {
			i++
		}
		if i == len(s.keys) || s.keys[i] != k {
			return false
		}
	}
	return true
}
