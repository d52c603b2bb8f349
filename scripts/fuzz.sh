#!/usr/bin/env bash
# Runs the libFuzzer targets built into $FUZZ_BUILD/tests/fuzz/ (make fuzz-build).
#
#   scripts/fuzz.sh run [TARGET...]      fuzz each target, one at a time under nice, for
#                                        $FUZZ_RUNS executions (default 1000000) or
#                                        $FUZZ_SECONDS (default 600), whichever comes
#                                        first (FUZZ_RUNS=-1: for the time alone); prints
#                                        executions/s, executions and corpus size
#   scripts/fuzz.sh regress [TARGET...]  run each target once over every input of its
#                                        checked-in corpus (tests/fuzz/corpus/TARGET/)
#
# TARGET is a name such as "promtext" (fuzz_promtext). A run keeps what it finds under
# $FUZZ_BUILD/fuzz-corpus/TARGET (new inputs) and $FUZZ_BUILD/fuzz-crashes/TARGET
# (crash inputs); a crash input belongs in the checked-in corpus once its fix lands.
# Inputs listed in tests/fuzz/known-crashes (known, not yet fixed) are left out of the
# regression run and named in its output. Exit 0 when nothing crashed, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_RUNS=${FUZZ_RUNS:-1000000}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mode=${1:-}
shift || true
case "$mode" in run|regress) ;; *) echo "usage: $0 run|regress [TARGET...]" >&2; exit 2 ;; esac

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do
    name=${src#tests/fuzz/fuzz_}
    targets+=("${name%.c}")
  done
fi

# The known crash inputs, as corpus-relative paths ("scenario/crash-..."); comments and
# blank lines skipped.
known=()
if [ -f tests/fuzz/known-crashes ]; then
  while read -r path _; do
    case "$path" in ''|'#'*) continue ;; esac
    known+=("$path")
  done < tests/fuzz/known-crashes
fi
is_known() {
  local k
  for k in "${known[@]}"; do [ "$k" = "$1" ] && return 0; done
  return 1
}

failed=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "${targets[@]}"; do
  bin="$FUZZ_BUILD/tests/fuzz/fuzz_$t"
  seeds="tests/fuzz/corpus/$t"
  if [ ! -x "$bin" ]; then
    echo "FAIL $t: $bin is not built (make fuzz-build; needs clang and libclang-rt-dev)"
    failed+=("$t")
    continue
  fi
  if [ ! -d "$seeds" ]; then
    echo "FAIL $t: no seed corpus $seeds"
    failed+=("$t")
    continue
  fi
  if [ "$mode" = regress ]; then
    inputs=()
    skipped=()
    for f in "$seeds"/*; do
      [ -f "$f" ] || continue
      if is_known "$t/$(basename "$f")"; then skipped+=("$(basename "$f")"); continue; fi
      inputs+=("$f")
    done
    start=$(date +%s)
    if "$bin" -timeout=10 -rss_limit_mb=2048 "${inputs[@]}" >"$log" 2>&1; then
      printf '  ok %-12s %4d inputs in %ds' "$t" "${#inputs[@]}" $(( $(date +%s) - start ))
      [ ${#skipped[@]} -gt 0 ] && printf ' (left out, known crashes: %s)' "${skipped[*]}"
      printf '\n'
    else
      echo "FAIL $t: an input of $seeds crashed:"
      grep -E '^(Running:|==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | tail -n 6
      tail -n 30 "$log"
      failed+=("$t")
    fi
    continue
  fi
  work="$FUZZ_BUILD/fuzz-corpus/$t"
  crashes="$FUZZ_BUILD/fuzz-crashes/$t"
  # The seeds without the known crash inputs, or every run would stop at one.
  seeded="$FUZZ_BUILD/fuzz-seeds/$t"
  rm -rf "$seeded"
  mkdir -p "$work" "$crashes" "$seeded"
  for f in "$seeds"/*; do
    [ -f "$f" ] || continue
    is_known "$t/$(basename "$f")" || cp "$f" "$seeded/"
  done
  echo "=== fuzz_$t: $FUZZ_RUNS executions or ${FUZZ_SECONDS}s"
  nice -n 10 "$bin" -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "$seeded" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  corpus=$(ls "$work" | wc -l)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
  if [ $rc -eq 0 ]; then
    printf '  ok %-12s %8s execs/s %10s executions in %4ss  corpus %s\n' "$t" "${rate:-?}" "${execs:-?}" "${secs:-?}" "$corpus"
  else
    echo "FAIL $t (exit $rc): crash input in $crashes/"
    grep -E '==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written|^    #[0-9]' "$log" | head -n 20
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz $mode: failed: ${failed[*]}"
  exit 1
fi
echo "fuzz $mode: ${#targets[@]} targets, no crash"
