#!/usr/bin/env bash
# test_kubernetes: checks deploy/kubernetes/ short of a cluster. `kubectl apply
# --dry-run=client` still asks an API server for the kinds it knows, so the manifests
# are checked for structure by tests/support/kubernetes_checks.py with Debian's
# python3-yaml: they parse, kinds and selectors fit, the debug port stays on ClusterIP
# Services, the token comes only from the Secret, orderd has its probes, and the Job
# runs a real `loadlab run` on a scenario the image carries. docs/fleet.md says what
# was and was not run on a real cluster.
#
# Exit 0 all checks pass, 1 one failed. Without python3-yaml it prints "skipped: ..."
# and exits 0.
set -u
cd "$(dirname "$0")/../.." || exit 1

# Debian's python3, not whatever python3 comes first in PATH (its yaml is the package's).
if ! /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
  echo "skipped: /usr/bin/python3 has no yaml module (Debian package python3-yaml)"
  exit 0
fi
echo "checking deploy/kubernetes"
if ! /usr/bin/python3 tests/support/kubernetes_checks.py; then
  echo "test_kubernetes: FAILED"
  exit 1
fi
echo "test_kubernetes: all checks passed"
