#!/usr/bin/env bash
# The default scenario suite (`make run`): every scenario in scenarios/, run by
# BUILD_DIR/loadlab against BUILD_DIR/orderd, recorded in results.db, summary printed,
# and its report rendered (charts, index.html, summary.md; the index path is printed).
# Exits with loadlab's code: 0 every scenario met its expectations, 99 a gate verdict
# differed from what its scenario expects, 2 a bad scenario file, 1 anything else.
#
#   scripts/run-suite.sh BUILD_DIR [loadlab run options, e.g. --junit suite.xml]
#
# LOADLAB_DB overrides the database path (default results.db), LOADLAB_REPORT the
# report folder (default reports/out). Missing charts only print a warning; a report
# that cannot be written at all turns a passing suite's 0 into 1, as --junit does.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
export ORDERD_BIN=${ORDERD_BIN:-$build/orderd}
exec "$build/loadlab" run --db "${LOADLAB_DB:-results.db}" --report "${LOADLAB_REPORT:-reports/out}" "$@" \
  scenarios/*.ini
