/* heapprof: live and allocated bytes and objects by allocation site — the heap
 * profile of /debug/pprof/heap and /debug/pprof/allocs. It runs in one of two modes,
 * chosen once at startup:
 *
 * - sampled (orderd with its malloc interposer, service/mallochook.c): every
 *   allocation of the process is a candidate, one sample per `rate` bytes on average
 *   (Go's MemProfileRate); the interposer calls heapprof_sampled_alloc/free, and the
 *   profile scales each site back up as Go does. heapprof_malloc is plain malloc.
 * - recorded (sanitizer builds, where ASan/TSan own malloc, and programs without the
 *   interposer): only blocks from heapprof_malloc are counted, every one of them.
 *   Each carries a small header naming its site, so heapprof_free can take the bytes
 *   off again.
 *
 * In both modes a block's stack is captured from the "metrics" instrumentation level
 * up: at "metrics" by frame pointers (stacks_capture_self_fp: a few hundred
 * instructions, ending at the first library frame), at "profile" by libunwind. At
 * "off", or on a thread that recorded no stack bounds (stacks_fp_thread_bounds), the
 * block is counted under a single "unprofiled" site. */
#ifndef ORDERD_HEAPPROF_H
#define ORDERD_HEAPPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Set once by heapprof_use_sampling, before any heapprof_malloc; read-only after. */
extern bool heapprof_sampling;

/* The recorded mode's allocator: see heapprof_malloc. */
void *heapprof_recorded_malloc(size_t size);
void *heapprof_recorded_calloc(size_t n, size_t size);
void heapprof_recorded_free(void *p);

/* malloc/calloc/free for the service's own blocks (orders, leaked memory), so that
 * they reach the profile in either mode. NULL on failure; heapprof_free(NULL) is a
 * no-op. Blocks from heapprof_malloc must be freed with heapprof_free. Macros rather
 * than inline functions: an inlined function would still be named as a frame of the
 * stack, which must start at the caller. */
#define heapprof_malloc(size) (heapprof_sampling ? malloc(size) : heapprof_recorded_malloc(size))
#define heapprof_calloc(n, size) \
    (heapprof_sampling ? calloc((n), (size)) : heapprof_recorded_calloc((n), (size)))
#define heapprof_free(p) (heapprof_sampling ? free(p) : heapprof_recorded_free(p))

/* Switches to the sampled mode at `rate` bytes per sample (1: every allocation,
 * 0: none). Call once, before any heapprof_malloc and before threads start. */
void heapprof_use_sampling(int64_t rate);

/* The sampling rate the profile is scaled by: 1 in the recorded mode. */
int64_t heapprof_rate(void);

/* For the interposer, on its sampled path: records block p of `size` bytes under the
 * stack of the caller `skip` frames above the caller of this function (skip counts
 * the interposer's own frames); under the one unprofiled site without a stack when the
 * stack cannot be taken (the off level, or a thread with no recorded stack bounds at
 * metrics). */
void heapprof_sampled_alloc(void *p, size_t size, int skip);

/* For the interposer, before every free of a non-NULL p (and a realloc that moves or
 * frees it): takes a sampled block off its site. Returns true when p was sampled. */
bool heapprof_sampled_free(void *p);

/* Totals of live blocks, and of every block ever allocated (the sampled mode's
 * estimates, scaled as the profile is). NULL outputs are skipped. */
void heapprof_totals(uint64_t *live_bytes, uint64_t *live_objects,
                     uint64_t *alloc_bytes, uint64_t *alloc_objects);

/* The heap profile: debug=1 the legacy text ("heap profile: ..." header then
 * "inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ pcs" with frames; as
 * Go's, raw sample counts and the header's "heap/2*rate" for the reader to scale),
 * debug=0 gzipped profile.proto with sample types alloc_objects/count,
 * alloc_space/bytes, inuse_objects/count, inuse_space/bytes, already scaled, period
 * space/bytes = rate. Caller frees *out.
 * Blocks without a stack appear as one frame named heapprof_unprofiled (at off, or a
 * thread whose stack could not be walked) or heapprof_overflow (new stacks once 1024 sites exist); in the
 * text as "@" with no pcs and a "# name" comment. Returns 0 or -1. */
int heapprof_profile(int debug, char **out, size_t *out_len);

/* The same, with the proto's default sample type set (Go's /debug/pprof/allocs is the
 * heap profile with "alloc_space"; NULL leaves pprof's default, inuse_space). */
int heapprof_profile_as(int debug, const char *default_sample_type, char **out, size_t *out_len);

/* How many allocation sites (distinct stacks) the profile has: the count of Go's index. */
int heapprof_site_count(void);

#endif
