/* Unit tests for faultctl: faults over a debug API (a canned server standing in for
 * orderd's), each one on recorded as a phase row in a real results database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "canned_http.h"
#include "run/faultctl.h"

static const struct canned_http_route routes[] = {
    {"/debug/faults/slow", 204, "", 0},
    {"/debug/faults/lock.cache", 200, "{}", 0},
    {"/debug/faults/queue.stall", 400, "bad term 'x'", 0},
    {NULL, 0, NULL, 0},
};

static char dir[64], path[128], base[64], err[1024];
static struct canned_http *server;
static struct resultdb *db;
static struct httpclient *http;
static struct faultctl fc;

static int setup(void **state)
{
    struct resultdb_run row = {.scenario = "s", .scenario_file = "s.ini", .label = "l", .params = "{}"};
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/loadlab-faultctl-XXXXXX");
    if (!mkdtemp(dir) || !(server = canned_http_start(routes)))
        return -1;
    snprintf(path, sizeof path, "%s/results.db", dir);
    snprintf(base, sizeof base, "http://127.0.0.1:%d", canned_http_port(server));
    if (!(db = resultdb_open(path, false, err, sizeof err)) || !(http = httpclient_new(NULL, err, sizeof err)))
        return -1;
    fc = (struct faultctl){.http = http, .debug_base = base, .db = db};
    return resultdb_run_begin(db, &row, &fc.run_id, err, sizeof err);
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    httpclient_free(http);
    resultdb_close(db);
    canned_http_stop(server);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* "phase fault term on_at off_at" of every phase row, in order, "; "-separated. */
static void phase_rows(char *out, size_t outlen)
{
    sqlite3 *conn;
    sqlite3_stmt *st;
    size_t used = 0;

    out[0] = '\0';
    assert_int_equal(sqlite3_open_v2(path, &conn, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(conn, "SELECT phase, fault, term, on_at, ifnull(off_at, -1) FROM phases "
                                              "ORDER BY id", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && used < outlen)
        used += (size_t)snprintf(out + used, outlen - used, "%s%s %s %s %g %g", used ? "; " : "",
                                 sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
                                 sqlite3_column_text(st, 2), sqlite3_column_double(st, 3),
                                 sqlite3_column_double(st, 4));
    sqlite3_finalize(st);
    sqlite3_close(conn);
}

static void test_faultctl_set_replace_and_clear(void **state)
{
    struct scenario_fault on = {"slow", "on(1ms)"}, half = {"slow", "50%on"};
    char rows[512], request[2048];
    (void)state;

    assert_int_equal(faultctl_set(&fc, "service", &on, 1, err, sizeof err), 0);
    canned_http_last_request(server, request, sizeof request);
    assert_non_null(strstr(request, "PUT /debug/faults/slow HTTP/1.1"));
    assert_non_null(strstr(request, "on(1ms)"));
    assert_int_equal(fc.nactive, 1);

    /* a new term for a fault that is on closes its row and opens another */
    assert_int_equal(faultctl_set(&fc, "burst", &half, 2, err, sizeof err), 0);
    assert_int_equal(fc.nactive, 1);
    assert_int_equal(faultctl_clear(&fc, "slow", 3, err, sizeof err), 0);
    canned_http_last_request(server, request, sizeof request);
    assert_non_null(strstr(request, "DELETE /debug/faults/slow HTTP/1.1"));
    assert_int_equal(fc.nactive, 0);
    phase_rows(rows, sizeof rows);
    assert_string_equal(rows, "service slow on(1ms) 1 2; burst slow 50%on 2 3");
}

static void test_faultctl_refusal_quotes_the_answer(void **state)
{
    struct scenario_fault bad = {"queue.stall", "x"}, unknown = {"nope", "on"};
    (void)state;
    assert_int_equal(faultctl_set(&fc, "p", &bad, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "answered 400: bad term 'x'"));
    assert_int_equal(faultctl_set(&fc, "p", &unknown, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "/debug/faults/nope on answered 404"));
    assert_int_equal(fc.nactive, 0);
}

/* At the end of a run every fault still on is cleared, the last first, and forgotten
 * even when the service cannot clear it. */
static void test_faultctl_clear_last_empties_the_list(void **state)
{
    struct scenario_fault slow = {"slow", "on"}, lock = {"lock.cache", "on(100us)"};
    char rows[512];
    (void)state;
    assert_int_equal(faultctl_set(&fc, "a", &slow, 10, err, sizeof err), 0);
    assert_int_equal(faultctl_set(&fc, "b", &lock, 11, err, sizeof err), 0);
    snprintf(fc.active[0].name, sizeof fc.active[0].name, "gone");  /* the service will 404 it */
    assert_int_equal(faultctl_clear_last(&fc, 12, err, sizeof err), 0);
    assert_int_equal(faultctl_clear_last(&fc, 12, err, sizeof err), -1);
    assert_non_null(strstr(err, "could not clear fault gone"));
    assert_int_equal(fc.nactive, 0);
    assert_int_equal(faultctl_clear_last(&fc, 13, err, sizeof err), 0);
    phase_rows(rows, sizeof rows);
    assert_non_null(strstr(rows, "; b lock.cache on(100us) 11 12"));
    assert_non_null(strstr(rows, "; a slow on 10 -1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_faultctl_set_replace_and_clear),
        cmocka_unit_test(test_faultctl_refusal_quotes_the_answer),
        cmocka_unit_test(test_faultctl_clear_last_empties_the_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
