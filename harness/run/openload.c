/* openload: the open-model generator. See openload.h for what it measures and why.
 *
 * Keeping the schedule: libevent's own timers have millisecond resolution, and with
 * EVENT_BASE_FLAG_PRECISE_TIMER it reprograms a timerfd on every loop turn, which on a
 * virtual machine costs more than a request. So each worker sleeps on a timerfd of its
 * own, armed only when the next request is more than `spin` away, for `spin` before it
 * (a wake-up is often tens of microseconds late); the last stretch is spent polling
 * the sockets without blocking (a timer already due makes the loop call epoll_wait
 * with timeout 0), so responses are read while it waits and the send lands on time. With
 * spin = 0 (the default) it sleeps to the exact time instead and spends no CPU
 * waiting: on a machine shared with other work a spinning thread uses up its share
 * and is then descheduled for longer, which is worse than the late wake-up.
 *
 * Each worker thread owns an event_base, its connections, a FIFO of free connections (round-robin use,
 * so no connection sits idle long enough to be closed under it), a ring of requests
 * waiting for a connection, and its own histograms and per-second counters; nothing is
 * shared between workers while the run lasts except the stop time, so there are no
 * locks. One request is in flight per connection (no pipelining); a response is
 * complete when http_parser says so, which pauses the parser so that the bytes of a
 * second, unsolicited response are noticed. A 20 ms tick watches the stop time and the
 * drain deadline. */
#include "run/openload.h"

#include "base/childproc.h"
#include "units.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define NS_PER_S 1000000000LL
#define TICK_US 20000
#define START_DELAY_NS (50 * 1000000LL)
/* Requests dispatched per timer callback before I/O gets a turn. */
#define DISPATCH_BATCH 256

struct shape {
    char *bytes;
    size_t len;
    bool head;
    unsigned weight;
};

struct openload_config {
    double rate;
    enum openload_arrival arrival;
    int64_t duration_ns, timeout_ns, lag_limit_ns, start_ns, spin_ns;
    unsigned connections, max_in_flight, threads;
    bool pinned;
    cpu_set_t cpus;
    struct sockaddr_in target;
    char host_header[64];
    uint64_t seed, max_response_header, max_response_body;
    struct shape shapes[OPENLOAD_MAX_REQUESTS];
    size_t nshapes;
};

enum outcome { OUTCOME_OK, OUTCOME_CONNECT, OUTCOME_IO, OUTCOME_TIMEOUT, OUTCOME_PROTOCOL, OUTCOME_TOO_LARGE };

struct pending {
    int64_t scheduled_ns;
    unsigned shape;
};

struct worker;

struct conn {
    struct worker *w;
    struct bufferevent *bev;      /* NULL while closed; reopened when next used */
    http_parser parser;
    bool busy, connected, done, keep_alive, head;
    enum outcome failure;         /* set by a parser callback; OUTCOME_OK otherwise */
    int status;
    int64_t scheduled_ns;
    uint64_t header_bytes, body_bytes;
};

struct window_counts {
    uint64_t scheduled, dropped, completed, errors;
};

struct window_blob {
    size_t window;
    uint8_t *buf;
    size_t len;
};

struct worker {
    struct openload *ol;
    unsigned id;
    pthread_t thread;
    bool started;
    struct event_base *base;
    struct event *timer, *spin, *tick;
    int timer_fd;
    int64_t armed_ns;             /* when timer_fd fires; 0: disarmed */

    struct conn *conns;
    unsigned nconns, busy;
    unsigned *free_ring, free_head, free_count;
    struct pending *queue;
    unsigned queue_head, queue_count, max_in_flight;

    /* the schedule */
    double rate;
    uint64_t next_k, rng;
    double poisson_offset_ns;
    int64_t next_ns, end_ns, drain_deadline_ns;
    bool schedule_done, abandoning;

    struct openload_totals totals;
    struct latency_hist *latency, *lag, *wait, *window_latency;
    size_t window_current;
    struct window_counts *windows;
    size_t nwindows;
    struct window_blob *blobs;
    size_t nblobs, blobs_cap;
    bool out_of_memory;

    /* what another thread may read while the run lasts (openload_progress,
     * openload_window_latency): blobs above, and totals as of the last tick */
    pthread_mutex_t lock;
    bool lock_ready;
    struct openload_totals published;
};

struct openload {
    struct openload_config cfg;   /* shapes deep-copied */
    uint64_t weight_total;
    int64_t t0, end_ns;
    _Atomic int64_t stop_ns;      /* 0: not stopped */
    struct worker *workers;
    unsigned nworkers;
};

struct openload_result {
    struct openload_totals totals;
    struct latency_hist *latency, *lag, *wait;
    struct openload_window *windows;
    size_t nwindows;
};

/* ---- configuration ---------------------------------------------------------------- */

struct openload_config *openload_config_new(void)
{
    struct openload_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return NULL;
    cfg->arrival = OPENLOAD_ARRIVAL_CONSTANT;
    cfg->duration_ns = 10 * NS_PER_S;
    cfg->timeout_ns = 10 * NS_PER_S;
    cfg->lag_limit_ns = 1000000;
    cfg->spin_ns = 0;
    cfg->connections = 64;
    cfg->max_in_flight = 10000;
    cfg->threads = 1;
    cfg->seed = 1;
    cfg->max_response_header = 64 * 1024;
    cfg->max_response_body = 8 * 1024 * 1024;
    cfg->target.sin_family = AF_INET;
    cfg->target.sin_port = htons(8080);
    cfg->target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    snprintf(cfg->host_header, sizeof(cfg->host_header), "127.0.0.1:8080");
    return cfg;
}

static void shapes_free(struct shape *shapes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(shapes[i].bytes);
}

void openload_config_free(struct openload_config *cfg)
{
    if (!cfg)
        return;
    shapes_free(cfg->shapes, cfg->nshapes);
    free(cfg);
}

/* "2000/s", "2000", "120/m", "7200/h" -> requests per second. */
static int parse_rate(const char *text, double *out, char *err, size_t errlen)
{
    char *end = NULL;
    double value, per = 1;

    if (!((text[0] >= '0' && text[0] <= '9') || text[0] == '.'))
        goto bad;
    errno = 0;
    value = strtod(text, &end);
    if (errno || end == text || !isfinite(value))
        goto bad;
    if (*end == '\0' || strcmp(end, "/s") == 0)
        per = 1;
    else if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
        per = 60;
    else if (strcmp(end, "/h") == 0)
        per = 3600;
    else
        goto bad;
    value /= per;
    if (!(value > 0)) {
        snprintf(err, errlen, "rate: \"%s\" must be above 0 requests per second", text);
        return -1;
    }
    if (value > OPENLOAD_MAX_RATE) {
        snprintf(err, errlen, "rate: \"%s\" is above the limit of %.0f/s", text, OPENLOAD_MAX_RATE);
        return -1;
    }
    *out = value;
    return 0;
bad:
    snprintf(err, errlen,
             "rate: \"%s\" must be a positive number of requests per second, minute or hour "
             "(e.g. 2000/s, 120/m)", text);
    return -1;
}

static int parse_count(const char *key, const char *text, uint64_t max, unsigned *out, char *err,
                       size_t errlen)
{
    char why[160];
    uint64_t value;
    if (units_parse_uint(text, max, &value, why, sizeof(why)) < 0 || value < 1) {
        snprintf(err, errlen, "%s: \"%s\" must be a whole number from 1 to %llu", key, text,
                 (unsigned long long)max);
        return -1;
    }
    *out = (unsigned)value;
    return 0;
}

static int parse_positive_duration(const char *key, const char *text, int64_t max, int64_t *out,
                                   char *err, size_t errlen)
{
    char why[160], maxtext[32];
    int64_t ns;
    if (units_parse_duration(text, &ns, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", key, why);
        return -1;
    }
    if (ns <= 0 || ns > max) {
        snprintf(err, errlen, "%s: \"%s\" must be above 0 and at most %s", key, text,
                 units_format_duration(max, maxtext, sizeof(maxtext)));
        return -1;
    }
    *out = ns;
    return 0;
}

static int parse_size_limit(const char *key, const char *text, uint64_t max, uint64_t *out,
                            char *err, size_t errlen)
{
    char why[160];
    uint64_t bytes;
    if (units_parse_size(text, &bytes, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", key, why);
        return -1;
    }
    if (bytes < 1 || bytes > max) {
        snprintf(err, errlen, "%s: \"%s\" must be from 1 byte to %llu bytes", key, text,
                 (unsigned long long)max);
        return -1;
    }
    *out = bytes;
    return 0;
}

static int parse_target(struct openload_config *cfg, const char *text, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    uint64_t port;
    char why[160];
    struct in_addr addr;
    size_t hostlen = colon ? (size_t)(colon - text) : 0;

    if (!colon || hostlen == 0 || hostlen >= sizeof(host) ||
        units_parse_uint(colon + 1, 65535, &port, why, sizeof(why)) < 0 || port == 0)
        goto bad;
    memcpy(host, text, hostlen);
    host[hostlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &addr) != 1)
        goto bad;
    cfg->target.sin_family = AF_INET;
    cfg->target.sin_addr = addr;
    cfg->target.sin_port = htons((uint16_t)port);
    snprintf(cfg->host_header, sizeof(cfg->host_header), "%s", text);
    return 0;
bad:
    snprintf(err, errlen, "target: \"%s\" must be IPV4:PORT or localhost:PORT", text);
    return -1;
}

int openload_config_set(struct openload_config *cfg, const char *key, const char *value,
                        char *err, size_t errlen)
{
    uint64_t seed;
    char why[160];

    if (strcmp(key, "rate") == 0)
        return parse_rate(value, &cfg->rate, err, errlen);
    if (strcmp(key, "arrival") == 0) {
        if (strcmp(value, "constant") == 0)
            cfg->arrival = OPENLOAD_ARRIVAL_CONSTANT;
        else if (strcmp(value, "poisson") == 0)
            cfg->arrival = OPENLOAD_ARRIVAL_POISSON;
        else {
            snprintf(err, errlen, "arrival: \"%s\" must be constant or poisson", value);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "duration") == 0)
        return parse_positive_duration(key, value, OPENLOAD_MAX_DURATION_NS, &cfg->duration_ns, err, errlen);
    if (strcmp(key, "timeout") == 0)
        return parse_positive_duration(key, value, OPENLOAD_MAX_TIMEOUT_NS, &cfg->timeout_ns, err, errlen);
    if (strcmp(key, "lag_limit") == 0)
        return parse_positive_duration(key, value, OPENLOAD_MAX_TIMEOUT_NS, &cfg->lag_limit_ns, err, errlen);
    if (strcmp(key, "spin") == 0) {
        int64_t ns;
        char maxtext[32];
        if (units_parse_duration(value, &ns, why, sizeof(why)) < 0 || ns > 10000000) {
            snprintf(err, errlen, "spin: \"%s\" must be a duration from 0 to %s", value,
                     units_format_duration(10000000, maxtext, sizeof(maxtext)));
            return -1;
        }
        cfg->spin_ns = ns;
        return 0;
    }
    if (strcmp(key, "connections") == 0)
        return parse_count(key, value, OPENLOAD_MAX_CONNECTIONS, &cfg->connections, err, errlen);
    if (strcmp(key, "max_in_flight") == 0)
        return parse_count(key, value, OPENLOAD_MAX_IN_FLIGHT, &cfg->max_in_flight, err, errlen);
    if (strcmp(key, "threads") == 0)
        return parse_count(key, value, OPENLOAD_MAX_THREADS, &cfg->threads, err, errlen);
    if (strcmp(key, "cpu") == 0) {
        cpu_set_t set;
        if (childproc_parse_cpus(value, &set, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "cpu: %s", why);
            return -1;
        }
        cfg->cpus = set;
        cfg->pinned = true;
        return 0;
    }
    if (strcmp(key, "target") == 0)
        return parse_target(cfg, value, err, errlen);
    if (strcmp(key, "seed") == 0) {
        if (units_parse_uint(value, UINT64_MAX, &seed, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "seed: \"%s\" must be a whole number", value);
            return -1;
        }
        cfg->seed = seed;
        return 0;
    }
    if (strcmp(key, "max_response_header") == 0)
        return parse_size_limit(key, value, OPENLOAD_MAX_RESPONSE_HEADER_LIMIT, &cfg->max_response_header,
                                err, errlen);
    if (strcmp(key, "max_response_body") == 0)
        return parse_size_limit(key, value, OPENLOAD_MAX_RESPONSE_BODY_LIMIT, &cfg->max_response_body,
                                err, errlen);
    snprintf(err, errlen, "%s: unknown option", key);
    return -1;
}

static bool is_token(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= max || !strchr("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", s[n]))
            return false;
    return n > 0;
}

static bool has_line_break_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return true;
    return false;
}

/* Appends text to buf (capacity cap) at *len. Returns 0, or -1 when it would not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *text, size_t n)
{
    if (n > cap - *len)
        return -1;
    memcpy(buf + *len, text, n);
    *len += n;
    return 0;
}

static int append_text(char *buf, size_t cap, size_t *len, const char *text)
{
    return append(buf, cap, len, text, strlen(text));
}

int openload_config_add_request(struct openload_config *cfg, const char *method, const char *path,
                                const char *const *headers, size_t nheaders, const char *body,
                                size_t body_len, unsigned weight, char *err, size_t errlen)
{
    char *buf = NULL, number[32];
    size_t len = 0, cap = OPENLOAD_MAX_REQUEST_BYTES;
    bool has_host = false, has_length = false, wants_length;
    int rc = -1;

    if (cfg->nshapes >= OPENLOAD_MAX_REQUESTS) {
        snprintf(err, errlen, "request: more than %d request shapes", OPENLOAD_MAX_REQUESTS);
        return -1;
    }
    if (!is_token(method, 32)) {
        snprintf(err, errlen, "method: \"%s\" is not an HTTP method", method);
        return -1;
    }
    if (path[0] != '/' || strpbrk(path, " ") || has_line_break_or_control(path)) {
        snprintf(err, errlen, "path: \"%s\" must start with / and hold no space or control character", path);
        return -1;
    }
    if (weight < 1 || weight > OPENLOAD_MAX_WEIGHT) {
        snprintf(err, errlen, "weight: %u must be from 1 to %d", weight, OPENLOAD_MAX_WEIGHT);
        return -1;
    }
    if (nheaders > OPENLOAD_MAX_HEADERS) {
        snprintf(err, errlen, "header: more than %d headers", OPENLOAD_MAX_HEADERS);
        return -1;
    }
    for (size_t i = 0; i < nheaders; i++) {
        const char *colon = strchr(headers[i], ':');
        char name[128];
        size_t namelen = colon ? (size_t)(colon - headers[i]) : 0;
        if (!colon || namelen == 0 || namelen >= sizeof(name) || has_line_break_or_control(headers[i])) {
            snprintf(err, errlen, "header: \"%.200s\" must be \"Name: value\" on one line", headers[i]);
            return -1;
        }
        memcpy(name, headers[i], namelen);
        name[namelen] = '\0';
        if (!is_token(name, sizeof(name))) {
            snprintf(err, errlen, "header: \"%s\" is not a header name", name);
            return -1;
        }
        has_host |= strcasecmp(name, "Host") == 0;
        has_length |= strcasecmp(name, "Content-Length") == 0;
    }
    if (has_length) {
        snprintf(err, errlen, "header: Content-Length is set from the body; do not give it");
        return -1;
    }
    if (body_len > OPENLOAD_MAX_REQUEST_BYTES) {
        snprintf(err, errlen, "body: %zu bytes is over the limit of %d", body_len, OPENLOAD_MAX_REQUEST_BYTES);
        return -1;
    }
    buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "request: out of memory");
        return -1;
    }
    wants_length = body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
                   strcmp(method, "PATCH") == 0;
    snprintf(number, sizeof(number), "%zu", body_len);
    if (append_text(buf, cap, &len, method) || append_text(buf, cap, &len, " ") ||
        append_text(buf, cap, &len, path) || append_text(buf, cap, &len, " HTTP/1.1\r\n"))
        goto too_large;
    if (!has_host && (append_text(buf, cap, &len, "Host: ") ||
                      append_text(buf, cap, &len, cfg->host_header) || append_text(buf, cap, &len, "\r\n")))
        goto too_large;
    for (size_t i = 0; i < nheaders; i++)
        if (append_text(buf, cap, &len, headers[i]) || append_text(buf, cap, &len, "\r\n"))
            goto too_large;
    if (wants_length && (append_text(buf, cap, &len, "Content-Length: ") ||
                         append_text(buf, cap, &len, number) || append_text(buf, cap, &len, "\r\n")))
        goto too_large;
    if (append_text(buf, cap, &len, "\r\n") || (body_len && append(buf, cap, &len, body, body_len)))
        goto too_large;
    cfg->shapes[cfg->nshapes].bytes = buf;
    cfg->shapes[cfg->nshapes].len = len;
    cfg->shapes[cfg->nshapes].head = strcmp(method, "HEAD") == 0;
    cfg->shapes[cfg->nshapes].weight = weight;
    cfg->nshapes++;
    buf = NULL;
    rc = 0;
    goto done;
too_large:
    snprintf(err, errlen, "request: %s %.200s is over the limit of %d bytes", method, path,
             OPENLOAD_MAX_REQUEST_BYTES);
done:
    free(buf);
    return rc;
}

void openload_config_set_start(struct openload_config *cfg, int64_t start_ns)
{
    cfg->start_ns = start_ns;
}

int openload_config_check(const struct openload_config *cfg, char *err, size_t errlen)
{
    if (!(cfg->rate > 0)) {
        snprintf(err, errlen, "rate: not set (e.g. rate = 2000/s)");
        return -1;
    }
    if (cfg->nshapes == 0) {
        snprintf(err, errlen, "request: no request to send (give a method and path)");
        return -1;
    }
    if (cfg->threads > cfg->connections) {
        snprintf(err, errlen, "threads: %u is more than connections = %u (each thread needs one)",
                 cfg->threads, cfg->connections);
        return -1;
    }
    if (cfg->max_in_flight < cfg->connections) {
        snprintf(err, errlen, "max_in_flight: %u is less than connections = %u", cfg->max_in_flight,
                 cfg->connections);
        return -1;
    }
    if (cfg->rate > (double)cfg->connections * OPENLOAD_MAX_RATE_PER_CONNECTION) {
        snprintf(err, errlen,
                 "rate: %.0f/s is more than %u connections could carry (at most %.0f/s each); "
                 "raise connections or lower the rate",
                 cfg->rate, cfg->connections, OPENLOAD_MAX_RATE_PER_CONNECTION);
        return -1;
    }
    return 0;
}

/* ---- a worker's connections and schedule ------------------------------------------- */

static uint64_t rng_next(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t window_of(const struct worker *w, int64_t t)
{
    int64_t offset = t - w->ol->t0;
    size_t i = offset <= 0 ? 0 : (size_t)(offset / NS_PER_S);
    return i < w->nwindows ? i : w->nwindows - 1;
}

static int64_t ns_to_us(int64_t ns)
{
    return (ns + 500) / 1000;
}

static void advance_schedule(struct worker *w)
{
    const struct openload *ol = w->ol;
    if (ol->cfg.arrival == OPENLOAD_ARRIVAL_CONSTANT) {
        double index = (double)(w->next_k * ol->nworkers + w->id);
        w->next_ns = ol->t0 + (int64_t)(index * 1e9 / ol->cfg.rate);
        w->next_k++;
    } else {
        /* 53 random bits in [0, 1); -log(1 - u) is an exponential gap */
        double u = (double)(rng_next(&w->rng) >> 11) * (1.0 / 9007199254740992.0);
        w->poisson_offset_ns += -log1p(-u) * 1e9 / w->rate;
        w->next_ns = ol->t0 + (int64_t)w->poisson_offset_ns;
    }
}

static unsigned pick_shape(struct worker *w)
{
    const struct openload *ol = w->ol;
    uint64_t r;
    if (ol->cfg.nshapes == 1)
        return 0;
    r = rng_next(&w->rng) % ol->weight_total;
    for (unsigned i = 0; i < ol->cfg.nshapes; i++) {
        if (r < ol->cfg.shapes[i].weight)
            return i;
        r -= ol->cfg.shapes[i].weight;
    }
    return (unsigned)ol->cfg.nshapes - 1;
}

static void push_free(struct worker *w, struct conn *c)
{
    w->free_ring[(w->free_head + w->free_count) % w->nconns] = (unsigned)(c - w->conns);
    w->free_count++;
}

static struct conn *pop_free(struct worker *w)
{
    struct conn *c = &w->conns[w->free_ring[w->free_head]];
    w->free_head = (w->free_head + 1) % w->nconns;
    w->free_count--;
    return c;
}

static void conn_close(struct conn *c)
{
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    c->connected = false;
}

static void flush_window(struct worker *w)
{
    uint8_t *buf;
    size_t len;
    if (latency_hist_count(w->window_latency) == 0)
        return;
    if (latency_hist_serialize(w->window_latency, &buf, &len) < 0) {
        w->out_of_memory = true;
        return;
    }
    pthread_mutex_lock(&w->lock);
    if (w->nblobs == w->blobs_cap) {
        size_t cap = w->blobs_cap ? w->blobs_cap * 2 : 64;
        struct window_blob *grown = realloc(w->blobs, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&w->lock);
            free(buf);
            w->out_of_memory = true;
            return;
        }
        w->blobs = grown;
        w->blobs_cap = cap;
    }
    w->blobs[w->nblobs++] = (struct window_blob){w->window_current, buf, len};
    pthread_mutex_unlock(&w->lock);
    latency_hist_reset(w->window_latency);
}

static void maybe_finish(struct worker *w)
{
    if (w->schedule_done && w->busy == 0 && w->queue_count == 0)
        event_base_loopbreak(w->base);
}

static void send_request(struct conn *c, int64_t scheduled_ns, unsigned shape);

/* Ends c's request with the given outcome, closes c when asked, and gives c the next
 * waiting request, if any. */
static void finish_request(struct conn *c, enum outcome outcome, bool close)
{
    struct worker *w = c->w;
    int64_t now = units_now_ns();
    size_t win = window_of(w, now);

    c->busy = false;
    w->busy--;
    if (outcome == OUTCOME_OK) {
        w->totals.completed++;
        w->windows[win].completed++;
        if (c->status >= 200 && c->status < 300)
            w->totals.status_2xx++;
        else
            w->totals.status_other++;
        latency_hist_record(w->latency, ns_to_us(now - c->scheduled_ns), 1);
        if (win != w->window_current) {
            flush_window(w);
            w->window_current = win;
        }
        latency_hist_record(w->window_latency, ns_to_us(now - c->scheduled_ns), 1);
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
        conn_close(c);
    else if (c->bev)
        bufferevent_set_timeouts(c->bev, NULL, NULL);
    if (w->queue_count > 0 && !w->abandoning) {
        struct pending next = w->queue[w->queue_head];
        w->queue_head = (w->queue_head + 1) % w->max_in_flight;
        w->queue_count--;
        latency_hist_record(w->wait, ns_to_us(now - next.scheduled_ns), 1);
        send_request(c, next.scheduled_ns, next.shape);
    } else {
        push_free(w, c);
    }
    maybe_finish(w);
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
            conn_close(c);
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
        finish_request(c, c->failure, true);
    else if (c->done)
        finish_request(c, OUTCOME_OK, !c->keep_alive || evbuffer_get_length(in) > 0);
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
        conn_close(c); /* an idle connection the server closed: reopened when next used */
        return;
    }
    if (events & BEV_EVENT_TIMEOUT) {
        finish_request(c, OUTCOME_TIMEOUT, true);
        return;
    }
    if (!c->connected) {
        finish_request(c, OUTCOME_CONNECT, true);
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
    finish_request(c, outcome, true);
}

static int conn_open(struct conn *c)
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
        conn_close(c);
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

static void send_request(struct conn *c, int64_t scheduled_ns, unsigned shape)
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
    if (!c->bev && conn_open(c) < 0) {
        /* counted now; the connection goes back without taking a waiting request, so a
         * failing open cannot recurse through the queue */
        c->busy = false;
        w->busy--;
        w->totals.errors++;
        w->totals.error_connect++;
        w->windows[window_of(w, units_now_ns())].errors++;
        push_free(w, c);
        return;
    }
    if (write_request(c, s) < 0) {
        finish_request(c, OUTCOME_IO, true);
        return;
    }
    bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void dispatch(struct worker *w, int64_t scheduled_ns, int64_t now)
{
    size_t win = window_of(w, scheduled_ns);
    unsigned shape = pick_shape(w);

    w->totals.scheduled++;
    w->windows[win].scheduled++;
    latency_hist_record(w->lag, ns_to_us(now - scheduled_ns), 1);
    if (w->free_count > 0) {
        send_request(pop_free(w), scheduled_ns, shape);
    } else if (w->busy + w->queue_count < w->max_in_flight) {
        w->queue[(w->queue_head + w->queue_count) % w->max_in_flight] = (struct pending){scheduled_ns, shape};
        w->queue_count++;
        w->totals.waited++;
    } else {
        w->totals.dropped++;
        w->windows[win].dropped++;
    }
}

/* Sleeps until at (monotonic ns), unless already set for then. */
static void arm_timer(struct worker *w, int64_t at)
{
    struct itimerspec when = {.it_value = {.tv_sec = at / NS_PER_S, .tv_nsec = at % NS_PER_S}};
    if (w->armed_ns == at)
        return;
    w->armed_ns = at;
    timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &when, NULL);
}

/* Comes back after one non-blocking look at the sockets: a timer already due makes
 * the loop poll with timeout 0 and run it after the I/O callbacks (event_active would
 * run it again in the same pass, before any I/O). */
static void poll_and_return(struct worker *w)
{
    static const struct timeval now = {0, 0};
    evtimer_add(w->spin, &now);
}

/* Dispatches every request whose time has come, then sleeps until the next one. */
static void run_schedule(struct worker *w)
{
    int batch = 0;
    while (!w->schedule_done) {
        int64_t now = units_now_ns(), stop = atomic_load_explicit(&w->ol->stop_ns, memory_order_relaxed);
        if (stop && stop < w->end_ns)
            w->end_ns = stop > w->ol->t0 ? stop : w->ol->t0;
        if (w->next_ns >= w->end_ns) {
            w->schedule_done = true;
            w->drain_deadline_ns = w->end_ns + w->ol->cfg.timeout_ns;
            maybe_finish(w);
            return;
        }
        if (w->next_ns > now) {
            if (w->next_ns - now <= w->ol->cfg.spin_ns)
                poll_and_return(w);
            else
                arm_timer(w, w->next_ns - w->ol->cfg.spin_ns);
            return;
        }
        if (batch++ == DISPATCH_BATCH) {
            poll_and_return(w); /* let responses in before catching up further */
            return;
        }
        dispatch(w, w->next_ns, now);
        advance_schedule(w);
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t expirations;
    if (read(fd, &expirations, sizeof(expirations)) < 0)
        return; /* not due yet (EAGAIN): it was rearmed */
    w->armed_ns = 0;
    run_schedule(w);
}

static void spin_cb(evutil_socket_t fd, short what, void *arg)
{
    run_schedule(arg);
}

/* Every request still out at the drain deadline ends as a timeout. */
static void abandon_outstanding(struct worker *w)
{
    size_t win = window_of(w, units_now_ns());
    w->abandoning = true;
    for (unsigned i = 0; i < w->nconns; i++)
        if (w->conns[i].busy)
            finish_request(&w->conns[i], OUTCOME_TIMEOUT, true);
    w->totals.errors += w->queue_count;
    w->totals.error_timeout += w->queue_count;
    w->windows[win].errors += w->queue_count;
    w->queue_count = 0;
    maybe_finish(w);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    size_t now_window = window_of(w, units_now_ns());
    /* a window whose second has passed is published even with no later completion */
    if (now_window != w->window_current) {
        flush_window(w);
        w->window_current = now_window;
    }
    pthread_mutex_lock(&w->lock);
    w->published = w->totals;
    pthread_mutex_unlock(&w->lock);
    /* a stop while the schedule sleeps until a far request */
    if (atomic_load(&w->ol->stop_ns) && !w->schedule_done)
        run_schedule(w);
    if (w->schedule_done && units_now_ns() >= w->drain_deadline_ns)
        abandon_outstanding(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct openload_config *cfg = &w->ol->cfg;
    struct timeval tick = {.tv_sec = 0, .tv_usec = TICK_US};

    /* the kernel's default 50 us timer slack would be a floor on the send lag */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (cfg->pinned && CPU_COUNT(&cfg->cpus) > 0) {
        /* thread i on the i-th CPU of the list, cycling */
        int count = CPU_COUNT(&cfg->cpus), nth = (int)(w->id % (unsigned)count);
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &cfg->cpus) && nth-- == 0) {
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
                break;
            }
    }
    for (unsigned i = 0; i < w->nconns; i++)
        conn_open(&w->conns[i]); /* a failure here is retried when the connection is used */
    evtimer_add(w->tick, &tick);
    event_add(w->timer, NULL);
    run_schedule(w);
    if (!w->schedule_done || w->busy || w->queue_count)
        event_base_dispatch(w->base);
    flush_window(w);
    for (unsigned i = 0; i < w->nconns; i++)
        conn_close(&w->conns[i]);
    return NULL;
}

static void worker_release(struct worker *w)
{
    if (w->timer)
        event_free(w->timer);
    if (w->spin)
        event_free(w->spin);
    if (w->timer_fd >= 0)
        close(w->timer_fd);
    if (w->tick)
        event_free(w->tick);
    if (w->conns)
        for (unsigned i = 0; i < w->nconns; i++)
            conn_close(&w->conns[i]);
    if (w->base)
        event_base_free(w->base);
    free(w->conns);
    free(w->free_ring);
    free(w->queue);
    free(w->windows);
    for (size_t i = 0; i < w->nblobs; i++)
        free(w->blobs[i].buf);
    free(w->blobs);
    latency_hist_free(w->latency);
    latency_hist_free(w->lag);
    latency_hist_free(w->wait);
    latency_hist_free(w->window_latency);
    if (w->lock_ready)
        pthread_mutex_destroy(&w->lock);
}

/* Allocates a worker's share: connections, in-flight bound and the schedule's rate. */
static int worker_init(struct openload *ol, struct worker *w, unsigned id)
{
    const struct openload_config *cfg = &ol->cfg;
    unsigned t = cfg->threads;
    struct event_config *ec = NULL;
    int rc = -1;

    w->ol = ol;
    w->id = id;
    w->timer_fd = -1;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        return -1;
    w->lock_ready = true;
    w->nconns = cfg->connections / t + (id < cfg->connections % t);
    w->max_in_flight = cfg->max_in_flight / t + (id < cfg->max_in_flight % t);
    w->rate = cfg->rate / t;
    w->rng = cfg->seed * 0x9E3779B97F4A7C15ULL + id + 1;
    if (w->rng == 0)
        w->rng = 1;
    w->end_ns = ol->end_ns;
    w->nwindows = (size_t)((cfg->duration_ns + cfg->timeout_ns) / NS_PER_S) + 3;
    w->conns = calloc(w->nconns, sizeof(*w->conns));
    w->free_ring = calloc(w->nconns, sizeof(*w->free_ring));
    w->queue = calloc(w->max_in_flight, sizeof(*w->queue));
    w->windows = calloc(w->nwindows, sizeof(*w->windows));
    w->latency = latency_hist_new();
    w->lag = latency_hist_new();
    w->wait = latency_hist_new();
    w->window_latency = latency_hist_new();
    ec = event_config_new();
    if (!w->conns || !w->free_ring || !w->queue || !w->windows || !w->latency || !w->lag || !w->wait ||
        !w->window_latency || !ec)
        goto done;
    w->base = event_base_new_with_config(ec);
    if (!w->base)
        goto done;
    w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (w->timer_fd < 0)
        goto done;
    w->timer = event_new(w->base, w->timer_fd, EV_READ | EV_PERSIST, timer_cb, w);
    w->spin = event_new(w->base, -1, 0, spin_cb, w);
    w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
    if (!w->timer || !w->spin || !w->tick)
        goto done;
    for (unsigned i = 0; i < w->nconns; i++) {
        w->conns[i].w = w;
        push_free(w, &w->conns[i]);
    }
    advance_schedule(w);
    rc = 0;
done:
    if (ec)
        event_config_free(ec);
    return rc;
}

static void openload_free(struct openload *ol)
{
    if (!ol)
        return;
    if (ol->workers)
        for (unsigned i = 0; i < ol->nworkers; i++)
            worker_release(&ol->workers[i]);
    free(ol->workers);
    shapes_free(ol->cfg.shapes, ol->cfg.nshapes);
    free(ol);
}

struct openload *openload_start(const struct openload_config *cfg, char *err, size_t errlen)
{
    struct openload *ol = NULL;
    size_t copied = 0;

    if (openload_config_check(cfg, err, errlen) < 0)
        return NULL;
    ol = calloc(1, sizeof(*ol));
    if (!ol)
        goto oom;
    ol->cfg = *cfg;
    for (; copied < cfg->nshapes; copied++) {
        ol->cfg.shapes[copied].bytes = malloc(cfg->shapes[copied].len);
        if (!ol->cfg.shapes[copied].bytes) {
            ol->cfg.nshapes = copied;
            goto oom;
        }
        memcpy(ol->cfg.shapes[copied].bytes, cfg->shapes[copied].bytes, cfg->shapes[copied].len);
        ol->weight_total += cfg->shapes[copied].weight;
    }
    /* a peer closing mid-write must be an error on that connection, not the end of us */
    signal(SIGPIPE, SIG_IGN);
    ol->t0 = cfg->start_ns ? cfg->start_ns : units_now_ns() + START_DELAY_NS;
    ol->end_ns = ol->t0 + cfg->duration_ns;
    ol->nworkers = cfg->threads;
    ol->workers = calloc(ol->nworkers, sizeof(*ol->workers));
    if (!ol->workers)
        goto oom;
    for (unsigned i = 0; i < ol->nworkers; i++)
        ol->workers[i].timer_fd = -1; /* so releasing one not yet set up closes nothing */
    for (unsigned i = 0; i < ol->nworkers; i++)
        if (worker_init(ol, &ol->workers[i], i) < 0)
            goto oom;
    for (unsigned i = 0; i < ol->nworkers; i++) {
        if (pthread_create(&ol->workers[i].thread, NULL, worker_main, &ol->workers[i]) != 0) {
            snprintf(err, errlen, "threads: could not start thread %u", i);
            openload_stop(ol);
            for (unsigned k = 0; k < i; k++)
                pthread_join(ol->workers[k].thread, NULL);
            openload_free(ol);
            return NULL;
        }
        ol->workers[i].started = true;
    }
    return ol;
oom:
    snprintf(err, errlen, "openload: out of memory or no event base for %u threads", cfg->threads);
    openload_free(ol);
    return NULL;
}

void openload_stop(struct openload *ol)
{
    int64_t expected = 0;
    atomic_compare_exchange_strong(&ol->stop_ns, &expected, units_now_ns());
}

static void add_totals(struct openload_totals *sum, const struct openload_totals *t);

void openload_progress(struct openload *ol, struct openload_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < ol->nworkers; i++) {
        struct worker *w = &ol->workers[i];
        pthread_mutex_lock(&w->lock);
        add_totals(out, &w->published);
        pthread_mutex_unlock(&w->lock);
    }
    out->asked_rate = ol->cfg.rate;
}

int64_t openload_start_time(const struct openload *ol)
{
    return ol->t0;
}

int openload_window_latency(struct openload *ol, size_t window, struct latency_hist *into, char *err,
                            size_t errlen)
{
    int rc = 0;
    for (unsigned i = 0; i < ol->nworkers && rc == 0; i++) {
        struct worker *w = &ol->workers[i];
        pthread_mutex_lock(&w->lock);
        for (size_t k = 0; k < w->nblobs && rc == 0; k++)
            if (w->blobs[k].window == window)
                rc = latency_hist_merge_serialized(into, w->blobs[k].buf, w->blobs[k].len, err, errlen);
        pthread_mutex_unlock(&w->lock);
    }
    return rc;
}

/* ---- results ------------------------------------------------------------------------- */

void openload_result_free(struct openload_result *r)
{
    if (!r)
        return;
    latency_hist_free(r->latency);
    latency_hist_free(r->lag);
    latency_hist_free(r->wait);
    for (size_t i = 0; i < r->nwindows; i++)
        free(r->windows[i].latency);
    free(r->windows);
    free(r);
}

static void add_totals(struct openload_totals *sum, const struct openload_totals *t)
{
    sum->scheduled += t->scheduled;
    sum->completed += t->completed;
    sum->errors += t->errors;
    sum->dropped += t->dropped;
    sum->waited += t->waited;
    sum->status_2xx += t->status_2xx;
    sum->status_other += t->status_other;
    sum->error_connect += t->error_connect;
    sum->error_io += t->error_io;
    sum->error_timeout += t->error_timeout;
    sum->error_protocol += t->error_protocol;
    sum->error_too_large += t->error_too_large;
}

/* Merges the workers' per-second counters and histograms into r->windows. */
static int collect_windows(struct openload *ol, struct openload_result *r, char *err, size_t errlen)
{
    size_t used = 0, *cursor = calloc(ol->nworkers, sizeof(*cursor));
    struct latency_hist *scratch = latency_hist_new();
    int rc = -1;

    if (!cursor || !scratch)
        goto oom;
    for (unsigned k = 0; k < ol->nworkers; k++) {
        const struct worker *w = &ol->workers[k];
        for (size_t i = 0; i < w->nwindows; i++) {
            const struct window_counts *c = &w->windows[i];
            if ((c->scheduled || c->dropped || c->completed || c->errors) && i + 1 > used)
                used = i + 1;
        }
    }
    r->windows = calloc(used ? used : 1, sizeof(*r->windows));
    if (!r->windows)
        goto oom;
    r->nwindows = used;
    for (size_t i = 0; i < used; i++) {
        struct openload_window *win = &r->windows[i];
        latency_hist_reset(scratch);
        win->start_s = (int64_t)i;
        for (unsigned k = 0; k < ol->nworkers; k++) {
            const struct worker *w = &ol->workers[k];
            win->scheduled += w->windows[i].scheduled;
            win->dropped += w->windows[i].dropped;
            win->completed += w->windows[i].completed;
            win->errors += w->windows[i].errors;
            while (cursor[k] < w->nblobs && w->blobs[cursor[k]].window == i) {
                if (latency_hist_merge_serialized(scratch, w->blobs[cursor[k]].buf, w->blobs[cursor[k]].len,
                                                  err, errlen) < 0)
                    goto done;
                cursor[k]++;
            }
        }
        win->count = latency_hist_count(scratch);
        if (win->count) {
            win->p50_us = latency_hist_percentile(scratch, 50);
            win->p90_us = latency_hist_percentile(scratch, 90);
            win->p99_us = latency_hist_percentile(scratch, 99);
            win->max_us = latency_hist_max(scratch);
            if (latency_hist_serialize(scratch, &win->latency, &win->latency_len) < 0)
                goto oom;
        }
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "openload: out of memory collecting the results");
done:
    free(cursor);
    latency_hist_free(scratch);
    return rc;
}

struct openload_result *openload_wait(struct openload *ol, char *err, size_t errlen)
{
    struct openload_result *r = NULL;
    struct openload_totals *t;
    int64_t end = ol->t0;
    bool out_of_memory = false;

    for (unsigned i = 0; i < ol->nworkers; i++)
        if (ol->workers[i].started)
            pthread_join(ol->workers[i].thread, NULL);
    r = calloc(1, sizeof(*r));
    if (!r || !(r->latency = latency_hist_new()) || !(r->lag = latency_hist_new()) ||
        !(r->wait = latency_hist_new()))
        goto oom;
    t = &r->totals;
    for (unsigned i = 0; i < ol->nworkers; i++) {
        const struct worker *w = &ol->workers[i];
        add_totals(t, &w->totals);
        latency_hist_merge(r->latency, w->latency);
        latency_hist_merge(r->lag, w->lag);
        latency_hist_merge(r->wait, w->wait);
        if (w->end_ns > end)
            end = w->end_ns;
        out_of_memory |= w->out_of_memory;
    }
    if (out_of_memory)
        goto oom;
    if (collect_windows(ol, r, err, errlen) < 0)
        goto fail;
    t->asked_rate = ol->cfg.rate;
    t->duration_s = (double)(end - ol->t0) / 1e9;
    t->achieved_rate = t->duration_s > 0 ? (double)t->completed / t->duration_s : 0;
    t->lag_limit_us = ol->cfg.lag_limit_ns / 1000;
    t->behind_schedule = latency_hist_percentile(r->lag, 99) > t->lag_limit_us;
    openload_free(ol);
    return r;
oom:
    snprintf(err, errlen, "openload: out of memory collecting the results");
fail:
    openload_free(ol);
    openload_result_free(r);
    return NULL;
}

struct openload_result *openload_run(const struct openload_config *cfg, char *err, size_t errlen)
{
    struct openload *ol = openload_start(cfg, err, errlen);
    return ol ? openload_wait(ol, err, errlen) : NULL;
}

const struct openload_totals *openload_result_totals(const struct openload_result *r) { return &r->totals; }
const struct latency_hist *openload_result_latency(const struct openload_result *r) { return r->latency; }
const struct latency_hist *openload_result_send_lag(const struct openload_result *r) { return r->lag; }
const struct latency_hist *openload_result_wait(const struct openload_result *r) { return r->wait; }
size_t openload_result_window_count(const struct openload_result *r) { return r->nwindows; }

const struct openload_window *openload_result_window(const struct openload_result *r, size_t i)
{
    return i < r->nwindows ? &r->windows[i] : NULL;
}

static json_t *hist_json(const struct latency_hist *h, bool full)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "count", json_integer((json_int_t)latency_hist_count(h)));
    json_object_set_new(o, "p50", json_integer(latency_hist_percentile(h, 50)));
    if (full)
        json_object_set_new(o, "p90", json_integer(latency_hist_percentile(h, 90)));
    json_object_set_new(o, "p99", json_integer(latency_hist_percentile(h, 99)));
    if (full) {
        json_object_set_new(o, "p99_9", json_integer(latency_hist_percentile(h, 99.9)));
        json_object_set_new(o, "mean", json_real(latency_hist_mean(h)));
    }
    json_object_set_new(o, "max", json_integer(latency_hist_max(h)));
    return o;
}

char *openload_result_json(const struct openload_result *r)
{
    const struct openload_totals *t = &r->totals;
    json_t *root = json_object(), *windows = json_array(), *errors = json_object();
    char *text = NULL;

    if (!root || !windows || !errors)
        goto done;
    json_object_set_new(root, "scheduled", json_integer((json_int_t)t->scheduled));
    json_object_set_new(root, "completed", json_integer((json_int_t)t->completed));
    json_object_set_new(root, "errors", json_integer((json_int_t)t->errors));
    json_object_set_new(root, "dropped", json_integer((json_int_t)t->dropped));
    json_object_set_new(root, "waited", json_integer((json_int_t)t->waited));
    json_object_set_new(root, "status_2xx", json_integer((json_int_t)t->status_2xx));
    json_object_set_new(root, "status_other", json_integer((json_int_t)t->status_other));
    json_object_set_new(errors, "connect", json_integer((json_int_t)t->error_connect));
    json_object_set_new(errors, "io", json_integer((json_int_t)t->error_io));
    json_object_set_new(errors, "timeout", json_integer((json_int_t)t->error_timeout));
    json_object_set_new(errors, "protocol", json_integer((json_int_t)t->error_protocol));
    json_object_set_new(errors, "too_large", json_integer((json_int_t)t->error_too_large));
    json_object_set_new(root, "error_kinds", errors);
    errors = NULL;
    json_object_set_new(root, "duration_s", json_real(t->duration_s));
    json_object_set_new(root, "asked_rate", json_real(t->asked_rate));
    json_object_set_new(root, "achieved_rate", json_real(t->achieved_rate));
    json_object_set_new(root, "latency_us", hist_json(r->latency, true));
    json_object_set_new(root, "send_lag_us", hist_json(r->lag, false));
    json_object_set_new(root, "wait_us", hist_json(r->wait, false));
    json_object_set_new(root, "lag_limit_us", json_integer(t->lag_limit_us));
    json_object_set_new(root, "behind_schedule", json_boolean(t->behind_schedule));
    for (size_t i = 0; i < r->nwindows; i++) {
        const struct openload_window *w = &r->windows[i];
        json_t *o = json_pack("{sI sI sI sI sI sI sI sI}", "t", (json_int_t)w->start_s, "scheduled",
                              (json_int_t)w->scheduled, "completed", (json_int_t)w->completed, "errors",
                              (json_int_t)w->errors, "dropped", (json_int_t)w->dropped, "p50_us",
                              (json_int_t)w->p50_us, "p99_us", (json_int_t)w->p99_us, "max_us",
                              (json_int_t)w->max_us);
        if (!o || json_array_append_new(windows, o) < 0)
            goto done;
    }
    json_object_set_new(root, "windows", windows);
    windows = NULL;
    text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
done:
    json_decref(root);
    json_decref(windows);
    json_decref(errors);
    return text;
}
