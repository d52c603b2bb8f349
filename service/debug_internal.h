/* debug_internal: the debug server's private struct, the reply helpers every route
 * uses, and the routes the table in debug.c points at. Only service/debug*.c include
 * this; everyone else sees debug.h.
 *
 * The debug port is five files by responsibility: debug.c (the server, its thread,
 * the bearer token, the route table and dispatch, and the reply helpers),
 * debug_status.c (health, readiness, /metrics, /debug/vars), debug_control.c (the
 * faults and the runtime configuration, the routes that change the service),
 * debug_pprof.c (the pprof routes answered at once) and debug_timed.c (the profiles
 * answered after a wait: delta mutex/block profiles and the CPU profile, which own a
 * request across event-loop turns and must notice a client that leaves). */
#ifndef ORDERD_DEBUG_INTERNAL_H
#define ORDERD_DEBUG_INTERNAL_H

#include "debug.h"

#include "lockprof.h"

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYMBOL_BODY_MAX (256 * 1024)   /* pprof posts every address it needs named */

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

/* debug.c: replies and request reading. Every route sends exactly one reply. */

void debug_reply(struct evhttp_request *req, int status, const char *type, const char *body, size_t len);
/* Replies with obj as indented JSON and a newline (500 if it cannot be written). */
void debug_reply_json(struct evhttp_request *req, int status, json_t *obj);
/* Replies {"error": msg} with key: value added when key is not NULL. */
void debug_reply_error(struct evhttp_request *req, int status, const char *msg, const char *key, const char *value);
/* A profile: debug=0 as an attachment named name, else as text. */
void debug_reply_profile(struct evhttp_request *req, int debug, char *data, size_t len, const char *name);
/* Reads ?name=N; def when absent, -1 when present but not a number. */
long debug_query_long(struct evhttp_request *req, const char *name, long def);
/* Reads the request body into a NUL-terminated malloc'd string (at most max
 * bytes), which the caller frees. Returns NULL when too large or out of memory. */
char *debug_read_body_max(struct evhttp_request *req, size_t max, size_t *len);
/* debug_read_body_max with the limit of a fault term or a configuration body. */
char *debug_read_body(struct evhttp_request *req, size_t *len);

/* The routes: rest is what follows a prefix route's prefix, "" otherwise. */

void debug_route_healthz(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_readyz(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_metrics(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_vars(struct debug_server *d, struct evhttp_request *req, const char *rest);

void debug_route_faults(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_config(struct debug_server *d, struct evhttp_request *req, const char *rest);

void debug_route_pprof_index(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_cmdline(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_symbol(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_threads(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_mutex(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_block(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_heap(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_allocs(struct debug_server *d, struct evhttp_request *req, const char *rest);
void debug_route_threadcreate(struct debug_server *d, struct evhttp_request *req, const char *rest);

void debug_route_cpu_profile(struct debug_server *d, struct evhttp_request *req, const char *rest);
/* Answers a mutex or block profile: at once, or with ?seconds=N the difference
 * over the next N seconds (the request stays open meanwhile). */
void debug_lock_profile(struct debug_server *d, struct evhttp_request *req, enum lockprof_kind kind);

#endif
