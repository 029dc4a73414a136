package excerpt

import (
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		mark string
		want string
	}{
		{"short", 10, "…", "short"},
		{"exactly", 7, "…", "exactly"},
		{"abcdef", 3, "...", "abc..."},
		{"héllo", 2, "", "h"}, // é is two bytes: never cut in half
		{"日本語", 4, "…", "日…"},
		{"日本語", 0, "", ""},
	}
	for _, tt := range tests {
		got := Clip(tt.s, tt.n, tt.mark)
		if got != tt.want {
			t.Errorf("Clip(%q, %d, %q) = %q, want %q", tt.s, tt.n, tt.mark, got, tt.want)
		}
	}
}

func FuzzClip(f *testing.F) {
	f.Add("héllo wörld", 3)
	f.Add("\xff\xfe", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<20 {
			return
		}
		got := Clip(s, n, "")
		if len(got) > n && len(s) > n {
			t.Fatalf("Clip(%q, %d) = %q: longer than %d bytes", s, n, got, n)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q: cut a rune in half", s, n, got)
		}
	})
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\n":            "b",
		"one line":          "one line",
		"x\n  answer  \n\n": "answer",
		"":                  "",
		"\n\n":              "",
	} {
		if got := LastLine(in); got != want {
			t.Errorf("LastLine(%q) = %q, want %q", in, got, want)
		}
	}
}
