/* Tests for series: the one time-series type's computations on points with known
 * answers — label values, counter rates across a reset, sums, windows of counters and
 * gauges, values between points, increases, the least-squares fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/series.h"

/* cmocka's float comparison works in float; these figures need double. */
#define assert_near(a, b, eps) near_or_fail((a), (b), (eps), #a, __LINE__)
static void near_or_fail(double a, double b, double eps, const char *what, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("line %d: %s = %.12g, expected %.12g", line, what, a, b);
}

static void test_series_label_value_reads_canonical_labels(void **state)
{
    char v[16];
    (void)state;
    assert_int_equal(series_label_value("{code=\"503\",route=\"x\"}", "route", v, sizeof v), 0);
    assert_string_equal(v, "x");
    assert_int_equal(series_label_value("{a=\"q\\\"u\\\\o\\nte\",b=\"2\"}", "a", v, sizeof v), 0);
    assert_string_equal(v, "q\"u\\o\nte");
    assert_int_equal(series_label_value("{a=\"1\"}", "b", v, sizeof v), 1);
    assert_int_equal(series_label_value("", "a", v, sizeof v), 1);
    assert_int_equal(series_label_value("{a=\"unterminated}", "a", v, sizeof v), -1);
    assert_int_equal(series_label_value("{a=\"far too long for the buffer\"}", "a", v, sizeof v), -1);
}

static void test_series_rate_counts_a_drop_as_a_reset(void **state)
{
    double t[] = {0, 1, 2, 3, 4}, v[] = {0, 10, 20, 5, 15}, starts[8], rates[8];
    struct series counter = {.t = t, .v = v, .n = 5}, rate;
    (void)state;
    /* A drop from 20 to 5 is a restart that counted 5 since: 5 per second. */
    assert_int_equal(series_rate(&counter, 0, 1, &rate), 0);
    assert_int_equal(rate.n, 4);
    assert_near(rate.t[0], 0.5, 1e-12);
    assert_near(rate.v[1], 10, 1e-9);
    assert_near(rate.v[2], 5, 1e-9);
    series_release(&rate);
    /* The same as windows from a start, and the whole increase. */
    assert_int_equal(series_counter_windows(&counter, -5, 1, starts, rates, 8), 4);
    assert_near(starts[0], 0, 1e-12);
    assert_near(rates[2], 5, 1e-9);
    assert_int_equal(series_counter_windows(&counter, 0, 1, starts, rates, 2), 2);
    assert_near(series_increase(&counter, 0, 4), 10 + 10 + 5 + 10, 1e-12);
    assert_near(series_increase(&counter, 1, 2), 10, 1e-12);
    assert_near(series_increase(&counter, 4, 9), 0, 0);
}

/* One segment of a run: the points from its start up to, not including, its end. */
static void test_series_keep_between_keeps_one_segment(void **state)
{
    struct series s = {0};
    (void)state;
    for (int i = 0; i < 8; i++)
        assert_int_equal(series_push(&s, i, 100 + i), 0);
    series_keep_between(&s, 2, 5);
    assert_int_equal(s.n, 3);
    assert_near(s.t[0], 2, 0);
    assert_near(s.v[2], 104, 0);
    series_keep_between(&s, 0, INFINITY);
    assert_int_equal(s.n, 3);
    series_keep_between(&s, 10, INFINITY);
    assert_int_equal(s.n, 0);
    series_release(&s);
}

static void test_series_sum_and_groups(void **state)
{
    struct series_set set = {0};
    struct series *a, *b, sum;
    (void)state;
    assert_non_null(a = series_set_group(&set, "b"));
    assert_int_equal(series_add_at(a, 0, 1), 0);
    assert_int_equal(series_add_at(a, 0, 2), 0);  /* the same scrape: summed */
    assert_int_equal(series_add_at(a, 2, 4), 0);
    assert_non_null(b = series_set_group(&set, "a"));
    assert_int_equal(series_push(b, 1, 10), 0);
    assert_ptr_equal(series_set_group(&set, "b"), &set.items[0]);
    series_set_sort(&set);
    assert_string_equal(set.items[0].name, "a");
    assert_int_equal(set.items[1].n, 2);
    assert_near(set.items[1].v[0], 3, 0);
    assert_int_equal(series_sum(&set, NULL, &sum), 0);
    assert_int_equal(sum.n, 3);
    assert_near(sum.v[1], 10, 0);
    series_release(&sum);
    series_set_release(&set);
    assert_int_equal(set.n, 0);
    for (int i = 0; i < SERIES_MAX_GROUPS + 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "g%02d", i);
        assert_non_null(series_set_group(&set, name));
    }
    assert_int_equal(set.n, SERIES_MAX_GROUPS + 1);  /* the rest went to "other" */
    assert_string_equal(set.items[SERIES_MAX_GROUPS].name, "other");
    series_set_release(&set);
}

static void test_series_gauge_between_points(void **state)
{
    double t[] = {0, 1, 3}, v[] = {10, 12, 20}, starts[8], rates[8];
    struct series g = {.t = t, .v = v, .n = 3}, empty = {0};
    (void)state;
    assert_near(series_at(&g, -1), 10, 0);
    assert_near(series_at(&g, 0.5), 11, 1e-12);
    assert_near(series_at(&g, 2), 16, 1e-12);
    assert_near(series_at(&g, 9), 20, 0);
    assert_true(isnan(series_at(&empty, 1)));
    assert_near(series_max(&g), 20, 0);
    assert_near(series_min(&g), 10, 0);
    assert_true(isinf(series_max(&empty)) && series_max(&empty) < 0);
    assert_int_equal(series_gauge_windows(&g, 0, 1, starts, rates, 8), 3);
    assert_near(rates[0], 2, 1e-12);
    assert_near(rates[1], 4, 1e-12);
    assert_near(starts[2], 2, 1e-12);
    assert_int_equal(series_gauge_windows(&g, 0, 1, starts, rates, 1), 1);
}

static void test_series_fit_needs_two_points(void **state)
{
    double t[] = {0, 1, 2, 3, 4, 5}, v[] = {1, 3, 5, 7, 9, 11};
    struct series line = {.t = t, .v = v, .n = 6};
    double slope, at;
    (void)state;
    assert_int_equal(series_fit(&line, 2, 5, &slope, &at), 0);
    assert_near(slope, 2, 1e-12);
    assert_near(at, 5, 1e-12);
    assert_int_equal(series_fit(&line, 4.5, 5, &slope, &at), -1);  /* one point */
}

static void test_series_quantiles_from_buckets(void **state)
{
    /* 10 observations a second: 5 under 0.1, 9 under 0.2, all under +Inf. */
    double t[] = {0, 1, 2}, le1[] = {0, 5, 10}, le2[] = {0, 9, 18}, inf[] = {0, 10, 20};
    struct series items[3] = {{.t = t, .v = le1, .n = 3}, {.t = t, .v = le2, .n = 3}, {.t = t, .v = inf, .n = 3}};
    struct series_set set = {.items = items, .n = 3};
    static const double q[] = {0.5, 0.95};
    struct series out[2];
    char err[128];
    (void)state;
    snprintf(items[0].name, sizeof items[0].name, "0.1");
    snprintf(items[1].name, sizeof items[1].name, "0.2");
    snprintf(items[2].name, sizeof items[2].name, "+Inf");
    assert_int_equal(series_quantiles(&set, 0, 1, q, 2, out, err, sizeof err), 0);
    assert_int_equal(out[0].n, 2);
    assert_near(out[0].t[0], 0.5, 1e-12);
    assert_near(out[0].v[0], 0.1, 1e-12);  /* rank 5: the top of the first bucket */
    assert_near(out[1].v[1], 0.2, 1e-12);  /* rank 9.5 lands in +Inf */
    assert_string_equal(out[1].name, "p95");
    series_release(&out[0]);
    series_release(&out[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_label_value_reads_canonical_labels),
        cmocka_unit_test(test_series_rate_counts_a_drop_as_a_reset),
        cmocka_unit_test(test_series_keep_between_keeps_one_segment),
        cmocka_unit_test(test_series_sum_and_groups),
        cmocka_unit_test(test_series_gauge_between_points),
        cmocka_unit_test(test_series_fit_needs_two_points),
        cmocka_unit_test(test_series_quantiles_from_buckets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
