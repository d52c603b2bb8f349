/* Tests for service/reqid.c: which X-Request-ID values are kept (alphabet, 1..64
 * characters, exactly len bytes looked at), generated ids (shape, validity,
 * distinctness, also across threads), and traceparent parsing against the W3C
 * Trace Context rules: the spec's examples, lowercase hex only, no all-zero ids,
 * version ff refused, exact field lengths and separators for version 00, extra
 * fields allowed for future versions, and the output left alone on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqid.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"
#define SENTINEL "untouched-untouched-untouched-xx"

static void test_reqid_valid_ids(void **state)
{
    static const char *const good[] = {
        "a", "Z", "0", "abc-123", "A.b_c:d-9", "req_2024-01-01T10:00:00.123",
        "4bf92f3577b34da6a3ce929d0e0e4736", "...", "---",
    };
    char max[REQID_MAX + 1];
    (void)state;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!reqid_is_valid(good[i], strlen(good[i])))
            fail_msg("'%s' refused", good[i]);
    memset(max, 'x', REQID_MAX);
    max[REQID_MAX] = '\0';
    assert_true(reqid_is_valid(max, 64));
    /* Only len bytes count: a valid prefix of a longer text is valid. */
    assert_true(reqid_is_valid("abc def", 3));
    assert_true(reqid_is_valid("abc\n", 3));
}

static void test_reqid_invalid_ids(void **state)
{
    static const char *const bad[] = {
        "a b", " a", "a ", "a\"b", "\"", "a'b", "a\nb", "a\r\nX-Injected: 1", "a\tb", "caf\xc3\xa9",
        "\xe2\x9c\x93", "a/b", "a;b", "a,b", "a=b", "a<b>", "a\\b", "%41", "\x7f",
    };
    char long_id[REQID_MAX + 2];
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (reqid_is_valid(bad[i], strlen(bad[i])))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(reqid_is_valid("", 0));
    assert_false(reqid_is_valid("abc", 0));
    assert_false(reqid_is_valid(NULL, 3));
    assert_false(reqid_is_valid("a\0b", 3));   /* an embedded NUL is not the end */

    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(strlen(long_id), 65);
    assert_false(reqid_is_valid(long_id, 65));
    assert_true(reqid_is_valid(long_id, 64));
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(a, b);
}

#define GENERATED 10000

static void test_reqid_generate_valid_and_distinct(void **state)
{
    char (*ids)[17] = test_calloc(GENERATED, sizeof *ids);
    char buf[18];
    (void)state;

    memset(buf, '#', sizeof buf);
    reqid_generate(buf);
    assert_int_equal(buf[16], '\0');
    assert_int_equal(buf[17], '#');   /* nothing written past the 17 bytes */

    for (int i = 0; i < GENERATED; i++) {
        reqid_generate(ids[i]);
        assert_int_equal(strlen(ids[i]), 16);
        assert_true(is_lower_hex(ids[i], 16));
        assert_true(reqid_is_valid(ids[i], 16));
    }
    qsort(ids, GENERATED, sizeof *ids, compare_strings);
    for (int i = 1; i < GENERATED; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("id %s generated twice", ids[i]);
    test_free(ids);
}

#define GEN_THREADS 4
#define PER_THREAD 2000

static void *generate_many(void *arg)
{
    char (*ids)[17] = arg;
    for (int i = 0; i < PER_THREAD; i++)
        reqid_generate(ids[i]);
    return NULL;
}

static void test_reqid_generate_distinct_across_threads(void **state)
{
    char (*ids)[17] = test_calloc(GEN_THREADS * PER_THREAD, sizeof *ids);
    pthread_t t[GEN_THREADS];
    (void)state;

    for (int i = 0; i < GEN_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, generate_many, ids + i * PER_THREAD), 0);
    for (int i = 0; i < GEN_THREADS; i++)
        pthread_join(t[i], NULL);
    qsort(ids, GEN_THREADS * PER_THREAD, sizeof *ids, compare_strings);
    for (int i = 1; i < GEN_THREADS * PER_THREAD; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("id %s generated twice", ids[i]);
    test_free(ids);
}

static void test_reqid_generate_trace_id(void **state)
{
    char a[33], b[33], header[64], parsed[33];
    (void)state;

    reqid_generate_trace_id(a);
    reqid_generate_trace_id(b);
    assert_int_equal(strlen(a), 32);
    assert_true(is_lower_hex(a, 32));
    assert_string_not_equal(a, b);
    /* A generated trace id makes a traceparent that parses back to it. */
    snprintf(header, sizeof header, "00-%s-" PARENT "-01", a);
    assert_int_equal(reqid_parse_traceparent(header, strlen(header), parsed), 0);
    assert_string_equal(parsed, a);
}

static int parse_tp(const char *text, char trace_id[33])
{
    return reqid_parse_traceparent(text, strlen(text), trace_id);
}

static void test_reqid_traceparent_spec_examples(void **state)
{
    char trace_id[33];
    (void)state;

    /* The examples of W3C Trace Context, section 3.2. */
    memcpy(trace_id, SENTINEL, sizeof SENTINEL);
    assert_int_equal(parse_tp("00-" TRACE "-" PARENT "-01", trace_id), 0);
    assert_string_equal(trace_id, TRACE);
    memcpy(trace_id, SENTINEL, sizeof SENTINEL);
    assert_int_equal(parse_tp("00-" TRACE "-" PARENT "-00", trace_id), 0);
    assert_string_equal(trace_id, TRACE);

    /* Flags other than 01 are carried, not judged. */
    assert_int_equal(parse_tp("00-" TRACE "-" PARENT "-ff", trace_id), 0);

    /* Only len bytes are read: a header value sliced out of a larger buffer. */
    static const char buffer[] = "00-" TRACE "-" PARENT "-01\r\nHost: x";
    memcpy(trace_id, SENTINEL, sizeof SENTINEL);
    assert_int_equal(reqid_parse_traceparent(buffer, 55, trace_id), 0);
    assert_string_equal(trace_id, TRACE);
}

static void test_reqid_traceparent_future_versions(void **state)
{
    char trace_id[33];
    (void)state;

    /* A higher version may add fields after the flags, separated by '-'. */
    memcpy(trace_id, SENTINEL, sizeof SENTINEL);
    assert_int_equal(parse_tp("cc-" TRACE "-" PARENT "-01-what-the-future-will-be-like", trace_id), 0);
    assert_string_equal(trace_id, TRACE);
    assert_int_equal(parse_tp("01-" TRACE "-" PARENT "-01", trace_id), 0);
    assert_int_equal(parse_tp("fe-" TRACE "-" PARENT "-09-x", trace_id), 0);

    /* ... but the first four fields keep their shape. */
    memcpy(trace_id, SENTINEL, sizeof SENTINEL);
    assert_int_equal(parse_tp("cc-" TRACE "-" PARENT "-01.what", trace_id), -1);
    assert_int_equal(parse_tp("cc-" TRACE "-" PARENT "-01what", trace_id), -1);
    assert_int_equal(parse_tp("cc-" TRACE "0-" PARENT "-01", trace_id), -1);
    assert_int_equal(parse_tp("cc-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01-x", trace_id), -1);
    assert_int_equal(parse_tp("cc-00000000000000000000000000000000-" PARENT "-01-x", trace_id), -1);
    assert_string_equal(trace_id, SENTINEL);
}

static void test_reqid_traceparent_refused(void **state)
{
    static const char *const bad[] = {
        /* uppercase hex anywhere */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473A-" PARENT "-01",
        "00-" TRACE "-00F067AA0BA902B7-01",
        "00-" TRACE "-" PARENT "-0A",
        "0A-" TRACE "-" PARENT "-01",
        /* all-zero ids */
        "00-00000000000000000000000000000000-" PARENT "-01",
        "00-" TRACE "-0000000000000000-01",
        /* version ff is invalid, whatever follows */
        "ff-" TRACE "-" PARENT "-01",
        "ff-" TRACE "-" PARENT "-01-x",
        /* not hex */
        "00-" TRACE "-" PARENT "-0g",
        "0x-" TRACE "-" PARENT "-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" PARENT "-01",
        "00-" TRACE "-00f067aa0ba902bz-01",
        /* wrong lengths */
        "00-4bf92f3577b34da6a3ce929d0e0e473-" PARENT "-01",
        "00-" TRACE "0-" PARENT "-01",
        "00-" TRACE "-00f067aa0ba902b-01",
        "00-" TRACE "-" PARENT "0-01",
        "00-" TRACE "-" PARENT "-1",
        "00-" TRACE "-" PARENT "-011",
        "0-" TRACE "-" PARENT "-01",
        "000-" TRACE "-" PARENT "-01",
        /* version 00 has exactly four fields */
        "00-" TRACE "-" PARENT "-01-",
        "00-" TRACE "-" PARENT "-01-extra",
        "00-" TRACE "-" PARENT "-01 ",
        /* wrong separators */
        "00_" TRACE "-" PARENT "-01",
        "00-" TRACE "_" PARENT "-01",
        "00-" TRACE "-" PARENT "_01",
        "00 " TRACE " " PARENT " 01",
        " 00-" TRACE "-" PARENT "-01",
        "00-" TRACE "--" PARENT "-01",
        /* empty and short */
        "",
        "00",
        "00-" TRACE,
        "00-" TRACE "-" PARENT,
        "00-" TRACE "-" PARENT "-",
    };
    (void)state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char trace_id[33];
        memcpy(trace_id, SENTINEL, sizeof SENTINEL);
        if (parse_tp(bad[i], trace_id) != -1)
            fail_msg("'%s' accepted", bad[i]);
        if (strcmp(trace_id, SENTINEL) != 0)
            fail_msg("'%s' changed trace_id to '%s'", bad[i], trace_id);
    }

    char trace_id[33];
    memcpy(trace_id, SENTINEL, sizeof SENTINEL);
    assert_int_equal(reqid_parse_traceparent(NULL, 55, trace_id), -1);
    /* A good header cut short by len. */
    assert_int_equal(reqid_parse_traceparent("00-" TRACE "-" PARENT "-01", 54, trace_id), -1);
    assert_string_equal(trace_id, SENTINEL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reqid_valid_ids),
        cmocka_unit_test(test_reqid_invalid_ids),
        cmocka_unit_test(test_reqid_generate_valid_and_distinct),
        cmocka_unit_test(test_reqid_generate_distinct_across_threads),
        cmocka_unit_test(test_reqid_generate_trace_id),
        cmocka_unit_test(test_reqid_traceparent_spec_examples),
        cmocka_unit_test(test_reqid_traceparent_future_versions),
        cmocka_unit_test(test_reqid_traceparent_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
