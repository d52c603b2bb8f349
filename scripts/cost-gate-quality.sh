#!/usr/bin/env bash
# The instructions_per_request regression gate's own quality (a benchmark, not a CI
# test): K verdicts of the cost scenario against itself (false alarms), and K against
# orderd with the slow.work fault (ORDERD_FAULTS=slow.work=on(WORK) for the candidate
# only: WORK fixed loop turns per request, about 1% more instructions per product read
# at the default 4: +1.02% on the product read of scenarios/cost-baseline.ini), one run a side per verdict (`loadlab run --baseline ...
# --baseline-env ORDERD_FAULTS=`), the two kinds alternating. By default a CPU hog
# runs beside it all along, pinned to CPU 0: `timeout 1800 taskset -c 0 sh -c 'while
# :; do :; done'`, killed by its pid at the end.
#
# Environment: GQ_K (20), GQ_WORK (4), GQ_SCENARIO (scenarios/cost-baseline.ini),
# GQ_DB (BUILD/cost-gate-quality.db, started afresh), GQ_HOG (1, or 0 for none),
# BUILD (build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
K=${GQ_K:-20}
WORK=${GQ_WORK:-4}
SCENARIO=${GQ_SCENARIO:-scenarios/cost-baseline.ini}
DB=${GQ_DB:-$BUILD/cost-gate-quality.db}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
rm -rf "$DB" "$DB-wal" "$DB-shm" "$DB-logs" "$DB".*.out
hog=
hogtext=none
if [ "${GQ_HOG:-1}" = 1 ]; then
  timeout 1800 taskset -c 0 sh -c 'while :; do :; done' &
  hog=$!
  hogtext="timeout taskset -c 0 sh -c 'while :; do :; done' (pid $hog)"
  trap 'kill "$hog" 2>/dev/null || true' EXIT
fi

verdict() {
  local kind=$1 i=$2 faults="" rc=0
  [ "$kind" = det ] && faults="slow.work=on($WORK)"
  ORDERD_FAULTS=$faults "$BUILD/loadlab" run --quiet --db "$DB" --label "$kind-cand-$i" \
    --baseline "$kind-base-$i" --baseline-env ORDERD_FAULTS= "$SCENARIO" > "$DB.$kind-$i.out" 2>&1 || rc=$?
  case $rc in 0|99) ;; *) echo "cost-gate-quality: loadlab exited $rc (see $DB.$kind-$i.out)" >&2; exit 1 ;; esac
}

for i in $(seq "$K"); do
  verdict fa "$i"
  verdict det "$i"
done
echo "instructions_per_request regression gate on $(hostname) ($(nproc) CPUs), $(date -u +%Y-%m-%dT%H:%MZ);" \
     "candidate: slow.work=on($WORK); one run a side; hog: ${hog:+taskset -c 0 busy loop}${hog:-none}"
sqlite3 -separator ' ' "$DB" "
  SELECT 'false alarms', sum(verdict = 'fail'), 'inconclusive', sum(verdict = 'inconclusive'),
         'errors', sum(verdict = 'error'), 'of', count(*)
    FROM regressions WHERE candidate_label LIKE 'fa-%' AND gate = 'regression.instructions_per_request';
  SELECT 'detections', sum(verdict = 'fail'), 'inconclusive', sum(verdict = 'inconclusive'),
         'errors', sum(verdict = 'error'), 'of', count(*), 'ratio min', printf('%.5f', min(ratio)),
         'max', printf('%.5f', max(ratio))
    FROM regressions WHERE candidate_label LIKE 'det-%' AND gate = 'regression.instructions_per_request';"
