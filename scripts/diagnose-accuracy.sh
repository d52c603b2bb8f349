#!/usr/bin/env bash
# How often `loadlab diagnose` is right, on one of two sets of runs:
#
#   the shipped set (default): every shipped scenario (one fault each, the baseline and
#   the healthy lock-sharded twin) and every pair of the six faults (the second one
#   switched on mid-run);
#
#   a matrix (ACCURACY_MATRIX=N): N runs drawn with a seed (ACCURACY_SEED, default 1)
#   from loads (GET, POST, mixed; 2-128 connections), worker counts and queue
#   capacities, onsets (from the start, mid-run, late), intensities (faint, mild,
#   strong, capped), pairs, healthy-but-busy services and overloaded-but-not-faulty
#   ones - so that a matrix the rules were never tuned on can be drawn at any time.
#
# Every run keeps evidence (--capture, so each is diagnosed), and each diagnosis is
# scored against the phases table - the answer key the diagnosis never reads; an
# overloaded run's truth is in its name. Prints the confusion table and, per kind of
# run, the accuracy per intensity, the detection delay and the false alarms.
#
#   scripts/diagnose-accuracy.sh [BUILD]                  (the shipped set: about 5 minutes)
#   ACCURACY_MATRIX=60 ACCURACY_SEED=7 scripts/diagnose-accuracy.sh [BUILD]
#
# Environment: ACCURACY_DB (default: a new file under /tmp, kept for inspection),
# ACCURACY_SKIP_RUNS=1 to diagnose and score the runs already in ACCURACY_DB again,
# ACCURACY_PAIRS=0 to run the shipped scenarios only, ACCURACY_SINGLES=0 the pairs only,
# ACCURACY_TWINS=1 (a matrix) to diagnose runs on from the start against healthy twins.
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

# The matrix's draws: a 31-bit LCG of its own, so a seed gives the same matrix with
# any bash. pick VAR a b c... sets VAR to one of the choices.
rng=$(( ${ACCURACY_SEED:-1} % 2147483648 ))
singles_drawn=$(( ${ACCURACY_SEED:-1} % 6 ))
pick() {
  local var=$1; shift
  rng=$(( (rng * 1103515245 + 12345) % 2147483648 ))
  printf -v "$var" '%s' "${@:$(( (rng >> 8) % $# + 1 )):1}"
}

# fault -> its term at each intensity
declare -A faint=([leak.threads]='2%on' [leak.memory]='10%on(4096)' [lock.cache]='on(20us)'
                  [queue.stall]='on(2ms)' [queue.block]='10%on' [slow]='20%on(200us)')
declare -A mild=([leak.threads]='5%on' [leak.memory]='on(4096)' [lock.cache]='on(50us)'
                 [queue.stall]='on(10ms)' [queue.block]='50%on' [slow]='on(300us)')
declare -A strong=([leak.threads]='20%on' [leak.memory]='on(16384)' [lock.cache]='on(200us)'
                   [queue.stall]='on(50ms)' [queue.block]='on' [slow]='on(3ms)')
declare -A capped=([leak.threads]='100%on' [leak.memory]='on(65536)' [lock.cache]='on(1ms)'
                   [queue.stall]='on(200ms)' [queue.block]='on' [slow]='on(10ms)')
term_of() { local -n levels=$2; printf '%s' "${levels[$1]}"; }

# One matrix run: NAME SERVICE LOAD CONNECTIONS [FAULT_AT_START] [AT FAULT]. Its orderd
# samples the heap once per 64 KiB, as one hunting leaks sets it (Go's default, 512 KiB,
# leaves a leak of 150 KB/s 0 to 3 samples in a 10 s run: docs/diagnosis.md).
matrix_scenario() {
  local name=$1 service=$2 load=$3 conns=$4 first=${5:-} at=${6:-} second=${7:-}
  printf '[scenario]\nname = %s\ndescription = drawn by scripts/diagnose-accuracy.sh (seed %s)\n' "$name" "${ACCURACY_SEED:-1}"
  printf 'duration = 8s\nwarmup = 2s\nsample_interval = 250ms\n\n[service]\n'
  printf 'command = ${ORDERD_BIN:-build/orderd} %s --io-threads 2 --mem-profile-rate 65536 --log-level warn\n' "$service"
  [ -n "$first" ] && printf 'fault = %s\n' "$first"
  printf '\n[load]\nconnections = %s\nscript = %s/scenarios/lua/%s.lua\ntimeout = 5s\n' "$conns" "$PWD" "$load"
  [ -n "$second" ] && printf '\n[phase.second]\nat = %ss\nfault = %s\n' "$at" "$second"
  return 0
}

# Draws run number i of the matrix into a file under $work; prints its path.
matrix_draw() {
  local i=$1 kind fault fault2 level level2 onset at=0 load conns workers queue service name t1 t2 f x
  pick kind single single single single single pair pair healthy healthy overload
  pick load products orders mix
  pick conns 2 4 8 16 32 64 128
  pick workers 4 8 16 32 64
  pick queue 64 256 1024
  service="--workers $workers --queue-capacity $queue --payment-latency 2ms"
  name=$(printf 'm%02d' "$i")
  case $kind in
  healthy)
    name="$name-healthy-$load-c$conns-w$workers"
    f=$work/$name.ini
    matrix_scenario "$name" "$service" "$load" "$conns" >"$f" ;;
  overload)
    # Two workers whose payments take 20 ms serve 100 orders/s: more connections
    # posting orders than that is overload with nothing faulty.
    pick conns 8 16 32 64
    pick queue 16 32 64
    name="$name-overload-orders-c$conns-q$queue"
    f=$work/$name.ini
    matrix_scenario "$name" "--workers 2 --queue-capacity $queue --payment-latency 20ms" orders "$conns" >"$f" ;;
  single)
    # The faults in turn, so that each is drawn about as often; the rest at random.
    fault=${faults[$(( singles_drawn++ % ${#faults[@]} ))]}
    pick level faint mild strong capped
    pick onset start start mid late
    t1=$(term_of "$fault" "$level")
    # Orders start the threads a leak keeps and fill the queue a stall and a block need.
    case $fault in leak.threads|queue.stall|queue.block) [ "$load" = products ] && load=mix ;; esac
    if [ "$fault" = queue.block ]; then
      # It only shows on a full queue: slow payments and few workers, as queue-block.ini.
      service="--workers 2 --queue-capacity 32 --payment-latency 20ms" onset=start load=orders
      pick conns 8 16 32
    fi
    name="$name-single-$fault-$level-$onset-$load-c$conns"
    f=$work/$name.ini
    case $onset in
      start) matrix_scenario "$name" "$service" "$load" "$conns" "$fault=$t1" >"$f" ;;
      mid) pick at 3 4; matrix_scenario "$name" "$service" "$load" "$conns" "" "$at" "$fault=$t1" >"$f" ;;
      late) pick at 5 6; matrix_scenario "$name" "$service" "$load" "$conns" "" "$at" "$fault=$t1" >"$f" ;;
    esac ;;
  pair)
    pick fault leak.threads leak.memory lock.cache queue.stall slow
    fault2=$fault
    while [ "$fault2" = "$fault" ]; do pick fault2 leak.threads leak.memory lock.cache queue.stall queue.block slow; done
    pick level mild strong
    pick level2 mild strong
    pick at 3 4 5
    t1=$(term_of "$fault" "$level") t2=$(term_of "$fault2" "$level2")
    [ "$load" = products ] && load=mix
    if [ "$fault2" = queue.block ]; then
      # queue.block first and on a queue that fills, as in the shipped pairs.
      service="--workers 2 --queue-capacity 32 --payment-latency 20ms"
      [ "$fault" = queue.stall ] && service="--workers 4 --queue-capacity 128 --payment-latency 2ms"
      x=$fault fault=$fault2 fault2=$x x=$t1 t1=$t2 t2=$x level=$level2
    fi
    name="$name-pair-$fault-and-$fault2-$level-$load-c$conns"
    f=$work/$name.ini
    matrix_scenario "$name" "$service" "$load" "$conns" "$fault=$t1" "$at" "$fault2=$t2" >"$f" ;;
  esac
  printf '%s\n' "$f"
}

# ACCURACY_TWINS=1: a healthy twin of every single fault on from the start and of every
# healthy run - the same scenario (name, service, load, capture) with no fault, labelled
# twin - and those runs diagnosed against it (loadlab run --capture --baseline twin), as a CI
# job diagnoses against the runs it gates on. Twins of a matrix already in ACCURACY_DB
# are run when it has none yet, so a stored matrix can be scored both ways.
twins=()
if [ "${ACCURACY_TWINS:-0}" = 1 ] && [ -n "${ACCURACY_MATRIX:-}" ]; then
  for ((i = 1; i <= ACCURACY_MATRIX; i++)); do
    matrix_draw "$i" >"$work/drawn"
    f=$(cat "$work/drawn")
    case $f in
    *-single-*-start-*|*-healthy-*)
      sed '/^fault = /d' "$f" >"${f%.ini}.twin.ini"
      twins+=("${f%.ini}.twin.ini") ;;
    esac
  done
  rng=$(( ${ACCURACY_SEED:-1} % 2147483648 )) singles_drawn=$(( ${ACCURACY_SEED:-1} % 6 ))  # drawn again below
  if [ ! -f "$DB" ] || [ "$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE label = 'twin'")" = 0 ]; then
    echo "running ${#twins[@]} healthy twins into $DB ..." >&2
    "$LOADLAB" run --db "$DB" --capture --quiet --label twin "${twins[@]}" >"$work/twins.log" 2>&1 || true
  fi
fi
against=()
[ ${#twins[@]} -gt 0 ] && against=(--baseline twin)

if [ "${ACCURACY_SKIP_RUNS:-0}" != 1 ] && [ -n "${ACCURACY_MATRIX:-}" ]; then
  files=()
  for ((i = 1; i <= ACCURACY_MATRIX; i++)); do
    matrix_draw "$i" >"$work/drawn"
    files+=("$(cat "$work/drawn")")
  done
  echo "running a matrix of ${#files[@]} runs (seed ${ACCURACY_SEED:-1}) into $DB ..." >&2
  "$LOADLAB" run --db "$DB" --capture --quiet --label accuracy "${against[@]}" "${files[@]}" >"$work/run.log" 2>&1 || true
elif [ "${ACCURACY_SKIP_RUNS:-0}" != 1 ]; then
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
  for id in $(sqlite3 "$DB" "SELECT id FROM runs WHERE label <> 'twin' ORDER BY id"); do
    twin=$(sqlite3 "$DB" "SELECT count(*) FROM runs t, runs r WHERE r.id = $id AND t.label = 'twin' AND
                          t.scenario = r.scenario AND t.status = 'completed'")
    if [ ${#twins[@]} -gt 0 ] && [ "$twin" != 0 ]; then
      "$LOADLAB" diagnose --db "$DB" --baseline twin "$id" >/dev/null
    else
      "$LOADLAB" diagnose --db "$DB" "$id" >/dev/null
    fi
  done
fi

sqlite3 -separator '|' "$DB" <<'SQL' >"$work/scored.txt"
WITH truth AS (
  SELECT run_id, min(on_at) AS on_at,
    CASE fault WHEN 'leak.threads' THEN 'thread-leak' WHEN 'leak.memory' THEN 'memory-leak'
      WHEN 'lock.cache' THEN 'lock-contention' WHEN 'queue.stall' THEN 'queue-full'
      WHEN 'queue.block' THEN 'blocked-producer' WHEN 'slow' THEN 'cpu-slowdown' END AS class,
    CASE fault WHEN 'leak.threads' THEN 'leak_notifier_wait' WHEN 'leak.memory' THEN 'leak_memory_retain'
      WHEN 'lock.cache' THEN 'cache_get_global' WHEN 'queue.stall' THEN 'worker_process_stalled'
      WHEN 'queue.block' THEN 'queue_push_blocking' WHEN 'slow' THEN 'request_burn_cpu' END AS culprit
  FROM phases WHERE term <> 'off' GROUP BY run_id, fault
  UNION ALL
  -- an overloaded run of the matrix: nothing is faulty, and there is no culprit to name
  SELECT id, 0, 'overload', '' FROM runs WHERE scenario LIKE '%-overload-%'),
runs_scored AS (
  SELECT r.id, r.scenario, r.status,
    (SELECT count(*) FROM truth t WHERE t.run_id = r.id) AS faults,
    coalesce((SELECT group_concat(class, ' ') FROM (SELECT class FROM truth t WHERE t.run_id = r.id ORDER BY class)), 'none') AS true_classes,
    coalesce((SELECT group_concat(CASE class WHEN 'none' THEN 'none' ELSE class || ':' || coalesce(nullif(culprit, ''), '?') END, ' ')
              FROM (SELECT class, culprit FROM diagnoses d WHERE d.run_id = r.id ORDER BY class)), '-') AS diagnosed,
    (SELECT count(*) FROM truth t WHERE t.run_id = r.id AND EXISTS
       (SELECT 1 FROM diagnoses d WHERE d.run_id = r.id AND d.class = t.class)) AS classes_right,
    (SELECT count(*) FROM truth t WHERE t.run_id = r.id AND EXISTS
       (SELECT 1 FROM diagnoses d WHERE d.run_id = r.id AND d.class = t.class
          AND coalesce(d.culprit, '') = t.culprit)) AS culprits_right,
    -- a class that was not there; overload named where none was designed is counted apart
    (SELECT count(*) FROM diagnoses d WHERE d.run_id = r.id AND d.class NOT IN ('none', 'overload') AND NOT EXISTS
       (SELECT 1 FROM truth t WHERE t.run_id = r.id AND t.class = d.class)) AS extra,
    (SELECT count(*) FROM diagnoses d WHERE d.run_id = r.id AND d.class = 'overload' AND NOT EXISTS
       (SELECT 1 FROM truth t WHERE t.run_id = r.id AND t.class = d.class)) AS overload_extra,
    -- jobs the run turned away: overload named on a run that turned none away is a false alarm
    coalesce((SELECT max(v) - min(v) FROM (SELECT sum(value) AS v FROM samples s WHERE s.run_id = r.id
       AND s.metric = 'orderd_queue_rejected_total' GROUP BY s.t)), 0) AS rejected,
    -- seconds from a fault's switch-on to the start of its finding, for each fault found
    coalesce((SELECT group_concat(printf('%.2f', d.started_at - t.on_at), ' ') FROM truth t JOIN diagnoses d
       ON d.run_id = t.run_id AND d.class = t.class WHERE t.run_id = r.id AND t.class <> 'overload'
       AND d.started_at IS NOT NULL), '') AS delays
  FROM runs r WHERE r.label <> 'twin')
SELECT id, scenario, status, faults, true_classes, diagnosed, classes_right, culprits_right, extra, overload_extra,
       delays, rejected FROM runs_scored ORDER BY id;
SQL

# How far a found fault's start is from when it was switched on mid-run (the queue
# and the leaks take a moment to show, so this is not all error).
onset=$(sqlite3 -separator ' ' "$DB" "
  WITH truth AS (SELECT run_id, on_at, CASE fault WHEN 'leak.threads' THEN 'thread-leak'
      WHEN 'leak.memory' THEN 'memory-leak' WHEN 'lock.cache' THEN 'lock-contention'
      WHEN 'queue.stall' THEN 'queue-full' WHEN 'queue.block' THEN 'blocked-producer'
      WHEN 'slow' THEN 'cpu-slowdown' END AS class FROM phases WHERE term <> 'off' AND on_at > 1),
  found AS (SELECT d.started_at - t.on_at AS late FROM truth t JOIN diagnoses d
      ON d.run_id = t.run_id AND d.class = t.class WHERE d.started_at IS NOT NULL)
  SELECT count(*), printf('%.2f', coalesce(avg(abs(late)), 0)), printf('%.2f', coalesce(max(abs(late)), 0)) FROM found")

awk -F'|' '
function pad(s, n) { return sprintf("%-" n "s", s) }
BEGIN {
  split("none thread-leak memory-leak lock-contention queue-full blocked-producer cpu-slowdown overload", cls, " ")
  ncls = 8
}
{
  id = $1; scen = $2; status = $3; faults = $4; truth = $5; diag = $6; cr = $7; pr = $8; extra = $9; oextra = $10
  nd = split($11, ds2, " ")
  for (k = 1; k <= nd; k++) { delays++; dsum += ds2[k]; if (delays == 1 || ds2[k] > dworst) dworst = ds2[k] }
  if (oextra > 0 && $12 > 0) { oload_extra++; oload_runs = oload_runs " " id }
  if (oextra > 0 && $12 == 0) { oload_false++; oload_false_runs = oload_false_runs " " id }
  # A matrix run names what it is: mNN-single-FAULT-LEVEL-ONSET-..., mNN-pair-..., mNN-healthy-...
  if (scen ~ /^m[0-9]+-single-/) {
    split(scen, parts, "-"); lv = parts[4]; fl = parts[3]
    lvl_n[lv]++; if (cr == 1) lvl_c[lv]++; if (pr == 1) lvl_p[lv]++
    fl_n[fl, lv]++; if (cr == 1) fl_c[fl, lv]++; faultsseen[fl] = 1
  }
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
  if (length(lvl_n)) {
    split("faint mild strong capped", lv_order, " ")
    printf "\nSingle faults by intensity (class right, culprit right):\n"
    for (k = 1; k <= 4; k++) if (lv_order[k] in lvl_n)
      printf "  %-7s %d/%d, %d/%d\n", lv_order[k], lvl_c[lv_order[k]], lvl_n[lv_order[k]], lvl_p[lv_order[k]], lvl_n[lv_order[k]]
    printf "Per fault and intensity (found/drawn):\n"
    for (fl in faultsseen) {
      line = sprintf("  %-13s", fl)
      for (k = 1; k <= 4; k++) if ((fl, lv_order[k]) in fl_n)
        line = line sprintf(" %s %d/%d", lv_order[k], fl_c[fl, lv_order[k]], fl_n[fl, lv_order[k]])
      print line
    }
  }
  if (delays) printf "\ndetection delay (finding start - switch-on, faults found): mean %.2fs, worst %.2fs over %d\n", dsum / delays, dworst, delays
  printf "overload named where none was designed, on runs that did turn jobs away: %d run(s)%s\n", oload_extra, oload_runs
  printf "overload named on runs that turned no job away (false alarms): %d run(s)%s\n", oload_false, oload_false_runs
}' "$work/scored.txt"
read -r n mean worst <<<"$onset"
[ "$n" -gt 0 ] && echo "faults switched on mid-run: $n found; their start was off by ${mean}s on average, ${worst}s at worst"
echo
echo "database: $DB (loadlab diagnose --db $DB RUN for any run); logs: $work"
