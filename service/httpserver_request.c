/* httpserver_request: reading requests with http_parser. Its callbacks enforce the
 * request limits as the bytes arrive (431 for the head, 413 for the body, the head
 * and body deadlines), keep only the headers the service uses (X-Request-ID,
 * traceparent), and on a complete message call the handler and queue its answer,
 * pausing the parser while too much output waits. Apart from connection I/O because
 * the parser's callbacks and what they accept are one concern, and the fuzz target's
 * main subject. */
#include "httpserver_internal.h"

#include "connlimit.h"
#include "units.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static http_parser_settings parser_settings;

static void request_reset(struct conn *c)
{
    c->url_len = 0;
    c->header_bytes = 0;
    c->field_len = 0;
    c->field_too_long = false;
    c->in_value = false;
    c->current = HDR_NONE;
    c->request_id_len = c->traceparent_len = 0;
    c->has_request_id = c->has_traceparent = c->request_id_too_long = false;
    c->body.len = 0;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = p->data;
    request_reset(c);
    c->in_request = true;
    c->deadline_ns = units_now_ns() + c->thread->server->cfg.header_timeout_ms * 1000000LL;
    return 0;
}

static int count_header_bytes(struct conn *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > HTTPSERVER_HEADER_MAX) {
        c->early_status = 431;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (count_header_bytes(c, len) < 0 || c->url_len + len >= sizeof c->url) {
        c->early_status = 431;
        return -1;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (count_header_bytes(c, len) < 0)
        return -1;
    if (c->in_value) {          /* a new header starts */
        c->in_value = false;
        c->field_len = 0;
        c->field_too_long = false;
    }
    if (c->field_len + len >= sizeof c->field) {
        c->field_too_long = true;
        return 0;
    }
    memcpy(c->field + c->field_len, at, len);
    c->field_len += len;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (count_header_bytes(c, len) < 0)
        return -1;
    if (!c->in_value) {         /* the field name is complete: is it one we keep? */
        c->in_value = true;
        c->current = HDR_NONE;
        if (!c->field_too_long) {
            if (c->field_len == 12 && strncasecmp(c->field, "x-request-id", 12) == 0) {
                c->current = HDR_REQUEST_ID;
                c->has_request_id = true;
                c->request_id_len = 0;
            } else if (c->field_len == 11 && strncasecmp(c->field, "traceparent", 11) == 0) {
                c->current = HDR_TRACEPARENT;
                c->has_traceparent = true;
                c->traceparent_len = 0;
            }
        }
    }
    if (c->current == HDR_REQUEST_ID) {
        if (c->request_id_len + len >= sizeof c->request_id) {
            c->request_id_too_long = true;   /* handed on as invalid, replaced by the handler */
            return 0;
        }
        memcpy(c->request_id + c->request_id_len, at, len);
        c->request_id_len += len;
    } else if (c->current == HDR_TRACEPARENT) {
        if (c->traceparent_len + len >= sizeof c->traceparent)
            return 0;
        memcpy(c->traceparent + c->traceparent_len, at, len);
        c->traceparent_len += len;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = p->data;
    size_t max = c->thread->server->cfg.max_body;
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > max) {
        c->early_status = 413;
        return -1;   /* stop parsing: the body is not read */
    }
    /* The body gets the same time again, from the end of the head. */
    c->deadline_ns = units_now_ns() + c->thread->server->cfg.header_timeout_ms * 1000000LL;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (c->body.len + len > c->thread->server->cfg.max_body) {
        c->early_status = 413;   /* chunked body that grew past the limit */
        return -1;
    }
    if (httpserver_buf_append(&c->body, at, len) < 0) {
        c->early_status = 500;
        return -1;
    }
    return 0;
}

static enum httpserver_method method_of(unsigned m)
{
    switch (m) {
    case HTTP_GET: return HTTPSERVER_GET;
    case HTTP_POST: return HTTPSERVER_POST;
    case HTTP_PUT: return HTTPSERVER_PUT;
    case HTTP_DELETE: return HTTPSERVER_DELETE;
    case HTTP_HEAD: return HTTPSERVER_HEAD;
    default: return HTTPSERVER_OTHER;
    }
}

/* Where the path starts in a request target. HTTP/1.1 servers must accept the
 * absolute form ("http://host/path?q", RFC 9112 3.2.2) as well as the origin form
 * ("/path?q"); like Go's net/http, the scheme and authority are skipped. */
static const char *request_path(const char *url, size_t len)
{
    const char *end = url + len;

    if (len == 0 || url[0] == '/')
        return url;
    for (const char *p = url; p + 2 < end && *p != '/' && *p != '?'; p++) {
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            const char *path = p + 3;
            while (path < end && *path != '/' && *path != '?')
                path++;
            return path;
        }
    }
    return url;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    struct httpserver_request req = {0};
    char *q;

    req.method = method_of(p->method);
    req.method_name = http_method_str(p->method);
    c->in_request = false;
    c->url[c->url_len] = '\0';
    const char *target = request_path(c->url, c->url_len);
    size_t target_len = c->url_len - (size_t)(target - c->url);
    q = memchr(target, '?', target_len);
    req.path = target;
    req.path_len = q ? (size_t)(q - target) : target_len;
    req.query = q ? q + 1 : "";
    req.query_len = q ? target_len - req.path_len - 1 : 0;
    if (req.path_len == 0) {   /* "http://host" or "http://host?q": the path is "/" */
        req.path = "/";
        req.path_len = 1;
    }
    req.body = c->body.data ? c->body.data : "";
    req.body_len = c->body.len;
    if (c->has_request_id) {
        req.request_id = c->request_id;
        /* A too-long id is passed as an over-long length so it fails validation. */
        req.request_id_len = c->request_id_too_long ? sizeof c->request_id : c->request_id_len;
    }
    if (c->has_traceparent) {
        req.traceparent = c->traceparent;
        req.traceparent_len = c->traceparent_len;
    }
    httpserver_response_reset(&c->resp);
    c->thread->server->cfg.handler(&req, &c->resp, c->thread->server->cfg.user);
    httpserver_response_emit(c, http_should_keep_alive(p) && !c->close_after_write, p->method == HTTP_HEAD);
    /* A client that pipelines without reading would make every request in this read
     * buffer produce its answer: stop at the mark and parse the rest once the
     * output has gone out. */
    if (c->out.len > OUT_HIGH_WATER)
        http_parser_pause(p, 1);
    return 0;
}

void httpserver_request_reject(struct conn *c, int status)
{
    enum connlimit_reason why = status == 413 ? CONNLIMIT_BODY_TOO_LARGE
                              : status == 431 ? CONNLIMIT_HEADER_TOO_LARGE
                              : status == 408 ? CONNLIMIT_HEADER_TIMEOUT : CONNLIMIT_MALFORMED;
    if (status != 500)
        connlimit_note(CONNLIMIT_PUBLIC, why);
    c->in_request = false;
    /* The client may still be sending (a body over the limit): closing with unread
     * input would reset the connection and could destroy the reply before it is
     * read, so the connection is half-closed and drained first, as nginx does. */
    c->linger = true;
    httpserver_response_reset(&c->resp);
    httpserver_reply(&c->resp, status, "application/json");
    if (status == 413)
        httpserver_printf(&c->resp, "{\"error\":\"request body larger than %zu bytes\"}\n",
                          c->thread->server->cfg.max_body);
    else if (status == 431)
        httpserver_printf(&c->resp, "{\"error\":\"request line and headers larger than %d bytes\"}\n",
                          HTTPSERVER_HEADER_MAX);
    else if (status == 408)
        httpserver_printf(&c->resp, "{\"error\":\"request not received within %lld ms\"}\n",
                          (long long)c->thread->server->cfg.header_timeout_ms);
    else if (status == 400)
        httpserver_printf(&c->resp, "{\"error\":\"malformed HTTP request: %s\"}\n",
                          http_errno_description(HTTP_PARSER_ERRNO(&c->parser)));
    else
        httpserver_printf(&c->resp, "{\"error\":\"internal error\"}\n");
    httpserver_response_emit(c, false, false);
}

/* Parses len bytes. Returns how many were taken: fewer when the parser paused (the
 * caller keeps the rest) or failed (an error reply is then queued). */
size_t httpserver_request_parse(struct conn *c, const char *data, size_t len)
{
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

    if (e == HPE_PAUSED) {
        c->paused = true;
        return parsed;
    }
    if (e != HPE_OK || parsed != len)
        httpserver_request_reject(c, c->early_status ? c->early_status : 400);
    return parsed;
}

void httpserver_request_init(void)
{
    http_parser_settings_init(&parser_settings);
    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;
}
