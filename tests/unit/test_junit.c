/* Tests for output/junit.c: the JUnit file a CI system draws its test table from, read
 * back with xmllint (libxml2-utils) rather than searched as text — it must be
 * well-formed XML, every count on <testsuites> and <testsuite> must equal the
 * testcases, failures, errors and skips under it, and hostile words (a crash reason,
 * a gate's error detail, a file name, a regression message) must come back exactly,
 * with only the control character XML cannot carry turned into a space. No JUnit
 * schema ships in Debian, so the structure is checked by XPath instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcome_fixture.h"
#include "judge/verdict.h"
#include "output/junit.h"
#include "tmpdb.h"
#include "xpath.h"

/* What OUTCOME_FIXTURE_HOSTILE reads as once parsed back: the \001 is a space. */
#define HOSTILE_READ_BACK "killed by <signal> & \"quote\" 'apos' ]]>  end"

static struct tmpdb tmp;
static struct outcome_fixture fx;
static char path[160], err[512];

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "junit-test") < 0)
        return -1;
    tmpdb_file(&tmp, "junit.xml", path, sizeof path);
    outcome_fixture_build(&fx);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    outcome_fixture_free(&fx);
    return tmpdb_remove(&tmp);
}

static long number(const char *expr)
{
    return xpath_number(path, false, expr);
}

static void assert_xpath_string(const char *expr, const char *expected)
{
    xpath_assert_string(path, false, expr, expected);
}

static void assert_well_formed(void)
{
    xpath_assert_well_formed(path);
}

/* Every suite's counts, and the root's, agree with what is under them. */
static void assert_counts_consistent(void)
{
    assert_int_equal(number("count(/testsuites/testsuite[count(testcase) != @tests"
                                  " or count(testcase/failure) != @failures or count(testcase/error) != @errors"
                                  " or (@skipped and count(testcase/skipped) != @skipped)])"), 0);
    assert_int_equal(number("count(//testcase)"), number("number(/testsuites/@tests)"));
    assert_int_equal(number("count(//testcase/failure)"), number("number(/testsuites/@failures)"));
    assert_int_equal(number("count(//testcase/error)"), number("number(/testsuites/@errors)"));
}

static void test_junit_counts_each_outcome_as_ci_reads_it(void **state)
{
    (void)state;
    assert_int_equal(junit_write(path, fx.outcomes, OUTCOME_FIXTURE_N, err, sizeof err), 0);
    assert_well_formed();
    assert_counts_consistent();
    /* shop: 3 gates, one unexpected failure; the expected trip is a pass. crashy: its 2
     * gates are errors. nogates: nothing to test. broken-gate: one error. */
    assert_int_equal(number("number(/testsuites/@tests)"), 6);
    assert_int_equal(number("number(/testsuites/@failures)"), 1);
    assert_int_equal(number("number(/testsuites/@errors)"), 3);
    assert_int_equal(number("count(/testsuites/testsuite)"), OUTCOME_FIXTURE_N);
    assert_xpath_string("string(//testsuite[@name='shop']/testcase[failure]/@name)", "p99_latency");
    assert_xpath_string("string(//testsuite[@name='shop']/testcase[@name='error_rate']/system-out)",
                        "error_rate: observed 20%, threshold < 1%: " VERDICT_WORD_TRIPPED_AS_EXPECTED);
    assert_int_equal(number("count(//testsuite[@name='nogates']/testcase)"), 0);
    assert_xpath_string("string(//testsuite[@name='shop']/properties/property[@name='run_id']/@value)", "11");
}

/* A gate judged per instance on a fleet names the worst instance in its message. */
static void test_junit_names_a_fleet_gates_worst_instance(void **state)
{
    struct gate_result *g = &fx.outcomes[0].gates[1];  /* shop's p99_latency, failed */
    (void)state;
    snprintf(g->instance, sizeof g->instance, "10.0.0.6:6060");
    g->instances = 3;
    assert_int_equal(junit_write(path, fx.outcomes, OUTCOME_FIXTURE_N, err, sizeof err), 0);
    assert_well_formed();
    assert_int_equal(number("count(//testsuite[@name='shop']/testcase[@name='p99_latency']/failure"
                            "[contains(@message, '(worst of 3 instances: 10.0.0.6:6060)')])"), 1);
}

static void test_junit_carries_hostile_words_exactly(void **state)
{
    (void)state;
    assert_int_equal(junit_write(path, fx.outcomes, OUTCOME_FIXTURE_N, err, sizeof err), 0);
    assert_well_formed();
    assert_xpath_string("string(//testsuite[@name='crashy']/testcase[1]/error/@message)",
                        "run crashed: " HOSTILE_READ_BACK);
    assert_xpath_string("string(//testsuite[@name='broken-gate']/testcase/error/@message)",
                        "error_rate: observed -, threshold < 1%: ERROR (" HOSTILE_READ_BACK ")");
    assert_xpath_string("string(//testsuite[@name='shop']/properties/property[@name='scenario_file']/@value)",
                        OUTCOME_FIXTURE_FILE);
}

static void test_junit_extra_cases_get_suites_and_skips(void **state)
{
    struct junit_case *cases = test_calloc(4, sizeof *cases);
    static const enum junit_case_outcome outcomes[] = {JUNIT_CASE_FAILED, JUNIT_CASE_SKIPPED, JUNIT_CASE_PASSED,
                                                       JUNIT_CASE_ERROR};
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        snprintf(cases[i].suite, sizeof cases[i].suite, "%s", i < 3 ? "regression.shop" : "regression.<b>");
        snprintf(cases[i].name, sizeof cases[i].name, "regression.throughput-%zu", i);
        snprintf(cases[i].message, sizeof cases[i].message, "%s", OUTCOME_FIXTURE_HOSTILE);
        cases[i].outcome = outcomes[i];
    }
    assert_int_equal(junit_write_with_cases(path, fx.outcomes, OUTCOME_FIXTURE_N, cases, 4, err, sizeof err), 0);
    test_free(cases);
    assert_well_formed();
    assert_counts_consistent();
    assert_int_equal(number("number(/testsuites/@tests)"), 10);
    assert_int_equal(number("number(/testsuites/@failures)"), 2);
    assert_int_equal(number("number(/testsuites/@errors)"), 4);
    /* the common JUnit schema has no skipped count on <testsuites>: it is per suite */
    assert_int_equal(number("count(/testsuites/@skipped)"), 0);
    assert_int_equal(number("sum(/testsuites/testsuite/@skipped)"), 1);
    /* Adjacent cases of one suite share it; the next suite starts a new one. */
    assert_int_equal(number("count(//testsuite[@name='regression.shop']/testcase)"), 3);
    assert_int_equal(number("count(//testsuite[@name='regression.<b>']/testcase)"), 1);
    assert_xpath_string("string(//testsuite[@name='regression.shop']/testcase/skipped/@message)", HOSTILE_READ_BACK);
    assert_xpath_string("string(//testsuite[@name='regression.shop']/testcase[3]/system-out)", HOSTILE_READ_BACK);
}

static void test_junit_leaves_nothing_behind_when_it_cannot_write(void **state)
{
    char bad[200];
    DIR *d;
    struct dirent *e;
    size_t entries = 0;
    (void)state;
    tmpdb_file(&tmp, "no-such-folder/junit.xml", bad, sizeof bad);
    assert_int_equal(junit_write(bad, fx.outcomes, OUTCOME_FIXTURE_N, err, sizeof err), -1);
    assert_non_null(strstr(err, "no-such-folder"));

    /* Written whole and renamed into place: only the file itself is left. */
    assert_int_equal(junit_write(path, fx.outcomes, 1, err, sizeof err), 0);
    assert_int_equal(junit_write(path, fx.outcomes, OUTCOME_FIXTURE_N, err, sizeof err), 0);
    d = opendir(tmp.dir);
    assert_non_null(d);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            entries++;
    closedir(d);
    assert_int_equal(entries, 1);
    assert_int_equal(number("count(/testsuites/testsuite)"), OUTCOME_FIXTURE_N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_junit_counts_each_outcome_as_ci_reads_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit_carries_hostile_words_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit_names_a_fleet_gates_worst_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit_extra_cases_get_suites_and_skips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junit_leaves_nothing_behind_when_it_cannot_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
