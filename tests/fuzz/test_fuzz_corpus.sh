#!/usr/bin/env bash
# test_fuzz_corpus: the regression run of the fuzz targets. Builds every libFuzzer
# target in tests/fuzz/ (clang, ASan + UBSan) and runs each once over every input of
# its checked-in corpus, tests/fuzz/corpus/TARGET/ — the seeds and every crash input
# found so far — so a parser change that brings a found crash back fails here.
#
# Exit 0 when every input runs clean; 1 when one crashes, or when the targets cannot be
# built (no clang or no libFuzzer runtime is a failure, never a skip: scripts/deps.sh
# installs both).
set -u
cd "$(dirname "$0")/../.." || exit 1

for tool in clang; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL: $tool is not installed (Debian packages clang libclang-rt-dev; make deps installs them)"
    exit 1
  fi
done
if ! out=$(make --no-print-directory fuzz-build 2>&1); then
  echo "$out" | tail -n 30
  echo "FAIL: the fuzz targets do not build (make fuzz-build above)"
  exit 1
fi
scripts/fuzz.sh regress
