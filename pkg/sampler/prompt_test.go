package sampler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/tmpl"
)

// TestPromptRenderBounded: a template that would render without end (the
// issue's {{range 1000000000}}) stops with an error naming prompt.template
// instead of taking the machine's memory or time.
func TestPromptRenderBounded(t *testing.T) {
	manyChoices := make([]string, 40)
	for i := range manyChoices {
		manyChoices[i] = fmt.Sprint(i)
	}
	tests := []struct {
		name     string
		template string
		question string
		choices  []string
		want     string // "" = renders
	}{
		{"range of a billion", "{{range 1000000000}}The question again: {{$.Question}}\n{{end}}", strings.Repeat("Why? ", 400), nil, "larger than 16 MiB"},
		{"range of a billion, nothing written", "{{range 1000000000}}{{end}}", "Why?", nil, "more than 100000 steps"},
		{"nested ranges", "{{range 100000}}{{range 100000}}{{end}}{{end}}", "Why?", nil, "more than 100000 steps"},
		{"exponential template calls", `{{define "a"}}{{range $i, $c := .}}{{template "a" (slice $ 1)}}{{end}}{{end}}{{template "a" .Choices}}`, "Why?", manyChoices, "more than 100000 steps"},
		{"steps at the bound", "{{range 99999}}{{end}}", "Why?", nil, ""}, // and one for the template itself
		{"a question at the bound", "{{.Question}}", strings.Repeat("x", tmpl.MaxBytes), nil, ""},
		{"a question past the bound", "{{.Question}}", strings.Repeat("x", tmpl.MaxBytes+1), nil, "larger than 16 MiB"},
		{"text past the bound", "{{.Question}}!", strings.Repeat("x", tmpl.MaxBytes), nil, "larger than 16 MiB"},
		{"ranges over the choices", "{{.Question}}{{range $i, $c := .Choices}}\n{{index $.Letters $i}}. {{$c}}{{end}}", "Why?", manyChoices, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPrompt(config.Prompt{Template: tt.template})
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := p.Render(&dataset.Query{ID: "q7", Choices: tt.choices}, tt.question)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if n := len(msgs[len(msgs)-1].Content); n > tmpl.MaxBytes {
					t.Fatalf("rendered %d bytes, past tmpl.MaxBytes", n)
				}
				return
			}
			if err == nil {
				t.Fatalf("Render succeeded (%d bytes), want an error", len(msgs[len(msgs)-1].Content))
			}
			msg := err.Error()
			for _, w := range []string{"prompt.template", `"q7"`, tt.want} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if !problem.IsInput(err) || len(problem.Hints(err)) == 0 {
				t.Errorf("error %v is not an input problem with a hint", err)
			}
		})
	}
}

// TestPromptRenderConcurrent renders again and from several goroutines:
// each render counts its own steps from 0.
func TestPromptRenderConcurrent(t *testing.T) {
	p, err := NewPrompt(config.Prompt{Template: fmt.Sprintf("{{range %d}}{{end}}{{.Question}}", tmpl.MaxSteps*6/10)})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for range cap(errs) {
		go func() {
			for range 2 {
				if _, err := p.Render(&dataset.Query{ID: "1"}, "x"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("Render: %v (steps shared between renders?)", err)
		}
	}
}

func FuzzPromptTemplate(f *testing.F) {
	for _, s := range []string{
		"{{.Question}}",
		"{{range 1000000000}}x{{end}}",
		"{{range $i, $c := .Choices}}{{index $.Letters $i}}. {{$c}}\n{{end}}",
		`{{define "a"}}{{range .}}{{template "a" (slice $ 1)}}{{end}}{{end}}{{template "a" .Choices}}`,
		`{{with .Context}}{{.}}{{else}}none{{end}} {{printf "%q" .Task}}`,
		"{{- .ID -}} {{if .Choices}}{{len .Choices}}{{end}}",
	} {
		f.Add(s)
	}
	q := &dataset.Query{ID: "q1", Choices: []string{"red", "blue"}, Context: "ctx", Task: "t"}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := NewPrompt(config.Prompt{Template: text})
		if err != nil {
			if !strings.Contains(err.Error(), "prompt.template") {
				t.Fatalf("parse error %q does not name prompt.template", err)
			}
			return
		}
		msgs, err := p.Render(q, "Which?")
		if err != nil {
			if !strings.Contains(err.Error(), "prompt.template") {
				t.Fatalf("render error %q does not name prompt.template", err)
			}
			return
		}
		if n := len(msgs[len(msgs)-1].Content); n > tmpl.MaxBytes {
			t.Fatalf("rendered %d bytes, past tmpl.MaxBytes", n)
		}
	})
}

// BenchmarkPromptRender renders the default template and one over the
// choices: planning renders every variant once.
func BenchmarkPromptRender(b *testing.B) {
	q := &dataset.Query{ID: "q1", Choices: []string{"red", "green", "blue", "yellow"}}
	for _, tmpl := range []string{
		config.DefaultConfig().Prompt.Template,
		"{{.Question}}\n{{range $i, $c := .Choices}}{{index $.Letters $i}}. {{$c}}\n{{end}}",
	} {
		p, err := NewPrompt(config.Prompt{Template: tmpl})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%d bytes", len(tmpl)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Render(q, "Which colour is the sky?"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
