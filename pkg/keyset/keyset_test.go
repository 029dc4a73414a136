package keyset

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"testing"
)

func key(i int) string {
	sum := sha256.Sum256([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

func TestSetMembership(t *testing.T) {
	var b Builder
	for i := 0; i < 1000; i += 2 {
		if err := b.Add(key(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(key(0)); err != nil { // a repeat
		t.Fatal(err)
	}
	s := b.Set()
	if s.Len() != 500 {
		t.Fatalf("Len = %d, want 500", s.Len())
	}
	for i := range 1000 {
		if got, want := s.Has(key(i)), i%2 == 0; got != want {
			t.Fatalf("Has(key(%d)) = %v, want %v", i, got, want)
		}
	}
	if s.Has("not a key") || s.Has(key(1)[:63]+"g") {
		t.Fatal("a malformed key is in the set")
	}
	all := slices.Collect(s.All())
	if len(all) != 500 || !slices.IsSorted(all) {
		t.Fatalf("All gives %d keys, sorted %v", len(all), slices.IsSorted(all))
	}
}

func TestParseRoundTripAndUpperCase(t *testing.T) {
	k := key(7)
	p, err := Parse(k)
	if err != nil || p.String() != k {
		t.Fatalf("Parse(%q) = %v, %v", k, p, err)
	}
	up, err := Parse("ABCDEF" + k[6:])
	if err != nil || up.String() != "abcdef"+k[6:] {
		t.Fatalf("upper case: %v, %v", up, err)
	}
	for _, bad := range []string{"", "abc", k + "0", "zz" + k[2:]} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestNilAndUnion(t *testing.T) {
	var s *Set
	if s.Len() != 0 || s.Has(key(1)) {
		t.Fatal("nil set is not empty")
	}
	for range s.All() {
		t.Fatal("nil set yields a key")
	}
	var b1, b2 Builder
	b1.Add(key(1))
	b1.Add(key(2))
	b2.Add(key(2))
	b2.Add(key(3))
	u := Union(b1.Set(), b2.Set())
	if u.Len() != 3 || !u.Has(key(1)) || !u.Has(key(3)) {
		t.Fatalf("Union has %d keys", u.Len())
	}
	if Union(nil, nil).Len() != 0 {
		t.Fatal("Union of nils is not empty")
	}
}

func TestCovers(t *testing.T) {
	set := func(is ...int) *Set {
		var b Builder
		for _, i := range is {
			b.Add(key(i))
		}
		return b.Set()
	}
	tests := []struct {
		s, t *Set
		want bool
	}{
		{set(1, 2, 3), set(1, 3), true},
		{set(1, 2, 3), set(1, 2, 3), true},
		{set(1, 2), set(1, 4), false},
		{set(1), set(1, 2), false},
		{nil, nil, true},
		{set(1), nil, true},
		{nil, set(1), false},
	}
	for i, tt := range tests {
		if got := tt.s.Covers(tt.t); got != tt.want {
			t.Errorf("case %d: Covers = %v, want %v", i, got, tt.want)
		}
	}
}
