#!/usr/bin/env bash
# make bench: throughput figures, not a test.
#
# Part 1 — the HTTP path: orderd GET /api/products/1 (at --instrument profile and
# metrics, with its default I/O threads: the CPUs it is pinned to) against nginx (one
# worker, the same JSON answered from its config, no access log), a minimal evhttp
# server and a minimal Go net/http server (net/http/pprof imported, GOMAXPROCS=1).
# Throughput and p99 are both given as ratios to nginx.
# Part 2 — the cost of instrumentation: orderd at --instrument off, metrics, profile
# (mutex fraction 10, block rate 1000 ns).
#
# Each server is pinned to CPU 0 and wrk (1 thread, 64 connections) to CPU 1; the
# contenders are interleaved round by round so drift on a shared machine hits all of
# them alike, and medians over the rounds are reported with ratios.
# Environment: BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_CONNECTIONS (64).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
CONNS=${BENCH_CONNECTIONS:-64}
SERVER_CPU=0
WRK_CPU=1
[ "$(nproc)" -ge 2 ] || { SERVER_CPU=0; WRK_CPU=0; echo "note: one CPU only; server and wrk share it" >&2; }

mkdir -p "$BUILD/bench"
cc -O2 -o "$BUILD/bench/evhttp_min" tests/bench/evhttp_min.c $(pkg-config --cflags --libs libevent)
export HOME=${HOME:-/tmp} GOCACHE=${GOCACHE:-/tmp/loadlab-gocache} GO111MODULE=off
go build -o "$BUILD/bench/goserver" tests/bench/goserver/main.go

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT

# A free TCP port on loopback, for a server that cannot pick its own (nginx).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx_conf PORT: one worker answering GET /api/products/1 with orderd's JSON.
nginx_conf() {
  mkdir -p "$tmp/nginx"
  cat > "$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$1;
    location = /api/products/1 {
      default_type application/json;
      return 200 '{"id":1,"name":"Red Kettle 1","price_cents":199}\n';
    }
  }
}
EOF
}

# run_one NAME CMD...: starts the server, loads it, appends "rps p99_ms" to $tmp/NAME.
# A server that does not print "listening public=ADDR:PORT" gets its port in RUN_PORT.
run_one() {
  local name=$1; shift
  local out=$tmp/server.out
  : > "$out"
  taskset -c $SERVER_CPU "$@" > "$out" 2>/dev/null &
  local pid=$!
  local port=${RUN_PORT:-}
  if [ -n "$port" ]; then
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  else
    for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
    port=$(sed -n 's/.*public=[^ ]*:\([0-9]*\).*/\1/p' "$out")
  fi
  [ -n "$port" ] || { echo "bench: $name did not start" >&2; kill $pid; return 1; }
  taskset -c $WRK_CPU wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" --latency \
    "http://127.0.0.1:$port/api/products/1" > "$tmp/wrk.out"
  kill $pid; wait $pid 2>/dev/null || true
  awk '/Requests\/sec/ {rps=$2}
       $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; p99=v}
       END {printf "%s %s\n", rps, p99}' "$tmp/wrk.out" >> "$tmp/$name"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# span DECIMALS: "lowest-highest" of the numbers on stdin.
span() { sort -g | awk -v d="$1" 'NR==1 {lo=$1} {hi=$1} END {printf "%.*f-%.*f", d, lo, d, hi}'; }

# report REFERENCE NAME...: medians over rounds, and the median of the per-round ratios
# (each round's contenders ran back to back, so a round's ratio cancels slow drift).
report() {
  local ref=$1; shift
  printf '%-18s %10s %16s %7s %12s %20s %20s\n' "server" "req/s med" "req/s range" "p99 ms" "p99 range" \
    "req/s ratio (range)" "p99 ratio (range)"
  for n in "$@"; do
    local rps p99 ratios p99ratios
    rps=$(cut -d' ' -f1 "$tmp/$n" | median)
    p99=$(cut -d' ' -f2 "$tmp/$n" | median)
    ratios=$(paste -d' ' "$tmp/$n" "$tmp/$ref" | awk '{printf "%.4f\n", $1/$3}')
    p99ratios=$(paste -d' ' "$tmp/$n" "$tmp/$ref" | awk '{printf "%.4f\n", ($4 > 0 ? $2/$4 : 0)}')
    printf '%-18s %10.0f %16s %7.2f %12s %20s %20s\n' "$n" "$rps" \
      "$(cut -d' ' -f1 "$tmp/$n" | span 0)" "$p99" "$(cut -d' ' -f2 "$tmp/$n" | span 2)" \
      "$(printf '%.3f (%s)' "$(echo "$ratios" | median)" "$(echo "$ratios" | span 2)")" \
      "$(printf '%.3f (%s)' "$(echo "$p99ratios" | median)" "$(echo "$p99ratios" | span 2)")"
  done
  echo "(ratios are to $ref: the median of the per-round ratios and their range; a p99 ratio below 1 is better)"
}

# No --io-threads: orderd takes the CPUs of its affinity mask, one under taskset.
ORDERD=("$BUILD/orderd" --listen 127.0.0.1:0 --debug-listen 127.0.0.1:0 --log-level warn)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

echo "== HTTP path: $ROUNDS rounds x ${SECONDS_PER_RUN}s, wrk -t1 -c$CONNS, server on CPU $SERVER_CPU, wrk on CPU $WRK_CPU"
for r in $(seq "$ROUNDS"); do
  port=$(free_port); nginx_conf "$port"
  RUN_PORT=$port run_one nginx_1_worker "$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
  run_one orderd_profile "${ORDERD[@]}" --instrument profile
  run_one orderd_metrics "${ORDERD[@]}" --instrument metrics
  run_one evhttp_minimal "$BUILD/bench/evhttp_min"
  GOMAXPROCS=1 run_one go_net_http "$BUILD/bench/goserver"
  echo "  round $r done" >&2
done
report nginx_1_worker nginx_1_worker orderd_profile orderd_metrics evhttp_minimal go_net_http

echo
echo "== Instrumentation cost: $ROUNDS rounds x ${SECONDS_PER_RUN}s"
for r in $(seq "$ROUNDS"); do
  run_one instrument_off "${ORDERD[@]}" --instrument off
  run_one instrument_metrics "${ORDERD[@]}" --instrument metrics
  run_one instrument_profile "${ORDERD[@]}" --instrument profile --mutex-profile-fraction 10 --block-profile-rate 1000
  echo "  round $r done" >&2
done
report instrument_off instrument_off instrument_metrics instrument_profile
