package judge

import (
	"testing"
)

func TestExtractFinalAnswer(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "Reasoning.\nFinal Answer: 42", "42", true},
		{"lowercase", "final answer: 42", "42", true},
		{"upper", "FINAL ANSWER: Paris", "Paris", true},
		{"markdown bold", "so\n**Final Answer:** 18", "18", true},
		{"bold key outside colon", "**Final Answer**: 18", "18", true},
		{"final answer is", "The final answer is 7.", "7", true},
		{"final answer is boxed", `The final answer is $\boxed{\frac{1}{2}}$.`, `\frac{1}{2}`, true},
		{"dollars around", "Final Answer: $12$", "12", true},
		{"trailing period", "Final Answer: Paris.", "Paris", true},
		{"decimal kept", "Final Answer: 3.14.", "3.14", true},
		{"stars and dollars", "Final Answer: ** $5$ **", "5", true},
		{"last wins", "Final Answer: 1\nwait\nFinal Answer: 2", "2", true},
		{"empty last uses earlier", "Final Answer: 1\nFinal Answer:", "1", true},
		{"heading next line", "## Final Answer\n\n  72\n", "72", true},
		{"answer on next line", "Final Answer:\n72", "72", true},
		{"not a declaration", "I will give the final answer soon. 5", "", false},
		{"fullwidth colon", "Final Answer：9", "9", true},
		{"inline latex delimiters", `Final Answer: \(x^2\)`, "x^2", true},
		{"crlf", "Final Answer: 4\r\nthanks", "4", true},
		{"boxed", `so \boxed{12} and done`, "12", true},
		{"last boxed", `\boxed{1} then \boxed{2}`, "2", true},
		{"nested boxed", `\boxed{\frac{1}{\sqrt{2}}}`, `\frac{1}{\sqrt{2}}`, true},
		{"fbox", `\fbox{7}`, "7", true},
		{"final answer beats boxed", "\\boxed{1}\nFinal Answer: 2", "2", true},
		{"hashes", "She has 5 left.\n#### 5", "5", true},
		{"hashes no space", "####72", "72", true},
		{"last hashes", "#### 1\n#### 2 apples", "2 apples", true},
		{"answer is", "So the answer is Paris.", "Paris", true},
		{"answer colon", "Answer: B", "B", true},
		{"answer is boxed", `So the answer is \boxed{12}.`, "12", true},
		{"nothing", "no idea", "", false},
		{"empty", "", "", false},
		{"only spaces after", "Final Answer:   ", "", false},
		{"empty boxed then hashes", "\\boxed{}\n#### 3", "3", true},
		{"unicode before", "ÄÖÜ İstanbul Final Answer: İ", "İ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractFinalAnswer(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ExtractFinalAnswer(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestExtractBoxed(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"simple", `\boxed{5}`, "5", true},
		{"nested", `\boxed{\frac{a}{b}}`, `\frac{a}{b}`, true},
		{"escaped brace", `\boxed{\{1,2\}}`, `\{1,2\}`, true},
		{"last", `\boxed{1} \boxed{2}`, "2", true},
		{"fbox after boxed", `\boxed{1} \fbox{3}`, "3", true},
		{"unclosed last falls back", `\boxed{1} then \boxed{2`, "1", true},
		{"unclosed only", `\boxed{2`, "", false},
		{"no brace form", `\boxed 5$`, "5", true},
		{"no argument", `\boxed`, "", false},
		{"letters after", `\boxedx{5}`, "", false},
		{"none", "plain", "", false},
		{"empty", `\boxed{}`, "", true},
		{"double backslash then close", `\boxed{a\\}`, `a\\`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractBoxed(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ExtractBoxed(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestExtractNumber(t *testing.T) {
	tests := []struct {
		name, in string
		want     float64
		text     string
		ok       bool
	}{
		{"integer", "42", 42, "42", true},
		{"last number", "3 apples and 5 pears", 5, "5", true},
		{"thousands decimal", "total 1,234.50", 1234.5, "1,234.50", true},
		{"dollar", "It costs $18.", 18, "$18", true},
		{"negative", "x = -7", -7, "-7", true},
		{"negative dollar", "loss of -$5", -5, "-$5", true},
		{"unicode minus", "−3", -3, "−3", true},
		{"binary minus", "10-3", 3, "3", true},
		{"fraction", "Final Answer: 3/4", 0.75, "3/4", true},
		{"fraction spaced", "3 / 4", 0.75, "3 / 4", true},
		{"latex fraction", `Final Answer: \frac{1}{4}`, 0.25, "1/4", true},
		{"percent", "Final Answer: 50%", 50, "50", true},
		{"units", "Final Answer: 12 cm", 12, "12", true},
		{"hashes beat last", "#### 72\nThat was 5 steps", 72, "72", true},
		{"final answer beats last", "Final Answer: 8\n(checked 3 times)", 8, "8", true},
		{"after equals", "Final Answer: 2 + 3 = 5", 5, "5", true},
		{"first on line", "Final Answer: 18 (9*2)", 18, "18", true},
		{"declared without number", "Final Answer: none\n5", 0, "", false},
		{"leading dot", "about .5", 0.5, ".5", true},
		{"exponent", "6.02e23", 6.02e23, "6.02e23", true},
		{"version string", "v1.2.3", 1.2, "1.2", true},
		{"tuple", "(1,2)", 2, "2", true},
		{"bad grouping", "1234,567", 567, "567", true},
		{"division by zero", "5/0", 0, "0", true},
		{"overflow skipped", "1e999", 0, "", false},
		{"no number", "none", 0, "", false},
		{"negative zero", "-0", 0, "-0", true},
		{"boxed", `\boxed{1,000}`, 1000, "1,000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, text, ok := ExtractNumber(tt.in)
			if got != tt.want || text != tt.text || ok != tt.ok {
				t.Errorf("ExtractNumber(%q) = %v, %q, %v; want %v, %q, %v", tt.in, got, text, ok, tt.want, tt.text, tt.ok)
			}
		})
	}
}

func TestExtractChoice(t *testing.T) {
	choices := []string{"Paris", "London", "Rome", "Berlin"}
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"final answer letter", "Final Answer: B", "B", true},
		{"final answer paren", "Final Answer: (C)", "C", true},
		{"final answer lowercase", "Final Answer: d", "D", true},
		{"final answer with text", "Final Answer: B) London", "B", true},
		{"final answer dot text", "Final Answer: C. Rome", "C", true},
		{"final answer option", "Final Answer: option A", "A", true},
		{"final answer choice text", "Final Answer: Rome", "C", true},
		{"final answer out of range", "Final Answer: E", "E", true},
		{"final answer bold", "**Final Answer:** **B**", "B", true},
		{"answer is paren", "Thus the answer is (b).", "B", true},
		{"answer is bare", "The answer is C.", "C", true},
		{"answer colon", "answer: D", "D", true},
		{"answer is lowercase word", "The answer is a bit unclear. **C**", "C", true},
		{"answer is lowercase end", "so the answer is b.", "B", true},
		{"bold", "I pick **A** here", "A", true},
		{"line paren", "Let me see.\nB) London is right", "B", true},
		{"lone letter line", "Thinking...\nC\n", "C", true},
		{"lone letter paren", "Thinking...\n(D).", "D", true},
		{"last line option text", "Thinking...\nlondon.", "B", true},
		{"boxed letter", `So \boxed{C}`, "C", true},
		{"nothing", "I do not know", "", false},
		{"declared letter not in set", "The answer is F", "F", true},
		{"bold letter not in set", "**F**", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractChoice(tt.in, "ABCD", choices)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ExtractChoice(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNormalizeMath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\dfrac{1}{2}`, `\frac{1}{2}`},
		{`\tfrac12`, `\frac{1}{2}`},
		{`\frac1{2}`, `\frac{1}{2}`},
		{`\left( 1, 2 \right)`, `(1,2)`},
		{`\leftarrow`, `\leftarrow`},
		{`5\text{ cm}`, `5`},
		{`\textbf{yes}`, `yes`},
		{`x = 5`, `5`},
		{`5.0`, `5`},
		{`5.`, `5`},
		{`$10$`, `10`},
		{`1,000`, `1000`},
		{`(1,2)`, `(1,2)`},
		{`90^\circ`, `90`},
		{`50\%`, `50`},
		{`3\!\,\;x`, `3x`},
		{`\text{unclosed`, `{unclosed`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := normalizeMath(tt.in); got != tt.want {
				t.Errorf("normalizeMath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
