#!/usr/bin/env bash
# duetload's noise and cost on this machine; figures, not a test.
#
# Two orderds of the same build (--io-threads 1), both pinned to SERVER_CPU, and the
# load pinned to GEN_CPU with taskset:
#  1. Noise: DUET_PAIRS rounds; in each, for every slice length of DUET_SLICES_MS a pair
#     of duetload slices, one on each orderd, and a pair of wrk -d1s runs (how abrun
#     loads a slice today), alternating AB and BA; for each, the sd of log(throughput A
#     / throughput B) over the pairs. Both are the same build, so all of it is noise;
#     the contenders take turns within a round, so a busy spell of a shared machine
#     falls on all of them. The same for the orderds' CPU time per request (from their
#     threads' schedstat), which the share of the CPU other work leaves them changes far
#     less. Each pair's figures are left in $BUILD/duet-noise-pairs.txt.
#  2. Cost: one orderd loaded alone for DUET_SECONDS, by duetload (1 s slices) and by
#     wrk -t$THREADS -c$CONNS -d${DUET_SECONDS}s, by turns for DUET_COST_ROUNDS (3)
#     rounds: requests/s, the generator's own CPU time (user + system) per request, and
#     the share of its CPU the orderd used meanwhile (near 100%: the server, not the
#     generator, is the bottleneck).
# GET /api/products/7, DUET_CONNECTIONS (32) connections on DUET_THREADS (2) threads.
# Environment: DUET_SLICES_MS ("250,500,1000"), DUET_PAIRS (40), DUET_SECONDS (5),
# DUET_SERVER_CPU (0), DUET_GEN_CPU (1), DUET_NICE (niceness of the orderds and the
# load, 0; a negative one keeps other work on a shared machine from setting the noise).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SLICES=${DUET_SLICES_MS:-250,500,1000}
PAIRS=${DUET_PAIRS:-40}
SECS=${DUET_SECONDS:-5}
COST_ROUNDS=${DUET_COST_ROUNDS:-3}
CONNS=${DUET_CONNECTIONS:-32}
THREADS=${DUET_THREADS:-2}
SERVER_CPU=${DUET_SERVER_CPU:-0}
GEN_CPU=${DUET_GEN_CPU:-1}
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; GEN_CPU=0; echo "note: one CPU only; servers and load share it" >&2; }

NICE=(nice -n "${DUET_NICE:-0}")
make --no-print-directory -j2 "$BUILD/orderd" "$BUILD/tests/bench/duet_noise" >/dev/null
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# start_orderd NAME: starts one, its public port in $port (not in a subshell, so that
# its pid stays in pids for the cleanup)
start_orderd() {
  "${NICE[@]}" taskset -c "$SERVER_CPU" "$BUILD/orderd" --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 \
    --io-threads 1 --log-level warn > "$tmp/$1.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$tmp/$1.out" && break; sleep 0.05; done
  port=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/$1.out")
}
# server_ticks: orderd a's CPU time so far (user + system), in clock ticks
server_ticks() { awk '{print $14 + $15}' "/proc/${pids[0]}/stat"; }
start_orderd a
a=$port
start_orderd b
b=$port
[ -n "$a" ] && [ -n "$b" ] || { echo "duet-noise: orderd did not start" >&2; exit 1; }

"${NICE[@]}" "$BUILD/tests/bench/duet_noise" noise "127.0.0.1:$a" "127.0.0.1:$b" "$SLICES" "$PAIRS" "$CONNS" "$THREADS" \
  "$GEN_CPU" 1 "${pids[0]}" "${pids[1]}" > "$BUILD/duet-noise-pairs.txt"
grep -v '^pair' "$BUILD/duet-noise-pairs.txt"

TIMEFORMAT='%U %S'
for round in $(seq "$COST_ROUNDS"); do
  echo "cost, round $round:"
  t0=$(server_ticks)
  "${NICE[@]}" "$BUILD/tests/bench/duet_noise" rate "127.0.0.1:$a" "$SECS" "$CONNS" "$THREADS" "$GEN_CPU"
  t1=$(server_ticks)
  { time "${NICE[@]}" taskset -c "$GEN_CPU" wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$a/api/products/7" \
      > "$tmp/wrk.out"; } 2> "$tmp/time"
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk.out")
  awk -v n="$requests" -v s="$SECS" '{printf "wrk: %.0f requests/s, CPU %.2f s = %.2f us a request (%.0f%% of one CPU)\n",
    n / s, $1 + $2, ($1 + $2) * 1e6 / n, 100 * ($1 + $2) / s}' "$tmp/time"
  t2=$(server_ticks)
  awk -v a="$((t1 - t0))" -v b="$((t2 - t1))" -v s="$SECS" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "orderd CPU: %.0f%% of one CPU under duetload (drains and warm-up included), %.0f%% under wrk\n",
            100 * a / hz / (s + 0.5), 100 * b / hz / s}'
done
