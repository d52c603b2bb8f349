/* connlimit: refusal counts, rate-limited refusal logs, accept back-off, and the
 * debug port's connection cap. See connlimit.h.
 *
 * The evhttp guard. evhttp (libevent 2.1) neither caps connections nor says when one
 * closes, so the guard makes the bufferevent of every connection itself (evhttp's
 * bevcb hook) and keeps a reference to it. evhttp frees a connection with
 * bufferevent_free, which clears the callbacks; a sweep every 100 ms finds those,
 * drops its reference (the descriptor is closed then, not before: BEV_OPT_CLOSE_ON_FREE)
 * and counts the connection gone. At the cap the listener is disabled, so further
 * clients wait in the listen backlog instead of taking descriptors; the sweep enables
 * it again below the cap. A connection with no request in progress for the timeout
 * is shut down, which evhttp sees as the client leaving; one whose client left while
 * its request is being answered is freed at once (evhttp reads nothing meanwhile). */
#include "connlimit.h"

#include "log.h"
#include "units.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 1000
#define SWEEP_MS 100
#define LOG_INTERVAL_NS 1000000000LL

static _Atomic uint64_t refused[CONNLIMIT_PORT_COUNT][CONNLIMIT_REASON_COUNT];
static _Atomic uint64_t logged[CONNLIMIT_PORT_COUNT][CONNLIMIT_REASON_COUNT];
static _Atomic int64_t last_log_ns[CONNLIMIT_PORT_COUNT][CONNLIMIT_REASON_COUNT];
static _Atomic uint64_t open_now[CONNLIMIT_PORT_COUNT], max_now[CONNLIMIT_PORT_COUNT];

const char *connlimit_port_name(enum connlimit_port port)
{
    return port == CONNLIMIT_DEBUG ? "debug" : "public";
}

const char *connlimit_reason_name(enum connlimit_reason reason)
{
    static const char *const names[CONNLIMIT_REASON_COUNT] = {
        "max_connections", "descriptors", "header_timeout", "idle_timeout",
        "header_too_large", "body_too_large", "malformed",
    };
    return (unsigned)reason < CONNLIMIT_REASON_COUNT ? names[reason] : "unknown";
}

void connlimit_note(enum connlimit_port port, enum connlimit_reason reason)
{
    uint64_t total = atomic_fetch_add_explicit(&refused[port][reason], 1, memory_order_relaxed) + 1;
    int64_t now = units_now_ns(), last = atomic_load_explicit(&last_log_ns[port][reason], memory_order_relaxed);

    /* Idle timeouts are the normal end of a keep-alive connection: counted, not logged. */
    if (reason == CONNLIMIT_IDLE_TIMEOUT)
        return;
    if ((last != 0 && now - last < LOG_INTERVAL_NS) ||
        !atomic_compare_exchange_strong(&last_log_ns[port][reason], &last, now))
        return;
    uint64_t before = atomic_exchange(&logged[port][reason], total);
    log_warn("connection limit reached", LOG_F_STR("port", connlimit_port_name(port)),
             LOG_F_STR("reason", connlimit_reason_name(reason)),
             LOG_F_UINT("since_last_line", total > before ? total - before : 1),
             LOG_F_UINT("total", total));
}

uint64_t connlimit_refused_total(enum connlimit_port port, enum connlimit_reason reason)
{
    return atomic_load_explicit(&refused[port][reason], memory_order_relaxed);
}

void connlimit_set_max(enum connlimit_port port, uint64_t max) { atomic_store(&max_now[port], max); }
uint64_t connlimit_max(enum connlimit_port port) { return atomic_load(&max_now[port]); }
void connlimit_opened(enum connlimit_port port) { atomic_fetch_add_explicit(&open_now[port], 1, memory_order_relaxed); }
void connlimit_closed(enum connlimit_port port) { atomic_fetch_sub_explicit(&open_now[port], 1, memory_order_relaxed); }
uint64_t connlimit_open(enum connlimit_port port) { return atomic_load_explicit(&open_now[port], memory_order_relaxed); }

struct connlimit_listener_guard {
    struct evconnlistener *listener;
    struct event *retry_ev;
    enum connlimit_port port;
    int backoff_ms;
    bool backing_off;   /* disabled until retry_ev fires */
    bool held;          /* disabled by a connection cap */
};

static void listener_update(struct connlimit_listener_guard *g)
{
    if (g->backing_off || g->held)
        evconnlistener_disable(g->listener);
    else
        evconnlistener_enable(g->listener);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct connlimit_listener_guard *g = arg;
    (void)fd; (void)what;
    g->backing_off = false;
    listener_update(g);
}

void connlimit_listener_failed(struct connlimit_listener_guard *g)
{
    struct timeval tv;

    connlimit_note(g->port, CONNLIMIT_DESCRIPTORS);
    g->backoff_ms = g->backoff_ms ? g->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (g->backoff_ms > BACKOFF_MAX_MS)
        g->backoff_ms = BACKOFF_MAX_MS;
    tv.tv_sec = g->backoff_ms / 1000;
    tv.tv_usec = (g->backoff_ms % 1000) * 1000;
    g->backing_off = true;
    listener_update(g);
    event_add(g->retry_ev, &tv);
}

struct connlimit_listener_guard *connlimit_listener_guard_new(struct evconnlistener *listener,
                                                              struct event_base *base,
                                                              enum connlimit_port port)
{
    struct connlimit_listener_guard *g = calloc(1, sizeof *g);

    if (!g)
        return NULL;
    g->listener = listener;
    g->port = port;
    if (!(g->retry_ev = evtimer_new(base, on_retry, g))) {
        free(g);
        return NULL;
    }
    return g;
}

void connlimit_listener_accepted(struct connlimit_listener_guard *g)
{
    g->backoff_ms = 0;
}

static void listener_hold(struct connlimit_listener_guard *g, bool held)
{
    if (g->held != held) {
        g->held = held;
        listener_update(g);
    }
}

void connlimit_listener_guard_free(struct connlimit_listener_guard *g)
{
    if (!g)
        return;
    event_free(g->retry_ev);
    free(g);
}

/* The evhttp guard. */

struct tracked_conn {
    struct bufferevent *bev;
    struct evhttp_connection *evcon;   /* known once a request came */
    int64_t since_ns;   /* accepted, or last answer sent */
    bool busy;          /* a request is being answered */
    bool shut;          /* shut down by the timeout; evhttp will free it */
    bool nul_seen;      /* a NUL byte came in: no field may hold one (RFC 9110 5.5) */
    struct tracked_conn *next;
};

/* evhttp owns its listener's argument (the struct evhttp), so the error callback
 * finds the guard here. Filled before the debug thread starts. */
#define EVHTTP_GUARDS_MAX 4
static struct {
    struct evhttp *http;
    struct connlimit_listener_guard *guard;
} evhttp_guards[EVHTTP_GUARDS_MAX];

static void on_evhttp_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    for (int i = 0; i < EVHTTP_GUARDS_MAX; i++)
        if (evhttp_guards[i].http == arg && evhttp_guards[i].guard)
            connlimit_listener_failed(evhttp_guards[i].guard);
}

struct connlimit_evhttp_guard {
    struct evhttp *http;
    struct connlimit_listener_guard *listener;
    struct event *sweep_ev;
    struct event_base *base;
    size_t max, count;
    int64_t timeout_ns;
    struct tracked_conn *conns;
};

/* evhttp keeps header values as C strings, so "Bearer TOKEN\0junk" would reach the
 * token check as "Bearer TOKEN": a NUL is looked for in the bytes as they arrive. */
static void on_input_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct tracked_conn *t = arg;
    struct evbuffer_ptr pos;
    size_t len = evbuffer_get_length(buf);

    if (t->nul_seen || info->n_added == 0 || info->n_added > len)
        return;
    if (evbuffer_ptr_set(buf, &pos, len - info->n_added, EVBUFFER_PTR_SET) == 0 &&
        evbuffer_search(buf, "", 1, &pos).pos >= 0)
        t->nul_seen = true;
}

/* Drops the connections evhttp has freed (it leaves its callbacks cleared on them;
 * ours is the last reference). */
static void purge_freed(struct connlimit_evhttp_guard *g)
{
    struct tracked_conn **link = &g->conns;
    while (*link) {
        struct tracked_conn *t = *link;
        bufferevent_event_cb eventcb = NULL;
        bufferevent_getcb(t->bev, NULL, NULL, &eventcb, NULL);
        if (eventcb) {
            link = &t->next;
            continue;
        }
        *link = t->next;
        bufferevent_decref(t->bev);
        free(t);
        g->count--;
        connlimit_closed(CONNLIMIT_DEBUG);
    }
}

/* Arms the sweep for when it has something to do, and no sooner: every SWEEP_MS while
 * an answer is being written (to see a client that left) or the port is at its cap
 * (to reopen it as connections end), else at the first idle deadline, else not at
 * all. A periodic tick would run by the clock whatever the load, which an
 * instruction count of the service would see as noise. */
static void schedule_sweep(struct connlimit_evhttp_guard *g)
{
    int64_t now = units_now_ns(), next = -1;
    bool watch = g->count >= g->max;

    for (struct tracked_conn *t = g->conns; t; t = t->next) {
        if (t->busy)
            watch = true;
        else if (!t->shut && (next < 0 || t->since_ns + g->timeout_ns < next))
            next = t->since_ns + g->timeout_ns;
    }
    int64_t wait_ns = watch ? SWEEP_MS * 1000000LL : next >= 0 ? next - now : -1;
    if (wait_ns < 0 && !watch && next < 0) {
        event_del(g->sweep_ev);
        return;
    }
    if (wait_ns < SWEEP_MS * 1000000LL)
        wait_ns = SWEEP_MS * 1000000LL;
    struct timeval tv = {(time_t)(wait_ns / 1000000000LL), (suseconds_t)(wait_ns % 1000000000LL / 1000)};
    event_add(g->sweep_ev, &tv);
}

static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
    struct connlimit_evhttp_guard *g = arg;
    struct tracked_conn *t = calloc(1, sizeof *t);
    struct bufferevent *bev;

    if (!t)
        return NULL;   /* evhttp makes its own; the connection goes uncounted */
    purge_freed(g);
    if (!(bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE))) {
        free(t);
        return NULL;
    }
    bufferevent_incref(bev);
    evbuffer_add_cb(bufferevent_get_input(bev), on_input_added, t);
    t->bev = bev;
    t->since_ns = units_now_ns();
    t->next = g->conns;
    g->conns = t;
    g->count++;
    connlimit_opened(CONNLIMIT_DEBUG);
    connlimit_listener_accepted(g->listener);
    if (g->count >= g->max) {
        connlimit_note(CONNLIMIT_DEBUG, CONNLIMIT_MAX_CONNECTIONS);
        listener_hold(g->listener, true);
    }
    schedule_sweep(g);
    return bev;
}

/* True when the client has closed its side (EOF) or reset the connection. Like Go's
 * net/http, a client that half-closes while it waits counts as gone. */
static bool peer_gone(evutil_socket_t sock)
{
    char c;
    ssize_t n = recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct connlimit_evhttp_guard *g = arg;
    struct tracked_conn **link = &g->conns;
    int64_t now = units_now_ns();
    (void)fd; (void)what;

    purge_freed(g);
    while (*link) {
        struct tracked_conn *t = *link;
        evutil_socket_t sock = bufferevent_getfd(t->bev);
        if (t->busy && t->evcon && sock >= 0 && peer_gone(sock)) {
            /* evhttp does not read while it answers, so it would hold the
             * connection until the answer (a delta profile: up to a minute). Its
             * close callback tells the route; the sweep then drops the rest. */
            struct evhttp_connection *evcon = t->evcon;
            t->evcon = NULL;
            t->busy = false;
            evhttp_connection_free(evcon);
            purge_freed(g);
            link = &g->conns;   /* the list may have changed: walk it again */
            continue;
        }
        if (!t->busy && !t->shut && sock >= 0 && now - t->since_ns > g->timeout_ns) {
            bool partial = evbuffer_get_length(bufferevent_get_input(t->bev)) > 0;
            connlimit_note(CONNLIMIT_DEBUG, partial ? CONNLIMIT_HEADER_TIMEOUT : CONNLIMIT_IDLE_TIMEOUT);
            shutdown(sock, SHUT_RDWR);
            t->shut = true;
        }
        link = &t->next;
    }
    if (g->count < g->max)
        listener_hold(g->listener, false);
    schedule_sweep(g);
}

static void on_request_complete(struct evhttp_request *req, void *arg)
{
    struct tracked_conn *t = arg;
    (void)req;
    t->busy = false;
    t->since_ns = units_now_ns();
}

int connlimit_evhttp_request_started(struct connlimit_evhttp_guard *g, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

    for (struct tracked_conn *t = g->conns; t && bev; t = t->next) {
        if (t->bev == bev) {
            t->busy = true;
            t->evcon = evcon;
            evhttp_request_set_on_complete_cb(req, on_request_complete, t);
            schedule_sweep(g);
            if (t->nul_seen)
                connlimit_note(CONNLIMIT_DEBUG, CONNLIMIT_MALFORMED);
            return t->nul_seen ? -1 : 0;
        }
    }
    return 0;
}

struct connlimit_evhttp_guard *connlimit_evhttp_guard_new(struct evhttp *http, struct evconnlistener *listener,
                                                          struct event_base *base, size_t max_connections,
                                                          int64_t timeout_ms)
{
    struct connlimit_evhttp_guard *g = calloc(1, sizeof *g);

    if (!g)
        return NULL;
    g->base = base;
    g->max = max_connections ? max_connections : 64;
    g->timeout_ns = (timeout_ms > 0 ? timeout_ms : 30000) * 1000000LL;
    if (!(g->listener = connlimit_listener_guard_new(listener, base, CONNLIMIT_DEBUG)) ||
        !(g->sweep_ev = event_new(base, -1, 0, on_sweep, g))) {
        connlimit_evhttp_guard_free(g);
        return NULL;
    }
    g->http = http;
    for (int i = 0; i < EVHTTP_GUARDS_MAX; i++) {
        if (!evhttp_guards[i].http) {
            evhttp_guards[i].http = http;
            evhttp_guards[i].guard = g->listener;
            break;
        }
    }
    evconnlistener_set_error_cb(listener, on_evhttp_accept_error);
    evhttp_set_bevcb(http, on_new_connection, g);
    connlimit_set_max(CONNLIMIT_DEBUG, g->max);
    return g;
}

void connlimit_evhttp_guard_free(struct connlimit_evhttp_guard *g)
{
    if (!g)
        return;
    for (int i = 0; i < EVHTTP_GUARDS_MAX; i++)
        if (g->http && evhttp_guards[i].http == g->http)
            evhttp_guards[i].http = NULL;
    while (g->conns) {
        struct tracked_conn *t = g->conns;
        g->conns = t->next;
        bufferevent_decref(t->bev);
        free(t);
    }
    if (g->sweep_ev)
        event_free(g->sweep_ev);
    connlimit_listener_guard_free(g->listener);
    free(g);
}
