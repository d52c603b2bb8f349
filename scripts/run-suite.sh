#!/usr/bin/env bash
# The default scenario suite (`make run`): every scenario in scenarios/, run by
# BUILD_DIR/loadlab against BUILD_DIR/orderd, recorded in results.db, summary printed.
# Exits with loadlab's code: 0 every scenario met its expectations, 99 a gate verdict
# differed from what its scenario expects, 2 a bad scenario file, 1 anything else.
#
#   scripts/run-suite.sh BUILD_DIR [loadlab run options, e.g. --junit suite.xml]
#
# LOADLAB_DB overrides the database path (default results.db).
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
export ORDERD_BIN=${ORDERD_BIN:-$build/orderd}
exec "$build/loadlab" run --db "${LOADLAB_DB:-results.db}" "$@" scenarios/*.ini
