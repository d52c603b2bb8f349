/* Unit tests for sequential: the look schedule, and on seeded synthetic paired
 * differences the false-alarm rate over all looks (against testing at every pair, which
 * inflates it), the power on a real shift, early stops either way, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "base/paired.h"
#include "base/significance.h"
#include "judge/sequential.h"

static char err[256];

static void test_sequential_plan_looks(void **state)
{
    struct sequential_plan p;
    (void)state;
    assert_int_equal(sequential_plan_init(&p, 0.05, log(1.05), 64, err, sizeof err), 0);
    assert_true(p.nlooks >= 3 && p.nlooks <= SEQUENTIAL_MAX_LOOKS);
    assert_int_equal(p.looks[p.nlooks - 1], 64);
    for (size_t i = 1; i < p.nlooks; i++)
        assert_true(p.looks[i] > p.looks[i - 1]);
    /* the interim looks share a fifth of alpha evenly, the last look the rest */
    double sum = 0;
    for (size_t i = 0; i < p.nlooks; i++)
        sum += p.look_alpha[i];
    assert_float_equal(sum, 0.05, 1e-12);
    for (size_t i = 0; i + 1 < p.nlooks; i++)
        assert_float_equal(p.look_alpha[i], 0.05 * SEQUENTIAL_INTERIM_SHARE / (double)(p.nlooks - 1), 1e-12);
    assert_float_equal(p.look_alpha[p.nlooks - 1], 0.05 * (1 - SEQUENTIAL_INTERIM_SHARE), 1e-12);
    /* the first look can reach the interim level at all */
    assert_true(ldexp(1.0, -(int)p.looks[0]) <= p.look_alpha[0]);
    assert_true(sequential_is_look(&p, p.looks[0]));
    assert_false(sequential_is_look(&p, p.looks[0] - 1));
    /* a budget of one small look spends all of alpha there */
    assert_int_equal(sequential_plan_init(&p, 0.05, 0.1, 5, err, sizeof err), 0);
    assert_int_equal(p.nlooks, 1);
    assert_int_equal(p.looks[0], 5);
    assert_float_equal(p.look_alpha[0], 0.05, 0);
}

/* Runs one comparison of at most max pairs with differences shift + noise; returns the
 * verdict at the look that decided (or the last). */
static struct sequential_verdict run_one(const struct sequential_plan *p, double shift, double noise,
                                         uint64_t *rng)
{
    double d[SEQUENTIAL_MAX_PAIRS];
    struct sequential_verdict v = {0};
    for (size_t n = 1; n <= p->max_pairs; n++) {
        d[n - 1] = shift + noise * significance_rng_normal(rng);
        assert_int_equal(sequential_judge(p, d, n, &v), 0);
        if (v.decision != SEQUENTIAL_CONTINUE)
            return v;
    }
    fail_msg("no decision after the last look");
    return v;
}

static void test_sequential_holds_alpha_where_peeking_does_not(void **state)
{
    struct sequential_plan p;
    uint64_t rng = 2024;
    double d[64];
    int sequential_alarms = 0, peeking_alarms = 0;
    (void)state;
    assert_int_equal(sequential_plan_init(&p, 0.05, log(1.05), 64, err, sizeof err), 0);
    for (int trial = 0; trial < 300; trial++) {
        struct sequential_verdict v = run_one(&p, 0, 0.06, &rng);
        sequential_alarms += v.decision == SEQUENTIAL_REGRESSION;
        /* the naive way: a signed-rank test at 0.05 after every pair from the 5th */
        for (size_t i = 0; i < 64; i++)
            d[i] = 0.06 * significance_rng_normal(&rng);
        for (size_t n = 5; n <= 64; n++) {
            struct paired_test t;
            assert_int_equal(paired_signed_rank(d, n, &t), 0);
            if (t.p_greater < 0.05 && t.w_plus > 0) {
                peeking_alarms++;
                break;
            }
        }
    }
    /* alpha 0.05 of 300 is 15 at most, by construction far fewer */
    assert_true(sequential_alarms <= 15);
    assert_true(peeking_alarms > 2 * 15);
}

static void test_sequential_finds_a_real_shift_early(void **state)
{
    struct sequential_plan p;
    uint64_t rng = 99;
    int found = 0;
    size_t pairs_used = 0;
    (void)state;
    assert_int_equal(sequential_plan_init(&p, 0.05, log(1.05), 64, err, sizeof err), 0);
    for (int trial = 0; trial < 100; trial++) {
        struct sequential_verdict v = run_one(&p, log(1.10), 0.06, &rng); /* a 10% loss */
        found += v.decision == SEQUENTIAL_REGRESSION;
        pairs_used += v.pairs;
        if (v.decision == SEQUENTIAL_REGRESSION) {
            assert_true(v.bounded && v.low > 0 && v.estimate >= log(1.05));
        }
    }
    assert_true(found >= 95);
    assert_true(pairs_used / 100 < 40); /* stopped long before the budget on average */
}

static void test_sequential_clears_a_quiet_candidate_early(void **state)
{
    struct sequential_plan p;
    uint64_t rng = 5;
    int cleared = 0;
    (void)state;
    assert_int_equal(sequential_plan_init(&p, 0.05, log(1.05), 64, err, sizeof err), 0);
    for (int trial = 0; trial < 50; trial++) {
        struct sequential_verdict v = run_one(&p, 0, 0.01, &rng);
        if (v.decision == SEQUENTIAL_NO_REGRESSION) {
            cleared++;
            assert_true(v.high < log(1.05));
            assert_true(v.pairs < 64);
        }
    }
    assert_int_equal(cleared, 50);
}

static void test_sequential_says_inconclusive_when_the_budget_is_short(void **state)
{
    struct sequential_plan p;
    uint64_t rng = 31;
    int inconclusive = 0;
    (void)state;
    /* a shift right at the threshold, in noise ten times larger, with 16 pairs */
    assert_int_equal(sequential_plan_init(&p, 0.05, 0.05, 16, err, sizeof err), 0);
    for (int trial = 0; trial < 50; trial++) {
        struct sequential_verdict v = run_one(&p, 0.05, 0.5, &rng);
        inconclusive += v.decision == SEQUENTIAL_INCONCLUSIVE;
        if (v.decision == SEQUENTIAL_INCONCLUSIVE)
            assert_int_equal(v.pairs, 16);
    }
    assert_true(inconclusive >= 40);
}

/* A budget-limited comparison decides at its last look: spending most of alpha there
 * finds a real shift more often than splitting alpha evenly over the same looks, and
 * still holds the false-alarm rate. */
static void test_sequential_spends_alpha_where_the_budget_decides(void **state)
{
    struct sequential_plan p;
    uint64_t rng = 77;
    int found = 0, found_even = 0, alarms = 0;
    (void)state;
    /* 15 pairs, as a 30-second budget of 1-second slices gives */
    assert_int_equal(sequential_plan_init(&p, 0.05, log(1.03), 15, err, sizeof err), 0);
    assert_true(p.nlooks >= 2);
    for (int trial = 0; trial < 400; trial++) {
        double d[15];
        struct sequential_verdict v = run_one(&p, log(1.10), 0.15, &rng);
        found += v.decision == SEQUENTIAL_REGRESSION;
        /* the even split: every look at alpha/looks */
        for (size_t i = 0; i < 15; i++)
            d[i] = log(1.10) + 0.15 * significance_rng_normal(&rng);
        for (size_t k = 0; k < p.nlooks; k++) {
            struct paired_shift s;
            assert_int_equal(paired_shift(d, p.looks[k], 1 - 2 * 0.05 / (double)p.nlooks, &s), 0);
            if (s.bounded && s.low > 0 && s.estimate >= log(1.03)) {
                found_even++;
                break;
            }
        }
        alarms += run_one(&p, 0, 0.15, &rng).decision == SEQUENTIAL_REGRESSION;
    }
    assert_true(found > found_even + 20);
    /* alpha 0.05 of 400 is 20; allow for chance (binomial sd about 4.4) */
    assert_true(alarms <= 30);
}

static void test_sequential_refuses_bad_plans(void **state)
{
    struct sequential_plan p = {.max_pairs = 42};
    double d[3] = {1, NAN, 2};
    struct sequential_verdict v;
    (void)state;
    assert_int_equal(sequential_plan_init(&p, 0, 0.05, 64, err, sizeof err), -1);
    assert_non_null(strstr(err, "alpha"));
    assert_int_equal(sequential_plan_init(&p, 0.05, -1, 64, err, sizeof err), -1);
    assert_non_null(strstr(err, "threshold"));
    assert_int_equal(sequential_plan_init(&p, 0.05, NAN, 64, err, sizeof err), -1);
    assert_int_equal(sequential_plan_init(&p, 0.05, 0.05, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "at least 5"));
    assert_int_equal(sequential_plan_init(&p, 0.05, 0.05, SEQUENTIAL_MAX_PAIRS + 1, err, sizeof err), -1);
    assert_int_equal(p.max_pairs, 42);
    assert_int_equal(sequential_plan_init(&p, 0.05, 0.05, 3 + 2, err, sizeof err), 0);
    assert_int_equal(sequential_judge(&p, d, 6, &v), -1);
    p.looks[0] = 3;
    assert_int_equal(sequential_judge(&p, d, 3, &v), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequential_plan_looks),
        cmocka_unit_test(test_sequential_holds_alpha_where_peeking_does_not),
        cmocka_unit_test(test_sequential_finds_a_real_shift_early),
        cmocka_unit_test(test_sequential_clears_a_quiet_candidate_early),
        cmocka_unit_test(test_sequential_says_inconclusive_when_the_budget_is_short),
        cmocka_unit_test(test_sequential_spends_alpha_where_the_budget_decides),
        cmocka_unit_test(test_sequential_refuses_bad_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
