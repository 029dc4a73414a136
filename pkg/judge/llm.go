package judge

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"fmt"
	"math"
	"strings"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
	"github.com/darslabs/dars/pkg/tmpl"
)

// Option names of the llm judge.
const (
	optModel       = "model"
	optRubric      = "rubric"
	optVotes       = "votes"
	optTemperature = "temperature"
	optMaxTokens   = "max_tokens"
)

// DefaultRubric is the llm judge's prompt when the run file gives none. It
// sees the item and the output and asks for the JSON verdict ParseLLMVerdict
// reads.
const DefaultRubric = `You are grading an answer to a question.

Question:
{{.Question}}
{{if .Choices}}
Options:
{{range $i, $c := .Choices}}{{index $.Letters $i}}. {{$c}}
{{end}}{{end}}{{if .Answer}}
Reference answer:
{{.Answer}}
{{end}}
Answer to grade:
{{.Output}}

Is the answer to grade correct{{if .Answer}}, that is, does it agree with the reference answer{{end}}? Reply with only a JSON object, no other text:
{"score": <a number from 0 to 1>, "passed": <true or false>, "reason": "<one sentence>"}`

// Defaults of the llm judge's calls.
const (
	defaultLLMMaxTokens = 512
	// defaultVoteTemperature is the temperature of a judge that votes more
	// than once: identical calls at temperature 0 would cast one vote k times.
	defaultVoteTemperature = 0.7
)

// RubricData is what a rubric template sees.
type RubricData struct {
	ID       string
	Question string   // the original question (not a rewrite)
	Answer   string   // the gold answer, "" when the item has none
	Answers  []string // every acceptable gold answer
	Choices  []string
	Letters  []string // "A", "B", ... one per choice
	Context  string
	Task     string
	Output   string // the generation being judged
}

// LLM is the llm judge: a model of the run file grades each output against
// a rubric and answers with a JSON verdict; with votes > 1 it is asked
// several times and the majority decides. It is a BatchJudge: its calls go
// through the Asker the pipeline gives it, so they share the run's
// scheduler, store, cache and budget like any other paid call.
type LLM struct {
	name      string
	model     string
	rubric    *tmpl.Template
	votes     int
	temp      float64
	maxTokens int
}

var _ Judge = (*LLM)(nil)

func newLLM(cfg config.Judge) (Judge, error) {
	if cfg.Model == "" {
		return nil, fmt.Errorf("judge %q: option %q is required for type %q: the name of a models[] entry", cfg.Name, optModel, cfg.Type)
	}
	text := cfg.Rubric
	if strings.TrimSpace(text) == "" {
		text = DefaultRubric
	}
	t, err := tmpl.Parse("rubric", text)
	if err != nil {
		return nil, fmt.Errorf("judge %q: option %q: %w", cfg.Name, optRubric, err)
	}
	j := &LLM{name: displayName(cfg), model: cfg.Model, rubric: t, votes: llmVotes(cfg), temp: llmTemperature(cfg),
		maxTokens: cmp.Or(cfg.MaxTokens, defaultLLMMaxTokens)}
	if cfg.Votes < 0 {
		return nil, fmt.Errorf("judge %q: option %q: %d; want at least 1", cfg.Name, optVotes, cfg.Votes)
	}
	if cfg.MaxTokens < 0 {
		return nil, fmt.Errorf("judge %q: option %q: %d; want a positive number", cfg.Name, optMaxTokens, cfg.MaxTokens)
	}
	if j.temp < 0 || j.temp > 2 {
		return nil, fmt.Errorf("judge %q: option %q: %g; want 0 to 2", cfg.Name, optTemperature, j.temp)
	}
	// A rubric that cannot render an item is a configuration mistake: find
	// it now, not after the first batch of calls.
	if _, err := j.Prompt(Item{ID: "1", Question: "q", Answer: "a", Choices: []string{"x"}}, "o"); err != nil {
		return nil, fmt.Errorf("judge %q: option %q: %w", cfg.Name, optRubric, err)
	}
	return j, nil
}

// llmVotes is the number of verdicts asked per output: votes, default 1.
func llmVotes(cfg config.Judge) int { return max(cmp.Or(cfg.Votes, 1), 1) }

// llmTemperature is the temperature of the judge's calls: the configured
// one, else 0 for a single vote and defaultVoteTemperature for several.
func llmTemperature(cfg config.Judge) float64 {
	if cfg.Temperature != nil {
		return *cfg.Temperature
	}
	if llmVotes(cfg) > 1 {
		return defaultVoteTemperature
	}
	return 0
}

// Name returns the judge's configured name.
func (j *LLM) Name() string { return j.name }

// Model returns the name of the models[] entry that judges.
func (j *LLM) Model() string { return j.model }

// Sampling returns the parameters of the judge's calls: one sample per vote.
func (j *LLM) Sampling() config.Sampling {
	return config.Sampling{Samples: j.votes, Temperature: j.temp, TopP: 1, MaxTokens: j.maxTokens}
}

// Prompt renders the rubric for one output of item.
func (j *LLM) Prompt(item Item, output string) (string, error) {
	d := RubricData{ID: item.ID, Question: item.Question, Answer: item.Answer, Answers: golds(item),
		Choices: item.Choices, Context: item.Context, Task: item.Task, Output: output}
	if len(d.Answers) > 0 && d.Answer == "" {
		d.Answer = d.Answers[0]
	}
	for i := range item.Choices {
		d.Letters = append(d.Letters, string(rune('A'+i)))
	}
	out, err := j.rubric.Execute(d)
	if err != nil {
		return "", fmt.Errorf("render rubric for item %q: %w", item.ID, err)
	}
	return out, nil
}

// Judge is not how an llm judge scores: its calls must share the run's
// scheduler and store, so the pipeline batches them (JudgeBatch). Called
// directly, it says so.
func (j *LLM) Judge(ctx context.Context, item Item, output string) (Verdict, error) {
	return Verdict{}, fmt.Errorf("judge %q: an llm judge scores through the run's scheduler (dars judge, dars run), not one output at a time", j.name)
}

// JudgeBatch renders the rubric for every output, asks the judge model
// through ask (one sample per vote) and turns each output's replies into a
// verdict. An output whose rubric does not render gets an error verdict
// without a call.
func (j *LLM) JudgeBatch(ctx context.Context, ask Asker, items []Item, outputs []string) ([]Verdict, error) {
	verdicts := make([]Verdict, len(items))
	prompts := make([]Prompt, 0, len(items))
	for i := range items {
		text, err := j.Prompt(items[i], outputs[i])
		if err != nil {
			verdicts[i] = judgeError(err.Error())
			continue
		}
		prompts = append(prompts, Prompt{Of: i, Text: text})
	}
	replies, err := ask(ctx, prompts, j.Sampling())
	if err != nil {
		return nil, err
	}
	for k, p := range prompts {
		verdicts[p.Of] = j.Verdict(replies[k])
	}
	return verdicts, nil
}

// LLMCallFailed starts the detail of a verdict that a failed call to the
// judge model left undecided (record.StatusCallFailed).
const LLMCallFailed = "judge model call failed"

// Verdict turns the votes' replies into one verdict. Each reply is read
// with ParseLLMVerdict; the replies that parse vote, and passed is a strict
// majority of them (a tie fails); score is their mean. When no reply
// parses the verdict is unscored with the first raw reply kept in
// Extracted and Detail. When any call failed the verdict has
// record.StatusCallFailed and a Detail that starts with LLMCallFailed: a
// state to ask again, not a judgement.
func (j *LLM) Verdict(replies []Reply) Verdict {
	var (
		votes    []Verdict
		raw      string
		failures []string
	)
	for _, r := range replies {
		if r.Error != "" {
			failures = append(failures, r.Error)
			continue
		}
		v, ok := ParseLLMVerdict(r.Text)
		if !ok {
			if raw == "" {
				raw = r.Text
			}
			continue
		}
		votes = append(votes, v)
	}
	switch {
	case len(replies) == 0:
		return judgeError("no reply from the judge model")
	case len(failures) > 0:
		// Not a verdict yet: the majority of the votes that came back is not
		// the majority of all votes. The pipeline asks again on its next pass.
		return Verdict{Status: record.StatusCallFailed,
			Detail: clip(fmt.Sprintf("%s (%d of %d votes): %s", LLMCallFailed, len(failures), len(replies), failures[0]))}
	case len(votes) == 0:
		return Verdict{Status: record.StatusUnscored, Extracted: clip(raw),
			Detail: clip("unparseable verdict: " + strings.TrimSpace(raw))}
	}
	passes, sum := 0, 0.0
	for _, v := range votes {
		if v.Passed {
			passes++
		}
		sum += v.Score
	}
	passed := 2*passes > len(votes)
	reason := votes[0].Detail
	for _, v := range votes {
		if v.Passed == passed {
			reason = v.Detail
			break
		}
	}
	detail := reason
	if len(replies) > 1 {
		detail = fmt.Sprintf("%d of %d votes passed: %s", passes, len(votes), reason)
	}
	return Verdict{Status: record.StatusScored, Score: sum / float64(len(votes)), Passed: passed,
		Extracted: clip(reason), Detail: clip(detail)}
}

// llmVerdict is the JSON object a judge model answers with.
type llmVerdict struct {
	Score  *float64 `json:"score"`
	Passed *bool    `json:"passed"`
	Reason string   `json:"reason"`
}

// ParseLLMVerdict reads the last JSON object in reply that has a score or
// a passed field, in a code fence or amid prose. Without score, passed
// gives 1 or 0; without passed, a score of at least 0.5 passes. A score
// outside [0, 1], or no such object among the last 64 that open with a
// brace, does not parse. The verdict's Detail is the reason.
func ParseLLMVerdict(reply string) (Verdict, bool) {
	// Only the last few objects are tried: a verdict comes at the end, and
	// a reply of many braces must not cost a decode per brace.
	const maxTries = 64
	for end, tries := len(reply), 0; end > 0 && tries < maxTries; tries++ {
		start := strings.LastIndexByte(reply[:end], '{')
		if start < 0 {
			break
		}
		end = start
		var v llmVerdict
		dec := json.NewDecoder(bytes.NewReader([]byte(reply[start:])))
		if err := dec.Decode(&v); err != nil || (v.Score == nil && v.Passed == nil) {
			continue
		}
		return verdictOf(v)
	}
	return Verdict{}, false
}

func verdictOf(v llmVerdict) (Verdict, bool) {
	out := Verdict{Status: record.StatusScored, Detail: clip(strings.TrimSpace(v.Reason))}
	switch {
	case v.Score != nil && (math.IsNaN(*v.Score) || *v.Score < 0 || *v.Score > 1):
		return Verdict{}, false
	case v.Score != nil && v.Passed != nil:
		out.Score, out.Passed = *v.Score, *v.Passed
	case v.Score != nil:
		out.Score, out.Passed = *v.Score, *v.Score >= 0.5
	default:
		out.Passed = *v.Passed
		if out.Passed {
			out.Score = 1
		}
	}
	return out, true
}

// HashWith is Hash with extra mixed in: for an llm judge, the identity of
// the model that judges (its base URL and model id), which decides verdicts
// as much as the rubric does.
func HashWith(cfg config.Judge, extra string) string {
	sum := sha256.Sum256([]byte(Hash(cfg) + "\x00" + extra))
	return hex.EncodeToString(sum[:])
}
