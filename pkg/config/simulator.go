package config

import (
	"path/filepath"
	"strings"
)

// Simulator configures the embedded simulator (provider: sim): the spreads
// of its latent effects, on the logit scale, and how a model's per-query
// affinity is drawn. docs/simulator.md describes the model.
type Simulator struct {
	DifficultySD float64 `yaml:"difficulty_sd" json:"difficulty_sd"` // per query: how hard it is for every model
	InputSD      float64 `yaml:"input_sd" json:"input_sd"`           // per (query, variant): the input side, shared by every model
	AffinitySD   float64 `yaml:"affinity_sd" json:"affinity_sd"`     // per (model, query): the best model varies by query
	Affinity     string  `yaml:"affinity" json:"affinity"`           // text (learnable from the query's words) | hash (pure noise)
}

// The simulator's affinity structures.
const (
	// AffinityText draws a model's affinity for a query mostly from the
	// query's words (or subject), so similar queries favour the same
	// models and a router can learn it.
	AffinityText = "text"
	// AffinityHash draws it from a hash of (model, query) alone: no
	// structure a router could learn.
	AffinityHash = "hash"
)

// affinities lists the valid simulator.affinity values.
var affinities = []string{AffinityText, AffinityHash}

// maxSimSD bounds the simulator's spreads: at a logit SD of 10 nearly every
// p is within 1e-4 of 0 or 1, so a larger value can only be a typo.
const maxSimSD = 10.0

// DefaultSimulator returns the simulator settings a run file starts from:
// the spreads the simulator had before they were settings.
func DefaultSimulator() Simulator {
	return Simulator{DifficultySD: 1.5, InputSD: 0.6, AffinitySD: 0.8, Affinity: AffinityText}
}

// IsDefault reports whether s equals DefaultSimulator. Config.Hash leaves
// the simulator section out while it does, so run files written before the
// section existed keep their config_hash.
func (s Simulator) IsDefault() bool { return s == DefaultSimulator() }

// validateSimulator reports simulator settings out of range.
func (c *Config) validateSimulator(v *validator) {
	s := c.Simulator
	v.floatIn("simulator.difficulty_sd", s.DifficultySD, 0, maxSimSD)
	v.floatIn("simulator.input_sd", s.InputSD, 0, maxSimSD)
	v.floatIn("simulator.affinity_sd", s.AffinitySD, 0, maxSimSD)
	v.oneOf("simulator.affinity", s.Affinity, affinities)
}

// Identity names the data set for the simulator, which hashes it with each
// question's text: the base name of dataset.path, lower-cased ("test.jsonl"
// for ../data/gsm8k/TEST.jsonl). It leaves out the directories, so the same
// file simulates the same wherever it is copied; the question text carries
// most of an item's identity, so two data sets that share a file name
// still differ wherever their questions do.
func (d Dataset) Identity() string {
	if d.Path == "" {
		return ""
	}
	return strings.ToLower(filepath.Base(filepath.ToSlash(d.Path)))
}
