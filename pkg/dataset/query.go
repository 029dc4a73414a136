// Package dataset reads the queries of a run from JSONL, CSV or Parquet,
// through a field mapping or a preset for a common benchmark.
package dataset

// Query is one row of a data set after field mapping.
type Query struct {
	ID       string         // from the id field, else the 1-based row number
	Question string         // the text every variant rewrites
	Answer   string         // the gold answer, normalised by the preset (e.g. the number after "####")
	Answers  []string       // every acceptable gold answer; Answers[0] == Answer when Answer is set
	Choices  []string       // options of a multiple-choice item, in letter order A, B, C, ...
	Context  string         // a passage the question is about (never rewritten)
	Task     string         // the item's task type when the data set gives one
	Variants []string       // rewrites given in the data set: variant ids 1..len(Variants)
	Line     int            // 1-based line (JSONL, CSV) or row (Parquet) in the source file
	Fields   map[string]any // the raw row, for judges that need more (tests, subject)
}
