/* Integration tests of orderd's connection limits against the real binary on
 * ephemeral ports, with real sockets: descriptor exhaustion under a low
 * RLIMIT_NOFILE, the connection caps, slow heads, a pipelining client that never
 * reads, error replies before close, the debug port's cap and timeout, bearer
 * parsing, and order refusals counted by reason. Each measures the process from
 * /proc (CPU ticks, resident memory, open descriptors) rather than trusting it. */
#include "curl_client.h"
#include "orderd_proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected TCP socket to 127.0.0.1:port, or -1. */
static int dial(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

/* Reads until EOF, an error or timeout_ms. Returns the bytes read (buf is
 * NUL-terminated); *closed says whether the server closed (EOF or reset). */
static size_t read_until_close(int fd, int timeout_ms, char *buf, size_t len, bool *closed)
{
    long long deadline = now_ms() + timeout_ms;
    size_t got = 0;

    *closed = false;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        long long left = deadline - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            break;
        char scratch[65536];
        char *dst = got < len - 1 ? buf + got : scratch;
        size_t room = got < len - 1 ? len - 1 - got : sizeof scratch;
        ssize_t n = read(fd, dst, room);
        if (n <= 0) {
            *closed = true;
            break;
        }
        if (dst == buf + got)
            got += (size_t)n;
    }
    buf[got] = '\0';
    return got;
}

/* One request and its response on a keep-alive connection. Returns the status, or
 * -1; the body goes to body (NUL-terminated, cut to fit). */
static int exchange(int fd, const char *request, char *body, size_t bodylen)
{
    char head[4096];
    size_t got = 0;
    char *end = NULL;

    send_all(fd, request, strlen(request));
    while (!end && got < sizeof head - 1) {
        ssize_t n = read(fd, head + got, sizeof head - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        head[got] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    if (!end)
        return -1;
    const char *cl = strcasestr(head, "Content-Length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0, have = got - (size_t)(end + 4 - head);
    size_t copy = have < bodylen - 1 ? have : bodylen - 1;
    memcpy(body, end + 4, copy);
    while (have < want) {
        char tmp[4096];
        ssize_t n = read(fd, tmp, want - have < sizeof tmp ? want - have : sizeof tmp);
        if (n <= 0)
            return -1;
        size_t c = copy + (size_t)n < bodylen - 1 ? (size_t)n : bodylen - 1 - copy;
        memcpy(body + copy, tmp, c);
        copy += c;
        have += (size_t)n;
    }
    body[copy] = '\0';
    return atoi(head + 9);
}

/* CPU time of the process in clock ticks (utime + stime from /proc/PID/stat). */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    unsigned long long utime = 0, stime = 0;
    /* After ")": state and fields 4..13, then utime (14) and stime (15). */
    assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime), 2);
    return (long long)(utime + stime);
}

static long status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, strlen(field)) == 0)
            kb = strtol(line + strlen(field), NULL, 10);
    fclose(f);
    return kb;
}

static int open_fds(pid_t pid)
{
    char path[64];
    int n = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; text && *text; text++)
        n += *text == '\n';
    return n;
}

/* The value of one sample of /metrics ("name{labels}"), or -1 when absent. */
static double metric(const struct orderd_proc *p, const char *sample)
{
    struct curl_client_result r = orderd_proc_call(p, true, "GET", "/metrics", NULL, NULL);
    double v = -1;
    size_t n = strlen(sample);
    assert_int_equal(r.status, 200);
    for (const char *line = r.body; line && *line;) {
        if (strncmp(line, sample, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    curl_client_free(&r);
    return v;
}

/* Polls GET /api/products/1 until it answers 200 or timeout_ms. Returns the status. */
static int public_status_within(const struct orderd_proc *p, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int status = 0;
    while (now_ms() < deadline) {
        struct curl_client_result r = orderd_proc_call(p, false, "GET", "/api/products/1", NULL, NULL);
        status = r.status;
        curl_client_free(&r);
        if (status == 200)
            break;
        usleep(50000);
    }
    return status;
}

static void stop(struct orderd_proc *p)
{
    int status = orderd_proc_stop(p, SIGTERM, 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(p->log_path);
}

#define FD_LIMIT 128
#define FLOOD 400

/* With an explicit cap above the descriptor limit, accept(2) fails with EMFILE:
 * the listener must back off (low CPU, a few log lines), not spin and log each
 * failure, and serve again once the clients leave. */
static void test_orderd_limits_descriptor_exhaustion_backs_off(void **state)
{
    static const char *const args[] = {"--max-connections", "100000", "--io-threads", "2", NULL};
    struct orderd_proc p;
    int fds[FLOOD], n = 0;
    (void)state;

    assert_int_equal(orderd_proc_start_limited(&p, args, NULL, FD_LIMIT), 0);
    for (int i = 0; i < FLOOD; i++)
        if ((fds[n] = dial(p.public_port)) >= 0)
            n++;
    assert_true(n > FD_LIMIT);   /* the kernel completes handshakes into the backlog */
    usleep(300000);
    long long before = cpu_ticks(p.pid);
    usleep(1000000);
    long long used = cpu_ticks(p.pid) - before;
    long ticks = sysconf(_SC_CLK_TCK);
    /* Spinning on EMFILE took more than a whole CPU: allow a tenth of one. */
    assert_true(used * 10 <= ticks);
    char *log = orderd_proc_log(&p);
    int lines = count_lines(log);
    assert_non_null(strstr(log, "\"reason\":\"descriptors\""));
    free(log);
    assert_true(lines < 20);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    assert_int_equal(public_status_within(&p, 5000), 200);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"public\",reason=\"descriptors\"}") >= 1);
    stop(&p);
}

/* By default the cap fits below the descriptor limit: clients beyond it get a 503
 * at once, and the debug port still answers while the public one is full. */
static void test_orderd_limits_default_cap_below_descriptor_limit(void **state)
{
    struct orderd_proc p;
    int fds[FLOOD], n = 0, refused = 0;
    char buf[512];
    bool closed;
    (void)state;

    assert_int_equal(orderd_proc_start_limited(&p, NULL, NULL, FD_LIMIT), 0);
    double cap = metric(&p, "orderd_connections_max{port=\"public\"}");
    assert_true(cap >= 1 && cap < FD_LIMIT);
    for (int i = 0; i < FLOOD && n < FLOOD; i++)
        if ((fds[n] = dial(p.public_port)) >= 0)
            n++;
    usleep(300000);
    for (int i = 0; i < n; i++) {
        struct pollfd pfd = {.fd = fds[i], .events = POLLIN};
        if (poll(&pfd, 1, 0) == 1) {
            read_until_close(fds[i], 1000, buf, sizeof buf, &closed);
            if (strncmp(buf, "HTTP/1.1 503", 12) == 0 && strstr(buf, "too many open connections"))
                refused++;
        }
    }
    assert_true(refused > 0);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"public\",reason=\"descriptors\"}") == 0);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"public\",reason=\"max_connections\"}") >= refused);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    assert_int_equal(public_status_within(&p, 5000), 200);
    stop(&p);
}

/* Slowloris: a byte every 100 ms used to restart the idle timer forever; now the
 * whole head must arrive within --header-timeout, then 408 and close. */
static void test_orderd_limits_slow_head_gets_408(void **state)
{
    static const char *const args[] = {"--header-timeout", "400ms", NULL};
    static const char head[] = "GET /api/products/1 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
    enum { SLOW = 16 };
    struct orderd_proc p;
    int fds[SLOW];
    char buf[512];
    bool closed;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    for (int i = 0; i < SLOW; i++)
        assert_true((fds[i] = dial(p.public_port)) >= 0);
    long long start = now_ms();
    int closed_count = 0;
    for (size_t b = 0; b < sizeof head - 1 && closed_count < SLOW && now_ms() - start < 3000; b++) {
        for (int i = 0; i < SLOW; i++)
            if (fds[i] >= 0)
                (void)!send(fds[i], head + b, 1, MSG_NOSIGNAL);
        usleep(100000);
        for (int i = 0; i < SLOW; i++) {
            struct pollfd pfd = {.fd = fds[i], .events = POLLIN};
            if (fds[i] >= 0 && poll(&pfd, 1, 0) == 1) {
                read_until_close(fds[i], 2000, buf, sizeof buf, &closed);
                assert_true(closed);
                assert_memory_equal(buf, "HTTP/1.1 408", 12);
                close(fds[i]);
                fds[i] = -1;
                closed_count++;
            }
        }
    }
    /* Deadline 400 ms; every one closed well before the 3 s of trickling. */
    assert_int_equal(closed_count, SLOW);
    assert_true(now_ms() - start < 2500);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"public\",reason=\"header_timeout\"}") >= SLOW);
    assert_int_equal(public_status_within(&p, 2000), 200);
    stop(&p);
}

/* An idle keep-alive connection is closed after --idle-timeout; one in use is not. */
static void test_orderd_limits_idle_connection_closed(void **state)
{
    static const char *const args[] = {"--idle-timeout", "300ms", NULL};
    static const char req[] = "GET /api/products/1 HTTP/1.1\r\nHost: x\r\n\r\n";
    struct orderd_proc p;
    char body[1024];
    bool closed;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    int busy = dial(p.public_port), idle = dial(p.public_port);
    assert_true(busy >= 0 && idle >= 0);
    assert_int_equal(exchange(idle, req, body, sizeof body), 200);
    long long start = now_ms();
    /* Requests every 100 ms keep one connection alive well past the timeout. */
    while (now_ms() - start < 1000) {
        assert_int_equal(exchange(busy, req, body, sizeof body), 200);
        usleep(100000);
    }
    read_until_close(idle, 2000, body, sizeof body, &closed);
    assert_true(closed);
    assert_int_equal(exchange(busy, req, body, sizeof body), 200);
    close(busy);
    close(idle);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"public\",reason=\"idle_timeout\"}") >= 1);
    stop(&p);
}

/* A client that pipelines big answers and never reads: orderd stops parsing at its
 * output mark, so its memory stays bounded; every answer still comes once read. */
static void test_orderd_limits_pipeliner_memory_bounded(void **state)
{
    static const char req[] = "GET /api/products?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n";
    enum { PIPELINED = 1500 };
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    assert_int_equal(public_status_within(&p, 2000), 200);
    long rss_before = status_kb(p.pid, "VmRSS:");
    int fd = dial(p.public_port);
    assert_true(fd >= 0);
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    size_t total = PIPELINED * (sizeof req - 1), sent = 0;
    char *all = malloc(total);
    for (int i = 0; i < PIPELINED; i++)
        memcpy(all + (size_t)i * (sizeof req - 1), req, sizeof req - 1);
    long long start = now_ms();
    while (sent < total && now_ms() - start < 2000) {
        ssize_t n = send(fd, all + sent, total - sent, MSG_NOSIGNAL);
        if (n > 0)
            sent += (size_t)n;
        else
            usleep(10000);
    }
    usleep(1000000);
    long rss_after = status_kb(p.pid, "VmRSS:");
    /* Each answer is ~60 KB: all of them would be ~90 MB. Allow 16 MB of noise. */
    assert_true(rss_after - rss_before < 16 * 1024);
    /* Now read: the answers to every request sent come, in order. */
    fcntl(fd, F_SETFL, flags);
    int answers = 0;
    char *body = malloc(128 * 1024);
    while (sent < total) {   /* the rest goes as the server parses */
        ssize_t n = send(fd, all + sent, total - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            sent += (size_t)n;
        assert_int_equal(exchange(fd, "", body, 128 * 1024), 200);
        answers++;
    }
    while (answers < PIPELINED) {
        assert_int_equal(exchange(fd, "", body, 128 * 1024), 200);
        answers++;
    }
    assert_non_null(strstr(body, "\"products\":["));
    free(body);
    free(all);
    close(fd);
    stop(&p);
}

/* A body over the limit with a Content-Length, sent while orderd answers: the
 * client reads the 413, not a reset, because orderd half-closes and drains. */
static void test_orderd_limits_413_reaches_a_client_still_sending(void **state)
{
    static const char head[] = "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n";
    struct orderd_proc p;
    char *chunk = malloc(65536), buf[1024];
    (void)state;

    memset(chunk, 'x', 65536);
    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    for (int round = 0; round < 10; round++) {
        int fd = dial(p.public_port);
        assert_true(fd >= 0);
        send_all(fd, head, sizeof head - 1);
        usleep(20000);   /* the 413 is written and the server decides to close */
        for (int i = 0; i < 8; i++)
            (void)!send(fd, chunk, 65536, MSG_NOSIGNAL | MSG_DONTWAIT);
        bool closed;
        size_t got = read_until_close(fd, 3000, buf, sizeof buf, &closed);
        assert_true(got >= 12);
        assert_memory_equal(buf, "HTTP/1.1 413", 12);
        close(fd);
    }
    free(chunk);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"public\",reason=\"body_too_large\"}") >= 10);
    stop(&p);
}

/* HTTP/1.1 servers must accept absolute-form targets (RFC 9112 3.2.2). */
static void test_orderd_limits_absolute_form_target(void **state)
{
    struct orderd_proc p;
    char body[4096];
    (void)state;

    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    int fd = dial(p.public_port);
    assert_true(fd >= 0);
    assert_int_equal(exchange(fd, "GET http://127.0.0.1/api/products/1 HTTP/1.1\r\nHost: x\r\n\r\n", body, sizeof body), 200);
    assert_non_null(strstr(body, "\"id\":1,"));
    assert_int_equal(exchange(fd, "GET HTTP://example.com:8080/api/products?limit=2 HTTP/1.1\r\nHost: x\r\n\r\n",
                              body, sizeof body), 200);
    assert_non_null(strstr(body, "\"limit\":2,"));
    close(fd);
    stop(&p);
}

/* The debug port keeps at most --debug-max-connections open (the rest wait in the
 * backlog) and closes a connection with no request under way after --debug-timeout. */
static void test_orderd_limits_debug_port_capped_and_timed_out(void **state)
{
    static const char *const args[] = {"--debug-max-connections", "4", "--debug-timeout", "500ms", NULL};
    enum { CLIENTS = 40 };
    struct orderd_proc p;
    int fds[CLIENTS];
    char buf[256];
    bool closed;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    usleep(200000);
    int base = open_fds(p.pid);
    for (int i = 0; i < CLIENTS; i++)
        assert_true((fds[i] = dial(p.debug_port)) >= 0);
    usleep(300000);
    /* Never more than the cap held, however many clients wait. */
    assert_true(open_fds(p.pid) <= base + 4);
    /* Idle connections are closed after the timeout, the next ones taken. */
    long long start = now_ms();
    int ended = 0;
    for (int i = 0; i < CLIENTS; i++) {
        read_until_close(fds[i], 10000, buf, sizeof buf, &closed);
        ended += closed;
        close(fds[i]);
    }
    assert_int_equal(ended, CLIENTS);
    assert_true(now_ms() - start < 10000);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"debug\",reason=\"idle_timeout\"}") >= 4);
    assert_true(metric(&p, "orderd_connections_refused_total{port=\"debug\",reason=\"max_connections\"}") >= 1);
    usleep(300000);   /* the guard's sweep counts closed connections every 100 ms */
    double still_open = metric(&p, "orderd_connections_open{port=\"debug\"}");
    if (still_open > 1)
        fail_msg("%g debug connections still counted open", still_open);
    stop(&p);
}

/* A delta profile whose client leaves at once used to hold its descriptor for the
 * whole delta (60 s): 20,000 of them exhausted the process. Now it is let go. */
static void test_orderd_limits_debug_delta_client_gone_frees_descriptor(void **state)
{
    static const char req[] = "GET /debug/pprof/mutex?seconds=60 HTTP/1.1\r\nHost: x\r\n\r\n";
    enum { CLIENTS = 20 };
    struct orderd_proc p;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    usleep(200000);
    int base = open_fds(p.pid);
    for (int i = 0; i < CLIENTS; i++) {
        int fd = dial(p.debug_port);
        assert_true(fd >= 0);
        send_all(fd, req, sizeof req - 1);
        usleep(20000);   /* the request is read and the delta started */
        close(fd);
    }
    long long start = now_ms();
    int fds = open_fds(p.pid);
    while (fds > base && now_ms() - start < 3000) {
        usleep(50000);
        fds = open_fds(p.pid);
    }
    if (fds > base)
        fail_msg("%d descriptors still held by %d delta profiles whose clients left", fds - base, CLIENTS);
    assert_int_equal(public_status_within(&p, 2000), 200);
    struct curl_client_result r = orderd_proc_call(&p, true, "GET", "/healthz", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    stop(&p);
}

static int debug_status(const struct orderd_proc *p, const char *request, size_t len)
{
    char buf[1024];
    bool closed;
    int fd = dial(p->debug_port);
    assert_true(fd >= 0);
    send_all(fd, request, len);
    shutdown(fd, SHUT_WR);
    read_until_close(fd, 5000, buf, sizeof buf, &closed);
    close(fd);
    return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : -1;
}

/* "Bearer" is matched in any case; a token followed by a NUL and more bytes is not
 * the token. */
static void test_orderd_limits_bearer_scheme_and_nul(void **state)
{
    static const char token[] = "0123456789abcdef0123";
    char path[] = "/tmp/orderd-token-XXXXXX", tokflag[64], req[256];
    struct orderd_proc p;
    (void)state;

    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    send_all(tfd, token, sizeof token - 1);
    close(tfd);
    snprintf(tokflag, sizeof tokflag, "%s", path);
    const char *const args[] = {"--debug-token-file", tokflag, NULL};
    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);

    int n = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", token);
    assert_int_equal(debug_status(&p, req, (size_t)n), 200);
    n = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: bEARER %s\r\n\r\n", token);
    assert_int_equal(debug_status(&p, req, (size_t)n), 200);
    n = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s", token);
    memcpy(req + n, "\0junk\r\n\r\n", 9);
    int status = debug_status(&p, req, (size_t)n + 9);
    assert_true(status == 400 || status == 401);
    n = snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong%s\r\n\r\n", token);
    assert_int_equal(debug_status(&p, req, (size_t)n), 401);
    stop(&p);
    unlink(path);
}

/* Under a stall the queue refuses most orders. Refused orders used to spend ids and
 * wrap the store onto orders still queued ("too many unfinished orders", counted
 * nowhere); now ids go only to accepted orders, and every 503 is counted by reason
 * in /metrics and in the shutdown line. */
static void test_orderd_limits_refused_orders_counted_by_reason(void **state)
{
    static const char *const args[] = {"--workers", "1", "--queue-capacity", "2", "--payment-latency", "1s",
                                       "--order-store-capacity", "1024", NULL};
    static const char req[] = "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 48\r\n\r\n"
                              "{\"user_id\":1,\"items\":[{\"product_id\":1,\"qty\":1}]}";
    struct orderd_proc p;
    char body[1024];
    int accepted = 0, queue_full = 0, store_full = 0;
    (void)state;

    assert_int_equal(orderd_proc_start(&p, args, NULL), 0);
    int fd = dial(p.public_port);
    assert_true(fd >= 0);
    for (int i = 0; i < 2500; i++) {
        int status = exchange(fd, req, body, sizeof body);
        if (status == 202)
            accepted++;
        else if (status == 503 && strstr(body, "queue full"))
            queue_full++;
        else if (status == 503)
            store_full++;
        else
            fail_msg("unexpected status %d: %s", status, body);
    }
    close(fd);
    assert_int_equal(store_full, 0);
    assert_true(accepted >= 2);
    assert_true(metric(&p, "orderd_orders_rejected_total{reason=\"queue_full\"}") == queue_full);
    assert_true(metric(&p, "orderd_orders_rejected_total{reason=\"store_full\"}") == 0);
    int status = orderd_proc_stop(&p, SIGTERM, 30000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *log = orderd_proc_log(&p), want[64];
    snprintf(want, sizeof want, "\"rejected\":%d,", queue_full);
    assert_non_null(strstr(log, want));
    snprintf(want, sizeof want, "\"accepted\":%d,\"done\":%d", accepted, accepted);
    assert_non_null(strstr(log, want));
    free(log);
    unlink(p.log_path);
}

/* Every JSON body is valid UTF-8, even when the error quotes invalid input. */
static void test_orderd_limits_error_json_valid_utf8(void **state)
{
    static const char bad[] = "{\"user_id\":1,\"items\":\xe3\x9c}";
    struct orderd_proc p;
    char req[256], body[1024];
    (void)state;

    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    int fd = dial(p.public_port);
    assert_true(fd >= 0);
    int n = snprintf(req, sizeof req, "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                     sizeof bad - 1, bad);
    assert_true(n > 0);
    assert_int_equal(exchange(fd, req, body, sizeof body), 400);
    close(fd);
    json_error_t err;
    json_t *j = json_loads(body, 0, &err);   /* jansson rejects invalid UTF-8 */
    if (!j)
        fail_msg("not valid JSON (%s): %s", err.text, body);
    json_decref(j);

    /* The debug port's errors too: a fault name that is not UTF-8. */
    static const char put[] = "PUT /debug/faults/\xe3\x9c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\non";
    fd = dial(p.debug_port);
    assert_true(fd >= 0);
    assert_int_equal(exchange(fd, put, body, sizeof body), 404);
    close(fd);
    if (!(j = json_loads(body, 0, &err)))
        fail_msg("not valid JSON (%s): %s", err.text, body);
    json_decref(j);
    stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orderd_limits_descriptor_exhaustion_backs_off),
        cmocka_unit_test(test_orderd_limits_default_cap_below_descriptor_limit),
        cmocka_unit_test(test_orderd_limits_slow_head_gets_408),
        cmocka_unit_test(test_orderd_limits_idle_connection_closed),
        cmocka_unit_test(test_orderd_limits_pipeliner_memory_bounded),
        cmocka_unit_test(test_orderd_limits_413_reaches_a_client_still_sending),
        cmocka_unit_test(test_orderd_limits_absolute_form_target),
        cmocka_unit_test(test_orderd_limits_debug_port_capped_and_timed_out),
        cmocka_unit_test(test_orderd_limits_debug_delta_client_gone_frees_descriptor),
        cmocka_unit_test(test_orderd_limits_bearer_scheme_and_nul),
        cmocka_unit_test(test_orderd_limits_refused_orders_counted_by_reason),
        cmocka_unit_test(test_orderd_limits_error_json_valid_utf8),
    };
    return cmocka_run_group_tests_name("orderd_limits", tests, NULL, NULL);
}
