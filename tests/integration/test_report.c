/* Tests for report (with runcharts, runevidence, runpage and html, which it drives):
 * a report rendered from the fixture database with the real gnuplot, checked the way
 * a person would be let down by it — an SVG a browser cannot parse, a chart missing
 * its series or its fault shading, a link to nothing, a verdict table short of a
 * gate, a diagnosis or evidence the page does not show or shows unescaped — and
 * `loadlab report`'s exit codes. SVGs are checked with xmllint (libxml2-utils). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>


#include "store/evidence.h"
#include "report/report.h"
#include "report_fixture.h"
#include "store/resultdb.h"
#include "testdb.h"
#include "files.h"
#include "loadlab_proc.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char out_dir[128];
static char err[2048];

static int group_setup(void **state)
{
    (void)state;
    return report_fixture_tmpdb(&tmp, "report-test");
}

static int group_teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

/* Each test renders into a fresh folder. */
static int setup(void **state)
{
    static int n;
    (void)state;
    snprintf(out_dir, sizeof out_dir, "%s/out-%d", tmp.dir, ++n);
    unsetenv("LOADLAB_GNUPLOT");
    return 0;
}

static size_t count_in_file(const char *path, const char *needle)
{
    char *text = files_read(path);
    size_t n;
    if (!text)
        fail_msg("cannot read %s", path);
    n = files_count(text, needle);
    free(text);
    return n;
}

static void render(const char *const *select, size_t nselect, struct report_result *res)
{
    struct resultdb *db = resultdb_open(tmp.path, true, err, sizeof err);
    struct report_options opt = {.db_path = tmp.path, .out_dir = out_dir, .select = (char *const *)select,
                                 .nselect = nselect};
    if (!db)
        fail_msg("%s", err);
    if (report_render(db, &opt, res, err, sizeof err) != 0)
        fail_msg("report_render: %s", err);
    resultdb_close(db);
}

/* Lists files under root (recursively) whose names end in suffix, as one
 * space-separated string of paths. */
static void find_files(const char *root, const char *suffix, char *out, size_t outlen, size_t *n)
{
    DIR *d = opendir(root);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char path[512];
        struct stat st;
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            find_files(path, suffix, out, outlen, n);
        } else if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0) {
            size_t used = strlen(out);
            snprintf(out + used, outlen - used, " '%s'", path);
            (*n)++;
        }
    }
    closedir(d);
}

static void test_report_every_svg_parses_as_xml(void **state)
{
    struct report_result res;
    char files[65536] = "", cmd[66000];
    size_t n = 0;
    (void)state;
    render(NULL, 0, &res);
    assert_false(res.charts_missing);
    /* gnuplot said nothing: no key that did not fit, no empty range. */
    assert_string_equal(res.warning, "");
    assert_int_equal(res.runs, REPORT_FIXTURE_RUNS);
    assert_int_equal(res.scenarios, 5);
    find_files(out_dir, ".svg", files, sizeof files, &n);
    assert_int_equal(n, res.charts);
    assert_true(n > 40);
    snprintf(cmd, sizeof cmd, "xmllint --noout%s", files);
    assert_int_equal(system(cmd), 0);
}

static void test_report_run_charts_carry_series_and_fault_shading(void **state)
{
    struct report_result res;
    const char *select[] = {"queue-stall"};
    char path[256];
    (void)state;
    render(select, 1, &res);

    /* Depth, capacity and the saturation level; the warmup and queue.stall shaded. */
    snprintf(path, sizeof path, "%s/run-2/queue.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 3);
    assert_int_equal(count_in_file(path, "fill-opacity = '0.220000'"), 2);
    assert_true(count_in_file(path, ">queue.stall=on(50ms)</text>") > 0);
    assert_true(count_in_file(path, ">warmup</text>") > 0);

    /* All responses, 2xx, the 503s that start mid-run, wrk's figure, the gate. */
    snprintf(path, sizeof path, "%s/run-2/throughput.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 5);
    assert_int_equal(count_in_file(path, "<text>5xx responses</text>"), 1);
    assert_int_equal(count_in_file(path, "<text>gate throughput > 500 req/s</text>"), 1);

    /* p50, p90, p99, the p99 gate and wrk's p99. */
    snprintf(path, sizeof path, "%s/run-2/latency.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 5);
    assert_int_equal(count_in_file(path, "fill-opacity = '0.220000'"), 2);

    /* Only the lock that made anyone wait (cache), and the gate... */
    snprintf(path, sizeof path, "%s/run-2/lockwait.svg", out_dir);
    assert_int_equal(count_in_file(path, "<text>lock cache</text>"), 1);
    assert_int_equal(count_in_file(path, "<text>lock queue</text>"), 0);

    /* ...and threads: the total, its fitted trend and the allowed slope (roles that
     * never changed are left out). */
    snprintf(path, sizeof path, "%s/run-2/threads.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 3);

    /* The metric gate gets a chart of its own: the rate and its threshold. */
    snprintf(path, sizeof path, "%s/run-2/gate-6.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 2);

    /* The page shows the charts it lists. */
    snprintf(path, sizeof path, "%s/run-2/index.html", out_dir);
    assert_int_equal(count_in_file(path, "<img src="), 10);  /* 9 standard charts + the metric gate */
}

static void test_report_trends_show_the_regression_and_overhead(void **state)
{
    struct report_result res;
    char path[256], *index;
    (void)state;
    render(NULL, 0, &res);

    /* baseline: throughput of 3 runs, the run that failed its gate marked, the gate,
     * with the failing side shaded. */
    snprintf(path, sizeof path, "%s/trends/baseline-throughput.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 3);
    assert_int_equal(count_in_file(path, "<text>throughput gate failed</text>"), 1);
    assert_int_equal(count_in_file(path, "fill-opacity = '0.120000'"), 1);
    assert_int_equal(count_in_file(path, ">v3 #4</text>"), 1);
    /* One completed run of queue-stall: no trend, a note. */
    snprintf(path, sizeof path, "%s/trends/queue-stall-throughput.svg", out_dir);
    assert_int_equal(access(path, F_OK), -1);

    snprintf(path, sizeof path, "%s/overhead-throughput.svg", out_dir);
    assert_int_equal(count_in_file(path, "<g id=\"gnuplot_plot_"), 1);
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    index = files_read(path);
    assert_non_null(index);
    /* Settings in first-appearance order, medians of the repeated runs. */
    assert_non_null(strstr(index, "<td class=\"mono\">off</td><td class=\"num\">2</td><td class=\"num\">1100 req/s</td>"
                                  "<td class=\"num\">1000..1200 req/s</td>"));
    assert_non_null(strstr(index, "<td class=\"mono\">profile</td><td class=\"num\">2</td><td class=\"num\">850 req/s</td>"));
    assert_true(strstr(index, ">off</td>") < strstr(index, ">profile</td>"));
    assert_non_null(strstr(index, "One completed run so far"));
    /* The banner names what went wrong, first thing on the page. */
    assert_non_null(strstr(index, "2 of 5 scenarios did not meet expectations"));
    assert_true(strstr(index, "banner bad") < strstr(index, "<h2"));
    free(index);
}

/* Every href and src of a page resolves to a file (relative to the page), and every
 * #fragment to an element with that id in the page it points at. */
static size_t check_links(const char *page_path)
{
    char *html = files_read(page_path), base[512], *slash;
    size_t checked = 0;
    static const char *const attrs[] = {"href=\"", "src=\""};

    assert_non_null(html);
    snprintf(base, sizeof base, "%s", page_path);
    slash = strrchr(base, '/');
    *slash = '\0';
    for (size_t a = 0; a < 2; a++)
        for (const char *p = html; (p = strstr(p, attrs[a])); ) {
            char target[512], path[1100], id[300] = "";
            const char *start = p + strlen(attrs[a]), *end = strchr(start, '"');
            char *hash;
            p = end;
            snprintf(target, sizeof target, "%.*s", (int)(end - start), start);
            if ((hash = strchr(target, '#'))) {
                snprintf(id, sizeof id, "id=\"%s\"", hash + 1);
                *hash = '\0';
            }
            if (target[0]) {
                snprintf(path, sizeof path, "%s/%s", base, target);
                if (access(path, R_OK) != 0)
                    fail_msg("%s links to %s, which does not exist", page_path, target);
            } else {
                snprintf(path, sizeof path, "%s", page_path);
            }
            if (id[0] && count_in_file(path, id) != 1)
                fail_msg("%s links to %s#%s, which has no such element", page_path, target, id);
            checked++;
        }
    free(html);
    return checked;
}

static void test_report_every_link_resolves(void **state)
{
    struct report_result res;
    char path[256];
    size_t links;
    (void)state;
    render(NULL, 0, &res);
    links = check_links(res.index_path);
    assert_true(links >= REPORT_FIXTURE_RUNS + 6);  /* every run, trends, overhead */
    /* A gate off expectation links to the chart that shows it. */
    assert_true(count_in_file(res.index_path, "href=\"run-4/index.html#throughput\"") > 0);
    for (int64_t id = 1; id <= REPORT_FIXTURE_RUNS; id++) {
        snprintf(path, sizeof path, "%s/run-%lld/index.html", out_dir, (long long)id);
        assert_true(check_links(path) >= 1);
    }
}

static void test_report_markdown_has_one_row_per_gate(void **state)
{
    struct report_result res;
    char *md;
    size_t gates = 0, rows = 0;
    const char *p;
    (void)state;
    render(NULL, 0, &res);
    /* The latest run of each scenario: baseline v3 (#4), queue-stall, crashy (not
     * judged), overhead-off and -profile (no gates). */
    gates = report_fixture_gate_count(&report_fixture_runs[3]) + report_fixture_gate_count(&report_fixture_runs[1]);
    md = files_read(res.summary_path);
    assert_non_null(md);
    for (p = md; (p = strstr(p, "\n| ")); p++)
        rows++;
    assert_int_equal(rows, gates + 1);  /* + the header row */
    assert_non_null(strstr(md, "| baseline | 4 | `throughput` | &gt; 500 req/s | 400 req/s | **failed** | hold |"));
    assert_non_null(strstr(md, "`metric.orderd_block_seconds_total{site=\"queue_pop\"}.slope`"));
    assert_non_null(strstr(md, "- **crashy** run 5: crashed: the service exited with status 1"));
    assert_non_null(strstr(md, "## loadlab: 2 of 5 scenarios did not meet expectations"));
    free(md);
}

static void test_report_without_gnuplot_still_writes_pages(void **state)
{
    struct report_result res;
    char files[4096] = "", *index;
    size_t n = 0;
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    render(NULL, 0, &res);
    assert_true(res.charts_missing);
    assert_non_null(strstr(res.chart_problem, "gnuplot-nox"));
    assert_int_equal(res.charts, 0);
    find_files(out_dir, ".svg", files, sizeof files, &n);
    assert_int_equal(n, 0);
    index = files_read(res.index_path);
    assert_non_null(index);
    assert_non_null(strstr(index, "Some charts could not be drawn: gnuplot is needed"));
    free(index);
    assert_int_equal(access(res.summary_path, R_OK), 0);
    assert_true(count_in_file(res.index_path, "<img") == 0);
    check_links(res.index_path);
}

static void test_report_a_failing_gnuplot_is_reported_per_run(void **state)
{
    struct report_result res;
    char fake[160], path[256];
    FILE *f;
    const char *select[] = {"1"};
    (void)state;
    /* A "gnuplot" that reads its script and fails, as a broken one would. */
    snprintf(fake, sizeof fake, "%s/gnuplot-broken", tmp.dir);
    f = fopen(fake, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\ncat >/dev/null\necho 'line 3: all points y value undefined!' >&2\nexit 1\n", f);
    fclose(f);
    chmod(fake, 0755);
    setenv("LOADLAB_GNUPLOT", fake, 1);
    render(select, 1, &res);
    assert_true(res.charts_missing);
    assert_non_null(strstr(res.chart_problem, "all points y value undefined"));
    snprintf(path, sizeof path, "%s/run-1/index.html", out_dir);
    assert_int_equal(count_in_file(path, "Charts could not be drawn: gnuplot exited with status 1"), 1);
    assert_int_equal(count_in_file(path, "<img"), 0);
}

static void test_report_nothing_to_report(void **state)
{
    struct resultdb *db;
    struct report_result res;
    char empty[160];
    const char *unknown_run[] = {"999"}, *unknown_scenario[] = {"no-such-scenario"};
    struct report_options opt = {.db_path = empty, .out_dir = out_dir};
    (void)state;
    snprintf(empty, sizeof empty, "%s/empty.db", tmp.dir);
    db = resultdb_open(empty, false, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(report_render(db, &opt, &res, err, sizeof err), 1);
    assert_non_null(strstr(err, "holds no runs"));
    resultdb_close(db);

    db = resultdb_open(tmp.path, true, err, sizeof err);
    opt.db_path = tmp.path;
    opt.select = (char *const *)unknown_run;
    opt.nselect = 1;
    assert_int_equal(report_render(db, &opt, &res, err, sizeof err), 1);
    assert_non_null(strstr(err, "no run 999"));
    opt.select = (char *const *)unknown_scenario;
    assert_int_equal(report_render(db, &opt, &res, err, sizeof err), 1);
    assert_non_null(strstr(err, "no-such-scenario"));
    resultdb_close(db);
}

/* The part of html from the first occurrence of start up to the next end (or the
 * end of the text), as a new string. */
static char *section(const char *html, const char *start, const char *end)
{
    const char *from = strstr(html, start), *to;
    if (!from)
        fail_msg("no '%s' in the page", start);
    to = strstr(from + strlen(start), end);
    return to ? strndup(from, (size_t)(to - from)) : strdup(from);
}

static int count_item(void *user, const struct evidence_stored *item, char *why, size_t whylen)
{
    (void)item;
    (void)why;
    (void)whylen;
    ++*(long long *)user;
    return 0;
}

/* How many items the evidence table holds for run_id, as the store reads them. */
static long long stored_items(int64_t run_id)
{
    struct resultdb *db = resultdb_open(tmp.path, true, err, sizeof err);
    long long n = 0;
    assert_non_null(db);
    assert_int_equal(evidence_foreach_stored(db, run_id, NULL, count_item, &n, err, sizeof err), 0);
    resultdb_close(db);
    return n;
}

static void test_report_run_page_shows_the_diagnosis_first(void **state)
{
    struct report_result res;
    const char *select[] = {"2"};
    char path[256], *page, *diagnosis;
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);  /* the charts are not what is looked at here */
    render(select, 1, &res);
    snprintf(path, sizeof path, "%s/run-%d/index.html", out_dir, REPORT_FIXTURE_EVIDENCE_RUN);
    page = files_read(path);
    assert_non_null(page);
    /* First on the page, before the expectation check, the facts, the gates and the
     * charts. */
    assert_non_null(strstr(page, "<h2 id=\"diagnosis\">"));
    assert_true(strstr(strstr(page, "<body"), "<h2") == strstr(page, "<h2 id=\"diagnosis\">"));
    assert_true(strstr(page, "<h2 id=\"diagnosis\">") < strstr(page, "<h2 id=\"expectations\">"));
    assert_true(strstr(page, "<h2 id=\"expectations\">") < strstr(page, "dl class=\"facts\""));
    assert_true(strstr(page, "dl class=\"facts\"") < strstr(page, "<h2 id=\"evidence\">"));
    assert_true(strstr(page, "<h2 id=\"evidence\">") < strstr(page, "<h2>Gates</h2>"));
    diagnosis = section(page, "<h2 id=\"diagnosis\">", "<h2");
    assert_non_null(strstr(diagnosis, "<span class=\"pill bad\">queue-full</span> in <code>worker_process_stalled"
                                      "</code> &middot; from t=4.3s &middot; confidence 0.8"));
    assert_non_null(strstr(diagnosis, "<p>the queue sat at capacity for 3.5s while requests were rejected</p>"));
    assert_non_null(strstr(diagnosis, "<pre>orderd_queue_depth &gt;= 90% of capacity from t=4.3s\n"
                                      "4 of 4 busy workers in worker_process_stalled\n</pre>"));
    assert_null(strstr(diagnosis, "Not diagnosed"));
    free(diagnosis);
    free(page);
}

struct evidence_check {
    const char *page, *run_dir;
    size_t items;
};

/* Every stored item has its link, and the file it links to holds exactly its text. */
static int check_evidence_file(void *user, const struct evidence_item *item, char *e, size_t elen)
{
    struct evidence_check *c = user;
    char href[128], path[512], *text;
    (void)e;
    (void)elen;
    snprintf(href, sizeof href, "href=\"evidence/%lld-%s.txt\"", (long long)item->id, item->kind);
    if (!strstr(c->page, href))
        fail_msg("the page has no %s", href);
    snprintf(path, sizeof path, "%s/evidence/%lld-%s.txt", c->run_dir, (long long)item->id, item->kind);
    text = files_read(path);
    if (!text)
        fail_msg("cannot read %s", path);
    assert_int_equal(strlen(text), item->len);
    assert_memory_equal(text, item->text, item->len);
    free(text);
    c->items++;
    return 0;
}

static void test_report_run_page_links_every_evidence_item_to_its_text(void **state)
{
    struct report_result res;
    const char *select[] = {"2"};
    char run_dir[256], path[300], *page, *table;
    struct evidence_check check = {.run_dir = run_dir};
    struct resultdb *db;
    long long stored;
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    render(select, 1, &res);
    snprintf(run_dir, sizeof run_dir, "%s/run-%d", out_dir, REPORT_FIXTURE_EVIDENCE_RUN);
    snprintf(path, sizeof path, "%s/index.html", run_dir);
    page = files_read(path);
    assert_non_null(page);
    check.page = page;

    /* One row per item (and the header). */
    stored = stored_items(REPORT_FIXTURE_EVIDENCE_RUN);
    assert_true(stored > REPORT_FIXTURE_PERIODIC_DUMPS + 10);
    table = section(page, "<table id=\"evidence-items\">", "</table>");
    assert_int_equal(files_count(table, "<tr>"), stored + 1);
    assert_int_equal(files_count(table, "<a href=\"evidence/"), stored);
    free(table);

    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(evidence_foreach(db, REPORT_FIXTURE_EVIDENCE_RUN, NULL, check_evidence_file, &check, err,
                                      sizeof err), 0);
    resultdb_close(db);
    assert_int_equal(check.items, stored);
    free(page);
}

static void test_report_run_page_shows_the_latest_snapshot_escaped(void **state)
{
    struct report_result res;
    const char *select[] = {"2"};
    char path[256], *page, *evidence;
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    render(select, 1, &res);
    snprintf(path, sizeof path, "%s/run-%d/index.html", out_dir, REPORT_FIXTURE_EVIDENCE_RUN);
    page = files_read(path);
    assert_non_null(page);
    evidence = section(page, "<h2 id=\"evidence\">", "<table id=\"evidence-items\">");
    assert_non_null(strstr(evidence, "<h3>Latest snapshot: end of steady state, t=8.50s</h3>"));
    /* The dump and the three profiles, each in its own block. */
    assert_int_equal(files_count(evidence, "<details><summary><b>"), 4);
    assert_int_equal(files_count(evidence, "<pre>"), 4);
    /* A '<' in the dump is text, not markup; the tabs that align it stay. */
    assert_non_null(strstr(evidence, "frame &lt;unknown&gt; &amp; &quot;quoted&quot;"));
    assert_null(strstr(page, REPORT_FIXTURE_ESCAPE_MARK));
    assert_non_null(strstr(evidence, "#\t0x5600001000\tworker_process_stalled+0x10"));
    /* The mid-run snapshot is only linked. */
    assert_null(strstr(page, REPORT_FIXTURE_MIDRUN_MARK));
    /* The heap profile is cut at 60 lines and says so. */
    assert_non_null(strstr(evidence, "first 60 of 100 lines"));
    assert_non_null(strstr(evidence, "@ heap site 59\n"));
    assert_null(strstr(evidence, "@ heap site 60\n"));
    free(evidence);
    free(page);
}

static void test_report_run_pages_without_a_verdict_or_evidence_say_so(void **state)
{
    struct report_result res;
    const char *select[] = {"1", "3"};
    char path[256], *page;
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    render(select, 2, &res);
    snprintf(path, sizeof path, "%s/run-%d/index.html", out_dir, REPORT_FIXTURE_HEALTHY_RUN);
    page = files_read(path);
    assert_non_null(page);
    assert_non_null(strstr(page, "<div class=\"finding ok\"><span class=\"pill ok\">No problem found</span>"
                                 "<p class=\"muted small\">no evidence was captured for this run</p></div>"));
    assert_non_null(strstr(page, "No evidence kept for this run"));
    assert_null(strstr(page, "predates"));
    free(page);
    snprintf(path, sizeof path, "%s/run-3/index.html", out_dir);
    page = files_read(path);
    assert_non_null(page);
    assert_non_null(strstr(page, "Not diagnosed. <code>loadlab diagnose 3</code>"));
    assert_non_null(strstr(page, "No evidence kept for this run"));
    free(page);
    snprintf(path, sizeof path, "%s/run-3/evidence", out_dir);
    assert_int_equal(access(path, F_OK), -1);  /* no empty folder either */
}

static void test_report_index_has_a_diagnosis_column(void **state)
{
    struct report_result res;
    char *index, *part;
    (void)state;
    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    render(NULL, 0, &res);
    index = files_read(res.index_path);
    assert_non_null(index);
    /* The index's table of scenarios has the column, with the latest run's verdict:
     * queue-stall's finding, baseline's latest (run 4) never diagnosed. */
    part = section(index, "<table id=\"scenarios\">", "</table>");
    assert_non_null(strstr(part, "<th>diagnosis</th></tr>"));
    assert_non_null(strstr(part, "<td class=\"diagnosis\"><a href=\"run-2/index.html#diagnosis\">queue-full in "
                                 "worker_process_stalled</a></td></tr>"));
    assert_int_equal(files_count(part, "<td class=\"diagnosis muted\">not diagnosed</td></tr>"), 4);
    free(part);
    /* baseline (run 1 healthy) and queue-stall (run 2) have verdicts, so their runs
     * tables have the column too; crashy and the overhead scenarios none. */
    assert_int_equal(files_count(index, "<th>diagnosis</th>"), 3);
    part = section(index, "<h2 id=\"s-queue-stall\">", "<h2");
    assert_non_null(strstr(part, "<td class=\"diagnosis\"><a href=\"run-2/index.html#diagnosis\">queue-full in "
                                 "worker_process_stalled</a></td></tr>"));
    free(part);
    part = section(index, "<h2 id=\"s-baseline\">", "<h2");
    assert_int_equal(files_count(part, ">no problem found</a></td></tr>"), 1);
    assert_int_equal(files_count(part, "<td class=\"diagnosis muted\">not diagnosed</td></tr>"), 2);
    free(part);
    part = section(index, "<h2 id=\"s-crashy\">", "<h2");
    assert_null(strstr(part, "diagnos"));
    free(part);
    free(index);
}

/* A database from before evidence and diagnoses (schema 1), opened read-only as the
 * report opens it, so nothing upgrades it. */
static void test_report_renders_a_schema_1_database(void **state)
{
    struct report_result res;
    struct resultdb *db;
    struct report_options opt = {.out_dir = out_dir};
    char old[160], path[256], *page;
    int64_t id;
    (void)state;
    snprintf(old, sizeof old, "%s/schema1.db", tmp.dir);
    opt.db_path = old;
    db = resultdb_open(old, false, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(report_fixture_add_run(db, &report_fixture_runs[1], &id, err, sizeof err), 0);
    resultdb_close(db);
    testdb_exec(old, "DROP TABLE evidence; DROP TABLE diagnoses; DROP TABLE drills; PRAGMA user_version = 1");

    setenv("LOADLAB_GNUPLOT", "/nonexistent/gnuplot", 1);
    db = resultdb_open(old, true, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(report_render(db, &opt, &res, err, sizeof err), 0);
    resultdb_close(db);
    snprintf(path, sizeof path, "%s/run-%lld/index.html", out_dir, (long long)id);
    page = files_read(path);
    assert_non_null(page);
    assert_non_null(strstr(page, "Not diagnosed."));
    assert_non_null(strstr(page, "No evidence kept for this run"));
    assert_non_null(strstr(page, "(this database predates evidence capture)"));
    free(page);
    /* The index's own column alone: no run has a verdict to fill the runs tables'. */
    assert_int_equal(count_in_file(res.index_path, "diagnosis</th>"), 1);
    assert_int_equal(count_in_file(res.index_path, ">not diagnosed</td>"), 1);
}

static int run_cli(const char *args, const char *env)
{
    const char *bin = loadlab_proc_bin();
    char cmd[1024];
    int status;
    snprintf(cmd, sizeof cmd, "%s %s report %s >'%s/cli.out' 2>&1", env ? env : "", bin, args, tmp.dir);
    status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_report_command_exit_codes(void **state)
{
    char args[512], out[160], empty[160];
    FILE *f;
    (void)state;
    snprintf(out, sizeof out, "%s/cli.out", tmp.dir);
    snprintf(args, sizeof args, "--db '%s/missing.db'", tmp.dir);
    assert_int_equal(run_cli(args, NULL), 2);
    assert_int_equal(count_in_file(out, "missing.db: No such file"), 1);

    snprintf(empty, sizeof empty, "%s/zero.db", tmp.dir);
    f = fopen(empty, "w");
    fclose(f);
    snprintf(args, sizeof args, "--db '%s'", empty);
    assert_int_equal(run_cli(args, NULL), 2);

    snprintf(args, sizeof args, "--db '%s' --out '%s' 12345", tmp.path, out_dir);
    assert_int_equal(run_cli(args, NULL), 2);
    assert_int_equal(count_in_file(out, "no run 12345"), 1);

    snprintf(args, sizeof args, "--db '%s' --out '%s' baseline 2", tmp.path, out_dir);
    assert_int_equal(run_cli(args, NULL), 0);
    assert_int_equal(count_in_file(out, "/index.html (4 runs of 2 scenarios"), 1);

    snprintf(args, sizeof args, "--db '%s' --out '%s' 2", tmp.path, out_dir);
    assert_int_equal(run_cli(args, "LOADLAB_GNUPLOT=/nonexistent/gnuplot"), 1);
    assert_int_equal(count_in_file(out, "charts missing: gnuplot is needed"), 1);
    assert_int_equal(count_in_file(out, "index.html"), 1);

    assert_int_equal(run_cli("--no-such-option", NULL), 2);
}

/* The overhead study as scripts/overhead.sh stores it, from real runs of the real
 * orderd at two settings: the exact pass (cost runs labelled overhead-t-<setting>,
 * counted by callgrind; off twice, metrics once) and the wall-clock pass (each
 * setting interleaved with off, baseline overhead-t-off-vs-<setting>). The report
 * shows each setting's ratio to off with its interval, its level, pairs and verdict
 * in words, one error-bar chart a figure, and no whole-run section (there are no
 * whole runs). */
static void test_report_overhead_study_shows_ratios_to_off_with_intervals(void **state)
{
    static const char *const settings[] = {"off", "metrics"};
    const char *orderd = getenv("ORDERD_BIN") && *getenv("ORDERD_BIN") ? getenv("ORDERD_BIN") : "build/orderd";
    char db[160], ab[160], log[160], label[64], base[64], level[64], bin_env[4200], sql[512], want[256], lo[32],
        hi[32], ratio[32], conf[32], path[512], *index, *section;
    FILE *f;
    (void)state;
    snprintf(db, sizeof db, "%s/study.db", tmp.dir);
    snprintf(ab, sizeof ab, "%s/ab.ini", tmp.dir);
    snprintf(log, sizeof log, "%s/study.out", tmp.dir);
    f = fopen(ab, "w");
    assert_non_null(f);
    fprintf(f, "[scenario]\nname = study-ab\nduration = 2s\nsample_interval = 100ms\n"
               "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --io-threads 1 --log-level warn "
               "--instrument ${OVERHEAD_LEVEL:-off}\n"
               "[load]\nconnections = 4\nthreads = 1\npath = /api/products/7\n"
               "[gate]\nerror_rate = < 1%%\nregression.throughput = 5%%\nregression.p99_latency = 10%%\n"
               "regression.cpu_per_request = 5%%\n");
    assert_int_equal(fclose(f), 0);
    /* callgrind cannot run a sanitizer build's orderd: the plain build's then */
    snprintf(bin_env, sizeof bin_env, "ORDERD_BIN=%s",
             strstr(orderd, "/san-") && access("build/orderd", X_OK) == 0 ? "build/orderd" : orderd);
    for (int round = 0; round < 3; round++) {
        const char *setting = settings[round == 1];   /* off, metrics, off */
        char *env[] = {level, bin_env, NULL};
        snprintf(level, sizeof level, "OVERHEAD_LEVEL=%s", setting);
        snprintf(label, sizeof label, "overhead-t-%s", setting);
        if (loadlab_proc_run((const char *[]){"run", "--quiet", "--db", db, "--label", label,
                                              "scenarios/overhead/instrument/cost-read.ini", NULL},
                             env, log, 240) != 0)
            fail_msg("cost run of %s failed:\n%s", setting, files_read(log));
    }
    for (size_t i = 0; i < 2; i++) {
        char *env[] = {level, NULL};
        int rc;
        snprintf(level, sizeof level, "OVERHEAD_LEVEL=%s", settings[i]);
        snprintf(label, sizeof label, "overhead-t-%s", settings[i]);
        snprintf(base, sizeof base, "overhead-t-off-vs-%s", settings[i]);
        rc = loadlab_proc_run((const char *[]){"run", "--quiet", "--db", db, "--interleave", "--budget", "15s",
                                               "--label", label, "--baseline", base, "--baseline-env",
                                               "OVERHEAD_LEVEL=off", ab, NULL},
                              env, log, 120);
        if (rc != 0 && rc != 99)
            fail_msg("interleaved run of %s: exit %d:\n%s", settings[i], rc, files_read(log));
    }
    assert_int_equal(testdb_int(db, "SELECT count(*) FROM regressions WHERE method = 'interleaved' AND "
                                    "gate = 'regression.throughput' AND ratio IS NOT NULL"), 2);

    snprintf(path, sizeof path, "--db '%s' --out '%s'", db, out_dir);
    assert_int_equal(run_cli(path, NULL), 0);
    /* one chart a figure: throughput, p99, CPU per request, instructions per request */
    for (int k = 1; k <= 4; k++) {
        snprintf(path, sizeof path, "%s/overhead-ratio-%d.svg", out_dir, k);
        assert_int_equal(access(path, F_OK), 0);
        assert_true(count_in_file(path, "<g id=\"gnuplot_plot_") >= 2);   /* the ratios, the line at 1.0 */
    }
    snprintf(path, sizeof path, "%s/overhead-ratio-1.svg", out_dir);
    assert_int_equal(count_in_file(path, ">metrics</text>"), 1);
    assert_int_equal(count_in_file(path, "<text>gate -5%</text>"), 1);
    snprintf(path, sizeof path, "%s/overhead-throughput.svg", out_dir);
    assert_int_equal(access(path, F_OK), -1);   /* no whole runs: no whole-run chart */

    snprintf(path, sizeof path, "%s/index.html", out_dir);
    index = files_read(path);
    assert_non_null(index);
    section = strstr(index, "<h2 id=\"overhead\">");
    assert_non_null(section);
    assert_non_null(strstr(section, "Study <b class=\"mono\">overhead-t</b>"));
    assert_non_null(strstr(section, "Throughput: setting / off, interleaved"));
    assert_null(strstr(section, "<h3>Whole runs</h3>"));
    /* metrics' throughput row: the stored ratio and interval, its level, its pairs, a verdict */
    snprintf(sql, sizeof sql, "SELECT %%s FROM regressions WHERE candidate_label = 'overhead-t-metrics' "
                              "AND gate = 'regression.throughput'");
    {
        char q[600];
        snprintf(q, sizeof q, sql, "ratio");
        snprintf(ratio, sizeof ratio, "%.4f", testdb_real(db, q));
        snprintf(q, sizeof q, sql, "ci_low");
        snprintf(lo, sizeof lo, "%.4f", testdb_real(db, q));
        snprintf(q, sizeof q, sql, "ci_high");
        snprintf(hi, sizeof hi, "%.4f", testdb_real(db, q));
        snprintf(q, sizeof q, sql, "confidence");
        snprintf(conf, sizeof conf, "%.4g%%", 100 * testdb_real(db, q));
        snprintf(want, sizeof want, "<td class=\"mono\">metrics</td><td class=\"num\">%s</td><td class=\"num\">"
                                    "%s..%s</td><td>%s</td><td class=\"num\">", ratio, lo, hi, conf);
        if (!strstr(section, want))
            fail_msg("no row '%s' in:\n%s", want, section);
        snprintf(q, sizeof q, sql, "baseline_n");
        snprintf(want, sizeof want, "%s..%s</td><td>%s</td><td class=\"num\">%lld</td><td>"
                                    "<span class=\"pill ", lo, hi, conf, testdb_int(db, q));
        assert_non_null(strstr(section, want));
    }
    assert_true(strstr(section, "within the gate (-5%)") || strstr(section, "costs more than the gate allows (-5%)") ||
                strstr(section, "inconclusive: "));
    /* the exact pass: off against its own two rounds, metrics' one round has no range */
    assert_non_null(strstr(section, "Instructions per request: setting / off, instrument-cost-read"));
    assert_non_null(strstr(section, "(counter callgrind)"));
    assert_non_null(strstr(section, "<td class=\"mono\">off</td><td class=\"num\">1.0000</td>"));
    assert_non_null(strstr(section, "not computable (one round of this setting: no range)"));
    assert_non_null(strstr(section, "range of 1 round (off: 2)"));
    assert_null(strstr(section, "nan"));
    free(index);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_report_every_svg_parses_as_xml, setup),
        cmocka_unit_test_setup(test_report_run_charts_carry_series_and_fault_shading, setup),
        cmocka_unit_test_setup(test_report_trends_show_the_regression_and_overhead, setup),
        cmocka_unit_test_setup(test_report_every_link_resolves, setup),
        cmocka_unit_test_setup(test_report_markdown_has_one_row_per_gate, setup),
        cmocka_unit_test_setup(test_report_without_gnuplot_still_writes_pages, setup),
        cmocka_unit_test_setup(test_report_a_failing_gnuplot_is_reported_per_run, setup),
        cmocka_unit_test_setup(test_report_run_page_shows_the_diagnosis_first, setup),
        cmocka_unit_test_setup(test_report_run_page_links_every_evidence_item_to_its_text, setup),
        cmocka_unit_test_setup(test_report_run_page_shows_the_latest_snapshot_escaped, setup),
        cmocka_unit_test_setup(test_report_run_pages_without_a_verdict_or_evidence_say_so, setup),
        cmocka_unit_test_setup(test_report_index_has_a_diagnosis_column, setup),
        cmocka_unit_test_setup(test_report_renders_a_schema_1_database, setup),
        cmocka_unit_test_setup(test_report_nothing_to_report, setup),
        cmocka_unit_test_setup(test_report_command_exit_codes, setup),
        cmocka_unit_test_setup(test_report_overhead_study_shows_ratios_to_off_with_intervals, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
