/* heapsample: sampling intervals and the table of live samples. See heapsample.h.
 *
 * The table is chained hashing over a fixed array of buckets, entries from a fixed
 * pool. Writers (a sampled allocation, the free of a sampled block) take the lock of
 * the bucket's stripe and keep a bitmap of the buckets that hold anything. Every free
 * asks heapsample_table_may_hold first, inlined into free: no lock, and it reads the
 * 8 KiB bitmap rather than the 512 KiB of bucket heads, so it stays in cache. That is
 * enough to see a sampled block: it was added before malloc returned it, and the
 * caller's own hand-over of the pointer orders that before the free. An entry is
 * taken off before the block goes back to libc, so an address is never in the table
 * twice. */
#include "heapsample.h"
#include "xorshift.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

enum {
    TABLE_BUCKETS = 1 << HEAPSAMPLE_BUCKET_BITS,
    TABLE_STRIPES = 64,
    INTERVAL_CAP = 1u << 31,
};

struct table_entry {
    uintptr_t addr;
    size_t size;
    void *site;
    struct table_entry *next;
};

static _Atomic(struct table_entry *) buckets[TABLE_BUCKETS];
static pthread_mutex_t stripes[TABLE_STRIPES] = {
#define M4 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, \
    PTHREAD_MUTEX_INITIALIZER
#define M16 M4, M4, M4, M4
    M16, M16, M16, M16
#undef M16
#undef M4
};
static struct table_entry pool[HEAPSAMPLE_MAX_LIVE];
static int pool_used;                    /* entries ever handed out, under pool_lock */
static struct table_entry *pool_free;    /* under pool_lock */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic uint64_t heapsample_live;
_Atomic uint64_t heapsample_occupied[HEAPSAMPLE_OCCUPIED_WORDS];
static _Atomic uint64_t dropped;

uint64_t heapsample_seed(uint64_t value)
{
    /* splitmix64, so nearby seeds (thread ids) give unrelated streams */
    uint64_t z = value + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 0x9e3779b97f4a7c15ull;
}

uint64_t heapsample_next_interval(uint64_t *rng, int64_t rate)
{
    double u, gap;

    if (rate <= 1)
        return 0;
    /* 53 random bits, uniform in (0, 1]: -log(u) is never infinite. */
    u = (double)((xorshift64star_next(rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
    gap = -log(u) * (double)rate;
    return gap >= (double)INTERVAL_CAP ? INTERVAL_CAP : (uint64_t)gap;
}


int heapsample_table_add(const void *p, size_t size, void *site)
{
    struct table_entry *e = NULL;
    size_t b = heapsample_bucket_of(p);
    pthread_mutex_t *stripe = &stripes[b % TABLE_STRIPES];

    pthread_mutex_lock(&pool_lock);
    if (pool_free) {
        e = pool_free;
        pool_free = e->next;
    } else if (pool_used < HEAPSAMPLE_MAX_LIVE) {
        e = &pool[pool_used++];
    }
    pthread_mutex_unlock(&pool_lock);
    if (!e) {
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
        return -1;
    }
    e->addr = (uintptr_t)p;
    e->size = size;
    e->site = site;
    pthread_mutex_lock(stripe);
    e->next = atomic_load_explicit(&buckets[b], memory_order_relaxed);
    atomic_store_explicit(&buckets[b], e, memory_order_release);
    atomic_fetch_or_explicit(&heapsample_occupied[b / 64], 1ull << (b % 64), memory_order_release);
    pthread_mutex_unlock(stripe);
    atomic_fetch_add_explicit(&heapsample_live, 1, memory_order_relaxed);
    return 0;
}

int heapsample_table_take(const void *p, size_t *size, void **site)
{
    size_t b;
    struct table_entry *e, *prev = NULL;
    pthread_mutex_t *stripe;

    if (!heapsample_table_may_hold(p))
        return -1;
    b = heapsample_bucket_of(p);
    stripe = &stripes[b % TABLE_STRIPES];
    pthread_mutex_lock(stripe);
    for (e = atomic_load_explicit(&buckets[b], memory_order_relaxed); e; prev = e, e = e->next)
        if (e->addr == (uintptr_t)p)
            break;
    if (e) {
        if (prev)
            prev->next = e->next;
        else
            atomic_store_explicit(&buckets[b], e->next, memory_order_relaxed);
        if (!atomic_load_explicit(&buckets[b], memory_order_relaxed))
            atomic_fetch_and_explicit(&heapsample_occupied[b / 64], ~(1ull << (b % 64)), memory_order_relaxed);
    }
    pthread_mutex_unlock(stripe);
    if (!e)
        return -1;
    *size = e->size;
    *site = e->site;
    atomic_fetch_sub_explicit(&heapsample_live, 1, memory_order_relaxed);
    pthread_mutex_lock(&pool_lock);
    e->next = pool_free;
    pool_free = e;
    pthread_mutex_unlock(&pool_lock);
    return 0;
}

uint64_t heapsample_table_live(void)
{
    return atomic_load_explicit(&heapsample_live, memory_order_relaxed);
}

uint64_t heapsample_table_dropped(void)
{
    return atomic_load_explicit(&dropped, memory_order_relaxed);
}
