#!/usr/bin/env bash
# openload's own ceiling and timing error on this machine; figures, not a test.
#
# orderd (one I/O thread) is pinned to SERVER_CPU, the load (wrk or openload, one thread)
# to GEN_CPU, with taskset. Each of BENCH_ROUNDS rounds runs the contenders one after
# the other against the same server, so that a slower spell of a shared machine falls on
# both, and every openload figure is a ratio to wrk in the same round:
#  1. wrk -t1 -c$CONNS, closed loop, GET /api/products/1: W req/s.
#  2. openload --threads 1 --connections $CONNS at rising rates (BENCH_FROM of W, then
#     tenths of W, then two bisection steps; halved when the first misses): the highest rate at which it keeps the
#     schedule (every request completed, none dropped, no error, achieved rate within
#     1% of the asked one, send-lag p99 within BENCH_LAG_LIMIT) while the server keeps
#     up (BENCH_KEEPUP of the requests completed before the schedule's end: past the
#     server's capacity they pile up and would only complete in the drain; a share,
#     not a latency bound, so that a short stall of a shared machine does not count)
#     is its ceiling C; C / W.
#     A rate counts as kept when one of two runs keeps it: other work on the machine
#     only ever makes a run miss, never makes it keep a schedule it could not.
#  3. The send-lag distribution (actual - scheduled send) at 50% and 90% of C.
# Each run's CPU time per completed request (user + system, microseconds) is printed
# too: when the server, not the load, sets the ceiling (wrk -t1 uses well under a core
# against orderd), the CPU cost per request is what compares the two generators, and
# 1e6 / cost is the rate one core of load could carry.
# At the end: the median of each figure over the rounds with its min-max range.
#
# Environment: BENCH_OPENLOAD (the generator's binary, $BUILD/openload), BENCH_ROUNDS
# (3), BENCH_SECONDS (4), BENCH_CONNECTIONS (64), BENCH_SPIN and BENCH_SLACK
# (openload's spin and slack options, 0), BENCH_LAG_LIMIT (the send-lag p99 that still
# keeps the schedule, 1ms), BENCH_KEEPUP (0.97), BENCH_FROM (the first fraction of W
# tried, 0.3), BENCH_GEN_CPU (0), BENCH_SERVER_CPU (1), BENCH_NICE (niceness of
# everything, 0), BENCH_RT (1: run the
# load, wrk and openload alike, under SCHED_FIFO with chrt -f 10, so that other work on
# a shared machine does not preempt it; the kernel's RT throttling still leaves that
# core 5% for others. The server keeps the ordinary policy).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OPENLOAD=${BENCH_OPENLOAD:-$BUILD/openload}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-4}
CONNS=${BENCH_CONNECTIONS:-64}
SPIN=${BENCH_SPIN:-0}
SLACK=${BENCH_SLACK:-0}
SLACK_OPT=()
[ "$SLACK" = 0 ] || SLACK_OPT=(--slack "$SLACK")
LAG_LIMIT=${BENCH_LAG_LIMIT:-1ms}
KEEPUP=${BENCH_KEEPUP:-0.97}
FROM=${BENCH_FROM:-0.3}
GEN_CPU=${BENCH_GEN_CPU:-0}
SERVER_CPU=${BENCH_SERVER_CPU:-1}
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; GEN_CPU=0; echo "note: one CPU only; server and load share it" >&2; }
NICE=(nice -n "${BENCH_NICE:-0}")
LOAD=("${NICE[@]}" taskset -c "$GEN_CPU")
[ "${BENCH_RT:-0}" = 1 ] && LOAD=(chrt -f 10 taskset -c "$GEN_CPU")

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"${NICE[@]}" taskset -c "$SERVER_CPU" "$BUILD/orderd" --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 \
  --io-threads 1 --log-level warn > "$tmp/orderd.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/orderd.out" && break; sleep 0.05; done
port=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/orderd.out")
[ -n "$port" ] || { echo "openload-bench: orderd did not start" >&2; exit 1; }
url="http://127.0.0.1:$port/api/products/1"

TIMEFORMAT='%U %S'
# cpu_us_per REQUESTS: the CPU time of the last timed run (in $tmp/time) per request
cpu_us_per() { awk -v n="$1" '{printf "%.2f", (n > 0 ? ($1 + $2) * 1e6 / n : 0)}' "$tmp/time"; }

# openload_at RATE: one run; prints "ok|miss achieved dropped errors lag_p50 lag_p99
# lag_max latency_p99 completed"
openload_at() {
  { time "${LOAD[@]}" "$OPENLOAD" --target "127.0.0.1:$port" --rate "$1/s" --duration "${SECS}s" \
    --threads 1 --connections "$CONNS" --max-in-flight 100000 --timeout 5s --spin "$SPIN" ${SLACK_OPT[@]+"${SLACK_OPT[@]}"} \
    --lag-limit "$LAG_LIMIT" --request 'GET /api/products/1' > "$tmp/ol.json"; } 2> "$tmp/time"
  python3 - "$tmp/ol.json" "$KEEPUP" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
lag = d["send_lag_us"]
in_time = sum(w["completed"] for w in d["windows"] if w["t"] < d["duration_s"])
ok = (d["completed"] == d["scheduled"] and d["dropped"] == 0 and d["errors"] == 0
      and lag["p99"] <= d["lag_limit_us"] and d["achieved_rate"] >= 0.99 * d["asked_rate"]
      and in_time >= float(sys.argv[2]) * d["scheduled"])
print("ok" if ok else "miss", round(d["achieved_rate"]), d["dropped"], d["errors"],
      lag["p50"], lag["p99"], lag["max"], d["latency_us"]["p99"], d["completed"])
EOF
}

row() { printf '%5s %-9s %8s %5s %9s %7s %6s %9s %9s %9s %12s %10s\n' "$@"; }
# run_openload ROUND WHAT RATE: one run, its row printed; leaves its fields in line,
# the last one its CPU time per request
run_openload() {
  line=$(openload_at "$3")
  line="${line% *} $(cpu_us_per "${line##* }")"
  row "$1" "$2" "$3" $line
}
# try ROUND WHAT RATE: kept when one of two runs keeps it
try() {
  for _ in 1 2; do
    run_openload "$@"
    [ "${line%% *}" = ok ] && return 0
  done
  return 1
}
frac() { awk -v a="$1" -v f="$2" 'BEGIN {printf "%d", a * f}'; }

echo "== orderd on CPU $SERVER_CPU; load on CPU $GEN_CPU$([ "${BENCH_RT:-0}" = 1 ] && echo ' (SCHED_FIFO)'); $ROUNDS rounds;" \
  "${SECS}s per run; $CONNS connections; openload spin $SPIN slack $SLACK, ceiling lag limit $LAG_LIMIT"
row round run rate keeps achieved dropped errors lag_p50us lag_p99us lag_maxus latency_p99us cpu_us/req
: > "$tmp/rounds"
for round in $(seq "$ROUNDS"); do
  { time "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${SECS}s" "$url" > "$tmp/wrk"; } 2> "$tmp/time"
  W=$(awk '/Requests\/sec/ {printf "%d", $2}' "$tmp/wrk")
  wrk_cpu=$(cpu_us_per "$(awk '/requests in/ {print $1}' "$tmp/wrk")")
  row "$round" wrk - - "$W" - - - - - - "$wrk_cpu"
  pass=0 fail=0
  for f in $FROM $(awk -v from="$FROM" 'BEGIN {for (f = 0.1; f < 1.25; f += 0.1) if (f > from + 0.01) print f}'); do
    rate=$(frac "$W" "$f")
    if try "$round" ceiling "$rate"; then pass=$rate; else fail=$rate; break; fi
  done
  # the first rate missed (a slow spell of the server): halve it, at most twice
  for _ in 1 2; do
    [ "$pass" -eq 0 ] && [ "$fail" -gt 0 ] || break
    if try "$round" ceiling "$(( fail / 2 ))"; then pass=$(( fail / 2 )); else fail=$(( fail / 2 )); fi
  done
  if [ "$fail" -gt 0 ] && [ "$pass" -gt 0 ]; then
    for _ in 1 2; do
      mid=$(( (pass + fail) / 2 ))
      if try "$round" ceiling "$mid"; then pass=$mid; else fail=$mid; fi
    done
  fi
  lag50="0 0 0 0" lag90="0 0 0 0"
  if [ "$pass" -gt 0 ]; then
    run_openload "$round" lag@50% "$(frac "$pass" 0.5)"
    lag50=$(echo "$line" | awk '{print $5, $6, $7, $9}')
    run_openload "$round" lag@90% "$(frac "$pass" 0.9)"
    lag90=$(echo "$line" | awk '{print $5, $6, $7, $9}')
  fi
  echo "$W $pass $(awk -v c="$pass" -v w="$W" 'BEGIN {printf "%.3f", c / w}') $lag50 $lag90 $wrk_cpu" \
    "$(echo "$lag90" | awk -v w="$wrk_cpu" '{printf "%.3f", ($4 > 0 ? w / $4 : 0)}')" >> "$tmp/rounds"
done

# summary NAME COLUMN: median [min-max] of a column of the rounds
summary() {
  awk -v col="$2" '{print $col}' "$tmp/rounds" | sort -g |
    awk -v name="$1" '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
      printf "%-32s %10g  [%g - %g]\n", name, m, a[1], a[NR]}'
}
echo "== over $ROUNDS rounds: median [min - max]"
summary "wrk closed loop, req/s" 1
summary "openload ceiling, req/s" 2
summary "ceiling / wrk (same round)" 3
summary "send lag p50 at 50% of ceiling, us" 4
summary "send lag p99 at 50% of ceiling, us" 5
summary "send lag max at 50% of ceiling, us" 6
summary "CPU per request at 50%, us" 7
summary "send lag p50 at 90% of ceiling, us" 8
summary "send lag p99 at 90% of ceiling, us" 9
summary "send lag max at 90% of ceiling, us" 10
summary "CPU per request at 90%, us" 11
summary "wrk CPU per request, us" 12
summary "wrk / openload CPU per request at 90%" 13
