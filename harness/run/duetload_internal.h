/* duetload's private structs and the functions its two files call across each other;
 * included only by run/duetload*.c. The public API is run/duetload.h.
 *
 * duetload.c checks the configuration, builds the request bytes, opens the
 * connections, starts and stops the threads, runs a slice from the caller's side and
 * merges the threads' results; duetload_conn.c is one worker thread: its epoll loop over
 * its connections during a slice (send, frame the response with http_parser, reopen,
 * time out, drain).
 *
 * The caller's thread and the workers meet only under dl->lock: the caller publishes a
 * slice (seq, mask, start, end) and waits for every worker to report it finished; a
 * worker reads the slice, runs it on what it owns alone, writes its counts into its
 * own slot and then reports. The one thing read without the lock is `quit`. */
#ifndef LOADLAB_DUETLOAD_INTERNAL_H
#define LOADLAB_DUETLOAD_INTERNAL_H

#include "run/duetload.h"

#include "base/latency_hist.h"

#include <http_parser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#define DUETLOAD_READ_BUF (64 * 1024)
/* How often a worker looks for timeouts and retries connections that failed: a failed
 * connection waits this long before the next attempt, so a dead target is not hammered. */
#define DUETLOAD_CHECK_NS 10000000LL

/* How a request ended when it did not end with a response. */
enum duet_failure { DUET_FAIL_NONE, DUET_FAIL_CONNECT, DUET_FAIL_READ, DUET_FAIL_WRITE, DUET_FAIL_TIMEOUT };

/* What one side measured in one slice on one thread; latency sums in microseconds. */
struct duet_counts {
    uint64_t requests, bytes;
    uint64_t errors_connect, errors_read, errors_write, errors_status, errors_timeout;
    double latency_sum_us, latency_sumsq_us;
};

struct duet_worker;

/* One connection and the request on it (one at a time: no pipelining). */
struct duet_conn {
    struct duet_worker *w;
    unsigned side;
    int fd;                      /* -1 while closed; reopened when next used */
    bool connecting;             /* a nonblocking connect under way */
    bool busy;                   /* a request is out */
    bool served;                 /* a response came back on this socket (it may since have gone stale) */
    bool retried;                /* this request was already resent once on a fresh socket */
    bool got_byte, done, keep_alive, write_wanted;
    enum duet_failure failure;   /* set by a parser callback */
    http_parser parser;
    size_t out_off;              /* request bytes written */
    uint64_t response_bytes;
    int64_t sent_ns;             /* the request's write: latency runs from it */
    int64_t last_io_ns;          /* the write or the last byte in: the timeout runs from it */
    int64_t retry_ns;            /* an idle closed connection is not reopened before */
};

/* One worker thread and what it owns. */
struct duet_worker {
    struct duetload *dl;
    unsigned id;
    pthread_t thread;
    bool started;
    int epfd;
    char *read_buf;
    struct duet_conn *conns;     /* connections i, i + threads, ... of side 0, then of side 1 */
    unsigned nconns, busy;
    /* the slice being run, copied under dl->lock */
    uint64_t seen_seq;
    unsigned mask;
    int64_t start_ns, end_ns;
    /* its results, read by the caller once the worker reported the slice finished */
    struct duet_counts counts[DUETLOAD_SIDES];
    struct latency_hist *latency[DUETLOAD_SIDES];
};

struct duetload {
    struct sockaddr_in addr[DUETLOAD_SIDES];
    char *request[DUETLOAD_SIDES];           /* the exact bytes sent to each side */
    size_t request_len[DUETLOAD_SIDES];
    bool head;                               /* HEAD: a response has no body */
    unsigned connections, threads;
    bool pinned;
    cpu_set_t cpus;
    int64_t timeout_ns;

    struct duet_worker *workers;
    unsigned nworkers;                       /* set up (their epfd open) */
    struct latency_hist *merged;

    pthread_mutex_t lock;
    pthread_cond_t go, finished;
    bool sync_ready;
    uint64_t seq;                            /* slices published */
    unsigned mask, nfinished;
    int64_t start_ns, end_ns;
    bool broken;
    atomic_bool quit;
};

/* duetload_conn.c: starts a nonblocking connect on a closed c and adds it to its
 * worker's epoll set. Returns 0 (c->connecting tells whether it is still under way), or
 * -1 with errno set (c left closed). */
int duetload_conn_open(struct duet_conn *c);
/* Removes c from the epoll set and closes it; a closed c is left as is. */
void duetload_conn_close(struct duet_conn *c);
/* The worker's thread body (arg: its struct duet_worker). */
void *duetload_worker_main(void *arg);

static inline int64_t duetload_ns_to_us(int64_t ns)
{
    return (ns + 500) / 1000;
}

#endif
