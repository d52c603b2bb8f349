/* Tests for runseries: series read back from a real SQLite results database (the
 * report fixture), with known answers — per-label grouping, counter rates across a
 * reset and for a series that appears mid-run, histogram percentiles, the fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report_fixture.h"
#include "store/resultdb.h"
#include "report/runseries.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char err[512];

static const struct runseries *find(const struct runseries_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    return NULL;
}

/* cmocka's float comparison works in float; these figures need double. */
#define assert_near(a, b, eps) near_or_fail((a), (b), (eps), #a, __LINE__)
static void near_or_fail(double a, double b, double eps, const char *what, int line)
{
    if (!(fabs(a - b) <= eps))
        fail_msg("line %d: %s = %.12g, expected %.12g", line, what, a, b);
}
static struct resultdb *db;
static int64_t healthy_run, stall_run;

static int group_setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "runseries-test") < 0)
        return -1;
    db = resultdb_open(tmp.path, false, err, sizeof err);
    if (!db || report_fixture_add_run(db, &report_fixture_runs[0], &healthy_run, err, sizeof err) < 0 ||
        report_fixture_add_run(db, &report_fixture_runs[1], &stall_run, err, sizeof err) < 0) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void test_runseries_label_value_reads_canonical_labels(void **state)
{
    char v[16];
    (void)state;
    assert_int_equal(runseries_label_value("{code=\"503\",route=\"x\"}", "route", v, sizeof v), 0);
    assert_string_equal(v, "x");
    assert_int_equal(runseries_label_value("{a=\"q\\\"u\\\\o\\nte\",b=\"2\"}", "a", v, sizeof v), 0);
    assert_string_equal(v, "q\"u\\o\nte");
    assert_int_equal(runseries_label_value("{a=\"1\"}", "b", v, sizeof v), 1);
    assert_int_equal(runseries_label_value("", "a", v, sizeof v), 1);
    assert_int_equal(runseries_label_value("{a=\"unterminated}", "a", v, sizeof v), -1);
    assert_int_equal(runseries_label_value("{a=\"far too long for the buffer\"}", "a", v, sizeof v), -1);
}

static void test_runseries_load_groups_by_label_and_sums_the_rest(void **state)
{
    struct runseries_set set = {0};
    const struct runseries *s;
    (void)state;
    assert_int_equal(runseries_load(resultdb_handle(db), healthy_run, "orderd_mutex_wait_seconds_total", "lock",
                                    &set, err, sizeof err), 0);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.items[0].name, "cache");
    assert_string_equal(set.items[1].name, "queue");
    assert_int_equal(set.items[0].n, 41);  /* t = 0, 0.25, .. 10 */
    assert_near(set.items[0].v[40], 0.1, 1e-12);

    /* Without a label: io (2) + worker (4) threads in one series. */
    assert_int_equal(runseries_load(resultdb_handle(db), healthy_run, "orderd_threads", NULL, &set, err, sizeof err), 0);
    assert_int_equal(set.n, 1);
    assert_near(set.items[0].v[3], 6, 0);
    s = find(&set, "");
    assert_non_null(s);
    assert_null(find(&set, "nope"));

    assert_int_equal(runseries_load(resultdb_handle(db), healthy_run, "no_such_metric", NULL, &set, err, sizeof err), 0);
    assert_int_equal(set.n, 0);
    runseries_set_release(&set);
}

static void test_runseries_rate_handles_resets_and_late_series(void **state)
{
    double t[] = {0, 1, 2, 3, 4}, v[] = {0, 10, 20, 5, 15};
    struct runseries counter = {.t = t, .v = v, .n = 5}, rate, ticks, sum;
    struct runseries_set codes = {0};
    const struct runseries *late;
    (void)state;
    /* A drop from 20 to 5 is a restart that counted 5 since: 5 per second. */
    assert_int_equal(runseries_rate(&counter, 0, 1, &rate), 0);
    assert_int_equal(rate.n, 4);
    assert_near(rate.t[0], 0.5, 1e-12);
    assert_near(rate.v[1], 10, 1e-9);
    assert_near(rate.v[2], 5, 1e-9);
    runseries_release(&rate);

    /* The 503s appear at t = 4 at 200/s: counted from zero on every scrape time,
     * they rise from 0 in the window where they start instead of starting late. */
    assert_int_equal(runseries_load(resultdb_handle(db), stall_run, "orderd_http_requests_total", "code", &codes, err,
                                    sizeof err), 0);
    late = find(&codes, "503");
    assert_non_null(late);
    assert_near(late->t[0], 4, 1e-12);
    assert_int_equal(runseries_ticks(resultdb_handle(db), stall_run, &ticks, err, sizeof err), 0);
    assert_int_equal(ticks.n, 41);
    {
        struct runseries_set one = {.items = (struct runseries *)late, .n = 1};
        assert_int_equal(runseries_sum(&one, &ticks, &sum), 0);
    }
    assert_int_equal(sum.n, 41);
    assert_int_equal(runseries_rate(&sum, 0, 1, &rate), 0);
    assert_int_equal(rate.n, 10);
    assert_near(rate.v[3], 0, 1e-9);     /* 3..4 */
    assert_near(rate.v[4], 200, 1e-9);   /* 4..5 */
    runseries_release(&rate);
    runseries_release(&sum);

    /* Without ticks, a sum over both codes is their total at each scrape. */
    assert_int_equal(runseries_sum(&codes, NULL, &sum), 0);
    assert_near(sum.v[40], 800 * 10 + 200 * 6, 1e-6);
    runseries_release(&sum);
    runseries_release(&ticks);
    runseries_set_release(&codes);
}

static void test_runseries_quantiles_follow_histogram_quantile(void **state)
{
    static const double q[] = {0.5, 0.9, 0.99, 0.995};
    struct runseries out[4];
    (void)state;
    assert_int_equal(runseries_quantiles(resultdb_handle(db), healthy_run, "orderd_http_request_duration_seconds_bucket",
                                         0, 1, q, 4, out, err, sizeof err), 0);
    assert_int_equal(out[0].n, 10);
    for (size_t w = 0; w < out[0].n; w++) {
        assert_near(out[0].v[w], 0.001, 1e-9);  /* half under 1 ms: the top of the first bucket */
        assert_near(out[1].v[w], 0.01, 1e-9);
        assert_near(out[2].v[w], 0.1, 1e-9);
        assert_near(out[3].v[w], 0.1, 1e-9);    /* in +Inf: the highest finite bound */
    }
    assert_string_equal(out[2].name, "p99");
    for (size_t k = 0; k < 4; k++)
        runseries_release(&out[k]);

    assert_int_equal(runseries_quantiles(resultdb_handle(db), healthy_run, "no_such_bucket", 0, 1, q, 1, out, err,
                                         sizeof err), 0);
    assert_int_equal(out[0].n, 0);
}

static void test_runseries_fit_and_selection(void **state)
{
    double t[] = {0, 1, 2, 3, 4, 5}, v[] = {1, 3, 5, 7, 9, 11};
    struct runseries line = {.t = t, .v = v, .n = 6}, picked;
    struct series_selector sel;
    double slope, at;
    (void)state;
    assert_int_equal(runseries_fit(&line, 2, 5, &slope, &at), 0);
    assert_near(slope, 2, 1e-12);
    assert_near(at, 5, 1e-12);
    assert_int_equal(runseries_fit(&line, 4.5, 5, &slope, &at), -1);  /* one point */

    const char *text = "orderd_mutex_wait_seconds_total{lock=\"cache\"}";
    assert_int_equal(series_selector_parse(text, strlen(text), &sel, err, sizeof err), 0);
    assert_int_equal(runseries_load_selected(resultdb_handle(db), healthy_run, &sel, &picked, err, sizeof err), 0);
    assert_int_equal(picked.n, 41);
    assert_near(picked.v[40], 0.1, 1e-12);
    runseries_release(&picked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runseries_label_value_reads_canonical_labels),
        cmocka_unit_test(test_runseries_load_groups_by_label_and_sums_the_rest),
        cmocka_unit_test(test_runseries_rate_handles_resets_and_late_series),
        cmocka_unit_test(test_runseries_quantiles_follow_histogram_quantile),
        cmocka_unit_test(test_runseries_fit_and_selection),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
