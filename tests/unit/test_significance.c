/* Unit tests for significance: medians, the Mann-Whitney U test against values from
 * its tables, and the bootstrap interval on seeded synthetic samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "base/significance.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_significance_median_odd_even_and_refusals(void **state)
{
    double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2}, nan[] = {1, NAN}, m = 42;
    (void)state;
    assert_int_equal(significance_median(odd, N(odd), &m), 0);
    assert_float_equal(m, 3, 0);
    assert_int_equal(significance_median(even, N(even), &m), 0);
    assert_float_equal(m, 2.5, 0);
    m = 42;
    assert_int_equal(significance_median(odd, 0, &m), -1);
    assert_int_equal(significance_median(nan, N(nan), &m), -1);
    assert_float_equal(m, 42, 0);
    /* the input is left in its order */
    assert_float_equal(odd[0], 5, 0);
}

static void test_significance_mann_whitney_exact_tails(void **state)
{
    double low[] = {1, 2, 3}, high[] = {4, 5, 6};
    double a5[] = {10, 11, 12, 13, 14}, b5[] = {20, 21, 22, 23, 24};
    double a4[] = {1, 2, 3, 5}, b4[] = {4, 6, 7, 8};
    struct significance_rank_test t;
    (void)state;
    /* complete separation of 3 and 3: 1 arrangement in C(6,3) = 20 */
    assert_int_equal(significance_mann_whitney(low, 3, high, 3, &t), 0);
    assert_true(t.exact);
    assert_float_equal(t.u, 0, 0);
    assert_float_equal(t.p_less, 1.0 / 20, 1e-12);
    assert_float_equal(t.p_greater, 1.0, 1e-12);
    /* 5 and 5: 1 in C(10,5) = 252, the smallest p a 5-run side can give */
    assert_int_equal(significance_mann_whitney(a5, 5, b5, 5, &t), 0);
    assert_float_equal(t.p_less, 1.0 / 252, 1e-12);
    assert_int_equal(significance_mann_whitney(b5, 5, a5, 5, &t), 0);
    assert_float_equal(t.u, 25, 0);
    assert_float_equal(t.p_greater, 1.0 / 252, 1e-12);
    /* 4 and 4 with U = 1: P(U <= 1) = 2 / C(8,4) = 2/70; P(U >= 1) = 69/70 */
    assert_int_equal(significance_mann_whitney(a4, 4, b4, 4, &t), 0);
    assert_float_equal(t.u, 1, 0);
    assert_float_equal(t.p_less, 2.0 / 70, 1e-12);
    assert_float_equal(t.p_greater, 69.0 / 70, 1e-12);
}

/* The normal approximation (forced by a tie) agrees with the exact tails on samples
 * large enough for it. */
static void test_significance_mann_whitney_normal_matches_exact(void **state)
{
    double x[40], y[40];
    struct significance_rank_test exact, approx;
    uint64_t rng = 7;
    (void)state;
    for (size_t i = 0; i < 40; i++) {
        x[i] = significance_rng_normal(&rng);
        y[i] = significance_rng_normal(&rng) + 0.4;
    }
    assert_int_equal(significance_mann_whitney(x, 40, y, 40, &exact), 0);
    assert_true(exact.exact);
    assert_true(exact.p_less < 0.2);
    {
        /* one tie, with the value nearest x[0], so U moves by half at most: off the
         * exact path with (nearly) the same data */
        double nearest = y[0];
        for (size_t i = 0; i < 40; i++) {
            if (i > 0 && fabs(x[i] - x[0]) < fabs(nearest - x[0]))
                nearest = x[i];
            if (fabs(y[i] - x[0]) < fabs(nearest - x[0]))
                nearest = y[i];
        }
        x[0] = nearest;
    }
    assert_int_equal(significance_mann_whitney(x, 40, y, 40, &approx), 0);
    assert_false(approx.exact);
    assert_float_equal(approx.p_less, exact.p_less, 0.01);
}

static void test_significance_mann_whitney_all_tied_gives_no_evidence(void **state)
{
    double x[] = {3, 3, 3}, y[] = {3, 3, 3, 3}, nan[] = {1, NAN};
    struct significance_rank_test t;
    (void)state;
    assert_int_equal(significance_mann_whitney(x, 3, y, 4, &t), 0);
    assert_float_equal(t.u, 6, 0);  /* every pair a tie: 12 pairs / 2 */
    assert_float_equal(t.p_less, 1, 0);
    assert_float_equal(t.p_greater, 1, 0);
    assert_int_equal(significance_mann_whitney(x, 0, y, 4, &t), -1);
    assert_int_equal(significance_mann_whitney(nan, 2, y, 4, &t), -1);
}

/* Under equal distributions one-sided p < 0.05 comes about 5% of the time: the test
 * is neither blind nor trigger-happy (seeded, so the count is fixed). */
static void test_significance_mann_whitney_false_positive_rate(void **state)
{
    uint64_t rng = 2024;
    int hits = 0;
    (void)state;
    for (int trial = 0; trial < 2000; trial++) {
        double x[8], y[8];
        struct significance_rank_test t;
        for (size_t i = 0; i < 8; i++) {
            x[i] = 100 + 5 * significance_rng_normal(&rng);
            y[i] = 100 + 5 * significance_rng_normal(&rng);
        }
        assert_int_equal(significance_mann_whitney(x, 8, y, 8, &t), 0);
        hits += t.p_less < 0.05;
    }
    assert_in_range(hits, 60, 140);  /* 5% of 2000 is 100 */
}

static void test_significance_bootstrap_brackets_ratio(void **state)
{
    double x[10], y[10], lo = 0, hi = 0, lo2 = 0, hi2 = 0, lo90, hi90;
    uint64_t rng = 99;
    (void)state;
    for (size_t i = 0; i < 10; i++) {
        x[i] = 1000 * (1 + 0.02 * significance_rng_normal(&rng));
        y[i] = 900 * (1 + 0.02 * significance_rng_normal(&rng));
    }
    assert_int_equal(significance_bootstrap_ratio(x, 10, y, 10, 2000, 0.95, 1, &lo, &hi), 0);
    assert_true(lo < 0.9 && hi > 0.9);
    assert_true(hi < 0.95 && lo > 0.85);
    /* the same data and seed give the same interval; a lower confidence a narrower one */
    assert_int_equal(significance_bootstrap_ratio(x, 10, y, 10, 2000, 0.95, 1, &lo2, &hi2), 0);
    assert_float_equal(lo, lo2, 0);
    assert_float_equal(hi, hi2, 0);
    assert_int_equal(significance_bootstrap_ratio(x, 10, y, 10, 2000, 0.90, 1, &lo90, &hi90), 0);
    assert_true(lo90 >= lo && hi90 <= hi);
}

static void test_significance_bootstrap_refusals(void **state)
{
    double x[] = {0, 0, 0}, y[] = {1, 2, 3}, lo = 7, hi = 7;
    (void)state;
    assert_int_equal(significance_bootstrap_ratio(x, 3, y, 3, 1000, 0.9, 1, &lo, &hi), -1);  /* median 0 */
    assert_int_equal(significance_bootstrap_ratio(y, 3, y, 3, 10, 0.9, 1, &lo, &hi), -1);
    assert_int_equal(significance_bootstrap_ratio(y, 3, y, 3, 1000, 1.5, 1, &lo, &hi), -1);
    assert_int_equal(significance_bootstrap_ratio(y, 0, y, 3, 1000, 0.9, 1, &lo, &hi), -1);
    assert_float_equal(lo, 7, 0);
    assert_float_equal(hi, 7, 0);
}

static void test_significance_rng_is_seeded_and_normal(void **state)
{
    uint64_t a = 5, b = 5;
    double sum = 0, sumsq = 0;
    (void)state;
    assert_true(significance_rng_next(&a) == significance_rng_next(&b));
    for (int i = 0; i < 100000; i++) {
        double u = significance_rng_uniform(&a), z = significance_rng_normal(&b);
        assert_true(u >= 0 && u < 1);
        sum += z;
        sumsq += z * z;
    }
    assert_float_equal(sum / 100000, 0, 0.02);
    assert_float_equal(sumsq / 100000, 1, 0.02);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_significance_median_odd_even_and_refusals),
        cmocka_unit_test(test_significance_mann_whitney_exact_tails),
        cmocka_unit_test(test_significance_mann_whitney_normal_matches_exact),
        cmocka_unit_test(test_significance_mann_whitney_all_tied_gives_no_evidence),
        cmocka_unit_test(test_significance_mann_whitney_false_positive_rate),
        cmocka_unit_test(test_significance_bootstrap_brackets_ratio),
        cmocka_unit_test(test_significance_bootstrap_refusals),
        cmocka_unit_test(test_significance_rng_is_seeded_and_normal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
