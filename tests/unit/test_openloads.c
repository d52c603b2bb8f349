/* Unit tests for openloads: the open model's tables in a real SQLite file — a stage
 * and its windows written and read back, percentiles over spans of seconds and over
 * several runs as merges of the stored histograms, and an older file without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/latency_hist.h"
#include "store/openloads.h"
#include "store/resultdb.h"
#include "testdb.h"
#include "tmpdb.h"

static char err[512];
static struct tmpdb tmp;

static int setup(void **state)
{
    (void)state;
    return tmpdb_make(&tmp, "openloads-test");
}

static int teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static int64_t begin_run(struct resultdb *db)
{
    struct resultdb_run row = {.scenario = "s", .scenario_file = "s.ini", .label = "l", .params = "{}"};
    int64_t id;
    assert_int_equal(resultdb_run_begin(db, &row, &id, err, sizeof err), 0);
    return id;
}

/* Records a measured stage of nsec seconds, second i holding 100 latencies of
 * value_us[i]. */
static void record_run(struct resultdb *db, int64_t id, const int64_t *value_us, size_t nsec, bool behind)
{
    struct openloads_window w[8];
    struct latency_hist *h = latency_hist_new(), *whole = latency_hist_new();
    struct openloads_stage st = {.stage = "measure", .started_at = 1.5, .duration_s = (double)nsec,
                                 .asked_rate = 100, .achieved_rate = 100, .behind_schedule = behind};
    uint8_t *blob;

    assert_true(nsec <= 8 && h && whole);
    for (size_t i = 0; i < nsec; i++) {
        latency_hist_reset(h);
        latency_hist_record(h, value_us[i], 100);
        latency_hist_merge(whole, h);
        w[i] = (struct openloads_window){.second = (int64_t)i, .scheduled = 101, .completed = 100, .dropped = 1};
        assert_int_equal(latency_hist_serialize(h, &w[i].latency, &w[i].latency_len), 0);
        st.scheduled += 101;
        st.completed += 100;
        st.dropped += 1;
    }
    assert_int_equal(latency_hist_serialize(whole, &blob, &st.latency_len), 0);
    st.latency = blob;
    assert_int_equal(openloads_record(db, id, &st, err, sizeof err), 0);
    assert_int_equal(openloads_record_windows(db, id, "measure", st.started_at, w, nsec, err, sizeof err), 0);
    for (size_t i = 0; i < nsec; i++)
        free(w[i].latency);
    free(blob);
    latency_hist_free(h);
    latency_hist_free(whole);
}

static void test_openloads_windows_round_trip(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    int64_t v[4] = {1000, 2000, 500000, 1000}, id;
    struct openloads_window *w;
    size_t n;
    struct latency_hist *h = latency_hist_new();
    (void)state;

    assert_non_null(db);
    assert_non_null(h);
    id = begin_run(db);
    record_run(db, id, v, 4, true);
    assert_int_equal(openloads_windows(db, id, "measure", &w, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(w[i].second, (int64_t)i);
        assert_true(fabs(w[i].t - (1.5 + (double)i)) < 1e-9);
        assert_int_equal(w[i].scheduled, 101);
        assert_int_equal(w[i].completed + w[i].errors + w[i].dropped, w[i].scheduled);
        latency_hist_reset(h);
        assert_int_equal(latency_hist_merge_serialized(h, w[i].latency, w[i].latency_len, err, sizeof err), 0);
        assert_int_equal(latency_hist_count(h), 100);
        assert_int_equal(latency_hist_max(h), v[i]);
    }
    openloads_windows_free(w, n);
    /* the stage's totals add up, and the unreliable flag is kept */
    assert_int_equal(testdb_int(tmp.path, "SELECT scheduled - completed - errors - dropped FROM open_loads"), 0);
    assert_int_equal(openloads_behind_schedule(db, id, err, sizeof err), 1);
    assert_int_equal(openloads_windows(db, id + 1, "measure", &w, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    latency_hist_free(h);
    resultdb_close(db);
}

static void test_openloads_percentile_over_time_and_runs(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    int64_t a[4] = {1000, 1000, 400000, 1000}, b[2] = {3000, 3000}, ids[2];
    double p;
    uint64_t count;
    (void)state;

    assert_non_null(db);
    ids[0] = begin_run(db);
    record_run(db, ids[0], a, 4, false);
    ids[1] = begin_run(db);
    record_run(db, ids[1], b, 2, false);
    /* seconds 0..1 of the first run: 1ms */
    assert_int_equal(openloads_percentile(db, ids, 1, "measure", 0, 1, 99, &p, &count, err, sizeof err), 0);
    assert_int_equal(count, 200);
    assert_true(fabs(p - 0.001) < 1e-9);
    /* the whole first run: 100 of 400 at 400ms: p99 sees the stall, p50 does not */
    assert_int_equal(openloads_percentile(db, ids, 1, "measure", 0, INT64_MAX, 99, &p, &count, err, sizeof err), 0);
    assert_true(fabs(p - 0.4) < 0.4 / 1024 + 1e-9);
    assert_int_equal(openloads_percentile(db, ids, 1, "measure", 0, INT64_MAX, 50, &p, &count, err, sizeof err), 0);
    assert_true(fabs(p - 0.001) < 1e-9);
    /* both runs, seconds 0..1: 200 at 1ms and 200 at 3ms; the median is the higher
     * bucket's edge at the 200th value, 1ms, and the p75 is 3ms */
    assert_int_equal(openloads_percentile(db, ids, 2, "measure", 0, 1, 75, &p, &count, err, sizeof err), 0);
    assert_int_equal(count, 400);
    assert_true(fabs(p - 0.003) < 0.003 / 1024 + 1e-9);
    /* nothing in the span: NaN, no error */
    assert_int_equal(openloads_percentile(db, ids, 2, "measure", 50, 60, 99, &p, &count, err, sizeof err), 0);
    assert_true(isnan(p));
    assert_int_equal(count, 0);
    resultdb_close(db);
}

static void test_openloads_older_file_without_tables_reads_empty(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct openloads_window *w;
    size_t n = 99;
    (void)state;

    assert_non_null(db);
    resultdb_close(db);
    testdb_exec(tmp.path, "DROP TABLE latency_windows; DROP TABLE open_loads; PRAGMA user_version = 5");
    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(openloads_windows(db, 1, "measure", &w, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(openloads_behind_schedule(db, 1, err, sizeof err), 0);
    resultdb_close(db);
    /* opened for writing, a schema 5 file gets the tables */
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    resultdb_close(db);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                          "('open_loads','latency_windows')"), 2);
    assert_int_equal(testdb_int(tmp.path, "PRAGMA user_version"), RESULTDB_SCHEMA_VERSION);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_openloads_windows_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openloads_percentile_over_time_and_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openloads_older_file_without_tables_reads_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
