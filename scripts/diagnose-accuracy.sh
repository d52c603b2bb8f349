#!/usr/bin/env bash
# How often `loadlab diagnose` is right: runs every shipped scenario (one fault each,
# the baseline and the healthy lock-sharded twin) and every pair of the six faults
# (the second one switched on mid-run), keeps evidence for all of them (--capture, so
# each is diagnosed), then scores each diagnosis against the phases table — the
# answer key the diagnosis never reads — and prints the confusion table.
#
#   scripts/diagnose-accuracy.sh [BUILD]        (default build; takes about 5 minutes)
#
# Environment: ACCURACY_DB (default: a new file under /tmp, kept for inspection),
# ACCURACY_SKIP_RUNS=1 to diagnose and score the runs already in ACCURACY_DB again,
# ACCURACY_PAIRS=0 to run the shipped scenarios only, ACCURACY_SINGLES=0 the pairs only.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
LOADLAB=$BUILD/loadlab
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
[ -x "$LOADLAB" ] && [ -x "$ORDERD_BIN" ] || { echo "build first: make" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "sqlite3 (the command) is needed" >&2; exit 2; }
work=$(mktemp -d /tmp/diagnose-accuracy-XXXXXX)
DB=${ACCURACY_DB:-$work/accuracy.db}

# fault -> term it gets in a pair, class, culprit
declare -A term=([leak.threads]='5%on' [leak.memory]='on(4096)' [lock.cache]='on(200us)'
                 [queue.stall]='on(50ms)' [queue.block]='on' [slow]='on(3ms)')
faults=(leak.threads leak.memory lock.cache queue.stall queue.block slow)

# A pair's service: queue.block only shows when the queue fills, so without a stalled
# queue to fill it, payments are slow and workers few (as in scenarios/queue-block.ini).
pair_scenario() {
  local a=$1 b=$2 service
  if [[ " $a $b " == *" queue.block "* && " $a $b " != *" queue.stall "* ]]; then
    service='--workers 2 --queue-capacity 32 --payment-latency 20ms'
  else
    service='--workers 4 --queue-capacity 128 --payment-latency 2ms'
  fi
  cat <<EOF
[scenario]
name = pair-$a-and-$b
description = $a from the start, $b from t=4s.
duration = 8s
warmup = 2s
sample_interval = 250ms

[service]
command = \${ORDERD_BIN:-build/orderd} $service --io-threads 2 --log-level warn
fault = $a=${term[$a]}

[load]
connections = 8
script = $PWD/scenarios/lua/mix.lua
timeout = 5s

[phase.second]
at = 4s
fault = $b=${term[$b]}
EOF
}

if [ "${ACCURACY_SKIP_RUNS:-0}" != 1 ]; then
  files=()
  [ "${ACCURACY_SINGLES:-1}" != 0 ] && files=(scenarios/*.ini)
  if [ "${ACCURACY_PAIRS:-1}" != 0 ]; then
    for ((i = 0; i < ${#faults[@]}; i++)); do
      for ((j = i + 1; j < ${#faults[@]}; j++)); do
        a=${faults[$i]} b=${faults[$j]}
        # Slow payments alone fill the queue and get requests rejected, the healthy
        # policy: queue.block must be on from the start, as in queue-block.ini.
        [ "$b" = queue.block ] && [ "$a" != queue.stall ] && { b=$a; a=queue.block; }
        f=$work/pair-$a+$b.ini
        pair_scenario "$a" "$b" >"$f"
        files+=("$f")
      done
    done
  fi
  echo "running ${#files[@]} scenarios into $DB ..." >&2
  "$LOADLAB" run --db "$DB" --capture --quiet --label accuracy "${files[@]}" >"$work/run.log" 2>&1 || true
else
  # Scoring again: diagnose again, with this build's rules.
  for id in $(sqlite3 "$DB" "SELECT id FROM runs ORDER BY id"); do
    "$LOADLAB" diagnose --db "$DB" "$id" >/dev/null
  done
fi

sqlite3 -separator '|' "$DB" <<'SQL' >"$work/scored.txt"
WITH truth AS (
  SELECT DISTINCT run_id,
    CASE fault WHEN 'leak.threads' THEN 'thread-leak' WHEN 'leak.memory' THEN 'memory-leak'
      WHEN 'lock.cache' THEN 'lock-contention' WHEN 'queue.stall' THEN 'queue-full'
      WHEN 'queue.block' THEN 'blocked-producer' WHEN 'slow' THEN 'cpu-slowdown' END AS class,
    CASE fault WHEN 'leak.threads' THEN 'leak_notifier_wait' WHEN 'leak.memory' THEN 'leak_memory_retain'
      WHEN 'lock.cache' THEN 'cache_get_global' WHEN 'queue.stall' THEN 'worker_process_stalled'
      WHEN 'queue.block' THEN 'queue_push_blocking' WHEN 'slow' THEN 'request_burn_cpu' END AS culprit
  FROM phases WHERE term <> 'off'),
runs_scored AS (
  SELECT r.id, r.scenario, r.status,
    (SELECT count(*) FROM truth t WHERE t.run_id = r.id) AS faults,
    coalesce((SELECT group_concat(class, ' ') FROM (SELECT class FROM truth t WHERE t.run_id = r.id ORDER BY class)), 'none') AS true_classes,
    coalesce((SELECT group_concat(CASE class WHEN 'none' THEN 'none' ELSE class || ':' || coalesce(culprit, '?') END, ' ')
              FROM (SELECT class, culprit FROM diagnoses d WHERE d.run_id = r.id ORDER BY class)), '-') AS diagnosed,
    (SELECT count(*) FROM truth t WHERE t.run_id = r.id AND EXISTS
       (SELECT 1 FROM diagnoses d WHERE d.run_id = r.id AND d.class = t.class)) AS classes_right,
    (SELECT count(*) FROM truth t WHERE t.run_id = r.id AND EXISTS
       (SELECT 1 FROM diagnoses d WHERE d.run_id = r.id AND d.class = t.class AND d.culprit = t.culprit)) AS culprits_right,
    (SELECT count(*) FROM diagnoses d WHERE d.run_id = r.id AND d.class <> 'none' AND NOT EXISTS
       (SELECT 1 FROM truth t WHERE t.run_id = r.id AND t.class = d.class)) AS extra
  FROM runs r)
SELECT id, scenario, status, faults, true_classes, diagnosed, classes_right, culprits_right, extra FROM runs_scored ORDER BY id;
SQL

# How far a found fault's start is from when it was switched on (the queue and the
# leaks take a moment to show, so this is not all error).
onset=$(sqlite3 -separator ' ' "$DB" "
  WITH truth AS (SELECT run_id, on_at, CASE fault WHEN 'leak.threads' THEN 'thread-leak'
      WHEN 'leak.memory' THEN 'memory-leak' WHEN 'lock.cache' THEN 'lock-contention'
      WHEN 'queue.stall' THEN 'queue-full' WHEN 'queue.block' THEN 'blocked-producer'
      WHEN 'slow' THEN 'cpu-slowdown' END AS class FROM phases WHERE term <> 'off' AND on_at > 1),
  found AS (SELECT d.started_at - t.on_at AS late FROM truth t JOIN diagnoses d
      ON d.run_id = t.run_id AND d.class = t.class WHERE d.started_at IS NOT NULL)
  SELECT count(*), printf('%.2f', avg(abs(late))), printf('%.2f', max(abs(late))) FROM found")

awk -F'|' '
function pad(s, n) { return sprintf("%-" n "s", s) }
BEGIN {
  split("none thread-leak memory-leak lock-contention queue-full blocked-producer cpu-slowdown overload", cls, " ")
  ncls = 8
}
{
  id = $1; scen = $2; status = $3; faults = $4; truth = $5; diag = $6; cr = $7; pr = $8; extra = $9
  if (faults <= 1) {
    singles++
    row = truth
    seen[row]++
    if (diag == "-" || diag == "none") { m[row, "none"]++ }
    else {
      n = split(diag, ds, " ")
      for (k = 1; k <= n; k++) { split(ds[k], p, ":"); m[row, p[1]]++ }
    }
    if (faults == 0) { if (extra == 0) healthy_ok++; healthy++ }
    else { if (cr == 1) s_class++; if (pr == 1) s_culprit++; s_total++; if (extra > 0) s_extra++ }
    detail[singles] = sprintf("  run %-4s %-26s truth %-17s diagnosed %s", id, scen, truth, diag)
  } else {
    pairs++
    p_faults += faults; p_class += cr; p_culprit += pr
    if (cr == faults && pr == faults && extra == 0) p_exact++
    if (extra > 0) p_extra++
    pdetail[pairs] = sprintf("  run %-4s %-38s %d/%d classes, %d/%d culprits, %d extra   %s", id, scen, cr, faults, pr, faults, extra, diag)
  }
}
END {
  printf "Single-fault and healthy runs: rows are the truth, columns the diagnosed classes\n"
  printf "(a run with two findings counts in two columns)\n\n"
  line = pad("truth \\ diagnosed", 18)
  for (c = 1; c <= ncls; c++) line = line pad(substr(cls[c], 1, 10), 11)
  sub(/ +$/, "", line); print line
  for (r = 1; r <= ncls; r++) {
    if (!(cls[r] in seen)) continue
    line = pad(cls[r], 18)
    for (c = 1; c <= ncls; c++) line = line pad((cls[r], cls[c]) in m ? m[cls[r], cls[c]] : ".", 11)
    sub(/ +$/, "", line); print line
  }
  printf "\n"
  for (i = 1; i <= singles; i++) print detail[i]
  printf "\nsingle faults: class right %d/%d, culprit right %d/%d, runs with an extra finding %d\n", s_class, s_total, s_culprit, s_total, s_extra
  printf "healthy runs: %d/%d with no problem found\n", healthy_ok, healthy
  if (pairs) {
    printf "\nTwo faults at once (the second from t=4s):\n"
    for (i = 1; i <= pairs; i++) print pdetail[i]
    printf "\npairs: %d/%d exactly right; faults found %d/%d by class, %d/%d with the culprit; %d pairs with an extra finding\n", p_exact, pairs, p_class, p_faults, p_culprit, p_faults, p_extra
  }
}' "$work/scored.txt"
read -r n mean worst <<<"$onset"
[ "$n" -gt 0 ] && echo "faults switched on mid-run: $n found; their start was off by ${mean}s on average, ${worst}s at worst"
echo
echo "database: $DB (loadlab diagnose --db $DB RUN for any run); logs: $work"
