/* One duetload worker thread: between slices it sleeps on the load's condition
 * variable; during a slice it runs an epoll loop over its connections of both sides,
 * keeping one request out on every connection of a loaded side (closed loop) until the
 * slice's end, then drains what is still out.
 *
 * Cheap per request, so that the generator and not this loop is what a test of a
 * cheap GET is bounded by: one send() per request, one recv() per response into the
 * worker's buffer parsed there in one pass by http_parser, level-triggered epoll with
 * EPOLLOUT asked for only while a connect or a partial write waits, no timer per
 * request (timeouts are looked for every DUETLOAD_CHECK_NS against each connection's
 * last byte).
 *
 * A connection is kept across slices and is not watched between them; if the server
 * closed it meanwhile, the slice's first look at the epoll set (before anything is
 * sent) closes it, and a request that still meets a stale socket (no byte back, then
 * EOF or a reset) is sent once more on a fresh one, as browsers do, rather than
 * counted as an error. */
#include "run/duetload_internal.h"

#include "units.h"

#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define EVENTS_PER_WAIT 64

static void conn_send(struct duet_conn *c, int64_t now);

static int watch(struct duet_conn *c, int op, bool want_write)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u), .data.ptr = c};
    c->write_wanted = want_write;
    return epoll_ctl(c->w->epfd, op, c->fd, &ev);
}

int duetload_conn_open(struct duet_conn *c)
{
    const struct sockaddr_in *addr = &c->w->dl->addr[c->side];
    int one = 1, rc, saved;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    do
        rc = connect(c->fd, (const struct sockaddr *)addr, sizeof(*addr));
    while (rc < 0 && errno == EINTR);
    c->connecting = rc < 0;
    if ((rc < 0 && errno != EINPROGRESS) || watch(c, EPOLL_CTL_ADD, c->connecting) < 0)
        goto fail;
    c->served = false;
    return 0;
fail:
    saved = errno;
    close(c->fd);
    c->fd = -1;
    c->connecting = false;
    errno = saved;
    return -1;
}

void duetload_conn_close(struct duet_conn *c)
{
    if (c->fd < 0)
        return;
    epoll_ctl(c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->connecting = c->write_wanted = false;
}

static bool loading(const struct duet_conn *c, int64_t now)
{
    return (c->w->mask & (1u << c->side)) && now < c->w->end_ns && !atomic_load(&c->w->dl->quit);
}

/* Ends c's request with a failure: counted for its side, c closed, and (while the
 * slice lasts) the next request sent at the next check, not at once, so that a
 * refusing or broken server is not hammered. */
static void conn_fail(struct duet_conn *c, enum duet_failure why, int64_t now)
{
    struct duet_counts *n = &c->w->counts[c->side];
    switch (why) {
    case DUET_FAIL_CONNECT: n->errors_connect++; break;
    case DUET_FAIL_WRITE: n->errors_write++; break;
    case DUET_FAIL_TIMEOUT: n->errors_timeout++; break;
    default: n->errors_read++; break;
    }
    c->busy = false;
    c->w->busy--;
    duetload_conn_close(c);
    c->retry_ns = now + DUETLOAD_CHECK_NS;
}

/* The socket turned out stale before any byte of the response came back: the request
 * goes once more on a fresh socket; a second time it is the failure given. */
static void conn_stale(struct duet_conn *c, enum duet_failure why, int64_t now)
{
    if (c->got_byte || !c->served || c->retried) {
        conn_fail(c, why, now);
        return;
    }
    duetload_conn_close(c);
    c->busy = false;
    c->w->busy--;
    c->retried = true;
    conn_send(c, now);
}

/* A complete response: counted when it ended within the slice. */
static void conn_complete(struct duet_conn *c, bool close_after, int64_t now)
{
    struct duet_worker *w = c->w;
    c->busy = false;
    w->busy--;
    c->served = true;
    c->retried = false;
    if (now <= w->end_ns) {
        struct duet_counts *n = &w->counts[c->side];
        int64_t us = duetload_ns_to_us(now - c->sent_ns);
        n->requests++;
        n->bytes += c->response_bytes;
        if (c->parser.status_code < 200 || c->parser.status_code > 399)
            n->errors_status++;
        n->latency_sum_us += (double)us;
        n->latency_sumsq_us += (double)us * (double)us;
        latency_hist_record(w->latency[c->side], us, 1);
    }
    if (close_after)
        duetload_conn_close(c);
    if (loading(c, now))
        conn_send(c, now);
}

static int on_headers_complete(http_parser *p)
{
    struct duet_conn *c = p->data;
    return c->w->dl->head ? 1 : 0; /* a response to HEAD has no body whatever it says */
}

static int on_message_complete(http_parser *p)
{
    struct duet_conn *c = p->data;
    c->done = true;
    c->keep_alive = http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

/* Feeds n bytes to c's parser. Returns true when the request ended (c may since carry
 * the next one). */
static bool parse_input(struct duet_conn *c, const char *buf, size_t n, int64_t now)
{
    size_t parsed = http_parser_execute(&c->parser, &parser_settings, buf, n);
    c->response_bytes += parsed;
    if (c->done) {
        /* bytes past the response were not asked for: the socket cannot be trusted */
        conn_complete(c, !c->keep_alive || parsed < n, now);
        return true;
    }
    if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || parsed != n || c->response_bytes > DUETLOAD_MAX_RESPONSE) {
        conn_fail(c, DUET_FAIL_READ, now);
        return true;
    }
    return false;
}

/* The peer closed: a body delimited by the end of the connection ends here. */
static void end_of_input(struct duet_conn *c, int64_t now)
{
    if (!c->got_byte) {
        conn_stale(c, DUET_FAIL_READ, now);
        return;
    }
    http_parser_execute(&c->parser, &parser_settings, NULL, 0);
    if (c->done)
        conn_complete(c, true, now);
    else
        conn_fail(c, DUET_FAIL_READ, now);
}

static void conn_read(struct duet_conn *c)
{
    char *buf = c->w->read_buf;
    for (;;) {
        ssize_t n = recv(c->fd, buf, DUETLOAD_READ_BUF, MSG_DONTWAIT);
        int64_t now;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (!c->busy) {
            duetload_conn_close(c); /* closed by the server, or bytes nobody asked for */
            return;
        }
        now = units_now_ns();
        if (n > 0) {
            c->got_byte = true;
            c->last_io_ns = now;
            if (parse_input(c, buf, (size_t)n, now) || (size_t)n < DUETLOAD_READ_BUF)
                return;
        } else if (n == 0) {
            end_of_input(c, now);
            return;
        } else {
            conn_stale(c, DUET_FAIL_READ, now);
            return;
        }
    }
}

/* Writes what is left of the request; asks for EPOLLOUT while the socket is full. */
static void conn_write(struct duet_conn *c, int64_t now)
{
    const char *bytes = c->w->dl->request[c->side];
    size_t len = c->w->dl->request_len[c->side];
    while (c->out_off < len) {
        ssize_t n = send(c->fd, bytes + c->out_off, len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->write_wanted && watch(c, EPOLL_CTL_MOD, true) < 0)
                conn_fail(c, DUET_FAIL_WRITE, now);
            return;
        } else {
            conn_stale(c, DUET_FAIL_WRITE, now);
            return;
        }
    }
    if (c->write_wanted && watch(c, EPOLL_CTL_MOD, false) < 0)
        conn_fail(c, DUET_FAIL_WRITE, now);
}

/* Sends the next request on c, opening it first when closed. */
static void conn_send(struct duet_conn *c, int64_t now)
{
    c->busy = true;
    c->w->busy++;
    c->got_byte = c->done = false;
    c->failure = DUET_FAIL_NONE;
    c->out_off = 0;
    c->response_bytes = 0;
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    c->sent_ns = c->last_io_ns = now;
    if (c->fd < 0 && duetload_conn_open(c) < 0) {
        conn_fail(c, DUET_FAIL_CONNECT, now);
        return;
    }
    if (!c->connecting)
        conn_write(c, now);
}

static void conn_connected(struct duet_conn *c, int64_t now)
{
    int error = 0;
    socklen_t len = sizeof(error);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0) {
        if (c->busy)
            conn_fail(c, DUET_FAIL_CONNECT, now);
        else
            duetload_conn_close(c);
        return;
    }
    c->connecting = false;
    if (!c->busy) {
        watch(c, EPOLL_CTL_MOD, false);
        return;
    }
    c->sent_ns = c->last_io_ns = now; /* latency runs from the write, not the connect */
    conn_write(c, now);
}

static void handle(struct duet_conn *c, uint32_t events)
{
    if (c->fd < 0)
        return;
    if (c->connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_connected(c, units_now_ns());
        return;
    }
    if ((events & EPOLLOUT) && c->busy && c->write_wanted) {
        conn_write(c, units_now_ns());
        if (c->fd < 0 || !c->busy)
            return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        conn_read(c);
}

/* Handles what is ready, waiting up to wait_ms. Returns how many events came. */
static int poll_once(struct duet_worker *w, int wait_ms)
{
    struct epoll_event events[EVENTS_PER_WAIT];
    int n = epoll_wait(w->epfd, events, EVENTS_PER_WAIT, wait_ms);
    for (int i = 0; i < n; i++)
        handle(events[i].data.ptr, events[i].events);
    return n < 0 ? 0 : n;
}

/* Ends as timeouts the requests with no byte for the timeout (or all that are out when
 * the drain has lasted the timeout), and sends on the connections of a loaded side that
 * are idle since a failure. */
static void check(struct duet_worker *w, int64_t now)
{
    const struct duetload *dl = w->dl;
    bool drain_over = now >= w->end_ns + dl->timeout_ns;
    for (unsigned i = 0; i < w->nconns; i++) {
        struct duet_conn *c = &w->conns[i];
        if (c->busy && (drain_over || now - c->last_io_ns >= dl->timeout_ns))
            conn_fail(c, c->connecting ? DUET_FAIL_CONNECT : DUET_FAIL_TIMEOUT, now);
        else if (!c->busy && loading(c, now) && now >= c->retry_ns)
            conn_send(c, now);
    }
}

static void run_slice(struct duet_worker *w)
{
    int64_t now, next_check;

    for (unsigned s = 0; s < DUETLOAD_SIDES; s++) {
        memset(&w->counts[s], 0, sizeof(w->counts[s]));
        latency_hist_reset(w->latency[s]);
    }
    /* sockets the server closed while nothing was sent: closed before anything is */
    while (poll_once(w, 0) == EVENTS_PER_WAIT)
        ;
    now = units_now_ns();
    for (unsigned i = 0; i < w->nconns; i++) {
        w->conns[i].retry_ns = 0;
        if (!w->conns[i].busy && loading(&w->conns[i], now))
            conn_send(&w->conns[i], now);
    }
    next_check = now + DUETLOAD_CHECK_NS;
    for (;;) {
        int64_t until;
        now = units_now_ns();
        if ((now >= w->end_ns && w->busy == 0) || atomic_load(&w->dl->quit))
            break;
        if (now >= next_check) {
            check(w, now);
            next_check = now + DUETLOAD_CHECK_NS;
            continue;
        }
        until = next_check;
        if (now < w->end_ns && w->end_ns < until)
            until = w->end_ns;
        poll_once(w, (int)((until - now + 999999) / 1000000));
    }
    /* only on quit: what is still out is abandoned with its socket */
    for (unsigned i = 0; i < w->nconns && w->busy > 0; i++)
        if (w->conns[i].busy)
            conn_fail(&w->conns[i], DUET_FAIL_TIMEOUT, now);
}

static void pin(struct duet_worker *w)
{
    const struct duetload *dl = w->dl;
    int count = CPU_COUNT(&dl->cpus), nth;
    if (!dl->pinned || count == 0)
        return;
    nth = (int)(w->id % (unsigned)count);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &dl->cpus) && nth-- == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
            return;
        }
}

void *duetload_worker_main(void *arg)
{
    struct duet_worker *w = arg;
    struct duetload *dl = w->dl;

    pin(w);
    for (;;) {
        pthread_mutex_lock(&dl->lock);
        while (dl->seq == w->seen_seq && !atomic_load(&dl->quit))
            pthread_cond_wait(&dl->go, &dl->lock);
        w->seen_seq = dl->seq;
        w->mask = dl->mask;
        int64_t length = dl->end_ns - dl->start_ns, late_limit = dl->end_ns + 500000000LL;
        pthread_mutex_unlock(&dl->lock);
        /* the window is the slice's length from when this worker starts sending, so a
         * worker woken a few ms late still counts over exactly the slice's length */
        w->start_ns = units_now_ns();
        w->end_ns = w->start_ns + length;
        /* a worker woken very late still ends in time for the slice's drain deadline
         * (duetload_slice waits until the slice's end + timeout + 1 s) */
        if (w->end_ns > late_limit)
            w->end_ns = late_limit;
        if (atomic_load(&dl->quit))
            break;
        run_slice(w);
        pthread_mutex_lock(&dl->lock);
        dl->nfinished++;
        pthread_cond_signal(&dl->finished);
        pthread_mutex_unlock(&dl->lock);
    }
    return NULL;
}
