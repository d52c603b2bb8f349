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

#include "store/drills.h"
#include "store/resultdb.h"
#include "store/runs.h"
#include "testdb.h"
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

/* The schema's views and NULLs, as someone querying the file by hand sees them. */
static long long query_int(const char *sql)
{
    return testdb_int(tmp.path, sql);
}

/* Run id's row as its reader gives it; fails the test when it is missing. */
static struct runs_run *read_run(struct resultdb *db, int64_t run_id)
{
    bool missing;
    struct runs_run *run = runs_get(db, run_id, &missing, err, sizeof err);
    if (!run)
        fail_msg("run %lld: %s", (long long)run_id, err);
    return run;
}

/* What the run's readers give back of what was written. */
static void check_read_back(struct resultdb *db, int64_t run_id)
{
    bool missing;
    struct runs_run *run = runs_get(db, run_id, &missing, err, sizeof err);
    struct runs_phase *phases;
    struct runs_gate *gates;
    struct runs_load loads[2];
    struct runs_samples samples;
    struct runs_windows windows;
    size_t n;

    assert_non_null(run);
    assert_string_equal(run->scenario, "baseline");
    assert_string_equal(run->git_rev, "abc123");
    assert_string_equal(run->status, "completed");
    assert_string_equal(run->verdict, "met");
    assert_int_equal(run->service_pid, 4242);
    assert_true(run->ended_at[0] != '\0');
    assert_true(run->steady_from == 1.0 && run->steady_to == 3.0);
    runs_run_free(run);
    assert_null(runs_get(db, run_id + 1, &missing, err, sizeof err));
    assert_true(missing);

    assert_int_equal(runs_samples(db, run_id, &samples, err, sizeof err), 0);
    assert_int_equal(samples.values, 11);
    assert_int_equal(samples.series, 2);
    assert_true(samples.first_t == 0 && samples.last_t == 2.25);
    assert_int_equal(runs_phases(db, run_id, &phases, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(phases[0].fault, "leak.threads");
    assert_true(phases[0].on_at == 1.0 && phases[0].off_at == 2.5);
    free(phases);
    assert_int_equal(runs_loads(db, run_id, loads, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(loads[0].stage, "measure");
    assert_int_equal(loads[0].requests, 3000);
    assert_true(isnan(loads[0].latency_max));  /* NaN went in as NULL, comes out NaN */
    assert_true(loads[0].p99 == 0.004);
    assert_int_equal(runs_windows(db, run_id, &windows, err, sizeof err), 0);
    assert_int_equal(windows.count, 1);
    assert_string_equal(windows.metric, "orderd_http_requests_total");
    assert_int_equal(runs_gates(db, run_id, &gates, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(gates[0].passed, 1);
    assert_string_equal(gates[0].outcome, "held");
    assert_false(gates[0].has_error);
    free(gates);
}

static void test_resultdb_records_a_whole_run(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "baseline", .scenario_file = "scenarios/baseline.ini",
                               .label = "v1", .git_rev = "abc123", .params = "{}"};
    struct wrkres load = {.duration_s = 3, .requests = 3000, .latency_p99 = 0.004, .latency_mean = NAN,
                        .latency_max = NAN};
    struct gate_spec spec;
    struct gate_result gate = {.spec = &spec, .observed = 1000, .verdict = GATE_PASS};
    struct runs_run *run_row;
    int64_t run_id, phase_id;
    (void)state;
    if (!db)
        fail_msg("%s", err);
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    run_row = read_run(db, run_id);
    assert_string_equal(run_row->status, "running");
    runs_run_free(run_row);
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

    check_read_back(db, run_id);
    assert_int_equal(query_int("SELECT count(*) FROM samples WHERE value IS NULL"), 1);
    assert_int_equal(query_int("SELECT latency_mean_s IS NULL FROM load_results"), 1);
    assert_int_equal(query_int("SELECT gates FROM run_overview"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM latest_runs"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM steady_samples"), 6);  /* t = 1.0 .. 2.25 */
    assert_int_equal(query_int("SELECT count(*) FROM fault_timeline"), 1);
    assert_int_equal(query_int("PRAGMA journal_mode = WAL") >= 0, 1);
    resultdb_close(db);
    resultdb_close(NULL);

    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    check_read_back(db, run_id);
    resultdb_close(db);
}

static void test_resultdb_gate_error_stored_as_null(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "s", .label = "l", .params = "{}"};
    struct gate_spec spec;
    struct gate_result gate = {.spec = &spec, .observed = NAN, .verdict = GATE_ERROR,
                               .expected_to_fail = true, .detail = "no sample of x"};
    struct runs_gate *gates;
    struct runs_run *run_row;
    size_t n;
    int64_t run_id;
    (void)state;
    assert_non_null(db);
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    assert_int_equal(gate_parse("metric.x.max", "< 1", &spec, err, sizeof err), 0);
    assert_int_equal(resultdb_gate(db, run_id, &gate, err, sizeof err), 0);
    assert_int_equal(query_int("SELECT count(*) FROM gates WHERE passed IS NULL AND observed IS NULL "
                         "AND error = 'no sample of x' AND expected_to_fail = 1"), 1);
    assert_int_equal(runs_gates(db, run_id, &gates, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(gates[0].passed, -1);
    assert_true(isnan(gates[0].observed));
    assert_true(gates[0].has_error);
    assert_string_equal(gates[0].error, "no sample of x");
    assert_true(gates[0].expected_to_fail);
    free(gates);
    assert_int_equal(resultdb_run_end(db, run_id, "aborted", "interrupted", NULL, NAN, NAN, err, sizeof err), 0);
    run_row = read_run(db, run_id);
    assert_string_equal(run_row->status, "aborted");
    assert_string_equal(run_row->verdict, "");
    assert_string_equal(run_row->exit_reason, "interrupted");
    assert_true(isnan(run_row->steady_from));
    runs_run_free(run_row);
    resultdb_close(db);
}

static void test_resultdb_closes_runs_left_by_dead_loadlab(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "s", .label = "l", .params = "{}"};
    struct runs_run *run_row;
    int64_t run_id;
    (void)state;
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    testdb_exec(tmp.path, "UPDATE runs SET driver_pid = 2000000000");
    resultdb_close(db);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    run_row = read_run(db, run_id);
    assert_string_equal(run_row->status, "aborted");
    assert_non_null(strstr(run_row->exit_reason, "killed"));
    runs_run_free(run_row);
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

/* A schema 3 file (figures without counter) gains the column, keeping its rows. */
static void test_resultdb_upgrades_schema_3_figures_with_counter(void **state)
{
    struct resultdb *db;
    sqlite3 *raw;
    (void)state;
    assert_int_equal(sqlite3_open(tmp.path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE figures (run_id INTEGER NOT NULL, name TEXT NOT NULL, "
                                       "unit TEXT NOT NULL, value REAL, error TEXT, PRIMARY KEY (run_id, name));"
                                       "INSERT INTO figures VALUES (1, 'throughput', 'req/s', 10, NULL);"
                                       "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    if (!db)
        fail_msg("%s", err);
    resultdb_close(db);
    assert_int_equal(testdb_int(tmp.path, "PRAGMA user_version"), RESULTDB_SCHEMA_VERSION);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM figures WHERE counter IS NULL AND value = 10"), 1);
}

/* A schema-3 database (regressions without method, no ab_slices) is upgraded when
 * opened for writing: its verdicts read as whole-run ones, the new table exists. */
static void test_resultdb_upgrades_schema_3_to_interleaved(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    sqlite3 *raw;
    (void)state;
    assert_non_null(db);
    resultdb_close(db);
    assert_int_equal(sqlite3_open(tmp.path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "DROP TABLE ab_slices; ALTER TABLE regressions DROP COLUMN method; "
                                  "ALTER TABLE figures DROP COLUMN counter; "
                                  "INSERT INTO regressions (judged_at, scenario, baseline_scenario, gate, "
                                  "threshold_text, unit, baseline_label, candidate_label, baseline_runs, "
                                  "candidate_runs, baseline_n, candidate_n, confidence, alpha, min_runs, verdict) "
                                  "VALUES ('t', 's', 's', 'regression.throughput', '-5%', 'req/s', 'a', 'b', '1', "
                                  "'2', 1, 1, 0.9, 0.05, 5, 'pass'); PRAGMA user_version = 3",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    resultdb_close(db);
    assert_int_equal(testdb_int(tmp.path, "PRAGMA user_version"), RESULTDB_SCHEMA_VERSION);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM regressions WHERE method = 'runs'"), 1);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM ab_slices"), 0);
}

static void test_resultdb_says_which_tables_exist(void **state)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    (void)state;
    assert_non_null(db);
    assert_int_equal(resultdb_table_exists(db, "evidence", err, sizeof err), 1);
    testdb_exec(tmp.path, "DROP TABLE evidence");
    assert_int_equal(resultdb_table_exists(db, "evidence", err, sizeof err), 0);
    /* A view is not a table. */
    assert_int_equal(resultdb_table_exists(db, "run_overview", err, sizeof err), 0);
    resultdb_close(db);
}

/* Opens a results file whose table was made by old_schema (with one row) by an older
 * loadlab: the row is kept, new_row (refused by the old CHECK) goes in, and a second
 * open leaves the widened table alone. */
static void check_widened(const char *old_schema, const char *new_row, const char *count_both, const char *table)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "s", .label = "l", .params = "{}"};
    int64_t run_id;
    char sql[128];
    assert_int_equal(resultdb_run_begin(db, &run, &run_id, err, sizeof err), 0);
    resultdb_close(db);
    testdb_exec(tmp.path, old_schema);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    testdb_exec(tmp.path, new_row);
    assert_int_equal(query_int(count_both), 2);
    resultdb_close(db);
    db = resultdb_open(tmp.path, false, err, sizeof err);  /* already wide: left alone */
    assert_non_null(db);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(query_int(sql), 2);
    resultdb_close(db);
}

/* A new database with one run begun. */
static struct resultdb *open_with_run(int64_t *run_id)
{
    struct resultdb *db = resultdb_open(tmp.path, false, err, sizeof err);
    struct resultdb_run run = {.scenario = "s", .label = "l", .params = "{}"};
    assert_non_null(db);
    assert_int_equal(resultdb_run_begin(db, &run, run_id, err, sizeof err), 0);
    return db;
}

/* A fleet's worst-of-instances gate keeps which instance was worst and of how many;
 * a gate of one machine keeps neither. */
static void test_resultdb_gate_keeps_the_worst_instance(void **state)
{
    struct resultdb *db;
    struct gate_spec spec, plain;
    struct gate_result fleet = {.spec = &spec, .observed = 2.5, .verdict = GATE_FAIL, .instance = "10.0.0.6:6060",
                                .instances = 3};
    struct gate_result one = {.spec = &plain, .observed = 100, .verdict = GATE_PASS};
    struct runs_gate *gates;
    size_t n;
    int64_t run_id;
    (void)state;
    db = open_with_run(&run_id);
    assert_int_equal(gate_parse("thread_growth", "< 0.5/s", &spec, err, sizeof err), 0);
    assert_int_equal(gate_parse("throughput", "> 10/s", &plain, err, sizeof err), 0);
    assert_int_equal(resultdb_gate(db, run_id, &fleet, err, sizeof err), 0);
    assert_int_equal(resultdb_gate(db, run_id, &one, err, sizeof err), 0);
    assert_int_equal(query_int("SELECT count(*) FROM gates WHERE name = 'thread_growth' AND instance = '10.0.0.6:6060' "
                               "AND instances = 3 AND observed = 2.5"), 1);
    assert_int_equal(query_int("SELECT count(*) FROM gates WHERE name = 'throughput' AND instance IS NULL "
                               "AND instances IS NULL"), 1);
    assert_int_equal(runs_gates(db, run_id, &gates, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(gates[0].instance, "10.0.0.6:6060");
    assert_int_equal(gates[0].instances, 3);
    assert_string_equal(gates[1].instance, "");
    assert_int_equal(gates[1].instances, 0);
    free(gates);
    resultdb_close(db);
}

/* A schema-5 file (no instance columns) still reads read-only, and gains the columns,
 * keeping its rows, when opened for writing. */
static void test_resultdb_upgrades_schema_5_to_fleet_columns(void **state)
{
    struct resultdb *db;
    struct gate_spec spec;
    struct gate_result gate = {.spec = &spec, .observed = 1, .verdict = GATE_PASS};
    struct runs_gate *gates;
    size_t n;
    int64_t run_id;
    (void)state;
    db = open_with_run(&run_id);
    assert_int_equal(gate_parse("throughput", "> 0/s", &spec, err, sizeof err), 0);
    assert_int_equal(resultdb_gate(db, run_id, &gate, err, sizeof err), 0);
    resultdb_close(db);
    testdb_exec(tmp.path, "ALTER TABLE gates DROP COLUMN instance; ALTER TABLE gates DROP COLUMN instances; "
                          "ALTER TABLE diagnoses DROP COLUMN instance; ALTER TABLE evidence DROP COLUMN instance; "
                          "PRAGMA user_version = 5");
    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(resultdb_has_column(db, "gates", "instance", err, sizeof err), 0);
    assert_int_equal(runs_gates(db, run_id, &gates, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(gates[0].instances, 0);
    free(gates);
    resultdb_close(db);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(resultdb_has_column(db, "gates", "instances", err, sizeof err), 1);
    assert_int_equal(resultdb_has_column(db, "diagnoses", "instance", err, sizeof err), 1);
    assert_int_equal(resultdb_has_column(db, "evidence", "instance", err, sizeof err), 1);
    resultdb_close(db);
    assert_int_equal(testdb_int(tmp.path, "PRAGMA user_version"), RESULTDB_SCHEMA_VERSION);
    assert_int_equal(query_int("SELECT count(*) FROM gates WHERE name = 'throughput' AND instance IS NULL"), 1);
}

struct seen_drill {
    int n;
    enum drills_mitigation mitigated;
    char method[32];
};

static void see_drill(void *user, const struct drills_record *d)
{
    struct seen_drill *seen = user;
    seen->n++;
    seen->mitigated = d->mitigated;
    snprintf(seen->method, sizeof seen->method, "%s", d->mitigation_method);
}

static void test_resultdb_upgrades_schema_7_drills_to_the_mitigation_method(void **state)
{
    struct resultdb *db;
    int64_t run_id;
    (void)state;
    db = open_with_run(&run_id);
    resultdb_close(db);
    testdb_exec(tmp.path, "ALTER TABLE drills DROP COLUMN mitigation_method; ALTER TABLE drills DROP COLUMN "
                          "time_bought_s; INSERT INTO drills (trainee, started_at, level, seed, truth, status, problems, "
                          "mitigated) VALUES ('ann', 'x', 1, 1, '[]', 'answered', 1, 1); PRAGMA user_version = 7");
    /* read-only (drill --history), never upgraded: the drill reads, its method unknown */
    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    struct seen_drill seen = {0};
    assert_int_equal(drills_foreach(db, NULL, see_drill, &seen, err, sizeof err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.mitigated, DRILLS_MITIGATION_HEALED);
    assert_string_equal(seen.method, "");
    resultdb_close(db);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(resultdb_has_column(db, "drills", "mitigation_method", err, sizeof err), 1);
    assert_int_equal(resultdb_has_column(db, "drills", "time_bought_s", err, sizeof err), 1);
    resultdb_close(db);
    assert_int_equal(testdb_int(tmp.path, "PRAGMA user_version"), RESULTDB_SCHEMA_VERSION);
    /* An old drill keeps its verdict, its method unknown. */
    assert_int_equal(query_int("SELECT count(*) FROM drills WHERE mitigated = 1 AND mitigation_method IS NULL"), 1);
}

/* Restarts are kept in time order per run; a schema 8 file has none to give, read
 * only, and gains the table when opened for writing. */
static void test_resultdb_keeps_restarts_and_upgrades_schema_8(void **state)
{
    struct resultdb *db;
    struct runs_restart got[2];
    int64_t run_id, other;
    size_t n;
    (void)state;
    db = open_with_run(&run_id);
    assert_int_equal(resultdb_run_begin(db, &(struct resultdb_run){.scenario = "s", .label = "l", .params = "{}"},
                                        &other, err, sizeof err), 0);
    assert_int_equal(resultdb_restart(db, run_id, 12.0, 12.4, err, sizeof err), 0);
    assert_int_equal(resultdb_restart(db, run_id, 5.0, 5.3, err, sizeof err), 0);
    assert_int_equal(resultdb_restart(db, other, 7.0, 7.1, err, sizeof err), 0);
    assert_int_equal(resultdb_restart(db, run_id, 20.0, 20.5, err, sizeof err), 0);
    /* more than asked for: the first ones, and 1 */
    assert_int_equal(runs_restarts(db, run_id, got, 2, &n, err, sizeof err), 1);
    assert_int_equal(n, 2);
    assert_true(got[0].asked_at == 5.0 && got[0].ready_at == 5.3);
    assert_true(got[1].asked_at == 12.0 && got[1].ready_at == 12.4);
    assert_int_equal(runs_restarts(db, other, got, 2, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    resultdb_close(db);

    testdb_exec(tmp.path, "DROP TABLE restarts; PRAGMA user_version = 8");
    db = resultdb_open(tmp.path, true, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(runs_restarts(db, run_id, got, 2, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    resultdb_close(db);
    db = resultdb_open(tmp.path, false, err, sizeof err);
    assert_non_null(db);
    assert_int_equal(resultdb_table_exists(db, "restarts", err, sizeof err), 1);
    resultdb_close(db);
    assert_int_equal(testdb_int(tmp.path, "PRAGMA user_version"), RESULTDB_SCHEMA_VERSION);
    assert_int_equal(RESULTDB_SCHEMA_VERSION, 9);
}

static void test_resultdb_widens_an_old_evidence_table(void **state)
{
    /* A results file from before CPU profiles were kept as evidence. */
    (void)state;
    check_widened("DROP TABLE evidence; CREATE TABLE evidence (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL "
                  "REFERENCES runs(id) ON DELETE CASCADE, t REAL NOT NULL, kind TEXT NOT NULL CHECK (kind IN "
                  "('threads','mutex','block','heap','vars','faults','log','note')), reason TEXT NOT NULL, "
                  "bytes INTEGER NOT NULL, content_gz BLOB NOT NULL); "
                  "INSERT INTO evidence VALUES (1, 1, 0.5, 'note', 'r', 1, x'00')",
                  "INSERT INTO evidence (id, run_id, t, kind, reason, bytes, content_gz) VALUES (2, 1, 1.5, 'cpu', 'r', 1, x'00')",
                  "SELECT count(*) FROM evidence WHERE kind IN ('note', 'cpu')", "evidence");
}

static void test_resultdb_widens_an_evidence_table_that_has_its_instance(void **state)
{
    /* A file whose evidence already had the fleet's instance column (added last by
     * ALTER TABLE) but a CHECK from before CPU profiles: the copy keeps the instance. */
    (void)state;
    check_widened("DROP TABLE evidence; CREATE TABLE evidence (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL "
                  "REFERENCES runs(id) ON DELETE CASCADE, t REAL NOT NULL, kind TEXT NOT NULL CHECK (kind IN "
                  "('threads','mutex','block','heap','vars','faults','log','note')), reason TEXT NOT NULL, "
                  "bytes INTEGER NOT NULL, content_gz BLOB NOT NULL, instance TEXT); "
                  "INSERT INTO evidence VALUES (1, 1, 0.5, 'note', 'r', 1, x'00', '10.0.0.5:6060')",
                  "INSERT INTO evidence (id, run_id, t, kind, reason, bytes, content_gz) VALUES (2, 1, 1.5, 'cpu', 'r', 1, x'00')",
                  "SELECT count(*) FROM evidence WHERE kind IN ('note', 'cpu')", "evidence");
    assert_int_equal(query_int("SELECT count(*) FROM evidence WHERE instance = '10.0.0.5:6060'"), 1);
}

static void test_resultdb_widens_an_old_diagnoses_table(void **state)
{
    /* A results file from before the overload class. */
    (void)state;
    check_widened("DROP TABLE diagnoses; CREATE TABLE diagnoses (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL "
                  "REFERENCES runs(id) ON DELETE CASCADE, class TEXT NOT NULL CHECK (class IN ('none','thread-leak',"
                  "'memory-leak','lock-contention','queue-full','blocked-producer','cpu-slowdown')), culprit TEXT, "
                  "started_at REAL, confidence REAL, summary TEXT NOT NULL, evidence_text TEXT NOT NULL, "
                  "diagnosed_at TEXT NOT NULL); INSERT INTO diagnoses VALUES (1, 1, 'thread-leak', 'f', 1, 1, 's', 'e', 'now')",
                  "INSERT INTO diagnoses (id, run_id, class, culprit, started_at, confidence, summary, evidence_text, "
                  "diagnosed_at) VALUES (2, 1, 'overload', NULL, 1, 0.5, 's', 'e', 'now')",
                  "SELECT count(*) FROM diagnoses WHERE class IN ('thread-leak', 'overload')", "diagnoses");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resultdb_records_a_whole_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_gate_error_stored_as_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_gate_keeps_the_worst_instance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_upgrades_schema_5_to_fleet_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_upgrades_schema_7_drills_to_the_mitigation_method, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_keeps_restarts_and_upgrades_schema_8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_closes_runs_left_by_dead_loadlab, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_refuses_foreign_and_newer_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_says_which_tables_exist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_upgrades_schema_3_figures_with_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_widens_an_old_diagnoses_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_widens_an_old_evidence_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_widens_an_evidence_table_that_has_its_instance, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resultdb_upgrades_schema_3_to_interleaved, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
