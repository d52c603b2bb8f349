/* Unit tests for scrape: one sample of a service's /metrics (a canned server) into a
 * real results database and series store, the headline figures, and what counts as a
 * service gone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canned_http.h"
#include "run/scrape.h"
#include "units.h"

static const struct canned_http_route routes[] = {
    {"/metrics", 200,
     "# TYPE orderd_http_requests_total counter\n"
     "orderd_http_requests_total{route=\"a\"} 30\n"
     "orderd_http_requests_total{route=\"b\"} 12\n"
     "orderd_queue_depth 3\norderd_queue_capacity 64\nprocess_threads 9\n", 0},
    {"/bad", 200, "orderd_queue_depth 3\nthis is not prometheus text\n", 0},
    {"/down", 503, "", 0},
    {NULL, 0, NULL, 0},
};

static char dir[64], path[128], url[128], err[1024];
static struct canned_http *server;
static struct resultdb *db;
static struct httpclient *http;
static struct series_store *series;
static struct scraper s;

static int setup(void **state)
{
    struct resultdb_run row = {.scenario = "s", .scenario_file = "s.ini", .label = "l", .params = "{}"};
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/loadlab-scrape-XXXXXX");
    if (!mkdtemp(dir) || !(server = canned_http_start(routes)))
        return -1;
    snprintf(path, sizeof path, "%s/results.db", dir);
    if (!(db = resultdb_open(path, false, err, sizeof err)) || !(http = httpclient_new(NULL, err, sizeof err)) ||
        !(series = series_store_new()))
        return -1;
    s = (struct scraper){.db = db, .http = http, .series = series, .metrics_url = url,
                         .requests_metric = "orderd_http_requests_total", .sample_interval_ns = 250000000};
    return resultdb_run_begin(db, &row, &s.run_id, err, sizeof err);
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    series_store_free(series);
    httpclient_free(http);
    resultdb_close(db);
    canned_http_stop(server);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static long long samples(void)
{
    sqlite3 *conn;
    sqlite3_stmt *st;
    long long n = -1;
    assert_int_equal(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(conn, "SELECT count(*) FROM samples", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(conn);
    return n;
}

static void use(const char *route)
{
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", canned_http_port(server), route);
    s.last_ok_ns = units_now_ns();
}

static void test_scrape_records_samples_and_headline(void **state)
{
    long long before = samples();
    (void)state;
    use("/metrics");
    assert_true(series_store_want(series, "orderd_queue_depth") == 0);
    assert_int_equal(scrape_take(&s, 1.5, err, sizeof err), SCRAPE_OK);
    assert_int_equal(samples() - before, 5);
    assert_true(series_store_has_metric(series, "orderd_queue_depth"));
    assert_true(s.now.t == 1.5 && s.now.requests == 42 && s.now.threads == 9);
    assert_true(s.now.queue_depth == 3 && s.now.queue_capacity == 64);
    assert_int_equal(s.failures, 0);
    /* the next scrape keeps this one as before */
    assert_int_equal(scrape_take(&s, 1.75, err, sizeof err), SCRAPE_OK);
    assert_true(s.before.t == 1.5 && s.before.requests == 42);
}

/* A malformed body is checked whole first: nothing of it is recorded, the failure is
 * counted with what was wrong. */
static void test_scrape_malformed_body_records_nothing(void **state)
{
    long long before = samples();
    unsigned failures = s.failures;
    (void)state;
    use("/bad");
    assert_int_equal(scrape_take(&s, 2, err, sizeof err), SCRAPE_OK);
    assert_int_equal(samples(), before);
    assert_int_equal(s.failures, failures + 1);
    assert_true(s.last_err[0] != '\0');
    assert_true(isnan(s.now.queue_depth));
}

/* A service given by URL that has not answered for 3 s is gone; a spawned one is not
 * judged by its answers (its process says whether it lives). */
static void test_scrape_unanswered_url_service_is_gone(void **state)
{
    (void)state;
    use("/down");
    assert_int_equal(scrape_take(&s, 3, err, sizeof err), SCRAPE_OK);
    assert_non_null(strstr(s.last_err, "answered 503"));
    s.last_ok_ns = units_now_ns() - 4000000000LL;
    assert_int_equal(scrape_take(&s, 7, err, sizeof err), SCRAPE_GONE);
    assert_non_null(strstr(err, "service stopped answering at t=7.0s"));
    s.spawned = true;
    s.last_ok_ns = units_now_ns() - 4000000000LL;
    assert_int_equal(scrape_take(&s, 8, err, sizeof err), SCRAPE_OK);
    s.spawned = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scrape_records_samples_and_headline),
        cmocka_unit_test(test_scrape_malformed_body_records_nothing),
        cmocka_unit_test(test_scrape_unanswered_url_service_is_gone),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
