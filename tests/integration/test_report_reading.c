/* Tests for the report as a person on call reads it, on the pages `loadlab report`
 * renders from the report fixture database (report_fixture.h) with the real gnuplot:
 * a run's page leads with the diagnosis and the gates that tripped, the expectation
 * check below; the index has a diagnosis column and, for a scenario with one run,
 * that run's key charts; every threshold is written in its observed value's unit, and
 * one figure (a p99) is written the same way on every page. Read back with libxml2's
 * HTML parser (xpath.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "report/report.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "tmpdb.h"
#include "xpath.h"

#define STALL_RUN REPORT_FIXTURE_EVIDENCE_RUN   /* queue-stall: one run, diagnosed queue-full */
#define FAILED_RUN 4                            /* baseline v3: throughput failed */
#define GATE_ROWS "//h2[.='Gates']/following-sibling::table[1]/tr[td]"

static struct tmpdb tmp;
static char out_dir[160], index_path[4096];

static int group_setup(void **state)
{
    struct report_result res;
    struct report_options opt = {0};
    struct resultdb *db;
    char err[1024];
    int rc;
    (void)state;
    unsetenv("LOADLAB_GNUPLOT");
    if (report_fixture_tmpdb(&tmp, "report-reading-test") < 0)
        return -1;
    tmpdb_file(&tmp, "out", out_dir, sizeof out_dir);
    opt.db_path = tmp.path;
    opt.out_dir = out_dir;
    if (!(db = resultdb_open(tmp.path, true, err, sizeof err))) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    rc = report_render(db, &opt, &res, err, sizeof err);
    resultdb_close(db);
    if (rc != 0) {
        fprintf(stderr, "report_render: %s\n", err);
        return -1;
    }
    snprintf(index_path, sizeof index_path, "%s", res.index_path);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static const char *page(int run, char *buf, size_t len)
{
    snprintf(buf, len, "%s/run-%d/index.html", out_dir, run);
    return buf;
}

/* The first h2 is the diagnosis; the expectation check comes after the findings and
 * the gates that tripped, and before the facts, the gates and the charts. */
static void test_report_reading_run_page_leads_with_the_diagnosis(void **state)
{
    char path[256], *text;
    (void)state;
    page(STALL_RUN, path, sizeof path);
    xpath_assert_string(path, true, "string((//h2)[1]/@id)", "diagnosis");
    xpath_assert_string(path, true, "string((//h2)[2]/@id)", "expectations");
    /* Between them: the finding, then the gate that tripped (expected to, here). */
    assert_int_equal(xpath_number(path, true, "count(//h2[@id='expectations']/preceding::div[@class="
                                              "'finding'])"), 1);
    assert_int_equal(xpath_number(path, true, "count(//h2[@id='expectations']/preceding::div[@id='tripped'])"), 1);
    text = xpath_eval(path, true, "string(//div[@id='tripped'])");
    assert_non_null(strstr(text, "queue_saturation"));
    assert_non_null(strstr(text, "(the scenario expects it to trip)"));
    free(text);
    /* The green expectation verdict is below, never the first thing. */
    assert_int_equal(xpath_number(path, true, "count(//div[@id='expectation-check']/preceding::h2[@id='diagnosis'])"),
                     1);
    assert_int_equal(xpath_number(path, true, "count(//h2[.='Gates']/preceding::div[@id='expectation-check'])"), 1);
    /* A run never diagnosed still leads with the section, saying so, and its tripped gate. */
    page(FAILED_RUN, path, sizeof path);
    xpath_assert_string(path, true, "string((//h2)[1]/@id)", "diagnosis");
    text = xpath_eval(path, true, "string(//h2[@id='diagnosis']/following-sibling::p[1])");
    assert_non_null(strstr(text, "Not diagnosed"));
    free(text);
    xpath_assert_string(path, true, "string(//div[@id='tripped']//li/b)", "throughput");
}

/* The index's table: a diagnosis column with each latest run's stored verdict. */
static void test_report_reading_index_has_a_diagnosis_column(void **state)
{
    (void)state;
    xpath_assert_string(index_path, true, "string(//table[@id='scenarios']/tr[1]/th[last()])", "diagnosis");
    xpath_assert_string(index_path, true,
                        "string(//table[@id='scenarios']/tr[td[1]='queue-stall']/td[last()])",
                        "queue-full in worker_process_stalled");
    xpath_assert_string(index_path, true, "string(//table[@id='scenarios']/tr[td[1]='queue-stall']/td[last()]/a/@href)",
                        "run-2/index.html#diagnosis");
    xpath_assert_string(index_path, true, "string(//table[@id='scenarios']/tr[td[1]='baseline']/td[last()])",
                        "not diagnosed");
}

/* queue-stall has one run, so no trend: the index shows its run's key charts (the
 * tripped gate's first) instead of none, and each is a file that was drawn. */
static void test_report_reading_index_shows_a_lone_runs_key_charts(void **state)
{
    char *src, file[400];
    (void)state;
    assert_int_equal(xpath_number(index_path, true, "count(//h2[@id='s-queue-stall']/following-sibling::h3"
                                                    "[.=\"Latest run's key charts\"][1])"), 1);
    src = xpath_eval(index_path, true, "string(//h2[@id='s-queue-stall']/following-sibling::div[@class='charts'][1]"
                                       "/figure[1]//img/@src)");
    assert_string_equal(src, "run-2/queue.svg");
    snprintf(file, sizeof file, "%s/%s", out_dir, src);
    assert_int_equal(access(file, R_OK), 0);
    free(src);
    assert_int_equal(xpath_number(index_path, true, "count(//h2[@id='s-queue-stall']/following-sibling::div"
                                                    "[@class='charts'][1]/figure)"), 2);
    /* baseline has three runs: its trends, not a run's charts. */
    src = xpath_eval(index_path, true, "string(//h2[@id='s-baseline']/following-sibling::div[@class='charts'][1]"
                                       "/figure[1]//img/@src)");
    assert_non_null(strstr(src, "trends/baseline-"));
    free(src);
}

/* What follows the number: "s/s", "%", "req/s", "threads/s", a time unit. Durations
 * count as one unit whichever of ns/us/ms/s is written. */
static void unit_of(const char *figure, char *unit, size_t len)
{
    const char *p = figure + strlen(figure);
    static const char *const times[] = {"ns", "us", "ms", "s"};
    while (p > figure && !isdigit((unsigned char)p[-1]))
        p--;
    while (*p == ' ')
        p++;
    snprintf(unit, len, "%s", p);
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (strcmp(unit, times[i]) == 0)
            snprintf(unit, len, "time");
}

/* Every gate row of a run page: threshold and observed value in one unit, and a unit
 * written (no bare "< 0.05" beside "0.428s/s"). */
static void assert_gate_units_agree(int run, size_t expected_rows)
{
    char path[256], expr[256];
    (void)run;
    page(run, path, sizeof path);
    assert_int_equal(xpath_number(path, true, "count(" GATE_ROWS ")"), (long)expected_rows);
    for (size_t i = 1; i <= expected_rows; i++) {
        char *threshold, *observed, tu[32], ou[32];
        snprintf(expr, sizeof expr, "string((" GATE_ROWS ")[%zu]/td[2])", i);
        threshold = xpath_eval(path, true, expr);
        snprintf(expr, sizeof expr, "string((" GATE_ROWS ")[%zu]/td[3])", i);
        observed = xpath_eval(path, true, expr);
        unit_of(threshold, tu, sizeof tu);
        unit_of(observed, ou, sizeof ou);
        if (strcmp(tu, ou) != 0 || !tu[0])
            fail_msg("run %d gate row %zu: threshold '%s' and observed '%s' differ in unit", run, i, threshold, observed);
        assert_null(strstr(observed, "e+"));
        assert_null(strstr(observed, "e-"));
        free(threshold);
        free(observed);
    }
}

static void test_report_reading_threshold_and_observed_share_a_unit(void **state)
{
    char path[256];
    (void)state;
    assert_gate_units_agree(STALL_RUN, report_fixture_gate_count(&report_fixture_runs[STALL_RUN - 1]));
    assert_gate_units_agree(FAILED_RUN, report_fixture_gate_count(&report_fixture_runs[FAILED_RUN - 1]));
    /* The metric gate on a _seconds_total counter's slope is in s/s, threshold too. */
    page(STALL_RUN, path, sizeof path);
    xpath_assert_string(path, true, "string((" GATE_ROWS ")[td[1]='metric.orderd_block_seconds_total{site=\"queue_pop\"}"
                                    ".slope']/td[2])", "< 10s/s");
    xpath_assert_string(path, true, "string((" GATE_ROWS ")[td[1]='thread_growth']/td[2])", "< 0.5 threads/s");
}

/* One p99, one way: the index's p99 of a run is the run page's wrk p99 of its
 * measured part, as written; and the fixture's 40 ms reads "40ms". */
static void test_report_reading_p99_is_written_one_way(void **state)
{
    char path[256], *in_index, *on_page;
    (void)state;
    in_index = xpath_eval(index_path, true, "string(//table[@id='scenarios']/tr[td[1]='queue-stall']/td[7])");
    page(STALL_RUN, path, sizeof path);
    on_page = xpath_eval(path, true, "string(//h2[.='Load (wrk)']/following-sibling::table[1]/tr[td[1]='measure']"
                                     "/td[10])");
    assert_string_equal(in_index, "40ms");
    assert_string_equal(on_page, in_index);
    free(in_index);
    free(on_page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_reading_run_page_leads_with_the_diagnosis),
        cmocka_unit_test(test_report_reading_index_has_a_diagnosis_column),
        cmocka_unit_test(test_report_reading_index_shows_a_lone_runs_key_charts),
        cmocka_unit_test(test_report_reading_threshold_and_observed_share_a_unit),
        cmocka_unit_test(test_report_reading_p99_is_written_one_way),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
