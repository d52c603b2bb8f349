/* Tests for report/runpage.c through the page it writes — run-ID/index.html as
 * `loadlab report` renders it from the report fixture database (report_fixture.h),
 * read back with libxml2's HTML parser: the banner says what the verdict says (and
 * links the gates that went otherwise than expected to their charts), the gate table
 * has one row per gate whose pill colour matches its word, a crashed run's gates are
 * "not judged", and a hostile label (markup, quotes, an event handler) stays text.
 * Tested through the files, not the page's loaders, so the tests hold while those
 * move. The binary is $LOADLAB_BIN (set by the test runner) or build/loadlab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "judge/verdict.h"
#include "loadlab_proc.h"
#include "report/html.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "tmpdb.h"
#include "xpath.h"

#define HOSTILE_LABEL "<img src=x onerror=\"alert(1)\"> & 'q' </dd>"
#define GATE_ROWS "//h2[.='Gates']/following-sibling::table[1]/tr[td]"

static struct tmpdb tmp;
static char out_dir[160];
static int64_t hostile_run;

static int group_setup(void **state)
{
    struct report_fixture_run spec = report_fixture_runs[0];
    struct resultdb *db;
    char err[512], id[32], out_path[160];
    int rc;
    (void)state;
    if (report_fixture_tmpdb(&tmp, "runpage-test") < 0)
        return -1;
    tmpdb_file(&tmp, "out", out_dir, sizeof out_dir);
    tmpdb_file(&tmp, "output.txt", out_path, sizeof out_path);
    if (!(db = resultdb_open(tmp.path, false, err, sizeof err))) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    spec.label = HOSTILE_LABEL;
    rc = report_fixture_add_run(db, &spec, &hostile_run, err, sizeof err);
    resultdb_close(db);
    if (rc < 0)
        return -1;
    snprintf(id, sizeof id, "%lld", (long long)hostile_run);
    rc = loadlab_proc_run((const char *[]){"report", "--db", tmp.path, "--out", out_dir, "2", "4", "5", id, NULL},
                          NULL, out_path, 120);
    if (rc != 0) {
        char *out = files_read(out_path);
        fprintf(stderr, "loadlab report exited %d:\n%s\n", rc, out ? out : "");
        free(out);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static const char *page(long long run, char *buf, size_t len)
{
    snprintf(buf, len, "%s/run-%lld/index.html", out_dir, run);
    return buf;
}

/* Every row of the gate table: its pill's class is the one for its word. */
static void assert_gate_pills_match_words(const char *path, size_t expected_rows)
{
    char expr[256];
    assert_int_equal(xpath_number(path, true, "count(" GATE_ROWS ")"), (long)expected_rows);
    for (size_t i = 1; i <= expected_rows; i++) {
        char *word, *cls, want[64];
        snprintf(expr, sizeof expr, "string((" GATE_ROWS ")[%zu]/td[4]/span)", i);
        word = xpath_eval(path, true, expr);
        snprintf(expr, sizeof expr, "string((" GATE_ROWS ")[%zu]/td[4]/span/@class)", i);
        cls = xpath_eval(path, true, expr);
        snprintf(want, sizeof want, "pill %s", html_outcome_class(word));
        if (strcmp(cls, want) != 0)
            fail_msg("%s gate row %zu: '%s' shown as '%s'", path, i, word, cls);
        free(word);
        free(cls);
    }
}

static void test_runpage_gate_table_has_a_row_per_gate_coloured_by_outcome(void **state)
{
    char path[256];
    (void)state;
    page(2, path, sizeof path);
    assert_gate_pills_match_words(path, report_fixture_gate_count(&report_fixture_runs[1]));
    xpath_assert_string(path, true, "string((" GATE_ROWS ")[td[1]='queue_saturation']/td[4])",
                        VERDICT_WORD_TRIPPED_AS_EXPECTED);
    xpath_assert_string(path, true, "string((" GATE_ROWS ")[td[1]='queue_saturation']/td[5])", "trip");
    xpath_assert_string(path, true, "string((" GATE_ROWS ")[td[1]='throughput']/td[5])", "hold");
    xpath_assert_string(path, true, "string(//div[contains(@class,'banner')]/@class)", "banner ok");

    page(4, path, sizeof path);
    assert_gate_pills_match_words(path, report_fixture_gate_count(&report_fixture_runs[3]));
    xpath_assert_string(path, true, "string((" GATE_ROWS ")[td[1]='throughput']/td[4])", VERDICT_WORD_FAILED);
}

#define EXPECTATION_BANNER "//div[@id='expectation-check']"

static void test_runpage_banner_names_what_went_otherwise_and_links_its_chart(void **state)
{
    char path[256];
    (void)state;
    page(4, path, sizeof path);
    xpath_assert_string(path, true, "string(" EXPECTATION_BANNER "/@class)", "banner bad");
    assert_int_equal(xpath_number(path, true, "count(" EXPECTATION_BANNER "//li)"), 1);
    xpath_assert_string(path, true, "string(" EXPECTATION_BANNER "//li/b)", "throughput");
    /* The link lands on a chart of this page. */
    xpath_assert_string(path, true, "string(" EXPECTATION_BANNER "//li//a/@href)", "#throughput");
    assert_int_equal(xpath_number(path, true, "count(//figure[@id='throughput'])"), 1);
    /* The diagnosis above it lists the gate that tripped, linked the same way, with
     * the threshold in the observed value's unit. */
    xpath_assert_string(path, true, "string(//div[@id='tripped']//li//a/@href)", "#throughput");
    xpath_assert_string(path, true, "string(//div[@id='tripped']//li)",
                        "throughput 400 req/s against a threshold of > 500 req/s");
}

static void test_runpage_crashed_run_says_why_and_judges_nothing(void **state)
{
    char path[256], *banner;
    (void)state;
    page(5, path, sizeof path);
    /* First thing under the diagnosis, and again in the expectation check. */
    banner = xpath_eval(path, true, "string(//h2[@id='diagnosis']/following-sibling::div[1])");
    assert_non_null(strstr(banner, "The service crashed: the service exited with status 1"));
    free(banner);
    banner = xpath_eval(path, true, "string(" EXPECTATION_BANNER ")");
    assert_non_null(strstr(banner, "Crashed: the service exited with status 1"));
    free(banner);
    xpath_assert_string(path, true, "string(" EXPECTATION_BANNER "/@class)", "banner bad");
    assert_gate_pills_match_words(path, 4);
    assert_int_equal(xpath_number(path, true, "count(" GATE_ROWS "[td[4]='not judged'])"), 4);
    assert_int_equal(xpath_number(path, true, "count(" GATE_ROWS "[td[3]='-'])"), 4);
}

static void test_runpage_hostile_label_stays_text(void **state)
{
    char path[256];
    (void)state;
    page(hostile_run, path, sizeof path);
    xpath_assert_string(path, true, "string(//dl[@class='facts']/dt[.='label']/following-sibling::dd[1])",
                        HOSTILE_LABEL);
    assert_int_equal(xpath_number(path, true, "count(//*[@onerror])"), 0);
    assert_int_equal(xpath_number(path, true, "count(//dl[@class='facts']//img)"), 0);
    /* The facts list is whole: the label's "</dd>" did not close it early. */
    assert_int_equal(xpath_number(path, true, "count(//dl[@class='facts']/dt)"),
                     xpath_number(path, true, "count(//dl[@class='facts']/dd)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runpage_gate_table_has_a_row_per_gate_coloured_by_outcome),
        cmocka_unit_test(test_runpage_banner_names_what_went_otherwise_and_links_its_chart),
        cmocka_unit_test(test_runpage_crashed_run_says_why_and_judges_nothing),
        cmocka_unit_test(test_runpage_hostile_label_stays_text),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
