/* Unit tests for paired: the signed-rank test against its distribution worked out by
 * hand, the normal approximation, and the Hodges-Lehmann interval's coverage on seeded
 * synthetic pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "base/paired.h"
#include "base/significance.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* For 5 pairs the 32 sign patterns give W+ = 0..15 with counts
 * 1 1 1 2 2 3 3 3 3 3 3 2 2 1 1 1. */
static void test_paired_signed_rank_exact_small(void **state)
{
    double all_up[] = {1, 2, 3, 4, 5}, mixed[] = {-1, 2, 3, -4, 5};
    struct paired_test t;
    (void)state;
    assert_int_equal(paired_signed_rank(all_up, N(all_up), &t), 0);
    assert_true(t.exact);
    assert_int_equal(t.n, 5);
    assert_float_equal(t.w_plus, 15, 0);
    assert_float_equal(t.p_greater, 1.0 / 32, 1e-12);
    assert_float_equal(t.p_less, 1, 1e-12);
    assert_int_equal(paired_signed_rank(mixed, N(mixed), &t), 0);
    assert_float_equal(t.w_plus, 10, 0);
    assert_float_equal(t.p_greater, 10.0 / 32, 1e-12);
    assert_float_equal(t.p_less, 25.0 / 32, 1e-12);
}

static void test_paired_signed_rank_drops_zeros_and_handles_ties(void **state)
{
    double zeros[] = {0, 0, 1, 2}, none[] = {0, 0, 0}, tied[] = {1, 1, 1, 1, 1, 1, 1, 1, -1};
    struct paired_test t;
    (void)state;
    assert_int_equal(paired_signed_rank(zeros, N(zeros), &t), 0);
    assert_int_equal(t.n, 2);
    assert_float_equal(t.p_greater, 0.25, 1e-12);
    assert_int_equal(paired_signed_rank(none, N(none), &t), 0);
    assert_int_equal(t.n, 0);
    assert_float_equal(t.p_greater, 1, 0);
    assert_float_equal(t.p_less, 1, 0);
    /* ties among magnitudes: the normal approximation, 8 up and 1 down is evidence */
    assert_int_equal(paired_signed_rank(tied, N(tied), &t), 0);
    assert_false(t.exact);
    assert_float_equal(t.w_plus, 40, 0);
    assert_true(t.p_greater < 0.05);
    assert_true(t.p_less > 0.9);
}

/* Known nulls and known shifts, many of them: the level holds and the power is there. */
static void test_paired_signed_rank_level_and_power(void **state)
{
    double d[20];
    uint64_t rng = 7;
    int false_alarms = 0, detections = 0;
    struct paired_test t;
    (void)state;
    for (int trial = 0; trial < 400; trial++) {
        for (size_t i = 0; i < N(d); i++)
            d[i] = significance_rng_normal(&rng);
        assert_int_equal(paired_signed_rank(d, N(d), &t), 0);
        false_alarms += t.p_greater < 0.05;
        for (size_t i = 0; i < N(d); i++)
            d[i] = 1 + significance_rng_normal(&rng);
        assert_int_equal(paired_signed_rank(d, N(d), &t), 0);
        detections += t.p_greater < 0.05;
    }
    /* 5% of 400 is 20; a one-sigma shift over 20 pairs has power above 0.98 */
    assert_true(false_alarms >= 6 && false_alarms <= 34);
    assert_true(detections >= 380);
}

static void test_paired_signed_rank_normal_approximation(void **state)
{
    double d[80];
    uint64_t rng = 21;
    struct paired_test t;
    (void)state;
    for (size_t i = 0; i < N(d); i++)
        d[i] = -0.5 + significance_rng_normal(&rng);
    assert_int_equal(paired_signed_rank(d, N(d), &t), 0);
    assert_false(t.exact);
    assert_true(t.p_less < 0.01);
    assert_true(t.p_greater > 0.99);
}

static void test_paired_shift_estimate_and_bounds(void **state)
{
    double three[] = {1, 2, 3}, five[] = {1, 2, 3, 4, 5}, six[] = {4, 1, 6, 3, 2, 5};
    struct paired_shift s;
    (void)state;
    /* Walsh averages 1 1.5 2 2 2.5 3: median 2 */
    assert_int_equal(paired_shift(three, N(three), 0.9, &s), 0);
    assert_float_equal(s.estimate, 2, 1e-12);
    /* 5 pairs cannot give 95%: P(W+ = 0) = 1/32 > 0.025 */
    assert_int_equal(paired_shift(five, N(five), 0.95, &s), 0);
    assert_false(s.bounded);
    assert_true(isinf(s.low) && isinf(s.high));
    assert_float_equal(s.estimate, 3, 1e-12);
    /* 6 pairs can, just: the interval is the extreme Walsh averages */
    assert_int_equal(paired_shift(six, N(six), 0.95, &s), 0);
    assert_true(s.bounded);
    assert_float_equal(s.low, 1, 1e-12);
    assert_float_equal(s.high, 6, 1e-12);
    assert_float_equal(s.estimate, 3.5, 1e-12);
}

static void test_paired_shift_covers_the_true_shift(void **state)
{
    double d[15], big[70];
    uint64_t rng = 77;
    int covered = 0, covered_big = 0;
    struct paired_shift s;
    (void)state;
    for (int trial = 0; trial < 400; trial++) {
        for (size_t i = 0; i < N(d); i++)
            d[i] = 0.3 + significance_rng_normal(&rng);
        assert_int_equal(paired_shift(d, N(d), 0.9, &s), 0);
        assert_true(s.bounded && s.low <= s.estimate && s.estimate <= s.high);
        covered += s.low <= 0.3 && 0.3 <= s.high;
    }
    for (int trial = 0; trial < 100; trial++) {
        for (size_t i = 0; i < N(big); i++)
            big[i] = -2 + 0.1 * significance_rng_normal(&rng);
        assert_int_equal(paired_shift(big, N(big), 0.9, &s), 0);
        covered_big += s.low <= -2 && -2 <= s.high;
    }
    /* 90% of 400 is 360 (exact intervals are a little conservative) */
    assert_true(covered >= 340 && covered <= 385);
    assert_true(covered_big >= 80);
}

static void test_paired_refuses_bad_input(void **state)
{
    double nan[] = {1, NAN}, inf[] = {INFINITY}, ok[] = {1, 2};
    struct paired_test t = {.n = 42};
    struct paired_shift s = {.estimate = 42};
    (void)state;
    assert_int_equal(paired_signed_rank(nan, N(nan), &t), -1);
    assert_int_equal(paired_signed_rank(inf, N(inf), &t), -1);
    assert_int_equal(paired_signed_rank(ok, 0, &t), -1);
    assert_int_equal(paired_signed_rank(ok, PAIRED_MAX_PAIRS + 1, &t), -1);
    assert_int_equal(t.n, 42);
    assert_int_equal(paired_shift(ok, N(ok), 0.3, &s), -1);
    assert_int_equal(paired_shift(ok, N(ok), 1, &s), -1);
    assert_int_equal(paired_shift(nan, N(nan), 0.9, &s), -1);
    assert_float_equal(s.estimate, 42, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paired_signed_rank_exact_small),
        cmocka_unit_test(test_paired_signed_rank_drops_zeros_and_handles_ties),
        cmocka_unit_test(test_paired_signed_rank_level_and_power),
        cmocka_unit_test(test_paired_signed_rank_normal_approximation),
        cmocka_unit_test(test_paired_shift_estimate_and_bounds),
        cmocka_unit_test(test_paired_shift_covers_the_true_shift),
        cmocka_unit_test(test_paired_refuses_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
