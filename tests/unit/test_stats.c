/* Unit tests for stats: slopes, counter rates, saturation and windows on known series. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "base/stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_stats_slope_exact_line(void **state)
{
    double x[] = {0, 1, 2, 3, 4}, y[] = {10, 12, 14, 16, 18}, s = 0;
    (void)state;
    assert_int_equal(stats_slope(x, y, N(x), &s), 0);
    assert_float_equal(s, 2.0, 1e-12);
}

static void test_stats_slope_ignores_end_noise_better_than_endpoints(void **state)
{
    /* 0.5/s growth with one outlier at the end: last-minus-first would say 2.5/s */
    double x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, y[10], s = 0;
    (void)state;
    for (int i = 0; i < 10; i++)
        y[i] = 100 + 0.5 * i;
    y[9] += 18;
    assert_int_equal(stats_slope(x, y, N(x), &s), 0);
    assert_true(s < 2.0 && s > 0.5);
}

static void test_stats_slope_flat_and_degenerate(void **state)
{
    double x[] = {0, 0.25, 0.5, 0.75}, y[] = {7, 7, 7, 7}, same[] = {1, 1, 1}, s = 42;
    (void)state;
    assert_int_equal(stats_slope(x, y, N(x), &s), 0);
    assert_float_equal(s, 0.0, 1e-12);
    s = 42;
    assert_int_equal(stats_slope(x, y, 1, &s), -1);
    assert_int_equal(stats_slope(same, y, 3, &s), -1);
    assert_float_equal(s, 42, 0);
}

static void test_stats_mean_max_skip_nan(void **state)
{
    double y[] = {1, NAN, 5, 3}, nans[] = {NAN, NAN}, v = 0;
    (void)state;
    assert_int_equal(stats_mean(y, N(y), &v), 0);
    assert_float_equal(v, 3.0, 1e-12);
    assert_int_equal(stats_max(y, N(y), &v), 0);
    assert_float_equal(v, 5.0, 0);
    assert_int_equal(stats_mean(nans, 2, &v), -1);
    assert_int_equal(stats_max(nans, 2, &v), -1);
}

static void test_stats_counter_increase_handles_reset(void **state)
{
    double y[] = {100, 150, 20, 50}, x[] = {0, 1, 2, 3}, v = 0;
    (void)state;
    assert_int_equal(stats_counter_increase(y, N(y), &v), 0);
    assert_float_equal(v, 50 + 20 + 30, 1e-12);
    assert_int_equal(stats_counter_rate(x, y, N(x), &v), 0);
    assert_float_equal(v, 100.0 / 3, 1e-12);
    assert_int_equal(stats_counter_rate(x, y, 1, &v), -1);
}

static void test_stats_saturation_share(void **state)
{
    double depth[] = {0, 10, 58, 64, 64, 30}, cap[] = {64, 64, 64, 64, 64, 64};
    double nocap[] = {0, 0}, v = 0;
    (void)state;
    /* 0.9 * 64 = 57.6: 58, 64, 64 are saturated */
    assert_int_equal(stats_share_at_or_above(depth, cap, N(depth), 0.9, &v), 0);
    assert_float_equal(v, 0.5, 1e-12);
    assert_int_equal(stats_share_at_or_above(depth, nocap, 2, 0.9, &v), -1);
}

static void test_stats_window_rates_interpolate(void **state)
{
    /* a counter at 100/s sampled every 0.3 s, starting at t = 0.1 */
    double x[13], y[13], starts[8], rates[8];
    size_t n;
    (void)state;
    for (int i = 0; i < 13; i++) {
        x[i] = 0.1 + 0.3 * i;
        y[i] = 1000 + 100 * x[i];
    }
    n = stats_window_rates(x, y, 13, 0.5, 3.5, 1.0, starts, rates, 8);
    assert_int_equal(n, 3);
    assert_float_equal(starts[0], 0.5, 1e-12);
    assert_float_equal(starts[2], 2.5, 1e-12);
    for (size_t i = 0; i < n; i++)
        assert_float_equal(rates[i], 100.0, 1e-9);
    /* windows before the first sample are skipped, not extrapolated */
    n = stats_window_rates(x, y, 13, 0.0, 3.4, 1.0, starts, rates, 8);
    assert_int_equal(n, 2);
    assert_float_equal(starts[0], 1.0, 1e-12);
    assert_int_equal(stats_window_rates(x, y, 1, 0, 10, 1, starts, rates, 8), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_slope_exact_line),
        cmocka_unit_test(test_stats_slope_ignores_end_noise_better_than_endpoints),
        cmocka_unit_test(test_stats_slope_flat_and_degenerate),
        cmocka_unit_test(test_stats_mean_max_skip_nan),
        cmocka_unit_test(test_stats_counter_increase_handles_reset),
        cmocka_unit_test(test_stats_saturation_share),
        cmocka_unit_test(test_stats_window_rates_interpolate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
