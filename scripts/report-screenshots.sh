#!/usr/bin/env bash
# Screenshots of a rendered report as a reader sees it: the index and one run's page
# (by default the latest run whose scenario switches a fault on), taken by headless
# Chromium. For checking the report's layout by eye; no test depends on it.
#
#   scripts/report-screenshots.sh REPORT_DIR [OUT_DIR] [RUN_ID]
#
# REPORT_DIR is what `loadlab report --out` wrote (index.html, run-N/). Screenshots go
# to OUT_DIR (default REPORT_DIR/screenshots): index.png and run-N.png, each
# WIDTHxHEIGHT (SCREENSHOT_SIZE, default 1400,4000: tall enough for a whole page).
# Installs Debian's chromium when it is missing (scripts/deps.sh --optional screenshots).
# Exits 0 with the files written, 2 on bad usage, 1 when chromium fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ ! -f "$1/index.html" ]; then
  echo "usage: scripts/report-screenshots.sh REPORT_DIR [OUT_DIR] [RUN_ID]  (REPORT_DIR holds index.html)" >&2
  exit 2
fi
report=$(cd "$1" && pwd)
out=${2:-$report/screenshots}
run=${3:-}
size=${SCREENSHOT_SIZE:-1400,4000}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ! command -v chromium >/dev/null 2>&1; then
  scripts/deps.sh --optional screenshots
fi

# A fault run: the newest run page whose Faults table lists a fault.
if [ -z "$run" ]; then
  for page in $(ls -d "$report"/run-*/ 2>/dev/null | sed 's/.*run-\([0-9]*\)\//\1/' | sort -rn); do
    if grep -q '<th>fault</th>' "$report/run-$page/index.html" 2>/dev/null; then
      run=$page
      break
    fi
  done
fi

shoot() {  # shoot PAGE PNG
  # Its own profile folder so that a running browser or a root user's sandbox
  # refusal does not get in the way; bounded in time.
  local profile
  profile=$(mktemp -d /tmp/report-shot-XXXXXX)
  timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$profile" --window-size="$size" --screenshot="$2" "file://$1" >/dev/null 2>&1 || {
    rm -rf "$profile"
    echo "chromium could not take $2 of $1" >&2
    return 1
  }
  rm -rf "$profile"
  echo "$2"
}

shoot "$report/index.html" "$out/index.png"
if [ -n "$run" ] && [ -f "$report/run-$run/index.html" ]; then
  shoot "$report/run-$run/index.html" "$out/run-$run.png"
else
  echo "no fault run's page in $report: only the index was taken" >&2
fi
