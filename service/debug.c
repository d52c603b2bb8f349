/* debug: the internal port. See debug.h.
 *
 * This file holds the server itself: its thread and event_base, the bearer token,
 * the route table and dispatch, and the reply helpers every route uses. The routes
 * are in debug_status.c, debug_control.c, debug_pprof.c and debug_timed.c;
 * debug_internal.h says how they divide. */
#include "debug_internal.h"

#include "connlimit.h"
#include "threads.h"
#include "units.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define DEBUG_BODY_MAX 4096
#define DEBUG_HEADERS_MAX 8192

typedef void (*route_fn)(struct debug_server *d, struct evhttp_request *req, const char *rest);

void debug_reply(struct evhttp_request *req, int status, const char *type, const char *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    if (buf && len)
        evbuffer_add(buf, body, len);
    evhttp_send_reply(req, status, NULL, buf);
    if (buf)
        evbuffer_free(buf);
}

void debug_reply_json(struct evhttp_request *req, int status, json_t *obj)
{
    char *text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        debug_reply(req, 500, "application/json", "{\"error\":\"out of memory\"}\n", 26);
        return;
    }
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (with_nl) {
        text = with_nl;
        text[n++] = '\n';
        text[n] = '\0';
    }
    debug_reply(req, status, "application/json", text, n);
    free(text);
}

void debug_reply_error(struct evhttp_request *req, int status, const char *msg, const char *key, const char *value)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    /* jansson refuses text that is not UTF-8: say so rather than quote it. */
    if (!o)
        o = json_pack("{s:s}", "error", "the request quotes text that is not valid UTF-8");
    if (o && key)
        json_object_set_new(o, key, json_string(value ? value : ""));
    if (o)
        debug_reply_json(req, status, o);
    else
        debug_reply(req, 500, "text/plain", "out of memory\n", 14);
    json_decref(o);
}

/* Reads ?name=N; def when absent, -1 when present but not a number. */
long debug_query_long(struct evhttp_request *req, const char *name, long def)
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
char *debug_read_body_max(struct evhttp_request *req, size_t max, size_t *len)
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

char *debug_read_body(struct evhttp_request *req, size_t *len)
{
    return debug_read_body_max(req, DEBUG_BODY_MAX, len);
}

void debug_reply_profile(struct evhttp_request *req, int debug, char *data, size_t len, const char *name)
{
    if (debug == 0) {
        char disposition[96];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", name);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition", disposition);
        debug_reply(req, 200, "application/octet-stream", data, len);
    } else {
        debug_reply(req, 200, "text/plain; charset=utf-8", data, len);
    }
}

/* The route table. A path either matches exactly or, for prefix routes, the rest
 * after the prefix is handed to the route. */
static const struct {
    const char *path;
    bool prefix;
    route_fn fn;
} routes[] = {
    {"/healthz", false, debug_route_healthz},
    {"/readyz", false, debug_route_readyz},
    {"/metrics", false, debug_route_metrics},
    {"/debug/vars", false, debug_route_vars},
    {"/debug/pprof/", false, debug_route_pprof_index},
    {"/debug/pprof/threads", false, debug_route_threads},
    {"/debug/pprof/goroutine", false, debug_route_threads},
    {"/debug/pprof/mutex", false, debug_route_mutex},
    {"/debug/pprof/block", false, debug_route_block},
    {"/debug/pprof/heap", false, debug_route_heap},
    {"/debug/pprof/profile", false, debug_route_cpu_profile},
    {"/debug/pprof/allocs", false, debug_route_allocs},
    {"/debug/pprof/threadcreate", false, debug_route_threadcreate},
    {"/debug/pprof/cmdline", false, debug_route_cmdline},
    {"/debug/pprof/symbol", false, debug_route_symbol},
    {"/debug/faults", false, debug_route_faults},
    {"/debug/faults/", true, debug_route_faults},
    {"/debug/config", false, debug_route_config},
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
        debug_reply_error(req, 400, "a NUL byte in the request", NULL, NULL);
        return;
    }
    if (d->token) {
        const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        /* The scheme is case-insensitive (RFC 9110 11.1), the token is not. */
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !token_matches(auth + 7, d->token)) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
            debug_reply_error(req, 401, "a bearer token is required on this port", NULL, NULL);
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
        debug_reply(req, 302, "text/plain", "see /debug/pprof/\n", 18);
        return;
    }
    debug_reply_error(req, 404, "no such debug route", "path", path);
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
