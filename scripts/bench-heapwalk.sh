#!/usr/bin/env bash
# What one heap sample's stack costs, in instructions, by callgrind: a tiny program
# links orderd's modules, records its stack bounds as orderd's threads do, and takes
# SAMPLES samples through heapprof_sampled_alloc (the interposer's sampled path) from
# a call chain DEPTH functions deep, at --instrument metrics (the frame-pointer walk)
# and at profile (libunwind's unw_backtrace). Only heapprof_sampled_alloc and what it
# calls are counted (--toggle-collect); each sample's block is taken off again by
# heapprof_sampled_free, outside the count. The first sample of a side walks code the
# walker has not seen (libunwind reads its unwind tables then), so it is reported
# apart from the rest. A benchmark, not a test. Needs valgrind and a built
# $BUILD/liborderd.a. Environment: BUILD (build), SAMPLES (1000), DEPTH (12).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SAMPLES=${SAMPLES:-1000}
DEPTH=${DEPTH:-12}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
make --no-print-directory -s "$BUILD/liborderd.a" "$BUILD/libcommon.a"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/walk.c" <<'C'
#include "heapprof.h"
#include "instrument.h"
#include "stacks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_sample(void *p, int depth);
__attribute__((noinline, noipa)) void bench_sample(void *p, int depth)
{
    if (depth > 0)
        bench_sample(p, depth - 1);
    else
        heapprof_sampled_alloc(p, 64, 0);
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
    char err[256];
    int n = atoi(argv[2]), depth = atoi(argv[3]);
    static void *blocks[100000];

    if (argc != 4 || n <= 0 || n > 100000)
        return 2;
    (void)stacks_fp_thread_bounds(__builtin_frame_address(0));
    if (stacks_init(err, sizeof err) < 0)
        return 1;
    heapprof_use_sampling(1);
    atomic_store(&instrument.level, strcmp(argv[1], "profile") == 0 ? INSTRUMENT_PROFILE : INSTRUMENT_METRICS);
    for (int i = 0; i < n; i++)
        blocks[i] = malloc(64);
    for (int i = 0; i < n; i++)
        bench_sample(blocks[i], depth);
    for (int i = 0; i < n; i++) {
        heapprof_sampled_free(blocks[i]);
        free(blocks[i]);
    }
    return 0;
}
C
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -pthread -O2 -g -fno-omit-frame-pointer -Icommon -Iservice \
  $(pkg-config --cflags libunwind libdw) "$tmp/walk.c" "$BUILD/liborderd.a" "$BUILD/libcommon.a" \
  -rdynamic $(pkg-config --libs libevent libevent_pthreads jansson inih sqlite3 libcurl libunwind libdw zlib) \
  -lhttp_parser -lm -o "$tmp/walk"

# Instructions inside function $3 over $2 samples at level $1.
count() {
  local level=$1 samples=$2 fn=$3 out
  out="$tmp/cg.$level.$samples.$fn"
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$fn" \
    "$tmp/walk" "$level" "$samples" "$DEPTH" >/dev/null 2>&1
  sed -n 's/^summary: //p' "$out"
}

printf 'side     walker          first sample   each further sample, of which the walk (over %d, depth %d)\n' \
  "$SAMPLES" "$DEPTH"
for level in metrics profile; do
  walker=$([ "$level" = metrics ] && echo stacks_capture_self_fp || echo stacks_capture_self)
  one=$(count "$level" 1 heapprof_sampled_alloc)
  many=$(count "$level" "$SAMPLES" heapprof_sampled_alloc)
  walk_one=$(count "$level" 1 "$walker")
  walk_many=$(count "$level" "$SAMPLES" "$walker")
  awk -v l="$level" -v w="$walker" -v one="$one" -v many="$many" -v wone="$walk_one" -v wmany="$walk_many" \
    -v n="$SAMPLES" 'BEGIN { printf "%-8s %-22s %8d   %8.0f, %8.0f\n", l, w, one, (many - one) / (n - 1), (wmany - wone) / (n - 1) }'
done
