/* workers: the pool that takes orders off the queue and "charges the customer".
 *
 * Each worker pops a job, installs the job's log context (so its lines carry the
 * request's ids), prices the order from the catalog, waits out the simulated payment
 * call and records the outcome in the order store. The queue.stall fault makes a
 * worker take longer per job (culprit: worker_process_stalled; "inf" hangs it until
 * the fault is cleared). Workers exit when the queue is closed and drained. */
#ifndef ORDERD_WORKERS_H
#define ORDERD_WORKERS_H

#include <stddef.h>
#include <stdint.h>

struct queue;
struct order_store;
struct catalog;
struct workers;

struct workers_config {
    int count;                   /* >= 1 */
    int64_t payment_latency_ns;  /* the simulated payment call */
    struct queue *queue;
    struct order_store *orders;
    struct catalog *catalog;
};

/* Starts the pool. Returns it, or NULL with err filled (no thread left running). */
struct workers *workers_start(const struct workers_config *cfg, char *err, size_t errlen);
/* Waits for every worker to exit (close the queue first). Frees the pool. */
void workers_join(struct workers *w);

/* Orders above this amount are declined by the simulated payment provider. */
#define WORKERS_PAYMENT_LIMIT_CENTS 100000000LL

/* The queue.stall culprit: holds the worker for ns (UNITS_DURATION_INF: until the
 * fault is cleared or the service shuts down). */
void worker_process_stalled(int64_t ns);

#endif
