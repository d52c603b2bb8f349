/* Unit tests for httpclient against a tiny canned HTTP server on a thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpclient.h"

static int listen_fd = -1;
static int port;
static pthread_t server;
static char last_request[8192];
static pthread_mutex_t request_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[8192];
static char err[512];

static void answer(int fd, const char *request)
{
    char head[256], *body = NULL;
    size_t len = 0;
    int status = 200;

    if (strncmp(request, "GET /big ", 9) == 0) {
        len = 100000;
        body = malloc(len);
        memset(body, 'x', len);
    } else if (strncmp(request, "GET /missing ", 13) == 0) {
        status = 404;
        body = strdup("nope");
        len = 4;
    } else {
        body = strdup("hello");
        len = 5;
    }
    snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, len);
    if (write(fd, head, strlen(head)) < 0 || write(fd, body, len) < 0) {
        /* the client may have given up; nothing to do */
    }
    free(body);
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        size_t got = 0;
        if (fd < 0)
            return NULL;
        pthread_mutex_lock(&request_lock);
        memset(last_request, 0, sizeof last_request);
        while (got < sizeof last_request - 1) {
            ssize_t n = read(fd, last_request + got, sizeof last_request - 1 - got);
            char *end;
            if (n <= 0)
                break;
            got += (size_t)n;
            end = strstr(last_request, "\r\n\r\n");
            if (end) {
                const char *cl = strcasestr(last_request, "Content-Length:");
                size_t want = (size_t)(end + 4 - last_request) + (cl ? (size_t)atoi(cl + 15) : 0);
                if (got >= want)
                    break;
            }
        }
        answer(fd, last_request);
        pthread_mutex_unlock(&request_lock);
        close(fd);
    }
}

static int setup(void **state)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    (void)state;
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(listen_fd, 16) < 0 || getsockname(listen_fd, (struct sockaddr *)&addr, &len) < 0)
        return -1;
    port = ntohs(addr.sin_port);
    return pthread_create(&server, NULL, serve, NULL);
}

static int teardown(void **state)
{
    (void)state;
    shutdown(listen_fd, SHUT_RDWR);
    close(listen_fd);
    pthread_join(server, NULL);
    return 0;
}

/* The last request the server read, copied under its lock. */
static const char *request_seen(void)
{
    pthread_mutex_lock(&request_lock);
    memcpy(seen, last_request, sizeof seen);
    pthread_mutex_unlock(&request_lock);
    return seen;
}

static void url(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "http://127.0.0.1:%d%s", port, path);
}

static void test_httpclient_get_and_status(void **state)
{
    struct httpclient *c = httpclient_new(NULL, err, sizeof err);
    struct httpclient_response r;
    char u[128];
    (void)state;
    assert_non_null(c);
    url(u, sizeof u, "/metrics");
    assert_int_equal(httpclient_request(c, "GET", u, NULL, 2000, 1024, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello");
    assert_null(strcasestr(request_seen(), "Authorization"));
    url(u, sizeof u, "/missing");
    assert_int_equal(httpclient_request(c, "GET", u, NULL, 2000, 1024, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 404);
    httpclient_free(c);
    httpclient_free(NULL);
}

static void test_httpclient_put_with_body_and_token(void **state)
{
    struct httpclient *c = httpclient_new("s3cret", err, sizeof err);
    struct httpclient_response r;
    char u[128];
    (void)state;
    assert_non_null(c);
    url(u, sizeof u, "/debug/faults/slow");
    assert_int_equal(httpclient_request(c, "PUT", u, "on(1ms)", 2000, 1024, &r, err, sizeof err), 0);
    assert_int_equal(strncmp(request_seen(), "PUT /debug/faults/slow ", 23), 0);
    assert_non_null(strstr(request_seen(), "Authorization: Bearer s3cret\r\n"));
    assert_non_null(strstr(request_seen(), "\r\n\r\non(1ms)"));
    assert_int_equal(httpclient_request(c, "DELETE", u, NULL, 2000, 1024, &r, err, sizeof err), 0);
    assert_int_equal(strncmp(request_seen(), "DELETE /debug/faults/slow ", 26), 0);
    httpclient_free(c);
}

static void test_httpclient_body_limit_is_distinct_error(void **state)
{
    struct httpclient *c = httpclient_new(NULL, err, sizeof err);
    struct httpclient_response r;
    char u[128];
    (void)state;
    url(u, sizeof u, "/big");
    assert_int_equal(httpclient_request(c, "GET", u, NULL, 2000, 50000, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than 50000 bytes"));
    assert_int_equal(httpclient_request(c, "GET", u, NULL, 2000, 200000, &r, err, sizeof err), 0);
    assert_int_equal(r.len, 100000);
    httpclient_free(c);
}

static void test_httpclient_refused_connection(void **state)
{
    struct httpclient *c = httpclient_new(NULL, err, sizeof err);
    struct httpclient_response r;
    (void)state;
    assert_int_equal(httpclient_request(c, "GET", "http://127.0.0.1:1/readyz", NULL, 1000, 100, &r,
                                        err, sizeof err), -1);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_int_equal(httpclient_request(c, "GET", "file:///etc/passwd", NULL, 1000, 100, &r,
                                        err, sizeof err), -1);
    httpclient_free(c);
    assert_null(httpclient_new("bad\ntoken", err, sizeof err));
}

static void test_httpclient_read_token(void **state)
{
    char path[] = "/tmp/token-test-XXXXXX", token[64];
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc123\n", 7), 7);
    close(fd);
    assert_int_equal(httpclient_read_token(path, token, sizeof token, err, sizeof err), 0);
    assert_string_equal(token, "abc123");
    assert_int_equal(httpclient_read_token(path, token, 4, err, sizeof err), -1);
    unlink(path);
    assert_int_equal(httpclient_read_token(path, token, sizeof token, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpclient_get_and_status),
        cmocka_unit_test(test_httpclient_put_with_body_and_token),
        cmocka_unit_test(test_httpclient_body_limit_is_distinct_error),
        cmocka_unit_test(test_httpclient_refused_connection),
        cmocka_unit_test(test_httpclient_read_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
