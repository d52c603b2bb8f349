/* Integration tests for regression gates from the command line: `loadlab compare` end
 * to end on a results database built by the test (exit codes, the table, JUnit, the
 * stored verdicts), and `loadlab run --repeat --baseline --baseline-env` against the
 * real orderd (interleaving, the baseline's environment, exit 99). The binaries are
 * $LOADLAB_BIN and $ORDERD_BIN (set by the test runner) or build/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "loadlab_proc.h"
#include "runs_fixture.h"
#include "base/significance.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char out_path[128], junit_path[128];

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "loadlab-compare") < 0)
        return -1;
    tmpdb_file(&tmp, "output.txt", out_path, sizeof out_path);
    tmpdb_file(&tmp, "junit.xml", junit_path, sizeof junit_path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

/* Runs loadlab with args (NULL-terminated) and env additions; output to out_path.
 * Returns its exit code; fails the test after timeout_s. */
static int loadlab(const char *const *args, char *const *env, int timeout_s)
{
    return loadlab_proc_run(args, env, out_path, timeout_s);
}

/* Builds the database: scenario "shop" under main (6 runs, 1000 req/s, 5 ms p99) and
 * under three candidates: slow (-20%), same, and few (3 runs, -20%); scenarios
 * overhead-off and overhead-metrics under one label. */
static void build_db(void)
{
    char err[512];
    const char *gates = "{\"gates\":[{\"name\":\"regression.throughput\",\"threshold\":\"-5%\"}]}";
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    uint64_t rng = 17;
    if (!db)
        fail_msg("%s", err);
    for (int i = 0; i < 6; i++) {
#define NOISY(x) ((x) * (1 + 0.02 * significance_rng_normal(&rng)))
        runs_fixture_add(db, "shop", "main", NOISY(1000), NOISY(0.005), gates);
        runs_fixture_add(db, "shop", "slow", NOISY(800), NOISY(0.005), gates);
        runs_fixture_add(db, "shop", "same", NOISY(1000), NOISY(0.005), gates);
        if (i < 3)
            runs_fixture_add(db, "shop", "few", NOISY(800), NOISY(0.005), gates);
        runs_fixture_add(db, "overhead-off", "study", NOISY(1000), NOISY(0.005), NULL);
        runs_fixture_add(db, "overhead-metrics", "study", NOISY(1000), NOISY(0.0055), NULL);
#undef NOISY
    }
    resultdb_close(db);
}

static void test_compare_regression_exits_99_with_table_and_junit(void **state)
{
    char *out, *xml;
    (void)state;
    build_db();
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "main", "--candidate",
                                              "slow", "--junit", junit_path, NULL}, NULL, 30), 99);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "shop: candidate slow (runs"));
    assert_non_null(strstr(out, "regression.throughput"));
    assert_non_null(strstr(out, "FAILED: 2"));   /* "20.x% worse, significant" */
    assert_null(strstr(out, "p99_latency"));    /* the runs record one regression gate */
    free(out);
    xml = files_read(junit_path);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<testsuite name=\"regression.shop\" tests=\"1\" failures=\"1\""));
    assert_non_null(strstr(xml, "<failure message=\"regression.throughput -5%: baseline main"));
    free(xml);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM regressions WHERE candidate_label = 'slow' AND verdict = 'fail' "
                               "AND baseline_n = 6 AND candidate_n = 6"), 1);
}

static void test_compare_same_build_holds_and_few_runs_are_inconclusive(void **state)
{
    char *out, *xml;
    (void)state;
    build_db();
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "main", "--candidate",
                                              "same", "shop", NULL}, NULL, 30), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "held"));
    free(out);
    /* a 20% drop on 3 runs: not enough to call, and not a pass either */
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "main", "--candidate",
                                              "few", "--junit", junit_path, NULL}, NULL, 30), 0);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "INCONCLUSIVE: 6 baseline and 3 candidate runs; at least 5"));
    free(out);
    xml = files_read(junit_path);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<skipped message="));
    free(xml);
    /* the same runs with --min-runs 3 are a verdict */
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "main", "--candidate",
                                              "few", "--min-runs", "3", NULL}, NULL, 30), 99);
}

static void test_compare_against_a_reference_scenario(void **state)
{
    char *out;
    (void)state;
    build_db();
    /* every scenario of the label against overhead-off, with the default gates */
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--candidate", "study", "--against",
                                              "overhead-off", NULL}, NULL, 30), 99);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "overhead-metrics (study, runs"));
    assert_non_null(strstr(out, "against overhead-off (study, runs"));
    assert_null(strstr(out, "overhead-off (study, runs 1"));  /* not against itself */
    assert_non_null(strstr(out, "regression.throughput"));
    assert_non_null(strstr(out, "regression.p99_latency"));  /* +10%: FAILED */
    free(out);
}

static void test_compare_usage_errors(void **state)
{
    (void)state;
    build_db();
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "main", NULL}, NULL, 10), 2);
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--candidate", "x", NULL}, NULL, 10), 2);
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "a", "--candidate", "a",
                                              NULL}, NULL, 10), 2);
    assert_int_equal(loadlab((const char *[]){"compare", "--db", tmp.path, "--baseline", "main", "--candidate",
                                              "slow", "--alpha", "0.7", NULL}, NULL, 10), 2);
    assert_int_equal(loadlab((const char *[]){"compare", "--db", "/nonexistent/x.db", "--baseline", "main",
                                              "--candidate", "slow", NULL}, NULL, 10), 2);
    assert_int_equal(loadlab((const char *[]){"run", "--baseline-env", "X=1", "x.ini", NULL}, NULL, 10), 2);
    assert_int_equal(loadlab((const char *[]){"run", "--baseline", "b", "--baseline-env", "1X=1", "x.ini", NULL},
                             NULL, 10), 2);
}

/* The candidate is orderd slowed by 2 ms a request (ORDERD_FAULTS in loadlab's
 * environment); the baseline build clears it (--baseline-env ORDERD_FAULTS=). Two
 * rounds, ABBA: runs 1 and 4 are the baseline's. */
static void test_compare_run_with_interleaved_baseline(void **state)
{
    char path[128], *out, *xml;
    char *env[] = {"ORDERD_FAULTS=slow=on(2ms)", NULL};
    FILE *f;
    (void)state;
    tmpdb_file(&tmp, "reg.ini", path, sizeof path);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[scenario]\nname = reg\nduration = 1s\nsample_interval = 100ms\n"
          "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
          "[load]\nconnections = 2\npath = /api/products/1\n"
          "[gate]\nerror_rate = < 1%\nregression.throughput = 5%\n", f);
    fclose(f);
    assert_int_equal(loadlab((const char *[]){"run", "--quiet", "--db", tmp.path, "--label", "cand", "--repeat", "2",
                                              "--baseline", "base", "--baseline-env", "ORDERD_FAULTS=",
                                              "--min-runs", "2", "--alpha", "0.2", "--junit", junit_path, path,
                                              NULL}, env, 60), 99);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE (id IN (1, 4)) = (label = 'base') "
                               "AND status = 'completed'"), 4);
    /* the baseline ran without the fault: far faster */
    assert_int_equal(testdb_int(tmp.path, "SELECT min(b.throughput) > 2 * max(c.throughput) FROM load_results b, load_results c "
                               "WHERE b.run_id IN (1, 4) AND c.run_id IN (2, 3) AND b.stage = 'measure' "
                               "AND c.stage = 'measure'"), 1);
    out = files_read(out_path);
    assert_non_null(out);
    assert_non_null(strstr(out, "reg: candidate cand (runs 2,3) against baseline base (runs 1,4)"));
    assert_non_null(strstr(out, "FAILED"));
    free(out);
    xml = files_read(junit_path);
    assert_non_null(xml);
    /* JUnit holds the candidate's runs and the verdict, not the baseline's runs */
    assert_non_null(strstr(xml, "<testsuites name=\"loadlab\" tests=\"3\" failures=\"1\""));
    assert_non_null(strstr(xml, "name=\"regression.reg\""));
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compare_regression_exits_99_with_table_and_junit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_same_build_holds_and_few_runs_are_inconclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_against_a_reference_scenario, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compare_run_with_interleaved_baseline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
