/* lockprof: named instrumented mutexes, and the mutex and block profiles. See lockprof.h.
 *
 * Each layer is paid for only when it is needed:
 *  - an uncontended lock is one trylock;
 *  - a contention (at "metrics") adds to two atomics in the lock's site, which init
 *    found in a fixed table of names, so no name is looked up on the lock path;
 *  - a sampled event (at "profile") captures the stack and adds to a bounded table
 *    keyed by stack, guarded by a plain pthread mutex (an instrumented one would
 *    recurse into this code).
 * Values follow Go 1.19's runtime: a mutex record counts its sampled events and their
 * delay, scaled by the fraction only when the proto is written (pprof.go's
 * scaleMutexProfile); a block event shorter than the rate adds rate/delay events and
 * `rate` of delay, removing the sampling bias (mprof.go's saveblockevent), and is
 * never scaled afterwards. Delays are nanoseconds, so the text's cycles/second is 1e9.
 *
 * Two views of mutex contention are kept. LOCKPROF_MUTEX is Go's: the delay is charged
 * to the stack of the thread that unlocks a mutex others wait for (the holder that made
 * them wait), as Go's semrelease does. A contended lock counts its waiters and the
 * time the oldest began waiting; the unlocker, seeing waiters, charges itself the time
 * since then and moves that time to now for those still queued (Go moves the waiters'
 * acquiretime the same way), so one wait is never charged twice. LOCKPROF_MUTEX_WAITER
 * keeps the waiter's stack and its own delay: which code path waits on which lock.
 * The uncontended unlock costs one relaxed load of the waiter count. Every stack starts
 * at the function that called into lockprof.
 *
 * Snapshots and the profile output (text and proto, deltas) are in lockprof_profile.c;
 * this file holds the lock paths, the site counters and the stack tables. */
#include "lockprof_internal.h"

#include "instrument.h"
#include "xorshift.h"

#include <stdlib.h>

enum {
    LOCKPROF_MAX_NAMES = 64,      /* per table: lock names, block site names */
    LOCKPROF_MAX_STACKS = 1024,   /* distinct stacks per profile */
    LOCKPROF_STACK_SLOTS = 2048,  /* index slots: at most half full */
};

struct lockprof_site {
    _Alignas(64) const char *name;   /* own cache line: sites are bumped from many threads */
    _Atomic uint64_t events;
    _Atomic uint64_t wait_ns;
    _Atomic int idle;                /* block sites: waiting for work, not delaying it */
};

struct site_table {
    pthread_mutex_t registry;   /* serializes inserts; lookups never take it */
    _Atomic int count;          /* published with release once the name is set */
    _Atomic int overflowed;
    struct lockprof_site sites[LOCKPROF_MAX_NAMES];
    struct lockprof_site other; /* the names beyond the limit, counted together */
};

static struct site_table lock_sites = {
    .registry = PTHREAD_MUTEX_INITIALIZER, .other = { .name = "other" },
};
static struct site_table block_sites = {
    .registry = PTHREAD_MUTEX_INITIALIZER, .other = { .name = "other" },
};

struct stack_table {
    pthread_mutex_t lock;
    int nrecords;
    uint16_t slots[LOCKPROF_STACK_SLOTS];  /* record index + 1; 0 is empty */
    struct stack_record overflow;          /* events whose new stack found the table full */
    struct stack_record records[LOCKPROF_MAX_STACKS];
};

static struct stack_table mutex_table = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct stack_table waiter_table = { .lock = PTHREAD_MUTEX_INITIALIZER };
static struct stack_table block_table = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ---- sampling ---- */

static uint64_t rng_next(uint64_t *state)
{
    if (!*state)
        *state = 0x9e3779b97f4a7c15ull;
    return xorshift64star_next(state);
}

static _Thread_local uint64_t thread_rng_state;

static uint64_t *thread_rng(void)
{
    if (thread_rng_state == 0) {
        /* splitmix64 of the thread's own address and the time: distinct per thread */
        uint64_t z = (uint64_t)(uintptr_t)&thread_rng_state ^ (uint64_t)lockprof_clock_ns(CLOCK_MONOTONIC);
        z += 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        thread_rng_state = (z ^ (z >> 31)) | 1;
    }
    return &thread_rng_state;
}

int lockprof_mutex_sampled(int64_t fraction, uint64_t *rng)
{
    if (fraction <= 0)
        return 0;
    return fraction == 1 || rng_next(rng) % (uint64_t)fraction == 0;
}

int lockprof_block_sampled(int64_t blocked_ns, int64_t rate_ns, uint64_t *rng)
{
    if (rate_ns <= 0)
        return 0;
    /* mprof.go's blocksampled: kept unless rand%rate > cycles */
    return blocked_ns >= rate_ns || (int64_t)(rng_next(rng) % (uint64_t)rate_ns) <= blocked_ns;
}

/* ---- sites ---- */

static struct lockprof_site *site_find(struct site_table *t, const char *name)
{
    int n = atomic_load_explicit(&t->count, memory_order_acquire);

    /* Names are static strings: the pointer almost always matches. */
    for (int i = 0; i < n; i++)
        if (t->sites[i].name == name)
            return &t->sites[i];
    for (int i = 0; i < n; i++)
        if (strcmp(t->sites[i].name, name) == 0)
            return &t->sites[i];
    return NULL;
}

static struct lockprof_site *site_get(struct site_table *t, const char *name)
{
    struct lockprof_site *site = site_find(t, name);
    int n;

    if (site)
        return site;
    if (atomic_load_explicit(&t->count, memory_order_acquire) >= LOCKPROF_MAX_NAMES) {
        atomic_store_explicit(&t->overflowed, 1, memory_order_relaxed);
        return &t->other;
    }
    pthread_mutex_lock(&t->registry);
    site = site_find(t, name);
    if (!site) {
        n = atomic_load_explicit(&t->count, memory_order_relaxed);
        if (n < LOCKPROF_MAX_NAMES) {
            site = &t->sites[n];
            site->name = name;
            atomic_store_explicit(&t->count, n + 1, memory_order_release);
        } else {
            atomic_store_explicit(&t->overflowed, 1, memory_order_relaxed);
            site = &t->other;
        }
    }
    pthread_mutex_unlock(&t->registry);
    return site;
}

static void site_foreach(struct site_table *t, lockprof_visit visit, void *user)
{
    int n = atomic_load_explicit(&t->count, memory_order_acquire);
    const struct lockprof_site *site;

    for (int i = 0; i <= n; i++) {
        if (i == n && !atomic_load_explicit(&t->overflowed, memory_order_relaxed))
            break;
        site = i < n ? &t->sites[i] : &t->other;
        visit(site->name, atomic_load_explicit(&site->events, memory_order_relaxed),
              (double)atomic_load_explicit(&site->wait_ns, memory_order_relaxed) / 1e9, user);
    }
}

void lockprof_foreach_lock(lockprof_visit visit, void *user)
{
    site_foreach(&lock_sites, visit, user);
}

void lockprof_foreach_block_site(lockprof_visit visit, void *user)
{
    site_foreach(&block_sites, visit, user);
}

/* ---- stack tables ---- */

static void table_add(struct stack_table *t, const uintptr_t *pcs, int npcs, double count,
                      int64_t delay_ns)
{
    uint64_t hash = stacks_hash(pcs, npcs);
    struct stack_record *r = NULL;
    size_t i;

    pthread_mutex_lock(&t->lock);
    for (i = hash & (LOCKPROF_STACK_SLOTS - 1); t->slots[i]; i = (i + 1) & (LOCKPROF_STACK_SLOTS - 1)) {
        if (lockprof_same_stack(&t->records[t->slots[i] - 1], hash, pcs, npcs)) {
            r = &t->records[t->slots[i] - 1];
            break;
        }
    }
    if (!r && t->nrecords < LOCKPROF_MAX_STACKS) {
        r = &t->records[t->nrecords++];
        r->hash = hash;
        r->npcs = npcs;
        memcpy(r->pcs, pcs, (size_t)npcs * sizeof *pcs);
        r->count = 0;
        r->delay_ns = 0;
        t->slots[i] = (uint16_t)t->nrecords;
    } else if (!r) {
        r = &t->overflow;
    }
    r->count += count;
    r->delay_ns += delay_ns;
    pthread_mutex_unlock(&t->lock);
}

static struct stack_table *table_of(enum lockprof_kind kind)
{
    return kind == LOCKPROF_MUTEX ? &mutex_table : kind == LOCKPROF_MUTEX_WAITER ? &waiter_table : &block_table;
}

struct stack_record *lockprof_table_copy(enum lockprof_kind kind, int *n)
{
    struct stack_table *t = table_of(kind);
    /* Allocated at full size before locking, so no malloc runs under the lock. */
    struct stack_record *copy = malloc((LOCKPROF_MAX_STACKS + 1) * sizeof *copy);

    if (!copy)
        return NULL;
    pthread_mutex_lock(&t->lock);
    memcpy(copy, t->records, (size_t)t->nrecords * sizeof *copy);
    *n = t->nrecords;
    if (t->overflow.count != 0 || t->overflow.delay_ns != 0)
        copy[(*n)++] = t->overflow;
    pthread_mutex_unlock(&t->lock);
    return copy;
}

/* ---- the lock paths ---- */

void lockprof_mutex_init(struct lockprof_mutex *m, const char *name)
{
    pthread_mutex_init(&m->mutex, NULL);
    m->site = site_get(&lock_sites, name ? name : "unnamed");
    atomic_init(&m->waiters, 0);
    atomic_init(&m->wait_since_ns, 0);
}

void lockprof_mutex_destroy(struct lockprof_mutex *m)
{
    pthread_mutex_destroy(&m->mutex);
}

/* Out of line and cold, so the uncontended path stays a bare trylock. Its only
 * caller is lockprof_mutex_lock (which must not tail-call it): skipping two frames
 * of the capture starts the stack at the function that took the lock. */
static __attribute__((noinline, cold)) void lock_contended(struct lockprof_mutex *m)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    int npcs = 0;
    int64_t start, waited;

    if (!instrument_metrics_on()) {
        pthread_mutex_lock(&m->mutex);
        return;
    }
    /* Queued first, so the holder's unlock sees this waiter as early as it can. */
    start = lockprof_clock_ns(CLOCK_MONOTONIC);
    atomic_fetch_add_explicit(&m->waiters, 1, memory_order_relaxed);
    int64_t none = 0;
    atomic_compare_exchange_strong_explicit(&m->wait_since_ns, &none, start, memory_order_relaxed,
                                            memory_order_relaxed);
    /* Counted before the wait, so an observer can tell a waiter is queued. */
    atomic_fetch_add_explicit(&m->site->events, 1, memory_order_relaxed);
    /* The sampling decision does not depend on the delay, so the stack is taken
     * while waiting anyway, not while holding the lock. */
    if (instrument_profile_on() &&
        lockprof_mutex_sampled(atomic_load_explicit(&instrument.mutex_fraction, memory_order_relaxed),
                               thread_rng()))
        npcs = stacks_capture_self(pcs, STACKS_MAX_DEPTH, 2);
    pthread_mutex_lock(&m->mutex);
    /* The last waiter out ends the episode, so the next one starts afresh. A waiter
     * queueing meanwhile may lose its start: its unlocker then charges nothing. */
    if (atomic_fetch_sub_explicit(&m->waiters, 1, memory_order_relaxed) == 1)
        atomic_store_explicit(&m->wait_since_ns, 0, memory_order_relaxed);
    waited = lockprof_clock_ns(CLOCK_MONOTONIC) - start;
    atomic_fetch_add_explicit(&m->site->wait_ns, (uint64_t)waited, memory_order_relaxed);
    if (npcs > 0)
        table_add(&waiter_table, pcs, npcs, 1.0, waited);
}

void lockprof_mutex_lock(struct lockprof_mutex *m)
{
    if (__builtin_expect(pthread_mutex_trylock(&m->mutex) == 0, 1))
        return;
    lock_contended(m);
    /* Keeps this frame on the stack: a tail call would drop it from the capture. */
    __asm__ volatile("");
}

/* Called with the mutex still held, when it has waiters: takes the start of the wait
 * not yet charged, moving it to now for the waiters that remain (none: 0). Held, so
 * the waiter about to get the lock cannot end the episode first. Returns the start,
 * or 0 when there is nothing to charge. */
static inline int64_t take_wait_since(struct lockprof_mutex *m, int64_t *now)
{
    if (!instrument_profile_on())
        return 0;
    *now = lockprof_clock_ns(CLOCK_MONOTONIC);
    int64_t since = atomic_exchange_explicit(&m->wait_since_ns,
                                             atomic_load_explicit(&m->waiters, memory_order_relaxed) > 1 ? *now : 0,
                                             memory_order_relaxed);
    return since > 0 && since <= *now ? since : 0;
}

/* Charges delay_ns to the unlocker's stack (sampled by the mutex fraction). Its only
 * caller is lockprof_mutex_unlock, so skipping two frames starts the stack there. */
static __attribute__((noinline, cold)) void charge_unlock(int64_t delay_ns)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    int npcs;

    if (!lockprof_mutex_sampled(atomic_load_explicit(&instrument.mutex_fraction, memory_order_relaxed),
                                thread_rng()))
        return;
    npcs = stacks_capture_self(pcs, STACKS_MAX_DEPTH, 2);
    if (npcs > 0)
        table_add(&mutex_table, pcs, npcs, 1.0, delay_ns);
}

void lockprof_mutex_unlock(struct lockprof_mutex *m)
{
    int64_t now = 0, since = 0;

    if (__builtin_expect(atomic_load_explicit(&m->waiters, memory_order_relaxed) > 0, 0))
        since = take_wait_since(m, &now);
    pthread_mutex_unlock(&m->mutex);
    /* The stack is taken after the unlock, so the waiters do not wait for it. */
    if (__builtin_expect(since != 0, 0))
        charge_unlock(now - since);
    /* Keeps this frame on the stack: a tail call would drop it from the capture. */
    __asm__ volatile("");
}

/* Counts blocked_ns at the site and samples it into the block profile. Inlined into
 * each public entry point so that skipping one frame of the capture starts the
 * stack at the caller of lockprof, whatever the optimizer does. */
static inline __attribute__((always_inline)) void block_account(const char *name, int64_t blocked_ns)
{
    struct lockprof_site *site = site_get(&block_sites, name ? name : "unnamed");
    uintptr_t pcs[STACKS_MAX_DEPTH];
    int64_t rate, cycles;
    int npcs;

    if (blocked_ns < 0)
        blocked_ns = 0;
    atomic_fetch_add_explicit(&site->events, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&site->wait_ns, (uint64_t)blocked_ns, memory_order_relaxed);
    if (!instrument_profile_on())
        return;
    rate = atomic_load_explicit(&instrument.block_rate_ns, memory_order_relaxed);
    /* mprof.go's blockevent: a zero-length event still counts as one cycle */
    cycles = blocked_ns > 0 ? blocked_ns : 1;
    if (!lockprof_block_sampled(cycles, rate, thread_rng()))
        return;
    npcs = stacks_capture_self(pcs, STACKS_MAX_DEPTH, 1);
    if (npcs <= 0)
        return;
    if (cycles < rate)
        table_add(&block_table, pcs, npcs, (double)rate / (double)cycles, rate);
    else
        table_add(&block_table, pcs, npcs, 1.0, cycles);
}

void lockprof_cond_wait(pthread_cond_t *cond, struct lockprof_mutex *m, const char *site)
{
    int64_t start;

    if (!instrument_metrics_on()) {
        pthread_cond_wait(cond, &m->mutex);
        return;
    }
    start = lockprof_clock_ns(CLOCK_MONOTONIC);
    pthread_cond_wait(cond, &m->mutex);
    block_account(site, lockprof_clock_ns(CLOCK_MONOTONIC) - start);
}

void lockprof_cond_wait_idle(pthread_cond_t *cond, struct lockprof_mutex *m, const char *site)
{
    struct lockprof_site *s = site_get(&block_sites, site ? site : "unnamed");

    if (!atomic_load_explicit(&s->idle, memory_order_relaxed))
        atomic_store_explicit(&s->idle, 1, memory_order_relaxed);
    lockprof_cond_wait(cond, m, site);
}

int lockprof_block_site_idle(const char *name)
{
    struct lockprof_site *s = site_find(&block_sites, name);
    return s && atomic_load_explicit(&s->idle, memory_order_relaxed);
}

int lockprof_cond_timedwait(pthread_cond_t *cond, struct lockprof_mutex *m,
                            const struct timespec *abstime, const char *site)
{
    int64_t start;
    int rc;

    if (!instrument_metrics_on())
        return pthread_cond_timedwait(cond, &m->mutex, abstime);
    start = lockprof_clock_ns(CLOCK_MONOTONIC);
    rc = pthread_cond_timedwait(cond, &m->mutex, abstime);
    block_account(site, lockprof_clock_ns(CLOCK_MONOTONIC) - start);
    return rc;
}

void lockprof_block_record(const char *site, int64_t blocked_ns)
{
    if (!instrument_metrics_on())
        return;
    block_account(site, blocked_ns);
}

int lockprof_stack_count(enum lockprof_kind kind)
{
    struct stack_table *t = table_of(kind);
    int n;

    pthread_mutex_lock(&t->lock);
    n = t->nrecords;
    pthread_mutex_unlock(&t->lock);
    return n;
}

