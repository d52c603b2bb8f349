/* httpserver: lean HTTP/1.1 server on libevent and http_parser. See httpserver.h. */
#include "httpserver.h"

#include "connlimit.h"
#include "threads.h"
#include "units.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384
#define OUT_HIGH_WATER (256 * 1024)   /* stop reading and parsing while this much is unsent */
#define LINGER_READ_MS 1000           /* after an error reply: wait this long for the rest */
#define LINGER_TOTAL_MS 5000          /* ... and no longer than this in all */
#define EXTRA_HEADERS_MAX 256
#define ID_MAX 128

struct buf {
    char *data;
    size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t more)
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

static int buf_append(struct buf *b, const char *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

/* Drops the first n bytes (sent). */
static void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

enum wanted_header { HDR_NONE, HDR_REQUEST_ID, HDR_TRACEPARENT };

struct httpserver_response {
    int status;
    const char *content_type;
    char extra[EXTRA_HEADERS_MAX];
    size_t extra_len;
    struct buf body;
    bool failed;
};

struct io_thread;

struct conn {
    int fd;
    struct io_thread *thread;
    struct event *read_ev, *write_ev;
    http_parser parser;
    /* The request being parsed. */
    char url[HTTPSERVER_HEADER_MAX];
    size_t url_len, header_bytes;
    char field[32];
    size_t field_len;
    bool field_too_long, in_value;
    enum wanted_header current;
    char request_id[ID_MAX], traceparent[ID_MAX];
    size_t request_id_len, traceparent_len;
    bool has_request_id, has_traceparent, request_id_too_long;
    struct buf body;
    int early_status;            /* 413/431 found while parsing: answer, then close */
    bool close_after_write;
    bool linger;                 /* after the last write, half-close and drain the input */
    bool lingering;              /* half-closed; reading only to discard */
    bool in_request;             /* bytes of a request have come, its end has not */
    bool paused;                 /* parser paused: output above the high-water mark */
    enum { ARMED_NONE, ARMED_IDLE, ARMED_DEADLINE } armed;
    int64_t deadline_ns;         /* for the request head (or body) in progress; linger end */
    struct buf pending;          /* input read but not parsed while paused */
    struct httpserver_response resp;
    struct buf out;
    struct conn *prev, *next;
};

struct io_thread {
    struct httpserver *server;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *stop_ev;
    pthread_t thread;
    bool started;
    int listen_fd;
    struct connlimit_listener_guard *guard;
    const struct timeval *idle_tv;   /* the idle timeout as a common timeout of base */
    size_t nconns;
    struct conn *conns;
    char read_buf[READ_CHUNK];
};

struct httpserver {
    struct httpserver_config cfg;
    char host[64];
    int port;
    struct io_thread *threads;
    bool stopped;
    _Atomic size_t open;   /* connections on every I/O thread */
};

static http_parser_settings parser_settings;

static void conn_close(struct conn *c);
static void conn_flush(struct conn *c);

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
    if (buf_append(&r->body, data, len) < 0) {
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
    if (n < 0 || buf_reserve(&r->body, (size_t)n + 1) < 0) {
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

static void response_reset(struct httpserver_response *r)
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
static void conn_emit(struct conn *c, bool keep_alive, bool head_only)
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
    if (buf_reserve(&c->out, (size_t)n + r->extra_len + 2 + r->body.len) < 0) {
        c->close_after_write = true;
        return;
    }
    buf_append(&c->out, head, (size_t)n);
    buf_append(&c->out, r->extra, r->extra_len);
    buf_append(&c->out, "\r\n", 2);
    if (!head_only)
        buf_append(&c->out, r->body.data, r->body.len);
    if (!keep_alive)
        c->close_after_write = true;
}

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
    if (buf_append(&c->body, at, len) < 0) {
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
    response_reset(&c->resp);
    c->thread->server->cfg.handler(&req, &c->resp, c->thread->server->cfg.user);
    conn_emit(c, http_should_keep_alive(p) && !c->close_after_write, p->method == HTTP_HEAD);
    /* A client that pipelines without reading would make every request in this read
     * buffer produce its answer: stop at the mark and parse the rest once the
     * output has gone out. */
    if (c->out.len > OUT_HIGH_WATER)
        http_parser_pause(p, 1);
    return 0;
}

static void early_reply(struct conn *c, int status)
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
    response_reset(&c->resp);
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
    conn_emit(c, false, false);
}

static void on_write(evutil_socket_t fd, short what, void *arg);

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return tv;
}

/* Watches for input with the timeout that applies now: the idle timeout between
 * requests, the deadline of a request under way (a slow client does not restart
 * it byte by byte), or the linger deadline. No reading while paused. */
static void conn_arm_read(struct conn *c)
{
    if (c->paused) {
        event_del(c->read_ev);
        c->armed = ARMED_NONE;
        return;
    }
    if (c->in_request || c->lingering) {
        int64_t left_ms = (c->deadline_ns - units_now_ns()) / 1000000;
        if (c->lingering && left_ms > LINGER_READ_MS)
            left_ms = LINGER_READ_MS;
        struct timeval tv = ms_to_tv(left_ms > 0 ? left_ms : 0);
        event_add(c->read_ev, &tv);
        c->armed = ARMED_DEADLINE;
    } else if (c->armed != ARMED_IDLE || !event_pending(c->read_ev, EV_READ, NULL)) {
        /* A persistent event restarts this timeout on each read by itself. Every
         * connection has the same idle timeout, so it sits in libevent's O(1)
         * common-timeout queue rather than the timer heap. */
        event_add(c->read_ev, c->thread->idle_tv);
        c->armed = ARMED_IDLE;
    }
}

/* Parses len bytes. Returns how many were taken: fewer when the parser paused (the
 * caller keeps the rest) or failed (an error reply is then queued). */
static size_t conn_parse(struct conn *c, const char *data, size_t len)
{
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

    if (e == HPE_PAUSED) {
        c->paused = true;
        return parsed;
    }
    if (e != HPE_OK || parsed != len)
        early_reply(c, c->early_status ? c->early_status : 400);
    return parsed;
}

/* Output drained while paused: parse what was held back. */
static void conn_resume(struct conn *c)
{
    c->paused = false;
    http_parser_pause(&c->parser, 0);
    size_t parsed = conn_parse(c, c->pending.data, c->pending.len);
    buf_consume(&c->pending, parsed);
    if (!c->paused)
        c->pending.len = 0;
}

/* After an error reply: stop sending, keep reading (and discarding) until the client
 * closes or the linger deadline, so the client reads the reply instead of a reset. */
static void conn_start_linger(struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    c->paused = false;
    c->in_request = false;
    c->deadline_ns = units_now_ns() + LINGER_TOTAL_MS * 1000000LL;
    event_del(c->write_ev);
    conn_arm_read(c);
}

static void conn_flush(struct conn *c)
{
    for (;;) {
        while (c->out.len > 0) {
            ssize_t n = write(c->fd, c->out.data, c->out.len);
            if (n > 0) {
                buf_consume(&c->out, (size_t)n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                event_add(c->write_ev, NULL);
                if (c->out.len > OUT_HIGH_WATER || c->paused) {
                    event_del(c->read_ev);   /* back-pressure: a client that does not read */
                    c->armed = ARMED_NONE;
                }
                return;
            }
            conn_close(c);
            return;
        }
        if (c->close_after_write) {
            if (c->linger && !c->lingering)
                conn_start_linger(c);
            else
                conn_close(c);
            return;
        }
        if (!c->paused)
            break;
        conn_resume(c);
    }
    event_del(c->write_ev);
    conn_arm_read(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    conn_flush(arg);
}

static void conn_drain(struct conn *c)
{
    struct io_thread *t = c->thread;

    for (;;) {
        ssize_t n = read(c->fd, t->read_buf, sizeof t->read_buf);
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && units_now_ns() < c->deadline_ns) {
            conn_arm_read(c);
            return;
        }
        conn_close(c);
        return;
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct io_thread *t = c->thread;

    if (what & EV_TIMEOUT) {
        if (c->lingering) {
            conn_close(c);
        } else if (c->in_request) {
            early_reply(c, 408);   /* slow head or body: answered, then closed */
            conn_flush(c);
        } else {
            connlimit_note(CONNLIMIT_PUBLIC, CONNLIMIT_IDLE_TIMEOUT);
            conn_close(c);
        }
        return;
    }
    if (c->lingering) {
        conn_drain(c);
        return;
    }
    if (c->paused) {   /* not watched while paused; a stale activation */
        conn_arm_read(c);
        return;
    }
    for (;;) {
        ssize_t n = read(fd, t->read_buf, sizeof t->read_buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            /* EOF or error: answers already produced are still sent, best effort. */
            c->close_after_write = true;
            c->linger = false;
            c->paused = false;
            conn_flush(c);
            return;
        }
        size_t parsed = conn_parse(c, t->read_buf, (size_t)n);
        if (c->paused && buf_append(&c->pending, t->read_buf + parsed, (size_t)n - parsed) < 0) {
            conn_close(c);
            return;
        }
        if (c->close_after_write || c->paused || (size_t)n < sizeof t->read_buf)
            break;
    }
    conn_flush(c);
}

static void conn_close(struct conn *c)
{
    struct io_thread *t = c->thread;

    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->nconns--;
    atomic_fetch_sub_explicit(&t->server->open, 1, memory_order_relaxed);
    connlimit_closed(CONNLIMIT_PUBLIC);
    event_free(c->read_ev);
    event_free(c->write_ev);
    close(c->fd);
    free(c->pending.data);
    free(c->body.data);
    free(c->out.data);
    free(c->resp.body.data);
    free(c);
}

/* Over --max-connections: a short 503 (the socket takes it at once) and close,
 * so the client learns why instead of seeing a bare reset. */
static void refuse(evutil_socket_t fd)
{
    static const char reply[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 37\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n{\"error\":\"too many open connections\"}\n";
    connlimit_note(CONNLIMIT_PUBLIC, CONNLIMIT_MAX_CONNECTIONS);
    (void)!write(fd, reply, sizeof reply - 1);
    close(fd);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    struct io_thread *t = arg;
    (void)l;
    connlimit_listener_failed(t->guard);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *arg)
{
    struct io_thread *t = arg;
    struct conn *c;
    int one = 1;

    (void)l; (void)addr; (void)socklen;
    connlimit_listener_accepted(t->guard);
    if (atomic_fetch_add_explicit(&t->server->open, 1, memory_order_relaxed) >= t->server->cfg.max_connections) {
        atomic_fetch_sub_explicit(&t->server->open, 1, memory_order_relaxed);
        refuse(fd);
        return;
    }
    if (!(c = calloc(1, sizeof *c))) {
        atomic_fetch_sub_explicit(&t->server->open, 1, memory_order_relaxed);
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->thread = t;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->read_ev = event_new(t->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->write_ev = event_new(t->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    if (!c->read_ev || !c->write_ev) {
        if (c->read_ev)
            event_free(c->read_ev);
        if (c->write_ev)
            event_free(c->write_ev);
        free(c);
        close(fd);
        atomic_fetch_sub_explicit(&t->server->open, 1, memory_order_relaxed);
        return;
    }
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    t->nconns++;
    connlimit_opened(CONNLIMIT_PUBLIC);
    conn_arm_read(c);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct io_thread *t = arg;
    (void)fd; (void)what;
    event_base_loopbreak(t->base);
}

static void *io_thread_main(void *arg)
{
    struct io_thread *t = arg;
    event_base_dispatch(t->base);
    return NULL;
}

int httpserver_parse_address(const char *text, char *host, size_t hostlen, int *port,
                             char *err, size_t errlen)
{
    const char *colon, *h = text;
    size_t hlen;
    char *end;
    long p;

    if (!text || !*text) {
        snprintf(err, errlen, "empty address: expected ADDR:PORT");
        return -1;
    }
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "bad address '%s': expected [IPv6]:PORT", text);
            return -1;
        }
        h = text + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon) {
            snprintf(err, errlen, "bad address '%s': expected ADDR:PORT", text);
            return -1;
        }
        hlen = (size_t)(colon - text);
        /* An IPv6 host must be bracketed: in "::1" the last colon is not a port
         * separator, and reading it as one would give host "::" (every interface). */
        if (memchr(text, ':', hlen)) {
            snprintf(err, errlen, "bad address '%s': put an IPv6 address in brackets, [IPv6]:PORT", text);
            return -1;
        }
    }
    if (hlen == 0 || hlen >= hostlen) {
        snprintf(err, errlen, "bad address '%s': missing or too long host", text);
        return -1;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostlen, "127.0.0.1");
    /* Digits only: strtol alone would also take a sign and leading blanks. */
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (!isdigit((unsigned char)colon[1]) || errno || *end || p > 65535) {
        snprintf(err, errlen, "bad address '%s': port must be 0..65535", text);
        return -1;
    }
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1) {
        snprintf(err, errlen, "bad address '%s': host must be a numeric IPv4 or IPv6 address", text);
        return -1;
    }
    *port = (int)p;
    return 0;
}

/* Binds a non-blocking listening socket with SO_REUSEPORT. Returns the fd or -1. */
static int bind_listener(const char *host, int port, char *err, size_t errlen)
{
    struct sockaddr_storage ss = {0};
    socklen_t sslen;
    int fd, one = 1, family;

    if (strchr(host, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        sslen = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, host, &s4->sin_addr);
        sslen = sizeof *s4;
    }
    fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 1024) < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void init_once(void)
{
    evthread_use_pthreads();
    http_parser_settings_init(&parser_settings);
    parser_settings.on_message_begin = on_message_begin;
    parser_settings.on_url = on_url;
    parser_settings.on_header_field = on_header_field;
    parser_settings.on_header_value = on_header_value;
    parser_settings.on_headers_complete = on_headers_complete;
    parser_settings.on_body = on_body;
    parser_settings.on_message_complete = on_message_complete;
}

struct httpserver *httpserver_new(const struct httpserver_config *cfg, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct httpserver *s;

    if (cfg->io_threads < 1 || cfg->io_threads > 64 || !cfg->handler) {
        snprintf(err, errlen, "io threads must be 1..64");
        return NULL;
    }
    pthread_once(&once, init_once);
    if (!(s = calloc(1, sizeof *s)) || !(s->threads = calloc((size_t)cfg->io_threads, sizeof *s->threads))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = HTTPSERVER_DEFAULT_MAX_CONNECTIONS;
    if (s->cfg.header_timeout_ms <= 0)
        s->cfg.header_timeout_ms = HTTPSERVER_DEFAULT_HEADER_TIMEOUT_MS;
    if (s->cfg.idle_timeout_ms <= 0)
        s->cfg.idle_timeout_ms = HTTPSERVER_DEFAULT_IDLE_TIMEOUT_MS;
    connlimit_set_max(CONNLIMIT_PUBLIC, s->cfg.max_connections);
    snprintf(s->host, sizeof s->host, "%s", cfg->host);
    s->cfg.host = s->host;
    s->port = cfg->port;
    for (int i = 0; i < cfg->io_threads; i++) {
        struct io_thread *t = &s->threads[i];
        t->server = s;
        t->listen_fd = -1;
    }
    for (int i = 0; i < cfg->io_threads; i++) {
        struct io_thread *t = &s->threads[i];
        t->listen_fd = bind_listener(s->host, s->port, err, errlen);
        if (t->listen_fd < 0)
            goto fail;
        if (i == 0)
            s->port = bound_port(t->listen_fd);   /* the others share the chosen port */
        t->base = event_base_new();
        if (!t->base) {
            snprintf(err, errlen, "event_base_new failed");
            goto fail;
        }
        /* Backlog 0: the socket already listens with its own (libevent would redo it with 128). */
        t->listener = evconnlistener_new(t->base, on_accept, t, LEV_OPT_CLOSE_ON_FREE, 0, t->listen_fd);
        t->stop_ev = event_new(t->base, -1, 0, on_stop, t);
        struct timeval idle = ms_to_tv(s->cfg.idle_timeout_ms);
        t->idle_tv = event_base_init_common_timeout(t->base, &idle);
        if (t->listener)
            t->guard = connlimit_listener_guard_new(t->listener, t->base, CONNLIMIT_PUBLIC);
        if (!t->listener || !t->stop_ev || !t->guard || !t->idle_tv) {
            snprintf(err, errlen, "cannot set up the listener");
            goto fail;
        }
        t->listen_fd = -1;   /* owned by the listener now */
        evconnlistener_set_error_cb(t->listener, on_accept_error);
    }
    return s;
fail:
    httpserver_free(s);
    return NULL;
}

int httpserver_start(struct httpserver *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->cfg.io_threads; i++) {
        char name[32];
        snprintf(name, sizeof name, "io-%d", i);
        int rc = threads_spawn(&s->threads[i].thread, name, THREADS_ROLE_IO, io_thread_main, &s->threads[i]);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start I/O thread: %s", strerror(rc));
            return -1;
        }
        s->threads[i].started = true;
    }
    return 0;
}

int httpserver_port(const struct httpserver *s) { return s->port; }

void httpserver_stop(struct httpserver *s)
{
    if (!s || s->stopped)
        return;
    s->stopped = true;
    for (int i = 0; i < s->cfg.io_threads; i++)
        if (s->threads[i].started)
            event_active(s->threads[i].stop_ev, EV_READ, 0);
    for (int i = 0; i < s->cfg.io_threads; i++) {
        struct io_thread *t = &s->threads[i];
        if (t->started)
            pthread_join(t->thread, NULL);
        t->started = false;
        if (t->listener) {
            evconnlistener_free(t->listener);
            t->listener = NULL;
        }
        while (t->conns) {
            /* Answers already produced get one last chance to go out. */
            struct conn *c = t->conns;
            if (c->out.len > 0)
                (void)!write(c->fd, c->out.data, c->out.len);
            conn_close(c);
        }
    }
}

void httpserver_free(struct httpserver *s)
{
    if (!s)
        return;
    httpserver_stop(s);
    for (int i = 0; i < s->cfg.io_threads; i++) {
        struct io_thread *t = &s->threads[i];
        if (t->listener)
            evconnlistener_free(t->listener);
        if (t->listen_fd >= 0)
            close(t->listen_fd);
        if (t->stop_ev)
            event_free(t->stop_ev);
        connlimit_listener_guard_free(t->guard);
        if (t->base)
            event_base_free(t->base);
    }
    free(s->threads);
    free(s);
}
