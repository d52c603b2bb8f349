/* Unit tests for wrkres: the wrk summary document and the figures derived from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/wrkres.h"

static char err[512];

static const char good[] =
    "{\"duration_us\":8001234,\"requests\":16000,\"bytes\":3200000,"
    "\"errors\":{\"connect\":0,\"read\":2,\"write\":0,\"status\":38,\"timeout\":0},"
    "\"latency_us\":{\"min\":90,\"max\":45000,\"mean\":800.5,\"stdev\":300,"
    "\"p50\":700,\"p75\":900,\"p90\":1200,\"p99\":5000,\"p999\":20000}}\n";

static void test_wrkres_parses_summary(void **state)
{
    struct wrkres r;
    (void)state;
    assert_int_equal(wrkres_parse(good, strlen(good), &r, err, sizeof err), 0);
    assert_float_equal(r.duration_s, 8.001234, 1e-9);
    assert_int_equal(r.requests, 16000);
    assert_int_equal(r.errors_status, 38);
    assert_int_equal(r.errors_read, 2);
    assert_float_equal(r.latency_p99, 0.005, 1e-12);
    assert_float_equal(r.latency_p999, 0.020, 1e-12);
    assert_float_equal(r.latency_mean, 0.0008005, 1e-12);
    assert_float_equal(wrkres_throughput(&r), 16000 / 8.001234, 1e-6);
    assert_int_equal(wrkres_errors(&r), 40);
    assert_float_equal(wrkres_error_rate(&r), 40.0 / 16002, 1e-12);
}

static void test_wrkres_null_latency_is_nan(void **state)
{
    const char *text = "{\"duration_us\":1000000,\"requests\":0,\"bytes\":0,"
                       "\"errors\":{\"connect\":5,\"read\":0,\"write\":0,\"status\":0,\"timeout\":0},"
                       "\"latency_us\":{\"min\":null,\"max\":0,\"mean\":null,\"stdev\":null,"
                       "\"p50\":0,\"p75\":0,\"p90\":0,\"p99\":0,\"p999\":0}}";
    struct wrkres r;
    (void)state;
    assert_int_equal(wrkres_parse(text, strlen(text), &r, err, sizeof err), 0);
    assert_true(isnan(r.latency_mean));
    assert_float_equal(wrkres_error_rate(&r), 1.0, 0);
    assert_float_equal(wrkres_throughput(&r), 0.0, 0);
}

static void test_wrkres_rejects_bad_documents(void **state)
{
    struct wrkres r = {.requests = 77};
    (void)state;
    assert_int_equal(wrkres_parse("not json", 8, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "not JSON"));
    assert_int_equal(wrkres_parse("{\"requests\":1}", 14, &r, err, sizeof err), -1);
    assert_int_equal(wrkres_parse("[]", 2, &r, err, sizeof err), -1);
    {
        char bad[sizeof good + 8];
        snprintf(bad, sizeof bad, "%s", good);
        memcpy(strstr(bad, "16000"), "-1600", 5);
        assert_int_equal(wrkres_parse(bad, strlen(bad), &r, err, sizeof err), -1);
        assert_non_null(strstr(err, "requests"));
    }
    assert_int_equal(r.requests, 77);
}

static void test_wrkres_load_limits_size(void **state)
{
    char path[] = "/tmp/wrkres-test-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    struct wrkres r;
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    for (int i = 0; i < WRKRES_MAX_SUMMARY / 8 + 2; i++)
        fputs("        ", f);
    fclose(f);
    assert_int_equal(wrkres_load(path, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than"));
    f = fopen(path, "w");
    fputs(good, f);
    fclose(f);
    assert_int_equal(wrkres_load(path, &r, err, sizeof err), 0);
    assert_int_equal(r.requests, 16000);
    unlink(path);
    assert_int_equal(wrkres_load(path, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "no summary"));
}

static void test_wrkres_wrapper_mentions_environment(void **state)
{
    (void)state;
    assert_non_null(strstr(wrkres_lua_wrapper, WRKRES_ENV_SUMMARY));
    assert_non_null(strstr(wrkres_lua_wrapper, "dofile"));
    assert_non_null(strstr(wrkres_lua_wrapper, "percentile(99.9)"));
}

/* Load spread over two generators: counts summed, the mean weighted, percentiles the
 * worst of the two (never averaged), min and max the extremes. */
static void test_wrkres_merge_sums_counts_and_keeps_worst_percentiles(void **state)
{
    struct wrkres fleet = {0};
    struct wrkres a = {.duration_s = 10.0, .requests = 300, .bytes = 3000, .errors_status = 3,
                       .latency_min = 0.001, .latency_mean = 0.010, .latency_stdev = 0.0, .latency_max = 0.050,
                       .latency_p50 = 0.009, .latency_p75 = 0.011, .latency_p90 = 0.015, .latency_p99 = 0.040,
                       .latency_p999 = 0.049};
    struct wrkres b = {.duration_s = 10.2, .requests = 100, .bytes = 1000, .errors_timeout = 1,
                       .latency_min = 0.002, .latency_mean = 0.020, .latency_stdev = 0.0, .latency_max = 0.090,
                       .latency_p50 = 0.019, .latency_p75 = 0.021, .latency_p90 = 0.025, .latency_p99 = 0.030,
                       .latency_p999 = 0.089};
    (void)state;
    wrkres_merge(&fleet, &a);
    wrkres_merge(&fleet, &b);
    assert_int_equal(fleet.requests, 400);
    assert_int_equal(fleet.bytes, 4000);
    assert_int_equal(fleet.errors_status, 3);
    assert_int_equal(fleet.errors_timeout, 1);
    assert_float_equal(fleet.duration_s, 10.2, 1e-12);
    assert_float_equal(fleet.latency_mean, 0.0125, 1e-12);
    /* pooled: two constant groups 10 ms apart, weights 3:1 */
    assert_float_equal(fleet.latency_stdev, sqrt(0.75 * 0.25) * 0.010, 1e-12);
    assert_float_equal(fleet.latency_min, 0.001, 1e-12);
    assert_float_equal(fleet.latency_max, 0.090, 1e-12);
    assert_float_equal(fleet.latency_p50, 0.019, 1e-12);
    assert_float_equal(fleet.latency_p99, 0.040, 1e-12);   /* a's, the worse */
    assert_float_equal(fleet.latency_p999, 0.089, 1e-12);
    assert_float_equal(wrkres_throughput(&fleet), 400 / 10.2, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrkres_parses_summary),
        cmocka_unit_test(test_wrkres_null_latency_is_nan),
        cmocka_unit_test(test_wrkres_rejects_bad_documents),
        cmocka_unit_test(test_wrkres_load_limits_size),
        cmocka_unit_test(test_wrkres_wrapper_mentions_environment),
        cmocka_unit_test(test_wrkres_merge_sums_counts_and_keeps_worst_percentiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
