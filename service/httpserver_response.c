/* httpserver_response: the reply a handler builds (status, content type, extra headers,
 * body) and its serialization into the connection's output buffer, plus the growable
 * buffer every part of the server uses. Kept apart from parsing and connection I/O
 * because it is the server's whole public surface for handlers: what they may set,
 * and how that becomes bytes, read in one place. */
#include "httpserver_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int httpserver_buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int httpserver_buf_append(struct buf *b, const char *data, size_t len)
{
    if (httpserver_buf_reserve(b, len) < 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void httpserver_buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void httpserver_reply(struct httpserver_response *r, int status, const char *content_type)
{
    r->status = status;
    r->content_type = content_type;
}

int httpserver_response_status(const struct httpserver_response *r)
{
    return r->status;
}

void httpserver_add_header(struct httpserver_response *r, const char *name, const char *value)
{
    int n = snprintf(r->extra + r->extra_len, sizeof r->extra - r->extra_len, "%s: %s\r\n", name, value);
    if (n > 0 && (size_t)n < sizeof r->extra - r->extra_len)
        r->extra_len += (size_t)n;
    else
        r->extra[r->extra_len] = '\0';   /* did not fit: dropped whole */
}

int httpserver_append(struct httpserver_response *r, const char *data, size_t len)
{
    if (httpserver_buf_append(&r->body, data, len) < 0) {
        r->failed = true;
        return -1;
    }
    return 0;
}

int httpserver_printf(struct httpserver_response *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || httpserver_buf_reserve(&r->body, (size_t)n + 1) < 0) {
        r->failed = true;
        return -1;
    }
    va_start(ap, fmt);
    vsnprintf(r->body.data + r->body.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->body.len += (size_t)n;
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

void httpserver_response_reset(struct httpserver_response *r)
{
    r->status = 0;
    r->content_type = NULL;
    r->extra_len = 0;
    r->extra[0] = '\0';
    r->body.len = 0;
    r->failed = false;
}

/* Serializes the reply into the connection's output; a reply to HEAD carries the
 * headers of the body it would have sent, and no body. */
void httpserver_response_emit(struct conn *c, bool keep_alive, bool head_only)
{
    struct httpserver_response *r = &c->resp;
    char head[512];

    if (r->status == 0 || r->failed) {
        r->status = 500;
        r->content_type = "application/json";
        r->body.len = 0;
        httpserver_append(r, "{\"error\":\"internal error\"}\n", 27);
    }
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s",
                     r->status, reason(r->status), r->content_type ? r->content_type : "text/plain",
                     r->body.len, keep_alive ? "" : "Connection: close\r\n");
    if (n < 0 || (size_t)n >= sizeof head)
        n = 0;
    if (httpserver_buf_reserve(&c->out, (size_t)n + r->extra_len + 2 + r->body.len) < 0) {
        c->close_after_write = true;
        return;
    }
    httpserver_buf_append(&c->out, head, (size_t)n);
    httpserver_buf_append(&c->out, r->extra, r->extra_len);
    httpserver_buf_append(&c->out, "\r\n", 2);
    if (!head_only)
        httpserver_buf_append(&c->out, r->body.data, r->body.len);
    if (!keep_alive)
        c->close_after_write = true;
}
