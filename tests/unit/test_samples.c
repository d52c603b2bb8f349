/* Tests for samples: series read back from a real SQLite results database (the
 * report fixture), with known answers — per-label grouping, sums by the database,
 * a counter that appears mid-run counted from zero on the scrape times, histogram
 * percentiles, a gate's selection, the label set that rose most. */
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
#include "base/series.h"
#include "store/samples.h"

static char path[64], err[512];

static const struct series *find(const struct series_set *set, const char *name)
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
    int fd;
    (void)state;
    snprintf(path, sizeof path, "/tmp/samples-test-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path);
    db = resultdb_open(path, false, err, sizeof err);
    if (!db || report_fixture_add_run(db, &report_fixture_runs[0], &healthy_run, err, sizeof err) < 0 ||
        report_fixture_add_run(db, &report_fixture_runs[1], &stall_run, err, sizeof err) < 0) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char side[80];
    (void)state;
    resultdb_close(db);
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return 0;
}

static void test_samples_load_groups_by_label_and_sums_the_rest(void **state)
{
    struct series_set set = {0};
    const struct series *s;
    (void)state;
    assert_int_equal(samples_load(db, healthy_run, "orderd_mutex_wait_seconds_total", "lock",
                                    &set, err, sizeof err), 0);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.items[0].name, "cache");
    assert_string_equal(set.items[1].name, "queue");
    assert_int_equal(set.items[0].n, 41);  /* t = 0, 0.25, .. 10 */
    assert_near(set.items[0].v[40], 0.1, 1e-12);

    /* Without a label: io (2) + worker (4) threads in one series. */
    assert_int_equal(samples_load(db, healthy_run, "orderd_threads", NULL, &set, err, sizeof err), 0);
    assert_int_equal(set.n, 1);
    assert_near(set.items[0].v[3], 6, 0);
    s = find(&set, "");
    assert_non_null(s);
    assert_null(find(&set, "nope"));

    assert_int_equal(samples_load(db, healthy_run, "no_such_metric", NULL, &set, err, sizeof err), 0);
    assert_int_equal(set.n, 0);
    series_set_release(&set);
}

static void test_samples_late_series_count_from_zero_on_the_ticks(void **state)
{
    struct series rate, ticks, sum;
    struct series_set codes = {0};
    const struct series *late;
    (void)state;
    /* The 503s appear at t = 4 at 200/s: counted from zero on every scrape time,
     * they rise from 0 in the window where they start instead of starting late. */
    assert_int_equal(samples_load(db, stall_run, "orderd_http_requests_total", "code", &codes, err,
                                    sizeof err), 0);
    late = find(&codes, "503");
    assert_non_null(late);
    assert_near(late->t[0], 4, 1e-12);
    assert_int_equal(samples_ticks(db, stall_run, &ticks, err, sizeof err), 0);
    assert_int_equal(ticks.n, 41);
    {
        struct series_set one = {.items = (struct series *)late, .n = 1};
        assert_int_equal(series_sum(&one, &ticks, &sum), 0);
    }
    assert_int_equal(sum.n, 41);
    assert_int_equal(series_rate(&sum, 0, 1, &rate), 0);
    assert_int_equal(rate.n, 10);
    assert_near(rate.v[3], 0, 1e-9);     /* 3..4 */
    assert_near(rate.v[4], 200, 1e-9);   /* 4..5 */
    series_release(&rate);
    series_release(&sum);

    /* Without ticks, a sum over both codes is their total at each scrape. */
    assert_int_equal(series_sum(&codes, NULL, &sum), 0);
    assert_near(sum.v[40], 800 * 10 + 200 * 6, 1e-6);
    series_release(&sum);
    series_release(&ticks);
    series_set_release(&codes);
}

static void test_samples_quantiles_follow_histogram_quantile(void **state)
{
    static const double q[] = {0.5, 0.9, 0.99, 0.995};
    struct series_set buckets = {0};
    struct series out[4];
    (void)state;
    assert_int_equal(samples_load(db, healthy_run, "orderd_http_request_duration_seconds_bucket", "le", &buckets, err,
                                  sizeof err), 0);
    assert_int_equal(series_quantiles(&buckets, 0, 1, q, 4, out, err, sizeof err), 0);
    assert_int_equal(out[0].n, 10);
    for (size_t w = 0; w < out[0].n; w++) {
        assert_near(out[0].v[w], 0.001, 1e-9);  /* half under 1 ms: the top of the first bucket */
        assert_near(out[1].v[w], 0.01, 1e-9);
        assert_near(out[2].v[w], 0.1, 1e-9);
        assert_near(out[3].v[w], 0.1, 1e-9);    /* in +Inf: the highest finite bound */
    }
    assert_string_equal(out[2].name, "p99");
    for (size_t k = 0; k < 4; k++)
        series_release(&out[k]);

    assert_int_equal(samples_load(db, healthy_run, "no_such_bucket", "le", &buckets, err, sizeof err), 0);
    assert_int_equal(series_quantiles(&buckets, 0, 1, q, 1, out, err, sizeof err), 0);
    assert_int_equal(out[0].n, 0);
    series_set_release(&buckets);
}

static void test_samples_selection_picks_the_gates_series(void **state)
{
    struct series picked;
    struct series_selector sel;
    const char *text = "orderd_mutex_wait_seconds_total{lock=\"cache\"}";
    (void)state;
    assert_int_equal(series_selector_parse(text, strlen(text), &sel, err, sizeof err), 0);
    assert_int_equal(samples_load_selected(db, healthy_run, &sel, &picked, err, sizeof err), 0);
    assert_int_equal(picked.n, 41);
    assert_near(picked.v[40], 0.1, 1e-12);
    series_release(&picked);
}

static void test_samples_sum_by_the_database_matches_the_grouped_load(void **state)
{
    struct series all, one;
    struct series_set set = {0};
    (void)state;
    assert_int_equal(samples_load_sum(db, healthy_run, "orderd_mutex_wait_seconds_total", NULL, &all, err, sizeof err), 0);
    assert_int_equal(samples_load(db, healthy_run, "orderd_mutex_wait_seconds_total", "lock", &set, err, sizeof err), 0);
    assert_int_equal(set.n, 2);
    assert_int_equal(all.n, set.items[0].n);
    assert_near(all.v[all.n - 1], set.items[0].v[all.n - 1] + set.items[1].v[all.n - 1], 1e-12);
    /* One label set named exactly. */
    assert_int_equal(samples_load_sum(db, healthy_run, "orderd_mutex_wait_seconds_total", "{lock=\"cache\"}", &one, err,
                                      sizeof err), 0);
    assert_int_equal(one.n, set.items[0].n);
    assert_near(one.v[one.n - 1], set.items[0].v[one.n - 1], 1e-12);
    series_release(&one);
    assert_int_equal(samples_load_sum(db, healthy_run, "orderd_mutex_wait_seconds_total", "{lock=\"nope\"}", &one, err,
                                      sizeof err), 0);
    assert_int_equal(one.n, 0);
    series_release(&one);
    series_release(&all);
    series_set_release(&set);
}

static void test_samples_top_labels_names_the_set_that_rose_most(void **state)
{
    struct series_set set = {0};
    char labels[64];
    double rise, want_rise;
    const char *want;
    (void)state;
    assert_int_equal(samples_load(db, healthy_run, "orderd_mutex_wait_seconds_total", "lock", &set, err, sizeof err), 0);
    want = set.items[0].v[40] - set.items[0].v[0] > set.items[1].v[40] - set.items[1].v[0] ? "{lock=\"cache\"}"
                                                                                            : "{lock=\"queue\"}";
    want_rise = fmax(set.items[0].v[40] - set.items[0].v[0], set.items[1].v[40] - set.items[1].v[0]);
    assert_int_equal(samples_top_labels(db, healthy_run, "orderd_mutex_wait_seconds_total", 0, 10, labels, sizeof labels,
                                        &rise, err, sizeof err), 0);
    assert_string_equal(labels, want);
    assert_near(rise, want_rise, 1e-12);
    assert_int_equal(samples_top_labels(db, healthy_run, "no_such_metric", 0, 10, labels, sizeof labels, &rise, err,
                                        sizeof err), 1);
    assert_string_equal(labels, "");
    series_set_release(&set);
}

/* A fleet's samples as read from Prometheus: the instances come from `up`, and one
 * instance's sums keep to its samples, a label set matching the stored sets that hold
 * it beside the target's labels. */
static void test_samples_fleet_instances_and_their_own_sums(void **state)
{
    struct resultdb_run row = {.scenario = "fleet", .label = "l", .params = "{}"};
    char instances[4][SERIES_MAX_VALUE];
    struct series s;
    struct series_set set = {0};
    int64_t run;
    size_t n;
    (void)state;
    assert_int_equal(resultdb_run_begin(db, &row, &run, err, sizeof err), 0);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(resultdb_sample(db, run, t, "up", "{instance=\"b:1\",job=\"o\"}", 1, err, sizeof err), 0);
        assert_int_equal(resultdb_sample(db, run, t, "up", "{instance=\"a:1\",job=\"o\"}", 1, err, sizeof err), 0);
        assert_int_equal(resultdb_sample(db, run, t, "orderd_mutex_wait_seconds_total",
                                         "{instance=\"a:1\",job=\"o\",lock=\"cache\"}", t, err, sizeof err), 0);
        assert_int_equal(resultdb_sample(db, run, t, "orderd_mutex_wait_seconds_total",
                                         "{instance=\"a:1\",job=\"o\",lock=\"queue\"}", 10 * t, err, sizeof err), 0);
        assert_int_equal(resultdb_sample(db, run, t, "orderd_mutex_wait_seconds_total",
                                         "{instance=\"b:1\",job=\"o\",lock=\"cache\"}", 100 * t, err, sizeof err), 0);
    }
    assert_int_equal(samples_instances(db, run, instances, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(instances[0], "a:1");
    assert_string_equal(instances[1], "b:1");
    assert_int_equal(samples_instances(db, run, instances, 1, &n, err, sizeof err), 1);  /* more than max */
    assert_int_equal(n, 1);
    assert_int_equal(samples_instances(db, healthy_run, instances, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);  /* scraped directly: no fleet */
    assert_int_equal(samples_load_sum_of(db, run, "a:1", "orderd_mutex_wait_seconds_total", NULL, &s, err,
                                         sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_near(s.v[2], 22, 0);
    series_release(&s);
    assert_int_equal(samples_load_sum_of(db, run, "a:1", "orderd_mutex_wait_seconds_total", "{lock=\"cache\"}", &s,
                                         err, sizeof err), 0);
    assert_near(s.v[2], 2, 0);
    series_release(&s);
    assert_int_equal(samples_load_of(db, run, "b:1", "orderd_mutex_wait_seconds_total", "lock", &set, err,
                                     sizeof err), 0);
    assert_int_equal(set.n, 1);
    assert_near(find(&set, "cache")->v[2], 200, 0);
    series_set_release(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_load_groups_by_label_and_sums_the_rest),
        cmocka_unit_test(test_samples_late_series_count_from_zero_on_the_ticks),
        cmocka_unit_test(test_samples_quantiles_follow_histogram_quantile),
        cmocka_unit_test(test_samples_selection_picks_the_gates_series),
        cmocka_unit_test(test_samples_sum_by_the_database_matches_the_grouped_load),
        cmocka_unit_test(test_samples_top_labels_names_the_set_that_rose_most),
        cmocka_unit_test(test_samples_fleet_instances_and_their_own_sums),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
