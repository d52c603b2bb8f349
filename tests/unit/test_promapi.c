/* Unit tests for promapi: query_range answers as Prometheus writes them (several
 * instances, NaN and infinities, warnings, errors), malformed answers named by field,
 * counter resets, and the sum over instances with holes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/promapi.h"

static char err[1024];

static int parse(const char *body, struct promapi_result *r)
{
    return promapi_parse_matrix(body, strlen(body), r, err, sizeof err);
}

static void test_promapi_parses_a_matrix_of_instances(void **state)
{
    struct promapi_result r;
    (void)state;
    assert_int_equal(parse("{\"status\":\"success\",\"warnings\":[\"partial data\",\"store down\"],"
                           "\"data\":{\"resultType\":\"matrix\",\"result\":["
                           "{\"metric\":{\"__name__\":\"orderd_threads\",\"job\":\"orderd\",\"instance\":\"a:6060\"},"
                           "\"values\":[[1700000000,\"12\"],[1700000001.5,\"NaN\"],[1700000003,\"+Inf\"]]},"
                           "{\"metric\":{\"instance\":\"b:6060\",\"quote\":\"x\\\"y\"},"
                           "\"values\":[[1700000000,\"-Inf\"],[1700000001,\"1e3\"]]}]}}", &r), 0);
    assert_int_equal(r.nseries, 2);
    assert_string_equal(r.series[0].name, "orderd_threads");
    assert_string_equal(r.series[0].instance, "a:6060");
    assert_string_equal(r.series[0].labels, "{instance=\"a:6060\",job=\"orderd\"}");
    assert_int_equal(r.series[0].n, 3);
    assert_float_equal(r.series[0].t[1], 1700000001.5, 1e-6);
    assert_float_equal(r.series[0].v[0], 12, 0);
    assert_true(isnan(r.series[0].v[1]));
    assert_true(isinf(r.series[0].v[2]) && r.series[0].v[2] > 0);
    assert_string_equal(r.series[1].name, "");
    assert_string_equal(r.series[1].labels, "{instance=\"b:6060\",quote=\"x\\\"y\"}");
    assert_true(isinf(r.series[1].v[0]) && r.series[1].v[0] < 0);
    assert_float_equal(r.series[1].v[1], 1000, 0);
    assert_string_equal(r.warnings, "partial data; store down");
    promapi_result_free(&r);
    /* an empty matrix is a valid answer (nothing matched) */
    assert_int_equal(parse("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", &r), 0);
    assert_int_equal(r.nseries, 0);
    promapi_result_free(&r);
}

static void test_promapi_errors_name_what_is_wrong(void **state)
{
    static const struct {
        const char *body, *expect;
    } cases[] = {
        {"<html>", "not JSON"},
        {"{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error\"}",
         "bad_data: 1:5: parse error"},
        {"{\"data\":{}}", "no \"status\":\"success\""},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", "not \"matrix\""},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":{}}}", "data.result"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[7]}}", "result[0]: not an object"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":1},"
         "\"values\":[]}]}}", "result[0].metric.a: not a string"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[1,\"2\"],[2,3]]}]}}", "result[0].values[1]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[1,\"2\"],[2,\"3x\"]]}]}}", "result[0].values[1]"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
         "\"values\":[[2,\"2\"],[1,\"3\"]]}]}}", "time not after"},
        {"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{}}]}}",
         "result[0].values: missing"},
    };
    struct promapi_result r;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (parse(cases[i].body, &r) != -1 || !strstr(err, cases[i].expect))
            fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].expect, err);
        assert_null(r.series);
    }
}

static void test_promapi_refuses_too_many_series(void **state)
{
    size_t cap = (PROMAPI_MAX_SERIES + 1) * 40 + 200, used = 0;
    char *body = malloc(cap);
    struct promapi_result r;
    (void)state;
    assert_non_null(body);
    used += (size_t)snprintf(body, cap, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[");
    for (int i = 0; i <= PROMAPI_MAX_SERIES; i++)
        used += (size_t)snprintf(body + used, cap - used, "%s{\"metric\":{},\"values\":[]}", i ? "," : "");
    snprintf(body + used, cap - used, "]}}");
    assert_int_equal(parse(body, &r), -1);
    assert_non_null(strstr(err, "more than"));
    free(body);
}

static void test_promapi_counter_resets(void **state)
{
    double t[] = {0, 1, 2, 3, 4, 5, 6}, v[] = {10, 20, 5, 15, NAN, 3, 4};
    struct promapi_series s = {.t = t, .v = v, .n = 7};
    (void)state;
    /* restarts after 20 and after 15 (the NaN hole does not hide the second one) */
    assert_int_equal(promapi_counter_unreset(&s), 2);
    assert_float_equal(v[1], 20, 0);
    assert_float_equal(v[2], 25, 0);
    assert_float_equal(v[3], 35, 0);
    assert_true(isnan(v[4]));
    assert_float_equal(v[5], 38, 0);
    assert_float_equal(v[6], 39, 0);
}

/* Three replicas; the second gone for a step, the third appearing late. */
static void test_promapi_sum_counts_instances_present(void **state)
{
    double t1[] = {10, 11, 12}, v1[] = {1, 2, 3};
    double t2[] = {10, 12}, v2[] = {10, 30};
    double t3[] = {12, 13}, v3[] = {100, NAN};
    struct promapi_series s[3] = {{.t = t1, .v = v1, .n = 3}, {.t = t2, .v = v2, .n = 2}, {.t = t3, .v = v3, .n = 2}};
    struct promapi_result r = {.series = s, .nseries = 3};
    double *t, *v;
    unsigned *present;
    size_t n;
    (void)state;
    assert_int_equal(promapi_sum(&r, &t, &v, &present, &n), 0);
    assert_int_equal(n, 4);
    double want_t[] = {10, 11, 12, 13}, want_v[] = {11, 2, 133, 0};
    unsigned want_present[] = {2, 1, 3, 0};
    for (size_t i = 0; i < n; i++) {
        assert_float_equal(t[i], want_t[i], 0);
        assert_float_equal(v[i], want_v[i], 0);
        assert_int_equal(present[i], want_present[i]);
    }
    free(t);
    free(v);
    free(present);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promapi_parses_a_matrix_of_instances),
        cmocka_unit_test(test_promapi_errors_name_what_is_wrong),
        cmocka_unit_test(test_promapi_refuses_too_many_series),
        cmocka_unit_test(test_promapi_counter_resets),
        cmocka_unit_test(test_promapi_sum_counts_instances_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
