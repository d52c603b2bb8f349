/* One worker thread of openload: its event loop, its share of the schedule (the
 * arrivals, each request's shape, dispatch to a free connection, the wait queue or a
 * drop, the send lag), the timers that keep the schedule, the tick (every 20 ms, or a
 * quarter of the timeout when that is shorter, at least 1 ms) that publishes progress,
 * ends requests past their timeout and watches the stop time and the drain deadline,
 * and its per-second latency windows.
 *
 * Keeping the schedule: libevent's own timers have millisecond resolution, and with
 * EVENT_BASE_FLAG_PRECISE_TIMER it reprograms a timerfd on every loop turn, which on a
 * virtual machine costs more than a request. So each worker sleeps on a timerfd of its
 * own, armed only when the next request is more than `spin` away, for `spin` before it
 * (a wake-up is often tens of microseconds late); the last stretch is spent polling
 * the sockets without blocking (a timer already due makes the loop call epoll_wait
 * with timeout 0), so responses are read while it waits and the send lands on time. With
 * spin = 0 (the default) it sleeps to the exact time instead and spends no CPU
 * waiting: on a machine shared with other work a spinning thread uses up its share
 * and is then descheduled for longer, which is worse than the late wake-up. Every
 * response also sends what has fallen due meanwhile (openload_worker_send_due), so a
 * send does not wait behind a batch of responses for the timer's turn in the loop.
 * There is one timer per thread, never one per request: whatever is due when it fires
 * is sent at once, up to DISPATCH_BATCH before the sockets get a turn.
 *
 * With `slack`, the timer is set that long after the next request's time and left as
 * it is while it fires within the slack of the next one: most sends then go out from
 * the wake-up a response brings anyway, and the timer is set again only now and then,
 * which saves a wake-up and a timerfd_settime (on a virtual machine, an exit to the
 * host) per request for a send lag of up to the slack, measured like any other. */
#include "run/openload_internal.h"

#include "units.h"
#include "xorshift.h"

#include <math.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define TICK_US 20000
#define TICK_MIN_US 1000
/* Requests dispatched per timer callback before I/O gets a turn. */
#define DISPATCH_BATCH 256


static void advance_schedule(struct worker *w)
{
    const struct openload *ol = w->ol;
    if (ol->cfg.arrival == OPENLOAD_ARRIVAL_CONSTANT) {
        double index = (double)(w->next_k * ol->nworkers + w->id);
        w->next_ns = ol->t0 + (int64_t)(index * 1e9 / ol->cfg.rate);
        w->next_k++;
    } else {
        /* 53 random bits in [0, 1); -log(1 - u) is an exponential gap */
        double u = (double)(xorshift64star_next(&w->rng) >> 11) * (1.0 / 9007199254740992.0);
        w->poisson_offset_ns += -log1p(-u) * 1e9 / w->rate;
        w->next_ns = ol->t0 + (int64_t)w->poisson_offset_ns;
    }
}

static unsigned pick_shape(struct worker *w)
{
    const struct openload *ol = w->ol;
    uint64_t r;
    if (ol->cfg.nshapes == 1)
        return 0;
    r = xorshift64star_next(&w->rng) % ol->weight_total;
    for (unsigned i = 0; i < ol->cfg.nshapes; i++) {
        if (r < ol->cfg.shapes[i].weight)
            return i;
        r -= ol->cfg.shapes[i].weight;
    }
    return (unsigned)ol->cfg.nshapes - 1;
}

void openload_worker_flush_window(struct worker *w)
{
    uint8_t *buf;
    size_t len;
    if (latency_hist_count(w->window_latency) == 0)
        return;
    if (latency_hist_serialize(w->window_latency, &buf, &len) < 0) {
        w->out_of_memory = true;
        return;
    }
    pthread_mutex_lock(&w->lock);
    if (w->nblobs == w->blobs_cap) {
        size_t cap = w->blobs_cap ? w->blobs_cap * 2 : 64;
        struct window_blob *grown = realloc(w->blobs, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&w->lock);
            free(buf);
            w->out_of_memory = true;
            return;
        }
        w->blobs = grown;
        w->blobs_cap = cap;
    }
    w->blobs[w->nblobs++] = (struct window_blob){w->window_current, buf, len};
    pthread_mutex_unlock(&w->lock);
    latency_hist_reset(w->window_latency);
}

void openload_worker_maybe_finish(struct worker *w)
{
    if (w->schedule_done && w->busy == 0 && w->queue_count == 0)
        event_base_loopbreak(w->base);
}

static void dispatch(struct worker *w, int64_t scheduled_ns, int64_t now)
{
    size_t win = openload_window_of(w, scheduled_ns);
    unsigned shape = pick_shape(w);

    w->totals.scheduled++;
    w->windows[win].scheduled++;
    latency_hist_record(w->lag, openload_ns_to_us(now - scheduled_ns), 1);
    if (w->free_count > 0) {
        openload_conn_send(openload_pool_pop(w), scheduled_ns, shape, now);
    } else if (w->busy + w->queue_count < w->max_in_flight) {
        w->queue[(w->queue_head + w->queue_count) % w->max_in_flight] = (struct pending){scheduled_ns, shape};
        w->queue_count++;
        w->totals.waited++;
    } else {
        w->totals.dropped++;
        w->windows[win].dropped++;
    }
}

/* Sleeps until at (monotonic ns), unless already set for then. */
static void arm_timer(struct worker *w, int64_t at)
{
    struct itimerspec when = {.it_value = {.tv_sec = at / NS_PER_S, .tv_nsec = at % NS_PER_S}};
    if (w->armed_ns == at)
        return;
    w->armed_ns = at;
    timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &when, NULL);
}

/* Comes back after one non-blocking look at the sockets: a timer already due makes
 * the loop poll with timeout 0 and run it after the I/O callbacks (event_active would
 * run it again in the same pass, before any I/O). */
static void poll_and_return(struct worker *w)
{
    static const struct timeval now = {0, 0};
    evtimer_add(w->spin, &now);
}

/* Dispatches every request whose time has come, then sleeps until the next one. */
static void run_schedule(struct worker *w)
{
    int batch = 0;
    if (w->dispatching)
        return; /* a send that failed at once ended its request and came back here */
    w->dispatching = true;
    while (!w->schedule_done) {
        int64_t now = units_now_ns(), stop = atomic_load_explicit(&w->ol->stop_ns, memory_order_relaxed);
        if (stop && stop < w->end_ns)
            w->end_ns = stop > w->ol->t0 ? stop : w->ol->t0;
        if (w->next_ns >= w->end_ns) {
            w->schedule_done = true;
            w->drain_deadline_ns = w->end_ns + w->ol->cfg.timeout_ns;
            openload_worker_maybe_finish(w);
            break;
        }
        if (w->next_ns > now) {
            int64_t slack = w->ol->cfg.slack_ns;
            if (w->next_ns - now <= w->ol->cfg.spin_ns)
                poll_and_return(w);
            else if (slack == 0 || w->armed_ns < w->next_ns || w->armed_ns > w->next_ns + slack)
                arm_timer(w, w->next_ns - w->ol->cfg.spin_ns + slack);
            /* else: already set to fire within the slack after the next request */
            break;
        }
        if (batch++ == DISPATCH_BATCH) {
            poll_and_return(w); /* let responses in before catching up further */
            break;
        }
        dispatch(w, w->next_ns, now);
        advance_schedule(w);
    }
    w->dispatching = false;
}

void openload_worker_send_due(struct worker *w, int64_t now)
{
    if (now >= w->next_ns && !w->schedule_done && !w->dispatching)
        run_schedule(w);
}

/* The timerfd is not read: setting it again clears its expiration, which saves a
 * system call per wake-up; when the schedule does not set it again, it is disarmed
 * so that it stops being readable. */
static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    static const struct itimerspec disarm;
    struct worker *w = arg;
    if (w->armed_ns == 0 || units_now_ns() < w->armed_ns)
        return; /* stale: already set again for later */
    w->armed_ns = 0;
    run_schedule(w);
    if (w->armed_ns == 0)
        timerfd_settime(w->timer_fd, 0, &disarm, NULL);
}

static void spin_cb(evutil_socket_t fd, short what, void *arg)
{
    run_schedule(arg);
}

/* Every request still out at the drain deadline ends as a timeout. */
static void abandon_outstanding(struct worker *w)
{
    size_t win = openload_window_of(w, units_now_ns());
    w->abandoning = true;
    for (unsigned i = 0; i < w->nconns; i++)
        if (w->conns[i].busy)
            openload_conn_finish(&w->conns[i], OUTCOME_TIMEOUT, true);
    w->totals.errors += w->queue_count;
    w->totals.error_timeout += w->queue_count;
    w->windows[win].errors += w->queue_count;
    w->queue_count = 0;
    openload_worker_maybe_finish(w);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    size_t now_window = openload_window_of(w, units_now_ns());
    /* a window whose second has passed is published even with no later completion */
    if (now_window != w->window_current) {
        openload_worker_flush_window(w);
        w->window_current = now_window;
    }
    pthread_mutex_lock(&w->lock);
    w->published = w->totals;
    pthread_mutex_unlock(&w->lock);
    if (w->busy > 0)
        openload_conn_expire(w, units_now_ns());
    /* a stop while the schedule sleeps until a far request */
    if (atomic_load(&w->ol->stop_ns) && !w->schedule_done)
        run_schedule(w);
    if (w->schedule_done && units_now_ns() >= w->drain_deadline_ns)
        abandon_outstanding(w);
}

void *openload_worker_main(void *arg)
{
    struct worker *w = arg;
    const struct openload_config *cfg = &w->ol->cfg;
    /* the tick also ends the requests past their timeout: often enough for a short one */
    int64_t tick_us = cfg->timeout_ns / 4000;
    struct timeval tick = {.tv_sec = 0,
                           .tv_usec = tick_us > TICK_US ? TICK_US : tick_us < TICK_MIN_US ? TICK_MIN_US : tick_us};

    /* the kernel's default 50 us timer slack would be a floor on the send lag */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (cfg->pinned && CPU_COUNT(&cfg->cpus) > 0) {
        /* thread i on the i-th CPU of the list, cycling */
        int count = CPU_COUNT(&cfg->cpus), nth = (int)(w->id % (unsigned)count);
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &cfg->cpus) && nth-- == 0) {
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
                break;
            }
    }
    for (unsigned i = 0; i < w->nconns; i++)
        openload_conn_open(&w->conns[i]); /* a failure here is retried when the connection is used */
    evtimer_add(w->tick, &tick);
    event_add(w->timer, NULL);
    run_schedule(w);
    if (!w->schedule_done || w->busy || w->queue_count)
        event_base_dispatch(w->base);
    openload_worker_flush_window(w);
    for (unsigned i = 0; i < w->nconns; i++)
        openload_conn_close(&w->conns[i]);
    return NULL;
}

void openload_worker_release(struct worker *w)
{
    if (w->timer)
        event_free(w->timer);
    if (w->spin)
        event_free(w->spin);
    if (w->timer_fd >= 0)
        close(w->timer_fd);
    if (w->tick)
        event_free(w->tick);
    if (w->conns)
        for (unsigned i = 0; i < w->nconns; i++)
            openload_conn_close(&w->conns[i]);
    if (w->base)
        event_base_free(w->base);
    free(w->conns);
    free(w->read_buf);
    free(w->free_ring);
    free(w->queue);
    free(w->windows);
    for (size_t i = 0; i < w->nblobs; i++)
        free(w->blobs[i].buf);
    free(w->blobs);
    latency_hist_free(w->latency);
    latency_hist_free(w->lag);
    latency_hist_free(w->wait);
    latency_hist_free(w->window_latency);
    if (w->lock_ready)
        pthread_mutex_destroy(&w->lock);
}

/* Allocates a worker's share: connections, in-flight bound and the schedule's rate. */
int openload_worker_init(struct openload *ol, struct worker *w, unsigned id)
{
    const struct openload_config *cfg = &ol->cfg;
    unsigned t = cfg->threads;
    struct event_config *ec = NULL;
    int rc = -1;

    w->ol = ol;
    w->id = id;
    w->timer_fd = -1;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        return -1;
    w->lock_ready = true;
    w->nconns = cfg->connections / t + (id < cfg->connections % t);
    w->max_in_flight = cfg->max_in_flight / t + (id < cfg->max_in_flight % t);
    w->rate = cfg->rate / t;
    w->rng = cfg->seed * 0x9E3779B97F4A7C15ULL + id + 1;
    if (w->rng == 0)
        w->rng = 1;
    w->end_ns = ol->end_ns;
    w->nwindows = (size_t)((cfg->duration_ns + cfg->timeout_ns) / NS_PER_S) + 3;
    w->conns = calloc(w->nconns, sizeof(*w->conns));
    for (unsigned i = 0; w->conns && i < w->nconns; i++)
        w->conns[i].fd = -1;
    w->read_buf = malloc(OPENLOAD_READ_BUF);
    w->free_ring = calloc(w->nconns, sizeof(*w->free_ring));
    w->queue = calloc(w->max_in_flight, sizeof(*w->queue));
    w->windows = calloc(w->nwindows, sizeof(*w->windows));
    w->latency = latency_hist_new();
    w->lag = latency_hist_new();
    w->wait = latency_hist_new();
    w->window_latency = latency_hist_new();
    ec = event_config_new();
    if (!w->conns || !w->read_buf || !w->free_ring || !w->queue || !w->windows || !w->latency || !w->lag || !w->wait ||
        !w->window_latency || !ec)
        goto done;
    w->base = event_base_new_with_config(ec);
    if (!w->base)
        goto done;
    w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->timer_fd < 0)
        goto done;
    w->timer = event_new(w->base, w->timer_fd, EV_READ | EV_PERSIST, timer_cb, w);
    w->spin = event_new(w->base, -1, 0, spin_cb, w);
    w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
    if (!w->timer || !w->spin || !w->tick)
        goto done;
    for (unsigned i = 0; i < w->nconns; i++) {
        w->conns[i].w = w;
        openload_pool_push(w, &w->conns[i]);
    }
    advance_schedule(w);
    rc = 0;
done:
    if (ec)
        event_config_free(ec);
    return rc;
}
