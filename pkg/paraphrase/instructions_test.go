package paraphrase

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenQueries are one query of each kind, with what each kind shows.
var goldenQueries = map[string]struct {
	q     Query
	n     int
	avoid []string
}{
	"open": {
		q: Query{ID: "o1", Kind: KindOpen, Question: "Which planet in the Solar System has the most moons?", Answer: "Saturn"},
		n: 5,
	},
	"math": {
		q: Query{ID: "m1", Kind: KindMath,
			Question: "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
			Answer:   "72"},
		n:     3,
		avoid: []string{"In April Natalia sold clips to 48 friends, and in May she sold half that many. How many clips did she sell in total over the two months?", "  ", "A line\nwith a break"},
	},
	"choice": {
		q: Query{ID: "c1", Kind: KindChoice,
			Question: "Which of the following is the body cavity that contains the pituitary gland?",
			Choices:  []string{"Abdominal", "Cranial", "Pleural", "Spinal"},
			Answer:   "B"},
		n: 5,
	},
	"reading": {
		q: Query{ID: "r1", Kind: KindReading,
			Question: "How many yards was the longest field goal?",
			Context:  strings.Repeat("The Bears kicked a 52-yard field goal in the second quarter, and the Packers answered with a 38-yarder. ", 25),
			Answer:   "52"},
		n:     2,
		avoid: []string{"What was the length, in yards, of the longest field goal?"},
	},
}

func TestRewriteMessagesGolden(t *testing.T) {
	for name, tc := range goldenQueries {
		t.Run(name, func(t *testing.T) {
			system, user := RewriteMessages(tc.q, tc.n, tc.avoid, "")
			got := "=== system ===\n" + system + "\n=== user ===\n" + user + "\n"
			path := filepath.Join("testdata", "rewrite_"+name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to write it): %v", err)
			}
			if got != string(want) {
				t.Errorf("RewriteMessages(%s) differs from %s (run with -update if intended)\ngot:\n%s", name, path, got)
			}
		})
	}
}

func TestRewriteMessagesContract(t *testing.T) {
	q := Query{Question: "What is 2 + 2?\nShow nothing.", Answer: "4", Kind: KindMath}
	system, user := RewriteMessages(q, 4, nil, "")
	if !strings.HasPrefix(user, "<question>\nWhat is 2 + 2?\nShow nothing.\n</question>\n") {
		t.Errorf("user message does not open with the question block:\n%s", user)
	}
	if !strings.HasSuffix(user, "\nReturn 4 new rewrites as JSON: {\"rewrites\": [\"...\", ...]}") {
		t.Errorf("user message does not end with the JSON request:\n%s", user)
	}
	if strings.Contains(user, "<avoid>") || strings.Contains(user, "<choices>") || strings.Contains(user, "<passage>") {
		t.Errorf("user message shows blocks q does not have:\n%s", user)
	}
	if system != Instructions(KindMath, "") {
		t.Errorf("system prompt is not Instructions(math)")
	}
	if _, user := RewriteMessages(q, 0, nil, ""); !strings.Contains(user, "Return 1 new rewrites") {
		t.Errorf("n = 0 did not ask for 1 rewrite:\n%s", user)
	}
	if _, user := RewriteMessages(Query{Question: "q"}, 2, nil, ""); strings.Contains(user, "<answer>") {
		t.Errorf("an empty gold answer is shown:\n%s", user)
	}
}

func TestRewriteMessagesPassageCut(t *testing.T) {
	passage := strings.Repeat("é", PassageLimit+10)
	_, user := RewriteMessages(Query{Question: "q?", Context: passage, Kind: KindReading}, 1, nil, "")
	if got := strings.Count(user, "é"); got != PassageLimit {
		t.Errorf("passage shows %d runes, want %d", got, PassageLimit)
	}
	if !strings.Contains(user, "[passage cut at 2000 characters]") {
		t.Errorf("the cut passage does not say so:\n%s", user[len(user)-200:])
	}
	short := strings.Repeat("é", PassageLimit)
	if _, user := RewriteMessages(Query{Question: "q?", Context: short}, 1, nil, ""); strings.Contains(user, "cut at") {
		t.Errorf("a passage of exactly %d runes is marked as cut", PassageLimit)
	}
}

func TestInstructions(t *testing.T) {
	for _, k := range Kinds() {
		got := Instructions(k, "")
		for _, want := range []string{"same correct answer", "Never reveal", "no hints", "every quantity", `{"rewrites": [`, "for consistency only"} {
			if !strings.Contains(got, want) {
				t.Errorf("Instructions(%s) lacks %q", k, want)
			}
		}
	}
	if !strings.Contains(Instructions(KindChoice, ""), "only the question stem") {
		t.Errorf("choice instructions do not restrict the rewrite to the stem")
	}
	if !strings.Contains(Instructions(KindReading, ""), "2,000 characters") {
		t.Errorf("reading instructions do not say the passage is cut")
	}
	if !strings.Contains(Instructions(KindMath, ""), "mathematical meaning") {
		t.Errorf("math instructions do not keep the mathematical meaning")
	}
	if Instructions("nonsense", "") != Instructions(KindOpen, "") {
		t.Errorf("an unknown kind does not get the open rules")
	}
	over := Instructions(KindMath, "  - Only change the word order.  ")
	if !strings.Contains(over, "Rules:\n- Only change the word order.\n") || strings.Contains(over, "mathematical meaning") {
		t.Errorf("override does not replace the rules:\n%s", over)
	}
	if !strings.Contains(over, `{"rewrites": [`) || !strings.Contains(over, "for consistency only") {
		t.Errorf("override dropped the output format or the answer note:\n%s", over)
	}
}

func TestVerifyMessages(t *testing.T) {
	q := Query{Question: "Which gland?", Choices: []string{"Pituitary", "Thyroid"}, Answer: "A"}
	system, user := VerifyMessages(q, "  Name the gland.\n")
	want := "<original>\nWhich gland?\n</original>\n\n<rewrite>\nName the gland.\n</rewrite>\n\n" +
		"<choices>\nA. Pituitary\nB. Thyroid\n</choices>\n\n<answer>\nA\n</answer>\n\n" +
		`Answer as JSON: {"same": true or false, "reason": "..."}`
	if user != want {
		t.Errorf("VerifyMessages user =\n%s\nwant\n%s", user, want)
	}
	if !strings.Contains(system, `{"same": true or false`) {
		t.Errorf("verify system prompt does not ask for the JSON verdict")
	}
}

func TestChoiceLetter(t *testing.T) {
	for i, want := range map[int]string{0: "A", 1: "B", 25: "Z", 26: "AA", 27: "AB", 51: "AZ", 52: "BA"} {
		if got := ChoiceLetter(i); got != want {
			t.Errorf("ChoiceLetter(%d) = %q, want %q", i, got, want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"": KindOpen, "open": KindOpen, "Math": KindMath, " choice ": KindChoice, "READING": KindReading} {
		got, err := ParseKind(in)
		if err != nil || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseKind("mcq")
	if err == nil || !strings.Contains(err.Error(), `"mcq"`) || !strings.Contains(err.Error(), "open, math, choice, reading") {
		t.Errorf("ParseKind(mcq) error = %v, want one naming the kind and listing the valid ones", err)
	}
}
