/* threads: the thread registry, and the threadcreate profile it keeps. See threads.h.
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
 * The dumps are in threads_dump.c, and the kernel's correction of a thread's state in
 * threads_kernel.c; threads_internal.h is what they share with the registry. */
#include "threads_internal.h"

#include "pprof.h"
#include "stacks.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 8192

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

int64_t threads_coarse_now_ns(void)
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
    rec->created_ns = threads_coarse_now_ns();
    rec->ncreation = ncreation;
    if (ncreation > 0)
        memcpy(rec->creation, creation, (size_t)ncreation * sizeof *creation);
    rec->fn = NULL;
    rec->arg = NULL;
    atomic_store_explicit(&rec->role, (int)role, memory_order_relaxed);
    atomic_store_explicit(&rec->state, THREADS_STATE_RUNNING, memory_order_relaxed);
    atomic_store_explicit(&rec->wait_reason, NULL, memory_order_relaxed);
    atomic_store_explicit(&rec->since_ns, threads_coarse_now_ns(), memory_order_relaxed);
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
    /* Here, outside malloc, for the heap sampler's frame-pointer walk (up to this frame:
     * above it is libc's thread start). A thread without bounds samples stackless. */
    (void)stacks_fp_thread_bounds(__builtin_frame_address(0));

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
    atomic_store_explicit(&rec->since_ns, threads_coarse_now_ns(), memory_order_relaxed);
}

const char *threads_current_name(void)
{
    return self ? self->name : "unregistered";
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
            threads_kernel_state(rec->tid, &state, &reason);
        }
        if ((unsigned)role < THREADS_ROLE_COUNT && (unsigned)state < THREADS_STATE_COUNT)
            counts[role][state]++;
    }
}

unsigned threads_total(void)
{
    return atomic_load_explicit(&registered_count, memory_order_relaxed);
}

struct thread_view *threads_registry_copy(int *n)
{
    struct thread_view *views;
    int limit;

    *n = 0;
    pthread_mutex_lock(&registry_lock);
    limit = atomic_load_explicit(&high_water, memory_order_relaxed);
    views = calloc(registered ? registered : 1, sizeof *views);
    for (int i = 0; views && i < limit; i++) {
        struct thread_record *rec = &records[i];
        struct thread_view *v;
        /* A thread still starting has no tid yet and has not run user code. */
        if (atomic_load_explicit(&rec->slot, memory_order_acquire) != SLOT_LIVE)
            continue;
        v = &views[(*n)++];
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
    return views;
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
