#!/usr/bin/env bash
# Runs every test binary under $BUILD/tests (or those named), each with a time limit,
# and ends with one line "N passed, N failed" counting test binaries.
set -u
BUILD=${BUILD:-build}
export ORDERD_BIN=${ORDERD_BIN:-$BUILD/orderd}
export LOADLAB_BIN=${LOADLAB_BIN:-$BUILD/loadlab}
# Sanitizer findings must fail the run, in the tests and in the binaries they start.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=()
  for t in "$BUILD"/tests/unit/test_* "$BUILD"/tests/integration/test_*; do
    case "$t" in *.d|*.o) continue ;; esac
    [ -x "$t" ] && tests+=("$t")
  done
  for t in tests/unit/test_*.sh tests/integration/test_*.sh tests/fuzz/test_*.sh; do [ -f "$t" ] && tests+=("$t"); done
fi
passed=0; failed=0; failed_names=()
for t in "${tests[@]}"; do
  [ -e "$t" ] || t=$(ls "$BUILD"/tests/*/"$t" 2>/dev/null | head -n 1)
  echo "=== $(basename "$t")"
  start=$(date +%s)
  case "$t" in *.sh) cmd=(bash "$t") ;; *) cmd=("$t") ;; esac
  if timeout 300 "${cmd[@]}"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failed_names+=("$(basename "$t")")
  fi
  echo "--- $(basename "$t") $(( $(date +%s) - start ))s"
done
[ $failed -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ]
