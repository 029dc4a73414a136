package provider

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/darslabs/dars/pkg/config"
)

// constructors maps a provider name (config.Model.Provider) to the function
// that builds it. It is never written after initialisation.
var constructors = map[string]func(config.Model, config.Simulator, *slog.Logger) (Provider, error){
	config.ProviderOpenAI: func(m config.Model, _ config.Simulator, log *slog.Logger) (Provider, error) { return NewOpenAI(m, log) },
	config.ProviderAzure:  func(m config.Model, _ config.Simulator, log *slog.Logger) (Provider, error) { return NewAzure(m, log) },
	config.ProviderSim: func(m config.Model, sim config.Simulator, _ *slog.Logger) (Provider, error) {
		return NewSim(m, sim), nil
	},
}

// Names returns the valid provider names, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(constructors))
}

// New builds the provider a model entry asks for, reporting to log what it
// adjusts on its own, such as a parameter the endpoint refused; a nil log
// discards. sim is the run file's simulator section, which only a sim model
// reads. An unknown provider is an error that names the model and the
// provider and lists the valid ones.
func New(m config.Model, sim config.Simulator, log *slog.Logger) (Provider, error) {
	ctor, ok := constructors[m.Provider]
	if !ok {
		return nil, fmt.Errorf("new provider for model %q: unknown provider %q (valid: %s)",
			m.Name, m.Provider, strings.Join(Names(), ", "))
	}
	return ctor(m, sim, log)
}

// Identity returns the endpoint identity of a model, the part of every
// generation key that says who answers: for openai
// "openai\x00<base_url without trailing slash>\x00<model id>", for azure
// "azure\x00<resource endpoint>\x00<deployment>\x00<api_version>" (the
// default version filled in), for sim "sim\x00<name>\x00<skill as %g>",
// followed by "\x00<difficulty_sd>\x00<input_sd>\x00<affinity_sd>\x00<affinity>"
// when the run file's simulator section differs from the defaults (a
// simulator set otherwise answers otherwise; with the defaults the identity
// is the one dars had before the section existed, so stored samples stay
// found). It
// never includes the key, but it holds the base URL as configured, with any
// user information or query token in it: callers hash it (generation keys,
// the llm judge's hash) or use it as a map key, and never print it. Two model
// entries with the same identity share cached generations.
func Identity(m config.Model, sim config.Simulator) string {
	switch m.Provider {
	case config.ProviderOpenAI:
		return "openai\x00" + openAIBaseURL(m) + "\x00" + m.Model
	case config.ProviderAzure:
		return "azure\x00" + azureBaseURL(m) + "\x00" + m.Model + "\x00" + azureAPIVersion(m)
	case config.ProviderSim:
		id := fmt.Sprintf("sim\x00%s\x00%g", m.Name, m.Skill)
		if sim != (config.Simulator{}) && !sim.IsDefault() {
			id += fmt.Sprintf("\x00%g\x00%g\x00%g\x00%s", sim.DifficultySD, sim.InputSD, sim.AffinitySD, sim.Affinity)
		}
		return id
	default:
		return m.Provider + "\x00" + strings.TrimRight(m.BaseURL, "/") + "\x00" + m.Model
	}
}
