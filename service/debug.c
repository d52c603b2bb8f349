/* debug: the internal port. See debug.h. */
#include "debug.h"

#include "connlimit.h"
#include "cpuprof.h"
#include "fault.h"
#include "heapprof.h"
#include "instrument.h"
#include "leak.h"
#include "lockprof.h"
#include "log.h"
#include "orders.h"
#include "pprof.h"
#include "procstat.h"
#include "queue.h"
#include "stacks.h"
#include "threads.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEBUG_BODY_MAX 4096
#define DEBUG_HEADERS_MAX 8192
#define SYMBOL_BODY_MAX (256 * 1024)   /* pprof posts every address it needs named */
#define DELTA_MAX_SECONDS 60
#define CPU_PROFILE_DEFAULT_SECONDS 30   /* as Go's net/http/pprof */
#define CPU_PROFILE_MAX_SECONDS 300

struct debug_server {
    struct debug_config cfg;
    char *token;
    struct event_base *base;
    struct evhttp *http;
    struct connlimit_evhttp_guard *guard;
    struct event *stop_ev;
    pthread_t thread;
    bool started;
    int port;
    _Atomic bool ready;
    int64_t started_ns;
};

typedef void (*route_fn)(struct debug_server *d, struct evhttp_request *req, const char *rest);

static void reply(struct evhttp_request *req, int status, const char *type, const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    if (buf && len)
        evbuffer_add(buf, body, len);
    evhttp_send_reply(req, status, NULL, buf);
    if (buf)
        evbuffer_free(buf);
}

static void reply_json(struct evhttp_request *req, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        reply(req, 500, "application/json", "{\"error\":\"out of memory\"}\n", 26);
        return;
    }
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (with_nl) {
        text = with_nl;
        text[n++] = '\n';
        text[n] = '\0';
    }
    reply(req, status, "application/json", text, n);
    free(text);
}

static void reply_error(struct evhttp_request *req, int status, const char *msg, const char *key, const char *value)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    /* jansson refuses text that is not UTF-8: say so rather than quote it. */
    if (!o)
        o = json_pack("{s:s}", "error", "the request quotes text that is not valid UTF-8");
    if (o && key)
        json_object_set_new(o, key, json_string(value ? value : ""));
    if (o)
        reply_json(req, status, o);
    else
        reply(req, 500, "text/plain", "out of memory\n", 14);
    json_decref(o);
}

/* Reads ?name=N; def when absent, -1 when present but not a number. */
static long query_long(struct evhttp_request *req, const char *name, long def)
{
    struct evkeyvalq params;
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    long v = def;

    if (!q || evhttp_parse_query_str(q, &params) < 0)
        return def;
    const char *s = evhttp_find_header(&params, name);
    if (s) {
        char *end;
        v = strtol(s, &end, 10);
        if (*s == '\0' || *end != '\0' || v < 0)
            v = -1;
    }
    evhttp_clear_headers(&params);
    return v;
}

/* Reads the request body into a NUL-terminated malloc'd string (at most max
 * bytes). Returns NULL when too large or out of memory. */
static char *read_body_max(struct evhttp_request *req, size_t max, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char *s;

    if (n > max || !(s = malloc(n + 1)))
        return NULL;
    evbuffer_copyout(in, s, n);
    s[n] = '\0';
    *len = n;
    return s;
}

static char *read_body(struct evhttp_request *req, size_t *len)
{
    return read_body_max(req, DEBUG_BODY_MAX, len);
}

static void route_healthz(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    reply(req, 200, "text/plain", "ok\n", 3);
}

static void route_readyz(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    if (atomic_load(&d->ready))
        reply(req, 200, "text/plain", "ready\n", 6);
    else
        reply(req, 503, "text/plain", "not ready\n", 10);
}

static void route_metrics(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    (void)rest;
    if (!out) {
        reply(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    int rc = metrics_write(out, &d->cfg.sources);
    fclose(out);
    if (rc < 0)
        reply(req, 500, "text/plain", "cannot write metrics\n", 21);
    else
        reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void route_vars(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    json_t *root = json_object(), *cmdline = json_array(), *mem, *own;
    struct procstat ps = {0};
    struct mallinfo2 mi = mallinfo2();
    uint64_t live_bytes, live_objects, alloc_bytes, alloc_objects;
    uint64_t in_store[ORDER_STATE_COUNT] = {0}, done = 0, failed = 0, accepted = 0;

    (void)rest;
    procstat_read(0, &ps);
    heapprof_totals(&live_bytes, &live_objects, &alloc_bytes, &alloc_objects);
    if (d->cfg.sources.orders)
        order_store_counts(d->cfg.sources.orders, in_store, &done, &failed, &accepted);
    for (int i = 0; i < d->cfg.argc; i++)
        json_array_append_new(cmdline, json_string(d->cfg.argv[i]));
    json_object_set_new(root, "cmdline", cmdline);
    mem = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
                    "rss_bytes", (json_int_t)ps.rss_bytes, "virtual_bytes", (json_int_t)ps.vsize_bytes,
                    "malloc_arena_bytes", (json_int_t)mi.arena, "malloc_mmap_bytes", (json_int_t)mi.hblkhd,
                    "malloc_in_use_bytes", (json_int_t)mi.uordblks, "malloc_free_bytes", (json_int_t)mi.fordblks,
                    "heap_live_bytes", (json_int_t)live_bytes, "heap_live_objects", (json_int_t)live_objects,
                    "heap_alloc_bytes", (json_int_t)alloc_bytes, "heap_alloc_objects", (json_int_t)alloc_objects);
    json_object_set_new(root, "memstats", mem);
    own = json_pack("{s:s,s:f,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:I}",
                    "version", d->cfg.version,
                    "uptime_seconds", (double)(units_now_ns() - d->started_ns) / 1e9,
                    "threads", (json_int_t)threads_total(),
                    "queue_depth", (json_int_t)(d->cfg.sources.queue ? queue_depth(d->cfg.sources.queue) : 0),
                    "queue_capacity", (json_int_t)(d->cfg.sources.queue ? queue_capacity(d->cfg.sources.queue) : 0),
                    "orders_accepted", (json_int_t)accepted, "orders_done", (json_int_t)done,
                    "orders_failed", (json_int_t)failed,
                    "orders_unfinished", (json_int_t)(in_store[ORDER_QUEUED] + in_store[ORDER_PROCESSING]),
                    "instrument", instrument_level_name(atomic_load(&instrument.level)),
                    "leaked_threads", (json_int_t)leak_threads_held(),
                    "leaked_bytes", (json_int_t)leak_bytes_held(),
                    "log_lines_dropped", (json_int_t)log_dropped_lines());
    json_object_set_new(root, "orderd", own);
    reply_json(req, 200, root);
    json_decref(root);
}

/* The profiles of the index, sorted by name as Go's index is; count is what Go counts
 * (records of the profile, threads for goroutine), 0 for cmdline and profile. */
struct profile_entry {
    const char *name, *href, *description;
    long count;
};

static void route_pprof_index(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    const struct profile_entry entries[] = {
        {"allocs", "allocs?debug=1", "A sampling of all past memory allocations (the service's own: orders "
         "and leak.memory), the heap profile with alloc_space shown by default", heapprof_site_count()},
        {"block", "block?debug=1", "Stack traces that led to blocking on synchronization primitives "
         "(condition variables and queue operations, sampled by block_profile_rate)",
         lockprof_stack_count(LOCKPROF_BLOCK)},
        {"cmdline", "cmdline", "The command line invocation of the current program", 0},
        {"goroutine", "goroutine?debug=1", "Stack traces of all current threads (orderd's goroutines). Use "
         "debug=2 as a query parameter for every thread with its state, wait reason and creator",
         (long)threads_total()},
        {"heap", "heap?debug=1", "Live objects by allocation site of the service's own allocations",
         heapprof_site_count()},
        {"mutex", "mutex?debug=1", "Stack traces of holders of contended mutexes: the delay is charged to "
         "the stack that unlocked (1 in mutex_profile_fraction events); view=waiter shows the waiting "
         "stacks instead", lockprof_stack_count(LOCKPROF_MUTEX)},
        {"profile", "profile", "CPU profile. You can specify the duration in the seconds GET parameter. "
         "After you get the profile file, use the go tool pprof command to investigate the profile", 0},
        {"threadcreate", "threadcreate?debug=1", "Stack traces that led to the creation of new OS threads",
         (long)threads_created_total()},
        {"threads", "threads?debug=1", "The same as goroutine, under orderd's own name",
         (long)threads_total()},
    };
    struct pprof_text t = {0};
    char *page = NULL;
    size_t len = 0;
    (void)d; (void)rest;

    pprof_text_printf(&t, "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n.profile-name{\n"
                      "\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n</head>\n<body>\n"
                      "/debug/pprof/<br>\n<br>\nTypes of profiles available:\n<table>\n"
                      "<thead><td>Count</td><td>Profile</td></thead>\n");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        pprof_text_printf(&t, "<tr><td>%ld</td><td><a href='%s'>%s</a></td></tr>\n", entries[i].count,
                          entries[i].href, entries[i].name);
    pprof_text_printf(&t, "</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n<br>\n"
                      "<p>\nProfile Descriptions:\n<ul>\n");
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        pprof_text_printf(&t, "<li><div class=profile-name>%s: </div> %s</li>\n", entries[i].name,
                          entries[i].description);
    pprof_text_printf(&t, "</ul>\n</p>\n<p>debug=0 (the default) answers a gzipped profile.proto: "
                      "<code>go tool pprof -top http://HOST/debug/pprof/mutex</code>; mutex and block take "
                      "<code>seconds=N</code> for a delta profile. Also: <a href=\"/metrics\">/metrics</a>, "
                      "<a href=\"/debug/vars\">/debug/vars</a>, <a href=\"/debug/faults\">/debug/faults</a>, "
                      "<a href=\"/debug/config\">/debug/config</a></p>\n</body>\n</html>\n");
    if (pprof_text_finish(&t, &page, &len) < 0) {
        reply(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    reply(req, 200, "text/html; charset=utf-8", page, len);
    free(page);
}

/* Go's /debug/pprof/cmdline: the arguments joined by NUL bytes. */
static void route_cmdline(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    struct evbuffer *buf = evbuffer_new();
    (void)rest;

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
    for (int i = 0; buf && i < d->cfg.argc; i++) {
        if (i > 0)
            evbuffer_add(buf, "", 1);
        evbuffer_add(buf, d->cfg.argv[i], strlen(d->cfg.argv[i]));
    }
    evhttp_send_reply(req, 200, NULL, buf);
    if (buf)
        evbuffer_free(buf);
}

/* Go's /debug/pprof/symbol: "num_symbols: 1" (symbols are available), then for each
 * address of the POST body, or of the query of a GET, separated by '+', that names a
 * function: "0x<addr> <function>". Unknown addresses are left out. */
static void route_symbol(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct pprof_text t = {0};
    char *words = NULL, *text = NULL, *cursor;
    size_t len = 0;
    (void)d; (void)rest;

    if (method == EVHTTP_REQ_POST) {
        words = read_body_max(req, SYMBOL_BODY_MAX, &len);
        if (!words) {
            reply(req, 413, "text/plain; charset=utf-8", "request too large\n", 18);
            return;
        }
    } else {
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
        words = strdup(q ? q : "");
        if (!words) {
            reply(req, 500, "text/plain", "out of memory\n", 14);
            return;
        }
    }
    pprof_text_printf(&t, "num_symbols: 1\n");
    cursor = words;
    while (cursor) {
        char *plus = strchr(cursor, '+'), *end;
        if (plus)
            *plus = '\0';
        unsigned long long pc = strtoull(cursor, &end, 0);
        struct stacks_frame frame;
        if (end != cursor && *end == '\0' && pc != 0 && stacks_symbolize((uintptr_t)pc, &frame) == 0)
            pprof_text_printf(&t, "%#llx %s\n", pc, frame.function);
        cursor = plus ? plus + 1 : NULL;
    }
    free(words);
    if (pprof_text_finish(&t, &text, &len) < 0) {
        reply(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    reply(req, 200, "text/plain; charset=utf-8", text, len);
    free(text);
}

static void reply_profile(struct evhttp_request *req, int debug, char *data, size_t len, const char *name)
{
    if (debug == 0) {
        char disposition[96];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", name);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition", disposition);
        reply(req, 200, "application/octet-stream", data, len);
    } else {
        reply(req, 200, "text/plain; charset=utf-8", data, len);
    }
}

static void route_threads(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    long debug = query_long(req, "debug", 0);
    (void)d; (void)rest;

    if (debug < 0 || debug > 2) {
        reply_error(req, 400, "debug must be 0, 1 or 2", "parameter", "debug");
        return;
    }
    if (debug == 0) {
        unsigned char *out = NULL;
        size_t len = 0;
        if (threads_dump_proto(&out, &len) < 0) {
            reply_error(req, 500, "cannot build the thread profile", NULL, NULL);
            return;
        }
        reply_profile(req, 0, (char *)out, len, "threads.pb.gz");
        free(out);
        return;
    }
    size_t len = 0;
    char *text = threads_dump_text((int)debug, &len);
    if (!text) {
        reply_error(req, 500, "cannot dump threads", NULL, NULL);
        return;
    }
    reply_profile(req, (int)debug, text, len, "threads.txt");
    free(text);
}

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
        reply_error(req, 500, "cannot build the profile", NULL, NULL);
        return;
    }
    reply_profile(req, debug, out, len, kind == LOCKPROF_BLOCK ? "block.pb.gz" : "mutex.pb.gz");
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

static void route_lock_profile(struct debug_server *d, struct evhttp_request *req, enum lockprof_kind kind)
{
    long debug = query_long(req, "debug", 0), seconds = query_long(req, "seconds", 0);

    if (debug < 0 || debug > 1) {
        reply_error(req, 400, "debug must be 0 or 1", "parameter", "debug");
        return;
    }
    if (seconds < 0 || seconds > DELTA_MAX_SECONDS) {
        reply_error(req, 400, "seconds must be 0..60", "parameter", "seconds");
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
        reply_error(req, 500, "cannot start a delta profile", NULL, NULL);
        return;
    }
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    p->kind = kind;
    p->debug = (int)debug;
    evhttp_connection_set_closecb(p->conn, on_delta_client_gone, p);
    evtimer_add(p->timer, &tv);
}

/* ?view=holder (the default: Go's profile, delay charged to the unlocker) or
 * ?view=waiter (the waiting stacks and their own delay). */
static void route_mutex(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    struct evkeyvalq params;
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    enum lockprof_kind kind = LOCKPROF_MUTEX;
    bool bad = false;
    (void)rest;

    if (q && evhttp_parse_query_str(q, &params) == 0) {
        const char *view = evhttp_find_header(&params, "view");
        if (view && strcmp(view, "waiter") == 0)
            kind = LOCKPROF_MUTEX_WAITER;
        else if (view && strcmp(view, "holder") != 0)
            bad = true;
        evhttp_clear_headers(&params);
    }
    if (bad) {
        reply_error(req, 400, "view must be holder or waiter", "parameter", "view");
        return;
    }
    route_lock_profile(d, req, kind);
}

static void route_block(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    route_lock_profile(d, req, LOCKPROF_BLOCK);
}

/* The profiles that answer debug=0 (proto) or debug=1 (text) from one builder. */
typedef int (*profile_builder)(int debug, char **out, size_t *out_len);

static void route_built_profile(struct evhttp_request *req, profile_builder build, const char *name)
{
    long debug = query_long(req, "debug", 0);
    char *out = NULL, file[64], msg[96];
    size_t len = 0;

    if (debug < 0 || debug > 1) {
        reply_error(req, 400, "debug must be 0 or 1", "parameter", "debug");
        return;
    }
    if (build((int)debug, &out, &len) < 0) {
        snprintf(msg, sizeof msg, "cannot build the %s profile", name);
        reply_error(req, 500, msg, NULL, NULL);
        return;
    }
    snprintf(file, sizeof file, "%s.pb.gz", name);
    reply_profile(req, (int)debug, out, len, file);
    free(out);
}

static int build_allocs(int debug, char **out, size_t *out_len)
{
    return heapprof_profile_as(debug, "alloc_space", out, out_len);
}

static void route_heap(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    route_built_profile(req, heapprof_profile, "heap");
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
        reply(p->req, 503, "text/plain; charset=utf-8", "", 0);
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
        reply(p->req, 500, "text/plain; charset=utf-8", cannot_build, sizeof cannot_build - 1);
    else
        reply_profile(p->req, 0, (char *)out, len, "profile");
    free(out);
    pending_cpu_free(p);
}

/* Go's /debug/pprof/profile: ?seconds=N (absent, 0 or not a number: 30). One at a
 * time: a second request while one runs gets 429 and Go's message. */
static void route_cpu_profile(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    long seconds = query_long(req, "seconds", CPU_PROFILE_DEFAULT_SECONDS);
    struct timeval tv = {0, CPUPROF_DRAIN_INTERVAL_MS * 1000};
    struct pending_cpu *p = NULL;
    char err[128], msg[192];
    (void)rest;

    if (seconds <= 0)
        seconds = CPU_PROFILE_DEFAULT_SECONDS;
    if (seconds > CPU_PROFILE_MAX_SECONDS) {
        reply_error(req, 400, "profile duration exceeds the limit of 300 seconds", "parameter", "seconds");
        return;
    }
    if (!instrument_profile_on()) {
        reply_error(req, 403, "CPU profiling needs instrument=profile (--instrument profile, or PUT "
                    "/debug/config {\"instrument\":\"profile\"})", NULL, NULL);
        return;
    }
    if (!(p = calloc(1, sizeof *p)) || !(p->tick = event_new(d->base, -1, EV_PERSIST, on_cpu_tick, p))) {
        if (p)
            free(p);
        reply_error(req, 500, "out of memory", NULL, NULL);
        return;
    }
    if (!(p->profile = cpuprof_start(d->cfg.cpu_profile_hz, err, sizeof err))) {
        int status = errno == EBUSY ? 429 : 500;
        pending_cpu_free(p);
        int n = snprintf(msg, sizeof msg, "Could not enable CPU profiling: %s\n", err);
        reply(req, status, "text/plain; charset=utf-8", msg, n > 0 && (size_t)n < sizeof msg ? (size_t)n : 0);
        return;
    }
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    p->end_ns = units_now_ns() + (int64_t)seconds * 1000000000LL;
    evhttp_connection_set_closecb(p->conn, on_cpu_client_gone, p);
    event_add(p->tick, &tv);
}

static void route_allocs(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    route_built_profile(req, build_allocs, "allocs");
}

static void route_threadcreate(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    route_built_profile(req, threads_create_profile, "threadcreate");
}

static json_t *fault_json(enum fault_id id)
{
    struct fault_status st;
    fault_status(id, &st);
    return json_pack("{s:s,s:b,s:s,s:I,s:I,s:I,s:b,s:s}", "name", st.name, "on", st.on, "term", st.term,
                     "fired", (json_int_t)st.fired, "held_threads", (json_int_t)st.held_threads,
                     "held_bytes", (json_int_t)st.held_bytes, "capped", st.capped, "culprit", st.culprit);
}

static void route_faults(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    (void)d;

    if (rest[0] == '\0') {
        if (method != EVHTTP_REQ_GET) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
            reply_error(req, 405, "method not allowed: use GET, or PUT/DELETE /debug/faults/NAME", NULL, NULL);
            return;
        }
        json_t *list = json_array();
        for (int f = 0; f < FAULT_COUNT; f++)
            json_array_append_new(list, fault_json(f));
        json_t *root = json_pack("{s:o}", "faults", list);
        reply_json(req, 200, root);
        json_decref(root);
        return;
    }
    int id = fault_lookup(rest);
    if (id < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown fault '%.64s' (known: leak.threads, leak.memory, lock.cache, "
                 "queue.stall, queue.block, slow)", rest);
        reply_error(req, 404, msg, "fault", rest);
        return;
    }
    if (method == EVHTTP_REQ_GET) {
        json_t *o = fault_json(id);
        reply_json(req, 200, o);
        json_decref(o);
        return;
    }
    if (method == EVHTTP_REQ_DELETE) {
        fault_clear(id);
        log_info("fault cleared", LOG_F_STR("fault", fault_name(id)));
        json_t *o = fault_json(id);
        reply_json(req, 200, o);
        json_decref(o);
        return;
    }
    if (method != EVHTTP_REQ_PUT) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, PUT, DELETE");
        reply_error(req, 405, "method not allowed", NULL, NULL);
        return;
    }
    size_t len;
    char *body = read_body(req, &len), err[256];
    struct fault_term term;
    if (!body) {
        reply_error(req, 413, "term too long", "fault", fault_name(id));
        return;
    }
    /* The term may arrive with a trailing newline from curl -d @file or echo. */
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
        body[--len] = '\0';
    if (fault_term_parse(id, body, &term, err, sizeof err) < 0) {
        reply_error(req, 400, err, "term", body);
        free(body);
        return;
    }
    if (term.on)
        fault_set(id, &term);
    else
        fault_clear(id);
    log_info("fault set", LOG_F_STR("fault", fault_name(id)), LOG_F_STR("term", body));
    free(body);
    json_t *o = fault_json(id);
    reply_json(req, 200, o);
    json_decref(o);
}

static json_t *config_json(void)
{
    return json_pack("{s:s,s:I,s:I,s:s}", "instrument", instrument_level_name(atomic_load(&instrument.level)),
                     "mutex_profile_fraction", (json_int_t)atomic_load(&instrument.mutex_fraction),
                     "block_profile_rate", (json_int_t)atomic_load(&instrument.block_rate_ns),
                     "log_level", log_level_name(log_get_level()));
}

/* Validates every field before applying any, so a bad PUT changes nothing. */
static void config_put(struct evhttp_request *req)
{
    size_t len;
    char *body = read_body(req, &len);
    json_error_t jerr;
    json_t *in = NULL, *v;
    const char *key;
    int level = -1, log_level = -1;
    json_int_t fraction = -1, rate = -1;
    char msg[256];

    if (!body) {
        reply_error(req, 413, "body too large", NULL, NULL);
        return;
    }
    in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!in || !json_is_object(in)) {
        snprintf(msg, sizeof msg, "body must be a JSON object%s%s", in ? "" : ": ", in ? "" : jerr.text);
        reply_error(req, 400, msg, NULL, NULL);
        goto done;
    }
    json_object_foreach(in, key, v) {
        if (strcmp(key, "instrument") == 0) {
            if (!json_is_string(v) || (level = instrument_level_parse(json_string_value(v))) < 0) {
                reply_error(req, 400, "instrument must be \"off\", \"metrics\" or \"profile\"", "field", key);
                goto done;
            }
        } else if (strcmp(key, "log_level") == 0) {
            if (!json_is_string(v) || (log_level = log_level_parse(json_string_value(v))) < 0) {
                reply_error(req, 400, "log_level must be debug, info, warn or error", "field", key);
                goto done;
            }
        } else if (strcmp(key, "mutex_profile_fraction") == 0) {
            if (!json_is_integer(v) || (fraction = json_integer_value(v)) < 0) {
                reply_error(req, 400, "mutex_profile_fraction must be a whole number >= 0", "field", key);
                goto done;
            }
        } else if (strcmp(key, "block_profile_rate") == 0) {
            if (!json_is_integer(v) || (rate = json_integer_value(v)) < 0) {
                reply_error(req, 400, "block_profile_rate must be a whole number of nanoseconds >= 0", "field", key);
                goto done;
            }
        } else {
            snprintf(msg, sizeof msg, "unknown field '%.64s' (known: instrument, mutex_profile_fraction, "
                     "block_profile_rate, log_level)", key);
            reply_error(req, 400, msg, "field", key);
            goto done;
        }
    }
    if (level >= 0)
        atomic_store(&instrument.level, level);
    if (fraction >= 0)
        atomic_store(&instrument.mutex_fraction, (int64_t)fraction);
    if (rate >= 0)
        atomic_store(&instrument.block_rate_ns, (int64_t)rate);
    if (log_level >= 0)
        log_set_level(log_level);
    json_t *out = config_json();
    log_info("config changed", LOG_F_STR("instrument", instrument_level_name(atomic_load(&instrument.level))));
    reply_json(req, 200, out);
    json_decref(out);
done:
    json_decref(in);
}

static void route_config(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    (void)d; (void)rest;

    if (method == EVHTTP_REQ_GET) {
        json_t *o = config_json();
        reply_json(req, 200, o);
        json_decref(o);
    } else if (method == EVHTTP_REQ_PUT) {
        config_put(req);
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, PUT");
        reply_error(req, 405, "method not allowed", NULL, NULL);
    }
}

/* The route table. A path either matches exactly or, for prefix routes, the rest
 * after the prefix is handed to the route. */
static const struct {
    const char *path;
    bool prefix;
    route_fn fn;
} routes[] = {
    {"/healthz", false, route_healthz},
    {"/readyz", false, route_readyz},
    {"/metrics", false, route_metrics},
    {"/debug/vars", false, route_vars},
    {"/debug/pprof/", false, route_pprof_index},
    {"/debug/pprof/threads", false, route_threads},
    {"/debug/pprof/goroutine", false, route_threads},
    {"/debug/pprof/mutex", false, route_mutex},
    {"/debug/pprof/block", false, route_block},
    {"/debug/pprof/heap", false, route_heap},
    {"/debug/pprof/profile", false, route_cpu_profile},
    {"/debug/pprof/allocs", false, route_allocs},
    {"/debug/pprof/threadcreate", false, route_threadcreate},
    {"/debug/pprof/cmdline", false, route_cmdline},
    {"/debug/pprof/symbol", false, route_symbol},
    {"/debug/faults", false, route_faults},
    {"/debug/faults/", true, route_faults},
    {"/debug/config", false, route_config},
};

/* Compares in constant time so the token cannot be guessed byte by byte. */
static bool token_matches(const char *given, const char *token)
{
    size_t gl = strlen(given), tl = strlen(token);
    unsigned char diff = gl != tl;
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)(token[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    struct debug_server *d = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (connlimit_evhttp_request_started(d->guard, req) < 0) {
        reply_error(req, 400, "a NUL byte in the request", NULL, NULL);
        return;
    }
    if (d->token) {
        const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        /* The scheme is case-insensitive (RFC 9110 11.1), the token is not. */
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !token_matches(auth + 7, d->token)) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
            reply_error(req, 401, "a bearer token is required on this port", NULL, NULL);
            return;
        }
    }
    if (!path)
        path = "/";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t n = strlen(routes[i].path);
        if (routes[i].prefix ? strncmp(path, routes[i].path, n) == 0 && path[n] != '\0'
                             : strcmp(path, routes[i].path) == 0) {
            routes[i].fn(d, req, routes[i].prefix ? path + n : "");
            return;
        }
    }
    if (strcmp(path, "/debug/pprof") == 0 || strcmp(path, "/") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", "/debug/pprof/");
        reply(req, 302, "text/plain", "see /debug/pprof/\n", 18);
        return;
    }
    reply_error(req, 404, "no such debug route", "path", path);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct debug_server *d = arg;
    (void)fd; (void)what;
    event_base_loopbreak(d->base);
}

static void *debug_thread_main(void *arg)
{
    struct debug_server *d = arg;
    event_base_dispatch(d->base);
    return NULL;
}

struct debug_server *debug_server_new(const struct debug_config *cfg, char *err, size_t errlen)
{
    struct debug_server *d = calloc(1, sizeof *d);
    struct evhttp_bound_socket *sock;

    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *cfg;
    d->started_ns = units_now_ns();
    if (cfg->token && !(d->token = strdup(cfg->token)))
        goto fail;
    if (!(d->base = event_base_new()) || !(d->http = evhttp_new(d->base)) ||
        !(d->stop_ev = event_new(d->base, -1, 0, on_stop, d))) {
        snprintf(err, errlen, "cannot set up the debug server");
        goto fail;
    }
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
    evhttp_set_max_body_size(d->http, SYMBOL_BODY_MAX);
    evhttp_set_max_headers_size(d->http, DEBUG_HEADERS_MAX);
    evhttp_set_gencb(d->http, dispatch, d);
    sock = evhttp_bind_socket_with_handle(d->http, cfg->host, (ev_uint16_t)cfg->port);
    if (!sock) {
        snprintf(err, errlen, "cannot listen on %s:%d (debug port): address in use or not available",
                 cfg->host, cfg->port);
        goto fail;
    }
    if (!(d->guard = connlimit_evhttp_guard_new(d->http, evhttp_bound_socket_get_listener(sock), d->base,
                                                cfg->max_connections, cfg->timeout_ms))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d->port = cfg->port;
    if (d->port == 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &len) == 0)
            d->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    }
    return d;
fail:
    debug_server_free(d);
    return NULL;
}

int debug_server_start(struct debug_server *d, char *err, size_t errlen)
{
    int rc = threads_spawn(&d->thread, "debug", THREADS_ROLE_DEBUG, debug_thread_main, d);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the debug thread: %s", strerror(rc));
        return -1;
    }
    d->started = true;
    return 0;
}

int debug_server_port(const struct debug_server *d) { return d->port; }

void debug_server_set_ready(struct debug_server *d, bool ready) { atomic_store(&d->ready, ready); }

void debug_server_free(struct debug_server *d)
{
    if (!d)
        return;
    if (d->started) {
        event_active(d->stop_ev, EV_READ, 0);
        pthread_join(d->thread, NULL);
    }
    if (d->http)
        evhttp_free(d->http);
    connlimit_evhttp_guard_free(d->guard);
    if (d->stop_ev)
        event_free(d->stop_ev);
    if (d->base)
        event_base_free(d->base);
    free(d->token);
    free(d);
}
