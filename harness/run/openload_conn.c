/* One connection of a worker's pool: opening it, writing a request, framing the
 * response with http_parser, timeouts, and ending the request with its outcome, which
 * hands the connection to the next waiting request or back to the pool of free ones.
 *
 * One request is in flight per connection (no pipelining); a response is complete
 * when http_parser says so, which pauses the parser so that the bytes of a second,
 * unsolicited response are noticed. Connections are kept alive and reopened lazily
 * after the server closes them.
 *
 * Built for a low cost per request, since it bounds the rate one thread can keep on
 * schedule: a plain non-blocking socket with one persistent read event, so a request
 * costs one send() and its response one recv() into the worker's buffer, parsed there
 * in one pass, with no epoll_ctl, no buffer copies and no timer per request (a
 * bufferevent costs an FIONREAD ioctl per read and a timer heap update per request).
 * The write event is added only while connecting or when a request does not fit the
 * socket at once. Timeouts are checked by the worker's tick against the time of each
 * connection's last byte (openload_conn_expire). */
#include "run/openload_internal.h"

#include "units.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

void openload_pool_push(struct worker *w, struct conn *c)
{
    w->free_ring[(w->free_head + w->free_count) % w->nconns] = (unsigned)(c - w->conns);
    w->free_count++;
}

struct conn *openload_pool_pop(struct worker *w)
{
    struct conn *c = &w->conns[w->free_ring[w->free_head]];
    w->free_head = (w->free_head + 1) % w->nconns;
    w->free_count--;
    return c;
}

void openload_conn_close(struct conn *c)
{
    if (c->read_ev)
        event_free(c->read_ev);
    if (c->write_ev)
        event_free(c->write_ev);
    if (c->fd >= 0)
        close(c->fd);
    c->read_ev = c->write_ev = NULL;
    c->fd = -1;
    c->connected = c->write_pending = false;
    c->out_left = 0;
}

/* Ends c's request with the given outcome, closes c when asked, and gives c the next
 * waiting request, if any. */
void openload_conn_finish(struct conn *c, enum outcome outcome, bool close)
{
    struct worker *w = c->w;
    int64_t now = units_now_ns();
    size_t win = openload_window_of(w, now);

    c->busy = false;
    w->busy--;
    if (outcome == OUTCOME_OK) {
        int64_t latency_us = openload_ns_to_us(now - c->scheduled_ns);
        w->totals.completed++;
        w->windows[win].completed++;
        if (c->status >= 200 && c->status < 300)
            w->totals.status_2xx++;
        else
            w->totals.status_other++;
        latency_hist_record(w->latency, latency_us, 1);
        if (win != w->window_current) {
            openload_worker_flush_window(w);
            w->window_current = win;
        }
        latency_hist_record(w->window_latency, latency_us, 1);
    } else {
        w->totals.errors++;
        w->windows[win].errors++;
        switch (outcome) {
        case OUTCOME_CONNECT: w->totals.error_connect++; break;
        case OUTCOME_TIMEOUT: w->totals.error_timeout++; break;
        case OUTCOME_PROTOCOL: w->totals.error_protocol++; break;
        case OUTCOME_TOO_LARGE: w->totals.error_too_large++; break;
        default: w->totals.error_io++; break;
        }
    }
    if (close)
        openload_conn_close(c);
    if (w->queue_count > 0 && !w->abandoning) {
        struct pending next = w->queue[w->queue_head];
        w->queue_head = (w->queue_head + 1) % w->max_in_flight;
        w->queue_count--;
        latency_hist_record(w->wait, openload_ns_to_us(now - next.scheduled_ns), 1);
        openload_conn_send(c, next.scheduled_ns, next.shape, now);
    } else {
        openload_pool_push(w, c);
    }
    openload_worker_maybe_finish(w);
    openload_worker_send_due(w, now);
}

void openload_conn_expire(struct worker *w, int64_t now)
{
    int64_t timeout = w->ol->cfg.timeout_ns;
    for (unsigned i = 0; i < w->nconns && w->busy > 0; i++) {
        struct conn *c = &w->conns[i];
        if (c->busy && now - c->last_io_ns >= timeout)
            openload_conn_finish(c, OUTCOME_TIMEOUT, true);
    }
}

static int on_status(http_parser *p, const char *at, size_t len);
static int on_header_bytes(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);

static const http_parser_settings parser_settings = {
    .on_status = on_status,
    .on_header_field = on_header_bytes,
    .on_header_value = on_header_bytes,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static int on_header_bytes(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    c->header_bytes += len;
    if (c->header_bytes > c->w->ol->cfg.max_response_header) {
        c->failure = OUTCOME_TOO_LARGE;
        return 1;
    }
    return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
    return on_header_bytes(p, at, len);
}

static int on_headers_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->status = p->status_code;
    return c->head ? 1 : 0; /* a response to HEAD has no body whatever it says */
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    c->body_bytes += len;
    if (c->body_bytes > c->w->ol->cfg.max_response_body) {
        c->failure = OUTCOME_TOO_LARGE;
        return 1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->done = true;
    c->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}

/* Feeds n bytes that arrived to the parser; ends the request when its response is
 * complete or broken. Returns true when the request ended. */
static bool parse_input(struct conn *c, const char *buf, size_t n)
{
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, buf, n);
    if (c->failure != OUTCOME_OK) {
        openload_conn_finish(c, c->failure, true);
        return true;
    }
    if (c->done) {
        /* bytes past the response were not asked for: the connection cannot be trusted */
        openload_conn_finish(c, OUTCOME_OK, !c->keep_alive || parsed < n);
        return true;
    }
    if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || parsed != n) {
        openload_conn_finish(c, OUTCOME_PROTOCOL, true);
        return true;
    }
    return false;
}

/* The peer closed: a body delimited by the end of the connection ends here. */
static void end_of_input(struct conn *c)
{
    enum outcome outcome = OUTCOME_IO;
    if (!c->busy) {
        openload_conn_close(c); /* an idle connection the server closed: reopened when next used */
        return;
    }
    if (!c->connected) {
        openload_conn_finish(c, OUTCOME_CONNECT, true);
        return;
    }
    http_parser_execute(&c->parser, &parser_settings, NULL, 0);
    if (c->done && c->failure == OUTCOME_OK)
        outcome = OUTCOME_OK;
    openload_conn_finish(c, outcome, true);
}

/* Reads what has arrived; returns after the request ends, since c may then carry a new
 * one (or another socket). */
static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    char *buf = c->w->read_buf;

    for (;;) {
        ssize_t n = recv(c->fd, buf, OPENLOAD_READ_BUF, MSG_DONTWAIT);
        if (n > 0 && !c->busy) {
            openload_conn_close(c); /* bytes nobody asked for */
            return;
        }
        if (n > 0) {
            c->last_io_ns = units_now_ns();
            if (parse_input(c, buf, (size_t)n) || (size_t)n < OPENLOAD_READ_BUF)
                return;
            continue;
        }
        if (n == 0) {
            end_of_input(c);
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (!c->busy)
            openload_conn_close(c);
        else
            openload_conn_finish(c, c->connected ? OUTCOME_IO : OUTCOME_CONNECT, true);
        return;
    }
}

/* Writes what is left of the request; the write event waits for room when the socket
 * is full. Returns 0, or -1 when the connection is broken. */
static int flush_output(struct conn *c)
{
    while (c->out_left > 0) {
        ssize_t n = send(c->fd, c->out, c->out_left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out += n;
            c->out_left -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->write_pending && event_add(c->write_ev, NULL) < 0)
                return -1;
            c->write_pending = true;
            return 0;
        } else {
            return -1;
        }
    }
    if (c->write_pending)
        event_del(c->write_ev);
    c->write_pending = false;
    return 0;
}

/* Writable: the connect has finished (or failed), or the socket has room again. */
static void write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (!c->connected) {
        int error = 0;
        socklen_t len = sizeof(error);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0) {
            if (c->busy)
                openload_conn_finish(c, OUTCOME_CONNECT, true);
            else
                openload_conn_close(c);
            return;
        }
        c->connected = true;
    }
    if (flush_output(c) < 0) {
        if (c->busy)
            openload_conn_finish(c, OUTCOME_IO, true);
        else
            openload_conn_close(c);
    }
}

int openload_conn_open(struct conn *c)
{
    struct worker *w = c->w;
    int one = 1, rc;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->read_ev = event_new(w->base, c->fd, EV_READ | EV_PERSIST, read_cb, c);
    c->write_ev = event_new(w->base, c->fd, EV_WRITE | EV_PERSIST, write_cb, c);
    if (!c->read_ev || !c->write_ev || event_add(c->read_ev, NULL) < 0)
        goto fail;
    c->connected = false;
    do
        rc = connect(c->fd, (const struct sockaddr *)&w->ol->cfg.target, sizeof(w->ol->cfg.target));
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        c->connected = true;
        return 0;
    }
    if (errno != EINPROGRESS || event_add(c->write_ev, NULL) < 0)
        goto fail;
    c->write_pending = true;
    return 0;
fail:
    openload_conn_close(c);
    return -1;
}

void openload_conn_send(struct conn *c, int64_t scheduled_ns, unsigned shape, int64_t now)
{
    struct worker *w = c->w;
    const struct shape *s = &w->ol->cfg.shapes[shape];

    c->busy = true;
    w->busy++;
    c->scheduled_ns = scheduled_ns;
    c->head = s->head;
    c->done = false;
    c->failure = OUTCOME_OK;
    c->status = 0;
    c->header_bytes = c->body_bytes = 0;
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    if (c->fd < 0 && openload_conn_open(c) < 0) {
        /* counted now; the connection goes back without taking a waiting request, so a
         * failing open cannot recurse through the queue */
        c->busy = false;
        w->busy--;
        w->totals.errors++;
        w->totals.error_connect++;
        w->windows[openload_window_of(w, now)].errors++;
        openload_pool_push(w, c);
        return;
    }
    c->out = s->bytes;
    c->out_left = s->len;
    c->last_io_ns = now;
    /* while connecting, the write event sends it once the connection is up */
    if (c->connected && flush_output(c) < 0)
        openload_conn_finish(c, OUTCOME_IO, true);
}
