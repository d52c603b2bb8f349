/* Tests for runinfo: a run's facts and a report's selection, read from the report
 * fixture database (real SQLite, written through resultdb). */
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
#include "report/runinfo.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char err[512];
static struct resultdb *db;

static int group_setup(void **state)
{
    (void)state;
    if (report_fixture_tmpdb(&tmp, "runinfo-test") < 0)
        return -1;
    db = resultdb_open(tmp.path, true, err, sizeof err);
    return db ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void test_runinfo_select_by_id_scenario_or_all(void **state)
{
    char *none[] = {NULL}, *mixed[] = {"4", "baseline", "queue-stall"}, *unknown[] = {"baseline", "999"},
         *nameless[] = {"nope"};
    int64_t *ids;
    size_t n;
    (void)state;
    assert_int_equal(runinfo_select(db, none, 0, &ids, &n, err, sizeof err), 0);
    assert_int_equal(n, REPORT_FIXTURE_RUNS);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[n - 1], REPORT_FIXTURE_RUNS);
    free(ids);

    /* Oldest first, each run once though named twice. */
    assert_int_equal(runinfo_select(db, mixed, 3, &ids, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 3);
    assert_int_equal(ids[3], 4);
    free(ids);

    assert_int_equal(runinfo_select(db, unknown, 2, &ids, &n, err, sizeof err), 1);
    assert_null(ids);
    assert_non_null(strstr(err, "no run 999"));
    assert_int_equal(runinfo_select(db, nameless, 1, &ids, &n, err, sizeof err), 1);
    assert_non_null(strstr(err, "'nope'"));
}

static void test_runinfo_select_in_an_empty_database(void **state)
{
    char empty[160];
    struct resultdb *edb;
    int64_t *ids;
    size_t n;
    (void)state;
    snprintf(empty, sizeof empty, "%s/empty.db", tmp.dir);
    edb = resultdb_open(empty, false, err, sizeof err);
    assert_non_null(edb);
    assert_int_equal(runinfo_select(edb, NULL, 0, &ids, &n, err, sizeof err), 1);
    assert_non_null(strstr(err, "holds no runs"));
    resultdb_close(edb);
}

static void test_runinfo_load_a_judged_run(void **state)
{
    bool missing;
    struct runinfo *run = runinfo_load(db, 2, &missing, err, sizeof err);
    const struct runinfo_gate *sat = NULL;
    (void)state;
    assert_non_null(run);
    assert_string_equal(run->scenario, "queue-stall");
    assert_string_equal(run->status, "completed");
    assert_true(runinfo_met(run));
    assert_true(run->gates_judged);
    assert_int_equal(run->ngates, report_fixture_gate_count(&report_fixture_runs[1]));
    for (size_t i = 0; i < run->ngates; i++) {
        assert_true(run->gates[i].have_spec);
        if (strcmp(run->gates[i].name, "queue_saturation") == 0)
            sat = &run->gates[i];
    }
    assert_non_null(sat);
    assert_string_equal(sat->outcome, "tripped as expected");
    assert_int_equal(sat->passed, 0);
    assert_true(sat->expected_to_fail);
    assert_int_equal(runinfo_gates_against_expectation(run), 0);
    assert_int_equal(run->nphases, 1);
    assert_string_equal(run->phases[0].fault, "queue.stall");
    assert_true(run->phases[0].off_at == 8.0);
    assert_false(run->phases[0].still_on);
    assert_true(run->measure.present);
    assert_true(run->measure.throughput == 800);
    assert_false(run->warmup.present);
    assert_true(run->steady_from == 2.0 && run->steady_to == 10.0 && run->last_t == 10.0);
    assert_true(run->warmup_s == 2.0 && run->sample_interval_s == 0.25);
    assert_string_equal(run->requests_metric, "orderd_http_requests_total");
    assert_string_equal(run->description, "Fixture run of queue-stall.");
    runinfo_free(run);
    runinfo_free(NULL);
}

static void test_runinfo_unjudged_run_keeps_the_scenario_thresholds(void **state)
{
    bool missing;
    struct runinfo *run = runinfo_load(db, 5, &missing, err, sizeof err);
    (void)state;
    assert_non_null(run);
    assert_string_equal(run->status, "crashed");
    assert_false(runinfo_met(run));
    assert_false(run->gates_judged);
    assert_int_equal(run->ngates, 4);
    assert_string_equal(run->gates[1].name, "p99_latency");
    assert_string_equal(run->gates[1].threshold_text, "< 250ms");
    assert_true(run->gates[1].threshold == 0.25);
    assert_true(isnan(run->gates[1].observed));
    assert_int_equal(run->gates[1].passed, -1);
    assert_string_equal(run->gates[1].outcome, "not judged");
    assert_string_equal(run->gates[1].unit, "s");
    assert_non_null(strstr(run->exit_reason, "out of memory"));
    assert_true(isnan(run->steady_from));
    runinfo_free(run);

    assert_null(runinfo_load(db, 4242, &missing, err, sizeof err));
    assert_true(missing);
    assert_non_null(strstr(err, "no run 4242"));
}

static void test_runinfo_load_the_stored_diagnosis(void **state)
{
    bool missing;
    struct runinfo *run = runinfo_load(db, REPORT_FIXTURE_EVIDENCE_RUN, &missing, err, sizeof err);
    (void)state;
    assert_non_null(run);
    assert_int_equal(run->ndiagnoses, 1);
    assert_string_equal(run->diagnoses[0].class_name, "queue-full");
    assert_string_equal(run->diagnoses[0].culprit, "worker_process_stalled");
    assert_true(run->diagnoses[0].started_at == 4.3);
    assert_true(run->diagnoses[0].confidence == 0.8);
    assert_non_null(strstr(run->diagnoses[0].evidence, "\n4 of 4 busy workers"));
    assert_int_equal(strlen(run->diagnosed_at), strlen("2026-11-28T02:04:47.343Z"));
    runinfo_free(run);

    /* Healthy: one row of class none, with no culprit, start or confidence. */
    run = runinfo_load(db, REPORT_FIXTURE_HEALTHY_RUN, &missing, err, sizeof err);
    assert_non_null(run);
    assert_int_equal(run->ndiagnoses, 1);
    assert_string_equal(run->diagnoses[0].class_name, "none");
    assert_string_equal(run->diagnoses[0].culprit, "");
    assert_true(isnan(run->diagnoses[0].started_at) && isnan(run->diagnoses[0].confidence));
    runinfo_free(run);

    run = runinfo_load(db, 3, &missing, err, sizeof err);
    assert_non_null(run);
    assert_int_equal(run->ndiagnoses, 0);
    runinfo_free(run);
}

static void test_runinfo_database_without_diagnoses(void **state)
{
    char old[160];
    struct resultdb *odb;
    struct runinfo *run;
    int64_t id;
    bool missing;
    (void)state;
    snprintf(old, sizeof old, "%s/schema1.db", tmp.dir);
    odb = resultdb_open(old, false, err, sizeof err);
    assert_non_null(odb);
    assert_int_equal(report_fixture_add_run(odb, &report_fixture_runs[0], &id, err, sizeof err), 0);
    testdb_exec(old, "DROP TABLE diagnoses");
    run = runinfo_load(odb, id, &missing, err, sizeof err);
    assert_non_null(run);
    assert_int_equal(run->ndiagnoses, 0);
    runinfo_free(run);
    resultdb_close(odb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runinfo_select_by_id_scenario_or_all),
        cmocka_unit_test(test_runinfo_select_in_an_empty_database),
        cmocka_unit_test(test_runinfo_load_a_judged_run),
        cmocka_unit_test(test_runinfo_unjudged_run_keeps_the_scenario_thresholds),
        cmocka_unit_test(test_runinfo_load_the_stored_diagnosis),
        cmocka_unit_test(test_runinfo_database_without_diagnoses),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
