/* threads: the thread registry and the thread dumps. See threads.h.
 *
 * The registry is a fixed table (the thread-leak fault can create thousands of
 * threads, and a leak must not grow memory here) with a free list of slot indices,
 * so registering is O(1) under one mutex. What identifies a thread (name, role, tid,
 * creation stack) is written under that mutex; what changes per request or job
 * (state, wait reason, since) is stored by the thread itself with relaxed atomics and
 * read without the lock, so threads_set_state never contends.
 *
 * threads_spawn reserves the slot in the creating thread, with the creating stack, so
 * a full registry is an error before any thread exists; the new thread completes the
 * record (its kernel tid) before it runs the user function, and a cleanup handler
 * releases it however the function ends (return, pthread_exit, cancellation).
 *
 * A dump copies the records under the mutex, releases it and then asks every thread
 * for its stack at once (stacks_capture_threads, DUMP_ANSWER_MS per batch of threads,
 * then DUMP_RETRY_MS for those that missed it):
 * one that does not answer (signal blocked, stopped, gone meanwhile) is shown with
 * "(no answer)" instead of a stack, so the debug port never hangs on a thread.
 *
 * The two text layouts are described in threads.h. */
#include "threads.h"

#include "pprof.h"
#include "stacks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 8192
#define NAME_LEN 32
#define CREATION_DEPTH 32
#define DUMP_ANSWER_MS 100
/* Threads that missed the first call are asked once more, with longer: on a loaded
 * machine a few of thousands may simply not have been scheduled in time. */
#define DUMP_RETRY_MS 1000
#define INLINE_FRAMES 4

enum slot_state { SLOT_FREE, SLOT_STARTING, SLOT_LIVE };

struct thread_record {
    _Atomic int slot;                    /* enum slot_state */
    _Atomic int role;
    _Atomic int state;
    _Atomic(const char *) wait_reason;
    _Atomic int64_t since_ns;
    /* Written under registry_lock when the slot is reserved or goes live. */
    uint64_t id;
    uint64_t creator_id;                 /* 0: not created by a registered thread */
    char name[NAME_LEN];
    _Atomic pid_t tid;                   /* atomic: threads_count reads it unlocked */
    int64_t created_ns;
    int ncreation;
    uintptr_t creation[CREATION_DEPTH];
    /* Set by the creator before pthread_create, which hands them to the new thread. */
    void *(*fn)(void *);
    void *arg;
};

static struct thread_record records[THREADS_MAX];
static int free_slots[THREADS_MAX];
static int nfree;
static int free_list_ready;
static unsigned capacity = THREADS_MAX;
static unsigned registered;              /* under registry_lock */
static uint64_t next_id = 1;
static _Atomic unsigned registered_count;
static _Atomic int high_water;           /* slots at or above are never used */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct thread_record *self;

/* Every thread that ever went live, by creation stack: Go's threadcreate profile.
 * Under registry_lock. Stacks beyond CREATION_SITES_MAX count in the last site,
 * which has no stack. */
#define CREATION_SITES_MAX 512
struct creation_site {
    uint64_t hash, count;
    int npcs;
    uintptr_t pcs[CREATION_DEPTH];
};
static struct creation_site creation_sites[CREATION_SITES_MAX];
static int ncreation_sites;
static uint64_t threads_created;

static const char *const role_names[THREADS_ROLE_COUNT] = {
    "main", "io", "worker", "debug", "fault", "other",
};
static const char *const state_names[THREADS_STATE_COUNT] = {"running", "idle", "waiting"};

const char *threads_role_name(enum threads_role role)
{
    return (unsigned)role < THREADS_ROLE_COUNT ? role_names[role] : "unknown";
}

const char *threads_state_name(enum threads_state state)
{
    return (unsigned)state < THREADS_STATE_COUNT ? state_names[state] : "unknown";
}

/* Coarse clock: a few ns to read on the hot path, and a dump shows tenths of seconds. */
static int64_t coarse_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int threads_set_capacity(unsigned n)
{
    if (n == 0 || n > THREADS_MAX)
        return -1;
    pthread_mutex_lock(&registry_lock);
    capacity = n;
    pthread_mutex_unlock(&registry_lock);
    return 0;
}

/* Takes a free slot for a thread in SLOT_STARTING. NULL when the registry is full. */
static struct thread_record *reserve(const char *name, enum threads_role role,
                                     const uintptr_t *creation, int ncreation)
{
    struct thread_record *rec = NULL;
    int index;

    pthread_mutex_lock(&registry_lock);
    if (!free_list_ready) {
        /* Lowest index on top: slots are reused before new ones are touched. */
        for (int i = 0; i < THREADS_MAX; i++)
            free_slots[i] = THREADS_MAX - 1 - i;
        nfree = THREADS_MAX;
        free_list_ready = 1;
    }
    if (registered >= capacity || nfree == 0)
        goto done;
    index = free_slots[--nfree];
    rec = &records[index];
    registered++;
    atomic_fetch_add_explicit(&registered_count, 1, memory_order_relaxed);
    if (index >= atomic_load_explicit(&high_water, memory_order_relaxed))
        atomic_store_explicit(&high_water, index + 1, memory_order_relaxed);

    rec->id = next_id++;
    rec->creator_id = self ? self->id : 0;
    snprintf(rec->name, sizeof rec->name, "%s", name ? name : "thread");
    rec->tid = 0;
    rec->created_ns = coarse_now_ns();
    rec->ncreation = ncreation;
    if (ncreation > 0)
        memcpy(rec->creation, creation, (size_t)ncreation * sizeof *creation);
    rec->fn = NULL;
    rec->arg = NULL;
    atomic_store_explicit(&rec->role, (int)role, memory_order_relaxed);
    atomic_store_explicit(&rec->state, THREADS_STATE_RUNNING, memory_order_relaxed);
    atomic_store_explicit(&rec->wait_reason, NULL, memory_order_relaxed);
    atomic_store_explicit(&rec->since_ns, coarse_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&rec->slot, SLOT_STARTING, memory_order_release);
done:
    pthread_mutex_unlock(&registry_lock);
    return rec;
}

static void release(struct thread_record *rec)
{
    pthread_mutex_lock(&registry_lock);
    atomic_store_explicit(&rec->slot, SLOT_FREE, memory_order_release);
    free_slots[nfree++] = (int)(rec - records);
    registered--;
    atomic_fetch_sub_explicit(&registered_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&registry_lock);
}

/* Under registry_lock. */
static void count_creation(const uintptr_t *pcs, int npcs)
{
    uint64_t hash = stacks_hash(pcs, npcs);
    struct creation_site *site = NULL;

    for (int i = 0; i < ncreation_sites && !site; i++)
        if (creation_sites[i].hash == hash && creation_sites[i].npcs == npcs &&
            memcmp(creation_sites[i].pcs, pcs, (size_t)npcs * sizeof *pcs) == 0)
            site = &creation_sites[i];
    if (!site && ncreation_sites < CREATION_SITES_MAX - 1) {
        site = &creation_sites[ncreation_sites++];
        site->hash = hash;
        site->npcs = npcs;
        memcpy(site->pcs, pcs, (size_t)npcs * sizeof *pcs);
    }
    if (!site) {
        site = &creation_sites[CREATION_SITES_MAX - 1];
        ncreation_sites = CREATION_SITES_MAX;
    }
    site->count++;
    threads_created++;
}

/* The calling thread takes over a reserved record. */
static void go_live(struct thread_record *rec)
{
    pthread_mutex_lock(&registry_lock);
    count_creation(rec->creation, rec->ncreation);
    rec->tid = gettid();
    atomic_store_explicit(&rec->slot, SLOT_LIVE, memory_order_release);
    pthread_mutex_unlock(&registry_lock);
    self = rec;
}

static void unregister_cleanup(void *arg)
{
    (void)arg;
    threads_unregister_self();
}

static void *spawn_trampoline(void *arg)
{
    struct thread_record *rec = arg;
    void *(*fn)(void *) = rec->fn;
    void *fn_arg = rec->arg;
    void *result;
    sigset_t capture;

    /* The creator may block every signal for its children; dumps need this one. */
    sigemptyset(&capture);
    sigaddset(&capture, stacks_signal());
    pthread_sigmask(SIG_UNBLOCK, &capture, NULL);

    go_live(rec);
    pthread_cleanup_push(unregister_cleanup, NULL);
    result = fn(fn_arg);
    pthread_cleanup_pop(1);
    return result;
}

int threads_spawn(pthread_t *out, const char *name, enum threads_role role,
                  void *(*fn)(void *), void *arg)
{
    uintptr_t creation[CREATION_DEPTH];
    struct thread_record *rec;
    pthread_t thread;
    int ncreation, rc;

    if (!fn || (unsigned)role >= THREADS_ROLE_COUNT)
        return EINVAL;
    /* skip 1: the stack starts at the function that called threads_spawn. */
    ncreation = stacks_capture_self(creation, CREATION_DEPTH, 1);
    rec = reserve(name, role, creation, ncreation);
    if (!rec)
        return EAGAIN;
    rec->fn = fn;
    rec->arg = arg;
    rc = pthread_create(&thread, NULL, spawn_trampoline, rec);
    if (rc != 0) {
        release(rec);
        return rc;
    }
    if (out)
        *out = thread;
    return 0;
}

int threads_register_self(const char *name, enum threads_role role)
{
    struct thread_record *rec;

    if ((unsigned)role >= THREADS_ROLE_COUNT)
        return -1;
    if (self)
        return 0;
    rec = reserve(name, role, NULL, 0);
    if (!rec)
        return -1;
    go_live(rec);
    return 0;
}

void threads_unregister_self(void)
{
    struct thread_record *rec = self;

    if (!rec)
        return;
    self = NULL;
    release(rec);
}

void threads_set_state(enum threads_state state, const char *wait_reason)
{
    struct thread_record *rec = self;

    if (!rec)
        return;
    atomic_store_explicit(&rec->state, (int)state, memory_order_relaxed);
    atomic_store_explicit(&rec->wait_reason, wait_reason, memory_order_relaxed);
    atomic_store_explicit(&rec->since_ns, coarse_now_ns(), memory_order_relaxed);
}

const char *threads_current_name(void)
{
    return self ? self->name : "unregistered";
}

/* ---- the kernel's view ---------------------------------------------------------- */

/* What a blocking system call means for a thread that declared itself running:
 * waiting for I/O or work (epoll, poll, select, accept) is idle, anything else it is
 * blocked in (a futex, a sleep, sigtimedwait, a read) is waiting. x86-64 numbers. */
static const struct { long nr; const char *name; int state; } blocking_syscalls[] = {
    {0, "read", THREADS_STATE_WAITING},          {1, "write", THREADS_STATE_WAITING},
    {7, "poll", THREADS_STATE_IDLE},             {23, "select", THREADS_STATE_IDLE},
    {35, "nanosleep", THREADS_STATE_WAITING},    {43, "accept", THREADS_STATE_IDLE},
    {45, "recvfrom", THREADS_STATE_WAITING},     {44, "sendto", THREADS_STATE_WAITING},
    {61, "wait4", THREADS_STATE_WAITING},        {128, "sigtimedwait", THREADS_STATE_WAITING},
    {202, "futex", THREADS_STATE_WAITING},       {230, "nanosleep", THREADS_STATE_WAITING},
    {232, "epoll_wait", THREADS_STATE_IDLE},     {270, "select", THREADS_STATE_IDLE},
    {271, "poll", THREADS_STATE_IDLE},           {281, "epoll_wait", THREADS_STATE_IDLE},
    {288, "accept", THREADS_STATE_IDLE},         {441, "epoll_wait", THREADS_STATE_IDLE},
};

/* Reads a small /proc/self/task/TID/<name> file into buf. Returns its length, or -1. */
static ssize_t read_task_file(pid_t tid, const char *name, char *buf, size_t len)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    do
        n = read(fd, buf, len - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Corrects a thread that declared itself running (the default of every thread, and
 * what the I/O threads never change) by what the kernel says it is doing: running or
 * runnable ('R') stays running; blocked in a system call becomes idle or waiting with
 * the call as the wait reason ("syscall" when it is not one listed above). Leaves
 * *state and *reason alone when /proc cannot tell. */
static void kernel_state(pid_t tid, int *state, const char **reason)
{
    char buf[512];
    const char *close_paren;
    long nr;

    if (tid <= 0 || read_task_file(tid, "stat", buf, sizeof buf) < 0 ||
        !(close_paren = strrchr(buf, ')')) || close_paren[1] != ' ')
        return;
    if (close_paren[2] == 'R')
        return;
    *state = THREADS_STATE_WAITING;
    *reason = "syscall";
    /* "NR args... sp pc" while blocked in a call; "running" or -1 otherwise. */
    if (read_task_file(tid, "syscall", buf, sizeof buf) < 0 || sscanf(buf, "%ld", &nr) != 1)
        return;
    for (size_t i = 0; i < sizeof blocking_syscalls / sizeof blocking_syscalls[0]; i++) {
        if (blocking_syscalls[i].nr == nr) {
            *state = blocking_syscalls[i].state;
            *reason = blocking_syscalls[i].name;
            return;
        }
    }
}

void threads_count(unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT])
{
    int limit = atomic_load_explicit(&high_water, memory_order_relaxed);

    memset(counts, 0, sizeof(unsigned) * THREADS_ROLE_COUNT * THREADS_STATE_COUNT);
    for (int i = 0; i < limit; i++) {
        struct thread_record *rec = &records[i];
        int role, state;
        int slot = atomic_load_explicit(&rec->slot, memory_order_acquire);
        if (slot == SLOT_FREE)
            continue;
        role = atomic_load_explicit(&rec->role, memory_order_relaxed);
        state = atomic_load_explicit(&rec->state, memory_order_relaxed);
        if (state == THREADS_STATE_RUNNING && slot == SLOT_LIVE) {
            const char *reason = NULL;
            kernel_state(rec->tid, &state, &reason);
        }
        if ((unsigned)role < THREADS_ROLE_COUNT && (unsigned)state < THREADS_STATE_COUNT)
            counts[role][state]++;
    }
}

unsigned threads_total(void)
{
    return atomic_load_explicit(&registered_count, memory_order_relaxed);
}

/* ---- dumps ---------------------------------------------------------------------- */

/* A copy of one live record, and its stack. */
struct thread_view {
    uint64_t id, creator_id;
    char name[NAME_LEN];
    int role, state;
    const char *wait_reason;
    int64_t since_ns, created_ns;
    pid_t tid;
    int ncreation;
    uintptr_t creation[CREATION_DEPTH];
    int depth;                           /* -1: did not answer */
    uintptr_t *pcs;                      /* STACKS_MAX_DEPTH entries */
};

struct dump {
    struct thread_view *views;
    struct thread_view **order;          /* views, sorted for output */
    int n;
    uintptr_t *pcs;
};

static void dump_free(struct dump *d)
{
    free(d->views);
    free(d->order);
    free(d->pcs);
    memset(d, 0, sizeof *d);
}

/* Copies every live record and captures its stack. Returns 0 or -1 (allocation). */
/* Asks the threads with no answer (depth -1) once more and fills in those that answer. */
static void retry_unanswered(const pid_t *tids, int n, uintptr_t *pcs, int *depths)
{
    int missing = 0;
    pid_t *again = calloc((size_t)n, sizeof *again);
    int *where = calloc((size_t)n, sizeof *where), *again_depths = calloc((size_t)n, sizeof *again_depths);
    uintptr_t *again_pcs = NULL;

    if (!again || !where || !again_depths)
        goto done;
    for (int i = 0; i < n; i++) {
        if (depths[i] < 0) {
            where[missing] = i;
            again[missing++] = tids[i];
        }
    }
    if (!(again_pcs = calloc((size_t)missing * STACKS_MAX_DEPTH, sizeof *again_pcs)))
        goto done;
    stacks_capture_threads(again, missing, again_pcs, STACKS_MAX_DEPTH, again_depths, DUMP_RETRY_MS);
    for (int j = 0; j < missing; j++) {
        if (again_depths[j] < 0)
            continue;
        depths[where[j]] = again_depths[j];
        memcpy(pcs + (size_t)where[j] * STACKS_MAX_DEPTH, again_pcs + (size_t)j * STACKS_MAX_DEPTH,
               (size_t)again_depths[j] * sizeof *pcs);
    }
done:
    free(again);
    free(where);
    free(again_depths);
    free(again_pcs);
}

static int dump_collect(struct dump *d)
{
    pid_t *tids = NULL;
    int *depths = NULL;
    int nothers = 0, rc = -1, limit;
    pid_t me = gettid();

    memset(d, 0, sizeof *d);
    pthread_mutex_lock(&registry_lock);
    limit = atomic_load_explicit(&high_water, memory_order_relaxed);
    d->views = calloc(registered ? registered : 1, sizeof *d->views);
    if (!d->views) {
        pthread_mutex_unlock(&registry_lock);
        goto done;
    }
    for (int i = 0; i < limit; i++) {
        struct thread_record *rec = &records[i];
        struct thread_view *v;
        /* A thread still starting has no tid yet and has not run user code. */
        if (atomic_load_explicit(&rec->slot, memory_order_acquire) != SLOT_LIVE)
            continue;
        v = &d->views[d->n++];
        v->id = rec->id;
        v->creator_id = rec->creator_id;
        memcpy(v->name, rec->name, sizeof v->name);
        v->role = atomic_load_explicit(&rec->role, memory_order_relaxed);
        v->state = atomic_load_explicit(&rec->state, memory_order_relaxed);
        v->wait_reason = atomic_load_explicit(&rec->wait_reason, memory_order_relaxed);
        v->since_ns = atomic_load_explicit(&rec->since_ns, memory_order_relaxed);
        v->tid = rec->tid;
        v->created_ns = rec->created_ns;
        v->ncreation = rec->ncreation;
        memcpy(v->creation, rec->creation, (size_t)rec->ncreation * sizeof *rec->creation);
    }
    pthread_mutex_unlock(&registry_lock);
    for (int i = 0; i < d->n; i++)
        if (d->views[i].state == THREADS_STATE_RUNNING)
            kernel_state(d->views[i].tid, &d->views[i].state, &d->views[i].wait_reason);

    d->order = calloc((size_t)d->n + 1, sizeof *d->order);
    d->pcs = calloc(((size_t)d->n + 1) * STACKS_MAX_DEPTH, sizeof *d->pcs);
    tids = calloc((size_t)d->n + 1, sizeof *tids);
    depths = calloc((size_t)d->n + 1, sizeof *depths);
    if (!d->order || !d->pcs || !tids || !depths)
        goto done;

    /* The others first, into the front of pcs; each view then takes its slice. */
    for (int i = 0; i < d->n; i++)
        if (d->views[i].tid != me)
            tids[nothers++] = d->views[i].tid;
    if (stacks_capture_threads(tids, nothers, d->pcs, STACKS_MAX_DEPTH, depths, DUMP_ANSWER_MS) < nothers)
        retry_unanswered(tids, nothers, d->pcs, depths);
    for (int i = 0, k = 0; i < d->n; i++) {
        struct thread_view *v = &d->views[i];
        d->order[i] = v;
        if (v->tid == me) {
            v->pcs = d->pcs + (size_t)d->n * STACKS_MAX_DEPTH;
            v->depth = stacks_capture_self(v->pcs, STACKS_MAX_DEPTH, 0);
        } else {
            v->pcs = d->pcs + (size_t)k * STACKS_MAX_DEPTH;
            v->depth = depths[k++];
        }
    }
    rc = 0;
done:
    free(tids);
    free(depths);
    if (rc != 0)
        dump_free(d);
    return rc;
}

static int compare_stacks(const struct thread_view *a, const struct thread_view *b)
{
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1;
    for (int i = 0; i < a->depth; i++)
        if (a->pcs[i] != b->pcs[i])
            return a->pcs[i] < b->pcs[i] ? -1 : 1;
    return 0;
}

static int compare_stack_order(const void *pa, const void *pb)
{
    const struct thread_view *a = *(const struct thread_view *const *)pa;
    const struct thread_view *b = *(const struct thread_view *const *)pb;
    int c = compare_stacks(a, b);
    return c != 0 ? c : (a->id > b->id) - (a->id < b->id);
}

static int same_labels(const struct thread_view *a, const struct thread_view *b)
{
    return a->role == b->role && a->state == b->state;
}

static int compare_group_order(const void *pa, const void *pb)
{
    const struct thread_view *a = *(const struct thread_view *const *)pa;
    const struct thread_view *b = *(const struct thread_view *const *)pb;
    int c = compare_stacks(a, b);
    if (c != 0)
        return c;
    if (a->role != b->role)
        return a->role < b->role ? -1 : 1;
    if (a->state != b->state)
        return a->state < b->state ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int compare_id_order(const void *pa, const void *pb)
{
    const struct thread_view *a = *(const struct thread_view *const *)pa;
    const struct thread_view *b = *(const struct thread_view *const *)pb;
    return (a->id > b->id) - (a->id < b->id);
}

struct group {
    int first;                           /* index into dump.order */
    int count;
    uint64_t min_id;
};

static int compare_groups(const void *pa, const void *pb)
{
    const struct group *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return (a->min_id > b->min_id) - (a->min_id < b->min_id);
}

/* Sorts d->order with `compare` and splits it into runs that `same` joins
 * (NULL: the stack alone). Returns a malloc'd array of *ngroups groups, largest
 * first, or NULL on allocation failure. */
static struct group *dump_group(struct dump *d, int (*compare)(const void *, const void *),
                                int (*same)(const struct thread_view *, const struct thread_view *),
                                int *ngroups)
{
    struct group *groups = calloc((size_t)d->n + 1, sizeof *groups);
    int n = 0;

    if (!groups)
        return NULL;
    qsort(d->order, (size_t)d->n, sizeof *d->order, compare);
    for (int i = 0; i < d->n; i++) {
        const struct thread_view *v = d->order[i];
        struct group *g = n > 0 ? &groups[n - 1] : NULL;
        if (g && compare_stacks(d->order[g->first], v) == 0 &&
            (!same || same(d->order[g->first], v))) {
            g->count++;
            if (v->id < g->min_id)
                g->min_id = v->id;
            continue;
        }
        groups[n].first = i;
        groups[n].count = 1;
        groups[n].min_id = v->id;
        n++;
    }
    qsort(groups, (size_t)n, sizeof *groups, compare_groups);
    *ngroups = n;
    return groups;
}

static const char *file_or_unknown(const char *file)
{
    return file[0] ? file : "?";
}

static void text_debug1_frames(struct pprof_text *t, const struct thread_view *v)
{
    struct stacks_frame frames[INLINE_FRAMES];

    if (v->depth < 0) {
        pprof_text_printf(t, "#\t(no answer)\n");
        return;
    }
    for (int i = 0; i < v->depth; i++) {
        uintptr_t at = v->pcs[i] - 1;
        int n = stacks_symbolize_inline(at, frames, INLINE_FRAMES);
        if (n < 0)
            pprof_text_printf(t, "#\t0x%" PRIxPTR "\n", at);
        for (int k = 0; k < n; k++)
            pprof_text_printf(t, "#\t0x%" PRIxPTR "\t%s+0x%" PRIxPTR "\t%s:%d\n", at,
                              frames[k].function, frames[k].offset,
                              file_or_unknown(frames[k].file), frames[k].line);
    }
}

static void text_debug1(struct pprof_text *t, struct dump *d)
{
    struct group *groups;
    int ngroups = 0;

    groups = dump_group(d, compare_group_order, same_labels, &ngroups);
    if (!groups) {
        t->failed = 1;
        return;
    }
    pprof_text_printf(t, "threads profile: total %d\n", d->n);
    for (int g = 0; g < ngroups; g++) {
        const struct thread_view *v = d->order[groups[g].first];
        pprof_text_printf(t, "%d @", groups[g].count);
        for (int i = 0; i < v->depth; i++)
            pprof_text_printf(t, " 0x%" PRIxPTR, v->pcs[i]);
        pprof_text_printf(t, "\n# labels: {\"role\":\"%s\", \"state\":\"%s\"}\n",
                          threads_role_name(v->role), threads_state_name(v->state));
        text_debug1_frames(t, v);
        pprof_text_printf(t, "\n");
    }
    free(groups);
}

static void text_debug2_frame(struct pprof_text *t, uintptr_t pc, const char *prefix,
                              const char *suffix, int innermost_only)
{
    struct stacks_frame frames[INLINE_FRAMES];
    uintptr_t at = pc - 1;
    int n = stacks_symbolize_inline(at, frames, INLINE_FRAMES);

    if (n < 0) {
        pprof_text_printf(t, "%s?%s\n\t?:0 pc=0x%" PRIxPTR "\n", prefix, suffix, at);
        return;
    }
    if (innermost_only)
        n = 1;
    for (int k = 0; k < n; k++)
        pprof_text_printf(t, "%s%s%s\n\t%s:%d +0x%" PRIxPTR "\n", prefix, frames[k].function,
                          suffix, file_or_unknown(frames[k].file), frames[k].line,
                          frames[k].offset);
}

static void text_debug2(struct pprof_text *t, struct dump *d)
{
    int64_t now = coarse_now_ns();

    qsort(d->order, (size_t)d->n, sizeof *d->order, compare_id_order);
    for (int i = 0; i < d->n; i++) {
        const struct thread_view *v = d->order[i];
        int64_t waited = now - v->since_ns, age = now - v->created_ns;
        char creator[40] = "";

        pprof_text_printf(t, "thread %" PRIu64 " [%s%s%s, %.1fs]: name=%s role=%s tid=%d age=%.1fs\n",
                          v->id, threads_state_name(v->state), v->wait_reason ? ": " : "",
                          v->wait_reason ? v->wait_reason : "",
                          (double)(waited > 0 ? waited : 0) / 1e9, v->name,
                          threads_role_name(v->role), (int)v->tid,
                          (double)(age > 0 ? age : 0) / 1e9);
        if (v->depth < 0)
            pprof_text_printf(t, "(no answer)\n");
        for (int k = 0; k < v->depth; k++)
            text_debug2_frame(t, v->pcs[k], "", "(...)", 0);
        if (v->ncreation > 0) {
            if (v->creator_id)
                snprintf(creator, sizeof creator, " in thread %" PRIu64, v->creator_id);
            /* The innermost function at the call: the one that asked for the thread. */
            text_debug2_frame(t, v->creation[0], "created by ", creator, 1);
        }
        pprof_text_printf(t, "\n");
    }
}

char *threads_dump_text(int debug, size_t *len)
{
    struct pprof_text t = {0};
    struct dump d;
    char *out = NULL;
    size_t out_len = 0;

    if (dump_collect(&d) != 0)
        return NULL;
    if (debug >= 2)
        text_debug2(&t, &d);
    else
        text_debug1(&t, &d);
    dump_free(&d);
    if (pprof_text_finish(&t, &out, &out_len) != 0)
        return NULL;
    if (len)
        *len = out_len;
    return out;
}

int threads_dump_proto(unsigned char **out, size_t *len)
{
    static const struct pprof_value_type threads_count_type = {"threads", "count"};
    struct dump d;
    struct group *groups = NULL;
    pprof_profile *profile = NULL;
    struct timespec now;
    int ngroups = 0, rc = -1;

    if (!out || !len || dump_collect(&d) != 0)
        return -1;
    groups = dump_group(&d, compare_stack_order, NULL, &ngroups);
    profile = pprof_new(&threads_count_type, 1, threads_count_type, 1);
    if (!groups || !profile)
        goto done;
    clock_gettime(CLOCK_REALTIME, &now);
    pprof_set_time(profile, (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, 0);
    for (int g = 0; g < ngroups; g++) {
        const struct thread_view *v = d.order[groups[g].first];
        int64_t count = groups[g].count;
        /* A thread that did not answer is counted, with no stack. */
        if (pprof_add_sample(profile, v->pcs, v->depth > 0 ? v->depth : 0, &count) != 0)
            goto done;
    }
    rc = pprof_encode(profile, pprof_symbolize_with_stacks, NULL, 1, out, len);
done:
    pprof_free(profile);
    free(groups);
    dump_free(&d);
    return rc;
}

uint64_t threads_created_total(void)
{
    uint64_t n;

    pthread_mutex_lock(&registry_lock);
    n = threads_created;
    pthread_mutex_unlock(&registry_lock);
    return n;
}

int threads_create_profile(int debug, char **out, size_t *len)
{
    static const struct pprof_value_type count_type = {"threadcreate", "count"};
    struct creation_site *sites = malloc(CREATION_SITES_MAX * sizeof *sites);
    struct pprof_text t = {0};
    pprof_profile *profile = NULL;
    struct timespec now;
    uint64_t total;
    int n, rc = -1;

    if (!out || !len || !sites)
        goto done;
    pthread_mutex_lock(&registry_lock);
    n = ncreation_sites;
    total = threads_created;
    memcpy(sites, creation_sites, (size_t)n * sizeof *sites);
    pthread_mutex_unlock(&registry_lock);

    if (debug) {
        pprof_text_printf(&t, "threadcreate profile: total %" PRIu64 "\n", total);
        for (int i = 0; i < n; i++) {
            pprof_text_printf(&t, "%" PRIu64 " @", sites[i].count);
            pprof_text_stack(&t, sites[i].pcs, sites[i].npcs);
        }
        rc = pprof_text_finish(&t, out, len);
        goto done;
    }
    profile = pprof_new(&count_type, 1, count_type, 1);
    if (!profile)
        goto done;
    clock_gettime(CLOCK_REALTIME, &now);
    pprof_set_time(profile, (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, 0);
    for (int i = 0; i < n; i++) {
        int64_t count = (int64_t)sites[i].count;
        if (pprof_add_sample(profile, sites[i].pcs, sites[i].npcs, &count) != 0)
            goto done;
    }
    rc = pprof_encode(profile, pprof_symbolize_with_stacks, NULL, 1, (unsigned char **)out, len);
done:
    pprof_free(profile);
    free(sites);
    return rc;
}
