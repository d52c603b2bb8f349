/* Unit tests for promtext: the exposition format as Prometheus reads it, and input
 * written to break a parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/promtext.h"

#define MAX_KEPT 64

struct kept {
    char name[PROMTEXT_MAX_NAME + 1];
    char labels[512];
    double value;
    enum promtext_type type;
    int has_ts;
    int64_t ts;
};

static struct kept kept[MAX_KEPT];
static size_t nkept;
static char err[512];

static int keep(void *ctx, const struct promtext_sample *s, char *e, size_t elen)
{
    (void)ctx;
    (void)e;
    (void)elen;
    if (nkept < MAX_KEPT) {
        snprintf(kept[nkept].name, sizeof kept[nkept].name, "%s", s->name);
        if (promtext_labels_format(s->labels, s->nlabels, kept[nkept].labels, sizeof kept[nkept].labels) < 0)
            kept[nkept].labels[0] = '?';
        kept[nkept].value = s->value;
        kept[nkept].type = s->type;
        kept[nkept].has_ts = s->has_timestamp;
        kept[nkept].ts = s->timestamp_ms;
    }
    nkept++;
    return 0;
}

static long parse(const char *text)
{
    nkept = 0;
    err[0] = '\0';
    return promtext_parse(text, strlen(text), keep, NULL, err, sizeof err);
}

static void expect_error(const char *text, const char *what)
{
    long n = parse(text);
    if (n != -1)
        fail_msg("parsed %ld samples, expected an error containing '%s'", n, what);
    if (!strstr(err, what))
        fail_msg("error '%s' lacks '%s'", err, what);
}

static void test_promtext_reads_families_and_types(void **state)
{
    const char *text =
        "# HELP orderd_queue_depth Jobs waiting.\n"
        "# TYPE orderd_queue_depth gauge\n"
        "orderd_queue_depth 3\n"
        "# TYPE orderd_queue_wait_seconds histogram\n"
        "orderd_queue_wait_seconds_bucket{le=\"0.001\"} 5\n"
        "orderd_queue_wait_seconds_bucket{le=\"+Inf\"} 9\n"
        "orderd_queue_wait_seconds_sum 0.25\n"
        "orderd_queue_wait_seconds_count 9\n"
        "# a free comment\n"
        "\n"
        "# TYPE rpc summary\n"
        "rpc{quantile=\"0.99\"} 1.5e-3\n"
        "rpc_count 4\n"
        "untyped_thing 1 1700000000000\n";
    (void)state;
    assert_int_equal(parse(text), 8);
    assert_string_equal(kept[0].name, "orderd_queue_depth");
    assert_int_equal(kept[0].type, PROMTEXT_GAUGE);
    assert_string_equal(kept[2].labels, "{le=\"+Inf\"}");
    assert_int_equal(kept[2].type, PROMTEXT_HISTOGRAM);
    assert_int_equal(kept[3].type, PROMTEXT_HISTOGRAM);
    assert_true(kept[3].value == 0.25);
    assert_int_equal(kept[5].type, PROMTEXT_SUMMARY);
    assert_true(kept[5].value == 1.5e-3);
    assert_int_equal(kept[6].type, PROMTEXT_SUMMARY);
    assert_int_equal(kept[7].type, PROMTEXT_UNTYPED);
    assert_true(kept[7].has_ts);
    assert_true(kept[7].ts == 1700000000000LL);
}

static void test_promtext_special_values(void **state)
{
    (void)state;
    assert_int_equal(parse("a NaN\nb +Inf\nc -Inf\nd Inf\ne -0.5\nf 1e3\n"), 6);
    assert_true(isnan(kept[0].value));
    assert_true(isinf(kept[1].value) && kept[1].value > 0);
    assert_true(isinf(kept[2].value) && kept[2].value < 0);
    assert_true(isinf(kept[3].value));
    assert_true(kept[4].value == -0.5);
    assert_true(kept[5].value == 1000);
}

static void test_promtext_label_escapes_and_canonical_order(void **state)
{
    (void)state;
    assert_int_equal(parse("m{z=\"1\",a=\"q\\\"uote\\\\back\\nline\",} 1\n"), 1);
    assert_string_equal(kept[0].labels, "{a=\"q\\\"uote\\\\back\\nline\",z=\"1\"}");
    assert_int_equal(parse("m { a = \"x\" } 2\r\n"), 1);
    assert_string_equal(kept[0].labels, "{a=\"x\"}");
    assert_int_equal(parse("m{} 3"), 1);  /* no final newline */
    assert_string_equal(kept[0].labels, "");
    assert_int_equal(parse("m{a=\"\xc3\xa9t\xc3\xa9\"} 1\n"), 1);
}

static void test_promtext_rejects_malformed_lines(void **state)
{
    (void)state;
    expect_error("ok 1\nbad{a=\"x\" 1\n", "line 2");
    expect_error("m{a=\"x} 1\n", "unterminated");
    expect_error("m{a=\"\\t\"} 1\n", "escape");
    expect_error("m{a=x} 1\n", "'\"'");
    expect_error("m{1a=\"x\"} 1\n", "label name");
    expect_error("m{a=\"1\",a=\"2\"} 1\n", "twice");
    expect_error("m\n", "blank");
    expect_error("m one\n", "bad value");
    expect_error("m 0x10\n", "bad value");
    expect_error("m 1e999\n", "bad value");
    expect_error("m 1 12.5\n", "bad timestamp");
    expect_error("m 1 2 3\n", "after the timestamp");
    expect_error("9m 1\n", "metric name");
    expect_error("# TYPE m countr\n", "unknown metric type");
    expect_error("# TYPE m\n", "TYPE");
    expect_error("m{a=\"\xff\"} 1\n", "UTF-8");
    expect_error("m{a=\"\xc0\xaf\"} 1\n", "UTF-8");
}

static void test_promtext_hostile_sizes(void **state)
{
    size_t big = PROMTEXT_MAX_LINE + 10;
    char *text = test_malloc(big + 16);
    size_t n = 0;
    (void)state;
    assert_non_null(text);
    memset(text, 'a', big);
    memcpy(text + big, " 1\n", 4);
    expect_error(text, "longer than");

    /* a name just over the limit */
    memset(text, 'a', PROMTEXT_MAX_NAME + 1);
    memcpy(text + PROMTEXT_MAX_NAME + 1, " 1\n", 4);
    expect_error(text, "longer than");

    /* too many labels */
    n = (size_t)snprintf(text, big, "m{");
    for (int i = 0; i <= PROMTEXT_MAX_LABELS; i++)
        n += (size_t)snprintf(text + n, big - n, "l%d=\"v\",", i);
    snprintf(text + n, big - n, "} 1\n");
    expect_error(text, "more than");

    /* an unterminated quote running to the end of a big body */
    n = (size_t)snprintf(text, big, "m{a=\"");
    memset(text + n, 'x', big - n - 1);
    text[big - 1] = '\0';
    assert_int_equal(parse(text), -1);
    test_free(text);
}

static void test_promtext_nul_byte_rejected(void **state)
{
    const char text[] = "m 1\n\0n 2\n";
    (void)state;
    nkept = 0;
    assert_int_equal(promtext_parse(text, sizeof text - 1, keep, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL"));
}

static int stop_at_second(void *ctx, const struct promtext_sample *s, char *e, size_t elen)
{
    int *count = ctx;
    (void)s;
    if (++*count == 2) {
        snprintf(e, elen, "enough");
        return -1;
    }
    return 0;
}

static void test_promtext_callback_can_stop(void **state)
{
    int count = 0;
    (void)state;
    assert_int_equal(promtext_parse("a 1\nb 2\nc 3\n", 12, stop_at_second, &count, err, sizeof err), -1);
    assert_int_equal(count, 2);
    assert_string_equal(err, "enough");
}

static void test_promtext_labels_format_limits(void **state)
{
    struct promtext_label l[2] = {{"b", "2"}, {"a", "1"}};
    char out[32];
    (void)state;
    assert_int_equal(promtext_labels_format(l, 2, out, sizeof out), 0);
    assert_string_equal(out, "{a=\"1\",b=\"2\"}");
    assert_int_equal(promtext_labels_format(l, 2, out, 8), -1);
    assert_true(promtext_valid_metric_name("a:b_c1"));
    assert_false(promtext_valid_label_name("a:b"));
    assert_false(promtext_valid_metric_name(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promtext_reads_families_and_types),
        cmocka_unit_test(test_promtext_special_values),
        cmocka_unit_test(test_promtext_label_escapes_and_canonical_order),
        cmocka_unit_test(test_promtext_rejects_malformed_lines),
        cmocka_unit_test(test_promtext_hostile_sizes),
        cmocka_unit_test(test_promtext_nul_byte_rejected),
        cmocka_unit_test(test_promtext_callback_can_stop),
        cmocka_unit_test(test_promtext_labels_format_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
