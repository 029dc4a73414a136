#!/usr/bin/env bash
# Rewrites per second: dars paraphrase against bench/fakeserver (answers at
# once, no faults), QUERIES queries (default 2,000) asking COUNT rewrites
# each (default 3: one rewriter call per query), concurrency 64.
#
#   bash bench/paraphrase.sh [QUERIES] [COUNT]
#
# Prints the stage's wall time, calls/s and rewrites kept/s, dars's CPU and
# peak RSS. Needs go and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
queries=${1:-2000}
count=${2:-3}
work=$(mktemp -d)
fake_pid=
cleanup() {
	if [[ -n $fake_pid ]]; then kill -TERM "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/dars" ./cmd/dars
go build -o "$work/fakeserver" ./bench/fakeserver
go run ./bench/simdata -dir "$work/run" -queries "$queries" -variants 1 -models 1 -samples 1 >/dev/null
"$work/fakeserver" -addr 127.0.0.1:0 -addr-file "$work/addr" -stats "$work/stats.json" >/dev/null &
fake_pid=$!
for _ in $(seq 100); do [[ -s $work/addr ]] && break; sleep 0.05; done
url=$(cat "$work/addr")
cat >"$work/run/dars.yaml" <<RUNFILE
run: para
dataset:
  path: questions.jsonl
  fields: {id: id, question: question, answer: answer}
paraphrase: {count: $count, model: rewriter}
sampling: {samples: 1, max_tokens: 64}
models:
  - {name: cand, provider: sim, skill: 1}
  - {name: rewriter, provider: openai, base_url: "$url", model: fake-rewriter, candidate: false, concurrency: 64, timeout: 30s}
judges:
  - {name: answer, type: numeric}
RUNFILE
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$work/dars" paraphrase -c "$work/run/dars.yaml" --quiet
read -r wall user sys rss <"$work/time"
kept=$(jq '.rewrites.kept' "$work/run/out/para/manifest.json")
stage=$(jq '.timings_seconds.paraphrase' "$work/run/out/para/manifest.json")
awk -v q="$queries" -v k="$kept" -v s="$stage" -v w="$wall" -v u="$user" -v y="$sys" -v r="$rss" 'BEGIN {
	printf "%d queries, %d rewrites kept: stage %.2f s (%.0f calls/s, %.0f rewrites/s); wall %.2f s, CPU %.2f s, peak RSS %d MiB\n",
		q, k, s, q / s, k / s, w, u + y, r / 1024 }'
