#!/usr/bin/env bash
# The regression gate's own quality, measured (a benchmark, not a CI test; it takes
# minutes and loads the machine: run it sparingly).
#
# K times: the regression scenario against itself (baseline and candidate the same
# build), counting false alarms; and K times against orderd slowed by the `slow`
# fault (ORDERD_FAULTS=slow=on(SLOW) for the candidate only), counting detections.
# Each verdict is one `loadlab run --repeat R --baseline ... --baseline-env ...`,
# baseline and candidate runs interleaved; the false-alarm and detection trials
# alternate, so a busy spell on the machine hits both. Prints, per regression gate,
# false alarms, detections and inconclusive verdicts out of K, the load and the
# wall time per verdict, and the loss the slow build really had (median of the
# verdicts' ratios).
#
# Environment: GQ_K (20), GQ_REPEAT (5), GQ_SLOW (1600ns: about a 10% throughput loss
# on the project's 2-CPU VM, where 1200ns measured -6.8% and 2us -12.6%), GQ_SCENARIO
# (scenarios/regression/catalog.ini), GQ_DB (BUILD/gate-quality.db, started afresh),
# BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
K=${GQ_K:-20}
REPEAT=${GQ_REPEAT:-5}
SLOW=${GQ_SLOW:-1600ns}
SCENARIO=${GQ_SCENARIO:-scenarios/regression/catalog.ini}
DB=${GQ_DB:-$BUILD/gate-quality.db}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
rm -rf "$DB" "$DB-wal" "$DB-shm" "$DB-logs"

# verdict KIND I: one verdict; KIND is fa (same build) or det (slowed candidate).
verdict() {
  local kind=$1 i=$2 faults="" rc=0 start end
  [ "$kind" = det ] && faults="slow=on($SLOW)"
  start=$(date +%s.%N)
  ORDERD_FAULTS=$faults "$BUILD/loadlab" run --quiet --db "$DB" --repeat "$REPEAT" \
    --label "$kind-cand-$i" --baseline "$kind-base-$i" --baseline-env ORDERD_FAULTS= \
    "$SCENARIO" > "$DB-$kind-$i.out" 2>&1 || rc=$?
  end=$(date +%s.%N)
  case $rc in 0|99) ;; *) echo "gate-quality: loadlab exited $rc (see $DB-$kind-$i.out)" >&2; exit 1 ;; esac
  awk -v a="$start" -v b="$end" 'BEGIN {print b - a}' >> "$DB.wall"
  printf '  %-3s %2d: %s\n' "$kind" "$i" "$(grep -o 'regression\.[a-z_0-9]* .*\(held\|FAILED\|INCONCLUSIVE\|ERROR\)' \
    "$DB-$kind-$i.out" | awk '{printf "%s=%s ", $1, $NF}')" >&2
}

: > "$DB.wall"
echo "gate quality: K=$K, --repeat $REPEAT, candidate slowed by slow=on($SLOW), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for i in $(seq "$K"); do
  verdict fa "$i"
  verdict det "$i"
done

duration=$(sqlite3 "$DB" "SELECT json_extract(params, '$.duration_s') + json_extract(params, '$.warmup_s') FROM runs LIMIT 1")
wall=$(awk '{s += $1} END {printf "%.1f", s / NR}' "$DB.wall")
echo
echo "Regression gate quality on $(hostname) ($(nproc) CPUs), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "scenario $SCENARIO; $REPEAT runs a side per verdict, interleaved; slow build: slow=on($SLOW)"
load=$(awk -v r="$REPEAT" -v d="$duration" 'BEGIN {print r * d}')
printf 'load per verdict: %ss candidate + %ss baseline; wall time per verdict: %ss\n' "$load" "$load" "$wall"
printf '%-28s %14s %14s %14s %14s %12s\n' gate "false alarms" "inconclusive" "detections" "inconclusive" "slow ratio"
sqlite3 -separator ' ' "$DB" "SELECT DISTINCT gate FROM regressions ORDER BY gate" | while read -r gate; do
  count() { sqlite3 "$DB" "SELECT count(*) FROM regressions WHERE gate = '$gate' AND candidate_label LIKE '$1-%' AND verdict = '$2'"; }
  ratio=$(sqlite3 "$DB" "SELECT ratio FROM regressions WHERE gate = '$gate' AND candidate_label LIKE 'det-%' AND ratio IS NOT NULL ORDER BY ratio" |
          awk '{a[NR] = $1} END {if (NR) printf "%.3f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "-"}')
  printf '%-28s %14s %14s %14s %14s %12s\n' "$gate" "$(count fa fail)/$K" "$(count fa inconclusive)/$K" \
    "$(count det fail)/$K" "$(count det inconclusive)/$K" "$ratio"
done
echo "(slow ratio: median over the detection verdicts of candidate median / baseline median)"
