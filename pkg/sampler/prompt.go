package sampler

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
)

// Prompt renders one variant of a query into chat messages.
type Prompt struct {
	system string
	tmpl   *template.Template
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
	t, err := template.New("prompt.template").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("prompt.template: %w", err)
	}
	return &Prompt{system: p.System, tmpl: t}, nil
}

// Render returns the messages for one variant text of q.
func (p *Prompt) Render(q *dataset.Query, text string) ([]provider.Message, error) {
	data := PromptData{ID: q.ID, Question: text, Choices: q.Choices, Context: q.Context, Task: q.Task}
	for i := range q.Choices {
		data.Letters = append(data.Letters, letter(i))
	}
	var b strings.Builder
	if err := p.tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render prompt.template for query %q: %w", q.ID, err)
	}
	msgs := make([]provider.Message, 0, 2)
	if p.system != "" {
		msgs = append(msgs, provider.Message{Role: "system", Content: p.system})
	}
	return append(msgs, provider.Message{Role: "user", Content: b.String()}), nil
}

// letter names option i: A..Z, then AA, AB, ...
func letter(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return letter(i/26-1) + letter(i%26)
}
