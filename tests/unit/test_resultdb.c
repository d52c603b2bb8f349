/* Unit tests for resultdb: schema, writes, closing runs, refusing foreign files. */
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

#include "store/resultdb.h"
#include "tmpdb.h"

static char err[512];
static struct tmpdb tmp;

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "resultdb-test") < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return tmpdb_remove(&tmp);
}

static long long query_int(struct resultdb *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    assert_int_equal(sqlite3_prepare_v2(resultdb_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_resultdb_records_a_whole_run(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "baseline", .scenario_file = "scenarios/baseline.ini",
                               .label = "v1", .git_rev = "abc123", .params = "{}"};
    struct wrkres load = {.duration_s = 3, .requests = 3000, .latency_p99 = 0.004, .latency_mean = NAN};
    struct gate_spec spec;
    struct gate_result gate = {.spec = &spec, .observed = 1000, .verdict = GATE_PASS};
    int64_t run_id, phase_id;
    (void)state;
    if (!db)
        fail_msg("%s", err);
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);
    assert_int_equal(resultdb_run_started(db, run_id, "/tmp/x", 4242, 1.7e9, err, sizeof err), 0);
    assert_int_equal(resultdb_begin(db, err, sizeof err), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(resultdb_sample(db, run_id, i * 0.25, "orderd_queue_depth", "", i, err, sizeof err), 0);
    assert_int_equal(resultdb_sample(db, run_id, 0, "m", "{a=\"b\"}", NAN, err, sizeof err), 0);
    assert_int_equal(resultdb_commit(db, err, sizeof err), 0);
    assert_int_equal(resultdb_phase_on(db, run_id, "leak", "leak.threads", "20%on", 1.0, &phase_id, err, sizeof err), 0);
    assert_int_equal(resultdb_phase_off(db, phase_id, 2.5, err, sizeof err), 0);
    assert_int_equal(resultdb_load_result(db, run_id, "measure", 1.0, 8, 1, &load, err, sizeof err), 0);
    assert_int_equal(resultdb_window(db, run_id, 1.0, 1.0, "orderd_http_requests_total", 990.5, err, sizeof err), 0);
    assert_int_equal(gate_parse("throughput", "> 500", &spec, err, sizeof err), 0);
    assert_int_equal(resultdb_gate(db, run_id, &gate, err, sizeof err), 0);
    assert_int_equal(resultdb_run_end(db, run_id, "completed", NULL, "met", 1.0, 3.0, err, sizeof err), 0);

    assert_int_equal(query_int(db, "SELECT count(*) FROM samples"), 11);
    assert_int_equal(query_int(db, "SELECT count(*) FROM samples WHERE value IS NULL"), 1);
    assert_int_equal(query_int(db, "SELECT service_pid FROM runs"), 4242);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'completed' AND ended_at IS NOT NULL"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM phases WHERE off_at = 2.5"), 1);
    assert_int_equal(query_int(db, "SELECT requests FROM load_results WHERE stage = 'measure'"), 3000);
    assert_int_equal(query_int(db, "SELECT latency_mean_s IS NULL FROM load_results"), 1);
    assert_int_equal(query_int(db, "SELECT passed FROM gates WHERE name = 'throughput'"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM gate_verdicts WHERE outcome = 'held'"), 1);
    assert_int_equal(query_int(db, "SELECT gates FROM run_overview"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM latest_runs"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM steady_samples"), 6);  /* t = 1.0 .. 2.25 */
    assert_int_equal(query_int(db, "SELECT count(*) FROM fault_timeline"), 1);
    assert_int_equal(query_int(db, "PRAGMA journal_mode = WAL") >= 0, 1);
    resultdb_close(db);
    resultdb_close(NULL);

    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), 1);
    resultdb_close(db);
}

static void test_resultdb_gate_error_stored_as_null(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "s", .label = "l", .params = "{}"};
    struct gate_spec spec;
    struct gate_result gate = {.spec = &spec, .observed = NAN, .verdict = GATE_ERROR,
                               .expected_to_fail = true, .detail = "no sample of x"};
    int64_t run_id;
    (void)state;
    assert_non_null(db);
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    assert_int_equal(gate_parse("metric.x.max", "< 1", &spec, err, sizeof err), 0);
    assert_int_equal(resultdb_gate(db, run_id, &gate, err, sizeof err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM gates WHERE passed IS NULL AND observed IS NULL "
                                   "AND error = 'no sample of x' AND expected_to_fail = 1"), 1);
    assert_int_equal(resultdb_run_end(db, run_id, "aborted", "interrupted", NULL, NAN, NAN, err, sizeof err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'aborted' AND verdict IS NULL"), 1);
    resultdb_close(db);
}

static void test_resultdb_closes_runs_left_by_dead_loadlab(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "s", .label = "l", .params = "{}"};
    int64_t run_id;
    (void)state;
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    assert_int_equal(sqlite3_exec(resultdb_handle(db), "UPDATE runs SET driver_pid = 2000000000", NULL, NULL, NULL), SQLITE_OK);
    resultdb_close(db);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs WHERE status = 'aborted' AND exit_reason LIKE '%killed%'"), 1);
    resultdb_close(db);
}

static void test_resultdb_refuses_foreign_and_newer_files(void **state)
{
    struct resultdb *db;
    sqlite3 *raw;
    FILE *f;
    (void)state;
    assert_null(resultdb_open("/no/such/dir/results.db", false, err, sizeof err));
    assert_null(resultdb_open(tmp.path, true, err, sizeof err));  /* missing, read-only */
    assert_int_equal(sqlite3_open(tmp.path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_null(db);
    assert_non_null(strstr(err, "newer loadlab"));
    unlink(tmp.path);
    f = fopen(tmp.path, "w");
    fputs("this is not a database, just text that is long enough to be looked at......", f);
    fclose(f);
    assert_null(resultdb_open(tmp.path, false, err, sizeof err));
}

static void test_resultdb_says_which_tables_exist(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    (void)state;
    assert_non_null(db);
    assert_int_equal(resultdb_table_exists(db, "evidence", err, sizeof err), 1);
    assert_int_equal(sqlite3_exec(resultdb_handle(db), "DROP TABLE evidence", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(resultdb_table_exists(db, "evidence", err, sizeof err), 0);
    /* A view is not a table. */
    assert_int_equal(resultdb_table_exists(db, "run_overview", err, sizeof err), 0);
    resultdb_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resultdb_records_a_whole_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_gate_error_stored_as_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_closes_runs_left_by_dead_loadlab, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_refuses_foreign_and_newer_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_says_which_tables_exist, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
