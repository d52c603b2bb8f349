#!/usr/bin/env bash
# make overhead: what orderd's instrumentation costs (a study, not a test).
#
# The settings are scenarios/overhead/overhead-*.ini: orderd at --instrument off,
# metrics, profile and a sweep of the mutex fraction and the block rate; each file's
# [service] command names its setting's flags. Every setting is measured two ways, and
# both are judged against off:
#
# 1. Exact: instructions per request. scenarios/overhead/instrument/cost-read.ini (300
#    product reads) and cost-order.ini (300 order posts, the workers' processing
#    included) are run under every setting (OVERHEAD_LEVEL, OVERHEAD_MUTEX and
#    OVERHEAD_BLOCK in the environment), OVERHEAD_COST_ROUNDS times, round by round.
#    The count comes from the CPU's counter where it has one, else callgrind; the table
#    gives each setting's median, its ratio to off's and its own spread over the rounds
#    ((max - min) / median).
# 2. Wall clock, paired: scenarios/overhead/instrument/interleaved.ini, the closed-loop
#    shop load of the overhead-*.ini files, with `loadlab run --interleave`: the setting
#    (candidate) and off (baseline) run at once, the load switched between them in
#    one-second slices in random order within each pair, until every gate has its
#    group-sequential verdict or OVERHEAD_BUDGET of load is spent. The table gives the
#    median and range over the pairs of each pair's ratio setting / off (throughput,
#    p99, CPU per request); the verdicts follow it. off is compared with off too: its
#    row is what no change looks like on this machine.
# With OVERHEAD_ROUNDS > 0, the overhead-*.ini files are also run as whole runs, round
# by round. `loadlab report` draws both passes as ratios to off with their intervals
# (harness/report/overheadstudy), finding them by their labels: the cost runs are
# LABEL-<setting>, each interleaved comparison LABEL-<setting> against
# LABEL-off-vs-<setting>; keep these names. The whole runs get a chart of their own.
#
#   scripts/overhead.sh BUILD_DIR
# Environment: OVERHEAD_COST_ROUNDS (3), OVERHEAD_BUDGET (30s), OVERHEAD_ROUNDS (0),
# OVERHEAD_SETTINGS (every file's setting; a subset such as "off metrics" must name
# off), LOADLAB_DB (results.db).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
COST_ROUNDS=${OVERHEAD_COST_ROUNDS:-3}
BUDGET=${OVERHEAD_BUDGET:-30s}
ROUNDS=${OVERHEAD_ROUNDS:-0}
DB=${LOADLAB_DB:-results.db}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
LABEL="overhead-$(git describe --always --dirty 2>/dev/null || echo unlabelled)-$(date -u +%Y%m%dT%H%M%S)"
FILES=()
for s in ${OVERHEAD_SETTINGS:-}; do FILES+=("scenarios/overhead/overhead-$s.ini"); done
if [ ${#FILES[@]} -eq 0 ]; then   # off, metrics, profile, then the sweeps
  FILES=(scenarios/overhead/overhead-{off,metrics,profile}.ini)
  for f in scenarios/overhead/overhead-*.ini; do
    case " ${FILES[*]} " in *" $f "*) ;; *) FILES+=("$f") ;; esac
  done
fi
for f in "${FILES[@]}"; do [ -f "$f" ] || { echo "overhead: no setting file $f" >&2; exit 2; }; done
case " ${FILES[*]} " in *" scenarios/overhead/overhead-off.ini "*) ;;
  *) echo "overhead: every setting is compared with off: OVERHEAD_SETTINGS must name off" >&2; exit 2 ;; esac
PAIRED=scenarios/overhead/instrument
LOG="$DB-overhead-runs.txt"
: > "$LOG"

# A setting's flags, from its file's command: "LEVEL MUTEX BLOCK" (MUTEX and BLOCK are
# whole flags such as --mutex-profile-fraction=1, or "-" when the file leaves it out).
flags_of() {
  local cmd level mutex block
  cmd=$(sed -n 's/^command *= *//p' "$1")
  level=$(grep -o -- '--instrument [a-z]*' <<< "$cmd" | cut -d' ' -f2) || true
  mutex=$(grep -o -- '--mutex-profile-fraction [0-9]*' <<< "$cmd" | tr ' ' '=') || true
  block=$(grep -o -- '--block-profile-rate [0-9]*' <<< "$cmd" | tr ' ' '=') || true
  echo "${level:-metrics} ${mutex:--} ${block:--}"
}

# with_setting FILE CMD...: CMD with the setting of FILE in OVERHEAD_LEVEL/MUTEX/BLOCK.
with_setting() {
  local f=$1 level mutex block
  shift
  read -r level mutex block < <(flags_of "$f")
  [ "$mutex" = - ] && mutex=""
  [ "$block" = - ] && block=""
  OVERHEAD_LEVEL=$level OVERHEAD_MUTEX=$mutex OVERHEAD_BLOCK=$block "$@"
}

setting_of() { local b; b=$(basename "$1" .ini); echo "${b#overhead-}"; }

# ok_rc RC: loadlab's "ran, verdicts differ" (99) is a result here, not a failure.
ok_rc() { [ "$1" = 0 ] || [ "$1" = 99 ]; }

echo "== instrumentation overhead: ${#FILES[@]} settings, label $LABEL, into $DB (log: $LOG)"
echo "== exact pass: instructions per request, $COST_ROUNDS rounds"
for round in $(seq "$COST_ROUNDS"); do
  for f in "${FILES[@]}"; do
    rc=0
    with_setting "$f" "$BUILD/loadlab" run --quiet --db "$DB" --label "$LABEL-$(setting_of "$f")" \
      "$PAIRED/cost-read.ini" "$PAIRED/cost-order.ini" >> "$LOG" 2>&1 || rc=$?
    ok_rc "$rc" || { tail -20 "$LOG"; echo "overhead: cost run of $f failed (exit $rc)" >&2; exit "$rc"; }
  done
  echo "   round $round of $COST_ROUNDS done"
done

echo "== wall-clock pass: each setting interleaved with off, --budget $BUDGET"
failed=()
for f in "${FILES[@]}"; do
  s=$(setting_of "$f")   # off too: off against off, what no change looks like
  rc=0
  with_setting "$f" "$BUILD/loadlab" run --quiet --db "$DB" --interleave --budget "$BUDGET" \
    --label "$LABEL-$s" --baseline "$LABEL-off-vs-$s" --baseline-env OVERHEAD_LEVEL=off \
    --baseline-env OVERHEAD_MUTEX= --baseline-env OVERHEAD_BLOCK= "$PAIRED/interleaved.ini" > "$LOG.last" 2>&1 || rc=$?
  cat "$LOG.last" >> "$LOG"
  # one comparison that could not finish (e.g. a slice in which a starved side answered
  # nothing) leaves its row empty; the others still count
  [ "$rc" != 2 ] || { cat "$LOG.last"; exit 2; }   # bad usage: nothing else would run either
  if ok_rc "$rc"; then echo "   $s done"; else
    failed+=("$s"); echo "   $s: the comparison stopped: $(grep -m1 'reason:' "$LOG.last" | sed 's/^ *reason: //')"; fi
done
rm -f "$LOG.last"

if [ "$ROUNDS" -gt 0 ]; then
  echo "== whole runs for the report's chart: ${#FILES[@]} settings x $ROUNDS rounds"
  rc=0
  "$BUILD/loadlab" run --quiet --db "$DB" --label "$LABEL" --repeat "$ROUNDS" "${FILES[@]}" >> "$LOG" 2>&1 || rc=$?
  ok_rc "$rc" || { tail -20 "$LOG"; echo "overhead: the whole runs failed (exit $rc)" >&2; exit "$rc"; }
fi

q() { sqlite3 -separator ' ' "$DB" "$1"; }

# The median, min and max of the numbers on stdin: "median min max", or "- - -".
stats3() {
  sort -g | awk '{a[NR] = $1} END {
    if (!NR) { print "- - -"; exit }
    printf "%.10g %.10g %.10g\n", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2, a[1], a[NR] }'
}

# fmt: "median (min-max)" of "median min max", or "-".
fmt() { awk '$1 == "-" { print "-"; next } { printf "%.3f (%.3f-%.3f)\n", $1, $2, $3 }'; }

# cost SETTING SCENARIO: "median min max" of its instructions per request.
cost() {
  q "SELECT f.value FROM figures f JOIN runs r ON r.id = f.run_id WHERE r.label = '$LABEL-$1'
     AND r.scenario = '$2' AND f.name = 'instructions_per_request' AND f.value IS NOT NULL" | stats3
}

# pairs SETTING EXPR: "median min max" over the pairs of EXPR on c (candidate) and b
# (baseline) slices of the setting's interleaved comparison (pairs set aside, in which a
# side answered nothing, left out).
pairs() {
  q "SELECT $2 FROM ab_slices c JOIN ab_slices b ON b.candidate_run_id = c.candidate_run_id
     AND b.pair = c.pair AND b.side = 'baseline' WHERE c.side = 'candidate' AND c.requests > 0
     AND b.requests > 0 AND ($2) IS NOT NULL AND c.candidate_run_id =
     (SELECT max(id) FROM runs WHERE label = '$LABEL-$1' AND scenario = 'instrument-interleaved')" | stats3
}

counter=$(q "SELECT DISTINCT f.counter FROM figures f JOIN runs r ON r.id = f.run_id
             WHERE r.label LIKE '$LABEL-%' AND f.name = 'instructions_per_request'" | paste -sd, -)
read -r read_off _ _ < <(cost off instrument-cost-read)
read -r order_off _ _ < <(cost off instrument-cost-order)
{
  echo "Instrumentation overhead ($LABEL), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "instr/read, instr/order: instructions per request ($counter), median of $COST_ROUNDS runs; x off: ratio"
  echo "to off's median; spread: (max - min) / median of the setting's runs. throughput, p99, cpu/req: ratio"
  echo "setting / off of each interleaved pair (1 s slices, both at once, orderd on CPU 0, wrk on CPU 1),"
  echo "median (min-max) over the pairs"
  printf '%-14s %10s %8s %8s %10s %8s %8s %5s %-20s %-20s %-20s\n' setting instr/read "x off" spread \
    instr/order "x off" spread pairs "throughput" "p99" "cpu/req"
  for f in "${FILES[@]}"; do
    s=$(setting_of "$f")
    read -r rm rlo rhi < <(cost "$s" instrument-cost-read)
    read -r om olo ohi < <(cost "$s" instrument-cost-order)
    n=$(q "SELECT count(*) FROM ab_slices c JOIN ab_slices b ON b.candidate_run_id = c.candidate_run_id
           AND b.pair = c.pair AND b.side = 'baseline' WHERE c.side = 'candidate' AND c.requests > 0
           AND b.requests > 0 AND c.candidate_run_id =
           (SELECT max(id) FROM runs WHERE label = '$LABEL-$s' AND scenario = 'instrument-interleaved')")
    thr=$(pairs "$s" "c.throughput / b.throughput" | fmt)
    p99=$(pairs "$s" "c.p99_s / b.p99_s" | fmt)
    cpu=$(pairs "$s" "(c.cpu_s / c.requests) / (b.cpu_s / b.requests)" | fmt)
    awk -v s="$s" -v rm="$rm" -v rlo="$rlo" -v rhi="$rhi" -v ro="$read_off" -v om="$om" -v olo="$olo" \
        -v ohi="$ohi" -v oo="$order_off" -v n="$n" -v thr="$thr" -v p99="$p99" -v cpu="$cpu" '
      function num(x) { return x != "-" && x != "" }
      function ratio(m, o) { return num(m) && num(o) && o > 0 ? sprintf("%.4f", m / o) : "-" }
      function spread(m, lo, hi) { return num(m) && m > 0 ? sprintf("%.1e", (hi - lo) / m) : "-" }
      BEGIN { printf "%-14s %10s %8s %8s %10s %8s %8s %5s %-20s %-20s %-20s\n", s,
                num(rm) ? sprintf("%.1f", rm) : "-", ratio(rm, ro), spread(rm, rlo, rhi),
                num(om) ? sprintf("%.1f", om) : "-", ratio(om, oo), spread(om, olo, ohi), n, thr, p99, cpu }'
  done
  echo
  echo "Verdicts of the interleaved comparisons (group-sequential, alpha 0.05; gates: throughput -5%,"
  echo "p99 +10%, CPU per request +5% against off):"
  q "SELECT substr(candidate_label, length('$LABEL-') + 1), gate, verdict, printf('%.3f', ratio),
            CASE WHEN ci_low IS NULL THEN 'no interval' ELSE printf('[%.3f, %.3f]', ci_low, ci_high) END,
            baseline_n || ' pairs'
     FROM regressions WHERE candidate_label LIKE '$LABEL-%' AND method = 'interleaved'
       AND gate <> 'regression.error_rate' ORDER BY id" |
    awk '{ printf "  %-14s %-28s %-13s %7s %-18s %s %s\n", $1, $2, $3, $4, $5 " " $6, $7, $8 }'
  [ ${#failed[@]} -eq 0 ] || echo "Interleaved comparisons that stopped early (see $LOG): ${failed[*]}"
} | tee "$DB-overhead.txt"
