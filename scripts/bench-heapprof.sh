#!/usr/bin/env bash
# What the sampled heap profile costs the service: orderd under wrk at --instrument
# metrics, at --instrument profile with heap sampling off (--mem-profile-rate 0), and at
# --instrument profile with the default 512 KiB sampling (always on, as Go's
# MemProfileRate). profile/metrics is the figure the issue budgets (<= 1% throughput);
# profile/profile-rate0 isolates the heap sampler from the rest of "profile" (mutex and
# block sampling). The malloc interposer's fast path runs on every side (it is linked
# into orderd); at metrics and at rate 0 it only forwards. A benchmark, not a test.
#
# orderd is pinned to CPU 0 and wrk (1 thread) to CPU 1. Each round starts one orderd
# per side and measures them back to back, rotating which goes first, so drift on a
# shared machine hits every side alike; per-round ratios against metrics are reported
# as a median with their range, for throughput and CPU time per request (orderd's
# utime+stime over the requests wrk completed). Two workloads: GET of one product (few
# allocations) and POST of orders (a JSON body parsed by jansson and a queued job per
# request: the allocation-heavy path, the sampler's worst case).
#
# Then, when valgrind is installed, the exact figure a shared machine cannot disturb:
# instructions per request under callgrind (counted only over a 5 s load after a
# warm-up), per side, for the POST workload. ORDERD_NOHOOK_BIN, when set, adds a side
# for an orderd built without the interposer (make BUILD=build/nohook
# CFLAGS='-O2 -g -DORDERD_NO_MALLOCHOOK' build/nohook/orderd), which records only
# orders and leak.memory, each with its stack at profile.
# Environment: BENCH_ROUNDS (7), BENCH_SECONDS (5), BENCH_CONNECTIONS (32),
# BENCH_CALLGRIND (1; 0 skips the instruction counts), ORDERD_NOHOOK_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-7}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-32}
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
  "'{\"user_id\":7,\"items\":[{\"product_id\":3,\"qty\":2},{\"product_id\":5,\"qty\":1}]}'" > "$tmp/post.lua"

sides=(metrics profile-rate0 profile)
side_flags() {
  case $1 in
    metrics) echo "--instrument metrics" ;;
    profile-rate0) echo "--instrument profile --mem-profile-rate 0" ;;
    profile) echo "--instrument profile" ;;
  esac
}


# measure SIDE WORKLOAD: start orderd for SIDE, warm up, one wrk run; appends
# "rps cpu_us_per_request" to $tmp/WORKLOAD.SIDE.
measure() {
  local side=$1 workload=$2 public before after
  : > "$tmp/server.out"
  # shellcheck disable=SC2046
  taskset -c $SERVER_CPU "$BUILD/orderd" --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 --io-threads 1 \
    --workers 2 --payment-latency 0 --queue-capacity 100000 --log-level warn $(side_flags "$side") \
    > "$tmp/server.out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$tmp/server.out" && break; sleep 0.05; done
  public=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/server.out")
  [ -n "$public" ] || { echo "bench: orderd did not start" >&2; exit 1; }
  local args=("http://127.0.0.1:$public/api/products/1")
  [ "$workload" = post ] && args=(-s "$tmp/post.lua" "http://127.0.0.1:$public/api/orders")
  taskset -c $WRK_CPU wrk -t1 -c"$CONNS" -d1s "${args[@]}" > /dev/null   # warm-up
  before=$(cpu_ticks)
  taskset -c $WRK_CPU wrk -t1 -c"$CONNS" -d"${SECS}s" "${args[@]}" > "$tmp/wrk.out"
  after=$(cpu_ticks)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
       / requests in / {n=$1}
       /Requests\/sec/ {rps=$2}
       END {printf "%s %.3f\n", rps, ticks / hz * 1e6 / n}' "$tmp/wrk.out" >> "$tmp/$workload.$side"
}


for workload in get post; do
  echo "== $workload: ${sides[*]}; $ROUNDS rounds x ${SECS}s, wrk -t1 -c$CONNS, orderd on CPU $SERVER_CPU, wrk on CPU $WRK_CPU"
  for r in $(seq "$ROUNDS"); do
    for i in 0 1 2; do
      measure "${sides[$(((r + i) % 3))]}" "$workload"
    done
    echo "  round $r: metrics $(tail -n1 "$tmp/$workload.metrics"), profile-rate0 $(tail -n1 "$tmp/$workload.profile-rate0"), profile $(tail -n1 "$tmp/$workload.profile")" >&2
  done
  printf '%-14s %12s %14s\n' "side" "req/s (med)" "cpu us/req"
  for s in "${sides[@]}"; do
    printf '%-14s %12.0f %14.2f\n' "$s" "$(cut -d' ' -f1 "$tmp/$workload.$s" | median)" \
      "$(cut -d' ' -f2 "$tmp/$workload.$s" | median)"
  done
  for s in profile-rate0 profile; do
    paste -d' ' "$tmp/$workload.$s" "$tmp/$workload.metrics" | awk '{printf "%.4f\n", $1/$3}' > "$tmp/rps_ratio"
    paste -d' ' "$tmp/$workload.$s" "$tmp/$workload.metrics" | awk '{printf "%.4f\n", $2/$4}' > "$tmp/cpu_ratio"
    printf '%s/metrics: throughput median %.3f (range %s), cpu/request median %.3f (range %s)\n' "$s" \
      "$(median < "$tmp/rps_ratio")" "$(range < "$tmp/rps_ratio")" \
      "$(median < "$tmp/cpu_ratio")" "$(range < "$tmp/cpu_ratio")"
  done
  paste -d' ' "$tmp/$workload.profile" "$tmp/$workload.profile-rate0" | awk '{printf "%.4f\n", $1/$3}' > "$tmp/rps_ratio"
  printf 'profile/profile-rate0: throughput median %.3f (range %s)\n' "$(median < "$tmp/rps_ratio")" \
    "$(range < "$tmp/rps_ratio")"
done

[ "${BENCH_CALLGRIND:-1}" = 1 ] && command -v valgrind > /dev/null && command -v callgrind_control > /dev/null || exit 0

# instructions SIDE [BINARY]: orderd under callgrind with instrumentation off until a
# warm-up is done, then counted over a 5 s POST load; prints instructions per request.
instructions() {
  local public n ir
  rm -f "$tmp"/cg.* "$tmp/server.out"
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --instr-atstart=no -q --callgrind-out-file="$tmp/cg.%p" "${2:-$BUILD/orderd}" \
    --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 --io-threads 1 --workers 2 --payment-latency 0 \
    --queue-capacity 100000 --log-level warn $(side_flags "$1") > "$tmp/server.out" 2>&1 &
  pid=$!
  for _ in $(seq 300); do grep -q listening "$tmp/server.out" && break; sleep 0.1; done
  public=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/server.out")
  [ -n "$public" ] || { echo "bench: orderd did not start under callgrind" >&2; exit 1; }
  wrk -t1 -c4 -d2s -s "$tmp/post.lua" "http://127.0.0.1:$public/api/orders" > /dev/null
  callgrind_control -i on "$pid" > /dev/null 2>&1
  wrk -t1 -c4 -d5s -s "$tmp/post.lua" "http://127.0.0.1:$public/api/orders" > "$tmp/wrk.out"
  callgrind_control -i off "$pid" > /dev/null 2>&1
  callgrind_control -d "$pid" > /dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  n=$(awk '/ requests in / {print $1}' "$tmp/wrk.out")
  ir=$(cat "$tmp"/cg.* | awk '/^(summary|totals):/ {s += $2} END {print s}')
  awk -v ir="$ir" -v n="$n" 'BEGIN {printf "%.0f\n", ir / n}'
}

echo "== instructions per POST request under callgrind (exact; one run per side)"
printf '%-14s %12s\n' "side" "instr/req"
for s in "${sides[@]}"; do
  printf '%-14s %12s\n' "$s" "$(instructions "$s")"
done
if [ -n "${ORDERD_NOHOOK_BIN:-}" ]; then
  printf '%-14s %12s\n' "nohook-profile" "$(instructions profile "$ORDERD_NOHOOK_BIN")"
fi
