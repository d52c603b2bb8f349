/* Unit tests for changepoint: E-divisive means on seeded synthetic histories with known
 * shifts (where they are found), known nulls (how often a point is invented), and the
 * refusals of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/significance.h"
#include "judge/changepoint.h"

static char err[256];

/* n values of noise with standard deviation sd around level, from a seeded generator. */
static void noise(double *x, size_t n, double level, double sd, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = level + sd * significance_rng_normal(rng);
}

static void test_changepoint_finds_one_step_where_it_is(void **state)
{
    double x[60];
    struct changepoint cp[8];
    size_t n = 0;
    uint64_t rng = 11;
    (void)state;
    noise(x, 30, 1000, 10, &rng);
    noise(x + 30, 30, 960, 10, &rng); /* a 4% loss at run 30 */
    assert_int_equal(changepoint_find(x, 60, NULL, cp, 8, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_true(cp[0].index >= 29 && cp[0].index <= 31);
    assert_true(cp[0].p <= 0.05);
    assert_true(fabs(cp[0].before_mean - 1000) < 8);
    assert_true(fabs(cp[0].after_mean - 960) < 8);
}

static void test_changepoint_finds_two_steps_in_order(void **state)
{
    double x[90];
    struct changepoint cp[8];
    size_t n = 0;
    uint64_t rng = 5;
    (void)state;
    noise(x, 30, 100, 2, &rng);
    noise(x + 30, 30, 110, 2, &rng);
    noise(x + 60, 30, 100, 2, &rng); /* regressed, then fixed */
    assert_int_equal(changepoint_find(x, 90, NULL, cp, 8, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_true(cp[0].index >= 28 && cp[0].index <= 32);
    assert_true(cp[1].index >= 58 && cp[1].index <= 62);
    assert_true(cp[0].after_mean > cp[0].before_mean);
    assert_true(cp[1].after_mean < cp[1].before_mean);
}

/* A slow drift of many small regressions, each one under the noise, is still found:
 * the level after the first point is lower than before it. */
static void test_changepoint_finds_a_slow_drift(void **state)
{
    double x[80];
    struct changepoint cp[8];
    size_t n = 0;
    uint64_t rng = 17;
    (void)state;
    for (size_t i = 0; i < 80; i++)
        x[i] = 1000 * (1 - 0.002 * (double)i) + 5 * significance_rng_normal(&rng); /* -0.2% a run */
    assert_int_equal(changepoint_find(x, 80, NULL, cp, 8, &n, err, sizeof err), 0);
    assert_true(n >= 1);
    assert_true(cp[0].after_mean < cp[0].before_mean);
}

/* A change of spread alone (the same mean) is a change in distribution. */
static void test_changepoint_finds_a_change_of_spread(void **state)
{
    double x[80];
    struct changepoint cp[8];
    size_t n = 0;
    uint64_t rng = 23;
    (void)state;
    noise(x, 40, 50, 0.5, &rng);
    noise(x + 40, 40, 50, 8, &rng);
    assert_int_equal(changepoint_find(x, 80, NULL, cp, 8, &n, err, sizeof err), 0);
    assert_true(n >= 1);
    assert_true(cp[0].index >= 36 && cp[0].index <= 44);
}

/* Known nulls: flat noisy histories get a point in about alpha of the cases, not more. */
static void test_changepoint_rarely_invents_a_point(void **state)
{
    double x[50];
    struct changepoint cp[8];
    size_t n = 0, with_points = 0;
    uint64_t rng = 99;
    (void)state;
    for (int trial = 0; trial < 40; trial++) {
        noise(x, 50, 200, 15, &rng);
        struct changepoint_options o = {.seed = (uint64_t)trial + 1};
        assert_int_equal(changepoint_find(x, 50, &o, cp, 8, &n, err, sizeof err), 0);
        with_points += n > 0;
    }
    /* alpha 0.05 of 40 is 2 expected; 6 or more has probability under 2% */
    assert_true(with_points <= 5);
}

static void test_changepoint_same_input_same_answer(void **state)
{
    double x[40];
    struct changepoint a[4], b[4];
    size_t na = 0, nb = 0;
    uint64_t rng = 3;
    (void)state;
    noise(x, 20, 10, 1, &rng);
    noise(x + 20, 20, 11, 1, &rng);
    assert_int_equal(changepoint_find(x, 40, NULL, a, 4, &na, err, sizeof err), 0);
    assert_int_equal(changepoint_find(x, 40, NULL, b, 4, &nb, err, sizeof err), 0);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].index, b[i].index);
        assert_float_equal(a[i].p, b[i].p, 0);
    }
}

static void test_changepoint_short_or_capped(void **state)
{
    double x[60];
    struct changepoint cp[2];
    size_t n = 7;
    uint64_t rng = 8;
    (void)state;
    /* fewer than two segments' worth: nothing to find, not an error */
    noise(x, 9, 1, 0.1, &rng);
    assert_int_equal(changepoint_find(x, 9, NULL, cp, 2, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    /* three steps, room for one: the strongest is kept */
    noise(x, 15, 0, 0.1, &rng);
    noise(x + 15, 15, 1, 0.1, &rng);
    noise(x + 30, 15, 10, 0.1, &rng);
    noise(x + 45, 15, 11, 0.1, &rng);
    assert_int_equal(changepoint_find(x, 60, NULL, cp, 1, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_true(cp[0].index >= 29 && cp[0].index <= 31);
}

static void test_changepoint_refuses_bad_input(void **state)
{
    double x[20] = {0}, *big;
    struct changepoint cp[2];
    size_t n = 0;
    struct changepoint_options o = {.min_segment = 1};
    (void)state;
    x[7] = NAN;
    assert_int_equal(changepoint_find(x, 20, NULL, cp, 2, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "value 7"));
    x[7] = INFINITY;
    assert_int_equal(changepoint_find(x, 20, NULL, cp, 2, &n, err, sizeof err), -1);
    x[7] = 0;
    assert_int_equal(changepoint_find(x, 20, &o, cp, 2, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "min_segment"));
    o = (struct changepoint_options){.alpha = 1.5};
    assert_int_equal(changepoint_find(x, 20, &o, cp, 2, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "alpha"));
    o = (struct changepoint_options){.permutations = CHANGEPOINT_MAX_PERMUTATIONS + 1};
    assert_int_equal(changepoint_find(x, 20, &o, cp, 2, &n, err, sizeof err), -1);
    big = calloc(CHANGEPOINT_MAX_VALUES + 1, sizeof *big);
    assert_non_null(big);
    assert_int_equal(changepoint_find(big, CHANGEPOINT_MAX_VALUES + 1, NULL, cp, 2, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changepoint_finds_one_step_where_it_is),
        cmocka_unit_test(test_changepoint_finds_two_steps_in_order),
        cmocka_unit_test(test_changepoint_finds_a_slow_drift),
        cmocka_unit_test(test_changepoint_finds_a_change_of_spread),
        cmocka_unit_test(test_changepoint_rarely_invents_a_point),
        cmocka_unit_test(test_changepoint_same_input_same_answer),
        cmocka_unit_test(test_changepoint_short_or_capped),
        cmocka_unit_test(test_changepoint_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
