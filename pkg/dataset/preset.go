package dataset

import (
	"fmt"
	"strings"
)

// Preset names accepted in Options.Preset.
const (
	PresetPlain     = "plain"
	PresetGSM8K     = "gsm8k"
	PresetMMLU      = "mmlu"
	PresetARC       = "arc"
	PresetTriviaQA  = "triviaqa"
	PresetHumanEval = "humaneval"
	PresetMBPP      = "mbpp"
)

// answerRule says how a preset normalises the gold answer.
type answerRule int

const (
	// answerAsIs keeps the answer; when the choices carry labels and the
	// answer is one of them, it becomes the letter of that choice.
	answerAsIs answerRule = iota
	// answerAfterHashes keeps the text after the last "####", without
	// thousands separators (GSM8K).
	answerAfterHashes
	// answerChoiceIndex turns a 0-based choice index into its letter and
	// accepts a letter as is (MMLU).
	answerChoiceIndex
	// answerChoiceLabel requires the answer to be the label of a choice and
	// turns it into the letter of that choice's position (ARC).
	answerChoiceLabel
)

// preset is a field mapping plus the normalisation a benchmark needs.
type preset struct {
	fields         Fields
	answer         answerRule
	requireChoices bool
	// headerless is the header of a CSV without one, used when the first
	// row lacks the question column and has exactly this many columns.
	headerless []string
	// contextLines lets the context field be a list of strings, joined one
	// per line (MBPP's asserts, shown to the model as the tests to pass).
	contextLines bool
}

// Presets lists the names Load accepts in Options.Preset, "plain" first.
func Presets() []string {
	return []string{PresetPlain, PresetGSM8K, PresetMMLU, PresetARC, PresetTriviaQA, PresetHumanEval, PresetMBPP}
}

// presetByName returns the named preset; "" is plain.
func presetByName(name string) (preset, error) {
	switch name {
	case "", PresetPlain:
		return preset{fields: Fields{
			ID: "id", Question: "question", Answer: "answer", Choices: "choices",
			Context: "context", Task: "task", Variants: "variants",
		}}, nil
	case PresetGSM8K:
		return preset{
			fields: Fields{Question: "question", Answer: "answer"},
			answer: answerAfterHashes,
		}, nil
	case PresetMMLU:
		return preset{
			fields: Fields{
				Question: "question", Answer: "answer", Task: "subject",
				// Hugging Face exports carry a list; the CSV one column per choice.
				Choices: "choices|choice0,choice1,choice2,choice3",
			},
			answer:         answerChoiceIndex,
			requireChoices: true,
			headerless:     []string{"question", "choice0", "choice1", "choice2", "choice3", "answer"},
		}, nil
	case PresetARC:
		return preset{
			fields: Fields{
				ID: "id", Question: "question.stem", Choices: "question.choices",
				Answer: "answerKey",
			},
			answer:         answerChoiceLabel,
			requireChoices: true,
		}, nil
	case PresetTriviaQA:
		return preset{fields: Fields{ID: "id", Question: "question", Answer: "golden_answers"}}, nil
	case PresetHumanEval:
		// The question is the function's signature and docstring. There is
		// no gold answer: the code judge runs the row's "test" against
		// "entry_point" (canonical_solution is one solution, not the only one).
		return preset{fields: Fields{ID: "task_id", Question: "prompt"}}, nil
	case PresetMBPP:
		// The prompt does not name the function; the tests do, so they are
		// the context. The code judge reads test_list and test_imports (or
		// test_setup_code) from the row. Sanitized MBPP calls the task
		// "prompt", the original "text".
		return preset{
			fields:       Fields{ID: "task_id", Question: "prompt|text", Context: "test_list"},
			contextLines: true,
		}, nil
	}
	return preset{}, fmt.Errorf("unknown preset %q (want %s)", name, strings.Join(Presets(), ", "))
}

// normaliseGSM8K keeps the text after the last "####", trimmed, without
// thousands separators. An answer without the marker is taken whole.
func normaliseGSM8K(s string) string {
	if i := strings.LastIndex(s, "####"); i >= 0 {
		s = s[i+len("####"):]
	}
	return strings.ReplaceAll(strings.TrimSpace(s), ",", "")
}

// letter returns the choice letter of 0-based position i: "A", "B", ...
func letter(i int) string { return string(rune('A' + i)) }

// maxChoices is the number of letters A..Z.
const maxChoices = 26

// normaliseChoiceIndex maps "0".."n-1" to "A".. and accepts a letter of one
// of the n choices (any case).
func normaliseChoiceIndex(s string, n int) (string, error) {
	s = strings.TrimSpace(s)
	if n == 0 {
		n = 4
	}
	if len(s) == 1 {
		c := s[0]
		switch {
		case c >= '0' && c <= '9' && int(c-'0') < n:
			return letter(int(c - '0')), nil
		case c >= 'a' && c <= 'z' && int(c-'a') < n:
			return letter(int(c - 'a')), nil
		case c >= 'A' && c <= 'Z' && int(c-'A') < n:
			return s, nil
		}
	}
	if len(s) == 2 && s[0] >= '1' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' {
		if i := int(s[0]-'0')*10 + int(s[1]-'0'); i < n {
			return letter(i), nil
		}
	}
	return "", fmt.Errorf("want a choice index 0-%d or a letter A-%s, got %q", n-1, letter(n-1), s)
}
