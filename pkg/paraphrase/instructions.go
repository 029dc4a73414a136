package paraphrase

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// PassageLimit is how many characters (runes) of a reading item's passage
// the rewriter and the verifier are shown: enough to see what the
// question is about, without paying for a long passage on every call.
const PassageLimit = 2000

// role opens every rewriter prompt, whatever the rules.
const role = `You rewrite benchmark questions. A rewrite asks exactly the same question as the original in different words, so that a model answering it is tested on exactly the same thing.`

// generalRules apply to every kind.
const generalRules = `- Keep the correct answer: every rewrite must have exactly the same correct answer as the original, and be just as hard.
- Never reveal, mention or hint at the answer, not even in part.
- Add no hints, steps, explanations, worked solutions or commentary, and remove none that the original gives.
- Keep every quantity, number, entity, name, date, unit, equation and constraint, with the same values: add none, drop none, round none, convert none.
- Keep any answer format the original asks for (units, rounding, form of the answer).
- Vary wording and sentence structure, not meaning; keep the language of the original.
- Each rewrite stands alone: it makes sense without the original or the other rewrites.
- Options shown in <choices> and a passage shown in <passage> are for reference only: never rewrite, reorder, quote or include them.`

// kindRules add to generalRules for one kind.
var kindRules = map[Kind]string{
	KindOpen: ``,
	KindMath: `- Keep all mathematical meaning: every expression, equation, variable, number, unit, condition and exactly what is asked for (for example "the sum of the roots", "in simplest form", "to the nearest tenth").
- Keep mathematical notation and LaTeX exactly as written; reword only the words around it.
- Do not solve, simplify, evaluate or restate anything in a way that does part of the work.`,
	KindChoice: `- This is a multiple-choice item: rewrite only the question stem in <question>.
- The options in <choices> are shown for reference only: do not rewrite, reorder, reletter or include them, and do not refer to any option by its letter.
- The rewritten stem must fit the same options in the same order; if the stem refers to the options (for example "which of the following"), keep that reference.`,
	KindReading: `- This is a reading-comprehension item: rewrite only the question in <question>.
- The passage in <passage> is shown for reference only, and may be cut after its first 2,000 characters: do not rewrite, summarise or quote it, and add no fact from it to the question.
- The rewritten question must be answerable from the same passage, with the same answer.`,
}

// answerNote explains the <answer> block; it stays when the rules are
// overridden, because the block is shown whatever the rules say.
const answerNote = `The gold answer, when shown in <answer>, is for consistency only: every rewrite must have this same answer; never state it.`

// outputRules is the format ParseRewrites reads; it stays when the rules
// are overridden.
const outputRules = `Output JSON only, with no prose and no code fence: {"rewrites": ["first rewrite", "second rewrite"]}, one string per rewrite, exactly as many as asked, each different from the original, from the others and from any listed in <avoid>.`

// Instructions returns the rewriter's system prompt for kind. A non-empty
// override (paraphrase.instructions in the run file, by kind) replaces
// the rules, general and kind-specific; the opening line, the note on the
// gold answer and the output format stay, so that every answer can still
// be parsed. A kind that is not one of Kinds gets the rules of KindOpen.
func Instructions(kind Kind, override string) string {
	rules := strings.TrimSpace(override)
	if rules == "" {
		rules = rulesFor(kind)
	}
	return role + "\n\nRules:\n" + rules + "\n\n" + answerNote + "\n\n" + outputRules
}

// rulesFor returns the built-in rules of kind: the general ones, then the
// kind's own.
func rulesFor(kind Kind) string {
	if !kind.valid() {
		kind = KindOpen
	}
	if extra := kindRules[kind]; extra != "" {
		return generalRules + "\n" + extra
	}
	return generalRules
}

// RewriteMessages returns the system and user message contents of the
// rewriter call for q that asks for n new rewrites (n below 1 counts as
// 1), different from those in avoid (the rewrites already kept). The user
// message holds q.Question in a <question> block, then the <choices>
// (lettered A., B., ...), the <passage> (cut to PassageLimit runes), the
// <answer> and the <avoid> blocks when there is something to show, and
// ends with the line that asks for JSON. The same arguments always give
// the same messages.
func RewriteMessages(q Query, n int, avoid []string, override string) (system, user string) {
	n = max(n, 1)
	var b strings.Builder
	block(&b, "question", q.Question)
	writeReference(&b, q)
	if a := strings.TrimSpace(q.Answer); a != "" {
		block(&b, "answer", a)
	}
	if lines := avoidLines(avoid); len(lines) > 0 {
		b.WriteString("Already written; write rewrites different from these:\n")
		block(&b, "avoid", strings.Join(lines, "\n"))
	}
	fmt.Fprintf(&b, `Return %d new rewrites as JSON: {"rewrites": ["...", ...]}`, n)
	return Instructions(q.Kind, override), b.String()
}

// verifyInstructions is the verifier's system prompt.
const verifyInstructions = `You check a rewrite of a benchmark question against the original. The rewrite passes only if it asks exactly the same question: it has the same correct answer (the gold answer, when shown in <answer>, must still be the correct answer), it keeps every quantity, entity, name, date, unit, equation and constraint, it adds no hint, step or part of the answer, and it is just as hard. Different wording and sentence structure are fine. Options in <choices> and a passage in <passage> are context only: the rewrite covers the question alone.

Output JSON only, with no prose and no code fence: {"same": true or false, "reason": "..."}, with a one-sentence reason.`

// VerifyMessages returns the system and user message contents of the
// verifier call that asks whether rewrite asks the same question as q,
// with the same answer. The user message holds the <original> and the
// <rewrite>, then the <choices>, <passage> and <answer> blocks when q has
// them, and ends with the line that asks for JSON (see ParseVerdict).
func VerifyMessages(q Query, rewrite string) (system, user string) {
	var b strings.Builder
	block(&b, "original", q.Question)
	block(&b, "rewrite", strings.TrimSpace(rewrite))
	writeReference(&b, q)
	if a := strings.TrimSpace(q.Answer); a != "" {
		block(&b, "answer", a)
	}
	b.WriteString(`Answer as JSON: {"same": true or false, "reason": "..."}`)
	return verifyInstructions, b.String()
}

// writeReference writes the parts of q that are shown but never
// rewritten: its choices and its passage.
func writeReference(b *strings.Builder, q Query) {
	if len(q.Choices) > 0 {
		lines := make([]string, len(q.Choices))
		for i, c := range q.Choices {
			lines[i] = ChoiceLetter(i) + ". " + oneLine(c)
		}
		block(b, "choices", strings.Join(lines, "\n"))
	}
	if p := strings.TrimSpace(q.Context); p != "" {
		block(b, "passage", clipRunes(p, PassageLimit))
	}
}

// block writes text between <tag> and </tag>, each on a line of its own,
// followed by a blank line.
func block(b *strings.Builder, tag, text string) {
	fmt.Fprintf(b, "<%s>\n%s\n</%s>\n\n", tag, text, tag)
}

// avoidLines returns the non-empty rewrites of avoid, one line each.
func avoidLines(avoid []string) []string {
	var lines []string
	for _, a := range avoid {
		if line := oneLine(a); line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// oneLine returns s with every run of white space, newlines included,
// made one space: a list shown one item per line stays one item per line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// ChoiceLetter returns the letter of the i-th option (0-based): A to Z,
// then AA, AB, ... as spreadsheets do.
func ChoiceLetter(i int) string {
	var letters []byte
	for i++; i > 0; i = (i - 1) / 26 {
		letters = append([]byte{byte('A' + (i-1)%26)}, letters...)
	}
	return string(letters)
}

// clipRunes returns s cut to n runes, with a note saying so when cut.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k] + fmt.Sprintf("… [passage cut at %d characters]", n)
		}
		i++
	}
	return s
}
