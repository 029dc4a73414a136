// Package tmpl renders the Go templates a run file writes (the prompt, an
// llm judge's rubric) within bounds: a render stops with ErrTooLarge past
// MaxBytes written and with ErrTooManySteps past MaxSteps loop iterations
// and template calls, instead of taking the machine's memory or hours
// ({{range 1000000000}}, a template calling itself). A Template is safe for
// concurrent use.
package tmpl

import (
	"errors"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// MaxBytes is the most one render may write: 16 MiB, past the largest
// context windows (2 million tokens of some four bytes) and past an llm
// judge's prompt quoting an output of the longest max_tokens a run file
// allows.
const MaxBytes = 16 << 20

// MaxSteps is the most loop iterations and template calls one render may
// take, a tenth of a second of work. A prompt ranges over its choices, a
// handful of steps.
const MaxSteps = 100_000

// Errors that stop a render.
var (
	ErrTooLarge     = errors.New("the template writes more than 16 MiB")
	ErrTooManySteps = errors.New("the template takes more than 100,000 steps (loop iterations and template calls)")
)

// stepFunc is the template function that counts a step. countSteps calls
// it first in every {{range}} body and every template a {{template}} action
// calls; each render's copy of the template binds it to that render's
// counter.
const stepFunc = "darsTemplateStep"

// Template is a parsed template that renders within the bounds.
type Template struct {
	tmpl    *template.Template // parsed and counting steps; only its clones execute
	renders sync.Pool          // *render: clones of tmpl, each counting its own steps
}

// Parse parses text as the template named name, with missingkey=error.
func Parse(name, text string) (*Template, error) {
	t, err := template.New(name).Option("missingkey=error").
		Funcs(template.FuncMap{stepFunc: func() string { return "" }}).Parse(text)
	if err != nil {
		return nil, err
	}
	countSteps(t)
	return &Template{tmpl: t}, nil
}

// Execute renders the template with data and returns the text; a render
// past the bounds fails with an error wrapping ErrTooLarge or
// ErrTooManySteps.
func (t *Template) Execute(data any) (string, error) {
	r, err := t.render()
	if err != nil {
		return "", err
	}
	var b boundedBuilder
	r.steps = 0
	err = r.tmpl.Execute(&b, data)
	t.renders.Put(r)
	switch {
	case errors.Is(err, ErrTooLarge):
		return "", ErrTooLarge
	case errors.Is(err, ErrTooManySteps):
		return "", ErrTooManySteps
	case err != nil:
		return "", err
	}
	return b.String(), nil
}

// render is one clone of the template, its step function bound to its own
// counter; one render uses it at a time.
type render struct {
	tmpl  *template.Template
	steps int
}

// render takes a clone of the template from the pool, or makes one.
func (t *Template) render() (*render, error) {
	if r, ok := t.renders.Get().(*render); ok {
		return r, nil
	}
	c, err := t.tmpl.Clone()
	if err != nil {
		return nil, err
	}
	r := &render{}
	r.tmpl = c.Funcs(template.FuncMap{stepFunc: r.step})
	return r, nil
}

// step counts one loop iteration or template call.
func (r *render) step() (string, error) {
	r.steps++
	if r.steps > MaxSteps {
		return "", ErrTooManySteps
	}
	return "", nil
}

// countSteps puts a call of stepFunc first in the body of every {{range}}
// in t and of every template that a {{template}} action calls, so that each
// iteration and each template call counts a step. The call declares a
// variable and writes nothing.
func countSteps(t *template.Template) {
	step := template.Must(template.New("step").Funcs(template.FuncMap{stepFunc: func() string { return "" }}).
		Parse("{{$" + stepFunc + " := " + stepFunc + "}}")).Tree.Root.Nodes[0]
	called := map[string]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			addSteps(tt.Tree.Root, step, called)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil && called[tt.Name()] {
			prependStep(tt.Tree.Root, step)
		}
	}
}

// addSteps adds step to the {{range}} bodies inside list and notes the
// templates it calls.
func addSteps(list *parse.ListNode, step parse.Node, called map[string]bool) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			addSteps(n.List, step, called)
			addSteps(n.ElseList, step, called)
			prependStep(n.List, step)
		case *parse.IfNode:
			addSteps(n.List, step, called)
			addSteps(n.ElseList, step, called)
		case *parse.WithNode:
			addSteps(n.List, step, called)
			addSteps(n.ElseList, step, called)
		case *parse.TemplateNode:
			called[n.Name] = true
		}
	}
}

func prependStep(list *parse.ListNode, step parse.Node) {
	if list != nil {
		list.Nodes = append([]parse.Node{step.Copy()}, list.Nodes...)
	}
}

// boundedBuilder is a strings.Builder that refuses to grow past MaxBytes:
// the template stops at the first write past it.
type boundedBuilder struct{ strings.Builder }

func (b *boundedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxBytes {
		return 0, ErrTooLarge
	}
	return b.Builder.Write(p)
}
