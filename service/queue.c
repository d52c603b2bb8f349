/* queue: bounded ring of jobs with blocking and non-blocking push. See queue.h.
 * Depth and totals are atomics so /metrics reads them without taking the lock
 * (a snapshot, as the Go lesson says of len(ch): fine for trends). */
#include "queue.h"

#include "lockprof.h"
#include "threads.h"
#include "units.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

struct slot {
    void *job;
    int64_t enqueued_ns;
};

struct queue {
    struct lockprof_mutex lock;
    pthread_cond_t not_empty, not_full;
    struct slot *slots;
    size_t capacity, head, count;
    bool closed;
    _Atomic size_t depth;
    _Atomic uint64_t enqueued, rejected;
};

struct queue *queue_new(size_t capacity)
{
    struct queue *q;

    if (capacity == 0 || !(q = calloc(1, sizeof *q)))
        return NULL;
    q->slots = calloc(capacity, sizeof *q->slots);
    if (!q->slots) {
        free(q);
        return NULL;
    }
    q->capacity = capacity;
    lockprof_mutex_init(&q->lock, "queue");
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return q;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    lockprof_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->slots);
    free(q);
}

/* Called with the lock held and room available. */
static void put_locked(struct queue *q, void *job)
{
    size_t tail = (q->head + q->count) % q->capacity;
    q->slots[tail].job = job;
    q->slots[tail].enqueued_ns = units_now_ns();
    q->count++;
    atomic_store_explicit(&q->depth, q->count, memory_order_relaxed);
    atomic_fetch_add_explicit(&q->enqueued, 1, memory_order_relaxed);
    pthread_cond_signal(&q->not_empty);
}

int queue_try_push(struct queue *q, void *job)
{
    int rc = -1;

    lockprof_mutex_lock(&q->lock);
    if (!q->closed && q->count < q->capacity) {
        put_locked(q, job);
        rc = 0;
    }
    lockprof_mutex_unlock(&q->lock);
    return rc;
}

void queue_note_rejected(struct queue *q)
{
    atomic_fetch_add_explicit(&q->rejected, 1, memory_order_relaxed);
}

int queue_push_or_reject(struct queue *q, void *job)
{
    int rc = queue_try_push(q, job);
    if (rc < 0)
        queue_note_rejected(q);
    return rc;
}

/* The queue.block culprit: a producer that waits for room instead of answering 503,
 * so the I/O thread it runs on stops serving every other connection. */
__attribute__((noinline)) int queue_push_blocking(struct queue *q, void *job)
{
    int rc = -1;

    lockprof_mutex_lock(&q->lock);
    if (q->count >= q->capacity && !q->closed) {
        threads_set_state(THREADS_STATE_WAITING, "queue_push_blocking");
        while (q->count >= q->capacity && !q->closed)
            lockprof_cond_wait(&q->not_full, &q->lock, "queue_push_blocking");
        threads_set_state(THREADS_STATE_RUNNING, NULL);
    }
    if (!q->closed) {
        put_locked(q, job);
        rc = 0;
    }
    lockprof_mutex_unlock(&q->lock);
    return rc;
}

void *queue_pop(struct queue *q, int64_t *wait_ns)
{
    void *job = NULL;

    lockprof_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed)
        lockprof_cond_wait_idle(&q->not_empty, &q->lock, "queue_pop");
    if (q->count > 0) {
        struct slot *s = &q->slots[q->head];
        job = s->job;
        if (wait_ns)
            *wait_ns = units_now_ns() - s->enqueued_ns;
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        atomic_store_explicit(&q->depth, q->count, memory_order_relaxed);
        pthread_cond_signal(&q->not_full);
    }
    lockprof_mutex_unlock(&q->lock);
    return job;
}

void queue_close(struct queue *q)
{
    lockprof_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    lockprof_mutex_unlock(&q->lock);
}

size_t queue_depth(struct queue *q) { return atomic_load_explicit(&q->depth, memory_order_relaxed); }
size_t queue_capacity(const struct queue *q) { return q->capacity; }
uint64_t queue_enqueued_total(struct queue *q) { return atomic_load(&q->enqueued); }
uint64_t queue_rejected_total(struct queue *q) { return atomic_load(&q->rejected); }
