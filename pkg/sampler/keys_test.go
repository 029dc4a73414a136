package sampler

import (
	"context"
	"github.com/darslabs/dars/pkg/keyset"

	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/dataset"
	"github.com/darslabs/dars/pkg/provider"
)

func TestSeedIsStableAndDistinct(t *testing.T) {
	a := Seed(42, "q1", 0, "m", 0)
	if a != Seed(42, "q1", 0, "m", 0) {
		t.Fatal("seed is not stable")
	}
	if a < 0 || a >= 1<<31 {
		t.Fatalf("seed %d out of [0, 2^31)", a)
	}
	seen := map[int64]string{}
	for _, c := range []struct {
		run int64
		q   string
		v   int32
		m   string
		i   int32
	}{{42, "q1", 0, "m", 0}, {43, "q1", 0, "m", 0}, {42, "q2", 0, "m", 0}, {42, "q1", 1, "m", 0}, {42, "q1", 0, "n", 0},
		{42, "q1", 0, "m", 1}, {42, "q1", 0, "m", 2}, {42, "q", 10, "m", 0}, {42, "q1", 0, "", 0}} {
		s := Seed(c.run, c.q, c.v, c.m, c.i)
		if prev, dup := seen[s]; dup {
			t.Fatalf("seed collision between %s and %+v", prev, c)
		}
		seen[s] = ""
	}
}

func TestGenerationKeyChangesWithTheRequest(t *testing.T) {
	msgs := []provider.Message{{Role: "system", Content: "Solve."}, {Role: "user", Content: "1+1?"}}
	base := GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.7, 0.95, 512, 0, 7)
	if base != GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.7, 0.95, 512, 0, 7) {
		t.Fatal("key is not stable")
	}
	changed := map[string]string{
		"model":       GenerationKey("openai\x00http://x/v1\x00m2", msgs, 0.7, 0.95, 512, 0, 7),
		"base url":    GenerationKey("openai\x00http://y/v1\x00m", msgs, 0.7, 0.95, 512, 0, 7),
		"prompt":      GenerationKey("openai\x00http://x/v1\x00m", []provider.Message{{Role: "user", Content: "1+1?"}}, 0.7, 0.95, 512, 0, 7),
		"temperature": GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.8, 0.95, 512, 0, 7),
		"top_p":       GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.7, 0.9, 512, 0, 7),
		"max_tokens":  GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.7, 0.95, 256, 0, 7),
		"index":       GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.7, 0.95, 512, 1, 7),
		"seed":        GenerationKey("openai\x00http://x/v1\x00m", msgs, 0.7, 0.95, 512, 0, 8),
	}
	for what, k := range changed {
		if k == base {
			t.Errorf("changing the %s keeps the key", what)
		}
	}
}

func TestTemplateChangeChangesKeys(t *testing.T) {
	q := &dataset.Query{ID: "1", Question: "1+1?"}
	keysFor := func(tmpl string) *keyset.Set {
		p, err := NewPrompt(config.Prompt{Template: tmpl})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := PlanKeys(context.Background(), []Work{{Query: q}}, Options{Seed: 1, Sampling: config.Sampling{Samples: 3}, Prompt: p,
			Models: []Model{{Config: config.Model{Name: "m", Provider: "sim"}, Endpoint: "sim\x00m"}}})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	a, b := keysFor("{{.Question}}"), keysFor("Q: {{.Question}}")
	if a.Len() != 3 || b.Len() != 3 {
		t.Fatalf("want 3 keys each, got %d and %d", a.Len(), b.Len())
	}
	for k := range a.All() {
		if b.Has(k) {
			t.Fatal("a template change kept a key")
		}
	}
}

func TestPromptRender(t *testing.T) {
	p, err := NewPrompt(config.Prompt{System: "sys", Template: "{{.Question}}\n{{range $i, $c := .Choices}}{{index $.Letters $i}}. {{$c}}\n{{end}}"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := p.Render(&dataset.Query{ID: "1", Choices: []string{"red", "blue"}}, "Which colour?")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Content != "sys" || msgs[1].Content != "Which colour?\nA. red\nB. blue\n" {
		t.Fatalf("messages %q", msgs)
	}
	if _, err := NewPrompt(config.Prompt{Template: "{{.Question"}); err == nil {
		t.Fatal("a broken template must be an error")
	}
	bad, _ := NewPrompt(config.Prompt{Template: "{{.Nope}}"})
	if _, err := bad.Render(&dataset.Query{ID: "1"}, "x"); err == nil {
		t.Fatal("an unknown field must be an error")
	}
	if letter(25) != "Z" || letter(26) != "AA" || letter(27) != "AB" {
		t.Fatal("letters past Z")
	}
}
