package sampler

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/provider"
)

// MaxPromptBytes is the most the prompt template may write for one variant:
// 16 MiB, past the largest context windows (2 million tokens of some four
// bytes) and past an llm judge's prompt quoting an output of the longest
// max_tokens config allows. A template that writes more, such as a {{range}}
// over a large number, stops with an error instead of taking the machine's
// memory.
const MaxPromptBytes = 16 << 20

// MaxPromptSteps is the most loop iterations and template calls one render
// may take, a tenth of a second of work. A prompt ranges over its choices,
// a handful of steps; a {{range}} over a large number that writes nothing,
// or a template calling itself, would otherwise run for hours.
const MaxPromptSteps = 100_000

// Errors that stop a render; Render turns them into input problems.
var (
	errPromptTooLarge = errors.New("prompt too large")
	errPromptSteps    = errors.New("prompt takes too many steps")
)

// stepFunc is the template function that counts a step. countSteps calls
// it first in every {{range}} body and every template a {{template}} action
// calls; each render's copy of the template binds it to that render's
// counter.
const stepFunc = "darsPromptStep"

// Prompt renders one variant of a query into chat messages. It is safe for
// concurrent use.
type Prompt struct {
	system  string
	tmpl    *template.Template // parsed and counting steps; only its clones execute
	renders sync.Pool          // *render: clones of tmpl, each counting its own steps
}

// PromptData is what the prompt template sees. Question is the variant's
// text; every other field comes from the query unchanged.
type PromptData struct {
	ID       string
	Question string
	Choices  []string
	Letters  []string // "A", "B", ... one per choice
	Context  string
	Task     string
}

// NewPrompt compiles the run file's prompt. A template that does not parse
// is an error naming prompt.template.
func NewPrompt(p config.Prompt) (*Prompt, error) {
	text := p.Template
	if strings.TrimSpace(text) == "" {
		text = "{{.Question}}"
	}
	t, err := template.New("prompt.template").Option("missingkey=error").
		Funcs(template.FuncMap{stepFunc: func() string { return "" }}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("prompt.template: %w", err)
	}
	countSteps(t)
	return &Prompt{system: p.System, tmpl: t}, nil
}

// Render returns the messages for one variant text of q. A template that
// writes more than MaxPromptBytes or takes more than MaxPromptSteps is an
// input problem naming prompt.template and the query.
func (p *Prompt) Render(q *dataset.Query, text string) ([]provider.Message, error) {
	data := PromptData{ID: q.ID, Question: text, Choices: q.Choices, Context: q.Context, Task: q.Task}
	for i := range q.Choices {
		data.Letters = append(data.Letters, letter(i))
	}
	r, err := p.render()
	if err != nil {
		return nil, fmt.Errorf("render prompt.template for query %q: %w", q.ID, err)
	}
	var b boundedBuilder
	r.steps = 0
	err = r.tmpl.Execute(&b, data)
	p.renders.Put(r)
	switch {
	case errors.Is(err, errPromptTooLarge):
		return nil, problem.Input(fmt.Errorf("render prompt.template for query %q: the prompt is larger than %d MiB", q.ID, MaxPromptBytes>>20),
			"look for a {{range}} that repeats text many times, or a data set field longer than any model reads")
	case errors.Is(err, errPromptSteps):
		return nil, problem.Input(fmt.Errorf("render prompt.template for query %q: the template takes more than %d steps (loop iterations and template calls)", q.ID, MaxPromptSteps),
			"look for a {{range}} over a large number, or a template that calls itself")
	case err != nil:
		return nil, fmt.Errorf("render prompt.template for query %q: %w", q.ID, err)
	}
	msgs := make([]provider.Message, 0, 2)
	if p.system != "" {
		msgs = append(msgs, provider.Message{Role: "system", Content: p.system})
	}
	return append(msgs, provider.Message{Role: "user", Content: b.String()}), nil
}

// render is one clone of the prompt's template, its step function bound
// to its own counter; one render uses it at a time.
type render struct {
	tmpl  *template.Template
	steps int
}

// render takes a clone of the template from the pool, or makes one.
func (p *Prompt) render() (*render, error) {
	if r, ok := p.renders.Get().(*render); ok {
		return r, nil
	}
	t, err := p.tmpl.Clone()
	if err != nil {
		return nil, err
	}
	r := &render{}
	r.tmpl = t.Funcs(template.FuncMap{stepFunc: r.step})
	return r, nil
}

// step counts one loop iteration or template call.
func (r *render) step() (string, error) {
	r.steps++
	if r.steps > MaxPromptSteps {
		return "", errPromptSteps
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

// boundedBuilder is a strings.Builder that refuses to grow past
// MaxPromptBytes: the template stops at the first write past it.
type boundedBuilder struct{ strings.Builder }

func (b *boundedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxPromptBytes {
		return 0, errPromptTooLarge
	}
	return b.Builder.Write(p)
}

// letter names option i: A..Z, then AA, AB, ...
func letter(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return letter(i/26-1) + letter(i%26)
}
