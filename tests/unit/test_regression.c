/* Unit tests for regression: verdicts on seeded synthetic runs with known answers —
 * equal builds are not called regressions, a shifted one is, too few runs are
 * inconclusive — and the JUnit cases the verdicts become. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "judge/regression.h"
#include "output/junit.h"
#include "base/significance.h"

static char err[600];

static struct regression_result fresh(const char *gate, const char *change)
{
    struct regression_result r;
    memset(&r, 0, sizeof r);
    if (gate_parse(gate, change, &r.spec, err, sizeof err) < 0)
        fail_msg("%s", err);
    regression_options_default(&r.opt);
    snprintf(r.scenario, sizeof r.scenario, "s");
    snprintf(r.baseline_scenario, sizeof r.baseline_scenario, "s");
    return r;
}

/* n runs around center with relative noise sd (normal), from rng. */
static void runs(double *out, size_t n, double center, double sd, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        out[i] = center * (1 + sd * significance_rng_normal(rng));
}

/* How many of `trials` verdicts on n runs a side are `want`, the candidate's figure
 * being `shift` times the baseline's, noise 4% a run. */
static int count_verdicts(const char *gate, double shift, size_t n, int trials, enum regression_verdict want,
                          uint64_t seed)
{
    uint64_t rng = seed;
    int count = 0;
    for (int t = 0; t < trials; t++) {
        struct regression_result r = fresh(gate, "5%");
        double base[16], cand[16];
        runs(base, n, 1000, 0.04, &rng);
        runs(cand, n, 1000 * shift, 0.04, &rng);
        regression_judge(base, n, cand, n, &r);
        count += r.verdict == want;
    }
    return count;
}

static void test_regression_equal_builds_rarely_fail(void **state)
{
    (void)state;
    /* at most alpha by construction; the size rule makes it rarer still */
    assert_in_range(count_verdicts("regression.throughput", 1.0, 5, 400, REGRESSION_FAIL, 11), 0, 12);
    assert_in_range(count_verdicts("regression.p99_latency", 1.0, 8, 400, REGRESSION_FAIL, 12), 0, 12);
}

static void test_regression_shifted_build_fails(void **state)
{
    (void)state;
    /* a 15% drop under 4% noise, 8 runs a side: caught nearly always */
    assert_in_range(count_verdicts("regression.throughput", 0.85, 8, 200, REGRESSION_FAIL, 21), 195, 200);
    /* a 15% rise is a regression for a latency ... */
    assert_in_range(count_verdicts("regression.p99_latency", 1.15, 8, 200, REGRESSION_FAIL, 22), 195, 200);
    /* ... and an improvement for throughput, never a failure */
    assert_int_equal(count_verdicts("regression.throughput", 1.15, 8, 200, REGRESSION_FAIL, 23), 0);
}

static void test_regression_too_few_runs_is_inconclusive(void **state)
{
    double base[] = {1000, 1001, 999, 1002}, cand[] = {500, 501, 499, 502};
    struct regression_result r = fresh("regression.throughput", "5%");
    (void)state;
    /* a halving, but 4 runs a side against the default 5 */
    regression_judge(base, 4, cand, 4, &r);
    assert_int_equal(r.verdict, REGRESSION_INCONCLUSIVE);
    assert_non_null(strstr(r.detail, "at least 5"));
    assert_float_equal(r.ratio, 0.5, 1e-3);      /* still reported */
    assert_true(r.p_value < 0.05);
    r = fresh("regression.throughput", "5%");
    r.opt.min_runs = 4;
    regression_judge(base, 4, cand, 4, &r);
    assert_int_equal(r.verdict, REGRESSION_FAIL);
    r = fresh("regression.throughput", "5%");
    regression_judge(base, 0, cand, 4, &r);
    assert_int_equal(r.verdict, REGRESSION_INCONCLUSIVE);
    assert_true(isnan(r.baseline_median));
}

static void test_regression_needs_size_and_significance(void **state)
{
    /* significant but small: 2% under 0.1% noise */
    double base[] = {1000, 1001, 999, 1000.5, 999.5}, small[] = {980, 981, 979, 980.5, 979.5};
    /* large but not significant: medians 10% apart, ranks interleaved */
    double noisy_base[] = {700, 1000, 1300, 900, 1200}, noisy_cand[] = {650, 900, 1250, 800, 1150};
    double better[] = {1100, 1101, 1099, 1100.5, 1099.5};
    struct regression_result r = fresh("regression.throughput", "5%");
    (void)state;
    regression_judge(base, 5, small, 5, &r);
    assert_int_equal(r.verdict, REGRESSION_PASS);
    assert_non_null(strstr(r.detail, "under the 5% limit"));
    r = fresh("regression.throughput", "5%");
    regression_judge(noisy_base, 5, noisy_cand, 5, &r);
    assert_int_equal(r.verdict, REGRESSION_PASS);
    assert_true(r.ratio <= 0.95);
    assert_true(r.p_value >= 0.05);
    assert_non_null(strstr(r.detail, "not significant"));
    r = fresh("regression.throughput", "5%");
    regression_judge(base, 5, better, 5, &r);
    assert_int_equal(r.verdict, REGRESSION_PASS);
    assert_non_null(strstr(r.detail, "better"));
    assert_true(r.ci_low > 1.05 && r.ci_high < 1.15);
}

static void test_regression_zero_baseline_is_inconclusive(void **state)
{
    double zeros[] = {0, 0, 0, 0, 0}, some[] = {0.01, 0.02, 0.01, 0.03, 0.02};
    struct regression_result r = fresh("regression.error_rate", "10%");
    (void)state;
    regression_judge(zeros, 5, some, 5, &r);
    assert_int_equal(r.verdict, REGRESSION_INCONCLUSIVE);
    assert_non_null(strstr(r.detail, "absolute gate"));
}

static void test_regression_options_checked(void **state)
{
    struct regression_options o;
    (void)state;
    regression_options_default(&o);
    assert_int_equal(regression_options_check(&o, err, sizeof err), 0);
    o.min_runs = 1;
    assert_int_equal(regression_options_check(&o, err, sizeof err), -1);
    regression_options_default(&o);
    o.alpha = 0.5;
    assert_int_equal(regression_options_check(&o, err, sizeof err), -1);
}

static void test_regression_junit_cases_and_table(void **state)
{
    double base[] = {1000, 1010, 990, 1005, 995}, cand[] = {800, 810, 790, 805, 795};
    struct regression_result r[3] = {fresh("regression.throughput", "5%"), fresh("regression.p99_latency", "10%"),
                                     fresh("regression.cpu_per_request", "5%")};
    struct junit_case cases[3];
    char table[4096] = "";
    FILE *f = fmemopen(table, sizeof table - 1, "w");
    (void)state;
    regression_judge(base, 5, cand, 5, &r[0]);  /* 20% drop: fail */
    regression_judge(base, 5, base, 5, &r[1]);  /* same: pass */
    regression_judge(base, 2, base, 2, &r[2]);  /* too few: inconclusive */
    junit_regression_cases(r, 3, cases);
    assert_int_equal(cases[0].outcome, JUNIT_CASE_FAILED);
    assert_int_equal(cases[1].outcome, JUNIT_CASE_PASSED);
    assert_int_equal(cases[2].outcome, JUNIT_CASE_SKIPPED);
    assert_string_equal(cases[0].suite, "regression.s");
    assert_string_equal(cases[0].name, "regression.throughput");
    assert_non_null(strstr(cases[0].message, "20.0% worse"));
    assert_non_null(f);
    regression_print(f, r, 3);
    fclose(f);
    assert_non_null(strstr(table, "FAILED"));
    assert_non_null(strstr(table, "INCONCLUSIVE"));
    assert_non_null(strstr(table, "ratio 0.800"));
}

/* An exact count decides with one run a side, on the size of the change alone; a
 * count that spreads within a side decides nothing. */
static void test_regression_exact_count_decides_with_one_run(void **state)
{
    struct regression_result r = fresh("regression.instructions_per_request", "1%");
    double base[] = {10000.0, 10000.4}, same[] = {10000.2}, worse[] = {10101.0}, under[] = {10090.0};
    double noisy[] = {10000.0, 10300.0};
    (void)state;
    regression_judge(base, 2, worse, 1, &r);
    assert_int_equal(r.verdict, REGRESSION_FAIL);
    assert_non_null(strstr(r.detail, "exact count"));
    regression_judge(base, 2, same, 1, &r);
    assert_int_equal(r.verdict, REGRESSION_PASS);
    regression_judge(base, 2, under, 1, &r);
    assert_int_equal(r.verdict, REGRESSION_PASS);
    regression_judge(base, 1, worse, 1, &r);
    assert_int_equal(r.verdict, REGRESSION_FAIL);
    regression_judge(noisy, 2, worse, 1, &r);
    assert_int_equal(r.verdict, REGRESSION_INCONCLUSIVE);
    assert_non_null(strstr(r.detail, "not exact"));
    regression_judge(base, 2, worse, 0, &r);
    assert_int_equal(r.verdict, REGRESSION_INCONCLUSIVE);
}

/* An interval or p-value that cannot be computed is said in words, never "nan". */
static void test_regression_numbers_never_print_nan(void **state)
{
    double base[] = {1000, 1010}, cand[] = {990, 1000};
    struct regression_result r = fresh("regression.throughput", "5%");
    struct junit_case c;
    char buf[200];
    (void)state;
    regression_judge(base, 2, cand, 2, &r);
    r.ci_low = r.ci_high = r.p_value = NAN;
    regression_format_numbers(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, "interval not computable (too few runs)"));
    assert_non_null(strstr(buf, "p not computed"));
    r.ratio = NAN;
    r.baseline_median = NAN;
    regression_format_numbers(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, "ratio not computed"));
    junit_regression_cases(&r, 1, &c);
    assert_null(strstr(c.message, "nan"));
    assert_null(strstr(c.message, "NaN"));
    r.method = REGRESSION_METHOD_INTERLEAVED;
    r.ratio = 0.9;
    r.ci_low = 0.85;
    r.ci_high = 0.95;
    r.opt.confidence = 0.99;
    r.nbaseline = 12;
    regression_format_numbers(&r, buf, sizeof buf);
    assert_string_equal(buf, "ratio 0.900, 99% interval 0.850..0.950, 12 interleaved pairs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_exact_count_decides_with_one_run),
        cmocka_unit_test(test_regression_equal_builds_rarely_fail),
        cmocka_unit_test(test_regression_shifted_build_fails),
        cmocka_unit_test(test_regression_too_few_runs_is_inconclusive),
        cmocka_unit_test(test_regression_needs_size_and_significance),
        cmocka_unit_test(test_regression_zero_baseline_is_inconclusive),
        cmocka_unit_test(test_regression_options_checked),
        cmocka_unit_test(test_regression_junit_cases_and_table),
        cmocka_unit_test(test_regression_numbers_never_print_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
