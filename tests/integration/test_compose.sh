#!/usr/bin/env bash
# test_compose: checks the container stack short of starting a container (Docker may not
# run on a test machine): docker-compose.yml resolves, with the development token and with
# a real one; Prometheus' config and rules pass promtool and the rules' unit tests; and
# every `docker compose` command of the docs uses only subcommands and options Compose v1
# (docker-compose) knows too (tests/support/compose_commands.py); and
# tests/support/compose_checks.py holds the properties that matter - the debug port is
# never published, every debug client carries the token, the images run as non-root
# with a health check, and the Dockerfile installs what scripts/deps.sh installs.
#
# Exit 0 all checks pass, 1 one failed. Without docker-compose or promtool it prints
# "skipped: ..." and exits 0.
set -u
cd "$(dirname "$0")/../.." || exit 1

for tool in docker-compose:docker-compose promtool:prometheus; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    echo "skipped: ${tool%%:*} is not installed (Debian package ${tool#*:})"
    exit 0
  fi
done

failed=0
pass() { echo "  ok: $1"; }
fail() { echo "  FAIL: $1"; failed=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs "$@" quietly; on failure shows its output. Returns its status.
quiet() {
  if "$@" >"$tmp/out" 2>&1; then return 0; fi
  sed 's/^/    | /' "$tmp/out"
  return 1
}

# docker-compose with no settings from the caller's environment or a local .env, so the
# checks see the defaults someone gets on a fresh clone (plus any VAR=value given).
: >"$tmp/empty.env"
compose_config() {
  env -i PATH="$PATH" HOME="$HOME" "$@" \
    docker-compose --env-file "$tmp/empty.env" -f docker-compose.yml config
}

echo "checking docker-compose.yml"
if quiet compose_config; then
  compose_config >"$tmp/default.yml" 2>/dev/null
  pass "docker-compose config accepts it with the development token"
else
  fail "docker-compose config rejects docker-compose.yml"
fi

# A real token, made the way deploy/secrets/README.md tells people to make one.
(umask 022 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/debug-token")
if quiet compose_config LOADLAB_DEBUG_TOKEN_FILE="$tmp/debug-token"; then
  compose_config LOADLAB_DEBUG_TOKEN_FILE="$tmp/debug-token" >"$tmp/real.yml" 2>/dev/null
  pass "docker-compose config accepts it with LOADLAB_DEBUG_TOKEN_FILE set"
else
  fail "docker-compose config rejects LOADLAB_DEBUG_TOKEN_FILE"
fi

echo "checking the Prometheus files"
# promtool insists that the credentials file exists; /run/secrets/debug_token exists
# only in the container, so check a copy pointed at the development token. The
# structural checks below assert that the original names /run/secrets/debug_token.
mkdir -p "$tmp/prometheus"
cp deploy/prometheus/rules.yml "$tmp/prometheus/"
sed "s#credentials_file: */run/secrets/debug_token#credentials_file: $PWD/deploy/secrets/dev-debug-token#" \
  deploy/prometheus/prometheus.yml >"$tmp/prometheus/prometheus.yml"
if quiet promtool check config "$tmp/prometheus/prometheus.yml"; then
  pass "promtool check config (with its rule files)"
else
  fail "promtool check config deploy/prometheus/prometheus.yml"
fi
if quiet promtool check rules deploy/prometheus/rules.yml; then
  pass "promtool check rules"
else
  fail "promtool check rules deploy/prometheus/rules.yml"
fi
if quiet promtool test rules deploy/prometheus/rules.test.yml; then
  pass "promtool test rules: thread-leak alert fires on a leak only, queue alert after 1m above 80%"
else
  fail "promtool test rules deploy/prometheus/rules.test.yml"
fi

echo "checking the docs' container commands against Compose v1"
# Written `docker compose` (v2); the same lines with docker-compose (v1) must work too.
python3 tests/support/compose_commands.py docker-compose || failed=1

echo "checking the stack's properties"
# The package list exactly as scripts/deps.sh declares it, so the two cannot drift.
deps_packages=$(bash -c 'eval "$(sed -n "/^build_packages=(/,/)/p" scripts/deps.sh)"; echo "${build_packages[*]}"')
if [ -z "$deps_packages" ]; then
  fail "could not read the packages=( ... ) list from scripts/deps.sh"
elif ! python3 -c 'import yaml, docker' 2>/dev/null; then
  fail "python3 with yaml and docker modules is needed (python3-yaml, python3-docker: both come with Debian's docker-compose)"
elif [ -s "$tmp/default.yml" ] && [ -s "$tmp/real.yml" ]; then
  python3 tests/support/compose_checks.py \
    --config "$tmp/default.yml" --real-config "$tmp/real.yml" \
    --real-token "$tmp/debug-token" --deps-packages "$deps_packages" || failed=1
else
  fail "no resolved compose configuration to check (see above)"
fi

if [ "$failed" -ne 0 ]; then
  echo "test_compose: FAILED"
  exit 1
fi
echo "test_compose: all checks passed"
