/* openload: an open-model HTTP/1.1 load generator (constant or Poisson arrivals).
 *
 * A closed-loop generator such as wrk sends a connection's next request only when the
 * last one came back, so a stalled service is sent less and the stall is measured once
 * per connection: coordinated omission. Here the requests are placed on a timeline
 * fixed in advance by the rate, the arrival process and the seed, and each latency is
 * measured from the request's *scheduled* time (as wrk2 -R, k6 constant-arrival-rate):
 * a stall counts for every request that should have been sent during it.
 *
 * Threads: each of `threads` runs its own event_base with its share of the connection
 * pool, of max_in_flight and of the schedule (constant: request k of the whole timeline
 * goes to thread k mod threads, so the merged timeline is evenly spaced; Poisson: each
 * thread runs an independent Poisson process at rate/threads, whose superposition is a
 * Poisson process at rate). A request whose time comes goes to a free connection of its
 * thread; when all are busy it waits in a queue (the wait is part of its latency) as
 * long as requests in flight plus waiting stay below max_in_flight; past that it is
 * dropped and counted, never silently skipped. Every scheduled request ends as exactly
 * one of completed (a whole response, any status), error (connect, reset, timeout,
 * malformed or too large response) or dropped. Requests still out when the drain
 * deadline (the end of the schedule plus `timeout`) passes end as timeout errors.
 *
 * Health: send lag is (time the generator handed the request to its connection or
 * queue) - (scheduled time). Latency figures already include it, but a lag p99 above
 * `lag_limit` means the generator, not the service, set the pace: the result is then
 * flagged behind_schedule and its latencies must be read as unreliable.
 *
 * Windows: one histogram per second of the run (by completion time, as k6 attributes
 * samples) plus the whole-run one; scheduled and dropped requests per window are
 * counted by scheduled time, completed and errors by completion time. Histograms come
 * from latency_hist (1 us .. 1 h, < 0.1% relative error); window histograms are kept
 * serialized, the form SQLite will store them in.
 *
 * Responses are framed with http_parser (Content-Length, chunked, or close-delimited);
 * connections are kept alive and reopened lazily after the server closes them. Only
 * numeric IPv4 targets and "localhost" are accepted: no name resolution. */
#ifndef LOADLAB_OPENLOAD_H
#define LOADLAB_OPENLOAD_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/latency_hist.h"

/* Hard limits on what a configuration may ask for. */
#define OPENLOAD_MAX_RATE 1000000.0               /* requests per second */
#define OPENLOAD_MAX_RATE_PER_CONNECTION 100000.0 /* one response per 10 us at best */
#define OPENLOAD_MAX_CONNECTIONS 10000
#define OPENLOAD_MAX_THREADS 64
#define OPENLOAD_MAX_IN_FLIGHT 1000000
#define OPENLOAD_MAX_DURATION_NS (24LL * 3600 * 1000000000)
#define OPENLOAD_MAX_TIMEOUT_NS (600LL * 1000000000)
#define OPENLOAD_MAX_REQUESTS 64                  /* shapes in a mix */
#define OPENLOAD_MAX_HEADERS 32                   /* per shape */
#define OPENLOAD_MAX_WEIGHT 1000000
#define OPENLOAD_MAX_REQUEST_BYTES (1024 * 1024)  /* one shape, head and body */
#define OPENLOAD_MAX_RESPONSE_HEADER_LIMIT (1024 * 1024)
#define OPENLOAD_MAX_RESPONSE_BODY_LIMIT (256LL * 1024 * 1024)

enum openload_arrival { OPENLOAD_ARRIVAL_CONSTANT, OPENLOAD_ARRIVAL_POISSON };

struct openload_config;
struct openload;
struct openload_result;
struct openload_totals;

/* A configuration with the defaults: target 127.0.0.1:8080, arrival constant,
 * duration 10s, connections 64, max_in_flight 10000, threads 1, no pinning, timeout
 * 10s, lag_limit 1ms, spin 0, slack 0, seed 1, max_response_header 64k, max_response_body 8M, no
 * request (one must be added), no rate (one must be set).
 * Returns NULL when out of memory; free with openload_config_free. */
struct openload_config *openload_config_new(void);
void openload_config_free(struct openload_config *cfg);

/* Sets one option from its text, as a scenario's [load] section or a flag gives it:
 *   rate            "2000/s", "2000" (per second), "120/m", "7200/h"; > 0, <= 1M/s
 *   arrival         constant | poisson
 *   duration        a duration ("30s"), > 0, <= 24h
 *   connections     1 .. 10000
 *   max_in_flight   1 .. 1000000, requests sent or waiting for a connection
 *   threads         1 .. 64
 *   cpu             a CPU list as taskset -c takes it ("1", "0-3"); thread i is pinned
 *                   to the i-th CPU of the list, cycling
 *   target          "127.0.0.1:8080", "localhost:8080"
 *   timeout         per request (no byte for that long) and the drain after the end
 *   lag_limit       send-lag p99 above which the run is behind schedule
 *   spin            how long before a request's time a worker stops sleeping and polls
 *                   its sockets instead (0 .. 10ms; default 0: sleep to the time,
 *                   no CPU spent waiting; 100us suits a dedicated load machine)
 *   slack           how late after a request's time a worker's timer may wake it (0 ..
 *                   10ms; default 0): sends mostly ride on the wake-ups responses
 *                   bring, which saves CPU per request at high rates for a send lag
 *                   of up to the slack; not with spin
 *   seed            for Poisson arrivals and the request mix
 *   max_response_header, max_response_body   sizes ("64k", "8M")
 * Returns 0, or -1 with err filled by a sentence that starts with the key, e.g.
 * "rate: \"-5/s\" must be a positive number of requests per second" (the caller adds
 * file:line); cfg is unchanged on failure. */
int openload_config_set(struct openload_config *cfg, const char *key, const char *value,
                        char *err, size_t errlen);

/* Adds a request shape to the mix: method ("GET"), path ("/api/x?y=1"), headers as
 * "Name: value" strings (nheaders may be 0), a body (may be NULL), and its weight
 * (1 .. 1000000; each scheduled request picks a shape with probability weight/total).
 * Host is added unless given; Content-Length is added when there is a body or the
 * method is POST, PUT or PATCH. Everything is copied.
 * Returns 0, or -1 with err filled (bad token, CR/LF in a field, too many shapes or
 * headers, the request over OPENLOAD_MAX_REQUEST_BYTES); cfg is unchanged on failure. */
int openload_config_add_request(struct openload_config *cfg, const char *method, const char *path,
                                const char *const *headers, size_t nheaders, const char *body,
                                size_t body_len, unsigned weight, char *err, size_t errlen);

/* The monotonic time (units_now_ns) at which the schedule starts; 0 (the default)
 * means 50 ms after openload_start, time for the connections to open. A runner that
 * switches faults on its own timeline passes the same origin. */
void openload_config_set_start(struct openload_config *cfg, int64_t start_ns);

/* Checks what single options cannot: a rate set, at least one request, threads <=
 * connections <= max_in_flight, and rate <= connections * 100000/s (no pool of that
 * size could carry it). Returns 0, or -1 with err naming the key at fault. */
int openload_config_check(const struct openload_config *cfg, char *err, size_t errlen);

/* Checks cfg, opens the connections and starts the threads; the schedule begins at the
 * configured start. cfg may be freed after this returns. Sets SIGPIPE to be ignored
 * (process-wide), so that a peer closing mid-write is an error on that connection.
 * Returns the running load (finish it with openload_wait), or NULL with err filled. */
struct openload *openload_start(const struct openload_config *cfg, char *err, size_t errlen);

/* Ends the schedule early (from any thread; e.g. an abort gate): no request is
 * scheduled after this, those out are drained as at the normal end. */
void openload_stop(struct openload *ol);

/* While the run lasts (from any thread): the totals as of at most 20 ms ago (rates and
 * behind_schedule are filled only by openload_wait), the schedule's start time
 * (monotonic ns), and the latencies of one per-second window merged into `into` (a
 * window is complete once the time is past its end by 50 ms). For abort gates.
 * openload_window_latency returns 0, or -1 with err filled (into then partly merged). */
void openload_progress(struct openload *ol, struct openload_totals *out);
int64_t openload_start_time(const struct openload *ol);
int openload_window_latency(struct openload *ol, size_t window, struct latency_hist *into, char *err,
                            size_t errlen);

/* Whether every worker has ended (the schedule done and each request accounted for),
 * so that openload_wait will not block. From the thread that will call openload_wait,
 * never concurrently with it. */
bool openload_finished(struct openload *ol);

/* Waits for the run to end, frees ol and returns the result (free it with
 * openload_result_free), or NULL with err filled when out of memory. */
struct openload_result *openload_wait(struct openload *ol, char *err, size_t errlen);

/* openload_start then openload_wait. */
struct openload_result *openload_run(const struct openload_config *cfg, char *err, size_t errlen);

struct openload_totals {
    uint64_t scheduled, completed, errors, dropped; /* scheduled = completed + errors + dropped */
    uint64_t waited;                 /* requests that waited for a free connection */
    uint64_t status_2xx, status_other; /* completed, by status */
    uint64_t error_connect, error_io, error_timeout, error_protocol, error_too_large;
    double asked_rate;               /* requests per second asked */
    double achieved_rate;            /* completed / schedule length */
    double duration_s;               /* the schedule's length (shorter when stopped) */
    int64_t lag_limit_us;
    bool behind_schedule;            /* send-lag p99 > lag_limit: latencies unreliable */
};

struct openload_window {
    int64_t start_s;                 /* seconds since the schedule's start */
    uint64_t scheduled, dropped;     /* by scheduled time */
    uint64_t completed, errors;      /* by completion time */
    uint64_t count;                  /* latencies in the histogram (= completed) */
    int64_t p50_us, p90_us, p99_us, max_us;
    uint8_t *latency;                /* serialized latency_hist (NULL when empty) */
    size_t latency_len;
};

void openload_result_free(struct openload_result *r);
const struct openload_totals *openload_result_totals(const struct openload_result *r);
/* Whole-run latency (from scheduled time), send lag and connection-wait histograms,
 * owned by r. */
const struct latency_hist *openload_result_latency(const struct openload_result *r);
const struct latency_hist *openload_result_send_lag(const struct openload_result *r);
const struct latency_hist *openload_result_wait(const struct openload_result *r);
/* The per-second windows from the start through the last one with any activity; owned
 * by r. */
size_t openload_result_window_count(const struct openload_result *r);
const struct openload_window *openload_result_window(const struct openload_result *r, size_t i);

/* The result as one JSON object (malloc'd, caller frees), with the keys scheduled,
 * completed, errors, dropped, asked_rate, achieved_rate, latency_us {p50 p90 p99 p99_9
 * max mean}, send_lag_us {p50 p99 max}, behind_schedule, windows [{t scheduled
 * completed errors dropped p50_us p99_us max_us}]. Returns NULL when out of memory. */
char *openload_result_json(const struct openload_result *r);

#endif
