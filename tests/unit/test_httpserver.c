/* Tests for the pure part of service/httpserver.c: httpserver_parse_address, which
 * splits --listen / --debug-listen values. Good addresses give the host and port;
 * bad ones fail with err quoting the text, and leave the port alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "httpserver.h"

struct good_address {
    const char *text, *host;
    int port;
};

static void test_httpserver_parse_address_good(void **state)
{
    static const struct good_address cases[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080},
        {"0.0.0.0:0", "0.0.0.0", 0},
        {"10.1.2.3:65535", "10.1.2.3", 65535},
        {"[::1]:0", "::1", 0},
        {"[::1]:6060", "::1", 6060},
        {"[::]:80", "::", 80},
        {"[fe80::1:2]:443", "fe80::1:2", 443},
        {"[::ffff:127.0.0.1]:8080", "::ffff:127.0.0.1", 8080},
        {"localhost:80", "127.0.0.1", 80},
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64] = "", err[256] = "";
        int port = -7;
        if (httpserver_parse_address(cases[i].text, host, sizeof host, &port, err, sizeof err) != 0)
            fail_msg("'%s' refused: %s", cases[i].text, err);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(port, cases[i].port);
    }
}

static void test_httpserver_parse_address_bad(void **state)
{
    static const char *const cases[] = {
        "127.0.0.1",          /* no port */
        "127.0.0.1:",         /* empty port */
        "127.0.0.1:65536",    /* port too large */
        "127.0.0.1:99999999999999999999",
        "127.0.0.1:-1",
        "127.0.0.1:80x",
        "127.0.0.1:0x50",
        "127.0.0.1:8o",
        "abc:80",             /* not a numeric host */
        "example.com:80",
        "256.0.0.1:80",
        ":80",                /* no host */
        "[::1]80",            /* no colon after the bracket */
        "[::1]",
        "[::1:80",
        "[]:80",
        "[::1]:",
        "[::1]:65536",
        "[zz::1]:80",
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64], err[256] = "";
        int port = -7;
        if (httpserver_parse_address(cases[i], host, sizeof host, &port, err, sizeof err) != -1)
            fail_msg("'%s' accepted as host '%s' port %d", cases[i], host, port);
        if (!strstr(err, cases[i]))
            fail_msg("'%s': err does not quote it: %s", cases[i], err);
        assert_int_equal(port, -7);
    }
}

static void test_httpserver_parse_address_empty(void **state)
{
    char host[64], err[256] = "";
    int port = -7;
    (void)state;

    assert_int_equal(httpserver_parse_address("", host, sizeof host, &port, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    err[0] = '\0';
    assert_int_equal(httpserver_parse_address(NULL, host, sizeof host, &port, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(port, -7);
}

/* The port is digits only: strtol would take a sign or leading blanks. */
static void test_httpserver_parse_address_port_digits_only(void **state)
{
    static const char *const cases[] = {
        "127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:\t80", "[::1]:+80", "[::1]: 80", "127.0.0.1:-0",
    };
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64], err[256] = "";
        int port = -7;
        if (httpserver_parse_address(cases[i], host, sizeof host, &port, err, sizeof err) != -1)
            fail_msg("'%s' accepted as port %d", cases[i], port);
        assert_non_null(strstr(err, cases[i]));
        assert_int_equal(port, -7);
    }
}

/* Without brackets the last colon of an IPv6 address would pass for the port
 * separator: "::1" would mean port 1 on every interface. */
static void test_httpserver_parse_address_ipv6_needs_brackets(void **state)
{
    static const char *const cases[] = {"::1", "::1:80", "fe80::1:8080", "::ffff:127.0.0.1:80"};
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char host[64] = "", err[256] = "";
        int port = -7;
        if (httpserver_parse_address(cases[i], host, sizeof host, &port, err, sizeof err) != -1)
            fail_msg("'%s' accepted as host '%s' port %d", cases[i], host, port);
        assert_non_null(strstr(err, cases[i]));
        assert_non_null(strstr(err, "brackets"));
        assert_int_equal(port, -7);
    }
}

static void test_httpserver_parse_address_host_buffer(void **state)
{
    char host[10], err[256] = "";
    int port = -7;
    (void)state;

    /* "10.0.0.1" fits in 10 bytes, "10.100.200.1" does not. */
    assert_int_equal(httpserver_parse_address("10.0.0.1:80", host, sizeof host, &port, err, sizeof err), 0);
    assert_string_equal(host, "10.0.0.1");
    port = -7;
    assert_int_equal(httpserver_parse_address("10.100.200.1:80", host, sizeof host, &port, err, sizeof err), -1);
    assert_non_null(strstr(err, "10.100.200.1:80"));
    assert_int_equal(port, -7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_httpserver_parse_address_good),
        cmocka_unit_test(test_httpserver_parse_address_bad),
        cmocka_unit_test(test_httpserver_parse_address_empty),
        cmocka_unit_test(test_httpserver_parse_address_port_digits_only),
        cmocka_unit_test(test_httpserver_parse_address_ipv6_needs_brackets),
        cmocka_unit_test(test_httpserver_parse_address_host_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
