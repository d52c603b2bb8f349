/* Tests for report/runcharts.c through the files it leaves — the charts of
 * run-ID/ as `loadlab report` draws them with the real gnuplot from the report
 * fixture database (report_fixture.h): every chart the page shows is a file that
 * parses as SVG, every chart file is shown exactly once, a chart whose metrics the
 * run lacks is not drawn and is named instead, a metric gate gets its own chart,
 * --png puts a PNG beside every SVG, and without gnuplot no chart file is left and
 * the page links to none. Tested through the files, not the chart loaders, so the
 * tests hold while those move. The binary is $LOADLAB_BIN (set by the test runner) or
 * build/loadlab. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "loadlab_proc.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "tmpdb.h"
#include "xpath.h"

#define MAX_CHARTS 32

/* Two open-model runs added after the fixture's: one kept its schedule, one fell
 * behind it (report_fixture_add_open_load). */
#define OPEN_RUN "10"
#define OPEN_BEHIND_RUN "11"
#define WRK_RUN "2"

static struct tmpdb tmp;
static char out_path[160];

static int add_open_runs(void)
{
    char err[1024];
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    int64_t id;
    int rc = -1;

    if (db && report_fixture_add_run(db, &report_fixture_runs[1], &id, err, sizeof err) == 0 &&
        id == atoi(OPEN_RUN) && report_fixture_add_open_load(db, id, false, err, sizeof err) == 0 &&
        report_fixture_add_run(db, &report_fixture_runs[1], &id, err, sizeof err) == 0 &&
        id == atoi(OPEN_BEHIND_RUN) && report_fixture_add_open_load(db, id, true, err, sizeof err) == 0)
        rc = 0;
    if (rc < 0)
        fprintf(stderr, "fixture: open-model runs: %s\n", db ? err : "cannot open the database");
    resultdb_close(db);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    if (report_fixture_tmpdb(&tmp, "runcharts-test") < 0 || add_open_runs() < 0)
        return -1;
    tmpdb_file(&tmp, "output.txt", out_path, sizeof out_path);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

/* Renders the report of runs into out/NAME (env: NULL or one "NAME=value"). */
static void render(const char *name, const char *const *runs, bool png, char *env, int expected_exit, char *out,
                   size_t outlen)
{
    const char *args[16] = {"report", "--db", tmp.path, "--out", out};
    char *envs[] = {env, NULL};
    size_t n = 5;
    int rc;
    tmpdb_file(&tmp, name, out, outlen);
    if (png)
        args[n++] = "--png";
    for (size_t i = 0; runs[i] && n < 15; i++)
        args[n++] = runs[i];
    args[n] = NULL;
    rc = loadlab_proc_run(args, env ? envs : NULL, out_path, 120);
    if (rc != expected_exit) {
        char *text = files_read(out_path);
        fail_msg("loadlab report exited %d, expected %d:\n%s", rc, expected_exit, text ? text : "");
    }
}

/* The names of the files in dir ending in suffix; returns how many (at most max). */
static size_t files_ending(const char *dir, const char *suffix, char names[][64], size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, sl = strlen(suffix);
    assert_non_null(d);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0 && n < max)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* Checks run-ID of out: the page's charts and the SVG files are the same set, each
 * shown once, each well-formed SVG. Returns how many there are. */
static size_t assert_charts_match_files(const char *out, int run)
{
    char dir[256], page[300], svgs[MAX_CHARTS][64], expr[256], file[400];
    size_t n;

    snprintf(dir, sizeof dir, "%s/run-%d", out, run);
    snprintf(page, sizeof page, "%s/index.html", dir);
    n = files_ending(dir, ".svg", svgs, MAX_CHARTS);
    assert_int_equal(xpath_number(page, true, "count(//div[@class='charts']/figure//img)"), (long)n);
    for (size_t i = 0; i < n; i++) {
        snprintf(expr, sizeof expr, "count(//div[@class='charts']/figure//img[@src='%s'])", svgs[i]);
        if (xpath_number(page, true, expr) != 1)
            fail_msg("%s is not shown exactly once on %s", svgs[i], page);
        snprintf(file, sizeof file, "%s/%s", dir, svgs[i]);
        xpath_assert_well_formed(file);
        assert_int_equal(xpath_number(file, false, "count(/*[local-name()='svg'])"), 1);
    }
    /* Every figure has its own anchor, for the banner's links. */
    assert_int_equal(xpath_number(page, true, "count(//figure[@id])"),
                     xpath_number(page, true, "count(//figure[not(@id = preceding::figure/@id)])"));
    return n;
}

static void test_runcharts_every_chart_shown_is_a_drawn_svg(void **state)
{
    char out[160];
    (void)state;
    render("all", (const char *[]){"2", "4", "5", NULL}, false, NULL, 0, out, sizeof out);
    /* The fault run: nine standard charts and one for its metric gate. */
    assert_int_equal(assert_charts_match_files(out, 2), 10);
    assert_true(assert_charts_match_files(out, 4) >= 8);
    assert_true(assert_charts_match_files(out, 5) >= 8);
}

static void test_runcharts_a_metric_gate_gets_a_chart_of_its_own(void **state)
{
    char out[160], page[256], expr[256], svg[256];
    (void)state;
    render("gate", (const char *[]){"2", "4", NULL}, false, NULL, 0, out, sizeof out);
    snprintf(page, sizeof page, "%s/run-2/index.html", out);
    /* The metric gate is the sixth of queue-stall's gates. */
    snprintf(expr, sizeof expr, "count(//figure//img[@src='gate-6.svg'])");
    assert_int_equal(xpath_number(page, true, expr), 1);
    snprintf(svg, sizeof svg, "%s/run-2/gate-6.svg", out);
    assert_int_equal(access(svg, R_OK), 0);
    /* Its title names the metric it charts. */
    assert_true(xpath_number(svg, false, "count(//*[local-name()='text'][contains(., 'orderd_block_seconds_total')])") >=
                1);
    snprintf(page, sizeof page, "%s/run-4/index.html", out);
    assert_int_equal(xpath_number(page, true, "count(//figure//img[starts-with(@src, 'gate-')])"), 0);
}

static void test_runcharts_a_chart_without_its_metrics_is_named_not_drawn(void **state)
{
    char out[160], page[256], svg[256], *note;
    (void)state;
    /* Run 6 (overhead-off) had no failed request and no error gate. */
    render("missing", (const char *[]){"6", NULL}, false, NULL, 0, out, sizeof out);
    snprintf(page, sizeof page, "%s/run-6/index.html", out);
    snprintf(svg, sizeof svg, "%s/run-6/errors.svg", out);
    assert_int_equal(access(svg, F_OK), -1);
    assert_int_equal(xpath_number(page, true, "count(//figure[@id='errors'])"), 0);
    note = xpath_eval(page, true, "string(//p[starts-with(., 'Not drawn:')])");
    assert_non_null(strstr(note, "Errors and rejections"));
    free(note);
    assert_charts_match_files(out, 6);
}

static void test_runcharts_png_beside_every_svg(void **state)
{
    char out[160], dir[256], svgs[MAX_CHARTS][64], pngs[MAX_CHARTS][64];
    size_t nsvg, npng;
    (void)state;
    render("png", (const char *[]){"2", NULL}, true, NULL, 0, out, sizeof out);
    snprintf(dir, sizeof dir, "%s/run-2", out);
    nsvg = files_ending(dir, ".svg", svgs, MAX_CHARTS);
    npng = files_ending(dir, ".png", pngs, MAX_CHARTS);
    assert_int_equal(npng, nsvg);
    for (size_t i = 0; i < nsvg; i++) {
        char png[400], magic[8] = {0};
        FILE *f;
        snprintf(png, sizeof png, "%s/%.*s.png", dir, (int)(strlen(svgs[i]) - 4), svgs[i]);
        f = fopen(png, "rb");
        if (!f)
            fail_msg("no PNG beside %s", svgs[i]);
        assert_int_equal(fread(magic, 1, 8, f), 8);
        fclose(f);
        assert_memory_equal(magic, "\x89PNG\r\n\x1a\n", 8);
    }
}

static void test_runcharts_without_gnuplot_no_chart_and_no_dangling_link(void **state)
{
    char out[160], dir[256], svgs[MAX_CHARTS][64], page[300];
    (void)state;
    render("nognuplot", (const char *[]){"2", NULL}, false, "LOADLAB_GNUPLOT=/nonexistent/gnuplot", 1, out,
           sizeof out);
    snprintf(dir, sizeof dir, "%s/run-2", out);
    snprintf(page, sizeof page, "%s/index.html", dir);
    assert_int_equal(files_ending(dir, ".svg", svgs, MAX_CHARTS), 0);
    assert_int_equal(xpath_number(page, true, "count(//img)"), 0);
    assert_true(xpath_number(page, true, "count(//*[contains(@class, 'note')][contains(., 'gnuplot')])") >= 1);
}

/* How many <text> elements of svg contain text. */
static long svg_texts(const char *svg, const char *text)
{
    char expr[256];
    snprintf(expr, sizeof expr, "count(//*[local-name()='text'][contains(., '%s')])", text);
    return xpath_number(svg, false, expr);
}

static void test_runcharts_open_model_run_charts_latency_from_the_schedule_and_the_rate(void **state)
{
    char out[160], page[256], svg[256];
    (void)state;
    render("open", (const char *[]){OPEN_RUN, OPEN_BEHIND_RUN, WRK_RUN, NULL}, false, NULL, 0, out, sizeof out);

    /* The open-model run: the generator's latency chart and the rate chart, each once. */
    assert_true(assert_charts_match_files(out, atoi(OPEN_RUN)) >= 3);
    snprintf(page, sizeof page, "%s/run-" OPEN_RUN "/index.html", out);
    assert_int_equal(xpath_number(page, true, "count(//figure[@id='latency']//img[@src='latency.svg'])"), 1);
    assert_int_equal(xpath_number(page, true, "count(//figure[@id='rate']//img[@src='rate.svg'])"), 1);
    assert_int_equal(xpath_number(page, true, "count(//h2[. = 'Load (open model)'])"), 1);
    assert_true(xpath_number(page, true, "count(//figure[@id='latency']/figcaption[contains(., 'scheduled')])") == 1);
    snprintf(svg, sizeof svg, "%s/run-" OPEN_RUN "/latency.svg", out);
    assert_int_equal(svg_texts(svg, "client p50"), 1);
    assert_int_equal(svg_texts(svg, "client p99"), 1);
    assert_int_equal(svg_texts(svg, "client max"), 1);
    /* The service's histogram beside it. */
    assert_int_equal(svg_texts(svg, "service p99"), 1);
    /* The stall's 1.5 s latencies reach the axis: a tic of 1000 ms or more. */
    assert_true(xpath_number(svg, false, "count(//*[local-name()='text'][. = '1k' or . = '2k' or . = '1000' "
                                         "or . = '2000'])") >= 1);
    snprintf(svg, sizeof svg, "%s/run-" OPEN_RUN "/rate.svg", out);
    assert_int_equal(svg_texts(svg, "intended (scheduled)"), 1);
    assert_int_equal(svg_texts(svg, "achieved (completed)"), 1);
    assert_int_equal(svg_texts(svg, "dropped (past max_in_flight)"), 1);
    assert_int_equal(svg_texts(svg, "errors"), 1);
    assert_int_equal(svg_texts(svg, "errors: none"), 0);
    /* It kept its schedule: no warning. */
    assert_int_equal(xpath_number(page, true, "count(//*[@id='latency-unreliable'])"), 0);

    /* Fell behind: the page says its latencies are unreliable, beside the charts. */
    assert_true(assert_charts_match_files(out, atoi(OPEN_BEHIND_RUN)) >= 3);
    snprintf(page, sizeof page, "%s/run-" OPEN_BEHIND_RUN "/index.html", out);
    assert_int_equal(xpath_number(page, true, "count(//h2[. = 'Charts']/following-sibling::p[1][@id='latency-unreliable']"
                                              "[contains(., 'unreliable')])"), 1);
    assert_int_equal(xpath_number(page, true, "count(//figure[@id='latency']/figcaption[contains(., 'unreliable')])"), 1);

    /* A closed-model (wrk) run: the service's latency chart, no rate chart, no warning. */
    snprintf(page, sizeof page, "%s/run-" WRK_RUN "/index.html", out);
    assert_int_equal(xpath_number(page, true, "count(//figure[@id='latency'])"), 1);
    assert_int_equal(xpath_number(page, true, "count(//figure[@id='rate'])"), 0);
    assert_int_equal(xpath_number(page, true, "count(//h2[. = 'Load (wrk)'])"), 1);
    assert_int_equal(xpath_number(page, true, "count(//*[@id='latency-unreliable'])"), 0);
    snprintf(svg, sizeof svg, "%s/run-" WRK_RUN "/latency.svg", out);
    assert_int_equal(svg_texts(svg, "client p99"), 0);
    assert_int_equal(svg_texts(svg, "service histogram"), 1);
}

static void test_runcharts_open_model_behind_schedule_said_without_gnuplot(void **state)
{
    char out[160], page[256];
    (void)state;
    render("open-nognuplot", (const char *[]){OPEN_BEHIND_RUN, NULL}, false, "LOADLAB_GNUPLOT=/nonexistent/gnuplot",
           1, out, sizeof out);
    snprintf(page, sizeof page, "%s/run-" OPEN_BEHIND_RUN "/index.html", out);
    assert_int_equal(xpath_number(page, true, "count(//img)"), 0);
    assert_int_equal(xpath_number(page, true, "count(//*[@id='latency-unreliable'])"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runcharts_every_chart_shown_is_a_drawn_svg),
        cmocka_unit_test(test_runcharts_a_metric_gate_gets_a_chart_of_its_own),
        cmocka_unit_test(test_runcharts_a_chart_without_its_metrics_is_named_not_drawn),
        cmocka_unit_test(test_runcharts_png_beside_every_svg),
        cmocka_unit_test(test_runcharts_without_gnuplot_no_chart_and_no_dangling_link),
        cmocka_unit_test(test_runcharts_open_model_run_charts_latency_from_the_schedule_and_the_rate),
        cmocka_unit_test(test_runcharts_open_model_behind_schedule_said_without_gnuplot),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
