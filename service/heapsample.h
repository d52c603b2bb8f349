/* heapsample: the arithmetic and the bookkeeping of a sampled heap, as Go's runtime
 * and tcmalloc sample: one sample per `rate` bytes allocated on average, the gaps
 * between samples drawn from an exponential distribution so every byte is equally
 * likely to be the one sampled, and each sample later scaled back up ("unsampled", by
 * common/heapscale) to the allocations it stands for.
 *
 * The table maps the address of each live sampled block to its size and its site, so
 * a free can take it off again. It never allocates (a fixed pool of entries), so the
 * malloc interposer can call it from inside malloc. Checking a free that is not
 * sampled takes no lock and no call: heapsample_table_may_hold, inlined. */
#ifndef ORDERD_HEAPSAMPLE_H
#define ORDERD_HEAPSAMPLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAPSAMPLE_DEFAULT_RATE (512 * 1024)   /* Go's runtime.MemProfileRate */
#define HEAPSAMPLE_MAX_RATE (1ll << 30)
#define HEAPSAMPLE_MAX_LIVE (1 << 16)         /* live sampled blocks tracked at once */

/* The next gap in bytes before a sample, exponential with mean `rate`, drawn from the
 * xorshift state *rng (never 0; seed it with heapsample_seed). rate <= 1 gives 0 (sample
 * every allocation). Capped at 2^31 so one draw cannot switch sampling off. */
uint64_t heapsample_next_interval(uint64_t *rng, int64_t rate);

/* A non-zero xorshift state from any 64-bit value. */
uint64_t heapsample_seed(uint64_t value);

#define HEAPSAMPLE_BUCKET_BITS 16
#define HEAPSAMPLE_OCCUPIED_WORDS ((1 << HEAPSAMPLE_BUCKET_BITS) / 64)

/* For heapsample_table_may_hold only: the count of live sampled blocks, and one bit per
 * bucket that holds any. */
extern _Atomic uint64_t heapsample_live;
extern _Atomic uint64_t heapsample_occupied[HEAPSAMPLE_OCCUPIED_WORDS];

static inline size_t heapsample_bucket_of(const void *p)
{
    return (size_t)((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - HEAPSAMPLE_BUCKET_BITS));
}

/* False when p is certainly not in the table (almost every free): two relaxed loads of
 * hot cache lines, no lock. True means heapsample_table_take must look. */
static inline bool heapsample_table_may_hold(const void *p)
{
    size_t b;

    if (atomic_load_explicit(&heapsample_live, memory_order_relaxed) == 0)
        return false;
    b = heapsample_bucket_of(p);
    return (atomic_load_explicit(&heapsample_occupied[b / 64], memory_order_acquire) >> (b % 64)) & 1;
}

/* Adds a live sampled block. Returns 0, or -1 when HEAPSAMPLE_MAX_LIVE blocks are
 * already tracked (the block then is not followed to its free). */
int heapsample_table_add(const void *p, size_t size, void *site);

/* Takes p off the table when it is there: fills *size and *site and returns 0;
 * -1 when p was not sampled (the common case, answered without a lock). */
int heapsample_table_take(const void *p, size_t *size, void **site);

/* Live sampled blocks in the table now, and blocks that found it full (ever). */
uint64_t heapsample_table_live(void);
uint64_t heapsample_table_dropped(void);

#endif
