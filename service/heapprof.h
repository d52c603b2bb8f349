/* heapprof: live bytes and objects by allocation site for the service's own
 * allocations (orders, leaked memory) — the heap profile of /debug/pprof/heap.
 *
 * heapprof_malloc() puts a small header before each block pointing at its site record
 * (one per distinct stack), so heapprof_free() can take the bytes off again. The stack
 * is captured only at "profile" instrumentation; otherwise the block is counted
 * under a single "unprofiled" site. */
#ifndef ORDERD_HEAPPROF_H
#define ORDERD_HEAPPROF_H

#include <stddef.h>
#include <stdint.h>

/* malloc/calloc/free that account the block to the caller's stack. NULL on failure;
 * heapprof_free(NULL) is a no-op. Blocks from heapprof_malloc must be freed with
 * heapprof_free and nothing else. */
void *heapprof_malloc(size_t size);
void *heapprof_calloc(size_t n, size_t size);
void heapprof_free(void *p);

/* Totals of live blocks, and of every block ever allocated. NULL outputs are skipped. */
void heapprof_totals(uint64_t *live_bytes, uint64_t *live_objects,
                     uint64_t *alloc_bytes, uint64_t *alloc_objects);

/* The heap profile: debug=1 the legacy text ("heap profile: ..." header then
 * "inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ pcs" with frames),
 * debug=0 gzipped profile.proto with sample types alloc_objects/count,
 * alloc_space/bytes, inuse_objects/count, inuse_space/bytes. Caller frees *out.
 * Blocks without a stack appear as one frame named heapprof_unprofiled (below the
 * profile level) or heapprof_overflow (new stacks once 1024 sites exist); in the
 * text as "@" with no pcs and a "# name" comment. Returns 0 or -1. */
int heapprof_profile(int debug, char **out, size_t *out_len);

/* The same, with the proto's default sample type set (Go's /debug/pprof/allocs is the
 * heap profile with "alloc_space"; NULL leaves pprof's default, inuse_space). */
int heapprof_profile_as(int debug, const char *default_sample_type, char **out, size_t *out_len);

/* How many allocation sites (distinct stacks) the profile has: the count of Go's index. */
int heapprof_site_count(void);

#endif
