#!/usr/bin/env bash
# Installs the Debian packages loadlab needs to build, test and run, if any is missing.
# As root it runs apt-get; otherwise it names the missing packages and exits 1.
set -euo pipefail

# What builds the programs (the Dockerfile's build stage installs exactly these),
# what loadlab runs, and what only the test suite uses.
build_packages=(
  build-essential pkg-config
  libevent-dev libjansson-dev libinih-dev libsqlite3-dev sqlite3 libcmocka-dev
  libcurl4-openssl-dev libunwind-dev libdw-dev libhttp-parser-dev zlib1g-dev
)
run_packages=(wrk gnuplot-nox valgrind)   # valgrind: callgrind counts instructions_per_request where the CPU has no counters
test_packages=(prometheus golang-go curl procps libxml2-utils docker-compose python3-yaml)
bench_packages=(nginx-light)   # make bench's reference server
# The fuzz targets (tests/fuzz/): clang and the compiler-rt that holds libFuzzer.
fuzz_packages=(clang libclang-rt-dev)
# Optional groups, installed only when asked for (scripts/deps.sh --optional GROUP):
# screenshots: headless Chromium for scripts/report-screenshots.sh.
screenshots_packages=(chromium)
packages=("${build_packages[@]}" "${run_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}" "${fuzz_packages[@]}")
if [ "${1:-}" = "--optional" ]; then
  case "${2:-}" in
    screenshots) packages=("${screenshots_packages[@]}") ;;
    *) echo "usage: scripts/deps.sh [--optional screenshots]" >&2; exit 2 ;;
  esac
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "loadlab needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
