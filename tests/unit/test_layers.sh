#!/usr/bin/env bash
# test_layers: the harness's include arrows point down the layers of
# docs/architecture.md (base, judge, store, run, output, diagnose, report, cmd), only
# store/ includes SQLite, and common/ includes nothing of either program. A file that
# breaks one of these is named with the line that does it.
set -u
cd "$(dirname "$0")/../.." || exit 1
layers=(base judge store run output diagnose report cmd)
rank() { local i; for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }

failed=0 checked=0
for dir in harness/*/; do
  layer=$(basename "$dir")
  mine=$(rank "$layer")
  if [ "$mine" -lt 0 ]; then
    echo "  FAIL: harness/$layer/ is not a layer of docs/architecture.md"; failed=1; continue
  fi
  while IFS=: read -r file line text; do
    target=$(sed -E 's/.*#include "([a-z]+)\/.*/\1/' <<<"$text")
    theirs=$(rank "$target")
    checked=$((checked + 1))
    if [ "$theirs" -lt 0 ] || [ "$theirs" -gt "$mine" ]; then
      echo "  FAIL: $file:$line: $layer/ includes $target/ (${text#*#include })"; failed=1
    fi
  done < <(grep -nE '^#include "[a-z]+/' "$dir"*.[ch] /dev/null)
done
while IFS=: read -r file line _; do
  case "$file" in harness/store/*) ;; *) echo "  FAIL: $file:$line includes sqlite3.h outside store/"; failed=1 ;; esac
done < <(grep -rn '#include <sqlite3.h>' harness)
if grep -rnE '#include "(base|store|judge|run|output|diagnose|report|cmd)/|#include "(api|httpserver|debug|workers)\.h"' common; then
  echo "  FAIL: common/ includes a program's header"; failed=1
fi
echo "  checked $checked include lines"
if [ "$failed" -eq 0 ]; then echo "layers: 1 passed, 0 failed"; else echo "layers: 0 passed, 1 failed"; fi
exit "$failed"
