/* Tests for stacks: own-stack capture, other threads' stacks by signal (blocked in
 * libc waits, gone, ignoring the signal, many at once, from two capturers at once),
 * and symbolization of plain, inlined and garbage pcs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "stacks.h"

#define NOT_INLINED __attribute__((noipa))

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Index of the first frame of pcs[0..n) whose function is name, or -1. */
static int find_function(const uintptr_t *pcs, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        struct stacks_frame f[4];
        int nf = stacks_symbolize_inline(pcs[i] - 1, f, 4);
        for (int k = 0; k < nf; k++)
            if (strcmp(f[k].function, name) == 0)
                return i;
    }
    return -1;
}

/* ---- own stack ----------------------------------------------------------------- */

static int line_in_gamma, line_in_beta, line_in_alpha;

NOT_INLINED static int stacks_test_gamma(uintptr_t *pcs, int max, int skip)
{
    int n = stacks_capture_self(pcs, max, skip); line_in_gamma = __LINE__;
    return n;
}

NOT_INLINED static int stacks_test_beta(uintptr_t *pcs, int max, int skip)
{
    int n = stacks_test_gamma(pcs, max, skip); line_in_beta = __LINE__;
    return n;
}

NOT_INLINED static int stacks_test_alpha(uintptr_t *pcs, int max, int skip)
{
    int n = stacks_test_beta(pcs, max, skip); line_in_alpha = __LINE__;
    return n;
}

static void test_stacks_capture_self_names_callers_in_order(void **state)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    const char *names[] = {"stacks_test_gamma", "stacks_test_beta", "stacks_test_alpha",
                           "test_stacks_capture_self_names_callers_in_order"};
    int n = stacks_test_alpha(pcs, STACKS_MAX_DEPTH, 0);

    (void)state;
    assert_true(n >= 4);
    for (int i = 0; i < 4; i++) {
        struct stacks_frame f;
        assert_int_equal(stacks_symbolize(pcs[i] - 1, &f), 0);
        assert_string_equal(f.function, names[i]);
        assert_true(ends_with(f.file, "tests/unit/test_stacks.c"));
        assert_int_equal(f.pc, pcs[i] - 1);
        assert_true(f.offset > 0 && f.offset < 4096);
        if (i == 0)
            assert_int_equal(f.line, line_in_gamma);
        if (i == 1)
            assert_int_equal(f.line, line_in_beta);
        if (i == 2)
            assert_int_equal(f.line, line_in_alpha);
    }
}

static void test_stacks_capture_self_skips_frames_and_respects_max(void **state)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    struct stacks_frame f;

    (void)state;
    assert_int_equal(stacks_test_alpha(pcs, STACKS_MAX_DEPTH, 1) >= 2, 1);
    stacks_symbolize(pcs[0] - 1, &f);
    assert_string_equal(f.function, "stacks_test_beta");

    assert_int_equal(stacks_test_alpha(pcs, 2, 0), 2);
    stacks_symbolize(pcs[1] - 1, &f);
    assert_string_equal(f.function, "stacks_test_beta");
    assert_int_equal(stacks_capture_self(pcs, 0, 0), 0);
}

/* ---- own stack by frame pointers ------------------------------------------------ */

#if defined(__x86_64__)
#define FP_WALK_BUILT 1
#endif

/* Fails unless the return address pc is of a call in function fn. */
static void assert_call_in(uintptr_t pc, const char *fn)
{
    struct stacks_frame f;

    assert_int_equal(stacks_symbolize(pc - 1, &f), 0);
    assert_string_equal(f.function, fn);
}

/* Both walks from one frame: pcs[0] differ (two call sites), the callers' must not. */
NOT_INLINED static void stacks_test_fp_gamma(uintptr_t *fp, int *nfp, uintptr_t *unw, int *nunw)
{
    *nfp = stacks_capture_self_fp(fp, STACKS_MAX_DEPTH, 0);
    *nunw = stacks_capture_self(unw, STACKS_MAX_DEPTH, 0);
}

NOT_INLINED static void stacks_test_fp_beta(uintptr_t *fp, int *nfp, uintptr_t *unw, int *nunw)
{
    stacks_test_fp_gamma(fp, nfp, unw, nunw);
    __asm__ volatile("" ::: "memory");
}

/* The walk ends at the frame its bounds were recorded in (this test's): gamma, beta,
 * this test, and the return address out of it, the same pcs libunwind gives. */
static void test_stacks_capture_self_fp_matches_libunwind_to_the_recorded_frame(void **state)
{
    uintptr_t fp[STACKS_MAX_DEPTH], unw[STACKS_MAX_DEPTH];
    int nfp, nunw;
    (void)state;
#ifndef FP_WALK_BUILT
    skip();
#endif
    assert_int_equal(stacks_fp_thread_bounds(__builtin_frame_address(0)), 0);
    stacks_test_fp_beta(fp, &nfp, unw, &nunw);
    assert_int_equal(nfp, 4);
    assert_true(nunw > 4);
    for (int i = 1; i < 4; i++)
        assert_int_equal(fp[i], unw[i]);
    assert_call_in(fp[0], "stacks_test_fp_gamma");
    assert_call_in(fp[2], "test_stacks_capture_self_fp_matches_libunwind_to_the_recorded_frame");

    /* skip and max, as stacks_capture_self takes them */
    assert_int_equal(stacks_capture_self_fp(fp, 0, 0), 0);
    assert_int_equal(stacks_capture_self_fp(NULL, 4, 0), 0);
    nfp = stacks_capture_self_fp(fp, 1, 0);
    assert_int_equal(nfp, 1);
    assert_call_in(fp[0], "test_stacks_capture_self_fp_matches_libunwind_to_the_recorded_frame");
    assert_int_equal(stacks_capture_self_fp(fp, STACKS_MAX_DEPTH, 1), 1);
    assert_int_equal(stacks_capture_self_fp(fp, STACKS_MAX_DEPTH, 2), 0);
}

/* Walks with this frame's saved frame pointer (its caller's) replaced by `bogus`,
 * restored before returning. */
NOT_INLINED static int stacks_test_fp_walk_with_bad_link(uintptr_t bogus, uintptr_t *pcs)
{
    volatile uintptr_t *link = (volatile uintptr_t *)__builtin_frame_address(0);
    uintptr_t saved = link[0];
    int n;

    link[0] = bogus;
    n = stacks_capture_self_fp(pcs, STACKS_MAX_DEPTH, 0);
    link[0] = saved;
    return n;
}

/* A frame pointer that is not a frame of this stack (a library's rbp used as a plain
 * register: null, a heap address, below the frame before, misaligned, past the stack)
 * ends the walk there, without reading it. */
static void test_stacks_capture_self_fp_stops_at_a_bad_frame_pointer(void **state)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    void *heap = malloc(64);
    /* null, odd, off the stack, not above the frame before, misaligned, past the
     * recorded outermost frame, far past it */
    const uintptr_t bad[] = {0, 1, (uintptr_t)heap, here - 4096, here - 8, here + 16, UINTPTR_MAX & ~(uintptr_t)15};
    (void)state;
#ifndef FP_WALK_BUILT
    skip();
#endif
    assert_int_equal(stacks_fp_thread_bounds(__builtin_frame_address(0)), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(stacks_test_fp_walk_with_bad_link(bad[i], pcs), 2);
        assert_call_in(pcs[1], "test_stacks_capture_self_fp_stops_at_a_bad_frame_pointer");
    }
    free(heap);
}

static uintptr_t qsort_pcs[STACKS_MAX_DEPTH];
static int qsort_npcs = -1;

NOT_INLINED static int stacks_test_fp_compare(const void *a, const void *b)
{
    if (qsort_npcs < 0)
        qsort_npcs = stacks_capture_self_fp(qsort_pcs, STACKS_MAX_DEPTH, 0);
    return *(const int *)a - *(const int *)b;
}

/* A library's frame ends the walk (its frame pointer cannot be trusted to link on):
 * called back from libc's qsort, the stack is this comparator and the libc function
 * that called it, where libunwind goes on through qsort to this test. */
static void test_stacks_capture_self_fp_ends_at_a_library_frame(void **state)
{
    int v[4] = {3, 1, 2, 0};
    (void)state;
#ifndef FP_WALK_BUILT
    skip();
#endif
    assert_int_equal(stacks_fp_thread_bounds(__builtin_frame_address(0)), 0);
    qsort(v, 4, sizeof v[0], stacks_test_fp_compare);
    assert_int_equal(qsort_npcs, 2);
    assert_call_in(qsort_pcs[0], "stacks_test_fp_compare");
    assert_int_equal(find_function(qsort_pcs, qsort_npcs, "test_stacks_capture_self_fp_ends_at_a_library_frame"),
                     -1);
}

static void *fp_walk_unrecorded_main(void *arg)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];

    *(int *)arg = stacks_capture_self_fp(pcs, STACKS_MAX_DEPTH, 0);
    return NULL;
}

/* A thread that never recorded its bounds gets no stack; recording rejects a frame
 * that is not on the calling thread's stack. */
static void test_stacks_capture_self_fp_without_bounds_is_empty(void **state)
{
    pthread_t t;
    int n = -1;
    void *heap = malloc(64);

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, fp_walk_unrecorded_main, &n), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(n, 0);
#ifdef FP_WALK_BUILT
    assert_int_equal(stacks_fp_thread_bounds(heap), -1);
    assert_int_equal(stacks_fp_thread_bounds((char *)__builtin_frame_address(0) + 8), -1);
#endif
    free(heap);
}

/* An always-inlined helper: its name must survive being folded into its caller. */
static int line_in_inlined;

static inline __attribute__((always_inline)) int stacks_test_inlined_helper(uintptr_t *pcs)
{
    int n = stacks_capture_self(pcs, STACKS_MAX_DEPTH, 0); line_in_inlined = __LINE__;
    return n;
}

NOT_INLINED static int stacks_test_inline_host(uintptr_t *pcs)
{
    return stacks_test_inlined_helper(pcs) + 0 * line_in_inlined;
}

static void test_stacks_symbolize_names_inlined_functions(void **state)
{
    uintptr_t pcs[STACKS_MAX_DEPTH];
    struct stacks_frame frames[4], f;
    int n = stacks_test_inline_host(pcs), nf;

    (void)state;
    assert_true(n >= 2);
    assert_int_equal(stacks_symbolize(pcs[0] - 1, &f), 0);
    assert_string_equal(f.function, "stacks_test_inlined_helper");
    assert_int_equal(f.line, line_in_inlined);

    nf = stacks_symbolize_inline(pcs[0] - 1, frames, 4);
    assert_int_equal(nf, 2);
    assert_string_equal(frames[0].function, "stacks_test_inlined_helper");
    assert_string_equal(frames[1].function, "stacks_test_inline_host");
    assert_true(ends_with(frames[1].file, "tests/unit/test_stacks.c"));
    assert_true(frames[1].line > 0);
}

static void test_stacks_symbolize_garbage_pc_is_unknown(void **state)
{
    struct stacks_frame f;
    uintptr_t garbage[] = {0, 1, 0x10, (uintptr_t)-16};

    (void)state;
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        memset(&f, 'x', sizeof f);
        assert_int_equal(stacks_symbolize(garbage[i], &f), -1);
        assert_string_equal(f.function, "?");
        assert_string_equal(f.file, "");
        assert_int_equal(f.line, 0);
        assert_int_equal(f.pc, garbage[i]);
    }
}

/* A library loaded after the symbolizer read the process's modules is found once
 * the (rate-limited, once a second) re-read comes round. */
static void test_stacks_symbolize_finds_libraries_loaded_later(void **state)
{
    struct stacks_frame f;
    uintptr_t pcs[4];
    void *lib, *fn;

    (void)state;
    assert_true(stacks_capture_self(pcs, 4, 0) > 0);
    assert_int_equal(stacks_symbolize(pcs[0] - 1, &f), 0);   /* modules read now */
    lib = dlopen("libpcre2-8.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        skip();
    fn = dlsym(lib, "pcre2_compile_8");
    assert_non_null(fn);
    usleep(1100 * 1000);
    assert_int_equal(stacks_symbolize((uintptr_t)fn, &f), 0);
    assert_string_equal(f.function, "pcre2_compile_8");
    assert_int_equal(f.offset, 0);
    dlclose(lib);
}

/* ---- other threads ------------------------------------------------------------- */

struct parked {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int ready;
    int release;
    pid_t tid;
};

#define PARKED_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0}

NOT_INLINED static void stacks_test_parked_in_cond_wait(struct parked *p)
{
    pthread_mutex_lock(&p->mutex);
    p->tid = gettid();
    p->ready = 1;
    pthread_cond_broadcast(&p->cond);
    while (!p->release)
        pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
}

static void *parked_main(void *arg)
{
    stacks_test_parked_in_cond_wait(arg);
    return NULL;
}

static void parked_wait_ready(struct parked *p)
{
    pthread_mutex_lock(&p->mutex);
    while (!p->ready)
        pthread_cond_wait(&p->cond, &p->mutex);
    pthread_mutex_unlock(&p->mutex);
}

static void parked_release(struct parked *p)
{
    pthread_mutex_lock(&p->mutex);
    p->release = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mutex);
}

static void test_stacks_capture_thread_in_cond_wait(void **state)
{
    struct parked p = PARKED_INIT;
    pthread_t t;
    uintptr_t pcs[STACKS_MAX_DEPTH];

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, parked_main, &p), 0);
    parked_wait_ready(&p);
    for (int round = 0; round < 3; round++) {
        int n = stacks_capture_thread(p.tid, pcs, STACKS_MAX_DEPTH, 2000);
        assert_true(n > 1);
        /* The innermost frames are libc's wait; the named function is below them. */
        assert_true(find_function(pcs, n, "stacks_test_parked_in_cond_wait") >= 1);
        assert_true(find_function(pcs, n, "parked_main") >= 2);
    }
    /* The signal did not end the wait early. */
    pthread_mutex_lock(&p.mutex);
    assert_int_equal(p.release, 0);
    pthread_mutex_unlock(&p.mutex);
    parked_release(&p);
    pthread_join(t, NULL);
}

struct sleeper {
    _Atomic pid_t tid;
    _Atomic int stop;
    int epoll_fd;
};

NOT_INLINED static void stacks_test_sleeping_in_nanosleep(struct sleeper *s)
{
    atomic_store(&s->tid, gettid());
    while (!atomic_load(&s->stop)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);   /* EINTR from the capture signal just loops */
    }
}

NOT_INLINED static void stacks_test_waiting_in_epoll(struct sleeper *s)
{
    struct epoll_event ev;
    atomic_store(&s->tid, gettid());
    while (!atomic_load(&s->stop))
        epoll_wait(s->epoll_fd, &ev, 1, 5);
}

static void *sleeper_main(void *arg)
{
    stacks_test_sleeping_in_nanosleep(arg);
    return NULL;
}

static void *epoller_main(void *arg)
{
    stacks_test_waiting_in_epoll(arg);
    return NULL;
}

static pid_t wait_for_tid(_Atomic pid_t *tid)
{
    while (atomic_load(tid) == 0)
        usleep(1000);
    return atomic_load(tid);
}

static void test_stacks_capture_thread_in_nanosleep_and_epoll_wait(void **state)
{
    struct sleeper sleeper = {0}, epoller = {0};
    pthread_t t1, t2;
    uintptr_t pcs[STACKS_MAX_DEPTH];
    int n;

    (void)state;
    epoller.epoll_fd = epoll_create1(0);
    assert_true(epoller.epoll_fd >= 0);
    assert_int_equal(pthread_create(&t1, NULL, sleeper_main, &sleeper), 0);
    assert_int_equal(pthread_create(&t2, NULL, epoller_main, &epoller), 0);

    n = stacks_capture_thread(wait_for_tid(&sleeper.tid), pcs, STACKS_MAX_DEPTH, 2000);
    assert_true(n > 0);
    assert_true(find_function(pcs, n, "stacks_test_sleeping_in_nanosleep") >= 0);
    n = stacks_capture_thread(wait_for_tid(&epoller.tid), pcs, STACKS_MAX_DEPTH, 2000);
    assert_true(n > 0);
    assert_true(find_function(pcs, n, "stacks_test_waiting_in_epoll") >= 0);

    atomic_store(&sleeper.stop, 1);
    atomic_store(&epoller.stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    close(epoller.epoll_fd);
}

/* A thread running its own code, not waiting in libc: the signal lands anywhere in
 * it (under ThreadSanitizer, at the next intercepted call: the memset). */
NOT_INLINED static void stacks_test_spinning(struct sleeper *s)
{
    unsigned char buf[64];
    atomic_store(&s->tid, gettid());
    for (unsigned i = 0; !atomic_load(&s->stop); i++)
        memset(buf, (int)i, sizeof buf);
}

static void *spinner_main(void *arg)
{
    stacks_test_spinning(arg);
    return NULL;
}

static void test_stacks_capture_thread_running_user_code(void **state)
{
    struct sleeper spinner = {0};
    pthread_t t;
    uintptr_t pcs[STACKS_MAX_DEPTH];

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, spinner_main, &spinner), 0);
    for (int round = 0; round < 3; round++) {
        int n = stacks_capture_thread(wait_for_tid(&spinner.tid), pcs, STACKS_MAX_DEPTH, 2000);
        assert_true(n > 0);
        assert_true(find_function(pcs, n, "stacks_test_spinning") >= 0);
    }
    atomic_store(&spinner.stop, 1);
    pthread_join(t, NULL);
}

static void *record_tid_main(void *arg)
{
    *(pid_t *)arg = gettid();
    return NULL;
}

static void test_stacks_capture_thread_gone_returns_minus_one(void **state)
{
    pid_t tid = 0;
    pthread_t t;
    uintptr_t pcs[STACKS_MAX_DEPTH];
    int64_t start;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, record_tid_main, &tid), 0);
    pthread_join(t, NULL);
    start = now_ms();
    assert_int_equal(stacks_capture_thread(tid, pcs, STACKS_MAX_DEPTH, 300), -1);
    assert_true(now_ms() - start < 1000);
}

/* A thread that blocks the capture signal, then unblocks it: its late answer to the
 * timed-out capture must not satisfy or corrupt later captures. */
struct deaf {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int step;            /* main -> thread: 1 unblock, 2 block again, 3 exit */
    int acked;           /* thread -> main: last step done */
    pid_t tid;
};

NOT_INLINED static void stacks_test_deaf_then_listening(struct deaf *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, stacks_signal());

    pthread_mutex_lock(&d->mutex);
    d->tid = gettid();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d->acked = 0;
    pthread_cond_broadcast(&d->cond);
    for (int done = 0; !done;) {
        while (d->step == d->acked)
            pthread_cond_wait(&d->cond, &d->mutex);
        if (d->step == 1)
            pthread_sigmask(SIG_UNBLOCK, &set, NULL);   /* the stale signal runs here */
        else if (d->step == 2)
            pthread_sigmask(SIG_BLOCK, &set, NULL);
        else
            done = 1;
        d->acked = d->step;
        pthread_cond_broadcast(&d->cond);
    }
    pthread_mutex_unlock(&d->mutex);
}

static void *deaf_main(void *arg)
{
    stacks_test_deaf_then_listening(arg);
    return NULL;
}

static void deaf_step(struct deaf *d, int step)
{
    pthread_mutex_lock(&d->mutex);
    d->step = step;
    pthread_cond_broadcast(&d->cond);
    while (d->acked != step)
        pthread_cond_wait(&d->cond, &d->mutex);
    pthread_mutex_unlock(&d->mutex);
}

static void test_stacks_capture_thread_ignores_late_answer(void **state)
{
    struct deaf d = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, 0};
    pthread_t t;
    uintptr_t pcs[STACKS_MAX_DEPTH];
    int64_t start;
    int n;

    (void)state;
    assert_int_equal(pthread_create(&t, NULL, deaf_main, &d), 0);
    pthread_mutex_lock(&d.mutex);
    while (d.acked != 0)
        pthread_cond_wait(&d.cond, &d.mutex);
    pthread_mutex_unlock(&d.mutex);

    start = now_ms();
    assert_int_equal(stacks_capture_thread(d.tid, pcs, STACKS_MAX_DEPTH, 50), -1);
    assert_true(now_ms() - start < 2000);

    deaf_step(&d, 1);   /* the pending signal is delivered, with a stale token */
    n = stacks_capture_thread(d.tid, pcs, STACKS_MAX_DEPTH, 2000);
    assert_true(n > 0);
    assert_true(find_function(pcs, n, "stacks_test_deaf_then_listening") >= 0);

    /* Deaf again: no post left over from the stale answer may satisfy this. */
    deaf_step(&d, 2);
    assert_int_equal(stacks_capture_thread(d.tid, pcs, STACKS_MAX_DEPTH, 50), -1);
    deaf_step(&d, 1);
    deaf_step(&d, 3);
    pthread_join(t, NULL);
}

#define CONCURRENT_CAPTURES 150

struct capturer {
    pid_t target;
    int ok;
};

static void *capturer_main(void *arg)
{
    struct capturer *c = arg;
    uintptr_t pcs[STACKS_MAX_DEPTH];

    for (int i = 0; i < CONCURRENT_CAPTURES; i++) {
        int n = stacks_capture_thread(c->target, pcs, STACKS_MAX_DEPTH, 2000);
        if (n > 0 && find_function(pcs, n, "stacks_test_parked_in_cond_wait") >= 0)
            c->ok++;
    }
    return NULL;
}

static void test_stacks_capture_thread_from_two_threads(void **state)
{
    struct parked p = PARKED_INIT;
    struct capturer c[2];
    pthread_t target, t[2];

    (void)state;
    assert_int_equal(pthread_create(&target, NULL, parked_main, &p), 0);
    parked_wait_ready(&p);
    for (int i = 0; i < 2; i++) {
        c[i].target = p.tid;
        c[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, capturer_main, &c[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].ok, CONCURRENT_CAPTURES);
    }
    parked_release(&p);
    pthread_join(target, NULL);
}

#define MANY_THREADS 40
#define MANY_CAPTURES 600   /* each thread several times: more than two signalling batches */

static void test_stacks_capture_threads_many_at_once(void **state)
{
    static struct parked p[MANY_THREADS];
    static pthread_t t[MANY_THREADS];
    static pid_t tids[MANY_CAPTURES + 1];
    static uintptr_t pcs[(MANY_CAPTURES + 1) * 16];
    static int depths[MANY_CAPTURES + 1];
    pthread_t gone;

    (void)state;
    for (int i = 0; i < MANY_THREADS; i++) {
        struct parked init = PARKED_INIT;
        p[i] = init;
        assert_int_equal(pthread_create(&t[i], NULL, parked_main, &p[i]), 0);
    }
    for (int i = 0; i < MANY_THREADS; i++)
        parked_wait_ready(&p[i]);
    for (int i = 0; i < MANY_CAPTURES; i++)
        tids[i] = p[i % MANY_THREADS].tid;
    assert_int_equal(pthread_create(&gone, NULL, record_tid_main, &tids[MANY_CAPTURES]), 0);
    pthread_join(gone, NULL);

    assert_int_equal(stacks_capture_threads(tids, MANY_CAPTURES + 1, pcs, 16, depths, 2000),
                     MANY_CAPTURES);
    for (int i = 0; i < MANY_CAPTURES; i++) {
        assert_true(depths[i] > 0 && depths[i] <= 16);
        assert_true(find_function(pcs + i * 16, depths[i], "stacks_test_parked_in_cond_wait") >= 0);
    }
    assert_int_equal(depths[MANY_CAPTURES], -1);

    for (int i = 0; i < MANY_THREADS; i++) {
        parked_release(&p[i]);
        pthread_join(t[i], NULL);
    }
}

static int group_setup(void **state)
{
    char err[128];
    (void)state;
    return stacks_init(err, sizeof err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stacks_capture_self_names_callers_in_order),
        cmocka_unit_test(test_stacks_capture_self_skips_frames_and_respects_max),
        cmocka_unit_test(test_stacks_capture_self_fp_matches_libunwind_to_the_recorded_frame),
        cmocka_unit_test(test_stacks_capture_self_fp_stops_at_a_bad_frame_pointer),
        cmocka_unit_test(test_stacks_capture_self_fp_ends_at_a_library_frame),
        cmocka_unit_test(test_stacks_capture_self_fp_without_bounds_is_empty),
        cmocka_unit_test(test_stacks_symbolize_names_inlined_functions),
        cmocka_unit_test(test_stacks_symbolize_garbage_pc_is_unknown),
        cmocka_unit_test(test_stacks_symbolize_finds_libraries_loaded_later),
        cmocka_unit_test(test_stacks_capture_thread_in_cond_wait),
        cmocka_unit_test(test_stacks_capture_thread_in_nanosleep_and_epoll_wait),
        cmocka_unit_test(test_stacks_capture_thread_running_user_code),
        cmocka_unit_test(test_stacks_capture_thread_gone_returns_minus_one),
        cmocka_unit_test(test_stacks_capture_thread_ignores_late_answer),
        cmocka_unit_test(test_stacks_capture_thread_from_two_threads),
        cmocka_unit_test(test_stacks_capture_threads_many_at_once),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
