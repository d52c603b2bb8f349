/* connlimit: what orderd does when a client reaches one of its connection limits —
 * the counts by port and reason that /metrics exposes, a log line at most once a
 * second per port and reason (a flood of refusals must not become a flood of log
 * lines), and a guard for a listener that keeps accept(2) from spinning when the
 * process runs out of file descriptors.
 *
 * The guard does what Go's net/http does on a temporary accept error: it stops
 * accepting and retries after a back-off that starts at 5 ms and doubles up to 1 s,
 * reset by the next successful accept. The connections left in the listen backlog
 * are taken once descriptors are free again.
 *
 * The debug port runs on evhttp, which offers neither a connection cap nor a hook
 * when a connection closes; connlimit_evhttp_guard() adds both from outside (see
 * connlimit.c). */
#ifndef ORDERD_CONNLIMIT_H
#define ORDERD_CONNLIMIT_H

#include <stddef.h>
#include <stdint.h>

struct evconnlistener;
struct evhttp;
struct evhttp_request;
struct event_base;

enum connlimit_port { CONNLIMIT_PUBLIC, CONNLIMIT_DEBUG, CONNLIMIT_PORT_COUNT };

enum connlimit_reason {
    CONNLIMIT_MAX_CONNECTIONS,   /* --max-connections reached */
    CONNLIMIT_DESCRIPTORS,       /* accept(2) failed: out of descriptors or memory */
    CONNLIMIT_HEADER_TIMEOUT,    /* request head (or body) not complete in time: 408 */
    CONNLIMIT_IDLE_TIMEOUT,      /* keep-alive connection idle too long: closed */
    CONNLIMIT_HEADER_TOO_LARGE,  /* 431 */
    CONNLIMIT_BODY_TOO_LARGE,    /* 413 */
    CONNLIMIT_MALFORMED,         /* 400 from the HTTP parser */
    CONNLIMIT_REASON_COUNT
};

const char *connlimit_port_name(enum connlimit_port port);
const char *connlimit_reason_name(enum connlimit_reason reason);

/* Counts one refusal and logs it (warn) unless this port and reason were logged less
 * than a second ago; the line then carries how many were not logged. Thread-safe. */
void connlimit_note(enum connlimit_port port, enum connlimit_reason reason);
uint64_t connlimit_refused_total(enum connlimit_port port, enum connlimit_reason reason);

/* Open connections and their cap, kept by the servers for /metrics. */
void connlimit_set_max(enum connlimit_port port, uint64_t max);
uint64_t connlimit_max(enum connlimit_port port);
void connlimit_opened(enum connlimit_port port);
void connlimit_closed(enum connlimit_port port);
uint64_t connlimit_open(enum connlimit_port port);

/* A back-off guard for a listener whose event_base is base. Returns an opaque guard
 * (free with connlimit_listener_guard_free, before the base), or NULL when out of
 * memory. The listener's error callback (evconnlistener_set_error_cb) must call
 * connlimit_listener_failed: accept(2) failed with an error libevent does not retry
 * by itself (EMFILE, ENFILE, ENOBUFS, ENOMEM), and without a pause the listener stays
 * readable and the loop spins on the same failure. Every accepted connection must
 * call connlimit_listener_accepted so the back-off resets. */
struct connlimit_listener_guard;
struct connlimit_listener_guard *connlimit_listener_guard_new(struct evconnlistener *listener,
                                                              struct event_base *base,
                                                              enum connlimit_port port);
void connlimit_listener_failed(struct connlimit_listener_guard *g);
void connlimit_listener_accepted(struct connlimit_listener_guard *g);
void connlimit_listener_guard_free(struct connlimit_listener_guard *g);   /* NULL: no-op */

/* Caps an evhttp server's connections at max_connections and closes a connection
 * that has no request in progress for timeout_ms (a connection that sends its head
 * slowly, or none, or idles between requests). Call connlimit_evhttp_request_started
 * from the request callback: it returns -1 when the connection sent a NUL byte (the
 * request must be refused: evhttp's C-string header values hide what follows a NUL),
 * else 0. The guard returned is freed after evhttp_free; NULL when out of memory. */
struct connlimit_evhttp_guard;
struct connlimit_evhttp_guard *connlimit_evhttp_guard_new(struct evhttp *http, struct evconnlistener *listener,
                                                          struct event_base *base, size_t max_connections,
                                                          int64_t timeout_ms);
int connlimit_evhttp_request_started(struct connlimit_evhttp_guard *g, struct evhttp_request *req);
void connlimit_evhttp_guard_free(struct connlimit_evhttp_guard *g);   /* NULL: no-op */

#endif
