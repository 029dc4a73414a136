package provider

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

func TestNew(t *testing.T) {
	if p, err := New(config.Model{Name: "s", Provider: "sim", Skill: 1}, config.Simulator{}, nil); err != nil {
		t.Errorf("sim: %v", err)
	} else if _, ok := p.(*Sim); !ok {
		t.Errorf("sim: got %T", p)
	}
	if p, err := New(config.Model{Name: "o", Provider: "openai", Model: "gpt-4o-mini"}, config.Simulator{}, nil); err != nil {
		t.Errorf("openai: %v", err)
	} else if _, ok := p.(*OpenAI); !ok {
		t.Errorf("openai: got %T", p)
	}
	if p, err := New(config.Model{Name: "z", Provider: "azure", BaseURL: "https://res.openai.azure.com", Model: "prod"}, config.Simulator{}, nil); err != nil {
		t.Errorf("azure: %v", err)
	} else if _, ok := p.(*OpenAI); !ok {
		t.Errorf("azure: got %T", p)
	}
	_, err := New(config.Model{Name: "x", Provider: "anthropic"}, config.Simulator{}, nil)
	if err == nil {
		t.Fatal("unknown provider: no error")
	}
	for _, want := range []string{`"x"`, `"anthropic"`, "azure, openai, sim"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestNewLogger(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, m := range []config.Model{
		{Name: "o", Provider: "openai", Model: "gpt-4o-mini"},
		{Name: "z", Provider: "azure", BaseURL: "https://res.openai.azure.com", Model: "prod"},
	} {
		p, err := New(m, config.Simulator{}, log)
		if err != nil {
			t.Fatalf("%s: %v", m.Provider, err)
		}
		if got := p.(*OpenAI).log; got != log {
			t.Errorf("%s: the client logs to %p, want the logger given to New, %p", m.Provider, got, log)
		}
		if p, _ := New(m, config.Simulator{}, nil); p.(*OpenAI).log == nil {
			t.Errorf("%s: New with a nil logger left the client without one", m.Provider)
		}
	}
}

func TestIdentity(t *testing.T) {
	t.Setenv("DARS_IDENTITY_KEY", "sk-secret")
	wide := config.DefaultSimulator()
	wide.InputSD = 1.5
	tests := []struct {
		name string
		m    config.Model
		sim  config.Simulator
		want string
	}{
		{"openai", config.Model{Name: "small", Provider: "openai", BaseURL: "http://h:8000/v1/", Model: "Qwen/Qwen2.5-7B", APIKeyEnv: "DARS_IDENTITY_KEY"}, config.Simulator{},
			"openai\x00http://h:8000/v1\x00Qwen/Qwen2.5-7B"},
		{"openai default url", config.Model{Name: "g", Provider: "openai", Model: "gpt-4o"}, config.Simulator{},
			"openai\x00https://api.openai.com/v1\x00gpt-4o"},
		{"azure", config.Model{Name: "gpt", Provider: "azure", BaseURL: "https://res.openai.azure.com/", Model: "gpt4o-prod", APIVersion: "2025-01-01-preview", APIKeyEnv: "DARS_IDENTITY_KEY"}, config.Simulator{},
			"azure\x00https://res.openai.azure.com\x00gpt4o-prod\x002025-01-01-preview"},
		{"azure default version", config.Model{Name: "gpt", Provider: "azure", BaseURL: "https://res.openai.azure.com/openai/", Model: "gpt4o-prod"}, config.Simulator{},
			"azure\x00https://res.openai.azure.com\x00gpt4o-prod\x002024-10-21"},
		{"sim", config.Model{Name: "sim-strong", Provider: "sim", Skill: 1.5}, config.Simulator{}, "sim\x00sim-strong\x001.5"},
		{"sim zero", config.Model{Name: "s", Provider: "sim"}, config.Simulator{}, "sim\x00s\x000"},
		// The default simulator keeps the identity dars had before the
		// simulator section, so stored samples stay found; other settings
		// answer otherwise and get an identity of their own.
		{"sim defaults", config.Model{Name: "s", Provider: "sim", Skill: 1}, config.DefaultSimulator(), "sim\x00s\x001"},
		{"sim settings", config.Model{Name: "s", Provider: "sim", Skill: 1}, wide, "sim\x00s\x001\x001.5\x001.5\x000.8\x00text"},
		{"openai ignores the simulator", config.Model{Name: "g", Provider: "openai", Model: "gpt-4o"}, wide,
			"openai\x00https://api.openai.com/v1\x00gpt-4o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Identity(tt.m, tt.sim)
			if got != tt.want {
				t.Errorf("Identity = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "sk-secret") {
				t.Errorf("identity holds the key")
			}
		})
	}
	// The name of an openai entry is not part of its identity: two names for one
	// endpoint share generations.
	a := config.Model{Name: "a", Provider: "openai", BaseURL: "http://h/v1", Model: "m"}
	b := a
	b.Name = "b"
	if Identity(a, config.Simulator{}) != Identity(b, config.Simulator{}) {
		t.Error("openai identity depends on the entry name")
	}
}
