package paraphrase

import (
	"reflect"
	"strings"
	"testing"
)

// filterOne runs Filter on one candidate and returns its reason ("" kept).
func filterOne(q Query, kept []string, candidate string, opts FilterOptions) string {
	return Filter(q, kept, []string{candidate}, opts)[0].Reason
}

func TestFilterReasons(t *testing.T) {
	open := Query{Question: "Which planet in the Solar System has the most moons?", Answer: "Saturn", Kind: KindOpen}
	math := Query{Question: "A shop sells 12 pens for $3.50 each and 1,000 erasers at 0.5 dollars. What is the total cost?", Answer: "542", Kind: KindMath}
	two := Query{Question: "Tom has 7 apples and gives away 5 of them. How many apples does he have left?", Answer: "2", Kind: KindMath}
	choice := Query{Question: "Which of the following is the body cavity that contains the pituitary gland?",
		Choices: []string{"Abdominal", "Cranial", "Pleural", "Spinal"}, Answer: "B", Kind: KindChoice}
	passage := "The Bears opened the scoring when Robbie Gould kicked a fifty two yard field goal late in the first quarter of the game at Soldier Field. The Packers answered with a touchdown."
	reading := Query{Question: "Which team scored first in the game?", Context: passage, Answer: "the Bears", Kind: KindReading}

	tests := []struct {
		name      string
		q         Query
		kept      []string
		candidate string
		want      string
	}{
		// empty
		{"empty", open, nil, "", ReasonEmpty},
		{"blank", open, nil, " \n\t ", ReasonEmpty},

		// duplicate
		{"copy of original", open, nil, open.Question, ReasonDuplicate},
		{"original case and spaces", open, nil, "  which planet in the solar   system\nhas the most MOONS?", ReasonDuplicate},
		{"original without trailing punctuation", open, nil, "Which planet in the Solar System has the most moons", ReasonDuplicate},
		{"original with other trailing punctuation", open, nil, "Which planet in the Solar System has the most moons?!.", ReasonDuplicate},
		{"duplicate of kept", open, []string{"What planet of the Solar System has the largest number of moons?"}, "what planet of the solar system has the largest number of moons", ReasonDuplicate},
		{"inner punctuation differs: kept", open, nil, "Which planet, in the Solar System, has the most moons?", ""},

		// answer leak, text
		{"open leak", open, nil, "Saturn aside, which planet in the Solar System has the most moons?", ReasonAnswerLeak},
		{"open leak any case", open, nil, "Is it SATURN that has the most moons of any planet in our system?", ReasonAnswerLeak},
		{"open no leak inside a word", open, nil, "Which planet (think Saturnalia) of the Solar System has the most moons?", ""},
		{"leak excused when in the original", Query{Question: "Does Saturn have the most moons of any planet?", Answer: "Saturn"}, nil, "Of all planets, does Saturn have the largest number of moons?", ""},

		// answer leak, numbers
		{"math leak", two, nil, "Tom has 7 apples, gives away 5 and keeps 2. How many apples are left?", ReasonAnswerLeak},
		{"gold 2 is not in 12", two, nil, "Tom holds 7 apples at 12 o'clock and gives away 5 of them. How many remain?", ""},
		{"gold 2 is not in 2.5 or 1/2", two, nil, "Tom has 7 apples (2.5 kg, 1/2 red) and gives 5 away. How many apples remain?", ""},
		{"gold 2 in words leaks", two, nil, "Tom has 7 apples and gives away 5, leaving two. How many apples are left?", ReasonAnswerLeak},
		{"gold 1 as the pronoun one: kept", Query{Question: "Ann has 3 pens and loses 2. How many pens does she have?", Answer: "1", Kind: KindMath}, nil, "Ann owns 3 pens; she loses 2 of them. How many pens does she have now, counting each one?", ""},
		{"gold 1,000 leaks as 1000", Query{Question: "What is 10 times 100?", Answer: "1,000", Kind: KindMath}, nil, "Compute 10 times 100, which is 1000.", ReasonAnswerLeak},
		{"gold 1000 leaks as 1,000", Query{Question: "What is 10 times 100?", Answer: "$1000", Kind: KindMath}, nil, "Compute 10 times 100 (1,000).", ReasonAnswerLeak},
		{"gold 0.5 leaks as .5", Query{Question: "What is 1 divided by 2?", Answer: "0.5", Kind: KindMath}, nil, "What do you get from 1 divided by 2? (.5)", ReasonAnswerLeak},
		{"gold 0.5 leaks as 1/2", Query{Question: "What is 1 divided by 2, as a decimal?", Answer: "0.5", Kind: KindMath}, nil, "As a decimal, what is 1 divided by 2, i.e. 1/2?", ReasonAnswerLeak},
		{"gold frac leaks", Query{Question: "What fraction of 8 is 6?", Answer: `\frac{3}{4}`, Kind: KindMath}, nil, "What fraction of 8 is 6 (3/4)?", ReasonAnswerLeak},
		{"gold excused by a word in the original", Query{Question: "Tom has three boxes with 4 pens in each. How many boxes does Tom have?", Answer: "3", Kind: KindMath}, nil, "Tom has 3 boxes, each with 4 pens. How many boxes does he have?", ""},

		// answer leak, choice letters
		{"letter named", choice, nil, "Which body cavity, answer is B, contains the pituitary gland?", ReasonAnswerLeak},
		{"letter in parentheses", choice, nil, "Which cavity of the body (B) holds the pituitary gland?", ReasonAnswerLeak},
		{"option letter named", choice, nil, "Is option B the body cavity that holds the pituitary gland?", ReasonAnswerLeak},
		{"article a is no letter A", Query{Question: "Which of the following is a gas at room temperature?", Choices: []string{"Oxygen", "Iron", "Salt", "Gold"}, Answer: "A", Kind: KindChoice},
			nil, "Which of the following is a substance that is a gas at room temperature, as a rule?", ""},
		{"the answer is a ...: no letter A", Query{Question: "Which of these is the answer to a riddle?", Choices: []string{"x", "y"}, Answer: "A", Kind: KindChoice},
			nil, "Which of these is the answer to a puzzle or a riddle? The answer is a word.", ""},
		{"other letter named: kept", choice, nil, "Which body cavity houses the pituitary gland (not option D)?", ""},
		{"gold option text leaks", choice, nil, "Which of the following body cavities, perhaps the cranial one, contains the pituitary gland?", ReasonAnswerLeak},
		{"gold as option text names its letter", Query{Question: "Which of the following is the body cavity that contains the pituitary gland?",
			Choices: []string{"Abdominal", "Cranial"}, Answer: "Cranial", Kind: KindChoice}, nil, "Which of the following body cavities holds the pituitary gland? The answer is B", ReasonAnswerLeak},

		// number missing
		{"numbers kept", math, nil, "Pens cost $3.50 each and a shop sells 12; erasers cost 0.5 dollars and it sells 1,000. Find the total cost.", ""},
		{"thousands separator dropped", math, nil, "A shop sells 12 pens at $3.50 each and 1000 erasers at .5 dollars each. What is the total cost?", ""},
		{"number dropped", math, nil, "A shop sells pens for $3.50 each and 1,000 erasers at 0.5 dollars each. What is the total cost?", ReasonNumberMissing},
		{"number changed", math, nil, "A shop sells 12 pens for $3.50 each and 1,000 erasers at 0.6 dollars each. What is the total cost?", ReasonNumberMissing},
		{"number in words counts", two, nil, "Tom had seven apples and handed 5 of them out. How many apples does Tom still have?", ""},
		{"compound number words count", Query{Question: "A class has 25 pupils and 3 teachers. How many people are in it?", Answer: "28", Kind: KindMath}, nil,
			"There are twenty-five pupils and three teachers in a class. How many people are there in total?", ""},
		{"fraction in words counts", Query{Question: "Jo ate 3/4 of a 8 slice pizza. How many slices did she eat?", Answer: "6", Kind: KindMath}, nil,
			"Jo ate three quarters of a pizza cut into 8 slices. How many slices did she eat?", ""},
		{"open kind keeps numbers too", Query{Question: "Name 3 rivers that flow through Germany.", Answer: "Rhine, Elbe, Danube"}, nil, "Name some rivers that flow through Germany.", ReasonNumberMissing},

		// choices changed
		{"options in the stem", choice, nil, "Which body cavity, abdominal, pleural or spinal, holds the pituitary gland?", ReasonChoicesChanged},
		{"one option mentioned: kept", choice, nil, "Which body cavity, not the spinal one, holds the pituitary gland?", ""},
		{"option markers in the stem", Query{Question: "Which of the following is a prime number?", Choices: []string{"4", "6", "7", "9"}, Answer: "C", Kind: KindChoice},
			nil, "Which of the following is a prime number: A. four B. six?", ReasonChoicesChanged},
		{"numeric options in the stem", Query{Question: "Which of the following is a prime number?", Choices: []string{"4", "6", "7", "9"}, Answer: "C", Kind: KindChoice},
			nil, "Among 4, 6 and 9, which of the following numbers is prime?", ReasonChoicesChanged},

		// passage changed
		{"passage quoted", reading, nil, "Robbie Gould kicked a fifty two yard field goal late in the first quarter of the game; which team scored first?", ReasonPassageChanged},
		{"short passage span: kept", reading, nil, "In the game at Soldier Field, which team put points on the board first?", ""},

		// length ratio
		{"too short", open, nil, "Most moons?", ReasonTooShort},
		{"too long", open, nil, "Considering every one of the planets that orbit our Sun in the Solar System, and counting all of the natural satellites known to circle each of them, which single planet has the greatest number of moons?", ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := filterOne(tt.q, tt.kept, tt.candidate, FilterOptions{}); got != tt.want {
				t.Errorf("Filter(%q) reason = %q, want %q", tt.candidate, got, tt.want)
			}
		})
	}
}

func TestFilterLengthBounds(t *testing.T) {
	q := Query{Question: strings.Repeat("q", 20)} // 20 runes
	tests := []struct {
		runes int
		opts  FilterOptions
		want  string
	}{
		{9, FilterOptions{}, ReasonTooShort},
		{10, FilterOptions{}, ""}, // exactly 0.5: kept
		{40, FilterOptions{}, ""}, // exactly 2.0: kept
		{41, FilterOptions{}, ReasonTooLong},
		{14, FilterOptions{MinLengthRatio: 0.75}, ReasonTooShort},
		{15, FilterOptions{MinLengthRatio: 0.75}, ""},
		{31, FilterOptions{MaxLengthRatio: 1.5}, ReasonTooLong},
		{30, FilterOptions{MaxLengthRatio: 1.5}, ""},
		{9, FilterOptions{MinLengthRatio: -1}, ReasonTooShort}, // negative: the default
	}
	for _, tt := range tests {
		// Runes, not bytes: é is two bytes.
		candidate := strings.Repeat("é", tt.runes)
		if got := filterOne(q, nil, candidate, tt.opts); got != tt.want {
			t.Errorf("%d runes with %+v: reason %q, want %q", tt.runes, tt.opts, got, tt.want)
		}
	}
}

func TestFilterBatch(t *testing.T) {
	q := Query{Question: "What is the capital city of France?", Answer: "Paris"}
	got := Filter(q, []string{"Which city is the capital of France?"}, []string{
		"  Name the capital city of France.  ",
		"name the capital city of france",     // duplicate of the first candidate
		"Which city is the capital of France", // duplicate of a kept rewrite
		"",
		"France's capital, Paris, is which city?",
		"Which French city is the nation's capital?",
	}, FilterOptions{})
	want := []Decision{
		{Text: "Name the capital city of France.", Kept: true},
		{Text: "name the capital city of france", Reason: ReasonDuplicate},
		{Text: "Which city is the capital of France", Reason: ReasonDuplicate},
		{Text: "", Reason: ReasonEmpty},
		{Text: "France's capital, Paris, is which city?", Reason: ReasonAnswerLeak},
		{Text: "Which French city is the nation's capital?", Kept: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Filter batch =\n%+v\nwant\n%+v", got, want)
	}
	if got := Filter(q, nil, nil, FilterOptions{}); len(got) != 0 {
		t.Errorf("Filter of no candidates = %v", got)
	}
}

func TestFilterRejectedCandidateStillDuplicates(t *testing.T) {
	q := Query{Question: "What is the capital city of France?", Answer: "Paris"}
	got := Filter(q, nil, []string{"Paris: the capital city of France is which?", "paris: the capital city of france is which"}, FilterOptions{})
	if got[0].Reason != ReasonAnswerLeak || got[1].Reason != ReasonDuplicate {
		t.Errorf("reasons = %q, %q; want answer_leak, duplicate", got[0].Reason, got[1].Reason)
	}
}

func TestFilterNoGold(t *testing.T) {
	q := Query{Question: "Describe the water cycle in two sentences."}
	if got := filterOne(q, nil, "In two sentences, describe the water cycle.", FilterOptions{}); got != "" {
		t.Errorf("reason = %q, want kept", got)
	}
}

func TestReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		if r == "" || seen[r] || r != strings.ToLower(r) || strings.ContainsAny(r, " -") {
			t.Errorf("reason %q is empty, repeated or not snake_case", r)
		}
		seen[r] = true
	}
	if len(seen) != 8 {
		t.Errorf("%d reasons, want 8", len(seen))
	}
}

func TestWholeMatch(t *testing.T) {
	tests := []struct {
		text, word string
		want       bool
	}{
		{"the answer is 2", "2", true},
		{"12 apples", "2", false},
		{"2.5 kg", "2", false},
		{"1/2 cup", "2", false},
		{"2, 3 and 4", "2", true},
		{"2,500 people", "2", false},
		{"ends with 2.", "2", true},
		{"x-2", "2", true},
		{"cats", "cat", false},
		{"a cat.", "cat", true},
		{"new york city", "new york", true},
		{"(b)", "(b)", true},
		{"café au lait", "café", true},
		{"cafés", "café", false},
		{"", "x", false},
		{"x", "", false},
	}
	for _, tt := range tests {
		if got := wholeMatch(tt.text, tt.word); got != tt.want {
			t.Errorf("wholeMatch(%q, %q) = %v, want %v", tt.text, tt.word, got, tt.want)
		}
	}
}

func TestNumberValues(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"1,000 and 1000 and 1000.0", []string{"1000"}},
		{"0.5 and .5 and 1/2", []string{"1/2"}},
		{"3/4 of 12,345,678", []string{"3/4", "12345678"}},
		{"-3 and x-3", []string{"3"}},
		{"3/0 is not a fraction", []string{"3", "0"}},
	}
	for _, tt := range tests {
		got := digitValues(tt.text)
		if len(got) != len(tt.want) {
			t.Errorf("digitValues(%q) = %v, want %v", tt.text, got, tt.want)
		}
		for _, w := range tt.want {
			if !got[w] {
				t.Errorf("digitValues(%q) = %v, lacks %s", tt.text, got, w)
			}
		}
	}
	words := []struct {
		text   string
		value  string
		strong bool
	}{
		{"twenty-five", "25", true},
		{"three hundred and two", "302", true},
		{"two thousand and twenty", "2020", true},
		{"a dozen eggs", "12", true},
		{"no one came", "1", false},
		{"the second case", "2", false},
		{"two thirds of it", "2/3", false},
		{"half of them", "1/2", false},
		{"one hundred", "100", true},
	}
	for _, tt := range words {
		all, strong := wordValues(tt.text)
		if !all[tt.value] || strong[tt.value] != tt.strong {
			t.Errorf("wordValues(%q) = %v (strong %v); want %s, strong %v", tt.text, all, strong, tt.value, tt.strong)
		}
	}
}

func TestBareNumber(t *testing.T) {
	for in, want := range map[string]string{
		"42": "42", " $1,000 ": "1,000", `\$18.00`: "18.00", "50%": "50", `50\%`: "50", "-7": "7", "5.": "5",
		`\frac{3}{4}`: "3/4", `\dfrac{1}{2}`: "1/2", `\boxed{12}`: "12", "1{,}000": "1,000",
	} {
		got, ok := bareNumber(in)
		if !ok || got != want {
			t.Errorf("bareNumber(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"18 cm", "x = 5", "Paris", "", "1 2", "3/4/2020"} {
		if got, ok := bareNumber(in); ok {
			t.Errorf("bareNumber(%q) = %q, want no number", in, got)
		}
	}
}

func FuzzFilter(f *testing.F) {
	f.Add("Tom has 7 apples and gives away 5. How many are left?", "2", "Tom keeps 2 of his 7 apples after giving 5 away.", "B", "")
	f.Add("Which gland?", "(B)", "Which gland is it, answer is B?", "Cranial", "a passage of words")
	f.Add("twenty-five hundred billion billion", `\frac{1}{0}`, "1,000,0000 .5 3/4/2020", "a", "\xff\xfe")
	f.Fuzz(func(t *testing.T, question, answer, candidate, choice, context string) {
		q := Query{Question: question, Answer: answer, Choices: []string{choice, "other option"}, Context: context, Kind: KindChoice}
		got := Filter(q, []string{candidate}, []string{candidate, question, ""}, FilterOptions{})
		if len(got) != 3 {
			t.Fatalf("Filter returned %d decisions for 3 candidates", len(got))
		}
		valid := map[string]bool{"": true}
		for _, r := range Reasons() {
			valid[r] = true
		}
		for _, d := range got {
			if !valid[d.Reason] || d.Kept != (d.Reason == "") {
				t.Fatalf("decision %+v: unknown reason or Kept disagrees with it", d)
			}
		}
		if strings.TrimSpace(candidate) != "" && got[0].Reason != ReasonDuplicate {
			t.Fatalf("a candidate already kept was not a duplicate: %+v", got[0])
		}
		if strings.TrimSpace(question) != "" && got[1].Reason != ReasonDuplicate {
			t.Fatalf("the original was not a duplicate: %+v", got[1])
		}
		if got[2].Reason != ReasonEmpty {
			t.Fatalf("an empty candidate was %+v", got[2])
		}
	})
}
