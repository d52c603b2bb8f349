/* Unit tests for duetload against two real orderd processes on ephemeral ports (a
 * slice loads only the sides asked for, as orderd's own request counter shows; both
 * at once; connections the service closed while idle are reopened without error) and,
 * for the edges, a small server thread in the test that closes after every response,
 * never answers, stalls half way, resets, answers garbage, 500 or more than the limit,
 * or ends its responses every way HTTP/1.1 allows. Also: every configuration limit is an
 * error naming its field, and no descriptor outlives duetload_free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "orderd_proc.h"
#include "base/wrkres.h"
#include "run/duetload.h"
#include "units.h"

#define MS 1000000LL
#define PRODUCT_OK "orderd_http_requests_total{route=\"product_get\",code=\"200\"}"

static struct orderd_proc orderd[2];
static char target[2][64];
static char err[512];

static int setup(void **state)
{
    /* a short idle timeout, so a test can let the service close idle connections */
    const char *const args[] = {"--io-threads", "1", "--idle-timeout", "300ms", NULL};
    (void)state;
    for (int i = 0; i < 2; i++) {
        if (orderd_proc_start(&orderd[i], args, NULL) < 0)
            return -1;
        snprintf(target[i], sizeof target[i], "127.0.0.1:%d", orderd[i].public_port);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        orderd_proc_stop(&orderd[i], SIGTERM, 5000);
    return 0;
}

static struct duetload_config config(const char *a, const char *b)
{
    return (struct duetload_config){.target = {a, b}, .path = "/api/products/7", .connections = 4, .threads = 2,
                                    .timeout_ns = 2000 * MS};
}

static double served(int side)
{
    double v = orderd_proc_metric(&orderd[side], PRODUCT_OK);
    return v < 0 ? 0 : v;
}

static void assert_latencies_sane(const struct wrkres *r)
{
    assert_true(r->requests > 0);
    assert_true(isfinite(r->latency_min) && isfinite(r->latency_p50) && isfinite(r->latency_p999));
    assert_true(r->latency_min > 0);
    assert_true(r->latency_min <= r->latency_p50);
    assert_true(r->latency_p50 <= r->latency_p75 && r->latency_p75 <= r->latency_p90);
    assert_true(r->latency_p90 <= r->latency_p99 && r->latency_p99 <= r->latency_p999);
    assert_true(r->latency_p999 <= r->latency_max);
    assert_true(r->latency_min <= r->latency_mean && r->latency_mean <= r->latency_max);
    assert_true(r->latency_stdev >= 0 && isfinite(r->latency_stdev));
    assert_true(r->latency_max < 2.0);
}

static void test_duetload_mask_one_loads_only_side_zero(void **state)
{
    struct duetload_config cfg = config(target[0], target[1]);
    struct duetload *dl = duetload_start(&cfg, err, sizeof err);
    struct wrkres res[2];
    double before[2], after[2];
    (void)state;

    assert_non_null(dl);
    memset(res, 0, sizeof res);
    res[1].requests = 12345;
    before[0] = served(0);
    before[1] = served(1);
    assert_int_equal(duetload_slice(dl, 1, 300 * MS, res, err, sizeof err), 0);
    after[0] = served(0);
    after[1] = served(1);
    /* side 1 was not touched: its result, and orderd's own count */
    assert_int_equal(res[1].requests, 12345);
    assert_true(after[1] == before[1]);
    assert_latencies_sane(&res[0]);
    assert_true(fabs(res[0].duration_s - 0.3) < 1e-9);
    assert_true(res[0].bytes > res[0].requests * 20);
    assert_int_equal(wrkres_errors(&res[0]), 0);
    /* orderd served what was counted, plus at most the drain (one per connection) */
    assert_true(after[0] - before[0] >= (double)res[0].requests);
    assert_true(after[0] - before[0] <= (double)res[0].requests + cfg.connections);

    /* and the other way round, on the same connections */
    before[0] = after[0];
    assert_int_equal(duetload_slice(dl, 2, 200 * MS, res, err, sizeof err), 0);
    assert_true(served(0) == before[0]);
    assert_latencies_sane(&res[1]);
    assert_true(served(1) - after[1] >= (double)res[1].requests);
    duetload_free(dl);
}

static void test_duetload_mask_three_loads_both(void **state)
{
    struct duetload_config cfg = config(target[0], target[1]);
    struct duetload *dl;
    struct wrkres res[2];
    double before[2];
    (void)state;

    cfg.method = "GET";
    cfg.connections = 6;
    cfg.threads = 3;
    dl = duetload_start(&cfg, err, sizeof err);
    assert_non_null(dl);
    before[0] = served(0);
    before[1] = served(1);
    assert_int_equal(duetload_slice(dl, 3, 300 * MS, res, err, sizeof err), 0);
    for (int s = 0; s < 2; s++) {
        assert_latencies_sane(&res[s]);
        assert_int_equal(res[s].errors_status + res[s].errors_read + res[s].errors_timeout, 0);
        assert_true(served(s) - before[s] >= (double)res[s].requests);
    }
    duetload_free(dl);
}

/* orderd closes keep-alive connections idle for 300 ms: the next slice's requests
 * must go out on fresh connections, none of them counted as an error. */
static void test_duetload_reopens_connections_closed_while_idle(void **state)
{
    struct duetload_config cfg = config(target[0], target[1]);
    struct duetload *dl = duetload_start(&cfg, err, sizeof err);
    struct wrkres res[2];
    (void)state;

    assert_non_null(dl);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(duetload_slice(dl, 3, 100 * MS, res, err, sizeof err), 0);
        for (int s = 0; s < 2; s++) {
            assert_true(res[s].requests > 0);
            assert_int_equal(res[s].errors_connect + res[s].errors_read + res[s].errors_write +
                                 res[s].errors_timeout, 0);
        }
        usleep(600 * 1000);
    }
    duetload_free(dl);
}

/* The test's own server: one thread, poll over the listener and its clients; what it
 * does with each request it has read the head of is its behaviour. */
enum edge_after { EDGE_KEEP, EDGE_CLOSE, EDGE_RESET };

struct edge_behaviour {
    const char *reply;      /* NULL: never answers */
    size_t body_bytes;      /* then this many bytes of body, for a response too large */
    enum edge_after after;
};

static const char edge_500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!";
static const char edge_ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* closes after every response without saying so: the client learns it from the socket */
static const struct edge_behaviour edge_closes = {edge_ok, 0, EDGE_CLOSE};
static const struct edge_behaviour edge_keeps = {edge_ok, 0, EDGE_KEEP};
static const struct edge_behaviour edge_says_close = {
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 0, EDGE_CLOSE};
static const struct edge_behaviour edge_until_close = {"HTTP/1.1 200 OK\r\n\r\nuntil the end", 0, EDGE_CLOSE};
static const struct edge_behaviour edge_chunked = {
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3\r\n!!!\r\n0\r\n\r\n", 0, EDGE_KEEP};
static const struct edge_behaviour edge_silent = {NULL, 0, EDGE_KEEP};
static const struct edge_behaviour edge_stalls = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf", 0, EDGE_KEEP};
static const struct edge_behaviour edge_garbage = {"this is not HTTP at all\r\n\r\n", 0, EDGE_KEEP};
static const struct edge_behaviour edge_resets = {NULL, 0, EDGE_RESET};
static const struct edge_behaviour edge_status_500 = {edge_500, 0, EDGE_KEEP};
static const struct edge_behaviour edge_huge = {
    "HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\n\r\n", 9437184, EDGE_KEEP};

#define EDGE_MAX_CLIENTS 64

struct edge_server {
    const struct edge_behaviour *how;
    int listen_fd, port;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
    char first[1024];       /* the first bytes read from any client */
    size_t first_len;
};

struct edge_client {
    int fd;
    unsigned matched; /* bytes of "\r\n\r\n" seen in a row */
};

static void edge_answer(struct edge_server *s, struct edge_client *c)
{
    static char zeros[65536];
    const struct edge_behaviour *how = s->how;
    if (how->reply) {
        /* blocking: a client reading slowly holds the server, as it would a real one */
        bool ok = send(c->fd, how->reply, strlen(how->reply), MSG_NOSIGNAL) >= 0;
        for (size_t sent = 0; ok && sent < how->body_bytes; sent += sizeof zeros)
            ok = send(c->fd, zeros, sizeof zeros, MSG_NOSIGNAL) >= 0;
    }
    if (how->after == EDGE_RESET) {
        struct linger hard = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    if (how->after != EDGE_KEEP) {
        close(c->fd);
        c->fd = -1;
    }
}

static void edge_read(struct edge_server *s, struct edge_client *c)
{
    char buf[4096];
    ssize_t got = recv(c->fd, buf, sizeof buf, 0);
    if (got <= 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (s->first_len == 0) {
        s->first_len = (size_t)got < sizeof s->first - 1 ? (size_t)got : sizeof s->first - 1;
        memcpy(s->first, buf, s->first_len);
    }
    pthread_mutex_unlock(&s->lock);
    for (ssize_t k = 0; k < got && c->fd >= 0; k++) {
        c->matched = buf[k] == "\r\n\r\n"[c->matched % 4] ? c->matched + 1 : (buf[k] == '\r' ? 1 : 0);
        if (c->matched == 4) {
            c->matched = 0;
            if (s->how->reply || s->how->after != EDGE_KEEP)
                edge_answer(s, c);
        }
    }
}

static void *edge_main(void *arg)
{
    struct edge_server *s = arg;
    struct edge_client clients[EDGE_MAX_CLIENTS];
    struct pollfd pfd[EDGE_MAX_CLIENTS + 1];

    for (int i = 0; i < EDGE_MAX_CLIENTS; i++)
        clients[i] = (struct edge_client){.fd = -1};
    while (!atomic_load(&s->stop)) {
        int n = 0;
        pfd[n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
        for (int i = 0; i < EDGE_MAX_CLIENTS; i++)
            pfd[n++] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, 10) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            int fd = accept(s->listen_fd, NULL, NULL);
            int slot = -1;
            for (int i = 0; i < EDGE_MAX_CLIENTS && fd >= 0 && slot < 0; i++)
                if (clients[i].fd < 0)
                    slot = i;
            if (slot >= 0)
                clients[slot] = (struct edge_client){.fd = fd};
            else if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < EDGE_MAX_CLIENTS; i++)
            if (clients[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                edge_read(s, &clients[i]);
    }
    for (int i = 0; i < EDGE_MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    return NULL;
}

static struct edge_server *edge_start(const struct edge_behaviour *how)
{
    struct edge_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;

    assert_non_null(s);
    s->how = how;
    assert_int_equal(pthread_mutex_init(&s->lock, NULL), 0);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->listen_fd >= 0);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(s->listen_fd, 128), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&addr, &len), 0);
    s->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, edge_main, s), 0);
    return s;
}

static void edge_stop(struct edge_server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Side 0 on the edge server, side 1 on an orderd (not loaded). */
static struct duetload *edge_load(struct edge_server *s, char *edge_target, size_t len, int64_t timeout_ns)
{
    struct duetload_config cfg = config(edge_target, target[1]);
    struct duetload *dl;
    snprintf(edge_target, len, "localhost:%d", s->port);
    cfg.timeout_ns = timeout_ns;
    dl = duetload_start(&cfg, err, sizeof err);
    assert_non_null(dl);
    return dl;
}

/* One slice of load_ns on a fresh edge server behaving as how, with the timeout given:
 * what side 0 measured; *took_ns (when not NULL) how long the slice call took. */
static struct wrkres edge_slice(const struct edge_behaviour *how, int64_t timeout_ns, int64_t load_ns,
                                int64_t *took_ns)
{
    struct edge_server *s = edge_start(how);
    char where[64];
    struct duetload *dl = edge_load(s, where, sizeof where, timeout_ns);
    struct wrkres res[2];
    int64_t t0 = units_now_ns();

    assert_int_equal(duetload_slice(dl, 1, load_ns, res, err, sizeof err), 0);
    if (took_ns)
        *took_ns = units_now_ns() - t0;
    duetload_free(dl);
    edge_stop(s);
    return res[0];
}

static void test_duetload_close_after_response_is_no_error(void **state)
{
    struct wrkres r = edge_slice(&edge_closes, 2000 * MS, 300 * MS, NULL);
    (void)state;

    assert_true(r.requests >= 50);
    assert_int_equal(wrkres_errors(&r), 0);
    assert_latencies_sane(&r);
}

static void test_duetload_silent_server_times_out(void **state)
{
    struct edge_server *s = edge_start(&edge_silent);
    char where[64];
    struct duetload *dl = edge_load(s, where, sizeof where, 500 * MS);
    struct wrkres res[2];
    int64_t t0;
    (void)state;

    t0 = units_now_ns();
    assert_int_equal(duetload_slice(dl, 1, 200 * MS, res, err, sizeof err), 0);
    assert_true(units_now_ns() - t0 < 200 * MS + 500 * MS + 1000 * MS);
    assert_int_equal(res[0].requests, 0);
    assert_int_equal(res[0].errors_timeout, 4);
    assert_true(isnan(res[0].latency_p50) && isnan(res[0].latency_max));
    /* the connections timed out were closed; the next slice reopens them */
    assert_int_equal(duetload_slice(dl, 1, 100 * MS, res, err, sizeof err), 0);
    assert_int_equal(res[0].errors_timeout, 4);
    assert_int_equal(res[0].errors_connect, 0);
    duetload_free(dl);
    edge_stop(s);
}

static void test_duetload_garbage_is_read_error(void **state)
{
    struct wrkres r = edge_slice(&edge_garbage, 2000 * MS, 200 * MS, NULL);
    (void)state;

    assert_int_equal(r.requests, 0);
    assert_true(r.errors_read >= 4);
    assert_int_equal(r.errors_timeout, 0);
}

static void test_duetload_status_500_counts_as_status_error(void **state)
{
    struct wrkres r = edge_slice(&edge_status_500, 2000 * MS, 200 * MS, NULL);
    (void)state;

    assert_true(r.requests > 10);
    assert_int_equal(r.errors_status, r.requests);
    assert_int_equal(r.errors_read + r.errors_connect + r.errors_timeout, 0);
    assert_int_equal(r.bytes, r.requests * (sizeof edge_500 - 1));
}

/* Connection: close, a body ended by the close, a chunked body: all complete
 * responses, counted with every byte. */
static void test_duetload_frames_every_kind_of_response(void **state)
{
    const struct edge_behaviour *kinds[] = {&edge_says_close, &edge_until_close, &edge_chunked};
    (void)state;

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct wrkres r = edge_slice(kinds[k], 2000 * MS, 200 * MS, NULL);
        if (r.requests < 20 || wrkres_errors(&r) != 0)
            fail_msg("reply %zu: %llu requests, %llu read errors, %llu timeouts", k, (unsigned long long)r.requests,
                     (unsigned long long)r.errors_read, (unsigned long long)r.errors_timeout);
        assert_int_equal(r.bytes, r.requests * strlen(kinds[k]->reply));
        assert_latencies_sane(&r);
    }
}

static void test_duetload_reset_is_read_error(void **state)
{
    struct wrkres r = edge_slice(&edge_resets, 2000 * MS, 200 * MS, NULL);
    (void)state;

    assert_int_equal(r.requests, 0);
    assert_true(r.errors_read >= 4);
    assert_int_equal(r.errors_timeout + r.errors_status, 0);
}

/* Half a response, then nothing: the timeout ends it as for a silent server. */
static void test_duetload_stall_mid_response_times_out(void **state)
{
    int64_t took;
    struct wrkres r = edge_slice(&edge_stalls, 300 * MS, 100 * MS, &took);
    (void)state;

    assert_true(took < 100 * MS + 300 * MS + 1000 * MS);
    assert_int_equal(r.requests, 0);
    assert_int_equal(r.errors_timeout, 4);
}

static void test_duetload_response_over_limit_is_read_error(void **state)
{
    struct wrkres r = edge_slice(&edge_huge, 5000 * MS, 200 * MS, NULL);
    (void)state;

    assert_int_equal(r.requests, 0);
    assert_true(r.errors_read >= 1);
    assert_int_equal(r.errors_timeout, 0);
}

static void test_duetload_sends_method_body_and_headers(void **state)
{
    struct edge_server *s = edge_start(&edge_keeps);
    char where[64], want[512];
    struct duetload_config cfg = config(where, target[1]);
    struct duetload *dl;
    struct wrkres res[2];
    (void)state;

    snprintf(where, sizeof where, "127.0.0.1:%d", s->port);
    cfg.method = "POST";
    cfg.body = "{\"a\":1}";
    cfg.body_len = 7;
    cfg.content_type = "application/json";
    dl = duetload_start(&cfg, err, sizeof err);
    assert_non_null(dl);
    assert_int_equal(duetload_slice(dl, 1, 100 * MS, res, err, sizeof err), 0);
    assert_true(res[0].requests > 10);
    assert_int_equal(res[0].errors_read + res[0].errors_status, 0);
    snprintf(want, sizeof want,
             "POST /api/products/7 HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
             "Content-Length: 7\r\n\r\n{\"a\":1}",
             where);
    pthread_mutex_lock(&s->lock);
    assert_true(s->first_len >= strlen(want));
    assert_memory_equal(s->first, want, strlen(want));
    pthread_mutex_unlock(&s->lock);
    duetload_free(dl);
    edge_stop(s);
}

/* cfg must be refused with an error that starts with field. */
static void assert_refused(const struct duetload_config *cfg, const char *field)
{
    err[0] = '\0';
    assert_null(duetload_start(cfg, err, sizeof err));
    if (strncmp(err, field, strlen(field)) != 0)
        fail_msg("expected an error naming %s, got: %s", field, err);
}

static void test_duetload_bad_config_names_the_field(void **state)
{
    struct duetload_config cfg;
    char long_path[9000];
    (void)state;

    memset(long_path, 'a', sizeof long_path - 1);
    long_path[0] = '/';
    long_path[sizeof long_path - 1] = '\0';
#define REFUSED(field, change) do { cfg = config(target[0], target[1]); change; assert_refused(&cfg, field); } while (0)
    REFUSED("target[0]", cfg.target[0] = NULL);
    REFUSED("target[0]", cfg.target[0] = "example.com:80");
    REFUSED("target[1]", cfg.target[1] = "127.0.0.1");
    REFUSED("target[1]", cfg.target[1] = "127.0.0.1:70000");
    REFUSED("target[1]", cfg.target[1] = "127.0.0.1:0");
    REFUSED("method", cfg.method = "GE T");
    REFUSED("method", cfg.method = "");
    REFUSED("path", cfg.path = NULL);
    REFUSED("path", cfg.path = "api/products/7");
    REFUSED("path", cfg.path = "/a b");
    REFUSED("path", cfg.path = "/a\r\nX-Evil: 1");
    REFUSED("path", cfg.path = long_path);
    REFUSED("body_len", (cfg.body = "x", cfg.body_len = DUETLOAD_MAX_BODY + 1));
    REFUSED("body", (cfg.body = NULL, cfg.body_len = 3));
    REFUSED("content_type", cfg.content_type = "text/plain\r\nX: y");
    REFUSED("connections", cfg.connections = 0);
    REFUSED("connections", cfg.connections = DUETLOAD_MAX_CONNECTIONS + 1);
    REFUSED("threads", cfg.threads = 0);
    REFUSED("threads", cfg.threads = DUETLOAD_MAX_THREADS + 1);
    REFUSED("threads", (cfg.connections = 2, cfg.threads = 3));
    REFUSED("timeout_ns", cfg.timeout_ns = 0);
    REFUSED("timeout_ns", cfg.timeout_ns = DUETLOAD_MAX_TIMEOUT_NS + 1);
#undef REFUSED
    assert_non_null(strstr((cfg = config(target[0], target[1]), cfg.connections = 0,
                            assert_refused(&cfg, "connections"), err), "0 is not in 1..1000"));
}

static void test_duetload_unreachable_target_is_named(void **state)
{
    struct edge_server *s = edge_start(&edge_silent);
    char where[64];
    struct duetload_config cfg;
    int port = s->port;
    (void)state;

    edge_stop(s); /* nobody listens there now */
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    cfg = config(target[0], where);
    assert_refused(&cfg, "target[1]");
    assert_non_null(strstr(err, where));
}

static void test_duetload_bad_slice_is_refused(void **state)
{
    struct duetload_config cfg = config(target[0], target[1]);
    struct duetload *dl = duetload_start(&cfg, err, sizeof err);
    struct wrkres res[2];
    (void)state;

    assert_non_null(dl);
    assert_int_equal(duetload_slice(dl, 0, 100 * MS, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "side_mask"));
    assert_int_equal(duetload_slice(dl, 4, 100 * MS, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "side_mask"));
    assert_int_equal(duetload_slice(dl, 1, DUETLOAD_MIN_SLICE_NS - 1, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "load_ns"));
    assert_int_equal(duetload_slice(dl, 1, DUETLOAD_MAX_SLICE_NS + 1, res, err, sizeof err), -1);
    assert_non_null(strstr(err, "load_ns"));
    /* still usable */
    assert_int_equal(duetload_slice(dl, 1, DUETLOAD_MIN_SLICE_NS, res, err, sizeof err), 0);
    assert_true(res[0].requests > 0);
    duetload_free(dl);
    duetload_free(NULL);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The descriptors open once the test's server thread has closed its side of the
 * connections too (it notices within a few polls), or as many as are left after 2 s. */
static int count_fds_settled(int expected)
{
    int n = count_fds();
    for (int i = 0; i < 200 && n != expected; i++) {
        usleep(10 * 1000);
        n = count_fds();
    }
    return n;
}

static void test_duetload_no_descriptor_outlives_free(void **state)
{
    struct edge_server *s = edge_start(&edge_closes);
    char where[64];
    struct duetload_config cfg;
    struct duetload *dl;
    struct wrkres res[2];
    int before;
    (void)state;

    snprintf(where, sizeof where, "127.0.0.1:%d", s->port);
    before = count_fds();
    cfg = config(where, target[1]);
    cfg.connections = 8;
    dl = duetload_start(&cfg, err, sizeof err);
    assert_non_null(dl);
    assert_true(count_fds() >= before + 16);
    assert_int_equal(duetload_slice(dl, 3, 200 * MS, res, err, sizeof err), 0);
    assert_int_equal(duetload_slice(dl, 1, 100 * MS, res, err, sizeof err), 0);
    duetload_free(dl);
    assert_int_equal(count_fds_settled(before), before);
    /* a start that fails half way leaves nothing open either */
    cfg.target[1] = "127.0.0.1:1";
    assert_null(duetload_start(&cfg, err, sizeof err));
    assert_int_equal(count_fds_settled(before), before);
    edge_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duetload_mask_one_loads_only_side_zero),
        cmocka_unit_test(test_duetload_mask_three_loads_both),
        cmocka_unit_test(test_duetload_reopens_connections_closed_while_idle),
        cmocka_unit_test(test_duetload_close_after_response_is_no_error),
        cmocka_unit_test(test_duetload_silent_server_times_out),
        cmocka_unit_test(test_duetload_garbage_is_read_error),
        cmocka_unit_test(test_duetload_status_500_counts_as_status_error),
        cmocka_unit_test(test_duetload_frames_every_kind_of_response),
        cmocka_unit_test(test_duetload_reset_is_read_error),
        cmocka_unit_test(test_duetload_stall_mid_response_times_out),
        cmocka_unit_test(test_duetload_response_over_limit_is_read_error),
        cmocka_unit_test(test_duetload_sends_method_body_and_headers),
        cmocka_unit_test(test_duetload_bad_config_names_the_field),
        cmocka_unit_test(test_duetload_unreachable_target_is_named),
        cmocka_unit_test(test_duetload_bad_slice_is_refused),
        cmocka_unit_test(test_duetload_no_descriptor_outlives_free),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
