#!/usr/bin/env bash
# Wall time and peak RSS of `dars run` on the simulator, and the labels'
# interval coverage against the simulator's truth.
#   bash bench/sim_run.sh [QUERIES] [VARIANTS] [MODELS] [SAMPLES]
# Defaults: 1000 queries x 3 variants x 4 models x 5 samples = 60,000 generations.
# DARS=path runs that binary instead of one built from this tree (to compare
# two versions on the same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
q=${1:-1000} v=${2:-3} m=${3:-4} s=${4:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -n ${DARS:-} ]]; then
	cp "$DARS" "$work/dars"
else
	go build -o "$work/dars" ./cmd/dars
fi
go run ./bench/simdata -dir "$work/run" -queries "$q" -variants "$v" -models "$m" -samples "$s"
echo "dars run: $q queries x $v variants x $m models x $s samples = $((q * v * m * s)) generations"
/usr/bin/time -f "wall %e s  peak RSS %M KiB  user %U s  sys %S s" "$work/dars" run -c "$work/run/dars.yaml" --quiet
echo "second run (nothing to pay for):"
/usr/bin/time -f "wall %e s  peak RSS %M KiB" "$work/dars" run -c "$work/run/dars.yaml" --quiet
go run ./bench/coverage "$work/run/out/bench"
