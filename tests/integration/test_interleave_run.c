/* Integration tests for `loadlab run --interleave` against the real orderd twice: the
 * same build gives no regression (or inconclusive when the budget is spent), a
 * candidate slowed by the `slow` fault a regression (exit 99); the slices and the
 * verdicts are stored, JUnit validates with xmllint against tests/support/junit.xsd,
 * and summary.md and the report pages show the verdicts. Short budgets: these check
 * the plumbing; how often the gate is right is scripts/gate-quality.sh's job. The
 * binaries are $LOADLAB_BIN and $ORDERD_BIN (set by the test runner) or build/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "loadlab_proc.h"
#include "testdb.h"

static char dir[64], db_path[128], out_path[128], junit_path[128], scenario_path[128], report_dir[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/loadlab-interleave-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db_path, sizeof db_path, "%s/results.db", dir);
    snprintf(out_path, sizeof out_path, "%s/output.txt", dir);
    snprintf(junit_path, sizeof junit_path, "%s/junit.xml", dir);
    snprintf(scenario_path, sizeof scenario_path, "%s/ab.ini", dir);
    snprintf(report_dir, sizeof report_dir, "%s/report", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_scenario(const char *extra)
{
    const char *orderd = getenv("ORDERD_BIN") && *getenv("ORDERD_BIN") ? getenv("ORDERD_BIN") : "build/orderd";
    FILE *f = fopen(scenario_path, "w");
    assert_non_null(f);
    fprintf(f,
            "[scenario]\nname = ab\nduration = 2s\nsample_interval = 100ms\n"
            "[service]\ncommand = %s --io-threads 1 --log-level warn\n%s"
            "[load]\nconnections = 4\nthreads = 1\npath = /api/products/7\n"
            "[gate]\nerror_rate = < 1%%\nregression.throughput = 5%%\nregression.cpu_per_request = 5%%\n"
            "regression.error_rate = 50%%\nregression.rss_growth = 20%%\n",
            orderd, extra);
    fclose(f);
}

static int loadlab(const char *const *args, char *const *env, int timeout_s)
{
    return loadlab_proc_run(args, env, out_path, timeout_s);
}

static void assert_junit_valid(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "xmllint --noout --schema tests/support/junit.xsd '%s' 2>/dev/null", junit_path);
    assert_int_equal(system(cmd), 0);
}

static int count(const char *sql)
{
    return testdb_int(db_path, sql);
}

/* The same build on both sides: no gate is a regression; throughput and CPU per
 * request get a verdict or run out of budget; error_rate holds (no errors); a gate a
 * slice does not measure says so. */
static void test_interleave_same_build_is_no_regression(void **state)
{
    char *const env[] = {"ORDERD_FAULTS=", NULL};
    char *out, *xml, *md, *index;
    char page[200];
    int rc;
    (void)state;
    write_scenario("");
    rc = loadlab((const char *[]){"run", "--db", db_path, "--label", "cand", "--baseline", "base", "--baseline-env",
                                  "ORDERD_FAULTS=", "--interleave", "--budget", "24s", "--alpha", "0.01", "--junit",
                                  junit_path, "--report", report_dir, scenario_path, NULL},
                 env, 120);
    out = files_read_must(out_path);
    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "randomized interleaved pairs"));
    assert_non_null(strstr(out, "not measured per slice"));
    assert_non_null(strstr(out, "0.50s slices (connections kept open to both)"));
    assert_non_null(strstr(out, "in blocks of 3, both builds started afresh for each"));
    free(out);
    /* both builds were started afresh for every block after the first, and each restart
     * is recorded with its side's run */
    assert_int_equal(count("SELECT count(*) FROM restarts r JOIN runs u ON u.id = r.run_id WHERE u.label = 'cand'"),
                     (count("SELECT count(*) FROM ab_slices WHERE side = 'candidate'") + 2) / 3 - 1);
    assert_int_equal(count("SELECT count(*) FROM restarts r JOIN runs u ON u.id = r.run_id WHERE u.label = 'base'"),
                     count("SELECT count(*) FROM restarts r JOIN runs u ON u.id = r.run_id WHERE u.label = 'cand'"));
    /* every slice is the default half second of load */
    assert_int_equal(count("SELECT count(*) FROM ab_slices WHERE duration_s NOT BETWEEN 0.49 AND 0.51"), 0);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE method = 'interleaved' AND verdict = 'fail'"), 0);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE method = 'interleaved'"), 4);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE gate = 'regression.error_rate' AND "
                           "verdict = 'pass'"), 1);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE gate = 'regression.rss_growth' AND "
                           "verdict = 'inconclusive'"), 1);
    /* two slices a pair, one of each side, in a random order: the slices are the pairs */
    assert_int_equal(count("SELECT count(*) FROM ab_slices WHERE side = 'baseline'"),
                     count("SELECT max(baseline_n) FROM regressions"));
    assert_int_equal(count("SELECT count(*) FROM ab_slices WHERE side = 'candidate'"),
                     count("SELECT max(baseline_n) FROM regressions"));
    assert_int_equal(count("SELECT count(*) FROM (SELECT pair FROM ab_slices GROUP BY pair "
                           "HAVING sum(first) <> 1)"), 0);
    assert_int_equal(count("SELECT count(*) FROM ab_slices WHERE throughput > 0 AND cpu_s >= 0"),
                     count("SELECT count(*) FROM ab_slices"));
    assert_int_equal(count("SELECT count(*) FROM runs WHERE status = 'completed'"), 2);
    xml = files_read_must(junit_path);
    assert_non_null(strstr(xml, "<testsuite name=\"regression.ab\" tests=\"4\" failures=\"0\""));
    assert_non_null(strstr(xml, "interleaved pairs"));
    assert_null(strstr(xml, "nan"));
    free(xml);
    assert_junit_valid();
    snprintf(page, sizeof page, "%s/summary.md", report_dir);
    md = files_read_must(page);
    assert_non_null(strstr(md, "### Regression verdicts"));
    assert_non_null(strstr(md, "`regression.throughput`"));
    assert_non_null(strstr(md, "interleaved pairs"));
    free(md);
    snprintf(page, sizeof page, "%s/index.html", report_dir);
    index = files_read_must(page);
    assert_non_null(strstr(index, "Regression verdicts"));
    assert_non_null(strstr(index, "regression.cpu_per_request"));
    free(index);
}

/* The candidate burns 300us of CPU a request (ORDERD_FAULTS for loadlab, which the
 * candidate inherits; the baseline's cleared by --baseline-env): a regression, exit 99,
 * a JUnit failure, and summary.md says so; here with one wrk process per side and
 * slice (--wrk-slices), whole seconds. */
static void test_interleave_slowed_candidate_is_a_regression(void **state)
{
    char *const env[] = {"ORDERD_FAULTS=slow=on(300us)", NULL};
    char *out, *xml, *md;
    char page[200];
    int rc;
    (void)state;
    write_scenario("");
    rc = loadlab((const char *[]){"run", "--db", db_path, "--label", "cand", "--baseline", "base", "--baseline-env",
                                  "ORDERD_FAULTS=", "--interleave", "--wrk-slices", "--budget", "30s", "--junit",
                                  junit_path, "--report", report_dir, scenario_path, NULL},
                 env, 150);
    out = files_read_must(out_path);
    if (rc != 99)
        fail_msg("exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "FAILED: interleaved"));
    assert_non_null(strstr(out, "1.00s slices (wrk per slice)"));
    free(out);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE gate = 'regression.throughput' AND "
                           "verdict = 'fail' AND method = 'interleaved' AND ratio < 0.5"), 1);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE gate = 'regression.cpu_per_request' AND "
                           "verdict = 'fail'"), 1);
    xml = files_read_must(junit_path);
    assert_non_null(strstr(xml, "<failure message=\"regression.throughput -5%: baseline base"));
    free(xml);
    assert_junit_valid();
    snprintf(page, sizeof page, "%s/summary.md", report_dir);
    md = files_read_must(page);
    assert_non_null(strstr(md, "**2 regressions**"));
    assert_non_null(strstr(md, "**regression**"));
    free(md);
}

/* --duet: each pair is one slice with both sides loaded at once (the two rows of a
 * pair share their start); the slowed candidate is still found. */
static void test_interleave_duet_loads_both_at_once(void **state)
{
    char *const env[] = {"ORDERD_FAULTS=slow=on(300us)", NULL};
    char *out;
    int rc;
    (void)state;
    write_scenario("");
    rc = loadlab((const char *[]){"run", "--db", db_path, "--label", "cand", "--baseline", "base", "--baseline-env",
                                  "ORDERD_FAULTS=", "--interleave", "--duet", "--budget", "30s", scenario_path, NULL},
                 env, 150);
    out = files_read_must(out_path);
    if (rc != 99)
        fail_msg("exit %d:\n%s", rc, out);
    assert_non_null(strstr(out, "0.50s slices (connections kept open to both)"));
    free(out);
    assert_int_equal(count("SELECT count(*) FROM regressions WHERE gate = 'regression.throughput' AND "
                           "verdict = 'fail'"), 1);
    assert_int_equal(count("SELECT count(*) FROM (SELECT pair FROM ab_slices GROUP BY pair "
                           "HAVING count(*) <> 2 OR count(DISTINCT t) <> 1 OR sum(first) <> 1)"), 0);
}

/* What --interleave cannot do is refused before anything starts, with the reason. */
static void test_interleave_refusals_are_usage_errors(void **state)
{
    char *out;
    (void)state;
    write_scenario("[phase.hot]\nat = 1s\nfault = slow=on(10us)\n");
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", scenario_path, NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "cannot run timed fault phases"));
    free(out);
    write_scenario("");
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--interleave",
                                              scenario_path, NULL}, NULL, 30), 2);
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--slice", "2s", scenario_path, NULL}, NULL,
                             30), 2);
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", "--wrk-slices", "--slice", "500ms",
                                              scenario_path, NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "whole seconds"));
    free(out);
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", "--slice", "50ms", scenario_path,
                                              NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "from 100ms to 10s"));
    free(out);
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", "--slice", "0", scenario_path,
                                              NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "--slice 0: must be from 100ms to 10s"));
    free(out);
    /* more threads than the kept-open connections' load takes: refused before anything
     * starts, naming the key and the way out */
    FILE *f = fopen(scenario_path, "w");
    assert_non_null(f);
    fputs("[scenario]\nname = ab\nduration = 2s\n[service]\ncommand = build/orderd --io-threads 1\n"
          "[load]\nconnections = 40\nthreads = 20\npath = /api/products/7\n[gate]\nregression.throughput = 5%\n", f);
    fclose(f);
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", scenario_path, NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "[load] threads = 20"));
    assert_non_null(strstr(out, "--wrk-slices"));
    free(out);
    write_scenario("");
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", "--budget", "3s", "--restart-every", "0",
                                              scenario_path, NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "gives 3 pairs"));
    free(out);
    /* in blocks (the default, 3 pairs each), the budget must hold enough blocks */
    assert_int_equal(loadlab((const char *[]){"run", "--db", db_path, "--baseline", "base", "--baseline-env",
                                              "ORDERD_FAULTS=", "--interleave", "--budget", "12s", scenario_path,
                                              NULL}, NULL, 30), 2);
    out = files_read_must(out_path);
    assert_non_null(strstr(out, "gives 4 blocks of 3 pairs"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interleave_refusals_are_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleave_same_build_is_no_regression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleave_slowed_candidate_is_a_regression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleave_duet_loads_both_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
