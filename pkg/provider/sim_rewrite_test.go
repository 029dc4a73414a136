package provider

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/darslabs/dars/pkg/config"
	"github.com/darslabs/dars/pkg/record"
)

// gsm8kSlice reads the questions and golds of the repository's GSM8K slice.
func gsm8kSlice(t *testing.T) (questions, golds []string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "data", "gsm8k", "test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row struct{ Question, Answer string }
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		_, gold, _ := strings.Cut(row.Answer, "####")
		questions = append(questions, row.Question)
		golds = append(golds, strings.TrimSpace(gold))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return questions, golds
}

// rewriteRequest asks the sim for count rewrites of question.
func rewriteRequest(question, gold, kind string, count int, avoid []string, seed int64) Request {
	return Request{
		Messages: []Message{{Role: "system", Content: "Rewrite the question."}, {Role: "user", Content: question}},
		N:        1, Seeds: []int64{seed}, MaxTokens: 4096,
		Meta: Meta{QueryID: "q", Question: question, Gold: gold, Kind: kind, Purpose: record.PurposeRewrite,
			Count: count, Avoid: avoid},
	}
}

// parseRewrites reads {"rewrites": [...]} out of an answer, fenced or with
// prose around it, and reports whether it was wrapped.
func parseRewrites(t *testing.T, text string) (rewrites []string, wrapped bool) {
	t.Helper()
	i, j := strings.Index(text, "{"), strings.LastIndex(text, "}")
	if i < 0 || j < i {
		t.Fatalf("no JSON object in %q", text)
	}
	var v struct {
		Rewrites []string `json:"rewrites"`
	}
	if err := json.Unmarshal([]byte(text[i:j+1]), &v); err != nil {
		t.Fatalf("unparseable rewrites %q: %v", text, err)
	}
	return v.Rewrites, i > 0 || j < len(text)-1
}

// TestSimRewrite: the rewriter gives Count rewrites that keep every number,
// differ from the question, from Avoid and from each other, except about
// one in eight that is bad in a way the filters catch (a copy of the
// question, a lost number, a leaked answer), and wraps about one answer in
// twenty in a fence or prose.
func TestSimRewrite(t *testing.T) {
	questions, golds := gsm8kSlice(t)
	s := NewSim(config.Model{Name: "rewriter"}, config.Simulator{})
	const seeds, count = 40, 5
	var total, calls, wrappedCalls int
	bad := map[string]int{}
	for qi, q := range questions {
		for seed := range int64(seeds) {
			resp, err := s.Generate(context.Background(), rewriteRequest(q, golds[qi], "math", count, nil, seed))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Choices) != 1 {
				t.Fatalf("%d choices, want 1", len(resp.Choices))
			}
			c := resp.Choices[0]
			if want := ceilQuarter(utf8.RuneCountInString(c.Text)); c.CompletionTokens != want {
				t.Errorf("completion tokens %d, want %d (the text's)", c.CompletionTokens, want)
			}
			rewrites, wrapped := parseRewrites(t, c.Text)
			calls++
			if wrapped {
				wrappedCalls++
			}
			if len(rewrites) != count {
				t.Fatalf("%d rewrites of %q, want %d", len(rewrites), q, count)
			}
			seen := map[string]bool{}
			for _, r := range rewrites {
				total++
				verdict := simVerifyAnswer(Meta{Question: q, Rewrite: r, Gold: golds[qi]})
				switch {
				case normText(r) == normText(q):
					bad["copy"]++
				case strings.Contains(verdict, "drops the number"):
					bad["lost number"]++
				case strings.Contains(verdict, "gives away"):
					bad["leak"]++
				case !strings.Contains(verdict, `"same":true`):
					t.Errorf("verifier says %s of %q", verdict, r)
				default:
					if seen[normText(r)] {
						t.Errorf("rewrite %q twice in one answer", r)
					}
					seen[normText(r)] = true
					for _, n := range numbersIn(q) {
						if !slices.Contains(numbersIn(r), n) {
							t.Errorf("good rewrite %q lost %s", r, n)
						}
					}
				}
			}
		}
	}
	nbad := bad["copy"] + bad["lost number"] + bad["leak"]
	if share := float64(nbad) / float64(total); share < 0.09 || share > 0.16 {
		t.Errorf("%d of %d rewrites bad (%.3f), want about 1 in %d: %v", nbad, total, share, simBadEvery, bad)
	}
	for _, kind := range []string{"copy", "lost number", "leak"} {
		if bad[kind] == 0 {
			t.Errorf("no bad rewrite of kind %q: %v", kind, bad)
		}
	}
	if share := float64(wrappedCalls) / float64(calls); share < 0.025 || share > 0.08 {
		t.Errorf("%d of %d answers wrapped (%.3f), want about 1 in %d", wrappedCalls, calls, share, simWrapEvery)
	}
}

func TestSimRewriteAvoidAndDeterminism(t *testing.T) {
	s := NewSim(config.Model{Name: "rewriter"}, config.Simulator{})
	q := "Maria buys 3 notebooks at $4 each. How many dollars does she spend in total?"
	req := rewriteRequest(q, "12", "math", 4, nil, 7)
	a, err := s.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Generate(context.Background(), req)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("the same rewrite request answered twice differently")
	}
	first, _ := parseRewrites(t, a.Choices[0].Text)
	// A top-up sends the kept rewrites as Avoid: none comes back.
	resp, err := s.Generate(context.Background(), rewriteRequest(q, "12", "math", 4, first, 7))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := parseRewrites(t, resp.Choices[0].Text)
	for _, r := range again {
		for _, f := range first {
			if normText(r) == normText(f) && normText(r) != normText(q) {
				t.Errorf("rewrite %q repeats one in Avoid", r)
			}
		}
	}
	// Count 0 asks for nothing.
	resp, err = s.Generate(context.Background(), rewriteRequest(q, "12", "math", 0, nil, 7))
	if err != nil {
		t.Fatal(err)
	}
	if none, _ := parseRewrites(t, resp.Choices[0].Text); len(none) != 0 {
		t.Errorf("count 0: %d rewrites", len(none))
	}
}

// TestSimRewriteChoice: a choice item's stem is rewritten without a leaked
// letter; LaTeX spans are left alone.
func TestSimRewriteChoice(t *testing.T) {
	s := NewSim(config.Model{Name: "rewriter"}, config.Simulator{})
	stem := "Which of the following is equal to $\\frac{1}{2}$ of the total?"
	for seed := range int64(200) {
		resp, err := s.Generate(context.Background(), rewriteRequest(stem, "B", "choice", 3, nil, seed))
		if err != nil {
			t.Fatal(err)
		}
		rewrites, _ := parseRewrites(t, resp.Choices[0].Text)
		for _, r := range rewrites {
			if strings.Contains(r, "(answer:") {
				t.Fatalf("a choice rewrite leaks the letter: %q", r)
			}
			if !strings.Contains(r, "$\\frac{1}{2}$") {
				t.Fatalf("rewrite %q changed the math", r)
			}
		}
	}
}

func TestSimVerify(t *testing.T) {
	q := "Tom has 1,200 marbles and gives 15 to Ann. How many does he have left?"
	tests := []struct {
		name, rewrite, gold string
		same                bool
		reason              string
	}{
		{"same", "Consider the following. Tom has 1200 marbles and hands 15 to Ann. What number does he have left?", "1185", true, "same question"},
		{"lost number", "Tom has some marbles and gives 15 to Ann. How many does he have left?", "1185", false, "drops the number 1200"},
		{"leak", q + " (answer: 1,185)", "1185", false, "gives away the answer"},
		{"text gold leak", "Who wrote Hamlet, Shakespeare?", "Shakespeare", false, "gives away"},
		{"empty", "  ", "1185", false, "empty"},
		{"gold within a word", "Tom has 1200 marbles and gives 15 to Annabel. How many does he have left?", "Ann", true, "same question"},
	}
	s := NewSim(config.Model{Name: "checker"}, config.Simulator{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			question := q
			if tt.name == "text gold leak" {
				question = "Who wrote Hamlet?"
			}
			resp, err := s.Generate(context.Background(), Request{
				Messages: []Message{{Role: "user", Content: "Same question?"}}, N: 1, Seeds: []int64{1},
				Meta: Meta{Purpose: record.PurposeVerify, Question: question, Rewrite: tt.rewrite, Gold: tt.gold},
			})
			if err != nil {
				t.Fatal(err)
			}
			var v struct {
				Same   *bool  `json:"same"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal([]byte(resp.Choices[0].Text), &v); err != nil || v.Same == nil {
				t.Fatalf("verdict %q: %v", resp.Choices[0].Text, err)
			}
			if *v.Same != tt.same || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("verdict %s, want same %v with a reason containing %q", resp.Choices[0].Text, tt.same, tt.reason)
			}
		})
	}
}

func TestSimUnknownPurpose(t *testing.T) {
	s := NewSim(config.Model{Name: "m"}, config.Simulator{})
	_, err := s.Generate(context.Background(), Request{N: 1, Meta: Meta{Purpose: "embed"}})
	if err == nil || !strings.Contains(err.Error(), `"embed"`) {
		t.Errorf("unknown purpose: error %v", err)
	}
}

func FuzzSimRewrite(f *testing.F) {
	for _, q := range []string{"How many apples in total?", "Find $x^2$ if $x = 3$.", "", "$5 per day, $", "Which of these is big?"} {
		f.Add(q, "12", int64(3))
	}
	f.Fuzz(func(t *testing.T, q, gold string, seed int64) {
		text := simRewriteAnswer(Meta{Question: q, Gold: gold, Kind: "math", Count: 3}, seed)
		i, j := strings.Index(text, "{"), strings.LastIndex(text, "}")
		var v struct {
			Rewrites []string `json:"rewrites"`
		}
		if i < 0 || j < i || json.Unmarshal([]byte(text[i:j+1]), &v) != nil {
			t.Fatalf("unparseable answer %q", text)
		}
		if len(v.Rewrites) > 3 {
			t.Fatalf("%d rewrites, asked for 3", len(v.Rewrites))
		}
		var verdict struct{ Same *bool }
		if err := json.Unmarshal([]byte(simVerifyAnswer(Meta{Question: q, Rewrite: text, Gold: gold})), &verdict); err != nil || verdict.Same == nil {
			t.Fatalf("unparseable verdict: %v", err)
		}
	})
}
