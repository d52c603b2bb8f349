/* One connection of a worker's pool: opening it, writing a request (straight to the
 * socket when it can), framing the response with http_parser, timeouts, and ending
 * the request with its outcome, which hands the connection to the next waiting
 * request or back to the pool of free ones.
 *
 * One request is in flight per connection (no pipelining); a response is complete
 * when http_parser says so, which pauses the parser so that the bytes of a second,
 * unsolicited response are noticed. Connections are kept alive and reopened lazily
 * after the server closes them. */
#include "run/openload_internal.h"

#include "units.h"

#include <errno.h>
#include <event2/buffer.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>

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
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    c->connected = false;
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
        w->totals.completed++;
        w->windows[win].completed++;
        if (c->status >= 200 && c->status < 300)
            w->totals.status_2xx++;
        else
            w->totals.status_other++;
        latency_hist_record(w->latency, openload_ns_to_us(now - c->scheduled_ns), 1);
        if (win != w->window_current) {
            openload_worker_flush_window(w);
            w->window_current = win;
        }
        latency_hist_record(w->window_latency, openload_ns_to_us(now - c->scheduled_ns), 1);
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
    else if (c->bev)
        bufferevent_set_timeouts(c->bev, NULL, NULL);
    if (w->queue_count > 0 && !w->abandoning) {
        struct pending next = w->queue[w->queue_head];
        w->queue_head = (w->queue_head + 1) % w->max_in_flight;
        w->queue_count--;
        latency_hist_record(w->wait, openload_ns_to_us(now - next.scheduled_ns), 1);
        openload_conn_send(c, next.scheduled_ns, next.shape);
    } else {
        openload_pool_push(w, c);
    }
    openload_worker_maybe_finish(w);
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

/* Feeds what has arrived to the parser and ends the request when its response is
 * complete or broken. */
static void read_input(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    if (!c->busy) {
        /* bytes nobody asked for: the connection cannot be trusted any more */
        if (evbuffer_get_length(in) > 0)
            openload_conn_close(c);
        return;
    }
    while (!c->done && c->failure == OUTCOME_OK) {
        struct evbuffer_iovec v;
        size_t parsed;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
            break;
        parsed = http_parser_execute(&c->parser, &parser_settings, v.iov_base, v.iov_len);
        evbuffer_drain(in, parsed);
        if (c->done || c->failure != OUTCOME_OK)
            break;
        if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || parsed != v.iov_len)
            c->failure = OUTCOME_PROTOCOL;
    }
    if (c->failure != OUTCOME_OK)
        openload_conn_finish(c, c->failure, true);
    else if (c->done)
        openload_conn_finish(c, OUTCOME_OK, !c->keep_alive || evbuffer_get_length(in) > 0);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    read_input(arg);
}

static void event_cb(struct bufferevent *bev, short events, void *arg)
{
    struct conn *c = arg;
    enum outcome outcome;

    if (events & BEV_EVENT_CONNECTED) {
        c->connected = true;
        return;
    }
    if (!c->busy) {
        openload_conn_close(c); /* an idle connection the server closed: reopened when next used */
        return;
    }
    if (events & BEV_EVENT_TIMEOUT) {
        openload_conn_finish(c, OUTCOME_TIMEOUT, true);
        return;
    }
    if (!c->connected) {
        openload_conn_finish(c, OUTCOME_CONNECT, true);
        return;
    }
    read_input(c);
    /* the response may have completed there, and the connection been closed and
     * reopened for a waiting request: this event was the old socket's */
    if (!c->busy || c->bev != bev)
        return;
    outcome = OUTCOME_IO;
    if (events & BEV_EVENT_EOF) {
        /* a body delimited by the end of the connection ends here */
        http_parser_execute(&c->parser, &parser_settings, NULL, 0);
        if (c->done && c->failure == OUTCOME_OK)
            outcome = OUTCOME_OK;
    }
    openload_conn_finish(c, outcome, true);
}

int openload_conn_open(struct conn *c)
{
    struct worker *w = c->w;
    int one = 1;
    c->bev = bufferevent_socket_new(w->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev)
        return -1;
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->connected = false;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&w->ol->cfg.target,
                                   sizeof(w->ol->cfg.target)) < 0) {
        openload_conn_close(c);
        return -1;
    }
    if (c->bev)
        setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return 0;
}

/* Writes the request straight to the socket when the connection is open and idle,
 * which saves the two epoll_ctl calls and the loop turn a bufferevent write costs per
 * request; what the socket does not take now goes through the bufferevent.
 * Returns 0, or -1 when the connection is broken. */
static int write_request(struct conn *c, const struct shape *s)
{
    size_t sent = 0;
    if (c->connected && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        ssize_t n = send(bufferevent_getfd(c->bev), s->bytes, s->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        sent = n > 0 ? (size_t)n : 0;
    }
    if (sent < s->len && bufferevent_write(c->bev, s->bytes + sent, s->len - sent) < 0)
        return -1;
    return 0;
}

void openload_conn_send(struct conn *c, int64_t scheduled_ns, unsigned shape)
{
    struct worker *w = c->w;
    const struct shape *s = &w->ol->cfg.shapes[shape];
    int64_t timeout_us = w->ol->cfg.timeout_ns / 1000;
    struct timeval tv = {.tv_sec = timeout_us / 1000000, .tv_usec = timeout_us % 1000000};

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
    if (!c->bev && openload_conn_open(c) < 0) {
        /* counted now; the connection goes back without taking a waiting request, so a
         * failing open cannot recurse through the queue */
        c->busy = false;
        w->busy--;
        w->totals.errors++;
        w->totals.error_connect++;
        w->windows[openload_window_of(w, units_now_ns())].errors++;
        openload_pool_push(w, c);
        return;
    }
    if (write_request(c, s) < 0) {
        openload_conn_finish(c, OUTCOME_IO, true);
        return;
    }
    bufferevent_set_timeouts(c->bev, &tv, &tv);
}
