/* leak: thread and memory leaks on purpose, capped and healable. See leak.h. */
#include "leak.h"

#include "fault.h"
#include "heapprof.h"
#include "log.h"
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t cap_threads = 2000, cap_bytes = 256ull << 20;

/* Notifiers wait for a release generation to change: nobody changes it until the
 * fault is cleared. */
static pthread_mutex_t notifier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notifier_cond = PTHREAD_COND_INITIALIZER;
static uint64_t release_generation;
static _Atomic uint64_t threads_held;
static _Atomic uint64_t notifier_seq;

struct retained {
    struct retained *next;
    size_t bytes;
};
static pthread_mutex_t memory_lock = PTHREAD_MUTEX_INITIALIZER;
static struct retained *retained_list;
static _Atomic uint64_t bytes_held;

uint64_t leak_threads_held(void) { return atomic_load(&threads_held); }
uint64_t leak_bytes_held(void) { return atomic_load(&bytes_held); }

/* The generation a notifier was spawned under. Taken when the order spawns it, not
 * when the thread first runs: a notifier that starts after the fault was cleared must
 * still see that clear as its release, or it would be held forever. */
static _Thread_local uint64_t notifier_generation;

__attribute__((noinline)) void leak_notifier_wait(void)
{
    pthread_mutex_lock(&notifier_lock);
    threads_set_state(THREADS_STATE_WAITING, "leak_notifier_wait");
    while (release_generation == notifier_generation)
        pthread_cond_wait(&notifier_cond, &notifier_lock);
    pthread_mutex_unlock(&notifier_lock);
}

static void *notifier_main(void *arg)
{
    notifier_generation = (uint64_t)(uintptr_t)arg;
    leak_notifier_wait();
    atomic_fetch_sub(&threads_held, 1);
    return NULL;
}

void leak_threads_on_order(void)
{
    pthread_t t;
    char name[32];

    if (!fault_fires(FAULT_LEAK_THREADS, NULL))
        return;
    if (atomic_fetch_add(&threads_held, 1) >= cap_threads) {
        atomic_fetch_sub(&threads_held, 1);
        fault_note_capped(FAULT_LEAK_THREADS, true);
        return;
    }
    snprintf(name, sizeof name, "notifier-%llu", (unsigned long long)atomic_fetch_add(&notifier_seq, 1));
    pthread_mutex_lock(&notifier_lock);
    uint64_t generation = release_generation;
    pthread_mutex_unlock(&notifier_lock);
    int rc = threads_spawn(&t, name, THREADS_ROLE_FAULT, notifier_main, (void *)(uintptr_t)generation);
    if (rc != 0) {
        atomic_fetch_sub(&threads_held, 1);
        fault_note_capped(FAULT_LEAK_THREADS, true);
        log_warn("leak.threads cannot spawn more threads", LOG_F_STR("error", strerror(rc)));
        return;
    }
    pthread_detach(t);
}

__attribute__((noinline)) void *leak_memory_retain(size_t bytes)
{
    struct retained *r;

    if (bytes < sizeof *r)
        bytes = sizeof *r;
    if (atomic_fetch_add(&bytes_held, bytes) + bytes > cap_bytes) {
        atomic_fetch_sub(&bytes_held, bytes);
        fault_note_capped(FAULT_LEAK_MEMORY, true);
        return NULL;
    }
    if (!(r = heapprof_malloc(bytes))) {
        atomic_fetch_sub(&bytes_held, bytes);
        return NULL;
    }
    /* Touch every page so the leak shows in RSS, not just in address space. */
    memset(r, 0xa5, bytes);
    r->bytes = bytes;
    pthread_mutex_lock(&memory_lock);
    r->next = retained_list;
    retained_list = r;
    pthread_mutex_unlock(&memory_lock);
    return r;
}

void leak_memory_on_request(void)
{
    int64_t bytes;
    if (fault_fires(FAULT_LEAK_MEMORY, &bytes) && bytes > 0)
        leak_memory_retain((size_t)bytes);
}

static void heal_threads(void)
{
    pthread_mutex_lock(&notifier_lock);
    release_generation++;
    pthread_cond_broadcast(&notifier_cond);
    pthread_mutex_unlock(&notifier_lock);
    fault_note_capped(FAULT_LEAK_THREADS, false);
}

static void heal_memory(void)
{
    struct retained *list;

    pthread_mutex_lock(&memory_lock);
    list = retained_list;
    retained_list = NULL;
    pthread_mutex_unlock(&memory_lock);
    while (list) {
        struct retained *next = list->next;
        atomic_fetch_sub(&bytes_held, list->bytes);
        heapprof_free(list);
        list = next;
    }
    fault_note_capped(FAULT_LEAK_MEMORY, false);
}

static void holding_threads(uint64_t *threads, uint64_t *bytes)
{
    *threads = leak_threads_held();
    *bytes = 0;
}

static void holding_memory(uint64_t *threads, uint64_t *bytes)
{
    *threads = 0;
    *bytes = leak_bytes_held();
}

void leak_init(uint64_t max_threads, uint64_t max_bytes)
{
    cap_threads = max_threads;
    cap_bytes = max_bytes;
    fault_register_hooks(FAULT_LEAK_THREADS, heal_threads, holding_threads);
    fault_register_hooks(FAULT_LEAK_MEMORY, heal_memory, holding_memory);
}

void leak_release_all(void)
{
    heal_threads();
    heal_memory();
}
