package config

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimulatorDefaults(t *testing.T) {
	d := DefaultConfig().Simulator
	if d.DifficultySD != 1.5 || d.InputSD != 0.6 || d.AffinitySD != 0.8 || d.Affinity != AffinityText {
		t.Errorf("DefaultConfig().Simulator = %+v; update docs/config.md and docs/simulator.md", d)
	}
	if !d.IsDefault() {
		t.Error("the default simulator settings are not IsDefault")
	}
}

func TestSimulatorLoad(t *testing.T) {
	path := writeConfig(t, "run: mine\nsimulator:\n  input_sd: 1.5\n  affinity: hash\n")
	got, err := load(path, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSimulator()
	want.InputSD, want.Affinity = 1.5, AffinityHash
	if got.Simulator != want {
		t.Errorf("simulator = %+v, want %+v (the keys the file leaves out keep their defaults)", got.Simulator, want)
	}

	path = writeConfig(t, "run: mine\nsimulator:\n  input_SD: 1.5\n")
	_, err = load(path, env(nil))
	if err == nil || !strings.Contains(err.Error(), `dars.yaml:3: unknown key "input_SD" (in simulator)`) {
		t.Errorf("unknown key: error %v", err)
	}
}

func TestSimulatorValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Simulator)
		want   string // "" = valid
	}{
		{"defaults", func(s *Simulator) {}, ""},
		{"zero spreads", func(s *Simulator) { s.DifficultySD, s.InputSD, s.AffinitySD = 0, 0, 0 }, ""},
		{"largest spreads", func(s *Simulator) { s.DifficultySD, s.InputSD, s.AffinitySD = 10, 10, 10 }, ""},
		{"hash", func(s *Simulator) { s.Affinity = AffinityHash }, ""},
		{"difficulty negative", func(s *Simulator) { s.DifficultySD = -1 }, "simulator.difficulty_sd: -1 is out of range; want a number in [0, 10]"},
		{"input too large", func(s *Simulator) { s.InputSD = 10.5 }, "simulator.input_sd: 10.5 is out of range; want a number in [0, 10]"},
		{"affinity_sd NaN", func(s *Simulator) { s.AffinitySD = math.NaN() }, "simulator.affinity_sd: NaN is out of range"},
		{"affinity unknown", func(s *Simulator) { s.Affinity = "words" }, `simulator.affinity: unknown value "words" (want text, hash)`},
		{"affinity empty", func(s *Simulator) { s.Affinity = "" }, `simulator.affinity: unknown value "" (want text, hash)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c.Simulator)
			err := c.validate(keyEnv)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Field, "simulator.") {
				t.Errorf("error %v does not name a simulator field", err)
			}
		})
	}
}

// TestSimulatorHash: the simulator section is in config_hash only when it
// differs from the defaults, so run files written before it existed, and
// files that spell out the defaults, keep their hash.
func TestSimulatorHash(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "testdata", "store-v1", "dars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c.Out = ""
	const v1 = "bcd09c9ed30a113252b9838740ed4599d71475666e9ba8e5938893f44dda5737" // dars.config_hash of its Parquet files
	if got := c.Hash(); got != v1 {
		t.Fatalf("hash with the default simulator = %s, want %s", got, v1)
	}
	for _, mutate := range []func(s *Simulator){
		func(s *Simulator) { s.DifficultySD = 2 },
		func(s *Simulator) { s.InputSD = 1.5 },
		func(s *Simulator) { s.AffinitySD = 0 },
		func(s *Simulator) { s.Affinity = AffinityHash },
	} {
		d := c
		mutate(&d.Simulator)
		if d.Hash() == v1 {
			t.Errorf("simulator %+v hashes as the defaults", d.Simulator)
		}
	}
}

func TestDatasetIdentity(t *testing.T) {
	tests := []struct{ path, want string }{
		{"../../../shared/data/gsm8k/test.jsonl", "test.jsonl"},
		{"/abs/MMLU/Test.CSV", "test.csv"},
		{"q.jsonl", "q.jsonl"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := (Dataset{Path: tt.path}).Identity(); got != tt.want {
			t.Errorf("Identity of %q = %q, want %q", tt.path, got, tt.want)
		}
	}
}
