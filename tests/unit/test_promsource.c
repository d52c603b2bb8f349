/* Unit tests for promsource: a fleet's samples from a canned Prometheus API into a real
 * results database and series store — per instance, with their labels; partial
 * answers, error answers and a target down named, never recorded as zeros. */
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

#include "canned_http.h"
#include "run/promsource.h"
#include "testdb.h"
#include "units.h"

#define MATRIX(result, extra) \
    "{\"status\":\"success\"" extra ",\"data\":{\"resultType\":\"matrix\",\"result\":[" result "]}}"
#define SERIES(name, inst, value) \
    "{\"metric\":{\"__name__\":\"" name "\",\"job\":\"orderd\",\"instance\":\"" inst "\"}," \
    "\"values\":[[1700000000,\"" value "\"]]}"

#define BOTH_UP SERIES("up", "a:1", "1") "," SERIES("up", "b:1", "1") "," SERIES("process_threads", "b:1", "14")
#define A_ONLY SERIES("up", "a:1", "1")

/* not const: the "vanish" route's answer changes between two samples */
static struct canned_http_route routes[] = {
    {"/vanish/api/v1/query_range", 200, MATRIX(BOTH_UP, ""), 0},
    {"/fleet/api/v1/query_range", 200,
     MATRIX(SERIES("up", "a:1", "1") "," SERIES("up", "b:1", "1") "," SERIES("process_threads", "a:1", "9") ","
            SERIES("process_threads", "b:1", "14") "," SERIES("orderd_http_requests_total", "a:1", "100") ","
            SERIES("orderd_http_requests_total", "b:1", "50"),
            ",\"warnings\":[\"store b timed out, results may be partial\"]"), 0},
    {"/error/api/v1/query_range", 400,
     "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:1: parse error\"}", 0},
    /* the fleet a second later, replica b restarted in between: its count starts again */
    {"/restart/api/v1/query_range", 200,
     MATRIX(SERIES("up", "a:1", "1") "," SERIES("up", "b:1", "1") "," SERIES("orderd_http_requests_total", "a:1", "110")
            "," SERIES("orderd_http_requests_total", "b:1", "5"), ""), 0},
    {"/down/api/v1/query_range", 200, MATRIX(SERIES("up", "a:1", "1") "," SERIES("up", "b:1", "0"), ""), 0},
    {NULL, 0, NULL, 0},
};

static char dir[64], path[128], err[1024];
static struct canned_http *server;
static struct resultdb *db;
static struct series_store *series;
static struct scraper s;

static int setup(void **state)
{
    struct resultdb_run row = {.scenario = "s", .scenario_file = "s.ini", .label = "l", .params = "{}"};
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/loadlab-promsource-XXXXXX");
    if (!mkdtemp(dir) || !(server = canned_http_start(routes)))
        return -1;
    snprintf(path, sizeof path, "%s/results.db", dir);
    if (!(db = resultdb_open(path, false, err, sizeof err)))
        return -1;
    return resultdb_run_begin(db, &row, &s.run_id, err, sizeof err);
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    resultdb_close(db);
    canned_http_stop(server);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A source on the canned server's prefix, and a fresh scraper and series store. */
static struct promsource *source(const char *prefix, struct scenario *sc)
{
    struct promsource *p;
    memset(sc, 0, sizeof *sc);
    snprintf(sc->prometheus, sizeof sc->prometheus, "http://127.0.0.1:%d/%s", canned_http_port(server), prefix);
    snprintf(sc->prometheus_selector, sizeof sc->prometheus_selector, "{job=\"orderd\"}");
    sc->sample_interval_ns = 1000000000;
    series_store_free(series);
    assert_non_null(series = series_store_new());
    assert_int_equal(series_store_want(series, "process_threads"), 0);
    assert_int_equal(series_store_want(series, "orderd_http_requests_total"), 0);  /* as the runner does */
    s = (struct scraper){.db = db, .run_id = s.run_id, .series = series,
                         .requests_metric = "orderd_http_requests_total", .last_ok_ns = units_now_ns()};
    assert_non_null(p = promsource_new(sc, err, sizeof err));
    return p;
}

static long long count(const char *sql)
{
    return testdb_int_of_run(path, sql, s.run_id);
}

static void test_promsource_records_each_instance_and_names_partial_answers(void **state)
{
    struct scenario sc;
    struct promsource *p = source("fleet", &sc);
    struct series_selector sel = {.metric = "process_threads"};
    struct series pts;
    char values[4][SERIES_MAX_VALUE], note[600];
    (void)state;

    assert_int_equal(promsource_take(p, &s, 1.0, 1700000000, err, sizeof err), SCRAPE_OK);
    assert_int_equal(s.failures, 0);
    /* stored with their instance labels, summed for the headline */
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'process_threads' "
                           "AND labels = '{instance=\"a:1\",job=\"orderd\"}' AND value = 9"), 1);
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'up'"), 2);
    assert_float_equal(s.now.requests, 150, 0);
    assert_float_equal(s.now.threads, 23, 0);
    assert_int_equal(series_store_label_values(series, "process_threads", "instance", values, 4), 2);
    assert_int_equal(series_store_select(series, &sel, 0, 10, &pts), 0);
    assert_int_equal(pts.n, 1);
    assert_float_equal(pts.v[0], 23, 0);
    series_release(&pts);
    /* the warnings: recorded and named */
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'loadlab_prometheus_partial'"),
                     1);
    assert_true(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'loadlab_prometheus_query_seconds'")
                >= 1);
    promsource_note(p, note, sizeof note);
    assert_non_null(strstr(note, "1 Prometheus answer(s) were partial"));
    assert_non_null(strstr(note, "store b timed out"));
    promsource_free(p);
}

/* A replica that restarts between two samples: its counter drops from 50 to 5. The
 * fleet's requests (the progress line's, and the throughput windows' selection) take
 * the drop as a reset - 15 more requests, not 35 fewer - while the samples keep
 * what Prometheus said. */
static void test_promsource_replica_restart_is_a_reset_not_a_drop(void **state)
{
    struct scenario sc, later;
    struct promsource *p = source("fleet", &sc), *q;
    struct series_selector sel = {.metric = "orderd_http_requests_total"};
    struct series pts;
    (void)state;

    assert_int_equal(promsource_take(p, &s, 1.0, 1700000000, err, sizeof err), SCRAPE_OK);
    assert_float_equal(s.now.requests, 150, 0);
    later = sc;
    snprintf(later.prometheus, sizeof later.prometheus, "http://127.0.0.1:%d/restart", canned_http_port(server));
    assert_non_null(q = promsource_new(&later, err, sizeof err));
    assert_int_equal(promsource_take(q, &s, 2.0, 1700000001, err, sizeof err), SCRAPE_OK);
    assert_float_equal(s.before.requests, 150, 0);
    assert_float_equal(s.now.requests, 165, 0);
    assert_int_equal(series_store_select_counter(series, &sel, 0, 10, &pts), 0);
    assert_int_equal(pts.n, 2);
    assert_float_equal(pts.v[1] - pts.v[0], 15, 0);
    series_release(&pts);
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'orderd_http_requests_total' "
                           "AND labels LIKE '%b:1%' AND value = 5"), 1);
    promsource_free(q);
    promsource_free(p);
}

/* A target Prometheus stops listing at all (its pod gone from discovery): named in the
 * run's note with how long it was missing, and its series not recorded as zeros. */
static void test_promsource_target_gone_from_answers_is_named(void **state)
{
    struct scenario sc;
    struct promsource *p = source("vanish", &sc);
    char note[600];
    (void)state;

    routes[0].body = MATRIX(BOTH_UP, "");
    assert_int_equal(promsource_take(p, &s, 5.0, 1700000005, err, sizeof err), SCRAPE_OK);
    routes[0].body = MATRIX(A_ONLY, "");
    for (int t = 6; t <= 7; t++)
        assert_int_equal(promsource_take(p, &s, t, 1700000000 + t, err, sizeof err), SCRAPE_OK);
    promsource_note(p, note, sizeof note);
    if (!strstr(note, "target b:1 missing from Prometheus' answers in 2 sample(s)"))
        fail_msg("note: %s", note);
    assert_null(strstr(note, "a:1"));
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND t > 5 AND labels LIKE '%b:1%'"), 0);
    routes[0].body = MATRIX(BOTH_UP, "");
    promsource_free(p);
}

static void test_promsource_error_answer_is_counted_not_zero(void **state)
{
    struct scenario sc;
    struct promsource *p = source("error", &sc);
    long long before = count("SELECT count(*) FROM samples WHERE run_id = ?1");
    (void)state;

    assert_int_equal(promsource_take(p, &s, 2.0, 1700000001, err, sizeof err), SCRAPE_OK);
    assert_int_equal(s.failures, 1);
    assert_non_null(strstr(s.last_err, "bad_data"));
    assert_non_null(strstr(s.last_err, "Prometheus at"));
    /* nothing but the failure's marker, not zeros */
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1"), before + 1);
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND t = 2 "
                           "AND metric = 'loadlab_prometheus_query_failed' AND value = 1"), 1);
    assert_false(series_store_has_metric(series, "process_threads"));
    /* answers missing for longer than PROMSOURCE_UNREACHABLE_NS stop the run */
    s.last_ok_ns = units_now_ns() - PROMSOURCE_UNREACHABLE_NS - 1;
    assert_int_equal(promsource_take(p, &s, 3.0, 1700000002, err, sizeof err), SCRAPE_FAILED);
    assert_non_null(strstr(err, "no answer from Prometheus"));
    promsource_free(p);
}

static void test_promsource_target_down_names_the_instance(void **state)
{
    struct scenario sc;
    struct promsource *p = source("down", &sc);
    char note[600];
    (void)state;

    /* down at 10 s, 11 s, 12 s: a spell shorter than PROMSOURCE_DOWN_NS is only noted */
    for (int t = 10; t <= 12; t++)
        assert_int_equal(promsource_take(p, &s, t, 1700000000 + t, err, sizeof err), SCRAPE_OK);
    promsource_note(p, note, sizeof note);
    assert_non_null(strstr(note, "target b:1 down (up == 0) in 3 sample(s)"));
    assert_null(strstr(note, "a:1"));
    assert_int_equal(promsource_take(p, &s, 13.0, 1700000013, err, sizeof err), SCRAPE_GONE);
    assert_non_null(strstr(err, "target b:1 is down in Prometheus (up == 0) since t=10.0s"));
    /* the up == 0 that ended the run is recorded */
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'up' AND value = 0 "
                           "AND t = 13"), 1);
    promsource_free(p);
    series_store_free(series);
    series = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promsource_records_each_instance_and_names_partial_answers),
        cmocka_unit_test(test_promsource_replica_restart_is_a_reset_not_a_drop),
        cmocka_unit_test(test_promsource_target_gone_from_answers_is_named),
        cmocka_unit_test(test_promsource_error_answer_is_counted_not_zero),
        cmocka_unit_test(test_promsource_target_down_names_the_instance),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
