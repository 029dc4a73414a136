package tmpl

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestBounds(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		data       any
		want       error
	}{
		{"small", "{{.}}!", "x", nil},
		{"at the size bound", "{{.}}", strings.Repeat("x", MaxBytes), nil},
		{"past the size bound", "{{.}}!", strings.Repeat("x", MaxBytes), ErrTooLarge},
		{"a large range writing", "{{range 1000000000}}{{$}}{{end}}", strings.Repeat("x", 200), ErrTooLarge},
		{"a large range writing nothing", "{{range 1000000000}}{{end}}", nil, ErrTooManySteps},
		{"a range over a template call", `{{define "a"}}ok{{end}}{{range 200000}}{{template "a"}}{{end}}`, nil, ErrTooManySteps},
		{"steps within the bound", "{{range 1000}}{{end}}ok", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := Parse("t", tt.text)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tp.Execute(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Execute = %v, want %v", err, tt.want)
			}
			if len(out) > MaxBytes {
				t.Fatalf("wrote %d bytes", len(out))
			}
		})
	}
}

// TestConcurrentRendersCountApart: each render counts its own steps, so
// renders at once that are each within the bound all pass.
func TestConcurrentRendersCountApart(t *testing.T) {
	tp, err := Parse("t", "{{range 60000}}{{end}}ok")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := tp.Execute(nil); err != nil || out != "ok" {
				t.Errorf("Execute = %q, %v", out, err)
			}
		}()
	}
	wg.Wait()
}
