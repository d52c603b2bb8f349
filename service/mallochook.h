/* mallochook: orderd's own malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign, valloc and pvalloc, which forward to glibc's allocator and
 * sample every allocation of the process for the heap profile (heapprof's sampled
 * mode). Linked into orderd only, never into the module library the tests link.
 *
 * Compiled out under AddressSanitizer and ThreadSanitizer, which intercept malloc
 * themselves (and with -DORDERD_NO_MALLOCHOOK, to measure what it costs): there
 * mallochook_start fails and orderd keeps heapprof's recorded mode. */
#ifndef ORDERD_MALLOCHOOK_H
#define ORDERD_MALLOCHOOK_H

#include <stdint.h>

/* Starts sampling one allocation per `rate` bytes on average (1: every allocation,
 * 0: none): with its stack at instrumentation level "profile", counted without one at
 * "metrics", not at all at "off". Switches heapprof to its sampled mode. Call once from main, before threads and before heapprof_malloc.
 * Returns 0, or -1 when the interposer is compiled out (nothing changes). */
int mallochook_start(int64_t rate);

#endif
