/* Tests for service/connlimit.c: every refusal is counted by port and reason, a flood
 * of refusals gives one log line a second (saying how many it stands for), idle
 * timeouts are counted but not logged, and the names /metrics uses. The listener
 * guards run against real sockets in tests/integration/test_orderd_limits.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connlimit.h"
#include "log.h"

/* Points the log at a fresh temporary file. Returns its descriptor. */
static int log_to_temp(char *path, size_t len)
{
    snprintf(path, len, "/tmp/connlimit-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    log_configure(fd, LOG_FORMAT_JSON, LOG_INFO);
    return fd;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 65536);
    assert_non_null(f);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void test_connlimit_counts_every_refusal_and_logs_once_a_second(void **state)
{
    char path[64];
    (void)state;

    int fd = log_to_temp(path, sizeof path);
    uint64_t before = connlimit_refused_total(CONNLIMIT_PUBLIC, CONNLIMIT_MAX_CONNECTIONS);
    for (int i = 0; i < 500; i++)
        connlimit_note(CONNLIMIT_PUBLIC, CONNLIMIT_MAX_CONNECTIONS);
    assert_int_equal(connlimit_refused_total(CONNLIMIT_PUBLIC, CONNLIMIT_MAX_CONNECTIONS), before + 500);
    /* Another port or reason is counted apart. */
    assert_int_equal(connlimit_refused_total(CONNLIMIT_DEBUG, CONNLIMIT_MAX_CONNECTIONS), 0);
    char *text = read_all(path);
    assert_int_equal(count(text, "\"msg\":\"connection limit reached\""), 1);
    assert_non_null(strstr(text, "\"port\":\"public\",\"reason\":\"max_connections\""));
    free(text);

    usleep(1100000);
    connlimit_note(CONNLIMIT_PUBLIC, CONNLIMIT_MAX_CONNECTIONS);
    text = read_all(path);
    assert_int_equal(count(text, "\"msg\":\"connection limit reached\""), 2);
    /* The second line stands for the 499 not logged and itself. */
    assert_non_null(strstr(text, "\"since_last_line\":500"));
    free(text);
    close(fd);
    unlink(path);
}

static void test_connlimit_idle_timeouts_counted_not_logged(void **state)
{
    char path[64];
    (void)state;

    int fd = log_to_temp(path, sizeof path);
    for (int i = 0; i < 10; i++)
        connlimit_note(CONNLIMIT_DEBUG, CONNLIMIT_IDLE_TIMEOUT);
    assert_int_equal(connlimit_refused_total(CONNLIMIT_DEBUG, CONNLIMIT_IDLE_TIMEOUT), 10);
    char *text = read_all(path);
    assert_int_equal(text[0], '\0');
    free(text);
    close(fd);
    unlink(path);
}

static void test_connlimit_names_and_gauges(void **state)
{
    (void)state;
    assert_string_equal(connlimit_port_name(CONNLIMIT_PUBLIC), "public");
    assert_string_equal(connlimit_port_name(CONNLIMIT_DEBUG), "debug");
    assert_string_equal(connlimit_reason_name(CONNLIMIT_DESCRIPTORS), "descriptors");
    assert_string_equal(connlimit_reason_name(CONNLIMIT_HEADER_TIMEOUT), "header_timeout");
    assert_string_equal(connlimit_reason_name(CONNLIMIT_REASON_COUNT), "unknown");
    connlimit_set_max(CONNLIMIT_PUBLIC, 7);
    assert_int_equal(connlimit_max(CONNLIMIT_PUBLIC), 7);
    connlimit_opened(CONNLIMIT_PUBLIC);
    connlimit_opened(CONNLIMIT_PUBLIC);
    connlimit_closed(CONNLIMIT_PUBLIC);
    assert_int_equal(connlimit_open(CONNLIMIT_PUBLIC), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connlimit_counts_every_refusal_and_logs_once_a_second),
        cmocka_unit_test(test_connlimit_idle_timeouts_counted_not_logged),
        cmocka_unit_test(test_connlimit_names_and_gauges),
    };
    return cmocka_run_group_tests_name("connlimit", tests, NULL, NULL);
}
