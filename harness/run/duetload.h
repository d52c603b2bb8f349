/* duetload: closed-loop HTTP load on connections kept open to two services, switched
 * between them in short slices, for the interleaved A/B comparison (run/abrun.h).
 *
 * Why not wrk per slice: a wrk process started for every slice opens its connections,
 * starts its threads and counts its requests over a duration in whole seconds; on a
 * busy 2-core machine that start-up made the throughput of two 1 s slices of the same
 * build differ by about 12% (sd of the log ratio), where the service's own rate over
 * adjacent half-seconds of one continuous load differs by about 3%. Here every
 * connection to both services is opened once and kept; a slice only decides which
 * side's connections send, so a slice can be a fraction of a second and many more
 * pairs fit in the same budget of load.
 *
 * Model: closed loop, as wrk: each connection of a loaded side sends its next request
 * when the last response is complete, with no think time. `connections` connections
 * per side, spread over `threads` threads (thread i owns connections i, i+threads, ...
 * of each side), each thread one epoll loop, pinned to the i-th CPU of `cpus` when
 * given. Requests are one fixed request (method, path, optional body), with a Host
 * header naming the side's target. The cost a request is wrk's (scripts/duet-noise.sh:
 * about 4.7 us of CPU for a cheap GET on loopback, 2 threads on one CPU; 4.0 us with
 * one thread there: more threads than CPUs only take turns).
 *
 * A slice of side mask M and length L: the slice starts when duetload_slice is called
 * (start = now); from then every connection of a side in M sends back to back; at start
 * + L no new request is sent, the requests still out are drained (their responses read
 * and discarded, not counted), and duetload_slice returns. Counted are the responses
 * completed within [start, start + L]; latency is from a request's write to its
 * response's end, for the counted responses. A connection the server closed (EOF
 * between responses, `Connection: close`) is reopened before its next request;
 * reopening is not an error, failing to is (errors_connect). A request with no
 * response byte for `timeout` is a timeout error and its connection is closed (and
 * reopened later). A response with a status outside 200..399 is counted as a request
 * and as errors_status, as wrk does. Responses are framed with http_parser
 * (Content-Length, chunked, close-delimited); a response over 8 MiB, or one the
 * parser rejects, is errors_read and closes the connection. The errors of a slice are
 * those of the requests it sent, also when they happen during the drain (a request out
 * at the end that then times out is the slice's errors_timeout); a connection that
 * failed is tried again after 10 ms, not at once, so a refusing server is not
 * hammered. A request that meets a socket the server closed while it was idle (no byte
 * back, then EOF or a reset) is sent once more on a fresh connection, not counted as an
 * error.
 *
 * Only numeric IPv4 targets and "localhost" are accepted: no name resolution. */
#ifndef LOADLAB_DUETLOAD_H
#define LOADLAB_DUETLOAD_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/wrkres.h"

#define DUETLOAD_SIDES 2
#define DUETLOAD_MAX_CONNECTIONS 1000                /* per side */
#define DUETLOAD_MAX_THREADS 16
#define DUETLOAD_MIN_SLICE_NS 50000000LL             /* 50 ms */
#define DUETLOAD_MAX_SLICE_NS 10000000000LL          /* 10 s */
#define DUETLOAD_MAX_TIMEOUT_NS 60000000000LL        /* 60 s */
#define DUETLOAD_MAX_BODY (1024 * 1024)
#define DUETLOAD_MAX_RESPONSE (8 * 1024 * 1024)

struct duetload_config {
    const char *target[DUETLOAD_SIDES];   /* "127.0.0.1:8080", "localhost:8080" */
    const char *method;                   /* NULL: GET */
    const char *path;                     /* "/api/products/7"; must start with '/' */
    const char *body;                     /* NULL or body_len bytes */
    size_t body_len;                      /* <= DUETLOAD_MAX_BODY */
    const char *content_type;             /* NULL: none sent (sent only with a body) */
    unsigned connections;                 /* per side, 1 .. DUETLOAD_MAX_CONNECTIONS */
    unsigned threads;                     /* 1 .. DUETLOAD_MAX_THREADS, <= connections */
    const cpu_set_t *cpus;                /* NULL: not pinned */
    int64_t timeout_ns;                   /* per request, > 0, <= DUETLOAD_MAX_TIMEOUT_NS */
};

struct duetload;

/* Checks cfg (each field against its limit; the method a token, the path without
 * spaces or CR/LF), opens every connection of both sides and starts the threads. The
 * config is copied; cfg may be freed after this returns.
 * Returns the load, idle until the first slice (free with duetload_free), or NULL with
 * err filled by a sentence naming the field at fault ("connections: 0 is not in
 * 1..1000") or the target that could not be connected to. */
struct duetload *duetload_start(const struct duetload_config *cfg, char *err, size_t errlen);

/* Loads the sides whose bit is set in side_mask (1: side 0, 2: side 1, 3: both at once)
 * for load_ns (DUETLOAD_MIN_SLICE_NS .. DUETLOAD_MAX_SLICE_NS), drains, and writes what
 * each loaded side measured to res[side] as a wrk summary would give it: duration_s
 * (the slice's length), requests, bytes (response bytes of the counted responses),
 * errors_*, latency min/mean/stdev/max and p50/p75/p90/p99/p99.9 in seconds (NaN when
 * no response was counted). res[] of a side not loaded is left unchanged. Blocking; not
 * to be called from two threads at once.
 * Returns 0, or -1 with err filled (bad mask or length, or the threads did not drain
 * within timeout + 1 s: then the load is broken and only duetload_free may follow). */
int duetload_slice(struct duetload *dl, unsigned side_mask, int64_t load_ns, struct wrkres res[DUETLOAD_SIDES],
                   char *err, size_t errlen);

/* Stops the threads, closes every connection and frees dl. NULL is a no-op. */
void duetload_free(struct duetload *dl);

#endif
