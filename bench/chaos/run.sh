#!/usr/bin/env bash
# Chaos: kill -9 dars at random points of every stage against the fault
# server, then check that nothing was lost, nothing paid twice beyond the
# requests in flight, no temp file was left, and DuckDB reads the outputs.
#
#   bash bench/chaos/run.sh [KILLS_PER_STAGE] [FAULT FLAGS]
#
# Defaults: 6 kills per stage; faults -p429 0.2 -p5xx 0.05 -pmalformed 0.01.
# Workload: 200 queries x (the original, 1 given variant and 3 rewrites
# written by a rewriter on the fake) x 5 samples (5,000 samples, n off) of
# one openai model on bench/fakeserver (concurrency 16, max_attempts 10),
# judged by a numeric judge and an llm judge on the same fake (5,000
# calls). Each stage (dars paraphrase, dars sample, dars judge, dars
# labels, then dars run with everything stored) is killed KILLS times at a random moment within
# a window about as long as the stage takes undisturbed, then run to the
# end. Checks:
#   - every query with its 4 variants, each once, every kept rewrite of the
#     log a variant and the reverse; every planned sample and every
#     (sample, judge) verdict exactly once (bench/chaos/verify), labels for
#     every pair;
#   - overpay: requests the fake answered twice (same prompt and seed) at
#     most the requests in flight at the kills (kills x concurrency);
#   - no *.tmp-* file left;
#   - DuckDB reads every file (.ci/interop/check.mjs; needs node and npm).
# Needs go, jq, node/npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
kills=${1:-6}
faults=${2:-"-p429 0.2 -p5xx 0.05 -pmalformed 0.01"}
work=$(mktemp -d)
fake_pid=
cleanup() {
	if [[ -n $fake_pid ]]; then kill -TERM "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/dars" ./cmd/dars
go build -o "$work/fakeserver" ./bench/fakeserver
go build -o "$work/verify" ./bench/chaos/verify
go run ./bench/simdata -dir "$work/run" -queries 200 -variants 2 -models 1 -samples 5 >/dev/null
npm ci --prefix .ci/interop --no-audit --no-fund --prefer-offline </dev/null >/dev/null

# shellcheck disable=SC2086 # the fault flags are words
"$work/fakeserver" -addr 127.0.0.1:0 -addr-file "$work/addr" -stats "$work/stats.json" $faults >/dev/null &
fake_pid=$!
for _ in $(seq 100); do [[ -s $work/addr ]] && break; sleep 0.05; done
url=$(cat "$work/addr")
concurrency=16
cat >"$work/run/dars.yaml" <<EOF
run: chaos
out: out
seed: 7
dataset:
  path: questions.jsonl
  fields: {id: id, question: question, answer: answer, variants: variants}
prompt:
  template: "{{.Question}}\n\nEnd with a line 'Final Answer: <answer>'."
sampling: {samples: 5, max_tokens: 64}
models:
  - {name: fake, provider: openai, base_url: "$url", model: fake-model, concurrency: $concurrency, n: "off", max_attempts: 10, timeout: 30s, price: {input_per_mtok: 0.10, output_per_mtok: 0.30}}
  - {name: grader, provider: openai, base_url: "$url", model: fake-grader, candidate: false, concurrency: $concurrency, n: "off", max_attempts: 10, timeout: 30s, price: {input_per_mtok: 0.10, output_per_mtok: 0.30}}
  - {name: rewriter, provider: openai, base_url: "$url", model: fake-rewriter, candidate: false, concurrency: $concurrency, max_attempts: 10, timeout: 30s, price: {input_per_mtok: 0.10, output_per_mtok: 0.30}}
paraphrase: {count: 4, model: rewriter}
judges:
  - {name: answer, type: numeric}
  - {name: rubric, type: llm, model: grader}
EOF
cfg="$work/run/dars.yaml"
total_kills=0

# chaos WINDOW_MS STAGE...: run the command and kill it at a random moment
# within WINDOW_MS, KILLS times (a run that ends first is not counted),
# then run it to the end.
chaos() {
	local window=$1
	shift
	for k in $(seq "$kills"); do
		local at=$((RANDOM % window))
		"$work/dars" "$@" -c "$cfg" --quiet >/dev/null 2>&1 &
		local pid=$!
		sleep "$(awk -v ms="$at" 'BEGIN { printf "%.3f", ms / 1000 }')"
		if kill -9 "$pid" 2>/dev/null; then
			total_kills=$((total_kills + 1))
			printf '  %-6s kill %d at %5d ms\n' "$1" "$k" "$at"
		fi
		wait "$pid" 2>/dev/null || true
	done
	local rc=0
	"$work/dars" "$@" -c "$cfg" --quiet >/dev/null 2>"$work/stderr" || rc=$?
	if ((rc != 0 && rc != 3)); then
		echo "  $1 did not finish after the kills: exit $rc" >&2
		sed 's/^/    /' "$work/stderr" >&2
		exit 1
	fi
}

echo "chaos: $kills kills per stage, faults: $faults"
# Windows: each stage's undisturbed time on this workload (2 cores), so the
# kills fall anywhere in it, export included; a kill after the end is no kill.
chaos 2000 paraphrase
chaos 6000 sample
chaos 6000 judge
chaos 700 labels
chaos 1500 run
"$work/dars" run -c "$cfg" --quiet >/dev/null 2>&1 || true # exit 3 when samples failed for good: still checked
kill -TERM "$fake_pid" && wait "$fake_pid" || true
fake_pid=
dir=$work/run/out/chaos
"$work/verify" "$dir"
dups=$(jq '.duplicate_requests' "$work/stats.json")
requests=$(jq '.requests' "$work/stats.json")
limit=$((total_kills * concurrency * 2)) # two streams' requests (rewriter, candidates, judge) can be in flight at a kill
echo "fake: $requests requests, $dups answered twice; $total_kills kills x $concurrency in flight x 2 streams = at most $limit"
if ((dups > limit)); then
	echo "overpay: $dups duplicate answers is more than the requests in flight at the kills ($limit)" >&2
	exit 1
fi
node .ci/interop/check.mjs "$dir" | tail -2
echo "chaos passed"
