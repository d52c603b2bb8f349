/* openload's private structs and the functions its files call across each other;
 * included only by run/openload*.c. The public API is run/openload.h.
 *
 * The files: openload.c starts, stops and waits for a run and builds its result;
 * openload_config.c parses and checks a configuration and builds the request bytes;
 * openload_worker.c is one worker thread (its event loop, its share of the schedule,
 * its timers and tick, its per-second windows); openload_conn.c is one connection
 * (open, write, frame the response with http_parser, end the request).
 *
 * Each worker thread owns an event_base, its connections, a FIFO of free connections
 * (round-robin use, so no connection sits idle long enough to be closed under it), a
 * ring of requests waiting for a connection, and its own histograms and per-second
 * counters; nothing is shared between workers while the run lasts except the stop
 * time, so there are no locks. */
#ifndef LOADLAB_OPENLOAD_INTERNAL_H
#define LOADLAB_OPENLOAD_INTERNAL_H

#include "run/openload.h"

#include <event2/event.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#define NS_PER_S 1000000000LL

/* One request of the mix, built once into the exact bytes sent. */
struct shape {
    char *bytes;
    size_t len;
    bool head;
    unsigned weight;
};

/* See openload_config_set for each option; shapes own their bytes. */
struct openload_config {
    double rate;
    enum openload_arrival arrival;
    int64_t duration_ns, timeout_ns, lag_limit_ns, start_ns, spin_ns, slack_ns;
    unsigned connections, max_in_flight, threads;
    bool pinned;
    cpu_set_t cpus;
    struct sockaddr_in target;
    char host_header[64];
    uint64_t seed, max_response_header, max_response_body;
    struct shape shapes[OPENLOAD_MAX_REQUESTS];
    size_t nshapes;
};

/* How a request ended: completed (any status) or the kind of error. */
enum outcome { OUTCOME_OK, OUTCOME_CONNECT, OUTCOME_IO, OUTCOME_TIMEOUT, OUTCOME_PROTOCOL, OUTCOME_TOO_LARGE };

/* A request waiting for a free connection. */
struct pending {
    int64_t scheduled_ns;
    unsigned shape;
};

struct worker;

/* One connection of a worker's pool and the request on it. The socket is read through
 * one persistent read event; the write event is added only while a connect is under
 * way or a request did not fit the socket at once. */
struct conn {
    struct worker *w;
    int fd;                       /* -1 while closed; reopened when next used */
    struct event *read_ev, *write_ev;
    http_parser parser;
    bool busy, connected, done, keep_alive, head, write_pending;
    enum outcome failure;         /* set by a parser callback; OUTCOME_OK otherwise */
    int status;
    int64_t scheduled_ns;
    int64_t last_io_ns;           /* the send or the last byte in: the timeout runs from it */
    const char *out;              /* request bytes not yet written (in the shape's bytes) */
    size_t out_left;
    uint64_t header_bytes, body_bytes;
};

/* A worker's counts for one second of the run. */
struct window_counts {
    uint64_t scheduled, dropped, completed, errors;
};

/* A finished window's latencies, serialized as latency_hist stores them. */
struct window_blob {
    size_t window;
    uint8_t *buf;
    size_t len;
};

/* One worker thread and everything it owns. */
struct worker {
    struct openload *ol;
    unsigned id;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct event *timer, *spin, *tick;
    int timer_fd;
    int64_t armed_ns;             /* when timer_fd fires; 0: disarmed */
    char *read_buf;               /* every connection reads into it and parses at once */

    struct conn *conns;
    unsigned nconns, busy;
    unsigned *free_ring, free_head, free_count;
    struct pending *queue;
    unsigned queue_head, queue_count, max_in_flight;

    /* the schedule */
    double rate;
    uint64_t next_k, rng;
    double poisson_offset_ns;
    int64_t next_ns, end_ns, drain_deadline_ns;
    bool schedule_done, abandoning, dispatching;

    struct openload_totals totals;
    struct latency_hist *latency, *lag, *wait, *window_latency;
    size_t window_current;
    struct window_counts *windows;
    size_t nwindows;
    struct window_blob *blobs;
    size_t nblobs, blobs_cap;
    bool out_of_memory;

    /* what another thread may read while the run lasts (openload_progress,
     * openload_window_latency): blobs above, and totals as of the last tick */
    pthread_mutex_t lock;
    bool lock_ready;
    struct openload_totals published;
};

/* A running load. */
struct openload {
    struct openload_config cfg;   /* shapes deep-copied */
    uint64_t weight_total;
    int64_t t0, end_ns;
    _Atomic int64_t stop_ns;      /* 0: not stopped */
    struct worker *workers;
    unsigned nworkers;
};

/* The per-second window time t (monotonic ns) falls in; the last one past the end. */
static inline size_t openload_window_of(const struct worker *w, int64_t t)
{
    int64_t offset = t - w->ol->t0;
    size_t i = offset <= 0 ? 0 : (size_t)(offset / NS_PER_S);
    return i < w->nwindows ? i : w->nwindows - 1;
}

static inline int64_t openload_ns_to_us(int64_t ns)
{
    return (ns + 500) / 1000;
}

/* openload_config.c: frees the request bytes of n shapes (not the array). */
void openload_shapes_free(struct shape *shapes, size_t n);

/* openload_worker.c: sets up worker id's share of ol (connections, in-flight bound,
 * the schedule's rate) and its event base and timers. Returns 0, or -1 when out of
 * memory or no event base (what was set up is freed by openload_worker_release,
 * which needs timer_fd -1 on a worker never set up). */
int openload_worker_init(struct openload *ol, struct worker *w, unsigned id);
void openload_worker_release(struct worker *w);
/* The thread's body (arg: its struct worker); runs the schedule and the drain. */
void *openload_worker_main(void *arg);
/* Publishes the current window's latencies (serialized) for readers of the run. */
void openload_worker_flush_window(struct worker *w);
/* Sends the requests due by now, if any: called after each response, so that a send
 * falling due while the loop works through a batch of responses does not wait for the
 * batch to end and the timer's turn. */
void openload_worker_send_due(struct worker *w, int64_t now);
/* Ends the worker's loop once the schedule is done and nothing is out. */
void openload_worker_maybe_finish(struct worker *w);

/* The size of a worker's read buffer: one read takes a whole small response. */
#define OPENLOAD_READ_BUF (64 * 1024)

/* openload_conn.c: the free connections, a FIFO. */
void openload_pool_push(struct worker *w, struct conn *c);
struct conn *openload_pool_pop(struct worker *w);
/* Starts connecting c. Returns 0, or -1 (c left closed). */
int openload_conn_open(struct conn *c);
void openload_conn_close(struct conn *c);
/* Sends request shape, scheduled at scheduled_ns, on c (opened first when closed) at
 * now (units_now_ns); a failure is counted as that request's error. */
void openload_conn_send(struct conn *c, int64_t scheduled_ns, unsigned shape, int64_t now);
/* Ends c's request with outcome, closes c when asked, and gives c the next waiting
 * request, if any. */
void openload_conn_finish(struct conn *c, enum outcome outcome, bool close);
/* Ends as timeouts the requests that have had no byte since timeout before now. */
void openload_conn_expire(struct worker *w, int64_t now);

#endif
