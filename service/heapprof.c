/* heapprof: live and allocated bytes by allocation site. See heapprof.h.
 *
 * A site is one distinct allocation stack. Sites live in a fixed pool that never
 * shrinks and are published into an open-addressed index with release stores, so
 * the lookup on each profiled allocation takes no lock; only the first allocation
 * from a new stack takes the insert mutex. When the pool is full, new stacks share
 * one overflow site. Counters are atomics on each site's own cache line.
 *
 * Sampled mode: the counters are raw sample counts; the table of heapsample.c ties
 * each live sampled block to its site, and the proto and the totals are scaled by
 * heapscale_unsample per site and per pair (alloc, inuse), as Go scales its buckets.
 * Recorded mode: each block carries a 16-byte header naming its site, so a free needs
 * no lookup; at off every block goes to one unprofiled site, so the totals are right
 * at any level.
 *
 * Stacks, both modes: at profile libunwind's walk (exact through library frames); at
 * metrics the frame-pointer walk of stacks_fp.c (a few hundred instructions, where a
 * first libunwind walk costs about 100,000 and made metrics' instruction counts
 * inexact), so a leak that fills before a diagnosis switches profiling on is charged
 * to its function; a sample whose stack cannot be walked (a thread with no recorded
 * bounds) goes to the unprofiled site. Every allocation is recorded (Go's
 * MemProfileRate=1), so nothing is scaled and the text header says heap/2, as Go's
 * does for rate 1. */
#include "heapprof.h"

#include "heapsample.h"
#include "heapscale.h"
#include "instrument.h"
#include "pprof.h"
#include "stacks.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    HEAPPROF_MAX_SITES = 1024,
    HEAPPROF_SITE_SLOTS = 2048,   /* index slots: at most half full */
};

/* The sites without a stack are written to the proto as one pseudo frame each, at
 * an address no code can have; heap_symbolize names them. */
#define HEAPPROF_UNPROFILED_PC ((uintptr_t)0x10)
#define HEAPPROF_OVERFLOW_PC ((uintptr_t)0x20)

struct heap_site {
    _Alignas(64) _Atomic uint64_t live_bytes;
    _Atomic uint64_t live_objects;
    _Atomic uint64_t alloc_bytes;
    _Atomic uint64_t alloc_objects;
    /* Set before the site is published, never changed after. */
    uint64_t hash;
    int npcs;
    uintptr_t pcs[STACKS_MAX_DEPTH];
};

struct heap_header {
    _Alignas(16) struct heap_site *site;
    size_t size;
};

_Static_assert(sizeof(struct heap_header) % 16 == 0, "blocks must stay 16-byte aligned");

static struct heap_site sites[HEAPPROF_MAX_SITES];
static _Atomic int nsites;
static _Atomic(struct heap_site *) site_index[HEAPPROF_SITE_SLOTS];
static pthread_mutex_t insert_lock = PTHREAD_MUTEX_INITIALIZER;
static struct heap_site unprofiled_site;
static struct heap_site overflow_site;

bool heapprof_sampling;
static int64_t sample_rate = 1;   /* written once, before threads, by heapprof_use_sampling */


/* The published site with this stack, or NULL with *slot set to where it would go. */
static struct heap_site *site_lookup(uint64_t hash, const uintptr_t *pcs, int npcs, size_t *slot)
{
    size_t i = hash & (HEAPPROF_SITE_SLOTS - 1);
    struct heap_site *s;

    while ((s = atomic_load_explicit(&site_index[i], memory_order_acquire)) != NULL) {
        if (s->hash == hash && s->npcs == npcs &&
            memcmp(s->pcs, pcs, (size_t)npcs * sizeof *pcs) == 0)
            return s;
        i = (i + 1) & (HEAPPROF_SITE_SLOTS - 1);
    }
    *slot = i;
    return NULL;
}

static struct heap_site *site_for_stack(const uintptr_t *pcs, int npcs)
{
    uint64_t hash = stacks_hash(pcs, npcs);
    struct heap_site *s;
    size_t slot;
    int n;

    s = site_lookup(hash, pcs, npcs, &slot);
    if (s)
        return s;
    if (atomic_load_explicit(&nsites, memory_order_acquire) >= HEAPPROF_MAX_SITES)
        return &overflow_site;
    pthread_mutex_lock(&insert_lock);
    /* Inserts only happen under the lock: if still absent, slot stays free. */
    s = site_lookup(hash, pcs, npcs, &slot);
    if (!s) {
        n = atomic_load_explicit(&nsites, memory_order_relaxed);
        if (n < HEAPPROF_MAX_SITES) {
            s = &sites[n];
            s->hash = hash;
            s->npcs = npcs;
            memcpy(s->pcs, pcs, (size_t)npcs * sizeof *pcs);
            atomic_store_explicit(&nsites, n + 1, memory_order_release);
            atomic_store_explicit(&site_index[slot], s, memory_order_release);
        } else {
            s = &overflow_site;
        }
    }
    pthread_mutex_unlock(&insert_lock);
    return s;
}

/* The stack of an allocation into pcs, `skip` frames above the caller of the function
 * this is inlined into (always_inline: its frame is not one to skip); 0 for no stack.
 * At profile, libunwind's walk; at metrics, the frame-pointer walk of small, fixed cost
 * (the level's instruction counts must stay exact, and a leak that fills before
 * profiling is switched on must still be named); at off, none. */
static inline __attribute__((always_inline)) int allocation_stack(uintptr_t *pcs, int skip)
{
    if (instrument_profile_on())
        return stacks_capture_self(pcs, STACKS_MAX_DEPTH, skip);
    if (instrument_metrics_on())
        return stacks_capture_self_fp(pcs, STACKS_MAX_DEPTH, skip);
    return 0;
}

/* Inlined into both public allocators so that skipping one frame of the capture
 * starts the stack at their caller. */
static inline __attribute__((always_inline)) void *heap_alloc(size_t size, int zero)
{
    struct heap_header *h;
    struct heap_site *site = &unprofiled_site;

    if (size > SIZE_MAX - sizeof *h)
        return NULL;
    h = zero ? calloc(1, sizeof *h + size) : malloc(sizeof *h + size);
    if (!h)
        return NULL;
    if (instrument_metrics_on()) {
        uintptr_t pcs[STACKS_MAX_DEPTH];
        int npcs = allocation_stack(pcs, 1);   /* 1: heapprof_recorded_malloc's frame */
        if (npcs > 0)
            site = site_for_stack(pcs, npcs);
    }
    h->site = site;
    h->size = size;
    atomic_fetch_add_explicit(&site->live_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->live_objects, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->alloc_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->alloc_objects, 1, memory_order_relaxed);
    return h + 1;
}

void *heapprof_recorded_malloc(size_t size)
{
    return heap_alloc(size, 0);
}

void *heapprof_recorded_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return heap_alloc(n * size, 1);
}

void heapprof_recorded_free(void *p)
{
    struct heap_header *h;

    if (!p)
        return;
    h = (struct heap_header *)p - 1;
    atomic_fetch_sub_explicit(&h->site->live_bytes, h->size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&h->site->live_objects, 1, memory_order_relaxed);
    free(h);
}

void heapprof_use_sampling(int64_t rate)
{
    heapprof_sampling = true;
    sample_rate = rate;
}

int64_t heapprof_rate(void)
{
    return sample_rate;
}

void heapprof_sampled_alloc(void *p, size_t size, int skip)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    struct heap_site *site = &unprofiled_site;
    int npcs = allocation_stack(pcs, skip + 1);

    if (npcs > 0)
        site = site_for_stack(pcs, npcs);
    atomic_fetch_add_explicit(&site->alloc_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->alloc_objects, 1, memory_order_relaxed);
    /* A block the full table cannot follow to its free counts as allocated only. */
    if (heapsample_table_add(p, size, site) < 0)
        return;
    atomic_fetch_add_explicit(&site->live_bytes, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->live_objects, 1, memory_order_relaxed);
}

bool heapprof_sampled_free(void *p)
{
    struct heap_site *site;
    void *found;
    size_t size;

    if (heapsample_table_take(p, &size, &found) < 0)
        return false;
    site = found;
    atomic_fetch_sub_explicit(&site->live_bytes, size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&site->live_objects, 1, memory_order_relaxed);
    return true;
}

/* A consistent-enough reading of one site: each counter is read once. */
struct heap_row {
    const struct heap_site *site;
    uint64_t live_bytes, live_objects, alloc_bytes, alloc_objects;
};

static void row_read(struct heap_row *r, const struct heap_site *s)
{
    r->site = s;
    r->live_bytes = atomic_load_explicit(&s->live_bytes, memory_order_relaxed);
    r->live_objects = atomic_load_explicit(&s->live_objects, memory_order_relaxed);
    r->alloc_bytes = atomic_load_explicit(&s->alloc_bytes, memory_order_relaxed);
    r->alloc_objects = atomic_load_explicit(&s->alloc_objects, memory_order_relaxed);
}

/* The row scaled back up to the allocations its samples stand for (a no-op at rate 1). */
static struct heap_row row_scaled(const struct heap_row *r)
{
    struct heap_row s = *r;

    heapscale_unsample(r->alloc_objects, r->alloc_bytes, sample_rate, &s.alloc_objects, &s.alloc_bytes);
    heapscale_unsample(r->live_objects, r->live_bytes, sample_rate, &s.live_objects, &s.live_bytes);
    return s;
}

/* Site i of the n published ones, then the two stackless sites (i == n, n + 1). */
static const struct heap_site *site_at(int i, int n)
{
    if (i < n)
        return &sites[i];
    return i == n ? &unprofiled_site : &overflow_site;
}

/* Reads every site that ever allocated into rows[] (room for the pool and the two
 * stackless sites). Returns the count. */
static int rows_read(struct heap_row *rows)
{
    int n = atomic_load_explicit(&nsites, memory_order_acquire);
    int count = 0;

    for (int i = 0; i < n + 2; i++) {
        row_read(&rows[count], site_at(i, n));
        if (rows[count].alloc_objects != 0)
            count++;
    }
    return count;
}

void heapprof_totals(uint64_t *live_bytes, uint64_t *live_objects,
                     uint64_t *alloc_bytes, uint64_t *alloc_objects)
{
    int n = atomic_load_explicit(&nsites, memory_order_acquire);
    struct heap_row sum = { 0 }, r;

    for (int i = 0; i < n + 2; i++) {
        row_read(&r, site_at(i, n));
        r = row_scaled(&r);
        sum.live_bytes += r.live_bytes;
        sum.live_objects += r.live_objects;
        sum.alloc_bytes += r.alloc_bytes;
        sum.alloc_objects += r.alloc_objects;
    }
    if (live_bytes)
        *live_bytes = sum.live_bytes;
    if (live_objects)
        *live_objects = sum.live_objects;
    if (alloc_bytes)
        *alloc_bytes = sum.alloc_bytes;
    if (alloc_objects)
        *alloc_objects = sum.alloc_objects;
}

static const char *pseudo_name(const struct heap_site *s)
{
    if (s == &unprofiled_site)
        return "heapprof_unprofiled";
    if (s == &overflow_site)
        return "heapprof_overflow";
    return NULL;
}

/* By the live bytes the site's samples stand for, largest first: a site of many
 * small sampled blocks outranks one big block sampled once, as in the proto's
 * inuse_space view. (Go sorts its text by raw bytes; the order is not part of the
 * format.) */
static int compare_live_bytes_desc(const void *a, const void *b)
{
    const struct heap_row x = row_scaled(a), y = row_scaled(b);

    return x.live_bytes > y.live_bytes ? -1 : x.live_bytes < y.live_bytes;
}

static int profile_text(const struct heap_row *rows, int n, char **out, size_t *out_len)
{
    struct pprof_text t = { 0 };
    uint64_t lb = 0, lo = 0, ab = 0, ao = 0;

    for (int i = 0; i < n; i++) {
        lb += rows[i].live_bytes;
        lo += rows[i].live_objects;
        ab += rows[i].alloc_bytes;
        ao += rows[i].alloc_objects;
    }
    pprof_text_printf(&t, "heap profile: %" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64 "] @ heap/%" PRId64 "\n",
                      lo, lb, ao, ab, 2 * sample_rate);
    for (int i = 0; i < n; i++) {
        const char *pseudo = pseudo_name(rows[i].site);
        pprof_text_printf(&t, "%" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64 "] @",
                          rows[i].live_objects, rows[i].live_bytes, rows[i].alloc_objects,
                          rows[i].alloc_bytes);
        if (pseudo)
            /* No stack to print; a comment line is skipped by pprof's parser. */
            pprof_text_printf(&t, "\n# %s\n\n", pseudo);
        else
            pprof_text_stack(&t, rows[i].site->pcs, rows[i].site->npcs);
    }
    return pprof_text_finish(&t, out, out_len);
}

static int heap_symbolize(uintptr_t pc, char *function, size_t function_len, char *file,
                          size_t file_len, int *line, void *user)
{
    /* pprof_encode names a return address at pc-1. */
    if (pc + 1 == HEAPPROF_UNPROFILED_PC || pc + 1 == HEAPPROF_OVERFLOW_PC) {
        snprintf(function, function_len, "%s",
                 pc + 1 == HEAPPROF_UNPROFILED_PC ? "heapprof_unprofiled" : "heapprof_overflow");
        if (file_len > 0)
            file[0] = '\0';
        *line = 0;
        return 0;
    }
    return pprof_symbolize_with_stacks(pc, function, function_len, file, file_len, line, user);
}

static int profile_proto(const struct heap_row *rows, int n, const char *default_type, char **out,
                         size_t *out_len)
{
    static const struct pprof_value_type types[] = {
        { "alloc_objects", "count" }, { "alloc_space", "bytes" },
        { "inuse_objects", "count" }, { "inuse_space", "bytes" },
    };
    const struct pprof_value_type period_type = { "space", "bytes" };
    pprof_profile *p = pprof_new(types, 4, period_type, sample_rate);
    unsigned char *buf = NULL;
    struct timespec now;
    int rc = -1;

    if (!p)
        return -1;
    if (default_type && pprof_set_default_sample_type(p, default_type) < 0)
        goto done;
    clock_gettime(CLOCK_REALTIME, &now);
    pprof_set_time(p, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, 0);
    for (int i = 0; i < n; i++) {
        const struct heap_site *s = rows[i].site;
        const struct heap_row scaled = row_scaled(&rows[i]);
        const uintptr_t pseudo_pc = s == &unprofiled_site ? HEAPPROF_UNPROFILED_PC : HEAPPROF_OVERFLOW_PC;
        int64_t values[4] = {
            (int64_t)scaled.alloc_objects, (int64_t)scaled.alloc_bytes,
            (int64_t)scaled.live_objects, (int64_t)scaled.live_bytes,
        };
        int added = pseudo_name(s) ? pprof_add_sample(p, &pseudo_pc, 1, values)
                                   : pprof_add_sample(p, s->pcs, s->npcs, values);
        if (added < 0)
            goto done;
    }
    if (pprof_encode(p, heap_symbolize, NULL, 1, &buf, out_len) < 0)
        goto done;
    *out = (char *)buf;
    rc = 0;
done:
    pprof_free(p);
    return rc;
}

int heapprof_profile(int debug, char **out, size_t *out_len)
{
    return heapprof_profile_as(debug, NULL, out, out_len);
}

int heapprof_site_count(void)
{
    return atomic_load_explicit(&nsites, memory_order_acquire);
}

int heapprof_profile_as(int debug, const char *default_sample_type, char **out, size_t *out_len)
{
    struct heap_row *rows;
    int n, rc;

    if (!out || !out_len)
        return -1;
    rows = malloc((HEAPPROF_MAX_SITES + 2) * sizeof *rows);
    if (!rows)
        return -1;
    n = rows_read(rows);
    qsort(rows, (size_t)n, sizeof *rows, compare_live_bytes_desc);
    rc = debug ? profile_text(rows, n, out, out_len)
               : profile_proto(rows, n, default_sample_type, out, out_len);
    free(rows);
    return rc;
}
