/* workers: the order-processing pool. See workers.h. */
#include "workers.h"

#include "catalog.h"
#include "fault.h"
#include "heapprof.h"
#include "lockprof.h"
#include "log.h"
#include "metrics.h"
#include "orders.h"
#include "queue.h"
#include "threads.h"
#include "units.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct workers {
    struct workers_config cfg;
    pthread_t *threads;
    int started;
};

/* Stalled workers wait for a heal generation to change (or their time to pass). */
static struct lockprof_mutex stall_lock;
static pthread_cond_t stall_cond;
static uint64_t stall_generation;
static pthread_once_t stall_once = PTHREAD_ONCE_INIT;

static void stall_heal(void)
{
    lockprof_mutex_lock(&stall_lock);
    stall_generation++;
    pthread_cond_broadcast(&stall_cond);
    lockprof_mutex_unlock(&stall_lock);
}

static void stall_init(void)
{
    pthread_condattr_t attr;
    lockprof_mutex_init(&stall_lock, "worker_stall");
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&stall_cond, &attr);
    pthread_condattr_destroy(&attr);
    fault_register_hooks(FAULT_QUEUE_STALL, stall_heal, NULL);
}

__attribute__((noinline)) void worker_process_stalled(int64_t ns)
{
    struct timespec deadline;
    int64_t until = units_now_ns() + (ns == UNITS_DURATION_INF ? 0 : ns);

    deadline.tv_sec = until / 1000000000;
    deadline.tv_nsec = until % 1000000000;
    threads_set_state(THREADS_STATE_WAITING, "worker_process_stalled");
    lockprof_mutex_lock(&stall_lock);
    uint64_t generation = stall_generation;
    while (stall_generation == generation) {
        if (ns == UNITS_DURATION_INF)
            lockprof_cond_wait(&stall_cond, &stall_lock, "worker_process");
        else if (lockprof_cond_timedwait(&stall_cond, &stall_lock, &deadline, "worker_process") == ETIMEDOUT)
            break;
    }
    lockprof_mutex_unlock(&stall_lock);
    threads_set_state(THREADS_STATE_RUNNING, NULL);
}

/* The simulated payment provider: a remote call of fixed latency. */
static int charge_customer(int64_t amount_cents, int64_t latency_ns, const char **failure)
{
    struct timespec ts = {.tv_sec = latency_ns / 1000000000, .tv_nsec = latency_ns % 1000000000};

    threads_set_state(THREADS_STATE_WAITING, "payment");
    while (latency_ns > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    threads_set_state(THREADS_STATE_RUNNING, NULL);
    if (amount_cents > WORKERS_PAYMENT_LIMIT_CENTS) {
        *failure = "payment declined: amount over limit";
        return -1;
    }
    return 0;
}

static void process(struct workers *w, struct order_job *job, int64_t wait_ns)
{
    struct log_context ctx = job->log;
    int64_t amount = 0, stall_ns;
    const char *failure = NULL;
    int64_t start = units_now_ns();

    ctx.order_id = job->order_id;
    ctx.user_id = job->request.user_id;
    log_context_set(&ctx);
    order_store_update(w->cfg.orders, job->order_id, ORDER_PROCESSING, 0, NULL);
    log_debug("order processing started", LOG_F_DOUBLE("queue_wait_ms", (double)wait_ns / 1e6));
    if (fault_fires(FAULT_QUEUE_STALL, &stall_ns))
        worker_process_stalled(stall_ns);
    for (int i = 0; i < job->request.nitems; i++) {
        const struct catalog_product *p = catalog_get(w->cfg.catalog, job->request.items[i].product_id);
        if (!p) {
            failure = "unknown product";
            break;
        }
        amount += p->price_cents * job->request.items[i].qty;
    }
    if (!failure)
        charge_customer(amount, w->cfg.payment_latency_ns, &failure);
    if (failure) {
        order_store_update(w->cfg.orders, job->order_id, ORDER_FAILED, amount, failure);
        log_warn("charge failed", LOG_F_STR("error", failure), LOG_F_INT("amount_cents", amount));
    } else {
        order_store_update(w->cfg.orders, job->order_id, ORDER_DONE, amount, NULL);
        log_info("order processed", LOG_F_INT("amount_cents", amount),
                 LOG_F_DOUBLE("queue_wait_ms", (double)wait_ns / 1e6),
                 LOG_F_DOUBLE("duration_ms", (double)(units_now_ns() - start) / 1e6));
    }
    log_context_clear();
}

static void *worker_main(void *arg)
{
    struct workers *w = arg;
    struct order_job *job;
    int64_t wait_ns = 0;

    for (;;) {
        threads_set_state(THREADS_STATE_IDLE, "queue_pop");
        job = queue_pop(w->cfg.queue, &wait_ns);
        if (!job)
            break;
        threads_set_state(THREADS_STATE_RUNNING, NULL);
        metrics_queue_wait_observe(wait_ns);
        process(w, job, wait_ns);
        heapprof_free(job);
    }
    return NULL;
}

struct workers *workers_start(const struct workers_config *cfg, char *err, size_t errlen)
{
    struct workers *w;

    pthread_once(&stall_once, stall_init);
    if (cfg->count < 1 || !(w = calloc(1, sizeof *w)))
        goto fail_alloc;
    if (!(w->threads = calloc((size_t)cfg->count, sizeof *w->threads))) {
        free(w);
        goto fail_alloc;
    }
    w->cfg = *cfg;
    for (int i = 0; i < cfg->count; i++) {
        char name[32];
        snprintf(name, sizeof name, "worker-%d", i);
        int rc = threads_spawn(&w->threads[i], name, THREADS_ROLE_WORKER, worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker %d: %s", i, strerror(rc));
            /* Startup failed: the service will not run, so the queue is closed to let
             * the workers already started exit. */
            queue_close(cfg->queue);
            w->started = i;
            workers_join(w);
            return NULL;
        }
    }
    w->started = cfg->count;
    return w;
fail_alloc:
    snprintf(err, errlen, "cannot start workers: bad count or out of memory");
    return NULL;
}

void workers_join(struct workers *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->started; i++)
        pthread_join(w->threads[i], NULL);
    free(w->threads);
    free(w);
}
