package sampler

import (
	"errors"
	"fmt"
	"strings"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/problem"
	"github.com/darslabs/dars/pkg/provider"
	"github.com/darslabs/dars/pkg/tmpl"
)

// Prompt renders one variant of a query into chat messages. It is safe for
// concurrent use.
type Prompt struct {
	system string
	tmpl   *tmpl.Template
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
	t, err := tmpl.Parse("prompt.template", text)
	if err != nil {
		return nil, fmt.Errorf("prompt.template: %w", err)
	}
	return &Prompt{system: p.System, tmpl: t}, nil
}

// Render returns the messages for one variant text of q. A template that
// writes more than tmpl.MaxBytes or takes more than tmpl.MaxSteps is an
// input problem naming prompt.template and the query.
func (p *Prompt) Render(q *dataset.Query, text string) ([]provider.Message, error) {
	data := PromptData{ID: q.ID, Question: text, Choices: q.Choices, Context: q.Context, Task: q.Task}
	for i := range q.Choices {
		data.Letters = append(data.Letters, letter(i))
	}
	out, err := p.tmpl.Execute(data)
	switch {
	case errors.Is(err, tmpl.ErrTooLarge):
		return nil, problem.Input(fmt.Errorf("render prompt.template for query %q: the prompt is larger than %d MiB", q.ID, tmpl.MaxBytes>>20),
			"look for a {{range}} that repeats text many times, or a data set field longer than any model reads")
	case errors.Is(err, tmpl.ErrTooManySteps):
		return nil, problem.Input(fmt.Errorf("render prompt.template for query %q: the template takes more than %d steps (loop iterations and template calls)", q.ID, tmpl.MaxSteps),
			"look for a {{range}} over a large number, or a template that calls itself")
	case err != nil:
		return nil, fmt.Errorf("render prompt.template for query %q: %w", q.ID, err)
	}
	msgs := make([]provider.Message, 0, 2)
	if p.system != "" {
		msgs = append(msgs, provider.Message{Role: "system", Content: p.system})
	}
	return append(msgs, provider.Message{Role: "user", Content: out}), nil
}

// letter names option i: A..Z, then AA, AB, ...
func letter(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return letter(i/26-1) + letter(i%26)
}
