#!/usr/bin/env bash
# An llm judge over 20,000 generations against a rate-limited endpoint: how
# fast its calls go and how many 429s they meet.
#   bash bench/judge_calls.sh [DARS_BINARY ...]
# Each binary (default: one built from this tree) runs the same workload in
# turn, twice, interleaved: 1000 queries x 2 variants x 2 sim models x 5
# samples judged by an llm judge whose model is bench/fakeserver with
# -rpm 30000 (500 requests/s, a second's burst) and 40 ms latency; the
# judge's model entry has rpm: 30000 and concurrency 64. Requests/s are the
# judge's requests (answered and 429) over the judge stage
# (manifest.json timings_seconds.judge). Needs jq and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
fake_pid=
trap '[[ -n $fake_pid ]] && kill $fake_pid 2>/dev/null; rm -rf "$work"' EXIT
bins=("$@")
if ((${#bins[@]} == 0)); then
	go build -o "$work/dars" ./cmd/dars
	bins=("$work/dars")
fi
go build -o "$work/fakeserver" ./bench/fakeserver
go run ./bench/simdata -dir "$work/data" -queries 1000 -variants 2 -models 2 -samples 5 >/dev/null

for round in 1 2; do
	for bin in "${bins[@]}"; do
		run="$work/run-$round-$(basename "$bin")"
		rm -rf "$run" && cp -r "$work/data" "$run"
		"$work/fakeserver" -addr 127.0.0.1:0 -addr-file "$run/addr" -stats "$run/stats.json" -rpm 30000 -latency 40ms >/dev/null &
		fake_pid=$!
		for _ in $(seq 50); do [[ -s $run/addr ]] && break; sleep 0.1; done
		cat >>"$run/dars.yaml" <<EOF
  - {name: rubric, type: llm, model: grader}
EOF
		# the judge's model: an endpoint, not a candidate
		sed -i "s|^judges:|  - {name: grader, provider: openai, base_url: \"$(cat "$run/addr")\", model: judge, candidate: false, rpm: 30000, concurrency: 64, n: \"off\"}\njudges:|" "$run/dars.yaml"
		/usr/bin/time -f "%e %M" -o "$run/time" "$bin" run -c "$run/dars.yaml" --quiet >/dev/null 2>"$run/stderr" || true
		kill -TERM $fake_pid && wait $fake_pid || true
		fake_pid=
		m="$run/out/bench/manifest.json"
		judge_s=$(jq '.timings_seconds.judge' "$m")
		req=$(jq '.requests' "$run/stats.json")
		limited=$(jq '.limited_429' "$run/stats.json")
		calls=$(jq '[.judge_calls[] | .calls] | add' "$m")
		read -r wall rss <"$run/time"
		printf '%-28s judge stage %6.1f s  %6.0f requests/s  requests %6d  429s %5d  calls stored %6d  wall %5.1f s  peak RSS %4d MiB\n' \
			"$(basename "$bin") #$round" "$judge_s" "$(echo "$req / $judge_s" | bc -l)" "$req" "$limited" "$calls" "$wall" $((rss / 1024))
	done
done
