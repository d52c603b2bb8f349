/* Unit tests for the store's run readers (runs) and the drills table (drills): the
 * latest runs, selections by scenario and label, the params a scenario last ran
 * with, and drills written and read back — on a real SQLite file. */
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

#include "runs_fixture.h"
#include "store/drills.h"
#include "store/runs.h"
#include "testdb.h"
#include "tmpdb.h"

static struct tmpdb tmp;
static char err[512];
static struct resultdb *db;

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "runs-test") < 0)
        return -1;
    db = resultdb_open(tmp.path, false, err, sizeof err);
    return db ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

struct listed {
    int n;
    int64_t ids[8];
    double throughput[8];
    char status[8][16];
};

static void remember(void *user, const struct runs_overview *row)
{
    struct listed *l = user;
    assert_true(l->n < 8);
    l->ids[l->n] = row->id;
    l->throughput[l->n] = row->throughput;
    snprintf(l->status[l->n++], sizeof l->status[0], "%s", row->status);
}

static void test_runs_latest_are_listed_oldest_first(void **state)
{
    struct listed l = {0};
    (void)state;
    runs_fixture_add(db, "a", "v1", 1000, 0.005, NULL);
    runs_fixture_add(db, "b", "v1", 2000, 0.005, NULL);
    runs_fixture_add_aborted(db, "a", "v2");
    assert_int_equal(runs_latest(db, 2, remember, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[0], 2);
    assert_int_equal(l.ids[1], 3);
    assert_float_equal(l.throughput[0], 2000, 1e-6);
    assert_true(isnan(l.throughput[1]));  /* aborted: no wrk result */
    assert_string_equal(l.status[1], "aborted");
    memset(&l, 0, sizeof l);
    assert_int_equal(runs_latest(db, 100, remember, &l, err, sizeof err), 0);
    assert_int_equal(l.n, 3);
}

static void test_runs_ids_select_by_scenario_and_stop_when_full(void **state)
{
    int64_t ids[3];
    size_t n = 0;
    bool full;
    (void)state;
    for (int i = 0; i < 2; i++) {
        runs_fixture_add(db, "a", "v1", 1000, 0.005, NULL);
        runs_fixture_add(db, "b", "v1", 1000, 0.005, NULL);
    }
    assert_int_equal(runs_ids(db, "b", ids, &n, 3, &full, err, sizeof err), 2);
    assert_false(full);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 4);
    assert_int_equal(runs_ids(db, "nothing", ids, &n, 3, &full, err, sizeof err), 0);
    assert_int_equal(runs_ids(db, NULL, ids, &n, 3, &full, err, sizeof err), -1);
    assert_true(full);
    assert_int_equal(n, 3);
    assert_int_equal(runs_exists(db, 4, err, sizeof err), 1);
    assert_int_equal(runs_exists(db, 5, err, sizeof err), 0);
}

static void test_runs_latest_params_and_label_scenarios_count_completed_runs_only(void **state)
{
    char *params = NULL, names[4][RUNS_MAX_NAME];
    size_t n;
    (void)state;
    runs_fixture_add(db, "b", "main", 1000, 0.005, "{\"v\":1}");
    runs_fixture_add(db, "a", "main", 1000, 0.005, "{\"v\":2}");
    runs_fixture_add(db, "b", "main", 1000, 0.005, "{\"v\":3}");
    runs_fixture_add_aborted(db, "b", "main");
    runs_fixture_add_aborted(db, "c", "main");
    assert_int_equal(runs_latest_params(db, "b", "main", &params, err, sizeof err), 0);
    assert_string_equal(params, "{\"v\":3}");
    free(params);
    assert_int_equal(runs_latest_params(db, "b", "other", &params, err, sizeof err), 0);
    assert_null(params);
    assert_int_equal(runs_label_scenarios(db, "main", names, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);  /* c never completed */
    assert_string_equal(names[0], "b");
    assert_string_equal(names[1], "a");
}

struct drills_seen {
    int n;
    char answers[4][64];
    bool scored[4];
    double score[4], time_s[4];
    int64_t run_id[4];
};

static void remember_drill(void *user, const struct drills_record *d)
{
    struct drills_seen *s = user;
    assert_true(s->n < 4);
    snprintf(s->answers[s->n], sizeof s->answers[0], "%s", d->answer ? d->answer : "(null)");
    s->scored[s->n] = d->scored;
    s->score[s->n] = d->score;
    s->time_s[s->n] = d->time_s;
    s->run_id[s->n++] = d->run_id;
}

static void test_drills_written_and_read_back(void **state)
{
    int64_t run = runs_fixture_add(db, "drill", "drill", 1000, 0.005, NULL), id1, id2;
    struct drills_record scored = {.run_id = run, .trainee = "ann", .level = 1, .seed = 7, .truth = "[]",
                                   .answer = "healthy", .status = "answered", .scored = true, .detected = 1,
                                   .score = 100, .time_s = NAN};
    struct drills_record aborted = {.trainee = "bo", .level = 2, .seed = 8, .truth = "[]", .status = "aborted",
                                    .time_s = 12.5};
    struct drills_seen all = {0}, ann = {0};
    (void)state;
    assert_int_equal(drills_record(db, &scored, &id1, err, sizeof err), 0);
    assert_int_equal(drills_record(db, &aborted, &id2, err, sizeof err), 0);
    assert_true(id2 > id1);
    assert_int_equal(drills_foreach(db, NULL, remember_drill, &all, err, sizeof err), 0);
    assert_int_equal(all.n, 2);
    assert_string_equal(all.answers[0], "healthy");
    assert_true(all.scored[0] && all.score[0] == 100 && isnan(all.time_s[0]));
    assert_int_equal(all.run_id[0], run);
    assert_string_equal(all.answers[1], "(null)");
    assert_true(!all.scored[1] && isnan(all.score[1]) && all.time_s[1] == 12.5);
    assert_int_equal(all.run_id[1], 0);
    assert_int_equal(drills_foreach(db, "ann", remember_drill, &ann, err, sizeof err), 0);
    assert_int_equal(ann.n, 1);

    testdb_exec(tmp.path, "DROP TABLE drills");
    assert_int_equal(drills_foreach(db, NULL, remember_drill, &ann, err, sizeof err), 1);
    assert_int_equal(ann.n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runs_latest_are_listed_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_ids_select_by_scenario_and_stop_when_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_latest_params_and_label_scenarios_count_completed_runs_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_drills_written_and_read_back, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
