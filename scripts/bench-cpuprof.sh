#!/usr/bin/env bash
# What taking a CPU profile costs the service: orderd (--instrument profile) under wrk
# with a /debug/pprof/profile being taken at 100 Hz (--cpu-profile-rate) versus none.
# A benchmark, not a test.
#
# orderd is pinned to CPU 0 and wrk (1 thread, 64 connections) to CPU 1. Each round
# starts one orderd and measures both sides back to back, alternating which goes first,
# so drift on a shared machine hits both alike; the per-round ratios (profiling / none)
# are reported as a median with their range, for throughput, p99 and CPU time per
# request (orderd's utime+stime over the requests wrk completed: the figure that a
# shared machine disturbs least).
# Environment: BENCH_ROUNDS (7), BENCH_SECONDS (5), BENCH_CONNECTIONS (64),
# BENCH_CPU_PROFILE_RATE (100), BENCH_FROM_LEVEL (profile): with metrics, orderd runs
# at --instrument metrics and the profiled side is switched to profile through
# /debug/config before its profile and back after it, as the capture's routine CPU
# profile of a healthy run does (so BENCH_SECONDS=1 gives what a 1 s one costs).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-7}
SECS=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-64}
HZ=${BENCH_CPU_PROFILE_RATE:-100}
LEVEL=${BENCH_FROM_LEVEL:-profile}
case "$LEVEL" in profile|metrics) ;; *) echo "bench: BENCH_FROM_LEVEL must be profile or metrics" >&2; exit 2 ;; esac
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh

# measure NAME PUBLIC_PORT: one wrk run, "rps p99_ms cpu_us_per_request" appended to
# $tmp/NAME. Both sides start after the same pause (the profile request needs a moment
# to arm its timers).
measure() {
  sleep 0.5
  local before after
  before=$(cpu_ticks)
  taskset -c $WRK_CPU wrk -t1 -c"$CONNS" -d"${SECS}s" --latency \
    "http://127.0.0.1:$2/api/products/1" > "$tmp/wrk.out"
  after=$(cpu_ticks)
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
       / requests in / {n=$1}
       /Requests\/sec/ {rps=$2}
       $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%s %s %.3f\n", rps, p99, ticks / hz * 1e6 / n}' "$tmp/wrk.out" >> "$tmp/$1"
}

# profiled PUBLIC DEBUG: the same run with a CPU profile covering it.
profiled() {
  [ "$LEVEL" = profile ] || curl -s -o /dev/null -X PUT -d '{"instrument":"profile"}' "http://127.0.0.1:$2/debug/config"
  curl -s -o "$tmp/profile.pb.gz" -w '%{http_code}' \
    "http://127.0.0.1:$2/debug/pprof/profile?seconds=$((SECS + 2))" > "$tmp/code" &
  local curl_pid=$!
  measure profiling "$1"
  wait $curl_pid
  [ "$LEVEL" = profile ] || curl -s -o /dev/null -X PUT -d "{\"instrument\":\"$LEVEL\"}" "http://127.0.0.1:$2/debug/config"
  [ "$(cat "$tmp/code")" = 200 ] || { echo "bench: the profile request answered $(cat "$tmp/code")" >&2; exit 1; }
  gzip -dc "$tmp/profile.pb.gz" | wc -c >> "$tmp/profile_bytes"
}


echo "== CPU profile at $HZ Hz (from instrument=$LEVEL) vs none: $ROUNDS rounds x ${SECS}s, wrk -t1 -c$CONNS, orderd on CPU $SERVER_CPU, wrk on CPU $WRK_CPU"
for r in $(seq "$ROUNDS"); do
  : > "$tmp/server.out"
  taskset -c $SERVER_CPU "$BUILD/orderd" --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 --io-threads 1 \
    --log-level warn --instrument "$LEVEL" --cpu-profile-rate "$HZ" > "$tmp/server.out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$tmp/server.out" && break; sleep 0.05; done
  public=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/server.out")
  debug=$(sed -n 's/.*debug=[^ ]*:\([0-9]*\).*/\1/p' "$tmp/server.out")
  [ -n "$public" ] && [ -n "$debug" ] || { echo "bench: orderd did not start" >&2; exit 1; }
  taskset -c $WRK_CPU wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$public/api/products/1" > /dev/null  # warm-up
  if [ $((r % 2)) -eq 1 ]; then
    measure none "$public"; profiled "$public" "$debug"
  else
    profiled "$public" "$debug"; measure none "$public"
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  pid=
  echo "  round $r: none $(tail -n1 "$tmp/none"), profiling $(tail -n1 "$tmp/profiling")" >&2
done

printf '%-10s %12s %10s %14s\n' "side" "req/s (med)" "p99 ms" "cpu us/req"
for n in none profiling; do
  printf '%-10s %12.0f %10.2f %14.2f\n' "$n" "$(cut -d' ' -f1 "$tmp/$n" | median)" \
    "$(cut -d' ' -f2 "$tmp/$n" | median)" "$(cut -d' ' -f3 "$tmp/$n" | median)"
done
paste -d' ' "$tmp/profiling" "$tmp/none" | awk '{printf "%.4f\n", $1/$4}' > "$tmp/rps_ratio"
paste -d' ' "$tmp/profiling" "$tmp/none" | awk '{printf "%.4f\n", $2/$5}' > "$tmp/p99_ratio"
paste -d' ' "$tmp/profiling" "$tmp/none" | awk '{printf "%.4f\n", $3/$6}' > "$tmp/cpu_ratio"
printf 'throughput ratio profiling/none: median %.3f, range %s\n' "$(median < "$tmp/rps_ratio")" "$(range < "$tmp/rps_ratio")"
printf 'p99 ratio profiling/none:        median %.3f, range %s\n' "$(median < "$tmp/p99_ratio")" "$(range < "$tmp/p99_ratio")"
printf 'cpu/request ratio profiling/none: median %.3f, range %s\n' "$(median < "$tmp/cpu_ratio")" "$(range < "$tmp/cpu_ratio")"
printf 'profile size (uncompressed bytes): median %s\n' "$(median < "$tmp/profile_bytes")"
