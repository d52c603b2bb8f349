/* debug_status: the routes that report on the service without changing it: health,
 * readiness, Prometheus metrics and expvar-style /debug/vars. Kept together as the
 * read-outs a supervisor or scraper polls, apart from the profiles and the controls. */
#include "debug_internal.h"

#include "heapprof.h"
#include "instrument.h"
#include "leak.h"
#include "log.h"
#include "metrics.h"
#include "orders.h"
#include "procstat.h"
#include "queue.h"
#include "threads.h"
#include "units.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

void debug_route_healthz(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)d; (void)rest;
    debug_reply(req, 200, "text/plain", "ok\n", 3);
}

void debug_route_readyz(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    if (atomic_load(&d->ready))
        debug_reply(req, 200, "text/plain", "ready\n", 6);
    else
        debug_reply(req, 503, "text/plain", "not ready\n", 10);
}

void debug_route_metrics(struct debug_server *d, struct evhttp_request *req, const char *rest)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    (void)rest;
    if (!out) {
        debug_reply(req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    int rc = metrics_write(out, &d->cfg.sources);
    fclose(out);
    if (rc < 0)
        debug_reply(req, 500, "text/plain", "cannot write metrics\n", 21);
    else
        debug_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

void debug_route_vars(struct debug_server *d, struct evhttp_request *req, const char *rest)
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
    debug_reply_json(req, 200, root);
    json_decref(root);
}
