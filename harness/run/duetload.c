/* duetload: closed-loop load kept open to both sides of an interleaved comparison. See
 * duetload.h for the model and why.
 *
 * This file is the load as a whole, on the caller's side: the configuration checked
 * field by field, each side's request built once into the exact bytes sent, every
 * connection opened before the first slice (so a target that cannot be reached is an
 * error of duetload_start, not a slice full of connect errors), the threads started and
 * stopped, and a slice published to the workers, waited for and merged into a wrk-like
 * summary per side. What a worker does during a slice is in duetload_conn.c. */
#include "run/duetload_internal.h"

#include "base/httptoken.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define MAX_TARGET 64
#define MAX_METHOD 32
#define MAX_PATH 8192
#define MAX_CONTENT_TYPE 256

/* True when s is shorter than max and holds no space (when no_space), tab aside no
 * control character, and no DEL. */
static bool is_clean_text(const char *s, size_t max, bool no_space)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || (unsigned char)s[n] == 0x7f || ((unsigned char)s[n] < 0x20 && s[n] != '\t') ||
            (no_space && (s[n] == ' ' || s[n] == '\t')))
            return false;
    return true;
}

/* "IPV4:PORT" or "localhost:PORT" into addr. Returns 0, or -1. */
static int parse_target(const char *text, struct sockaddr_in *addr)
{
    char host[MAX_TARGET], *end = NULL;
    const char *colon = text ? strrchr(text, ':') : NULL;
    size_t hostlen = colon ? (size_t)(colon - text) : 0;
    unsigned long port;

    if (!colon || hostlen == 0 || hostlen >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
        return -1;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || *end || port == 0 || port > 65535)
        return -1;
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
        return -1;
    return 0;
}

static int check_config(const struct duetload_config *cfg, struct sockaddr_in addr[DUETLOAD_SIDES], char *err,
                        size_t errlen)
{
    for (unsigned s = 0; s < DUETLOAD_SIDES; s++)
        if (!cfg->target[s] || strlen(cfg->target[s]) >= MAX_TARGET || parse_target(cfg->target[s], &addr[s]) < 0) {
            snprintf(err, errlen, "target[%u]: \"%.100s\" is not IPV4:PORT or localhost:PORT", s,
                     cfg->target[s] ? cfg->target[s] : "(none)");
            return -1;
        }
    if (cfg->method && !httptoken_valid(cfg->method, MAX_METHOD)) {
        snprintf(err, errlen, "method: \"%.100s\" is not an HTTP method", cfg->method);
        return -1;
    }
    if (!cfg->path || cfg->path[0] != '/' || !is_clean_text(cfg->path, MAX_PATH, true)) {
        snprintf(err, errlen, "path: \"%.100s\" must start with / and hold no space or control character (at most %d bytes)",
                 cfg->path ? cfg->path : "(none)", MAX_PATH - 1);
        return -1;
    }
    if (cfg->body_len > DUETLOAD_MAX_BODY) {
        snprintf(err, errlen, "body_len: %zu is over the limit of %d bytes", cfg->body_len, DUETLOAD_MAX_BODY);
        return -1;
    }
    if (cfg->body_len > 0 && !cfg->body) {
        snprintf(err, errlen, "body: NULL with body_len %zu", cfg->body_len);
        return -1;
    }
    if (cfg->content_type && (!cfg->content_type[0] || !is_clean_text(cfg->content_type, MAX_CONTENT_TYPE, false))) {
        snprintf(err, errlen, "content_type: \"%.100s\" must be one line of at most %d bytes", cfg->content_type,
                 MAX_CONTENT_TYPE - 1);
        return -1;
    }
    if (cfg->connections < 1 || cfg->connections > DUETLOAD_MAX_CONNECTIONS) {
        snprintf(err, errlen, "connections: %u is not in 1..%d", cfg->connections, DUETLOAD_MAX_CONNECTIONS);
        return -1;
    }
    if (cfg->threads < 1 || cfg->threads > DUETLOAD_MAX_THREADS) {
        snprintf(err, errlen, "threads: %u is not in 1..%d", cfg->threads, DUETLOAD_MAX_THREADS);
        return -1;
    }
    if (cfg->threads > cfg->connections) {
        snprintf(err, errlen, "threads: %u is more than connections = %u (each thread needs one of each side)",
                 cfg->threads, cfg->connections);
        return -1;
    }
    if (cfg->timeout_ns <= 0 || cfg->timeout_ns > DUETLOAD_MAX_TIMEOUT_NS) {
        snprintf(err, errlen, "timeout_ns: %lld is not in 1..%lld", (long long)cfg->timeout_ns,
                 (long long)DUETLOAD_MAX_TIMEOUT_NS);
        return -1;
    }
    if (cfg->cpus && CPU_COUNT(cfg->cpus) == 0) {
        snprintf(err, errlen, "cpus: the set is empty (give NULL for no pinning)");
        return -1;
    }
    return 0;
}

/* Appends n bytes at *len of buf (capacity cap). */
static void append(char *buf, size_t cap, size_t *len, const char *text, size_t n)
{
    if (n <= cap - *len) {
        memcpy(buf + *len, text, n);
        *len += n;
    }
}

/* The request bytes for side s: request line, Host, the body's headers, the body.
 * Returns 0, or -1 when out of memory. */
static int build_request(struct duetload *dl, const struct duetload_config *cfg, unsigned s)
{
    const char *method = cfg->method ? cfg->method : "GET";
    bool wants_length = cfg->body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                        strcmp(method, "PATCH") == 0;
    char number[32];
    /* every part is bounded by check_config; 128 covers the fixed words */
    size_t cap = MAX_METHOD + MAX_PATH + MAX_TARGET + MAX_CONTENT_TYPE + 128 + cfg->body_len, len = 0;
    char *buf = malloc(cap);

    if (!buf)
        return -1;
    append(buf, cap, &len, method, strlen(method));
    append(buf, cap, &len, " ", 1);
    append(buf, cap, &len, cfg->path, strlen(cfg->path));
    append(buf, cap, &len, " HTTP/1.1\r\nHost: ", 17);
    append(buf, cap, &len, cfg->target[s], strlen(cfg->target[s]));
    append(buf, cap, &len, "\r\n", 2);
    if (cfg->body_len > 0 && cfg->content_type) {
        append(buf, cap, &len, "Content-Type: ", 14);
        append(buf, cap, &len, cfg->content_type, strlen(cfg->content_type));
        append(buf, cap, &len, "\r\n", 2);
    }
    if (wants_length) {
        int n = snprintf(number, sizeof(number), "Content-Length: %zu\r\n", cfg->body_len);
        append(buf, cap, &len, number, (size_t)n);
    }
    append(buf, cap, &len, "\r\n", 2);
    if (cfg->body_len > 0)
        append(buf, cap, &len, cfg->body, cfg->body_len);
    dl->request[s] = buf;
    dl->request_len[s] = len;
    return 0;
}

/* Opens c and waits up to timeout for its connect. Returns 0, or -1 with err filled. */
static int open_and_wait(struct duet_conn *c, const char *target, int64_t timeout_ns, char *err, size_t errlen)
{
    int error = 0;
    socklen_t len = sizeof(error);
    struct pollfd pfd;
    int rc, wait_ms = (int)((timeout_ns + 999999) / 1000000);

    if (duetload_conn_open(c) < 0) {
        snprintf(err, errlen, "target[%u]: could not connect to %s: %s", c->side, target, strerror(errno));
        return -1;
    }
    if (!c->connecting)
        return 0;
    pfd = (struct pollfd){.fd = c->fd, .events = POLLOUT};
    do
        rc = poll(&pfd, 1, wait_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        error = ETIMEDOUT;
    else if (rc < 0 || getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
        error = errno;
    if (error != 0) {
        duetload_conn_close(c);
        snprintf(err, errlen, "target[%u]: could not connect to %s: %s", c->side, target, strerror(error));
        return -1;
    }
    c->connecting = false;
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd,
                  &(struct epoll_event){.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c}) < 0) {
        snprintf(err, errlen, "target[%u]: epoll: %s", c->side, strerror(errno));
        return -1;
    }
    c->write_wanted = false;
    return 0;
}

/* Sets up worker i with its connections (opened) and buffers. Returns 0, or -1 with
 * err filled; what was set up is freed by release_worker. */
static int init_worker(struct duetload *dl, const struct duetload_config *cfg, unsigned i, char *err, size_t errlen)
{
    struct duet_worker *w = &dl->workers[i];
    unsigned per_side = (dl->connections - i + dl->threads - 1) / dl->threads;

    w->dl = dl;
    w->id = i;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
        snprintf(err, errlen, "threads: epoll: %s", strerror(errno));
        return -1;
    }
    dl->nworkers = i + 1;
    w->read_buf = malloc(DUETLOAD_READ_BUF);
    w->conns = calloc(2 * (size_t)per_side, sizeof(*w->conns));
    w->latency[0] = latency_hist_new();
    w->latency[1] = latency_hist_new();
    if (!w->read_buf || !w->conns || !w->latency[0] || !w->latency[1]) {
        snprintf(err, errlen, "connections: out of memory");
        return -1;
    }
    for (unsigned s = 0; s < DUETLOAD_SIDES; s++)
        for (unsigned k = 0; k < per_side; k++) {
            struct duet_conn *c = &w->conns[w->nconns];
            *c = (struct duet_conn){.w = w, .side = s, .fd = -1};
            w->nconns++;
            if (open_and_wait(c, cfg->target[s], dl->timeout_ns, err, errlen) < 0)
                return -1;
        }
    return 0;
}

static void release_worker(struct duet_worker *w)
{
    for (unsigned k = 0; k < w->nconns; k++)
        duetload_conn_close(&w->conns[k]);
    if (w->epfd >= 0)
        close(w->epfd);
    free(w->conns);
    free(w->read_buf);
    latency_hist_free(w->latency[0]);
    latency_hist_free(w->latency[1]);
}

void duetload_free(struct duetload *dl)
{
    if (!dl)
        return;
    if (dl->sync_ready) {
        pthread_mutex_lock(&dl->lock);
        atomic_store(&dl->quit, true);
        pthread_cond_broadcast(&dl->go);
        pthread_mutex_unlock(&dl->lock);
    }
    for (unsigned i = 0; i < dl->nworkers; i++)
        if (dl->workers[i].started)
            pthread_join(dl->workers[i].thread, NULL);
    for (unsigned i = 0; i < dl->nworkers; i++)
        release_worker(&dl->workers[i]);
    if (dl->sync_ready) {
        pthread_cond_destroy(&dl->finished);
        pthread_cond_destroy(&dl->go);
        pthread_mutex_destroy(&dl->lock);
    }
    free(dl->workers);
    free(dl->request[0]);
    free(dl->request[1]);
    latency_hist_free(dl->merged);
    free(dl);
}

static int init_sync(struct duetload *dl)
{
    pthread_condattr_t attr;
    int rc = -1;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 && pthread_mutex_init(&dl->lock, NULL) == 0) {
        if (pthread_cond_init(&dl->go, NULL) == 0) {
            if (pthread_cond_init(&dl->finished, &attr) == 0)
                rc = 0;
            else
                pthread_cond_destroy(&dl->go);
        }
        if (rc < 0)
            pthread_mutex_destroy(&dl->lock);
    }
    pthread_condattr_destroy(&attr);
    dl->sync_ready = rc == 0;
    return rc;
}

struct duetload *duetload_start(const struct duetload_config *cfg, char *err, size_t errlen)
{
    struct sockaddr_in addr[DUETLOAD_SIDES];
    struct duetload *dl = NULL;

    if (check_config(cfg, addr, err, errlen) < 0)
        return NULL;
    dl = calloc(1, sizeof(*dl));
    if (!dl || !(dl->workers = calloc(cfg->threads, sizeof(*dl->workers))) || !(dl->merged = latency_hist_new()) ||
        build_request(dl, cfg, 0) < 0 || build_request(dl, cfg, 1) < 0 || init_sync(dl) < 0) {
        snprintf(err, errlen, "connections: out of memory");
        goto fail;
    }
    memcpy(dl->addr, addr, sizeof(addr));
    dl->head = cfg->method && strcmp(cfg->method, "HEAD") == 0;
    dl->connections = cfg->connections;
    dl->threads = cfg->threads;
    dl->timeout_ns = cfg->timeout_ns;
    if (cfg->cpus) {
        dl->pinned = true;
        dl->cpus = *cfg->cpus;
    }
    for (unsigned i = 0; i < cfg->threads; i++)
        if (init_worker(dl, cfg, i, err, errlen) < 0)
            goto fail;
    for (unsigned i = 0; i < cfg->threads; i++) {
        if (pthread_create(&dl->workers[i].thread, NULL, duetload_worker_main, &dl->workers[i]) != 0) {
            snprintf(err, errlen, "threads: could not start thread %u", i);
            goto fail;
        }
        dl->workers[i].started = true;
    }
    return dl;
fail:
    duetload_free(dl);
    return NULL;
}

/* res from the workers' counts and histograms of side s over a slice of load_ns. */
static void summarize(struct duetload *dl, unsigned s, int64_t load_ns, struct wrkres *res)
{
    struct duet_counts sum = {0};
    struct latency_hist *h = dl->merged;
    double mean, var;

    latency_hist_reset(h);
    for (unsigned i = 0; i < dl->nworkers; i++) {
        const struct duet_counts *n = &dl->workers[i].counts[s];
        sum.requests += n->requests;
        sum.bytes += n->bytes;
        sum.errors_connect += n->errors_connect;
        sum.errors_read += n->errors_read;
        sum.errors_write += n->errors_write;
        sum.errors_status += n->errors_status;
        sum.errors_timeout += n->errors_timeout;
        sum.latency_sum_us += n->latency_sum_us;
        sum.latency_sumsq_us += n->latency_sumsq_us;
        latency_hist_merge(h, dl->workers[i].latency[s]);
    }
    *res = (struct wrkres){
        .duration_s = (double)load_ns / NS_PER_S,
        .requests = sum.requests,
        .bytes = sum.bytes,
        .errors_connect = sum.errors_connect,
        .errors_read = sum.errors_read,
        .errors_write = sum.errors_write,
        .errors_status = sum.errors_status,
        .errors_timeout = sum.errors_timeout,
    };
    if (sum.requests == 0) {
        res->latency_min = res->latency_mean = res->latency_stdev = res->latency_max = NAN;
        res->latency_p50 = res->latency_p75 = res->latency_p90 = res->latency_p99 = res->latency_p999 = NAN;
        return;
    }
    mean = sum.latency_sum_us / (double)sum.requests;
    var = sum.latency_sumsq_us / (double)sum.requests - mean * mean;
    res->latency_mean = mean / 1e6;
    res->latency_stdev = var > 0 ? sqrt(var) / 1e6 : 0;
    res->latency_min = (double)latency_hist_min(h) / 1e6;
    res->latency_max = (double)latency_hist_max(h) / 1e6;
    res->latency_p50 = (double)latency_hist_percentile(h, 50) / 1e6;
    res->latency_p75 = (double)latency_hist_percentile(h, 75) / 1e6;
    res->latency_p90 = (double)latency_hist_percentile(h, 90) / 1e6;
    res->latency_p99 = (double)latency_hist_percentile(h, 99) / 1e6;
    res->latency_p999 = (double)latency_hist_percentile(h, 99.9) / 1e6;
}

int duetload_slice(struct duetload *dl, unsigned side_mask, int64_t load_ns, struct wrkres res[DUETLOAD_SIDES],
                   char *err, size_t errlen)
{
    int64_t deadline;
    struct timespec ts;
    bool drained = true;

    if (dl->broken) {
        snprintf(err, errlen, "slice: an earlier slice did not drain; the load must be freed");
        return -1;
    }
    if (side_mask < 1 || side_mask > 3) {
        snprintf(err, errlen, "side_mask: %u is not 1, 2 or 3", side_mask);
        return -1;
    }
    if (load_ns < DUETLOAD_MIN_SLICE_NS || load_ns > DUETLOAD_MAX_SLICE_NS) {
        snprintf(err, errlen, "load_ns: %lld is not in %lld..%lld", (long long)load_ns,
                 (long long)DUETLOAD_MIN_SLICE_NS, (long long)DUETLOAD_MAX_SLICE_NS);
        return -1;
    }
    pthread_mutex_lock(&dl->lock);
    dl->mask = side_mask;
    dl->start_ns = units_now_ns();
    dl->end_ns = dl->start_ns + load_ns;
    dl->nfinished = 0;
    dl->seq++;
    pthread_cond_broadcast(&dl->go);
    deadline = dl->end_ns + dl->timeout_ns + NS_PER_S;
    ts.tv_sec = (time_t)(deadline / NS_PER_S);
    ts.tv_nsec = (long)(deadline % NS_PER_S);
    while (dl->nfinished < dl->nworkers && drained)
        drained = pthread_cond_timedwait(&dl->finished, &dl->lock, &ts) != ETIMEDOUT || dl->nfinished == dl->nworkers;
    pthread_mutex_unlock(&dl->lock);
    if (!drained) {
        dl->broken = true;
        snprintf(err, errlen, "slice: the threads did not drain within the timeout and 1 s after the slice's end");
        return -1;
    }
    for (unsigned s = 0; s < DUETLOAD_SIDES; s++)
        if (side_mask & (1u << s))
            summarize(dl, s, load_ns, &res[s]);
    return 0;
}
