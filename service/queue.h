/* queue: the bounded work queue between the I/O threads (producers) and the worker
 * pool (consumers).
 *
 * A ring of pointers under one named, instrumented mutex with two condition variables.
 * The healthy producer never waits: queue_push_or_reject() answers "full" at once and
 * the caller replies 503. The queue.block fault swaps in queue_push_blocking(), which
 * waits for room — the blocked-producer incident. Closing lets consumers drain what is
 * queued, then returns NULL to each: no accepted job is dropped on shutdown. */
#ifndef ORDERD_QUEUE_H
#define ORDERD_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct queue;

/* Returns a queue of capacity slots, or NULL (capacity 0 or out of memory). */
struct queue *queue_new(size_t capacity);
/* Frees the queue (not the jobs still in it). NULL is a no-op. */
void queue_free(struct queue *q);

/* Adds job unless the queue is full or closed. Returns 0, or -1 (job not taken,
 * counted as rejected). */
int queue_push_or_reject(struct queue *q, void *job);
/* The same without counting a refusal: for a caller that may still wait for room
 * (queue.block), and then counts with queue_note_rejected() if it gives up. */
int queue_try_push(struct queue *q, void *job);
void queue_note_rejected(struct queue *q);
/* Adds job, waiting for room while the queue is full. Returns 0, or -1 when the
 * queue is closed (job not taken). */
int queue_push_blocking(struct queue *q, void *job);

/* Takes the oldest job, waiting while the queue is empty. Returns NULL once the
 * queue is closed and empty. *wait_ns (when non-NULL) gets how long the job waited
 * in the queue. */
void *queue_pop(struct queue *q, int64_t *wait_ns);

/* Stops accepting pushes and wakes every waiter; pops go on until empty. */
void queue_close(struct queue *q);

size_t queue_depth(struct queue *q);
size_t queue_capacity(const struct queue *q);
uint64_t queue_enqueued_total(struct queue *q);
uint64_t queue_rejected_total(struct queue *q);

#endif
