package provider

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/darslabs/dars/pkg/config"
)

func simRequest(queryID string, variant int32, gold string, prompt string, seeds ...int64) Request {
	return Request{
		Messages:    []Message{{Role: "system", Content: "Solve it."}, {Role: "user", Content: prompt}},
		Temperature: 0.7,
		TopP:        0.95,
		MaxTokens:   1024,
		N:           len(seeds),
		Seeds:       seeds,
		Meta:        Meta{QueryID: queryID, VariantID: variant, Gold: gold},
	}
}

// finalAnswer extracts the answer the way a judge reading "Final Answer:" would.
var finalAnswer = regexp.MustCompile(`(?m)^Final Answer:\s*(.+?)\s*$`)

func TestSimDeterministic(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 0.5}, config.Simulator{})
	req := simRequest("q1", 2, "42", "What? End with 'Final Answer: <answer>'.", 1, 2, 3, 4, 5)
	a, err := s.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSim(config.Model{Name: "m", Skill: 0.5}, config.Simulator{}).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same request, different responses:\n%v\n%v", a, b)
	}
	if len(a.Choices) != 5 {
		t.Fatalf("got %d choices, want 5", len(a.Choices))
	}
	var sum int64
	for i, c := range a.Choices {
		if c.FinishReason != "stop" {
			t.Errorf("choice %d: finish reason %q", i, c.FinishReason)
		}
		if c.CompletionTokens < 20 {
			t.Errorf("choice %d: %d completion tokens", i, c.CompletionTokens)
		}
		sum += c.CompletionTokens
	}
	if a.CompletionTokens != sum {
		t.Errorf("CompletionTokens = %d, sum of choices = %d", a.CompletionTokens, sum)
	}
	wantPrompt := int64((len("Solve it.") + len("What? End with 'Final Answer: <answer>'.") + 3) / 4)
	if a.PromptTokens != wantPrompt {
		t.Errorf("PromptTokens = %d, want %d", a.PromptTokens, wantPrompt)
	}
	if a.Latency <= 0 || a.UsageEstimated {
		t.Errorf("Latency = %v, UsageEstimated = %v", a.Latency, a.UsageEstimated)
	}
}

func TestSimTrueP(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 1}, config.Simulator{})
	other := NewSim(config.Model{Name: "other", Skill: 1}, config.Simulator{})
	differs := 0
	for q := range 500 {
		id := fmt.Sprint("q", q)
		for v := range int32(3) {
			p := s.TrueP(Meta{QueryID: id, VariantID: v})
			if !(p > 0 && p < 1) {
				t.Fatalf("TrueP(%q, %d) = %v, want in (0, 1)", id, v, p)
			}
			if p != s.TrueP(Meta{QueryID: id, VariantID: v}) {
				t.Fatalf("TrueP(%q, %d) not stable", id, v)
			}
			if p != other.TrueP(Meta{QueryID: id, VariantID: v}) {
				differs++
			}
		}
	}
	if differs == 0 {
		t.Error("two models with the same skill have identical TrueP everywhere: no affinity")
	}
}

func TestSimEmpiricalRate(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 0.3}, config.Simulator{})
	const draws = 10000
	for _, q := range []string{"a", "b", "c", "d"} {
		t.Run(q, func(t *testing.T) {
			p := s.TrueP(Meta{QueryID: q, VariantID: 1})
			correct := 0
			for i := 0; i < draws; i += 10 {
				seeds := make([]int64, 10)
				for j := range seeds {
					seeds[j] = int64(i+j) * 7919
				}
				resp, err := s.Generate(context.Background(), simRequest(q, 1, "17", "Final Answer", seeds...))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range resp.Choices {
					if m := finalAnswer.FindStringSubmatch(c.Text); m != nil && m[1] == "17" {
						correct++
					}
				}
			}
			if got := float64(correct) / draws; math.Abs(got-p) > 0.03 {
				t.Errorf("empirical rate %.4f, TrueP %.4f", got, p)
			}
		})
	}
}

func TestSimAnswerFormats(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 0}, config.Simulator{})
	tests := []struct {
		name, prompt string
		extract      *regexp.Regexp
	}{
		{"boxed", `Put the answer in \boxed{}.`, regexp.MustCompile(`\\boxed\{([^}]*)\}`)},
		{"hashes", "End with #### and the number.", regexp.MustCompile(`(?m)^####\s*(\S+)\s*$`)},
		{"final", "End with a line 'Final Answer: <answer>'.", finalAnswer},
		{"plain", "What is it?", regexp.MustCompile(`The answer is (.+)\.$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seeds := make([]int64, 200)
			for i := range seeds {
				seeds[i] = int64(i)
			}
			resp, err := s.Generate(context.Background(), simRequest("fmt", 0, "-12.5", tt.prompt, seeds...))
			if err != nil {
				t.Fatal(err)
			}
			right, wrong := 0, 0
			for _, c := range resp.Choices {
				m := tt.extract.FindStringSubmatch(c.Text)
				if m == nil {
					t.Fatalf("no answer in %q", c.Text)
				}
				if m[1] == "-12.5" {
					right++
				} else if regexp.MustCompile(`^-?\d+\.5$`).MatchString(m[1]) {
					wrong++
				} else {
					t.Errorf("wrong answer %q lost the gold's shape", m[1])
				}
			}
			if right == 0 || wrong == 0 {
				t.Errorf("right %d, wrong %d: want both", right, wrong)
			}
		})
	}
}

func TestSimLastUserMessageSetsFormat(t *testing.T) {
	msgs := []Message{
		{Role: "system", Content: `Always use \boxed{}.`},
		{Role: "user", Content: "Final Answer please"},
		{Role: "assistant", Content: "ok"},
	}
	if got := detectAnswerFormat(msgs); got != formatFinal {
		t.Errorf("format = %v, want formatFinal", got)
	}
	if got := detectAnswerFormat(nil); got != formatPlain {
		t.Errorf("format of no messages = %v, want formatPlain", got)
	}
}

func TestWrongAnswer(t *testing.T) {
	tests := []struct {
		name    string
		meta    Meta
		matches *regexp.Regexp
	}{
		{"integer", Meta{Gold: "42"}, regexp.MustCompile(`^\d+$`)},
		{"zero", Meta{Gold: "0"}, regexp.MustCompile(`^\d+$`)},
		{"negative", Meta{Gold: "-7"}, regexp.MustCompile(`^-?\d+$`)},
		{"decimal", Meta{Gold: "3.25"}, regexp.MustCompile(`^-?\d+\.\d\d$`)},
		{"grouped", Meta{Gold: "1,234,567"}, regexp.MustCompile(`^\d{1,3}(,\d{3})+$`)},
		{"letter", Meta{Gold: "C", Choices: []string{"a", "b", "c", "d"}}, regexp.MustCompile(`^[ABD]$`)},
		{"lower letter", Meta{Gold: "b", Choices: []string{"x", "y"}}, regexp.MustCompile(`^a$`)},
		{"choice text", Meta{Gold: "blue", Choices: []string{"red", "Blue", "green"}}, regexp.MustCompile(`^(red|green)$`)},
		{"text", Meta{Gold: "Paris"}, regexp.MustCompile(`.`)},
		{"yes", Meta{Gold: "YES"}, regexp.MustCompile(`.`)},
		{"latex", Meta{Gold: `\frac{7}{13}`}, regexp.MustCompile(`.`)},
		{"empty", Meta{Gold: ""}, regexp.MustCompile(`.`)},
		{"huge", Meta{Gold: "99999999999999999999999"}, regexp.MustCompile(`.`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range int64(300) {
				w := wrongAnswer(tt.meta, seed)
				if strings.EqualFold(w, tt.meta.Gold) {
					t.Fatalf("seed %d: wrong answer %q equals gold", seed, w)
				}
				if !tt.matches.MatchString(w) {
					t.Fatalf("seed %d: wrong answer %q does not match %s", seed, w, tt.matches)
				}
			}
		})
	}
}

func TestSimSkillOrdering(t *testing.T) {
	skills := []float64{-1, 0, 1, 2}
	means := make([]float64, len(skills))
	for i, skill := range skills {
		s := NewSim(config.Model{Name: fmt.Sprint("m", i), Skill: skill}, config.Simulator{})
		for q := range 1000 {
			means[i] += s.TrueP(Meta{QueryID: fmt.Sprint("q", q), VariantID: 0}) / 1000
		}
	}
	for i := 1; i < len(means); i++ {
		if means[i] <= means[i-1] {
			t.Errorf("skill %v mean TrueP %.3f <= skill %v mean %.3f", skills[i], means[i], skills[i-1], means[i-1])
		}
	}
}

func TestSimSeeds(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 0}, config.Simulator{})
	full, err := s.Generate(context.Background(), simRequest("q", 0, "5", "", 10, 11, 12))
	if err != nil {
		t.Fatal(err)
	}
	short := simRequest("q", 0, "5", "", 10)
	short.N = 3
	got, err := s.Generate(context.Background(), short)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(full) != fmt.Sprint(got) {
		t.Errorf("Seeds {10} with N 3 should behave as {10, 11, 12}")
	}
	bad := simRequest("q", 0, "5", "")
	if _, err := s.Generate(context.Background(), bad); err == nil {
		t.Error("N 0: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Generate(ctx, short); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestSimConcurrent(t *testing.T) {
	s := NewSim(config.Model{Name: "m", Skill: 1}, config.Simulator{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if _, err := s.Generate(context.Background(), simRequest(fmt.Sprint(g, i), 0, "1", "", 1, 2)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSimGenerate5(b *testing.B) {
	s := NewSim(config.Model{Name: "bench", Skill: 0.5}, config.Simulator{})
	question := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	req := simRequest("query-123", 3, "1234", question+"\n\nEnd with a line 'Final Answer: <answer>'.", 11, 22, 33, 44, 55)
	req.Meta.Dataset, req.Meta.Question, req.Meta.VariantText = "test.jsonl", question, "Consider the following. "+question
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Generate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzNumberShape(f *testing.F) {
	for _, s := range []string{"42", "-7", "3.25", "1,234", "1,23", ",1", "1.", ".5", "+3", "abc", "", "1e5", "12,345.67"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, gold string) {
		decimals, _, ok := numberShape(gold)
		for seed := range int64(4) {
			w := wrongAnswer(Meta{Gold: gold}, seed)
			if strings.EqualFold(w, strings.TrimSpace(gold)) {
				t.Fatalf("gold %q seed %d: wrong answer equals gold", gold, seed)
			}
			if ok {
				if wd, _, wok := numberShape(w); wok && wd != decimals {
					t.Fatalf("gold %q (%d decimals) gave %q (%d decimals)", gold, decimals, w, wd)
				}
			}
		}
	})
}
