// Package config reads the run file (dars.yaml): defaults, then the file,
// then the environment (${VAR} expansion), then flags; Validate names the
// field of every problem.
package config

// Config is one run file.
type Config struct {
	Run        string     `yaml:"run" json:"run"`     // outputs go to <out>/<run>/
	Out        string     `yaml:"out" json:"out"`     // output root, relative to the run file's directory
	Seed       int64      `yaml:"seed" json:"seed"`   // run seed: every sample seed derives from it
	Cache      string     `yaml:"cache" json:"cache"` // optional store shared by several runs
	Dataset    Dataset    `yaml:"dataset" json:"dataset"`
	Prompt     Prompt     `yaml:"prompt" json:"prompt"`
	Paraphrase Paraphrase `yaml:"paraphrase" json:"paraphrase"`
	Sampling   Sampling   `yaml:"sampling" json:"sampling"`
	Models     []Model    `yaml:"models" json:"models"`
	Judges     []Judge    `yaml:"judges" json:"judges"`
	Labels     Labels     `yaml:"labels" json:"labels"`
	Simulator  Simulator  `yaml:"simulator" json:"simulator" hash:"omitdefault"` // provider: sim (docs/simulator.md)

	// Path is the file the config was read from ("" when built in code);
	// relative paths in the config resolve against its directory.
	Path string `yaml:"-" json:"-"`

	// expansions records the string fields Load filled by ${VAR} expansion,
	// so Redacted can hide their values; never written after Load.
	expansions []expansion
}

// Dataset says where the queries are and how to read them.
type Dataset struct {
	Path   string `yaml:"path" json:"path"`     // relative to the run file's directory
	Format string `yaml:"format" json:"format"` // jsonl | csv | parquet; "" = from the extension
	Preset string `yaml:"preset" json:"preset"` // gsm8k | mmlu | arc | triviaqa | humaneval | mbpp | plain; "" = plain with Fields
	Fields Fields `yaml:"fields" json:"fields"`
	Limit  int    `yaml:"limit" json:"limit"` // first N queries; 0 = all
	// Kind is the task kind the rewriter's rules follow: math, choice,
	// reading or open; "" = the preset's (gsm8k: math; mmlu, arc: choice),
	// else open.
	Kind string `yaml:"kind" json:"kind" hash:"omitzero"`
}

// Fields maps data set columns to query parts. Dotted names reach into
// nested objects (question.stem).
type Fields struct {
	ID       string `yaml:"id" json:"id"`
	Question string `yaml:"question" json:"question"`
	Answer   string `yaml:"answer" json:"answer"`
	Choices  string `yaml:"choices" json:"choices"`
	Context  string `yaml:"context" json:"context"`
	Task     string `yaml:"task" json:"task"`
	Variants string `yaml:"variants" json:"variants"`
}

// Prompt renders a variant into chat messages.
type Prompt struct {
	System   string `yaml:"system" json:"system"`
	Template string `yaml:"template" json:"template"` // text/template over .Question .Choices .Context .Task .ID
}

// Paraphrase configures the input side: rewrites written by a model.
type Paraphrase struct {
	Count           int     `yaml:"count" json:"count"` // variants per query besides the original, given ones first; 0 = none (given variants are still used)
	Model           string  `yaml:"model" json:"model"` // a models[] name
	Temperature     float64 `yaml:"temperature" json:"temperature"`
	IncludeOriginal bool    `yaml:"include_original" json:"include_original"`
	// MaxAttempts bounds the rewriter's calls in a row for a query that
	// keep nothing new (an unparseable or short answer, every rewrite
	// rejected); 0 = 3.
	MaxAttempts int `yaml:"max_attempts" json:"max_attempts" hash:"omitzero"`
	// MaxTokens caps the rewriter's (and the verifier's) answer; 0 = 2048.
	MaxTokens int `yaml:"max_tokens" json:"max_tokens" hash:"omitzero"`
	// Instructions replaces the rewriter's rules for a kind: kind -> text.
	Instructions map[string]string `yaml:"instructions" json:"instructions" hash:"omitzero"`
	// MinLengthRatio and MaxLengthRatio bound a rewrite's length against
	// the original's (in characters); 0 = 0.5 and 2.
	MinLengthRatio float64 `yaml:"min_length_ratio" json:"min_length_ratio" hash:"omitzero"`
	MaxLengthRatio float64 `yaml:"max_length_ratio" json:"max_length_ratio" hash:"omitzero"`
	// Verify, when its model is set, asks that model whether each rewrite
	// that passed the filters asks the same question with the same answer.
	Verify Verify `yaml:"verify" json:"verify" hash:"omitzero"`
}

// Verify configures the check of rewrites by a model.
type Verify struct {
	Model string `yaml:"model" json:"model"` // a models[] name; "" = no verification
}

// Task kinds: the rewriter's rules depend on them (dataset.kind).
var Kinds = []string{"open", "math", "choice", "reading"}

// Sampling configures the output side.
type Sampling struct {
	Samples     int     `yaml:"samples" json:"samples"` // N per (query, variant, model)
	Temperature float64 `yaml:"temperature" json:"temperature"`
	TopP        float64 `yaml:"top_p" json:"top_p"`
	MaxTokens   int     `yaml:"max_tokens" json:"max_tokens"`
}

// Model is one candidate (or helper) model.
type Model struct {
	Name        string  `yaml:"name" json:"name"`         // the model's name in outputs
	Provider    string  `yaml:"provider" json:"provider"` // openai | azure | sim
	BaseURL     string  `yaml:"base_url" json:"base_url"`
	Model       string  `yaml:"model" json:"model"`             // the provider's model id (azure: the deployment name)
	APIVersion  string  `yaml:"api_version" json:"api_version"` // azure only: the api-version query, "" = 2024-10-21
	APIKeyEnv   string  `yaml:"api_key_env" json:"api_key_env"` // environment variable holding the key
	Concurrency int     `yaml:"concurrency" json:"concurrency"` // requests in flight
	N           string  `yaml:"n" json:"n"`                     // auto | off | a cap, e.g. "8"
	RPM         int     `yaml:"rpm" json:"rpm"`
	TPM         int     `yaml:"tpm" json:"tpm"`
	Timeout     string  `yaml:"timeout" json:"timeout"` // per request, a Go duration, e.g. "120s"
	MaxAttempts int     `yaml:"max_attempts" json:"max_attempts"`
	Price       Price   `yaml:"price" json:"price"`
	Skill       float64 `yaml:"skill" json:"skill"`         // sim only: higher answers more correctly
	Candidate   *bool   `yaml:"candidate" json:"candidate"` // false: a helper (rewriter, judge), not sampled; nil = true
}

// Price is a model's price per million tokens, in USD.
type Price struct {
	InputPerMTok  float64 `yaml:"input_per_mtok" json:"input_per_mtok"`
	OutputPerMTok float64 `yaml:"output_per_mtok" json:"output_per_mtok"`
}

// Judge configures one judge.
type Judge struct {
	Name            string   `yaml:"name" json:"name"`
	Type            string   `yaml:"type" json:"type"` // exact | contains | regex | numeric | choice | math | f1 | exec | code | llm (docs/judges.md)
	Primary         bool     `yaml:"primary" json:"primary"`
	Pattern         string   `yaml:"pattern" json:"pattern"`                                     // regex: must match; math/numeric: extraction pattern
	Tolerance       float64  `yaml:"tolerance" json:"tolerance"`                                 // numeric: absolute tolerance
	Letters         string   `yaml:"letters" json:"letters"`                                     // choice: the option letters, default "ABCD"
	CaseSensitive   bool     `yaml:"case_sensitive" json:"case_sensitive"`                       // exact, contains
	F1Threshold     float64  `yaml:"f1_threshold" json:"f1_threshold"`                           // f1: the F1 that passes, in (0, 1], default 0.8
	Command         []string `yaml:"command" json:"command"`                                     // exec: the judge program's argv (required); code: the Python interpreter, default python3
	ExecWorkers     int      `yaml:"workers" json:"workers"`                                     // exec: long-lived child processes, default 2; code: sandboxes at once, default the CPUs
	ExecTimeout     string   `yaml:"timeout" json:"timeout"`                                     // exec: Go duration per verdict, default 30s; code: wall clock per program, default 10s
	MemoryMB        int      `yaml:"memory_mb" json:"memory_mb"`                                 // code: address-space limit per program in MiB, default 1024
	UnsafeNoSandbox bool     `yaml:"unsafe_no_sandbox" json:"unsafe_no_sandbox" hash:"omitzero"` // code: run generated code where the sandbox cannot isolate it (docs/sandbox.md)
	Model           string   `yaml:"model" json:"model"`                                         // llm: the models[] entry that judges (required)
	Rubric          string   `yaml:"rubric" json:"rubric"`                                       // llm: the judge prompt, a Go template (default judge.DefaultRubric)
	Votes           int      `yaml:"votes" json:"votes"`                                         // llm: verdicts asked per output, majority wins; default 1
	Temperature     *float64 `yaml:"temperature" json:"temperature"`                             // llm: default 0, or 0.7 when votes > 1
	MaxTokens       int      `yaml:"max_tokens" json:"max_tokens"`                               // llm: longest verdict reply, default 512
}

// Labels configures the statistics.
type Labels struct {
	Lambda          float64 `yaml:"lambda" json:"lambda"` // cost weight in the utility
	Beta            float64 `yaml:"beta" json:"beta"`     // spread weight in the utility
	Prior           string  `yaml:"prior" json:"prior"`   // jeffreys | uniform
	PassAtK         []int   `yaml:"pass_at_k" json:"pass_at_k"`
	SingleShotDraws int     `yaml:"single_shot_draws" json:"single_shot_draws"`
	PBestDraws      int     `yaml:"p_best_draws" json:"p_best_draws"` // Monte Carlo draws from the posteriors for p_best
	CILevel         float64 `yaml:"ci_level" json:"ci_level"`         // 0.95
}

// DefaultConfig returns the values a run file starts from.
func DefaultConfig() Config {
	return Config{
		Run:  "dars",
		Out:  "out",
		Seed: 42,
		Prompt: Prompt{
			Template: "{{.Question}}\n\nEnd with a line 'Final Answer: <answer>'.",
		},
		Paraphrase: Paraphrase{Temperature: 0.7, IncludeOriginal: true},
		Sampling:   Sampling{Samples: 5, Temperature: 0.7, TopP: 0.95, MaxTokens: 1024},
		Labels: Labels{
			Lambda: 0.05, Beta: 0.2, Prior: "jeffreys", PassAtK: []int{1, 5},
			SingleShotDraws: 100, PBestDraws: 2000, CILevel: 0.95,
		},
		Simulator: DefaultSimulator(),
	}
}
