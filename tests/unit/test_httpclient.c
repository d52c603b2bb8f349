/* Unit tests for httpclient against the canned test server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canned_http.h"
#include "base/httpclient.h"

static const struct canned_http_route routes[] = {
    {"/metrics", 200, "hello", 1},
    {"/big", 200, "xxxxxxxxxx", 10000},
    {"/debug/faults/slow", 200, "ok", 1},
    {NULL, 0, NULL, 0},
};
static struct canned_http *server;
static char err[512], seen[16384];

static int setup(void **state)
{
    (void)state;
    server = canned_http_start(routes);
    return server ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    canned_http_stop(server);
    return 0;
}

static const char *url(const char *path)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "http://127.0.0.1:%d%s", canned_http_port(server), path);
    return buf;
}

static const char *request_seen(void)
{
    canned_http_last_request(server, seen, sizeof seen);
    return seen;
}

static void test_httpclient_get_and_status(void **state)
{
    struct httpclient *c = httpclient_new(NULL, err, sizeof err);
    struct httpclient_response r;
    (void)state;
    assert_non_null(c);
    assert_int_equal(httpclient_request(c, "GET", url("/metrics"), NULL, 2000, 1024, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello");
    assert_null(strcasestr(request_seen(), "Authorization"));
    assert_int_equal(httpclient_request(c, "GET", url("/missing"), NULL, 2000, 1024, &r, err, sizeof err), 0);
    assert_int_equal(r.status, 404);
    httpclient_free(c);
    httpclient_free(NULL);
}

static void test_httpclient_put_with_body_and_token(void **state)
{
    struct httpclient *c = httpclient_new("s3cret", err, sizeof err);
    struct httpclient_response r;
    (void)state;
    assert_non_null(c);
    assert_int_equal(httpclient_request(c, "PUT", url("/debug/faults/slow"), "on(1ms)", 2000, 1024, &r,
                                        err, sizeof err), 0);
    assert_int_equal(strncmp(request_seen(), "PUT /debug/faults/slow ", 23), 0);
    assert_non_null(strstr(request_seen(), "Authorization: Bearer s3cret\r\n"));
    assert_non_null(strstr(request_seen(), "\r\n\r\non(1ms)"));
    assert_int_equal(httpclient_request(c, "DELETE", url("/debug/faults/slow"), NULL, 2000, 1024, &r,
                                        err, sizeof err), 0);
    assert_int_equal(strncmp(request_seen(), "DELETE /debug/faults/slow ", 26), 0);
    httpclient_free(c);
}

static void test_httpclient_body_limit_is_distinct_error(void **state)
{
    struct httpclient *c = httpclient_new(NULL, err, sizeof err);
    struct httpclient_response r;
    (void)state;
    assert_int_equal(httpclient_request(c, "GET", url("/big"), NULL, 2000, 50000, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than 50000 bytes"));
    assert_int_equal(httpclient_request(c, "GET", url("/big"), NULL, 2000, 200000, &r, err, sizeof err), 0);
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
