#!/usr/bin/env bash
# The regression gate's own quality, measured (a benchmark, not a CI test; it takes
# minutes and loads the machine: run it sparingly).
#
# K trials of each condition, for each design:
#   fa    the regression scenario against itself (baseline and candidate the same
#         build): false alarms;
#   det   the candidate slowed by the `slow.work` fault (ORDERD_FAULTS=slow.work=on(WORK)
#         for the candidate only: WORK fixed loop turns a request, the same CPU work
#         however busy the machine, where `slow=on(T)` spins for T of wall time and so
#         costs less CPU when a neighbour preempts it): detections of a throughput loss
#         (WORK 160: about +10% CPU a request and -10% throughput on the project's VM
#         under the interleaved design's load; wrk's whole runs cost more per request,
#         so the same WORK is a smaller share there);
#   det5  a smaller slowdown (WORK5, 80: about +5% and -5%);
#   p99   a doubling of the closed loop's latency, p99 included: both builds serve dear
#         requests (P99_BASE, default slow.work=on(100000), about 0.25 ms of work each,
#         so the service, not the scheduler, sets the tail) and the candidate's cost
#         twice as much (P99_CAND, slow.work=on(200000)). On the catalog's 5-us requests a
#         slice's p99 is the scheduler's (a wait for a CPU lasts milliseconds), and no
#         change in the service doubles it: a slower service even lowers it, since wrk
#         is then preempted less (README "Gate power").
#   p99fa both builds serving the dear requests of p99 unchanged: false alarms there.
# Designs (GQ_DESIGNS): `abba`, whole runs, `loadlab run --repeat R --baseline-env`,
# baseline and candidate runs interleaved round by round; `inter`, both builds at once,
# `loadlab run --interleave --budget B`, randomized pairs of slices (0.5 s by default,
# GQ_SLICE, on connections kept open to both builds) in blocks of 3 pairs, both builds
# started afresh for each block, with a group-sequential verdict on the blocks;
# `winter`, the way slices were loaded and judged before: one wrk process per 1 s
# slice, every pair a unit, the same processes throughout (--wrk-slices
# --restart-every 0); `duet`, the same with --duet (both loaded at once). The conditions and designs alternate within each trial, so
# a busy spell on the machine hits all alike. With GQ_HOG=1 a CPU hog (a shell busy
# loop, `timeout 900`, restarted when it ends) runs pinned to one CPU throughout,
# to measure the gates on a busy machine; GQ_HOG_CPU picks its CPU (default 0, the CPU the
# regression scenario pins the services to, so they get about half of it, and wrk keeps
# CPU 1).
#
# Prints, per design, condition and regression gate, the verdicts out of K (FAILED =
# regression found, held, inconclusive), the median and range of the load per verdict
# and of the ratio candidate / baseline the verdicts measured.
#
# Environment: GQ_K (20), GQ_REPEAT (5), GQ_BUDGET (30s), GQ_SLICE (the default), GQ_WORK (160), GQ_WORK5 (80),
# GQ_P99_BASE (100000), GQ_P99_CAND (200000), GQ_CONDITIONS ("fa det"),
# GQ_DESIGNS ("abba"), GQ_HOG (0), GQ_HOG_CPU (0), GQ_SCENARIO (scenarios/regression/catalog.ini), GQ_DB
# (BUILD/gate-quality.db, started afresh), BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
K=${GQ_K:-20}
REPEAT=${GQ_REPEAT:-5}
BUDGET=${GQ_BUDGET:-30s}
SLICE=${GQ_SLICE:-}
WORK=${GQ_WORK:-160}
WORK5=${GQ_WORK5:-80}
P99_BASE=${GQ_P99_BASE:-100000}
P99_CAND=${GQ_P99_CAND:-200000}
CONDITIONS=${GQ_CONDITIONS:-fa det}
DESIGNS=${GQ_DESIGNS:-abba}
HOG=${GQ_HOG:-0}
HOG_CPU=${GQ_HOG_CPU:-0}
SCENARIO=${GQ_SCENARIO:-scenarios/regression/catalog.ini}
DB=${GQ_DB:-$BUILD/gate-quality.db}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
rm -rf "$DB" "$DB-wal" "$DB-shm" "$DB-logs" "$DB".*.out
hog_pid=""
errors=0

stop_hog() { if [ -n "$hog_pid" ]; then kill "$hog_pid" 2>/dev/null || true; wait "$hog_pid" 2>/dev/null || true; hog_pid=""; fi; }
trap stop_hog EXIT
# keep_hog: (re)starts the bounded busy loop on the last CPU when it is not running.
keep_hog() {
  [ "$HOG" = 1 ] || return 0
  if [ -z "$hog_pid" ] || ! kill -0 "$hog_pid" 2>/dev/null; then
    taskset -c "$HOG_CPU" timeout 900 sh -c 'while :; do :; done' &
    hog_pid=$!
  fi
}

# faults_of COND: the candidate's faults; base_faults_of COND: the baseline's.
faults_of() {
  case $1 in fa) echo "" ;; det) echo "slow.work=on($WORK)" ;; det5) echo "slow.work=on($WORK5)" ;;
    p99) echo "slow.work=on($P99_CAND)" ;; p99fa) echo "slow.work=on($P99_BASE)" ;; esac
}
base_faults_of() {
  case $1 in p99|p99fa) echo "slow.work=on($P99_BASE)" ;; *) echo "" ;; esac
}

# verdict DESIGN COND I: one verdict.
verdict() {
  local design=$1 cond=$2 i=$3 rc=0 out="$DB.$1-$2-$3.out"
  local -a how
  case $design in
    inter) how=(--interleave --budget "$BUDGET" ${SLICE:+--slice "$SLICE"}) ;;
    winter) how=(--interleave --wrk-slices --restart-every 0 --budget "$BUDGET") ;;
    duet) how=(--interleave --duet --budget "$BUDGET" ${SLICE:+--slice "$SLICE"}) ;;
    *) how=(--repeat "$REPEAT") ;;
  esac
  keep_hog
  ORDERD_FAULTS=$(faults_of "$cond") "$BUILD/loadlab" run --quiet --db "$DB" "${how[@]}" \
    --label "$design-$cond-cand-$i" --baseline "$design-$cond-base-$i" --baseline-env "ORDERD_FAULTS=$(base_faults_of "$cond")" \
    "$SCENARIO" > "$out" 2>&1 || rc=$?
  # a comparison that stopped (e.g. a slice in which a starved side answered nothing)
  # is counted as a verdict that could not be given, not a reason to end the benchmark
  case $rc in 0|99) ;; 1) errors=$((errors + 1)); echo "  $design $cond $i: loadlab exited 1: $(grep -m1 \
    'reason:' "$out" | sed 's/^ *reason: //')" >&2 ;; *) echo "gate-quality: loadlab exited $rc (see $out)" >&2; exit 1 ;; esac
  printf '  %-5s %-4s %2d: %s\n' "$design" "$cond" "$i" "$(grep -o 'regression\.[a-z_0-9]* .*\(held\|FAILED\|INCONCLUSIVE\|ERROR\)' \
    "$out" | awk '{printf "%s=%s ", $1, $NF}')" >&2
}

# med_range: "median (min-max)" of the numbers on stdin, printf format $1.
med_range() {
  sort -g | awk -v f="$1" '{a[NR] = $1} END {
    if (!NR) { print "-"; exit }
    m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf f " (" f "-" f ")", m, a[1], a[NR] }'
}

echo "gate quality: K=$K, designs $DESIGNS, conditions $CONDITIONS, $(nproc) CPUs, hog $HOG," \
     "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq "$K"); do
  for cond in $CONDITIONS; do
    for design in $DESIGNS; do verdict "$design" "$cond" "$i"; done
  done
done
stop_hog

duration=$(sqlite3 "$DB" "SELECT json_extract(params, '$.duration_s') + json_extract(params, '$.warmup_s') FROM runs LIMIT 1")
echo
echo "Regression gate quality on $(hostname) ($(nproc) CPUs), $(date -u +%Y-%m-%dT%H:%MZ); CPU hog: $HOG (CPU $HOG_CPU)"
echo "scenario $SCENARIO; abba: $REPEAT runs a side of ${duration}s; inter/duet: --interleave [--duet] --budget $BUDGET" \
     "(slices ${SLICE:-0.5s}); winter: --interleave --wrk-slices --budget $BUDGET (1s slices)"
echo "slow builds: det slow.work=on($WORK), det5 slow.work=on($WORK5), p99 slow.work=on($P99_CAND) against on($P99_BASE) (p99fa: both)"
echo "command: GQ_K=$K GQ_CONDITIONS=\"$CONDITIONS\" GQ_DESIGNS=\"$DESIGNS\" GQ_BUDGET=$BUDGET GQ_REPEAT=$REPEAT" \
     "GQ_SLICE=$SLICE GQ_WORK=$WORK GQ_WORK5=$WORK5 GQ_P99_BASE=$P99_BASE GQ_P99_CAND=$P99_CAND GQ_HOG=$HOG GQ_HOG_CPU=$HOG_CPU" \
     "scripts/gate-quality.sh;" \
     "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s %-28s %7s %7s %7s %-22s %s\n' design cond gate FAILED held inconcl "load per verdict (s)" \
  "ratio cand/base"
for design in $DESIGNS; do
  for cond in $CONDITIONS; do
    sqlite3 "$DB" "SELECT DISTINCT gate FROM regressions ORDER BY gate" | while read -r gate; do
      where="gate = '$gate' AND candidate_label LIKE '$design-$cond-cand-%'"
      n() { sqlite3 "$DB" "SELECT count(*) FROM regressions WHERE $where AND verdict = '$1'"; }
      if [ "$design" != abba ]; then
        # the pairs of the verdict that took longest, times two slices of the design's length
        load=$(sqlite3 "$DB" "SELECT max(g.baseline_n) * 2 * (SELECT avg(s.duration_s) FROM ab_slices s JOIN runs r
                ON r.id = s.candidate_run_id WHERE r.label = g.candidate_label) FROM regressions g WHERE
                g.candidate_label LIKE '$design-$cond-cand-%' AND g.method = 'interleaved' GROUP BY g.candidate_label" |
                med_range '%.0f')
      else
        load=$(awk -v r="$REPEAT" -v d="$duration" 'BEGIN {printf "%.0f", 2 * r * d}')
      fi
      ratio=$(sqlite3 "$DB" "SELECT ratio FROM regressions WHERE $where AND ratio IS NOT NULL" | med_range '%.3f')
      printf '%-6s %-5s %-28s %4s/%-2s %4s/%-2s %4s/%-2s %-22s %s\n' "$design" "$cond" "$gate" "$(n fail)" "$K" \
        "$(n pass)" "$K" "$(n inconclusive)" "$K" "$load" "$ratio"
    done
  done
done
echo "(FAILED: a regression was found: a false alarm under fa, a detection otherwise. Load: both sides together.)"
[ "$errors" = 0 ] || echo "($errors comparisons stopped without verdicts: the counts above are out of fewer than $K there)"
