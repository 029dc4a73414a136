package paraphrase

// Query is what the rewriter sees of one data-set item.
type Query struct {
	ID       string
	Question string   // the text to rewrite: a multiple-choice item's stem only, a reading item's question only
	Answer   string   // the gold answer: shown to the rewriter for consistency only; read by the leak filter
	Choices  []string // the options of a multiple-choice item, in letter order: never rewritten
	Context  string   // a reading item's passage: never rewritten; shown cut to PassageLimit
	Kind     Kind     // the rewriter's rules; "" or an unknown kind is KindOpen
}
