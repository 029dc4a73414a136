#!/usr/bin/env bash
# Throughput of `dars sample` against the fast local fake endpoint
# (bench/fakeserver), without and with injected faults.
#
#   bash bench/throughput/run.sh [SIZES] [FAULTS]
#
# SIZES is a space-separated list of query counts (default "5000 20000":
# x 2 variants x 5 samples = 50,000 and 200,000 samples); FAULTS is the
# fake's fault flags for the second pass (default 20% 429, 5% 5xx, 1%
# malformed; "none" skips the pass). One openai model, concurrency 256,
# max_attempts 10, once with n: off (one sample per request) and once with
# n: 5 (one request per variant). Needs go, jq and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=${1:-"5000 20000"}
faults=${2:-"-p429 0.2 -p5xx 0.05 -pmalformed 0.01"}
for tool in jq /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 2; }
done

work=$(mktemp -d)
fake_pid=
cleanup() {
	if [[ -n $fake_pid ]]; then kill -TERM "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/dars" ./cmd/dars
go build -o "$work/fakeserver" ./bench/fakeserver
go build -o "$work/simdata" ./bench/simdata

# start_fake FLAGS...: start the fake on a free loopback port; sets $url.
start_fake() {
	rm -f "$work/addr" "$work/stats.json"
	"$work/fakeserver" -addr 127.0.0.1:0 -addr-file "$work/addr" -stats "$work/stats.json" "$@" >/dev/null &
	fake_pid=$!
	for _ in $(seq 100); do [[ -s $work/addr ]] && break; sleep 0.05; done
	[[ -s $work/addr ]] || { echo "run.sh: the fake server did not start" >&2; exit 1; }
	url=$(cat "$work/addr")
}

# stop_fake: SIGTERM the fake; it writes stats.json and exits.
stop_fake() {
	kill -TERM "$fake_pid"
	wait "$fake_pid" || true
	fake_pid=
}

# one LABEL QUERIES N FAULTFLAGS...: one measured `dars sample`.
one() {
	local label=$1 queries=$2 n=$3
	shift 3
	local dir=$work/$label
	"$work/simdata" -dir "$dir" -queries "$queries" -variants 2 -models 1 -samples 5 >/dev/null
	start_fake "$@"
	cat >"$dir/dars.yaml" <<EOF
run: bench
out: out
seed: 7
dataset:
  path: questions.jsonl
  fields: {id: id, question: question, answer: answer, variants: variants}
prompt:
  template: "{{.Question}}\n\nEnd with a line 'Final Answer: <answer>'."
sampling: {samples: 5, max_tokens: 256}
models:
  - name: fake
    provider: openai
    base_url: $url
    model: fake-model
    concurrency: 256
    n: "$n"
    max_attempts: 10
    timeout: 30s
    price: {input_per_mtok: 0.10, output_per_mtok: 0.30}
judges:
  - {name: answer, type: numeric}
EOF
	local rc=0
	/usr/bin/time -f "%e %U %S %M" -o "$dir/time" "$work/dars" sample -c "$dir/dars.yaml" --quiet 2>"$dir/stderr" || rc=$?
	stop_fake
	local m=$dir/out/bench/manifest.json
	# GNU time puts "Command exited with non-zero status N" before its line.
	read -r wall user sys rss < <(tail -n 1 "$dir/time")
	local planned stored errors sample_s requests retries
	planned=$(jq '.counts.samples_planned' "$m")
	stored=$(jq '.counts.generations - .counts.generation_errors' "$m")
	errors=$(jq '.counts.generation_errors' "$m")
	sample_s=$(jq '.timings_seconds.sample' "$m")
	requests=$(jq '.requests' "$work/stats.json")
	retries=$(jq '[.last_sample.models[].retries] | add' "$m")
	local dups dupsmp
	dups=$(jq '.duplicate_requests' "$work/stats.json")
	dupsmp=$(jq '.duplicate_samples' "$work/stats.json")
	awk -v label="$label" -v rc="$rc" -v planned="$planned" -v stored="$stored" -v errors="$errors" \
		-v wall="$wall" -v user="$user" -v sys="$sys" -v rss="$rss" -v ss="$sample_s" \
		-v req="$requests" -v retries="$retries" -v dups="$dups" -v dupsmp="$dupsmp" 'BEGIN {
		printf "%-16s exit %d  stored %d/%d (errors %d)  sample stage %.1f s: %.0f samples/s, %.0f requests/s  wall %.1f s  CPU %.2f s/1k samples  peak RSS %.0f MiB  requests %d  retries %d  duplicates %d requests, %d samples\n",
			label, rc, stored, planned, errors, ss, stored / ss, req / ss, wall, (user + sys) * 1000 / stored, rss / 1024, req, retries, dups, dupsmp
	}'
	if [[ $rc -ne 0 ]]; then sed 's/^/    /' "$dir/stderr" | tail -3; fi
	rm -rf "$dir"
}

echo "dars sample against bench/fakeserver: 1 model, concurrency 256, samples 5, max_attempts 10 ($(nproc) cores, $(go env GOVERSION))"
for q in $sizes; do
	one "n=1 $((q * 10 / 1000))k" "$q" off
	one "n=5 $((q * 10 / 1000))k" "$q" 5
done
if [[ $faults != none ]]; then
	echo "with faults: $faults"
	for q in $sizes; do
		# shellcheck disable=SC2086 # the fault flags are words
		one "faults n=1 $((q * 10 / 1000))k" "$q" off $faults
		# shellcheck disable=SC2086
		one "faults n=5 $((q * 10 / 1000))k" "$q" 5 $faults
	done
fi
