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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrkres_parses_summary),
        cmocka_unit_test(test_wrkres_null_latency_is_nan),
        cmocka_unit_test(test_wrkres_rejects_bad_documents),
        cmocka_unit_test(test_wrkres_load_limits_size),
        cmocka_unit_test(test_wrkres_wrapper_mentions_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
