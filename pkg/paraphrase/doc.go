// Package paraphrase is the input side of dars as pure logic: the
// rewriter's instructions for each task kind, the messages that ask a
// model for meaning-preserving rewrites of a benchmark query, the parsing
// of its JSON answer, and the filters that keep or reject each rewrite
// with a recorded reason. An optional verifier model is asked, through
// VerifyMessages and ParseVerdict, whether a rewrite still asks the same
// question with the same answer.
//
// The package does no I/O and calls no model: the paraphrase stage sends
// the messages through the rewriter's scheduler, stores what comes back,
// and hands the answers to ParseRewrites and Filter. Every function is
// deterministic, so the rendered messages, and hence the generation keys
// of rewrite calls, are stable across runs.
//
// The filters are conservative by design: a false reject costs one more
// call to the rewriter, while a false keep puts a rewrite with a different
// answer, or with the answer in it, into every label of the query.
// docs/paraphrase.md explains the kinds, the rules and the reasons for users.
package paraphrase
