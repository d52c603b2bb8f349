/* mallochook: the process-wide allocation sampler. See mallochook.h.
 *
 * Why interpose rather than use jemalloc's or tcmalloc's profiler: both would swap
 * the allocator the service is measured with (and its costs) for another one, their
 * profiles come out in their own formats with their own symbolization, and the
 * project already has the stack capture and the profile.proto writer a sampler needs.
 * Interposing keeps glibc's allocator and adds only a per-thread byte countdown.
 *
 * glibc supports replacing malloc by defining these symbols in the executable; every
 * library (libevent, jansson, libc itself) then calls them. Each forwards to glibc's
 * exported __libc_* entry points, so blocks from any of them can be freed by any
 * other, and malloc_usable_size (not interposed) still works.
 *
 * Fast path, as Go's mallocgc and tcmalloc's sampler: a thread-local count of bytes
 * until the next sample; an allocation smaller than what is left only subtracts. The
 * one that reaches it is sampled and a new gap is drawn, exponential with mean `rate`
 * (heapsample_next_interval), so each byte is equally likely to be sampled and a
 * sample stands for rate bytes. A free first asks heapsample_table_may_hold, inlined:
 * a bitmap of the occupied buckets of the table of live samples, no lock; only a free
 * whose bucket holds a sample goes on to look it up.
 *
 * Levels: at "off" every call only forwards. From "metrics" up the countdown runs and
 * each sample is counted with its stack, as Go records the stack of every sample: at
 * "metrics" by a frame-pointer walk of a few hundred instructions (stacks_fp.c), at
 * "profile" by libunwind, whose stacks go on through library frames. So memory
 * allocated before a diagnosis switches profiling on is in the profile, charged to the
 * function that allocated it.
 *
 * Safety: nothing samples until main calls mallochook_start (the rate is 0 before), so
 * allocations of the dynamic loader and of constructors before main only forward.
 * Thread-locals start at zero, so a thread libevent creates draws its first gap on its
 * first allocation. The sampled path captures the stack (libunwind may allocate; the
 * frame-pointer walk never does) and may insert a site, which can allocate: a thread-local flag turns allocations made
 * inside the sampled path into plain forwards. No lock is held while allocating.
 * Valgrind (memcheck) replaces the __libc_* functions these forward to, so it still
 * sees every block; callgrind replaces nothing and counts this code like any other. */
#include "mallochook.h"

/* ORDERD_NO_MALLOCHOOK: a build without the interposer, to measure what it costs. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(ORDERD_NO_MALLOCHOOK)
#define MALLOCHOOK_COMPILED_OUT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define MALLOCHOOK_COMPILED_OUT 1
#endif
#endif

#ifdef MALLOCHOOK_COMPILED_OUT

int mallochook_start(int64_t rate)
{
    (void)rate;
    return -1;
}

#else

#include "heapprof.h"
#include "heapsample.h"
#include "instrument.h"
#include "stacks.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* glibc's own allocator, exported for exactly this use. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

/* The frames of ours between the sampled allocation's caller and heapprof: the public
 * function (malloc, ...) and sample_slow. */
#define HOOK_FRAMES 2
#define IDLE_GAP (1u << 20)

static _Atomic int64_t rate;              /* 0 until mallochook_start: nothing sampled */
static __thread size_t bytes_until_sample;
static __thread uint64_t rng_state;
static __thread bool in_sampler;

int mallochook_start(int64_t r)
{
    heapprof_use_sampling(r);
    atomic_store_explicit(&rate, r, memory_order_relaxed);
    return 0;
}

/* Called when an allocation of `size` bytes reaches the end of the thread's gap (or
 * the thread has not drawn one yet). Never inlined: its frame is one of HOOK_FRAMES.
 * Samples are taken from the metrics level up, each with its stack (heapprof picks the
 * walker by level), so that the live bytes allocated before profiling was switched on
 * still show under their allocating function. The level and the rate
 * are read here only, so the fast path is one thread-local subtraction; a thread that
 * is not sampling waits a gap of IDLE_GAP bytes before it looks again, so a change of
 * level reaches it within that many bytes of its allocations. */
static __attribute__((noinline)) void sample_slow(void *p, size_t size)
{
    int64_t r = atomic_load_explicit(&rate, memory_order_relaxed);
    bool due = true;

    if (in_sampler)
        return;
    if (r == 0 || !instrument_metrics_on()) {
        bytes_until_sample = IDLE_GAP;
        return;
    }
    in_sampler = true;
    if (rng_state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng_state = heapsample_seed((uint64_t)syscall(SYS_gettid) << 32 ^ (uint64_t)ts.tv_nsec);
        /* A thread's first gap starts at its first allocation: is it inside this one? */
        bytes_until_sample = heapsample_next_interval(&rng_state, r);
        if (r > 1 && size < bytes_until_sample) {
            bytes_until_sample -= size;
            due = false;
        }
    }
    if (due) {
        /* The symbolizer's caches are left out (see stacks_symbolizing); the gap
         * restarts all the same. The unwinder probes memory with system calls that may
         * fail: a malloc that succeeded leaves errno as it found it. */
        int saved_errno = errno;
        if (p && !stacks_symbolizing())
            heapprof_sampled_alloc(p, size, HOOK_FRAMES);
        bytes_until_sample = heapsample_next_interval(&rng_state, r);
        errno = saved_errno;
    }
    in_sampler = false;
}

/* The fast path every allocation takes. */
static inline __attribute__((always_inline)) void account(void *p, size_t size)
{
    if (size < bytes_until_sample) {
        bytes_until_sample -= size;
        return;
    }
    sample_slow(p, size);
}

static inline __attribute__((always_inline)) void forget(void *p)
{
    if (p && heapsample_table_may_hold(p))
        heapprof_sampled_free(p);
}

void *malloc(size_t size)
{
    void *p = __libc_malloc(size);

    account(p, size);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);

    /* Non-NULL means n * size did not overflow. */
    account(p, n * size);
    return p;
}

void *realloc(void *old, size_t size)
{
    void *p;

    /* Off the table before glibc may hand the address to another thread. When the
     * realloc then fails, the old block lives on unsampled: its allocation was
     * counted once already and is not counted again. */
    forget(old);
    p = __libc_realloc(old, size);
    account(p, size);
    return p;
}

/* glibc's own reallocarray goes to its internal realloc, past this one: a sampled
 * block it moved would stay listed. */
void *reallocarray(void *old, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, n * size);
}

void free(void *p)
{
    forget(p);
    __libc_free(p);
}

void *memalign(size_t alignment, size_t size)
{
    void *p = __libc_memalign(alignment, size);

    account(p, size);
    return p;
}

void *aligned_alloc(size_t alignment, size_t size)
{
    void *p;

    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    p = __libc_memalign(alignment, size);
    account(p, size);
    return p;
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    int saved = errno;
    void *p;

    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    p = __libc_memalign(alignment, size);
    if (!p) {
        errno = saved;
        return ENOMEM;
    }
    account(p, size);
    *out = p;
    return 0;
}

void *valloc(size_t size)
{
    void *p = __libc_valloc(size);

    account(p, size);
    return p;
}

void *pvalloc(size_t size)
{
    void *p = __libc_pvalloc(size);

    account(p, size);
    return p;
}

#endif
