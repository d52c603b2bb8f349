#!/usr/bin/env bash
# The run-to-run spread of instructions_per_request on this machine (a benchmark, not
# a test): N runs of scenarios/cost-baseline.ini, then the median, min, max and
# spread ((max - min) / median) of the figure, with the counter that counted it.
#
# Environment: CS_N (10), CS_SCENARIO (scenarios/cost-baseline.ini), CS_DB
# (BUILD/cost-spread.db, started afresh), CS_HOG (1: a CPU hog pinned to CPU 0 runs
# beside, `timeout 900 taskset -c 0 sh -c 'while :; do :; done'`, killed by its pid at
# the end; 0: none), BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${CS_N:-10}
SCENARIO=${CS_SCENARIO:-scenarios/cost-baseline.ini}
DB=${CS_DB:-$BUILD/cost-spread.db}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
rm -rf "$DB" "$DB-wal" "$DB-shm" "$DB-logs"
hog=
hogtext=none
if [ "${CS_HOG:-1}" = 1 ]; then
  timeout 900 taskset -c 0 sh -c 'while :; do :; done' &
  hog=$!
  hogtext="timeout taskset -c 0 sh -c 'while :; do :; done' (pid $hog)"
  trap 'kill "$hog" 2>/dev/null || true' EXIT
fi
for i in $(seq "$N"); do
  "$BUILD/loadlab" run --quiet --db "$DB" --label spread "$SCENARIO" > /dev/null
done
echo "instructions_per_request over $N runs of $SCENARIO on $(hostname) ($(nproc) CPUs)," \
     "hog: $hogtext, $(date -u +%Y-%m-%dT%H:%MZ)"
sqlite3 -separator ' ' "$DB" "SELECT counter, value FROM figures WHERE name = 'instructions_per_request' ORDER BY value" |
  awk '{c = $1; v[NR] = $2} END {
    n = NR; med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    printf "counter %s  runs %d  median %.2f  min %.2f  max %.2f  spread %.2g (%.5f%%)\n",
           c, n, med, v[1], v[n], (v[n] - v[1]) / med, 100 * (v[n] - v[1]) / med }'
