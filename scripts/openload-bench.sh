#!/usr/bin/env bash
# openload's own ceiling and timing error on this machine; figures, not a test.
#
# orderd (one I/O thread) is pinned to CPU 1, the generator to CPU 0, everything under
# nice so other work on the machine keeps its share.
#  1. wrk -t1 -c$CONNS, closed loop, GET /api/products/1: W req/s (median of ROUNDS).
#  2. openload --threads 1 --cpu 0 --connections $CONNS at rising rates (tenths of W,
#     then two bisection steps): the highest rate at which it keeps the schedule — every
#     request completed, none dropped, no error, send-lag p99 within BENCH_LAG_LIMIT — is its
#     ceiling; printed as a ratio to W.
#  3. The send-lag distribution (actual - scheduled send) at 50% and 90% of the ceiling.
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (4), BENCH_CONNECTIONS (64), BENCH_SPIN
# (openload's spin option, 0), BENCH_NICE (10), BENCH_LAG_LIMIT (the send-lag p99 that
# still keeps the schedule, 1ms).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-4}
CONNS=${BENCH_CONNECTIONS:-64}
SPIN=${BENCH_SPIN:-0}
LAG_LIMIT=${BENCH_LAG_LIMIT:-1ms}
GEN_CPU=0
SERVER_CPU=1
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; echo "note: one CPU only; server and generator share it" >&2; }
NICE=(nice -n "${BENCH_NICE:-10}")

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"${NICE[@]}" taskset -c $SERVER_CPU "$BUILD/orderd" --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 \
  --io-threads 1 --log-level warn > "$tmp/orderd.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/orderd.out" && break; sleep 0.05; done
port=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/orderd.out")
[ -n "$port" ] || { echo "openload-bench: orderd did not start" >&2; exit 1; }
url="http://127.0.0.1:$port/api/products/1"

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "== wrk closed loop: $ROUNDS x ${SECS}s, -t1 -c$CONNS on CPU $GEN_CPU, orderd on CPU $SERVER_CPU"
for _ in $(seq "$ROUNDS"); do
  "${NICE[@]}" taskset -c $GEN_CPU wrk -t1 -c"$CONNS" -d"${SECS}s" "$url" | awk '/Requests\/sec/ {print $2}'
done > "$tmp/wrk"
W=$(median < "$tmp/wrk")
printf 'wrk: %.0f req/s (median; runs: %s)\n' "$W" "$(tr '\n' ' ' < "$tmp/wrk")"

# openload_at RATE: one run; prints "ok|miss achieved dropped errors lag_p50 lag_p99 lag_max p99"
openload_at() {
  "${NICE[@]}" "$BUILD/openload" --target "127.0.0.1:$port" --rate "$1/s" --duration "${SECS}s" \
    --threads 1 --cpu $GEN_CPU --connections "$CONNS" --max-in-flight 100000 --timeout 5s --spin "$SPIN" --lag-limit "$LAG_LIMIT" \
    --request 'GET /api/products/1' > "$tmp/ol.json"
  python3 - "$tmp/ol.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
lag = d["send_lag_us"]
ok = (d["completed"] == d["scheduled"] and d["dropped"] == 0 and d["errors"] == 0
      and lag["p99"] <= d["lag_limit_us"] and d["achieved_rate"] >= 0.99 * d["asked_rate"])
print("ok" if ok else "miss", round(d["achieved_rate"]), d["dropped"], d["errors"],
      lag["p50"], lag["p99"], lag["max"], d["latency_us"]["p99"])
EOF
}

echo "== openload: constant rate, --threads 1 on CPU $GEN_CPU, $CONNS connections, spin $SPIN, lag limit $LAG_LIMIT, ${SECS}s per rate"
printf '%10s %6s %10s %8s %7s %9s %9s %9s %12s\n' rate keeps achieved dropped errors lag_p50us lag_p99us lag_maxus latency_p99us
# try RATE: kept when one of two runs keeps it (other work on the machine only ever
# makes a run miss, never makes it keep a schedule it could not).
try() {
  local rate=$1 line
  for _ in 1 2; do
    line=$(openload_at "$rate")
    printf '%10d %6s %10s %8s %7s %9s %9s %9s %12s\n' "$rate" $line
    [ "${line%% *}" = ok ] && return 0
  done
  return 1
}
pass=0 fail=0
for f in 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0 1.1 1.2; do
  rate=$(awk -v w="$W" -v f="$f" 'BEGIN {printf "%d", w * f}')
  if try "$rate"; then pass=$rate; else fail=$rate; break; fi
done
if [ "$fail" -gt 0 ] && [ "$pass" -gt 0 ]; then
  for _ in 1 2; do
    mid=$(( (pass + fail) / 2 ))
    if try "$mid"; then pass=$mid; else fail=$mid; fi
  done
fi
[ "$pass" -gt 0 ] || { echo "openload kept no schedule even at a tenth of wrk's rate"; exit 1; }
printf 'ceiling: %d req/s kept on schedule = %.2f x wrk closed loop (%.0f req/s)\n' "$pass" \
  "$(awk -v a="$pass" -v b="$W" 'BEGIN {print a / b}')" "$W"

echo "== send lag at 50% and 90% of the ceiling (${SECS}s each)"
printf '%10s %6s %10s %8s %7s %9s %9s %9s %12s\n' rate keeps achieved dropped errors lag_p50us lag_p99us lag_maxus latency_p99us
for f in 0.5 0.9; do
  openload_at "$(awk -v c="$pass" -v f="$f" 'BEGIN {printf "%d", c * f}')" > "$tmp/line"
  printf '%10d %6s %10s %8s %7s %9s %9s %9s %12s\n' "$(awk -v c="$pass" -v f="$f" 'BEGIN {printf "%d", c * f}')" $(cat "$tmp/line")
done
