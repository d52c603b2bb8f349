/* httpserver: lean HTTP/1.1 server on libevent and http_parser. See httpserver.h.
 *
 * This file holds the server as a whole: parsing the listen address, one listening
 * socket and event loop per I/O thread, accepting (and refusing past the connection
 * limit), starting the threads, and stopping and freeing. A connection's I/O is in
 * httpserver_conn.c, request parsing in httpserver_request.c, the response in
 * httpserver_response.c; httpserver_internal.h says why. */
#include "httpserver_internal.h"

#include "connlimit.h"
#include "threads.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

    (void)l; (void)addr; (void)socklen;
    connlimit_listener_accepted(t->guard);
    if (atomic_fetch_add_explicit(&t->server->open, 1, memory_order_relaxed) >= t->server->cfg.max_connections) {
        atomic_fetch_sub_explicit(&t->server->open, 1, memory_order_relaxed);
        refuse(fd);
        return;
    }
    if (httpserver_conn_open(t, fd) < 0) {
        atomic_fetch_sub_explicit(&t->server->open, 1, memory_order_relaxed);
        close(fd);
    }
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
    httpserver_request_init();
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
            httpserver_conn_close(c);
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
