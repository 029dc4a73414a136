package judge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

func TestParseLLMVerdict(t *testing.T) {
	tests := []struct {
		reply  string
		ok     bool
		passed bool
		score  float64
		reason string
	}{
		{`{"score": 1, "passed": true, "reason": "right"}`, true, true, 1, "right"},
		{`{"score": 0.25, "passed": false, "reason": "partly"}`, true, false, 0.25, "partly"},
		{`{"passed": true}`, true, true, 1, ""},
		{`{"passed": false, "reason": "wrong"}`, true, false, 0, "wrong"},
		{`{"score": 0.5}`, true, true, 0.5, ""},
		{`{"score": 0.49}`, true, false, 0.49, ""},
		{"Reasoning first.\n```json\n{\"score\": 0, \"passed\": false, \"reason\": \"off by one\"}\n```", true, false, 0, "off by one"},
		{`Draft {"passed": true} then final {"passed": false, "reason": "second thoughts"}`, true, false, 0, "second thoughts"},
		{`{"verdict": {"passed": true, "reason": "nested"}}`, true, true, 1, "nested"},
		{`{"passed": true, "reason": "has a } brace"}`, true, true, 1, "has a } brace"},
		{`{"score": 7, "passed": true}`, false, false, 0, ""},
		{`{"score": -0.1}`, false, false, 0, ""},
		{`{"reason": "no verdict"}`, false, false, 0, ""},
		{`{score: high}`, false, false, 0, ""},
		{`I cannot help with that.`, false, false, 0, ""},
		{``, false, false, 0, ""},
		{`{"passed": "yes"}`, false, false, 0, ""},
	}
	for _, tt := range tests {
		v, ok := ParseLLMVerdict(tt.reply)
		if ok != tt.ok {
			t.Errorf("ParseLLMVerdict(%q) ok = %v, want %v", tt.reply, ok, tt.ok)
			continue
		}
		if ok && (v.Passed != tt.passed || v.Score != tt.score || v.Detail != tt.reason || v.Status != record.StatusScored) {
			t.Errorf("ParseLLMVerdict(%q) = %+v, want passed %v score %v reason %q", tt.reply, v, tt.passed, tt.score, tt.reason)
		}
	}
}

func FuzzParseLLMVerdict(f *testing.F) {
	for _, s := range []string{`{"score": 1, "passed": true}`, "```json\n{\"passed\": false}\n```", `{{{`, `}{"score":0.5}`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		v, ok := ParseLLMVerdict(reply)
		if !ok {
			return
		}
		if v.Score < 0 || v.Score > 1 || v.Status != record.StatusScored || len(v.Detail) > maxExtracted {
			t.Fatalf("ParseLLMVerdict(%q) = %+v", reply, v)
		}
	})
}

func newTestLLM(t *testing.T, cfg config.Judge) *LLM {
	t.Helper()
	cfg.Type = "llm"
	if cfg.Model == "" {
		cfg.Model = "m"
	}
	j, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return j.(*LLM)
}

func TestLLMVerdictVotes(t *testing.T) {
	j := newTestLLM(t, config.Judge{Name: "g", Votes: 3})
	pass := Reply{Text: `{"score": 1, "passed": true, "reason": "yes"}`}
	fail := Reply{Text: `{"score": 0, "passed": false, "reason": "no"}`}
	junk := Reply{Text: "As an AI I cannot grade."}
	broke := Reply{Error: "status 500: overloaded"}
	tests := []struct {
		name    string
		replies []Reply
		status  string
		passed  bool
		score   float64
		detail  string
	}{
		{"majority passes", []Reply{pass, fail, pass}, record.StatusScored, true, 2.0 / 3, "2 of 3 votes passed: yes"},
		{"majority fails", []Reply{fail, pass, fail}, record.StatusScored, false, 1.0 / 3, "1 of 3 votes passed: no"},
		{"a tie fails", []Reply{pass, fail, junk}, record.StatusScored, false, 0.5, "1 of 2 votes passed: no"},
		{"unparseable votes do not count", []Reply{junk, pass, junk}, record.StatusScored, true, 1, "1 of 1 votes passed: yes"},
		{"nothing parses", []Reply{junk, junk, junk}, record.StatusUnscored, false, 0, "unparseable verdict: As an AI I cannot grade."},
		{"a failed call is no verdict yet", []Reply{pass, pass, broke}, record.StatusCallFailed, false, 0, "judge model call failed (1 of 3 votes): status 500: overloaded"},
		{"every call failed", []Reply{broke, broke, broke}, record.StatusCallFailed, false, 0, "judge model call failed (3 of 3 votes): status 500: overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := j.Verdict(tt.replies)
			if v.Status != tt.status || v.Passed != tt.passed || v.Detail != tt.detail {
				t.Fatalf("Verdict = %+v, want %s passed %v %q", v, tt.status, tt.passed, tt.detail)
			}
			if tt.status == record.StatusScored && (v.Score < tt.score-1e-12 || v.Score > tt.score+1e-12) {
				t.Fatalf("score %v, want %v", v.Score, tt.score)
			}
		})
	}
	if v := j.Verdict([]Reply{junk}); v.Extracted != junk.Text {
		t.Errorf("the raw reply is not kept: %+v", v)
	}
}

func TestLLMPromptAndOptions(t *testing.T) {
	j := newTestLLM(t, config.Judge{Name: "g"})
	p, err := j.Prompt(Item{ID: "7", Question: "Capital of France?", Answers: []string{"Paris"}, Choices: []string{"Paris", "Lyon"}}, "It is Paris.")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Capital of France?", "Reference answer:\nParis", "A. Paris", "B. Lyon", "Answer to grade:\nIt is Paris.", `"passed"`} {
		if !strings.Contains(p, want) {
			t.Errorf("default rubric lacks %q:\n%s", want, p)
		}
	}
	if p, _ := j.Prompt(Item{ID: "8", Question: "Write a haiku."}, "..."); strings.Contains(p, "Reference answer") {
		t.Errorf("a rubric without a gold mentions one:\n%s", p)
	}
	if s := j.Sampling(); s.Samples != 1 || s.Temperature != 0 || s.MaxTokens != defaultLLMMaxTokens {
		t.Errorf("single-vote sampling %+v", s)
	}
	if s := newTestLLM(t, config.Judge{Name: "g", Votes: 5}).Sampling(); s.Samples != 5 || s.Temperature != defaultVoteTemperature {
		t.Errorf("five-vote sampling %+v", s)
	}
	zero := 0.0
	if s := newTestLLM(t, config.Judge{Name: "g", Votes: 5, Temperature: &zero}).Sampling(); s.Temperature != 0 {
		t.Errorf("an explicit temperature 0 is not kept: %+v", s)
	}
	if _, err := j.Judge(t.Context(), Item{}, "x"); err == nil {
		t.Error("a direct call of an llm judge does not say it needs the scheduler")
	}
	for _, bad := range []config.Judge{
		{Name: "g", Type: "llm"},
		{Name: "g", Type: "llm", Model: "m", Votes: -1},
		{Name: "g", Type: "llm", Model: "m", Rubric: "{{.Missing}}"},
		{Name: "g", Type: "llm", Model: "m", Rubric: "{{"},
	} {
		if _, err := New(context.Background(), bad, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

func TestLLMHash(t *testing.T) {
	base := config.Judge{Name: "g", Type: "llm", Model: "m"}
	h := Hash(base)
	spelled := base
	spelled.Rubric, spelled.Votes, spelled.MaxTokens = DefaultRubric, 1, defaultLLMMaxTokens
	if Hash(spelled) != h {
		t.Error("spelling out the defaults changed the hash")
	}
	for _, changed := range []config.Judge{
		{Name: "g", Type: "llm", Model: "m", Rubric: "Grade {{.Output}}"},
		{Name: "g", Type: "llm", Model: "m", Votes: 3},
		{Name: "g", Type: "llm", Model: "other"},
		{Name: "g", Type: "llm", Model: "m", MaxTokens: 64},
	} {
		if Hash(changed) == h {
			t.Errorf("%+v has the default's hash", changed)
		}
	}
	if HashWith(base, "openai\x00http://a/v1\x00m1") == HashWith(base, "openai\x00http://b/v1\x00m1") {
		t.Error("another endpoint behind the model name keeps the hash")
	}
}

// TestLLMJudgeBatch: JudgeBatch asks one prompt per output (a rubric that
// does not render gets an error verdict and no call), one sample per vote,
// maps the replies back to their outputs, and keeps no verdict when asking
// fails.
func TestLLMJudgeBatch(t *testing.T) {
	j := newTestLLM(t, config.Judge{Name: "g", Votes: 3, Rubric: "{{.Output}}{{if eq .ID \"bad\"}}{{index .Choices 9}}{{end}}"})
	items := []Item{{ID: "1"}, {ID: "bad"}, {ID: "3"}}
	outputs := []string{"yes", "yes", "no"}
	var asked []Prompt
	ask := func(_ context.Context, prompts []Prompt, s config.Sampling) ([][]Reply, error) {
		if s.Samples != 3 {
			t.Errorf("asked for %d samples a prompt, want one per vote (3)", s.Samples)
		}
		asked = prompts
		out := make([][]Reply, len(prompts))
		for i, p := range prompts {
			v := fmt.Sprintf(`{"passed": %v, "reason": "r"}`, p.Text == "yes")
			out[i] = []Reply{{Text: v}, {Text: v}, {Text: v}}
			if p.Of == 2 {
				out[i][1] = Reply{Error: "status 503"}
			}
		}
		return out, nil
	}
	vs, err := j.JudgeBatch(context.Background(), ask, items, outputs)
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 2 || asked[0].Of != 0 || asked[1].Of != 2 || asked[1].Text != "no" {
		t.Fatalf("asked %+v, want the prompts of outputs 0 and 2", asked)
	}
	if vs[0].Status != record.StatusScored || !vs[0].Passed {
		t.Errorf("output 0: %+v, want a pass", vs[0])
	}
	if vs[1].Status != record.StatusError || !strings.Contains(vs[1].Detail, "render rubric") {
		t.Errorf("output 1: %+v, want an error verdict naming the rubric", vs[1])
	}
	if vs[2].Status != record.StatusCallFailed || !strings.HasPrefix(vs[2].Detail, LLMCallFailed) {
		t.Errorf("output 2: %+v, want call_failed", vs[2])
	}
	boom := errors.New("commit failed")
	if _, err := j.JudgeBatch(context.Background(), func(context.Context, []Prompt, config.Sampling) ([][]Reply, error) {
		return nil, boom
	}, items, outputs); !errors.Is(err, boom) {
		t.Errorf("JudgeBatch with a failing asker = %v, want its error", err)
	}
}

// TestRubricBounded: a rubric that would write without end or loop for
// hours stops with an error naming the rubric, not the machine's memory.
func TestRubricBounded(t *testing.T) {
	_, err := New(context.Background(), config.Judge{Name: "g", Type: "llm", Model: "m", Rubric: "{{.Output}}{{range 1000000000}}x{{end}}"}, Options{})
	if err == nil || !strings.Contains(err.Error(), `option "rubric"`) || !strings.Contains(err.Error(), "steps") {
		t.Fatalf("New = %v, want an error naming the rubric and its bound", err)
	}
}
