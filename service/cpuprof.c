/* cpuprof: per-thread CPU-time timers, a SIGPROF handler and a lock-free ring.
 * See cpuprof.h.
 *
 * Timers: timer_create on the target thread's CPU clock (the clock id the kernel
 * derives from a tid, as glibc's pthread_getcpuclockid and Go's runtime do) with
 * SIGEV_THREAD_ID, so the signal goes to the thread that burned the time. Threads are
 * found in /proc/self/task, which also covers threads orderd did not create itself.
 * The first expiry is spread randomly over one period so threads started together do
 * not sample in step.
 *
 * Ring: a bounded multi-producer queue in the manner of Dmitry Vyukov's: a handler
 * claims a slot by compare-and-swap on the head, unwinds straight into it and
 * publishes it by storing the slot's sequence number; the collector reads slots whose
 * sequence says they are published. A full ring drops the sample and counts it lost:
 * a handler never waits. The handler takes no lock and never allocates.
 *
 * Stopping: a handler announces itself (handlers_inside) before it looks at the ring
 * pointer; the stopper clears the pointer, deletes the timers and waits until no
 * handler is inside. Both sides use sequentially consistent operations, so either the
 * handler sees the cleared pointer or the stopper sees the handler and waits; a
 * SIGPROF still queued when its timer is deleted finds no ring and does nothing. */
#include "cpuprof.h"

#include "pprof.h"
#include "stacks.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define RING_MIN_SLOTS 1024u
#define RING_MAX_SLOTS 65536u
#define THREAD_SLOTS 16384u             /* power of two; at most THREADS_MAX used */
#define THREADS_MAX 12288u              /* threads seen per profile (the table never shrinks) */
#define STACKS_MAX (1u << 18)           /* distinct stacks kept; more count as lost */

struct ring_slot {
    _Atomic uint64_t seq;
    int depth;
    uintptr_t pcs[STACKS_MAX_DEPTH];
};

struct ring {
    struct ring_slot *slots;
    uint64_t mask;
    _Atomic uint64_t head;               /* next slot a handler claims */
    uint64_t tail;                       /* next slot the collector reads */
    _Atomic uint64_t lost;
};

struct stack_entry {
    uint64_t hash;
    size_t first_pc;                     /* into cpuprof.pcs */
    int depth;                           /* -1: empty */
    int64_t count;
};

struct cpuprof {
    int hz;
    int64_t period_ns, start_wall_ns, start_ns;
    struct ring ring;
    /* armed threads: open addressing on tid (0 empty) */
    pid_t *tids;
    timer_t *timers;
    unsigned char *armed;                /* timers[i] exists (timer ids start at 0) */
    unsigned nthreads, unarmed, seen;
    bool table_full;                     /* threads beyond THREADS_MAX went unsampled */
    uint64_t random;
    /* aggregated samples */
    struct stack_entry *stacks;
    size_t stacks_cap, nstacks;
    uintptr_t *pcs;
    size_t npcs, pcs_cap;
    uint64_t samples, dropped;
};

static _Atomic(struct ring *) active_ring;
static _Atomic int handlers_inside;
static atomic_flag in_use = ATOMIC_FLAG_INIT;
static _Atomic bool handler_installed;

static void on_sigprof(int sig, siginfo_t *info, void *ucontext)
{
    int saved_errno = errno;
    struct ring *r;

    (void)sig;
    atomic_fetch_add(&handlers_inside, 1);
    r = atomic_load(&active_ring);
    if (r && info && info->si_code == SI_TIMER) {
        uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        struct ring_slot *slot;
        for (;;) {
            slot = &r->slots[pos & r->mask];
            uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
            int64_t diff = (int64_t)(seq - pos);
            if (diff == 0) {
                if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1,
                                                          memory_order_relaxed, memory_order_relaxed))
                    break;
            } else if (diff < 0) {
                atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
                slot = NULL;
                break;
            } else {
                pos = atomic_load_explicit(&r->head, memory_order_relaxed);
            }
        }
        if (slot) {
            slot->depth = stacks_unwind_signal(ucontext, slot->pcs, STACKS_MAX_DEPTH);
            atomic_store_explicit(&slot->seq, pos + 1, memory_order_release);
        }
    }
    atomic_fetch_sub(&handlers_inside, 1);
    errno = saved_errno;
}

int cpuprof_init(char *err, size_t errlen)
{
    struct sigaction sa;

    if (atomic_load(&handler_installed))
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, NULL) != 0) {
        snprintf(err, errlen, "cpuprof: sigaction(SIGPROF): %s", strerror(errno));
        return -1;
    }
    atomic_store(&handler_installed, true);
    return 0;
}

/* ---- timers ---- */

static uint64_t next_random(cpuprof *p)
{
    /* xorshift64*: only spreads first expiries, needs no quality beyond that. */
    p->random ^= p->random >> 12;
    p->random ^= p->random << 25;
    p->random ^= p->random >> 27;
    return p->random * 2685821657736338717ULL;
}

/* The CPU-time clock of thread tid (Linux: CPUCLOCK_SCHED | CPUCLOCK_PERTHREAD). */
static clockid_t thread_cpu_clock(pid_t tid)
{
    return (clockid_t)((~(unsigned)tid << 3) | 6u);
}

static void arm_thread(cpuprof *p, pid_t tid)
{
    unsigned i = ((unsigned)tid * 2654435761u) & (THREAD_SLOTS - 1);
    struct sigevent sev;
    struct itimerspec its;
    timer_t timer;

    while (p->tids[i] != 0) {
        if (p->tids[i] == tid)
            return;
        i = (i + 1) & (THREAD_SLOTS - 1);
    }
    if (p->seen >= THREADS_MAX) {
        p->table_full = true;
        return;
    }
    p->seen++;
    p->tids[i] = tid;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_notify_thread_id = tid;
    if (timer_create(thread_cpu_clock(tid), &sev, &timer) != 0) {
        /* ESRCH/EINVAL: the thread is gone; EAGAIN: out of timers. Not retried. */
        if (errno != ESRCH && errno != EINVAL)
            p->unarmed++;
        return;
    }
    its.it_interval.tv_sec = p->period_ns / 1000000000LL;
    its.it_interval.tv_nsec = p->period_ns % 1000000000LL;
    int64_t first = 1 + (int64_t)(next_random(p) % (uint64_t)p->period_ns);
    its.it_value.tv_sec = first / 1000000000LL;
    its.it_value.tv_nsec = first % 1000000000LL;
    if (timer_settime(timer, 0, &its, NULL) != 0) {
        timer_delete(timer);
        p->unarmed++;
        return;
    }
    p->timers[i] = timer;
    p->armed[i] = 1;
    p->nthreads++;
}

static void arm_new_threads(cpuprof *p)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *e;

    if (!dir)
        return;
    while ((e = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (e->d_name[0] == '.' || *end != '\0' || tid <= 0)
            continue;
        arm_thread(p, (pid_t)tid);
    }
    closedir(dir);
}

static void disarm_all(cpuprof *p)
{
    for (unsigned i = 0; i < THREAD_SLOTS; i++) {
        if (p->armed[i])
            timer_delete(p->timers[i]);
        p->armed[i] = 0;
    }
}

/* ---- aggregation ---- */

static int stacks_grow(cpuprof *p)
{
    size_t ncap = p->stacks_cap ? p->stacks_cap * 2 : 1024;
    struct stack_entry *n = malloc(ncap * sizeof *n);

    if (!n)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        n[i].depth = -1;
    for (size_t i = 0; i < p->stacks_cap; i++) {
        struct stack_entry *e = &p->stacks[i];
        if (e->depth < 0)
            continue;
        size_t j = (size_t)e->hash & (ncap - 1);
        while (n[j].depth >= 0)
            j = (j + 1) & (ncap - 1);
        n[j] = *e;
    }
    free(p->stacks);
    p->stacks = n;
    p->stacks_cap = ncap;
    return 0;
}

static bool same_stack(const cpuprof *p, const struct stack_entry *e, const uintptr_t *pcs, int depth)
{
    return e->depth == depth && memcmp(&p->pcs[e->first_pc], pcs, (size_t)depth * sizeof *pcs) == 0;
}

static void add_stack(cpuprof *p, const uintptr_t *pcs, int depth)
{
    uint64_t hash = stacks_hash(pcs, depth);
    size_t j;

    if ((p->nstacks + 1) * 2 > p->stacks_cap && (p->nstacks >= STACKS_MAX || stacks_grow(p) < 0))
        goto dropped;
    j = (size_t)hash & (p->stacks_cap - 1);
    while (p->stacks[j].depth >= 0) {
        if (p->stacks[j].hash == hash && same_stack(p, &p->stacks[j], pcs, depth)) {
            p->stacks[j].count++;
            p->samples++;
            return;
        }
        j = (j + 1) & (p->stacks_cap - 1);
    }
    if (p->npcs + (size_t)depth > p->pcs_cap) {
        size_t ncap = p->pcs_cap ? p->pcs_cap * 2 : 4096;
        while (ncap < p->npcs + (size_t)depth)
            ncap *= 2;
        uintptr_t *n = realloc(p->pcs, ncap * sizeof *n);
        if (!n)
            goto dropped;
        p->pcs = n;
        p->pcs_cap = ncap;
    }
    memcpy(&p->pcs[p->npcs], pcs, (size_t)depth * sizeof *pcs);
    p->stacks[j] = (struct stack_entry){.hash = hash, .first_pc = p->npcs, .depth = depth, .count = 1};
    p->npcs += (size_t)depth;
    p->nstacks++;
    p->samples++;
    return;
dropped:
    p->dropped++;
}

static void drain(cpuprof *p)
{
    struct ring *r = &p->ring;

    for (;;) {
        struct ring_slot *slot = &r->slots[r->tail & r->mask];
        if (atomic_load_explicit(&slot->seq, memory_order_acquire) != r->tail + 1)
            break;
        int depth = slot->depth;
        if (depth > 0 && depth <= STACKS_MAX_DEPTH)
            add_stack(p, slot->pcs, depth);
        atomic_store_explicit(&slot->seq, r->tail + r->mask + 1, memory_order_release);
        r->tail++;
    }
}

/* ---- lifecycle ---- */

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned ring_slots_for(int hz)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t want = (uint64_t)hz * (uint64_t)(cpus > 0 ? cpus : 1) * 2;   /* 2 s of samples */
    unsigned n = RING_MIN_SLOTS;

    while (n < want && n < RING_MAX_SLOTS)
        n *= 2;
    return n;
}

static void release(cpuprof *p)
{
    free(p->ring.slots);
    free(p->tids);
    free(p->timers);
    free(p->armed);
    free(p->stacks);
    free(p->pcs);
    free(p);
    atomic_flag_clear(&in_use);
}

cpuprof *cpuprof_start(int hz, char *err, size_t errlen)
{
    cpuprof *p;
    unsigned nslots;

    if (!atomic_load(&handler_installed)) {
        snprintf(err, errlen, "cpu profiling is not set up");
        errno = EINVAL;
        return NULL;
    }
    if (hz < 1 || hz > CPUPROF_MAX_HZ) {
        snprintf(err, errlen, "cpu profile rate must be 1..%d Hz", CPUPROF_MAX_HZ);
        errno = EINVAL;
        return NULL;
    }
    if (atomic_flag_test_and_set(&in_use)) {
        snprintf(err, errlen, "cpu profiling already in use");
        errno = EBUSY;
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        atomic_flag_clear(&in_use);
        goto nomem;
    }
    nslots = ring_slots_for(hz);
    p->ring.slots = calloc(nslots, sizeof *p->ring.slots);
    p->tids = calloc(THREAD_SLOTS, sizeof *p->tids);
    p->timers = calloc(THREAD_SLOTS, sizeof *p->timers);
    p->armed = calloc(THREAD_SLOTS, sizeof *p->armed);
    if (!p->ring.slots || !p->tids || !p->timers || !p->armed || stacks_grow(p) < 0) {
        release(p);
        goto nomem;
    }
    for (unsigned i = 0; i < nslots; i++)
        atomic_init(&p->ring.slots[i].seq, i);
    p->ring.mask = nslots - 1;
    p->hz = hz;
    p->period_ns = 1000000000LL / hz;
    p->start_wall_ns = clock_ns(CLOCK_REALTIME);
    p->start_ns = clock_ns(CLOCK_MONOTONIC);
    p->random = (uint64_t)p->start_ns | 1;
    atomic_store(&active_ring, &p->ring);
    arm_new_threads(p);
    return p;
nomem:
    snprintf(err, errlen, "out of memory");
    errno = ENOMEM;
    return NULL;
}

void cpuprof_collect(cpuprof *p)
{
    if (!p)
        return;
    drain(p);
    arm_new_threads(p);
}

static void stop(cpuprof *p)
{
    atomic_store(&active_ring, NULL);
    disarm_all(p);
    while (atomic_load(&handlers_inside) > 0)
        sched_yield();
    drain(p);
}

int cpuprof_finish(cpuprof *p, unsigned char **out, size_t *out_len)
{
    static const struct pprof_value_type types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    pprof_profile *profile = NULL;
    int rc = -1;

    if (!p || !out || !out_len) {
        cpuprof_free(p);
        return -1;
    }
    stop(p);
    profile = pprof_new(types, 2, (struct pprof_value_type){"cpu", "nanoseconds"}, p->period_ns);
    if (!profile)
        goto done;
    pprof_set_time(profile, p->start_wall_ns, clock_ns(CLOCK_MONOTONIC) - p->start_ns);
    for (size_t i = 0; i < p->stacks_cap; i++) {
        const struct stack_entry *e = &p->stacks[i];
        if (e->depth < 0)
            continue;
        int64_t values[2] = {e->count, e->count * p->period_ns};
        if (pprof_add_sample(profile, &p->pcs[e->first_pc], e->depth, values) < 0)
            goto done;
    }
    rc = pprof_encode(profile, pprof_symbolize_with_stacks, NULL, 1, out, out_len);
done:
    pprof_free(profile);
    release(p);
    return rc;
}

void cpuprof_free(cpuprof *p)
{
    if (!p)
        return;
    stop(p);
    release(p);
}

void cpuprof_stats(const cpuprof *p, struct cpuprof_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!p)
        return;
    out->samples = p->samples;
    out->lost = atomic_load_explicit(&p->ring.lost, memory_order_relaxed) + p->dropped;
    out->threads = p->nthreads;
    out->unarmed = p->unarmed + (p->table_full ? 1 : 0);
}
