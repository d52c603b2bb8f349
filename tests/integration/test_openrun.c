/* Integration tests for the open model in a run: scenarios with [load] rate run end to
 * end by the runner against the real orderd, recorded in a real SQLite file, and read
 * back through the store's reader — every scheduled request accounted for, a stall in
 * the timeline reaching the percentiles and the seconds it covers, drops at
 * max_in_flight, the windowed and dropped_share gates, and abort_on_fail ending a run
 * early with a failed gate's exit code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"
#include "files.h"
#include "loadlab_proc.h"
#include "run/runner.h"
#include "run/scenario.h"
#include "store/openloads.h"
#include "store/resultdb.h"
#include "testdb.h"
#include "tmpdb.h"
#include "units.h"

static char err[2048];
static struct tmpdb tmp;
static char log_root[128], wrk[PATH_MAX];
static struct resultdb *db;
static struct runner_options options;
static struct runner_outcome outcome;

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "openrun-test") < 0)
        return -1;
    tmpdb_file(&tmp, "logs", log_root, sizeof log_root);
    if (cmdline_find_executable("wrk", wrk, sizeof wrk, err, sizeof err) < 0)
        snprintf(wrk, sizeof wrk, "/usr/bin/wrk");  /* not run: these scenarios have a rate */
    db = resultdb_open(tmp.path, false, err, sizeof err);
    if (!db)
        return -1;
    options.label = "test";
    options.git_rev = "0000";
    options.wrk_path = wrk;
    options.log_root = log_root;
    options.signal_fd = runner_signals_open(err, sizeof err);
    return options.signal_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    close(options.signal_fd);
    return tmpdb_remove(&tmp);
}

static long long count(const char *sql, int64_t run_id)
{
    return testdb_int_of_run(tmp.path, sql, run_id);
}

static struct scenario *run_text(const char *text)
{
    struct scenario *sc = scenario_parse(text, strlen(text), "inline.ini", err, sizeof err);
    if (!sc)
        fail_msg("scenario: %s", err);
    if (runner_run(sc, db, &options, &outcome, err, sizeof err) < 0)
        fail_msg("runner: %s", err);
    if (outcome.status != RUNNER_COMPLETED)
        fail_msg("status %d: %s", outcome.status, outcome.reason);
    return sc;
}

static const struct gate_result *gate_named(const char *name)
{
    for (size_t i = 0; i < outcome.ngates; i++)
        if (strcmp(outcome.gates[i].spec->name, name) == 0)
            return &outcome.gates[i];
    fail_msg("no gate %s", name);
    return NULL;
}

/* Every request the schedule held ends as exactly one of completed, error or dropped,
 * in the stage's row and summed over its windows. */
static void assert_accounted(int64_t id)
{
    assert_int_equal(count("SELECT count(*) FROM open_loads WHERE run_id = ?1 AND stage = 'measure' "
                           "AND scheduled > 0 AND scheduled = completed + errors + dropped", id), 1);
    assert_int_equal(count("SELECT (SELECT scheduled FROM open_loads WHERE run_id = ?1 AND stage = 'measure') - "
                           "sum(scheduled) FROM latency_windows WHERE run_id = ?1 AND stage = 'measure'", id), 0);
    assert_int_equal(count("SELECT sum(scheduled) - sum(completed) - sum(errors) - sum(dropped) "
                           "FROM latency_windows WHERE run_id = ?1 AND stage = 'measure'", id), 0);
}

static void test_openrun_records_windows_and_accounts_for_every_request(void **state)
{
    const char *text =
        "[scenario]\nname = open-e2e\nduration = 3s\nwarmup = 1s\nsample_interval = 250ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
        "[load]\nrate = 200/s\nconnections = 8\n"
        "request.read = GET /api/products/7 weight=3\n"
        "request.order = POST /api/orders weight=1 body={\"user_id\":3,\"items\":[{\"product_id\":5,\"qty\":1}]}\n"
        "[gate]\ndropped_share = < 1%\np99_latency.window(2s) = < 5s\nerror_rate = < 5%\n";
    struct scenario *sc = run_text(text);
    int64_t id = outcome.run_id;
    struct openloads_window *w;
    size_t n;
    double p99, stored_p99;
    uint64_t merged;
    (void)state;

    if (!outcome.met)
        fail_msg("unmet: %s", outcome.reason);
    assert_int_equal(gate_named("dropped_share")->verdict, GATE_PASS);
    assert_int_equal(gate_named("p99_latency.window(2s)")->verdict, GATE_PASS);
    assert_accounted(id);
    /* a constant 200/s over 3s: 600 scheduled, give or take the last tick */
    assert_true(count("SELECT scheduled FROM open_loads WHERE run_id = ?1 AND stage = 'measure'", id) >= 595);
    assert_true(count("SELECT scheduled FROM open_loads WHERE run_id = ?1 AND stage = 'measure'", id) <= 601);
    assert_int_equal(count("SELECT count(*) FROM open_loads WHERE run_id = ?1 AND stage = 'warmup'", id), 1);
    /* wrk's figures are there too: throughput is the achieved rate */
    assert_int_equal(count("SELECT count(*) FROM load_results l JOIN open_loads o ON o.run_id = l.run_id AND "
                           "o.stage = l.stage WHERE l.run_id = ?1 AND l.stage = 'measure' AND "
                           "abs(l.throughput - o.achieved_rate) < 1e-6 AND l.requests = o.completed", id), 1);
    /* the windows, through the store's reader */
    assert_int_equal(openloads_windows(db, id, "measure", &w, &n, err, sizeof err), 0);
    assert_true(n >= 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(w[i].second, (int64_t)i);
        assert_true(w[i].scheduled >= 195 && w[i].scheduled <= 205);
        assert_non_null(w[i].latency);
    }
    openloads_windows_free(w, n);
    /* the merged windows give the stage's own p99 exactly: the same latencies */
    assert_int_equal(openloads_percentile(db, &id, 1, "measure", 0, INT64_MAX, 99, &p99, &merged, err, sizeof err),
                     0);
    stored_p99 = testdb_real(tmp.path, "SELECT p99_s FROM open_loads WHERE stage = 'measure' ORDER BY run_id DESC");
    assert_true(fabs(p99 - stored_p99) < 1e-9);
    assert_int_equal((long long)merged, count("SELECT completed FROM open_loads WHERE run_id = ?1 AND "
                                              "stage = 'measure'", id));
    scenario_free(sc);
}

static void test_openrun_stall_reaches_the_p99_and_its_windows(void **state)
{
    /* two workers at 50ms a job take 40 orders/s; 240 arrive: from t=2s to t=4s the
     * producers block for room (queue.block), so every request scheduled then waits */
    const char *text =
        "[scenario]\nname = open-stall\nduration = 6s\nsample_interval = 250ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --workers 2 --queue-capacity 16 --payment-latency 1ms "
        "--io-threads 1 --log-level warn\nfault = queue.block=on\n"
        "[load]\nrate = 300/s\nconnections = 16\ntimeout = 10s\n"
        "request.order = POST /api/orders weight=4 body={\"user_id\":3,\"items\":[{\"product_id\":5,\"qty\":1}]}\n"
        "request.read = GET /api/products/7 weight=1\n"
        "[phase.stall]\nat = 2s\nuntil = 4s\nfault = queue.stall=on(50ms)\n"
        "[gate]\np99_latency.window(1s) = < 100ms\ndropped_share = < 0.1%\n";
    struct scenario *sc = run_text(text);
    int64_t id = outcome.run_id;
    double before, during, started;
    uint64_t n;
    (void)state;

    assert_accounted(id);
    /* a 2s stall: the p99 holds a good part of it, not one 50ms job */
    if (!(outcome.load.latency_p99 >= 0.5))
        fail_msg("p99 %.3fs with a 2s stall", outcome.load.latency_p99);
    assert_int_equal(gate_named("p99_latency.window(1s)")->verdict, GATE_FAIL);
    assert_int_equal(gate_named("dropped_share")->verdict, GATE_PASS);
    /* the windows show it where it was: the first second (a second before the phase)
     * is fast, the seconds the stall covers are slow */
    started = testdb_real(tmp.path, "SELECT started_at FROM open_loads WHERE stage = 'measure' ORDER BY run_id DESC");
    assert_true(started < 1.0);
    assert_int_equal(openloads_percentile(db, &id, 1, "measure", 0, 0, 99, &before, &n, err, sizeof err), 0);
    assert_true(n > 100);
    assert_int_equal(openloads_percentile(db, &id, 1, "measure", 2, 4, 99, &during, &n, err, sizeof err), 0);
    assert_true(n > 0);
    if (!(before < 0.1 && during >= 0.5))
        fail_msg("p99 of second 0: %.3fs, of seconds 2-4: %.3fs", before, during);
    scenario_free(sc);
}

static void test_openrun_counts_drops_at_max_in_flight(void **state)
{
    /* one connection, one request out at most, 20ms a request: 50/s served of 200/s */
    const char *text =
        "[scenario]\nname = open-drops\nduration = 2s\nsample_interval = 250ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\nfault = slow=on(20ms)\n"
        "[load]\nrate = 200/s\nconnections = 1\nmax_in_flight = 1\npath = /api/products/3\n"
        "[gate]\ndropped_share = < 0.1%\n[expect]\nfail = dropped_share\n";
    struct scenario *sc = run_text(text);
    int64_t id = outcome.run_id;
    (void)state;

    if (!outcome.met)
        fail_msg("unmet: %s", outcome.reason);
    assert_accounted(id);
    assert_true(count("SELECT dropped FROM open_loads WHERE run_id = ?1 AND stage = 'measure'", id) >= 200);
    assert_true(count("SELECT completed FROM open_loads WHERE run_id = ?1 AND stage = 'measure'", id) >= 20);
    assert_true(count("SELECT count(*) FROM latency_windows WHERE run_id = ?1 AND dropped > 0", id) >= 2);
    assert_true(gate_named("dropped_share")->observed > 0.3);
    scenario_free(sc);
}

static void test_openrun_abort_on_fail_ends_early_with_a_failed_gate_exit(void **state)
{
    char scenario[200], out[200];
    int64_t started = units_now_ns();
    double wall;
    (void)state;

    snprintf(scenario, sizeof scenario, "%s/abort.ini", tmp.dir);
    snprintf(out, sizeof out, "%s/abort.out", tmp.dir);
    assert_int_equal(files_write(scenario, "[scenario]\nname = abort\nduration = 20s\nsample_interval = 250ms\n"
                                           "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
                                           "fault = slow=on(20ms)\n"
                                           "[load]\nrate = 200/s\nconnections = 1\nmax_in_flight = 1\n"
                                           "path = /api/products/3\n"
                                           "[gate]\ndropped_share = < 0.1% abort_on_fail\n"),
                     0);
    assert_int_equal(loadlab_proc_run((const char *[]){"run", "--db", tmp.path, scenario, NULL}, NULL, out, 120),
                     99);
    wall = (double)(units_now_ns() - started) / 1e9;
    if (wall > 15)
        fail_msg("a 20s load lost in its first seconds ran %.1fs", wall);
    assert_true(testdb_real(tmp.path, "SELECT duration_s FROM open_loads WHERE stage = 'measure' ORDER BY run_id "
                                      "DESC") < 10);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM runs WHERE scenario = 'abort' AND verdict = 'unmet' "
                                          "AND exit_reason LIKE '%dropped_share already lost%abort_on_fail%'"),
                     1);
    assert_int_equal(testdb_int(tmp.path, "SELECT count(*) FROM gates g JOIN runs r ON r.id = g.run_id WHERE "
                                          "r.scenario = 'abort' AND g.name = 'dropped_share' AND g.passed = 0"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openrun_records_windows_and_accounts_for_every_request),
        cmocka_unit_test(test_openrun_stall_reaches_the_p99_and_its_windows),
        cmocka_unit_test(test_openrun_counts_drops_at_max_in_flight),
        cmocka_unit_test(test_openrun_abort_on_fail_ends_early_with_a_failed_gate_exit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
