/* httpserver_conn: one connection's life on its I/O thread. It reads into the
 * thread's buffer and hands bytes to the parser, writes answers with as few write(2)
 * calls as the socket allows, and applies back-pressure: past the output high-water
 * mark the parser pauses, unparsed input is held, and reading stops until the client
 * has read. It also owns the connection's timeouts (idle, request deadline, linger)
 * and the lingering close after an error reply. Apart from parsing because this is
 * the part that depends on the socket and the event loop, not on HTTP's grammar. */
#include "httpserver_internal.h"

#include "connlimit.h"
#include "units.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_READ_MS 1000           /* after an error reply: wait this long for the rest */
#define LINGER_TOTAL_MS 5000          /* ... and no longer than this in all */

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

/* Output drained while paused: parse what was held back. */
static void conn_resume(struct conn *c)
{
    c->paused = false;
    http_parser_pause(&c->parser, 0);
    size_t parsed = httpserver_request_parse(c, c->pending.data, c->pending.len);
    httpserver_buf_consume(&c->pending, parsed);
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
                httpserver_buf_consume(&c->out, (size_t)n);
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
            httpserver_conn_close(c);
            return;
        }
        if (c->close_after_write) {
            if (c->linger && !c->lingering)
                conn_start_linger(c);
            else
                httpserver_conn_close(c);
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
        httpserver_conn_close(c);
        return;
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct io_thread *t = c->thread;

    if (what & EV_TIMEOUT) {
        if (c->lingering) {
            httpserver_conn_close(c);
        } else if (c->in_request) {
            httpserver_request_reject(c, 408);   /* slow head or body: answered, then closed */
            conn_flush(c);
        } else {
            connlimit_note(CONNLIMIT_PUBLIC, CONNLIMIT_IDLE_TIMEOUT);
            httpserver_conn_close(c);
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
        size_t parsed = httpserver_request_parse(c, t->read_buf, (size_t)n);
        if (c->paused && httpserver_buf_append(&c->pending, t->read_buf + parsed, (size_t)n - parsed) < 0) {
            httpserver_conn_close(c);
            return;
        }
        if (c->close_after_write || c->paused || (size_t)n < sizeof t->read_buf)
            break;
    }
    conn_flush(c);
}

void httpserver_conn_close(struct conn *c)
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

int httpserver_conn_open(struct io_thread *t, int fd)
{
    struct conn *c;
    int one = 1;

    if (!(c = calloc(1, sizeof *c)))
        return -1;
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
        return -1;
    }
    c->next = t->conns;
    if (t->conns)
        t->conns->prev = c;
    t->conns = c;
    t->nconns++;
    connlimit_opened(CONNLIMIT_PUBLIC);
    conn_arm_read(c);
    return 0;
}
