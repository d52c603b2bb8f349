/* stacks: stack capture. See stacks.h. Symbolization is in stacks_symbolize.c: it
 * shares nothing with capture (its own lock, cache and libdwfl session), and capture
 * is the signal-handler code whose safety rules below must be read as one piece.
 *
 * Own stack: libunwind's unw_backtrace. Measured on the build machine (15 frames,
 * warm, gcc -O2 -fno-omit-frame-pointer): a frame-pointer walk 41 ns, unw_backtrace
 * 161 ns, an unw_step loop 45 us. The frame-pointer walk is faster but stops or goes
 * wrong at the first frame of a library built without frame pointers (libc, libevent:
 * a mutex taken in a libevent callback), so unw_backtrace (DWARF CFI, with libunwind's
 * per-thread trace cache) is used; 160 ns is small beside the contention or
 * allocation being sampled. (A first walk through code not seen yet is far dearer,
 * about 100,000 instructions: the heap sampler at the metrics level, whose cost must
 * stay exact, walks frame pointers instead, stacks_fp.c.)
 *
 * Other threads: the target runs the handler of a real-time signal sent with
 * rt_tgsigqueueinfo (tgkill with a value), the value carrying a token (generation and
 * slot index) so an answer can be matched to its request. The handler claims the slot
 * with a compare-and-swap on that token, unwinds from the interrupted context into it,
 * marks it done and posts a semaphore. The caller waits for the posts until its
 * deadline, then closes every unclaimed slot with the same compare-and-swap, so a late
 * handler (a thread that had the signal blocked, or a signal ThreadSanitizer deferred)
 * finds its token gone and writes nothing. Threads are signalled in batches of
 * CAPTURE_BATCH so a dump of thousands of threads waits for stragglers once per batch,
 * not once per thread.
 *
 * The handler takes no lock of ours and never allocates: libunwind's local unwinder is
 * documented async-signal-safe (its own caches are guarded with signals blocked) and so
 * is sem_post; the unwinder is warmed up in stacks_init so its one-time setup does not
 * run in a handler. One caveat: unwinding code not seen before asks the dynamic loader
 * for the loaded objects (dl_iterate_phdr), so a thread interrupted while its own
 * dlopen updates that list could read it half-made; orderd does not dlopen while
 * serving. With SA_RESTART a thread blocked in pthread_cond_wait or a mutex carries on
 * waiting; calls the kernel never restarts (nanosleep, epoll_wait, sem_timedwait,
 * poll) return EINTR, as they do for any signal, and their callers must loop (libevent
 * does).
 *
 * Program counters follow the return-address convention of Go and pprof: every pc
 * stored is the address after the instruction the frame was executing (for the
 * interrupted innermost frame, its pc + 1). Symbolization names the exact pc it is
 * given, so callers pass pc - 1 to name the call. */
#define UNW_LOCAL_ONLY
#include "stacks.h"

#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CAPTURE_SIGNAL_OFFSET 5          /* SIGRTMIN + 5; glibc keeps the first two */
#define CAPTURE_BATCH 256
#define TOKEN_INDEX_BITS 8               /* CAPTURE_BATCH == 1 << TOKEN_INDEX_BITS */
#define TOKEN_CLAIMED (1ULL << 62)
#define TOKEN_DONE (1ULL << 63)
#define SELF_SKIP_MAX 32

struct capture_slot {
    _Atomic uint64_t owner;              /* token while open, | CLAIMED/DONE, 0 closed */
    int depth;
    uintptr_t pcs[STACKS_MAX_DEPTH];
};

static struct capture_slot capture_slots[CAPTURE_BATCH];
static pthread_mutex_t capture_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t capture_generation;      /* under capture_lock */
static sem_t capture_answers;
static pthread_once_t capture_once = PTHREAD_ONCE_INIT;
static int capture_ready;                /* written once inside capture_once */
static char capture_init_error[128];

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer delivers a signal that arrives outside a blocking call later, from
 * its own code, passing a copy of the context taken when it arrived; by then the stack
 * has moved on and the copy cannot be unwound safely. The handler's own stack is
 * always live, so it is unwound instead. When the signal was delivered at once (inside
 * a blocking call) libunwind flags the frame it interrupted (the one unwound through
 * the kernel's signal frame) and the stack starts there; otherwise only the handler
 * is dropped and the stack starts in the sanitizer's code that ran it. Inlined, so
 * that the frames to drop are the handler's (handler_frames: the handler, and the
 * function that called this from it, if any). */
#define SIGNAL_FRAME_SEARCH 12

static inline __attribute__((always_inline)) int unwind_interrupted(void *ucontext, int handler_frames,
                                                                    uintptr_t *pcs, int max)
{
    unw_context_t context;
    unw_cursor_t cursor;
    int n = 0, found = 0;

    (void)ucontext;
    unw_getcontext(&context);
    if (unw_init_local(&cursor, &context) < 0)
        return 0;
    for (int i = 0; i < SIGNAL_FRAME_SEARCH; i++) {
        if (unw_step(&cursor) <= 0)
            break;
        if (unw_is_signal_frame(&cursor) > 0) {
            found = 1;
            break;
        }
    }
    if (!found) {
        if (unw_init_local(&cursor, &context) < 0)
            return 0;
        for (int i = 0; i < handler_frames; i++)
            if (unw_step(&cursor) <= 0)
                return 0;
    }
    do {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        pcs[n] = (found && n == 0) ? ip + 1 : ip;
        n++;
    } while (n < max && unw_step(&cursor) > 0);
    return n;
}
#else
/* On x86-64 libunwind's context is a ucontext_t, so the kernel's signal context is
 * unwound directly: the stack starts at the interrupted instruction, with no frame of
 * the handler or of the kernel's signal trampoline. */
static int unwind_interrupted(void *ucontext, int handler_frames, uintptr_t *pcs, int max)
{
    unw_cursor_t cursor;
    int n = 0;

    (void)handler_frames;  /* the kernel's context is unwound: no handler frame to drop */
    if (unw_init_local2(&cursor, (unw_context_t *)ucontext, UNW_INIT_SIGNAL_FRAME) < 0)
        return 0;
    do {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
            break;
        pcs[n] = n == 0 ? ip + 1 : ip;
        n++;
    } while (n < max && unw_step(&cursor) > 0);
    return n;
}
#endif

static void capture_handler(int sig, siginfo_t *info, void *ucontext)
{
    int saved_errno = errno;
    uint64_t token, expected;
    struct capture_slot *slot;

    (void)sig;
    if (info->si_code != SI_QUEUE || info->si_pid != getpid())
        goto done;
    token = (uint64_t)(uintptr_t)info->si_value.sival_ptr;
    if (token == 0 || (token & (TOKEN_CLAIMED | TOKEN_DONE)))
        goto done;
    slot = &capture_slots[token & (CAPTURE_BATCH - 1)];
    expected = token;
    if (!atomic_compare_exchange_strong_explicit(&slot->owner, &expected, token | TOKEN_CLAIMED,
                                                 memory_order_acq_rel, memory_order_relaxed))
        goto done;
    slot->depth = unwind_interrupted(ucontext, 1, slot->pcs, STACKS_MAX_DEPTH);
    atomic_store_explicit(&slot->owner, token | TOKEN_DONE, memory_order_release);
    sem_post(&capture_answers);
done:
    errno = saved_errno;
}

/* Never inlined, so that under ThreadSanitizer the frames to drop are always this
 * one and the handler that called it. */
__attribute__((noinline)) int stacks_unwind_signal(void *ucontext, uintptr_t *pcs, int max)
{
    if (!ucontext || !pcs || max <= 0)
        return 0;
    if (max > STACKS_MAX_DEPTH)
        max = STACKS_MAX_DEPTH;
    return unwind_interrupted(ucontext, 2, pcs, max);
}

#if defined(__SANITIZE_THREAD__)
/* Under ThreadSanitizer, unw_backtrace's per-thread trace cache is freed by a TSD
 * destructor that takes a lock after TSan has torn the exiting thread's state down,
 * and the process crashes at thread exit. TSan builds therefore walk with unw_step:
 * slow (tens of microseconds) but cacheless. Release builds keep unw_backtrace. */
static __attribute__((always_inline)) inline int walk_own_stack(void **frames, int want)
{
    unw_context_t context;
    unw_cursor_t cursor;
    unw_word_t ip;
    int n = 0;

    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0)
        return 0;
    /* frames[0] stands for this function's own frame, as with unw_backtrace. */
    while (n < want && unw_get_reg(&cursor, UNW_REG_IP, &ip) == 0) {
        frames[n++] = (void *)ip;
        if (unw_step(&cursor) <= 0)
            break;
    }
    return n;
}
#else
#define walk_own_stack(frames, want) unw_backtrace((frames), (want))
#endif

static void capture_init(void)
{
    struct sigaction sa;
    unw_context_t context;
    unw_cursor_t cursor;
    void *warm[8];

    if (sem_init(&capture_answers, 0, 0) != 0) {
        snprintf(capture_init_error, sizeof capture_init_error, "sem_init: %s", strerror(errno));
        return;
    }
    /* libunwind initializes itself on first use; do that here, not in a handler. */
    walk_own_stack(warm, 8);
    unw_getcontext(&context);
    if (unw_init_local(&cursor, &context) == 0)
        unw_step(&cursor);

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = capture_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGRTMIN + CAPTURE_SIGNAL_OFFSET, &sa, NULL) != 0) {
        snprintf(capture_init_error, sizeof capture_init_error, "sigaction: %s", strerror(errno));
        return;
    }
    capture_ready = 1;
}

int stacks_init(char *err, size_t errlen)
{
    pthread_once(&capture_once, capture_init);
    if (!capture_ready) {
        if (err && errlen)
            snprintf(err, errlen, "stacks: %s", capture_init_error);
        return -1;
    }
    return 0;
}

int stacks_signal(void)
{
    return SIGRTMIN + CAPTURE_SIGNAL_OFFSET;
}


__attribute__((noinline)) int stacks_capture_self(uintptr_t *pcs, int max, int skip)
{
    void *frames[STACKS_MAX_DEPTH + SELF_SKIP_MAX + 1];
    int want, got, first, n = 0;

    if (!pcs || max <= 0)
        return 0;
    if (skip < 0)
        skip = 0;
    if (skip > SELF_SKIP_MAX)
        skip = SELF_SKIP_MAX;
    /* frames[0] is the return address into this function: not part of the stack. */
    first = 1 + skip;
    want = first + max;
    if (want > (int)(sizeof frames / sizeof frames[0]))
        want = (int)(sizeof frames / sizeof frames[0]);
    got = walk_own_stack(frames, want);
    for (int i = first; i < got && n < max; i++)
        pcs[n++] = (uintptr_t)frames[i];
    return n;
}

static int send_capture_signal(pid_t pid, pid_t tid, uint64_t token)
{
    siginfo_t si;

    memset(&si, 0, sizeof si);
    si.si_signo = SIGRTMIN + CAPTURE_SIGNAL_OFFSET;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = getuid();
    si.si_value.sival_ptr = (void *)(uintptr_t)token;
    return (int)syscall(SYS_rt_tgsigqueueinfo, pid, tid, si.si_signo, &si);
}

static void deadline_after_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* One batch of at most CAPTURE_BATCH threads, under capture_lock. */
static int capture_batch(const pid_t *tids, int n, uintptr_t *pcs, int max, int *depths,
                         int timeout_ms)
{
    uint64_t generation = ++capture_generation;
    pid_t pid = getpid();
    int sent = 0, posts = 0, claimed = 0, answered = 0;
    struct timespec deadline;

    for (int i = 0; i < n; i++) {
        uint64_t token = (generation << TOKEN_INDEX_BITS) | (uint64_t)i;
        depths[i] = -1;
        atomic_store_explicit(&capture_slots[i].owner, token, memory_order_release);
        if (send_capture_signal(pid, tids[i], token) == 0)
            sent++;
        else   /* ESRCH: the thread is gone; EAGAIN: queue limit. Nothing in flight. */
            atomic_store_explicit(&capture_slots[i].owner, 0, memory_order_relaxed);
    }

    deadline_after_ms(&deadline, timeout_ms);
    while (posts < sent) {
        if (sem_clockwait(&capture_answers, CLOCK_MONOTONIC, &deadline) == 0)
            posts++;
        else if (errno != EINTR)
            break;
    }

    for (int i = 0; i < n; i++) {
        uint64_t token = (generation << TOKEN_INDEX_BITS) | (uint64_t)i;
        uint64_t expected = token;
        if (atomic_compare_exchange_strong_explicit(&capture_slots[i].owner, &expected, 0,
                                                    memory_order_acq_rel, memory_order_acquire))
            continue;
        if (expected != 0)
            claimed++;
    }
    /* Each claimed slot posts exactly once. A handler that has claimed its slot is
     * already running and finishes in microseconds, so this wait is short; taking the
     * owed posts leaves the semaphore at zero for the next batch. */
    while (posts < claimed)
        if (sem_wait(&capture_answers) == 0)
            posts++;

    for (int i = 0; i < n; i++) {
        uint64_t token = (generation << TOKEN_INDEX_BITS) | (uint64_t)i;
        struct capture_slot *slot = &capture_slots[i];
        if (atomic_load_explicit(&slot->owner, memory_order_acquire) != (token | TOKEN_DONE))
            continue;
        depths[i] = slot->depth < max ? slot->depth : max;
        memcpy(pcs + (size_t)i * (size_t)max, slot->pcs, (size_t)depths[i] * sizeof *pcs);
        answered++;
        atomic_store_explicit(&slot->owner, 0, memory_order_relaxed);
    }
    return answered;
}

int stacks_capture_threads(const pid_t *tids, int n, uintptr_t *pcs, int max, int *depths,
                           int timeout_ms)
{
    int answered = 0;

    if (!tids || !pcs || !depths || n <= 0 || max <= 0)
        return 0;
    pthread_once(&capture_once, capture_init);
    if (!capture_ready) {
        for (int i = 0; i < n; i++)
            depths[i] = -1;
        return 0;
    }
    if (timeout_ms < 0)
        timeout_ms = 0;
    pthread_mutex_lock(&capture_lock);
    for (int start = 0; start < n; start += CAPTURE_BATCH) {
        int count = n - start < CAPTURE_BATCH ? n - start : CAPTURE_BATCH;
        answered += capture_batch(tids + start, count, pcs + (size_t)start * (size_t)max, max,
                                  depths + start, timeout_ms);
    }
    pthread_mutex_unlock(&capture_lock);
    return answered;
}

int stacks_capture_thread(pid_t tid, uintptr_t *pcs, int max, int timeout_ms)
{
    int depth = -1;
    uintptr_t buf[STACKS_MAX_DEPTH];

    if (!pcs || max <= 0)
        return -1;
    if (max > STACKS_MAX_DEPTH)
        max = STACKS_MAX_DEPTH;
    stacks_capture_threads(&tid, 1, buf, max, &depth, timeout_ms);
    if (depth > 0)
        memcpy(pcs, buf, (size_t)depth * sizeof *pcs);
    return depth;
}
