#!/usr/bin/env bash
# make overhead: what orderd's instrumentation costs (a study, not a test).
#
# Runs every scenarios/overhead/overhead-*.ini (the same closed-loop load against
# orderd at --instrument off, metrics, profile and a sweep of the mutex fraction and
# the block rate) round by round, OVERHEAD_ROUNDS times, all under one label, then
# judges each setting against overhead-off with loadlab compare (the regression
# gates of the files: throughput -5%, p99 +10%, CPU per request +5%) and prints one
# line per setting: medians, ratio to off with its interval. Runs and verdicts go to
# the results database (the report draws the overhead chart from the runs); the
# table is also written to DB-overhead.txt.
#
#   scripts/overhead.sh BUILD_DIR
# Environment: OVERHEAD_ROUNDS (5), LOADLAB_DB (results.db).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${OVERHEAD_ROUNDS:-5}
DB=${LOADLAB_DB:-results.db}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
LABEL="overhead-$(git describe --always --dirty 2>/dev/null || echo unlabelled)-$(date -u +%Y%m%dT%H%M%S)"
FILES=(scenarios/overhead/overhead-*.ini)

echo "== instrumentation overhead: ${#FILES[@]} settings x $ROUNDS rounds, label $LABEL, into $DB"
"$BUILD/loadlab" run --quiet --db "$DB" --label "$LABEL" --repeat "$ROUNDS" "${FILES[@]}" > "$DB-overhead-runs.txt" || {
  rc=$?; tail -20 "$DB-overhead-runs.txt"; echo "overhead: the runs failed (exit $rc); see $DB-overhead-runs.txt" >&2; exit "$rc"; }
rc=0
"$BUILD/loadlab" compare --db "$DB" --candidate "$LABEL" --against overhead-off --min-runs "$ROUNDS" \
  "${FILES[@]}" > "$DB-overhead-compare.txt" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 99 ] || { cat "$DB-overhead-compare.txt"; exit "$rc"; }

{
  echo "Instrumentation overhead ($LABEL): medians of $ROUNDS runs per setting; ratio to off with its"
  echo "90% bootstrap interval; p: one-sided Mann-Whitney for 'worse than off'; orderd on CPU 0, wrk on CPU 1"
  printf '%-16s %10s %24s %8s %9s %24s %8s %9s %24s\n' setting "req/s" "ratio [90% CI]" p "p99 ms" \
    "ratio [90% CI]" p "cpu/req" "ratio [90% CI]"
  sqlite3 -separator '|' "$DB" "SELECT * FROM (
    SELECT substr(t.scenario, 10) AS setting, t.candidate_median, t.ratio, t.ci_low, t.ci_high, t.p_value,
           l.candidate_median * 1000, l.ratio, l.ci_low, l.ci_high, l.p_value,
           c.candidate_median * 1e6, c.ratio, c.ci_low, c.ci_high
    FROM regressions t
    JOIN regressions l ON l.candidate_label = t.candidate_label AND l.scenario = t.scenario
         AND l.gate = 'regression.p99_latency' AND l.id = (SELECT max(id) FROM regressions x
             WHERE x.candidate_label = t.candidate_label AND x.scenario = t.scenario AND x.gate = l.gate)
    JOIN regressions c ON c.candidate_label = t.candidate_label AND c.scenario = t.scenario
         AND c.gate = 'regression.cpu_per_request' AND c.id = (SELECT max(id) FROM regressions x
             WHERE x.candidate_label = t.candidate_label AND x.scenario = t.scenario AND x.gate = c.gate)
    WHERE t.candidate_label = '$LABEL' AND t.gate = 'regression.throughput'
      AND t.id = (SELECT max(id) FROM regressions x WHERE x.candidate_label = t.candidate_label
                  AND x.scenario = t.scenario AND x.gate = t.gate)
    UNION ALL
    SELECT 'off', (SELECT baseline_median FROM regressions WHERE candidate_label = '$LABEL'
                   AND gate = 'regression.throughput' LIMIT 1), 1, NULL, NULL, NULL,
           (SELECT baseline_median * 1000 FROM regressions WHERE candidate_label = '$LABEL'
                   AND gate = 'regression.p99_latency' LIMIT 1), 1, NULL, NULL, NULL,
           (SELECT baseline_median * 1e6 FROM regressions WHERE candidate_label = '$LABEL'
                   AND gate = 'regression.cpu_per_request' LIMIT 1), 1, NULL, NULL
    ) ORDER BY CASE setting WHEN 'off' THEN 0 WHEN 'metrics' THEN 1 WHEN 'profile' THEN 2 ELSE 3 END, setting" |
  awk -F'|' 'function ci(lo, hi) { return lo == "" ? "" : sprintf("[%.3f, %.3f]", lo, hi) }
    { printf "%-16s %10.0f %7.3f %16s %8s %9.2f %7.3f %16s %8s %9.2f %7.3f %16s\n", $1, $2, $3, ci($4, $5),
        $6 == "" ? "-" : sprintf("%.2g", $6), $7, $8, ci($9, $10), $11 == "" ? "-" : sprintf("%.2g", $11),
        $12, $13, ci($14, $15) }'
  echo
  echo "Verdicts at the files' limits (throughput -5%, p99 +10%, CPU per request +5% against off):"
  grep -E 'regression\.|against' "$DB-overhead-compare.txt"
} | tee "$DB-overhead.txt"
