package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/darslabs/dars/pkg/problem"
)

// safeName is what may appear in a file, directory or column name.
var safeName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Allowed values of the enumerated settings; "" means "unset" where listed.
var (
	presets   = []string{"gsm8k", "mmlu", "arc", "triviaqa", "humaneval", "mbpp", "plain", ""}
	formats   = []string{"jsonl", "csv", "parquet", ""}
	providers = []string{ProviderOpenAI, ProviderAzure, ProviderSim}
	priors    = []string{"jeffreys", "uniform"}
)

// Validate checks the whole config and returns every problem joined with
// errors.Join (nil when there is none); each is an *Error marked by
// problem.Input (find it with errors.As) whose message starts with the field
// path, e.g. `models[2].provider: unknown provider "opena" (want openai,
// azure or sim)`. List indices are 0-based. It reads the environment only to
// check that each api_key_env variable is set, and never prints a variable's
// value. Judge types are not checked here: the judge registry knows them;
// a judge's pattern is, since every type that takes one compiles it with
// regexp.Compile. Every message quotes a string as the run file wrote it
// (${VAR} unexpanded) and a base URL redacted (see RedactURL).
func (c *Config) Validate() error {
	return c.validate(os.LookupEnv)
}

func (c *Config) validate(lookup envLookup) error {
	v := &validator{cfg: c}

	switch {
	case c.Run == "":
		v.add("run", "empty; want a name for the output directory")
	case !isSafeName(c.Run):
		v.add("run", "%q is not a safe directory name (want letters, digits, '.', '_' or '-')", c.written("run", c.Run))
	}
	if c.Out == "" {
		v.add("out", "empty; want the output root directory")
	}

	if c.Dataset.Path == "" {
		v.add("dataset.path", "empty; want the queries file")
	}
	v.oneOf("dataset.preset", c.Dataset.Preset, presets)
	v.oneOf("dataset.format", c.Dataset.Format, formats)
	if c.Dataset.Limit < 0 {
		v.add("dataset.limit", "%d is negative; want 0 (all) or more", c.Dataset.Limit)
	}

	if c.Sampling.Samples < 1 {
		v.add("sampling.samples", "%d; want at least 1", c.Sampling.Samples)
	}
	v.inRange("sampling.temperature", c.Sampling.Temperature, 0, 2)
	if !(c.Sampling.TopP > 0 && c.Sampling.TopP <= 1) {
		v.add("sampling.top_p", "%s; want a number in (0, 1]", fmtFloat(c.Sampling.TopP))
	}
	if c.Sampling.MaxTokens < 1 {
		v.add("sampling.max_tokens", "%d; want at least 1", c.Sampling.MaxTokens)
	}

	c.validateModels(v, lookup)

	if c.Dataset.Kind != "" {
		v.oneOf("dataset.kind", c.Dataset.Kind, Kinds)
	}
	c.validateParaphrase(v)
	if c.Paraphrase.Count < 0 {
		v.add("paraphrase.count", "%d is negative; want 0 (no rewrites) or more", c.Paraphrase.Count)
	}
	if c.Paraphrase.Model != "" {
		if _, ok := c.ModelByName(c.Paraphrase.Model); !ok {
			v.add("paraphrase.model", "no model named %q in models", c.written("paraphrase.model", c.Paraphrase.Model))
		}
	} else if c.Paraphrase.Count > 0 {
		v.add("paraphrase.model", "empty, but paraphrase.count is %d; want the name of the rewriting model", c.Paraphrase.Count)
	}
	v.inRange("paraphrase.temperature", c.Paraphrase.Temperature, 0, 2)

	c.validateJudges(v)
	c.validateSimulator(v)

	l := c.Labels
	if !(l.Lambda >= 0) {
		v.add("labels.lambda", "%s; want 0 or more", fmtFloat(l.Lambda))
	}
	if !(l.Beta >= 0) {
		v.add("labels.beta", "%s; want 0 or more", fmtFloat(l.Beta))
	}
	if !slices.Contains(priors, l.Prior) {
		v.add("labels.prior", "unknown prior %q (want jeffreys or uniform)", c.written("labels.prior", l.Prior))
	}
	for i, k := range l.PassAtK {
		if k < 1 {
			v.add(fmt.Sprintf("labels.pass_at_k[%d]", i), "%d; want at least 1", k)
		}
		if j := slices.Index(l.PassAtK, k); j < i {
			v.add(fmt.Sprintf("labels.pass_at_k[%d]", i), "%d repeats labels.pass_at_k[%d]; each k gives one column", k, j)
		}
	}
	if l.SingleShotDraws < 1 {
		v.add("labels.single_shot_draws", "%d; want at least 1", l.SingleShotDraws)
	}
	if l.PBestDraws < 1 {
		v.add("labels.p_best_draws", "%d; want at least 1", l.PBestDraws)
	}
	if !(l.CILevel > 0 && l.CILevel < 1) {
		v.add("labels.ci_level", "%s; want a number in (0, 1), e.g. 0.95", fmtFloat(l.CILevel))
	}
	c.checkBounds(v)
	return errors.Join(v.errs...)
}

func (c *Config) validateModels(v *validator, lookup envLookup) {
	if len(c.Models) == 0 {
		v.add("models", "empty; want at least one model")
		return
	}
	seen := make(map[string]int)
	for i, m := range c.Models {
		f := func(key string) string { return fmt.Sprintf("models[%d].%s", i, key) }
		switch first, dup := seen[m.Name]; {
		case m.Name == "":
			v.add(f("name"), "empty; want the model's name in outputs")
		case !isSafeName(m.Name):
			v.add(f("name"), "%q is not safe in file and column names (want letters, digits, '.', '_' or '-')", c.written(f("name"), m.Name))
		case dup:
			v.add(f("name"), "%q is already the name of models[%d]", c.written(f("name"), m.Name), first)
		default:
			seen[m.Name] = i
		}

		switch m.Provider {
		case ProviderOpenAI, ProviderAzure:
			if m.Model == "" && m.Provider == ProviderAzure {
				v.add(f("model"), "empty; an azure model needs the deployment name")
			} else if m.Model == "" {
				v.add(f("model"), "empty; an openai model needs the endpoint's model id")
			}
			if m.BaseURL == "" && m.Provider == ProviderAzure {
				v.add(f("base_url"), "empty; an azure model needs the resource endpoint, e.g. https://NAME.openai.azure.com")
			} else if m.BaseURL == "" {
				v.add(f("base_url"), "empty; an openai model needs the endpoint URL, e.g. http://localhost:8000/v1")
			} else if u, err := url.Parse(m.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.add(f("base_url"), "%q is not an http(s) URL", RedactURL(c.written(f("base_url"), m.BaseURL)))
			} else if u.RawQuery != "" || u.Fragment != "" {
				// The client appends /chat/completions to the base URL as
				// text: after a query it would land inside the query.
				v.add(f("base_url"), "%q has a query or fragment: requests would go to the wrong path; give the endpoint's URL alone (a key goes in the variable api_key_env names)",
					RedactURL(c.written(f("base_url"), m.BaseURL)))
			}
		case ProviderSim:
		case "":
			v.add(f("provider"), "empty (want openai, azure or sim)")
		default:
			v.add(f("provider"), "unknown provider %q (want %s or %s)", c.written(f("provider"), m.Provider),
				strings.Join(providers[:len(providers)-1], ", "), providers[len(providers)-1])
		}

		if m.APIKeyEnv != "" {
			if val, ok := lookup(m.APIKeyEnv); !ok || val == "" {
				v.add(f("api_key_env"), "environment variable %q is not set or empty", c.written(f("api_key_env"), m.APIKeyEnv))
			}
		}
		if m.Concurrency < 0 {
			v.add(f("concurrency"), "%d is negative; want 0 (the default) or more", m.Concurrency)
		}
		if !validN(m.N) {
			v.add(f("n"), "%q; want auto, off or a positive integer", c.written(f("n"), m.N))
		}
		if m.RPM < 0 {
			v.add(f("rpm"), "%d is negative; want 0 (no limit) or more", m.RPM)
		}
		if m.TPM < 0 {
			v.add(f("tpm"), "%d is negative; want 0 (no limit) or more", m.TPM)
		}
		if m.MaxAttempts < 0 {
			v.add(f("max_attempts"), "%d is negative; want 0 (the default) or more", m.MaxAttempts)
		}
		if m.Timeout != "" {
			if d, err := time.ParseDuration(strings.TrimSpace(m.Timeout)); err != nil || d <= 0 {
				v.add(f("timeout"), "%q is not a positive Go duration, e.g. \"120s\" or \"2m\"", c.written(f("timeout"), m.Timeout))
			}
		}
		if !(m.Price.InputPerMTok >= 0) {
			v.add(f("price.input_per_mtok"), "%s; want 0 or more", fmtFloat(m.Price.InputPerMTok))
		}
		if !(m.Price.OutputPerMTok >= 0) {
			v.add(f("price.output_per_mtok"), "%s; want 0 or more", fmtFloat(m.Price.OutputPerMTok))
		}
	}
	if len(c.CandidateModels()) == 0 {
		v.add("models", "no candidate model (every model has candidate: false); want at least one")
	}
}

func (c *Config) validateJudges(v *validator) {
	if len(c.Judges) == 0 {
		v.add("judges", "empty; want at least one judge")
		return
	}
	seen := make(map[string]int)
	primary := -1
	for i, j := range c.Judges {
		f := func(key string) string { return fmt.Sprintf("judges[%d].%s", i, key) }
		switch first, dup := seen[j.Name]; {
		case j.Name == "":
			v.add(f("name"), "empty; want the judge's name in outputs")
		case dup:
			v.add(f("name"), "%q is already the name of judges[%d]", c.written(f("name"), j.Name), first)
		default:
			seen[j.Name] = i
		}
		if j.Type == "" {
			v.add(f("type"), "empty; want a judge type, e.g. exact or math")
		}
		if j.Model != "" {
			if _, ok := c.ModelByName(j.Model); !ok {
				v.add(f("model"), "%q names no models[] entry; want one of the run file's models (candidate: false for a judge that is not sampled)", c.written(f("model"), j.Model))
			}
		}
		if j.Pattern != "" {
			if _, err := regexp.Compile(j.Pattern); err != nil {
				v.add(f("pattern"), "%q is not a valid regular expression: %s", c.written(f("pattern"), j.Pattern), c.regexpProblem(f("pattern"), j.Pattern, err))
			}
		}
		if j.Primary {
			if primary >= 0 {
				v.add(f("primary"), "judges[%d] is already primary; want at most one", primary)
			} else {
				primary = i
			}
		}
	}
}

// validator collects problems, each prefixed with its field path.
type validator struct {
	cfg  *Config // the config checked, for the text its fields were written as
	errs []error
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, problem.Input(&Error{Field: field, Msg: field + ": " + fmt.Sprintf(format, args...)}, ""))
}

// oneOf checks that the value of field is among allowed, quoting it as the
// run file wrote it (see written) when it is not.
func (v *validator) oneOf(field, value string, allowed []string) {
	if slices.Contains(allowed, value) {
		return
	}
	var named []string
	for _, a := range allowed {
		if a != "" {
			named = append(named, a)
		}
	}
	v.add(field, "unknown value %q (want %s)", v.cfg.written(field, value), strings.Join(named, ", "))
}

func (v *validator) inRange(field string, x, lo, hi float64) {
	if !(x >= lo && x <= hi) {
		v.add(field, "%s; want a number in [%s, %s]", fmtFloat(x), fmtFloat(lo), fmtFloat(hi))
	}
}

func isSafeName(s string) bool {
	return safeName.MatchString(s) && s != "." && s != ".."
}

func validN(n string) bool {
	s := strings.ToLower(strings.TrimSpace(n))
	if s == "" || s == "auto" || s == "off" {
		return true
	}
	k, err := strconv.Atoi(s)
	return err == nil && k >= 1
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// written returns the value of the field at a key path (such as
// "models[1].name") as the run file wrote it: the text with its ${VAR}
// when Load filled the field by expansion and it still holds that value,
// else value itself. Every Validate message that quotes a string quotes
// it, so that none shows what a variable holds.
func (c *Config) written(field, value string) string {
	for _, e := range slices.Backward(c.expansions) {
		if e.field == field && e.value == value {
			return e.raw
		}
	}
	return value
}

// regexpProblem says why pattern, the value of field, does not compile:
// the syntax error with the part of the pattern it is about, or only the
// error's kind when the pattern came from ${VAR}, since that part would
// show what the variable holds. Judges compile patterns with
// regexp.Compile too, so the run file's problem is found here, before
// judge.New, whose message quotes the expanded pattern.
func (c *Config) regexpProblem(field, pattern string, err error) string {
	var se *syntax.Error
	switch {
	case !errors.As(err, &se):
		return "it does not compile"
	case c.written(field, pattern) != pattern:
		return string(se.Code)
	default:
		return fmt.Sprintf("%s: `%s`", se.Code, se.Expr)
	}
}

// validateParaphrase checks the rewriter's settings beyond count and model.
func (c *Config) validateParaphrase(v *validator) {
	p := c.Paraphrase
	v.intIn("paraphrase.max_attempts", int64(p.MaxAttempts), rewriteAttemptsRange)
	v.intIn("paraphrase.max_tokens", int64(p.MaxTokens), judgeMaxTokensRange)
	kinds := slices.Sorted(maps.Keys(p.Instructions))
	for _, k := range kinds {
		if !slices.Contains(Kinds, k) {
			v.add("paraphrase.instructions", "unknown kind %q (want %s)", k, strings.Join(Kinds, ", "))
		} else if strings.TrimSpace(p.Instructions[k]) == "" {
			v.add("paraphrase.instructions."+k, "empty; leave the kind out to keep the built-in rules")
		}
	}
	if r := p.MinLengthRatio; r != 0 && !(r > 0 && r <= 1) {
		v.add("paraphrase.min_length_ratio", "%s is out of range; want 0 (the default, 0.5) or a number in (0, 1]", fmtFloat(r))
	}
	if r := p.MaxLengthRatio; r != 0 && !(r >= 1 && r <= 100) {
		v.add("paraphrase.max_length_ratio", "%s is out of range; want 0 (the default, 2) or a number in [1, 100]", fmtFloat(r))
	}
	if m := p.Verify.Model; m != "" {
		if _, ok := c.ModelByName(m); !ok {
			v.add("paraphrase.verify.model", "no model named %q in models", c.written("paraphrase.verify.model", m))
		}
	}
}
