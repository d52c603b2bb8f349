/* canned_http: see canned_http.h. */
#include "canned_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64
#define MAX_REQUEST 16384

struct connection {
    struct canned_http *server;
    int fd;
    pthread_t thread;
    bool used;
};

struct canned_http {
    const struct canned_http_route *routes;
    int listen_fd, port;
    pthread_t acceptor;
    pthread_mutex_t lock;
    struct connection connections[MAX_CONNECTIONS];
    char last[MAX_REQUEST];
};

static const struct canned_http_route *find(struct canned_http *s, const char *request)
{
    const char *path = strchr(request, ' ');
    size_t len;
    if (!path)
        return NULL;
    path++;
    len = strcspn(path, " ?");
    for (const struct canned_http_route *r = s->routes; r->path; r++)
        if (strlen(r->path) == len && strncmp(r->path, path, len) == 0)
            return r;
    return NULL;
}

static bool write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);  /* a client may hang up mid-answer */
        if (n <= 0)
            return false;
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static bool answer(int fd, const struct canned_http_route *r)
{
    static const struct canned_http_route not_found = {"", 404, "not found\n", 1};
    char head[256];
    size_t repeat, len;

    if (!r)
        r = &not_found;
    repeat = r->repeat ? r->repeat : 1;
    len = strlen(r->body);
    snprintf(head, sizeof head, "HTTP/1.1 %d Canned\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n\r\n",
             r->status, len * repeat);
    if (!write_all(fd, head, strlen(head)))
        return false;
    for (size_t i = 0; i < repeat; i++)
        if (!write_all(fd, r->body, len))
            return false;
    return true;
}

static void *serve_connection(void *arg)
{
    struct connection *c = arg;
    char *buf = malloc(MAX_REQUEST);
    size_t got = 0;

    while (buf) {
        char *end = got ? memmem(buf, got, "\r\n\r\n", 4) : NULL;
        if (end) {
            const char *cl = strcasestr(buf, "Content-Length:");
            size_t head = (size_t)(end + 4 - buf), want = head + (cl && cl < end ? (size_t)atoi(cl + 15) : 0);
            if (got >= want) {
                const struct canned_http_route *r;
                pthread_mutex_lock(&c->server->lock);
                memcpy(c->server->last, buf, want < MAX_REQUEST ? want : MAX_REQUEST - 1);
                c->server->last[want < MAX_REQUEST ? want : MAX_REQUEST - 1] = '\0';
                r = find(c->server, c->server->last);
                pthread_mutex_unlock(&c->server->lock);
                if (!answer(c->fd, r))
                    break;
                memmove(buf, buf + want, got - want);
                got -= want;
                continue;
            }
        }
        if (got >= MAX_REQUEST - 1)
            break;
        ssize_t n = read(c->fd, buf + got, MAX_REQUEST - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
    }
    free(buf);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct canned_http *s = arg;
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        struct connection *c = NULL;
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < MAX_CONNECTIONS && !c; i++)
            if (!s->connections[i].used)
                c = &s->connections[i];
        if (c) {
            c->used = true;
            c->fd = fd;
            c->server = s;
            if (pthread_create(&c->thread, NULL, serve_connection, c) != 0) {
                c->used = false;
                close(fd);
            }
        } else {
            close(fd);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

struct canned_http *canned_http_start(const struct canned_http_route *routes)
{
    struct canned_http *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;

    if (!s)
        return NULL;
    s->routes = routes;
    pthread_mutex_init(&s->lock, NULL);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(s->listen_fd, 64) < 0 || getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) < 0 ||
        pthread_create(&s->acceptor, NULL, accept_loop, s) != 0) {
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    s->port = ntohs(addr.sin_port);
    return s;
}

int canned_http_port(const struct canned_http *s)
{
    return s->port;
}

void canned_http_last_request(struct canned_http *s, char *out, size_t outlen)
{
    pthread_mutex_lock(&s->lock);
    snprintf(out, outlen, "%s", s->last);
    pthread_mutex_unlock(&s->lock);
}

void canned_http_stop(struct canned_http *s)
{
    if (!s)
        return;
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->acceptor, NULL);
    close(s->listen_fd);
    for (int i = 0; i < MAX_CONNECTIONS; i++) {
        struct connection *c = &s->connections[i];
        if (!c->used)
            continue;
        shutdown(c->fd, SHUT_RDWR);
        pthread_join(c->thread, NULL);
        close(c->fd);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}
