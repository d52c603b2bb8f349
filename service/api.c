/* api: public routes. See api.h. */
#include "api.h"

#include "catalog.h"
#include "fault.h"
#include "heapprof.h"
#include "leak.h"
#include "log.h"
#include "metrics.h"
#include "orders.h"
#include "queue.h"
#include "reqid.h"
#include "units.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 1000

static const char json_type[] = "application/json";

__attribute__((noinline)) void request_burn_cpu(int64_t ns, int64_t iterations)
{
    int64_t until = units_now_ns() + ns;
    volatile uint64_t x = 0;
    if (iterations > 0) {
        /* slow.work: an exact amount of work, the same instructions on every request */
        for (int64_t n = 0; n < iterations; n++)
            x += (uint64_t)n * 2654435761u;
        return;
    }
    while (units_now_ns() < until)
        for (int i = 0; i < 64; i++)
            x += (uint64_t)i * 2654435761u;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_sequence_length(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Appends text as the inside of a JSON string: quotes and backslashes escaped,
 * control characters dropped, and any byte that is not part of well-formed UTF-8
 * written as U+FFFD, so the reply is valid JSON for a strict parser whatever the
 * text quotes from the request. */
static void append_json_text(struct httpserver_response *r, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;

    while (*p) {
        size_t n = utf8_sequence_length(p);
        if (n == 0) {
            httpserver_append(r, "\\ufffd", 6);
            p++;
            continue;
        }
        if (*p == '"' || *p == '\\')
            httpserver_append(r, "\\", 1);
        if (*p >= 0x20)
            httpserver_append(r, (const char *)p, n);
        p += n;
    }
}

/* Writes {"error":msg[,"field":field]} with status. msg and field are the service's own
 * text plus validated input, but they are escaped all the same. */
static void reply_error(struct httpserver_response *r, int status, const char *msg, const char *field)
{
    httpserver_reply(r, status, json_type);
    httpserver_append(r, "{\"error\":\"", 10);
    append_json_text(r, msg);
    httpserver_append(r, "\"", 1);
    if (field && *field) {
        httpserver_append(r, ",\"field\":\"", 10);
        append_json_text(r, field);
        httpserver_append(r, "\"", 1);
    }
    httpserver_append(r, "}\n", 2);
}

static void reply_method_not_allowed(struct httpserver_response *r, const char *allow)
{
    httpserver_add_header(r, "Allow", allow);
    reply_error(r, 405, "method not allowed", NULL);
}

/* Parses a whole positive id from path[0..len). Returns 0 or -1. */
static int parse_id(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 16)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0)
        return -1;
    *out = v;
    return 0;
}

/* Reads name=N from a query string; returns def when absent, -1 when malformed. */
static long query_number(const char *q, size_t qlen, const char *name, long def)
{
    size_t nlen = strlen(name);
    const char *p = q, *end = q + qlen;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            long v = 0;
            const char *d = p + nlen + 1;
            if (d == stop || stop - d > 9)
                return -1;
            for (; d < stop; d++) {
                if (*d < '0' || *d > '9')
                    return -1;
                v = v * 10 + (*d - '0');
            }
            return v;
        }
        p = stop + 1;
    }
    return def;
}

static void products_list(struct api *api, const struct httpserver_request *req, struct httpserver_response *r)
{
    long offset = query_number(req->query, req->query_len, "offset", 0);
    long limit = query_number(req->query, req->query_len, "limit", LIST_DEFAULT_LIMIT);
    size_t total = catalog_count(api->catalog);

    if (offset < 0) {
        reply_error(r, 400, "offset must be a whole number", "offset");
        return;
    }
    if (limit < 1 || limit > LIST_MAX_LIMIT) {
        reply_error(r, 400, "limit must be between 1 and 1000", "limit");
        return;
    }
    httpserver_reply(r, 200, json_type);
    httpserver_printf(r, "{\"total\":%zu,\"offset\":%ld,\"limit\":%ld,\"products\":[", total, offset, limit);
    for (long i = offset; i < offset + limit && (size_t)i < total; i++) {
        const struct catalog_product *p = catalog_at(api->catalog, (size_t)i);
        if (i > offset)
            httpserver_append(r, ",", 1);
        httpserver_append(r, p->json, p->json_len);
    }
    httpserver_append(r, "]}\n", 3);
}

static void product_get(struct api *api, const char *id_text, size_t id_len, struct httpserver_response *r)
{
    uint64_t id;
    const struct catalog_product *p;

    if (parse_id(id_text, id_len, &id) < 0) {
        reply_error(r, 400, "product id must be a positive whole number", "id");
        return;
    }
    if (!(p = catalog_get(api->catalog, (int64_t)id))) {
        reply_error(r, 404, "no such product", "id");
        return;
    }
    httpserver_reply(r, 200, json_type);
    httpserver_append(r, p->json, p->json_len);
    httpserver_append(r, "\n", 1);
}

static void order_create(struct api *api, const struct httpserver_request *req, struct httpserver_response *r)
{
    struct order_request order;
    struct order_job *job = NULL;
    char err[192], field[64], location[48];
    uint64_t id;
    int rc;

    if (orders_parse_request(req->body, req->body_len, (int64_t)catalog_count(api->catalog), &order,
                             err, sizeof err, field, sizeof field) < 0) {
        /* The message and field can quote the body (an unknown key): the client gets
         * them, the log does not. */
        log_debug("order rejected", LOG_F_INT("status", 400));
        reply_error(r, 400, err, field);
        return;
    }
    leak_threads_on_order();
    if (!(job = heapprof_malloc(sizeof *job))) {
        reply_error(r, 500, "out of memory", NULL);
        return;
    }
    if (order_store_add(api->orders, order.user_id, &id) < 0) {
        heapprof_free(job);
        httpserver_add_header(r, "Retry-After", "1");
        reply_error(r, 503, "too many unfinished orders, retry later", NULL);
        return;
    }
    job->order_id = id;
    job->request = order;
    job->log = *log_context_get();
    /* queue.block's eligible event is a full queue: the healthy producer answers 503,
     * the faulty one waits for room and stalls its whole I/O thread. */
    rc = queue_try_push(api->queue, job);
    if (rc < 0 && fault_fires(FAULT_QUEUE_BLOCK, NULL))
        rc = queue_push_blocking(api->queue, job);
    if (rc < 0)
        queue_note_rejected(api->queue);
    if (rc < 0) {
        order_store_remove(api->orders, id);
        heapprof_free(job);
        httpserver_add_header(r, "Retry-After", "1");
        reply_error(r, 503, "order queue full, retry later", NULL);
        return;
    }
    snprintf(location, sizeof location, "/api/orders/%llu", (unsigned long long)id);
    httpserver_add_header(r, "Location", location);
    httpserver_reply(r, 202, json_type);
    httpserver_printf(r, "{\"order_id\":%llu,\"status\":\"queued\"}\n", (unsigned long long)id);
}

static void order_get(struct api *api, const char *id_text, size_t id_len, struct httpserver_response *r)
{
    uint64_t id;
    struct order_info o;
    char ts[32];

    if (parse_id(id_text, id_len, &id) < 0) {
        reply_error(r, 400, "order id must be a positive whole number", "id");
        return;
    }
    if (order_store_get(api->orders, id, &o) < 0) {
        reply_error(r, 404, "no such order (unknown, or finished long ago and forgotten)", "id");
        return;
    }
    time_t secs = (time_t)(o.created_wall_ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    httpserver_reply(r, 200, json_type);
    httpserver_printf(r, "{\"order_id\":%llu,\"user_id\":%lld,\"status\":\"%s\",\"amount_cents\":%lld,"
                      "\"created_at\":\"%s\"",
                      (unsigned long long)o.id, (long long)o.user_id, orders_state_name(o.state),
                      (long long)o.amount_cents, ts);
    if (o.failure[0])
        httpserver_printf(r, ",\"failure\":\"%s\"", o.failure);
    httpserver_append(r, "}\n", 2);
}

static bool path_is(const struct httpserver_request *req, const char *path)
{
    size_t n = strlen(path);
    return req->path_len == n && memcmp(req->path, path, n) == 0;
}

/* True when the path is prefix + one more segment, which is returned in rest and rest_len. */
static bool path_under(const struct httpserver_request *req, const char *prefix, const char **rest, size_t *rest_len)
{
    size_t n = strlen(prefix);
    if (req->path_len <= n || memcmp(req->path, prefix, n) != 0)
        return false;
    *rest = req->path + n;
    *rest_len = req->path_len - n;
    return memchr(*rest, '/', *rest_len) == NULL;
}

/* The route table: one place that maps method and path to a handler. */
static enum metrics_route route(struct api *api, const struct httpserver_request *req, struct httpserver_response *r)
{
    const char *rest;
    size_t rest_len;
    bool get = req->method == HTTPSERVER_GET || req->method == HTTPSERVER_HEAD;

    if (path_is(req, "/api/products")) {
        if (get)
            products_list(api, req, r);
        else
            reply_method_not_allowed(r, "GET, HEAD");
        return METRICS_ROUTE_PRODUCTS_LIST;
    }
    if (path_under(req, "/api/products/", &rest, &rest_len)) {
        if (get)
            product_get(api, rest, rest_len, r);
        else
            reply_method_not_allowed(r, "GET, HEAD");
        return METRICS_ROUTE_PRODUCT_GET;
    }
    if (path_is(req, "/api/orders")) {
        if (req->method == HTTPSERVER_POST)
            order_create(api, req, r);
        else
            reply_method_not_allowed(r, "POST");
        return METRICS_ROUTE_ORDER_CREATE;
    }
    if (path_under(req, "/api/orders/", &rest, &rest_len)) {
        if (get)
            order_get(api, rest, rest_len, r);
        else
            reply_method_not_allowed(r, "GET, HEAD");
        return METRICS_ROUTE_ORDER_GET;
    }
    reply_error(r, 404, "no such route", NULL);
    return METRICS_ROUTE_OTHER;
}

void api_handle(const struct httpserver_request *req, struct httpserver_response *resp, void *user)
{
    struct api *api = user;
    struct log_context ctx;
    int64_t start = units_now_ns(), burn;

    memset(&ctx, 0, sizeof ctx);
    ctx.user_id = -1;
    if (req->request_id && reqid_is_valid(req->request_id, req->request_id_len)) {
        memcpy(ctx.request_id, req->request_id, req->request_id_len);
        ctx.request_id[req->request_id_len] = '\0';
    } else {
        reqid_generate(ctx.request_id);
    }
    if (!req->traceparent || reqid_parse_traceparent(req->traceparent, req->traceparent_len, ctx.trace_id) < 0)
        reqid_generate_trace_id(ctx.trace_id);
    log_context_set(&ctx);
    httpserver_add_header(resp, "X-Request-ID", ctx.request_id);

    if (fault_fires(FAULT_SLOW, &burn))
        request_burn_cpu(burn, 0);
    if (fault_fires(FAULT_SLOW_WORK, &burn))
        request_burn_cpu(0, burn);
    leak_memory_on_request();

    enum metrics_route rt = route(api, req, resp);
    int64_t took = units_now_ns() - start;
    int status = httpserver_response_status(resp);
    metrics_http_observe(rt, status, took);
    log_debug("request", LOG_F_STR("method", req->method_name), LOG_F_STR("route", metrics_route_name(rt)),
              LOG_F_INT("status", status), LOG_F_DOUBLE("duration_ms", (double)took / 1e6));
    log_context_clear();
}
