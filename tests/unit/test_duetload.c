/* Unit tests for duetload against two real orderd processes on ephemeral ports (a
 * slice loads only the sides asked for, as orderd's own request counter shows; both
 * at once; connections the service closed while idle are reopened without error) and,
 * for the edges, a small server thread in the test that closes after every response,
 * never answers, answers garbage or answers 500. Also: every configuration limit is an
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
    assert_int_equal(res[0].errors_connect + res[0].errors_read + res[0].errors_write + res[0].errors_status +
                         res[0].errors_timeout, 0);
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

/* The test's own server: one thread, poll over the listener and its clients. */
enum edge_mode { EDGE_CLOSE, EDGE_SILENT, EDGE_GARBAGE, EDGE_STATUS_500 };

#define EDGE_MAX_CLIENTS 64

struct edge_server {
    enum edge_mode mode;
    int listen_fd, port;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint answered;
};

struct edge_client {
    int fd;
    unsigned matched; /* bytes of "\r\n\r\n" seen in a row */
};

static const char edge_500[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!";

static void edge_answer(struct edge_server *s, struct edge_client *c)
{
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    static const char garbage[] = "this is not HTTP at all\r\n\r\n";
    const char *error = edge_500;
    const char *text = s->mode == EDGE_GARBAGE ? garbage : s->mode == EDGE_STATUS_500 ? error : ok;
    size_t len = s->mode == EDGE_GARBAGE ? sizeof garbage - 1 : s->mode == EDGE_STATUS_500 ? sizeof edge_500 - 1
                                                                                           : sizeof ok - 1;
    if (send(c->fd, text, len, MSG_NOSIGNAL) == (ssize_t)len)
        atomic_fetch_add(&s->answered, 1);
    if (s->mode == EDGE_CLOSE) {
        /* close without saying so: the client learns it from the socket alone */
        close(c->fd);
        c->fd = -1;
    }
}

static void *edge_main(void *arg)
{
    struct edge_server *s = arg;
    struct edge_client clients[EDGE_MAX_CLIENTS];
    struct pollfd pfd[EDGE_MAX_CLIENTS + 1];
    char buf[4096];

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
        for (int i = 0; i < EDGE_MAX_CLIENTS; i++) {
            struct edge_client *c = &clients[i];
            ssize_t got;
            if (c->fd < 0 || !(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = recv(c->fd, buf, sizeof buf, 0);
            if (got <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            for (ssize_t k = 0; k < got && c->fd >= 0; k++) {
                c->matched = buf[k] == "\r\n\r\n"[c->matched % 4] ? c->matched + 1 : (buf[k] == '\r' ? 1 : 0);
                if (c->matched == 4) {
                    c->matched = 0;
                    if (s->mode != EDGE_SILENT)
                        edge_answer(s, c);
                }
            }
        }
    }
    for (int i = 0; i < EDGE_MAX_CLIENTS; i++)
        if (clients[i].fd >= 0)
            close(clients[i].fd);
    return NULL;
}

static struct edge_server *edge_start(enum edge_mode mode)
{
    struct edge_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;

    assert_non_null(s);
    s->mode = mode;
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

static void test_duetload_close_after_response_is_no_error(void **state)
{
    struct edge_server *s = edge_start(EDGE_CLOSE);
    char where[64];
    struct duetload *dl = edge_load(s, where, sizeof where, 2000 * MS);
    struct wrkres res[2];
    (void)state;

    assert_int_equal(duetload_slice(dl, 1, 300 * MS, res, err, sizeof err), 0);
    assert_true(res[0].requests >= 50);
    assert_int_equal(res[0].errors_connect + res[0].errors_read + res[0].errors_write + res[0].errors_status +
                         res[0].errors_timeout, 0);
    assert_latencies_sane(&res[0]);
    duetload_free(dl);
    edge_stop(s);
}

static void test_duetload_silent_server_times_out(void **state)
{
    struct edge_server *s = edge_start(EDGE_SILENT);
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
    struct edge_server *s = edge_start(EDGE_GARBAGE);
    char where[64];
    struct duetload *dl = edge_load(s, where, sizeof where, 2000 * MS);
    struct wrkres res[2];
    (void)state;

    assert_int_equal(duetload_slice(dl, 1, 200 * MS, res, err, sizeof err), 0);
    assert_int_equal(res[0].requests, 0);
    assert_true(res[0].errors_read >= 4);
    assert_int_equal(res[0].errors_timeout, 0);
    duetload_free(dl);
    edge_stop(s);
}

static void test_duetload_status_500_counts_as_status_error(void **state)
{
    struct edge_server *s = edge_start(EDGE_STATUS_500);
    char where[64];
    struct duetload *dl = edge_load(s, where, sizeof where, 2000 * MS);
    struct wrkres res[2];
    (void)state;

    assert_int_equal(duetload_slice(dl, 1, 200 * MS, res, err, sizeof err), 0);
    assert_true(res[0].requests > 10);
    assert_int_equal(res[0].errors_status, res[0].requests);
    assert_int_equal(res[0].errors_read + res[0].errors_connect + res[0].errors_timeout, 0);
    assert_int_equal(res[0].bytes, res[0].requests * (sizeof edge_500 - 1));
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
    struct edge_server *s = edge_start(EDGE_SILENT);
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
    struct edge_server *s = edge_start(EDGE_CLOSE);
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
        cmocka_unit_test(test_duetload_bad_config_names_the_field),
        cmocka_unit_test(test_duetload_unreachable_target_is_named),
        cmocka_unit_test(test_duetload_bad_slice_is_refused),
        cmocka_unit_test(test_duetload_no_descriptor_outlives_free),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
