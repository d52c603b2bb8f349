#!/usr/bin/env bash
# How long `loadlab report` takes to render one run: prints the wall time of five
# renders (SVG) and one with --png, and the size of the run. Not a test: a figure.
#
#   scripts/report-bench.sh [BUILD_DIR] [DB RUN]
#
# Without DB and RUN it first records a 60-second copy of scenarios/baseline.ini
# (2 s warmup + 58 s measured, scraped every 250 ms) into a temporary database, which
# takes about a minute of load.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -ge 3 ]; then
  db=$2 run=$3
else
  db=$tmp/results.db run=1
  sed 's/^duration = 8s/duration = 58s/; s/^name = baseline/name = baseline-60s/' \
    scenarios/baseline.ini >"$tmp/baseline-60s.ini"
  echo "recording a 60 s baseline run (about a minute)..." >&2
  ORDERD_BIN=${ORDERD_BIN:-$build/orderd} "$build/loadlab" run --db "$db" --quiet "$tmp/baseline-60s.ini" >/dev/null || true
fi
sqlite3 "$db" "SELECT 'run ' || $run || ': ' || count(DISTINCT t) || ' scrapes, ' || count(*) || ' samples, '
               || printf('%.1f', max(t)) || ' s' FROM samples WHERE run_id = $run"
for i in 1 2 3 4 5; do
  rm -rf "$tmp/out"
  start=$(date +%s%N)
  "$build/loadlab" report --db "$db" --out "$tmp/out" "$run" >/dev/null
  echo "render $i: $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
rm -rf "$tmp/out"
start=$(date +%s%N)
"$build/loadlab" report --db "$db" --out "$tmp/out" --png "$run" >/dev/null
echo "render with --png: $(( ($(date +%s%N) - start) / 1000000 )) ms"
echo "charts: $(find "$tmp/out" -name '*.svg' | wc -l) SVG, $(du -sh "$tmp/out" | cut -f1) in all"
