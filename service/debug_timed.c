/* debug_timed: the profiles answered after a wait. A delta mutex or block profile
 * (?seconds=N) snapshots now and answers from a timer; the CPU profile samples for
 * N seconds, collecting every tick. Both hold an evhttp request across event-loop
 * turns, so both must drop their state when the client leaves: that lifetime
 * handling is what this file is about, apart from the routes answered at once. */
#include "debug_internal.h"

#include "cpuprof.h"
#include "instrument.h"
#include "log.h"
#include "units.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#define DELTA_MAX_SECONDS 60
#define CPU_PROFILE_DEFAULT_SECONDS 30   /* as Go's net/http/pprof */
#define CPU_PROFILE_MAX_SECONDS 300

/* A delta profile in progress: the snapshot is taken now, the answer sent later. */
struct pending_delta {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *timer;
    struct lockprof_snapshot *since;
    enum lockprof_kind kind;
    int debug;
};

static void pending_free(struct pending_delta *p)
{
    if (p->conn)
        evhttp_connection_set_closecb(p->conn, NULL, NULL);
    event_free(p->timer);
    lockprof_snapshot_free(p->since);
    free(p);
}

static void send_lock_profile(struct evhttp_request *req, enum lockprof_kind kind, int debug,
                              const struct lockprof_snapshot *since)
{
    char *out = NULL;
    size_t len = 0;
    if (lockprof_profile(kind, debug, since, &out, &len) < 0) {
        debug_reply_error(req, 500, "cannot build the profile", NULL, NULL);
        return;
    }
    debug_reply_profile(req, debug, out, len, kind == LOCKPROF_BLOCK ? "block.pb.gz" : "mutex.pb.gz");
    free(out);
}

static void on_delta_done(evutil_socket_t fd, short what, void *arg)
{
    struct pending_delta *p = arg;
    (void)fd; (void)what;
    if (p->req)
        send_lock_profile(p->req, p->kind, p->debug, p->since);
    pending_free(p);
}

static void on_delta_client_gone(struct evhttp_connection *conn, void *arg)
{
    struct pending_delta *p = arg;
    (void)conn;
    /* The request dies with its connection: nobody is left to answer, so the timer
     * and the snapshot go now, not when the delta would have ended. */
    p->req = NULL;
    p->conn = NULL;
    pending_free(p);
}

void debug_lock_profile(struct debug_server *d, struct evhttp_request *req, enum lockprof_kind kind)
{
    long debug = debug_query_long(req, "debug", 0), seconds = debug_query_long(req, "seconds", 0);

    if (debug < 0 || debug > 1) {
        debug_reply_error(req, 400, "debug must be 0 or 1", "parameter", "debug");
        return;
    }
    if (seconds < 0 || seconds > DELTA_MAX_SECONDS) {
        debug_reply_error(req, 400, "seconds must be 0..60", "parameter", "seconds");
        return;
    }
    if (seconds == 0) {
        send_lock_profile(req, kind, (int)debug, NULL);
        return;
    }
    struct pending_delta *p = calloc(1, sizeof *p);
    struct timeval tv = {seconds, 0};
    if (!p || !(p->since = lockprof_snapshot_take(kind)) || !(p->timer = evtimer_new(d->base, on_delta_done, p))) {
        if (p) {
            lockprof_snapshot_free(p->since);
            free(p);
        }
        debug_reply_error(req, 500, "cannot start a delta profile", NULL, NULL);
        return;
    }
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    p->kind = kind;
    p->debug = (int)debug;
    evhttp_connection_set_closecb(p->conn, on_delta_client_gone, p);
    evtimer_add(p->timer, &tv);
}

/* A CPU profile in progress: sampled until end_ns, collected every tick. */
struct pending_cpu {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *tick;
    cpuprof *profile;
    int64_t end_ns;
};

static void pending_cpu_free(struct pending_cpu *p)
{
    if (p->conn)
        evhttp_connection_set_closecb(p->conn, NULL, NULL);
    if (p->tick)
        event_free(p->tick);
    cpuprof_free(p->profile);
    free(p);
}

static void on_cpu_client_gone(struct evhttp_connection *conn, void *arg)
{
    struct pending_cpu *p = arg;
    (void)conn;
    /* Nobody will read the profile: stop sampling now. */
    p->req = NULL;
    p->conn = NULL;
    pending_cpu_free(p);
}

/* True when the client closed its end of conn (a read would see end of file). */
static bool peer_closed(struct evhttp_connection *conn)
{
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    char byte;

    if (fd < 0)
        return false;
    return recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void on_cpu_tick(evutil_socket_t fd, short what, void *arg)
{
    static const char cannot_build[] = "Could not build the CPU profile\n";
    struct pending_cpu *p = arg;
    struct cpuprof_stats stats;
    unsigned char *out = NULL;
    size_t len = 0;
    (void)fd; (void)what;

    cpuprof_collect(p->profile);
    if (peer_closed(p->conn)) {
        /* evhttp reads nothing from a connection while its request is open, so a
         * client that gave up is seen here: stop sampling and let the connection go. */
        evhttp_connection_set_closecb(p->conn, NULL, NULL);
        p->conn = NULL;
        debug_reply(p->req, 503, "text/plain; charset=utf-8", "", 0);
        pending_cpu_free(p);
        return;
    }
    /* Turning instrumentation down ends the profile early, with what it has. */
    if (units_now_ns() < p->end_ns && instrument_profile_on())
        return;
    event_del(p->tick);
    cpuprof_stats(p->profile, &stats);
    if (stats.lost > 0 || stats.unarmed > 0)
        log_warn("cpu profile incomplete", LOG_F_UINT("samples_lost", stats.lost),
                 LOG_F_UINT("threads_unsampled", stats.unarmed));
    int rc = cpuprof_finish(p->profile, &out, &len);
    p->profile = NULL;
    if (rc < 0)
        debug_reply(p->req, 500, "text/plain; charset=utf-8", cannot_build, sizeof cannot_build - 1);
    else
        debug_reply_profile(p->req, 0, (char *)out, len, "profile");
    free(out);
    pending_cpu_free(p);
}

/* Go's /debug/pprof/profile: ?seconds=N (absent, 0 or not a number: 30). One at a
 * time: a second request while one runs gets 429 and Go's message. */
void debug_route_cpu_profile(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    long seconds = debug_query_long(req, "seconds", CPU_PROFILE_DEFAULT_SECONDS);
    struct timeval tv = {0, CPUPROF_DRAIN_INTERVAL_MS * 1000};
    struct pending_cpu *p = NULL;
    char err[128], msg[192];
    (void)rest;

    if (seconds <= 0)
        seconds = CPU_PROFILE_DEFAULT_SECONDS;
    if (seconds > CPU_PROFILE_MAX_SECONDS) {
        debug_reply_error(req, 400, "profile duration exceeds the limit of 300 seconds", "parameter", "seconds");
        return;
    }
    if (!instrument_profile_on()) {
        debug_reply_error(req, 403, "CPU profiling needs instrument=profile (--instrument profile, or PUT "
                    "/debug/config {\"instrument\":\"profile\"})", NULL, NULL);
        return;
    }
    if (!(p = calloc(1, sizeof *p)) || !(p->tick = event_new(d->base, -1, EV_PERSIST, on_cpu_tick, p))) {
        if (p)
            free(p);
        debug_reply_error(req, 500, "out of memory", NULL, NULL);
        return;
    }
    if (!(p->profile = cpuprof_start(d->cfg.cpu_profile_hz, err, sizeof err))) {
        int status = errno == EBUSY ? 429 : 500;
        pending_cpu_free(p);
        int n = snprintf(msg, sizeof msg, "Could not enable CPU profiling: %s\n", err);
        debug_reply(req, status, "text/plain; charset=utf-8", msg, n > 0 && (size_t)n < sizeof msg ? (size_t)n : 0);
        return;
    }
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    p->end_ns = units_now_ns() + (int64_t)seconds * 1000000000LL;
    evhttp_connection_set_closecb(p->conn, on_cpu_client_gone, p);
    event_add(p->tick, &tv);
}
