/* Integration tests for runner: short scenarios end to end with the real orderd and
 * wrk (and, for "any service", the canned test server), checked in the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canned_http.h"
#include "base/cmdline.h"
#include "curl_client.h"
#include "orderd_proc.h"
#include "tmpdb.h"
#include "store/resultdb.h"
#include "run/runner.h"
#include "run/scenario.h"
#include "testdb.h"

static char err[2048];
static struct tmpdb tmp;
static char log_root[128], wrk[PATH_MAX];
static struct resultdb *db;
static struct runner_options options;
static struct runner_outcome outcome;

static int setup(void **state)
{
    (void)state;
    if (tmpdb_make(&tmp, "runner-test") < 0)
        return -1;
    tmpdb_file(&tmp, "logs", log_root, sizeof log_root);
    if (cmdline_find_executable("wrk", wrk, sizeof wrk, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
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

/* Parses a scenario from text and runs it; the outcome is in `outcome`. */
static struct scenario *run_text(const char *text)
{
    struct scenario *sc = scenario_parse(text, strlen(text), "inline.ini", err, sizeof err);
    if (!sc)
        fail_msg("scenario: %s", err);
    if (runner_check_service_binary(sc, err, sizeof err) < 0)
        fail_msg("%s", err);
    if (runner_run(sc, db, &options, &outcome, err, sizeof err) < 0)
        fail_msg("runner: %s", err);
    return sc;
}

static void test_runner_records_every_table(void **state)
{
    const char *text =
        "[scenario]\nname = e2e\nduration = 3s\nwarmup = 1s\nsample_interval = 200ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
        "[load]\nconnections = 4\nscript = scenarios/lua/mix.lua\n"
        "[phase.blip]\nat = 1500ms\nuntil = 2500ms\nfault = leak.memory=on(64)\n"
        "[gate]\nthroughput = > 50/s\nerror_rate = < 5%\nthread_growth = < 5/s\n"
        "queue_saturation = < 50%\nmutex_wait_share = < 0.5\n";
    struct scenario *sc = run_text(text);
    int64_t id = outcome.run_id;
    char path[PATH_MAX + 64];
    struct stat st;
    (void)state;

    if (outcome.status != RUNNER_COMPLETED || !outcome.met)
        fail_msg("status %d met %d: %s", outcome.status, outcome.met, outcome.reason);
    assert_int_equal(outcome.ngates, 5);
    for (size_t i = 0; i < outcome.ngates; i++)
        assert_int_equal(outcome.gates[i].verdict, GATE_PASS);
    assert_true(outcome.have_load && outcome.load.requests > 50);
    assert_int_equal(count("SELECT count(*) FROM runs WHERE id = ?1 AND status = 'completed' AND verdict = 'met' "
                           "AND ended_at IS NOT NULL AND service_pid > 0 AND steady_to > steady_from", id), 1);
    /* switched on and off at their times, give or take a scheduling delay */
    if (count("SELECT count(*) FROM phases WHERE run_id = ?1 AND fault = 'leak.memory' "
              "AND on_at BETWEEN 1.4 AND 1.8 AND off_at BETWEEN 2.4 AND 2.8", id) != 1)
        fail_msg("phase blip on at %.3fs, off at %.3fs (asked 1.5s and 2.5s)",
                 testdb_real(tmp.path, "SELECT min(on_at) FROM phases WHERE fault = 'leak.memory'"),
                 testdb_real(tmp.path, "SELECT min(off_at) FROM phases WHERE fault = 'leak.memory'"));
    assert_true(count("SELECT count(DISTINCT t) FROM samples WHERE run_id = ?1", id) >= 15);
    assert_true(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'orderd_queue_depth'", id) >= 15);
    assert_true(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'loadlab_proc_threads'", id) >= 15);
    assert_int_equal(count("SELECT count(*) FROM load_results WHERE run_id = ?1 AND requests > 0", id), 2);
    assert_true(count("SELECT count(*) FROM windows WHERE run_id = ?1 AND throughput > 0", id) >= 2);
    assert_int_equal(count("SELECT count(*) FROM gates WHERE run_id = ?1 AND passed = 1", id), 5);
    snprintf(path, sizeof path, "%s/run-%lld/service.log", log_root, (long long)id);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/run-%lld/wrk-measure.json", log_root, (long long)id);
    assert_int_equal(stat(path, &st), 0);
    scenario_free(sc);
}

static void test_runner_fault_trips_expected_gate(void **state)
{
    const char *text =
        "[scenario]\nname = leak\nduration = 3s\nsample_interval = 200ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\nfault = leak.threads=on\n"
        "[load]\nconnections = 4\nscript = scenarios/lua/orders.lua\n"
        "[gate]\nthread_growth = < 0.5/s\nfd_growth = < 5/s\n"
        "[expect]\nfail = thread_growth\n";
    struct scenario *sc = run_text(text);
    (void)state;
    if (outcome.status != RUNNER_COMPLETED)
        fail_msg("%s", outcome.reason);
    assert_int_equal(outcome.gates[0].verdict, GATE_FAIL);
    assert_true(outcome.gates[0].expected_to_fail);
    assert_true(outcome.gates[0].observed > 5);
    assert_int_equal(outcome.gates[1].verdict, GATE_PASS);
    assert_true(outcome.met);
    assert_int_equal(count("SELECT count(*) FROM phases WHERE run_id = ?1 AND phase = 'service' "
                           "AND term = 'on' AND on_at < 0.5 AND off_at >= 3", outcome.run_id), 1);
    assert_int_equal(count("SELECT count(*) FROM gate_verdicts WHERE run_id = ?1 AND outcome = 'tripped as expected'",
                           outcome.run_id), 1);
    scenario_free(sc);
}

static void test_runner_unexpected_failure_is_unmet(void **state)
{
    const char *text =
        "[scenario]\nduration = 1s\nsample_interval = 100ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
        "[load]\nconnections = 2\npath = /api/products/7\n"
        "[gate]\nthroughput = > 100000000\n";
    struct scenario *sc = run_text(text);
    (void)state;
    assert_int_equal(outcome.status, RUNNER_COMPLETED);
    assert_int_equal(outcome.gates[0].verdict, GATE_FAIL);
    assert_false(outcome.met);
    assert_int_equal(count("SELECT count(*) FROM runs WHERE id = ?1 AND verdict = 'unmet'", outcome.run_id), 1);
    scenario_free(sc);
}

static void test_runner_service_given_by_url(void **state)
{
    struct orderd_proc p;
    struct curl_client_result faults;
    char text[2048], url[128];
    struct scenario *sc;
    (void)state;
    assert_int_equal(orderd_proc_start(&p, NULL, NULL), 0);
    snprintf(text, sizeof text,
             "[scenario]\nduration = 2s\nsample_interval = 100ms\n"
             "[service]\nurl = http://127.0.0.1:%d\nmetrics = http://127.0.0.1:%d/metrics\npid = %d\n"
             "fault = slow=on(10us)\n"
             "[load]\nconnections = 2\nscript = scenarios/lua/products.lua\n"
             "[gate]\nrss_growth = < 10MB/s\nmetric.orderd_fault_active{fault=\"slow\"}.mean = >= 1\n",
             p.public_port, p.debug_port, (int)p.pid);
    sc = run_text(text);
    if (outcome.status != RUNNER_COMPLETED || !outcome.met)
        fail_msg("status %d: %s", outcome.status, outcome.reason);
    /* /proc of the given pid was sampled, and the fault loadlab set was cleared again */
    assert_true(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'loadlab_proc_resident_memory_bytes'",
                      outcome.run_id) >= 10);
    assert_int_equal(count("SELECT count(*) FROM phases WHERE run_id = ?1 AND off_at IS NOT NULL", outcome.run_id), 1);
    assert_int_equal(kill(p.pid, 0), 0);
    orderd_proc_url(&p, true, "/debug/faults", url, sizeof url);
    assert_int_equal(curl_client_request("GET", url, NULL, 0, NULL, 2000, &faults), 0);
    assert_non_null(strstr(faults.body, "\"name\": \"slow\",\n      \"on\": false"));
    curl_client_free(&faults);
    orderd_proc_stop(&p, SIGTERM, 5000);
    scenario_free(sc);
}

static void test_runner_spawned_service_on_placeholder_ports(void **state)
{
    const char *text =
        "[scenario]\nduration = 1s\nsample_interval = 100ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --listen 127.0.0.1:{port} "
        "--debug-listen 127.0.0.1:{debug_port} --log-level warn\nfault = slow=on(10us)\n"
        "[load]\nconnections = 1\npath = /api/products/3\n"
        "[gate]\nerror_rate = < 1%\nmetric.orderd_fault_active{fault=\"slow\"}.max = >= 1\n";
    struct scenario *sc = run_text(text);
    (void)state;
    if (outcome.status != RUNNER_COMPLETED || !outcome.met)
        fail_msg("status %d: %s", outcome.status, outcome.reason);
    assert_true(outcome.load.requests > 10);
    scenario_free(sc);
}

static const struct canned_http_route generic_routes[] = {
    {"/", 200, "hello from some other service\n", 1},
    {"/metrics", 200,
     "# TYPE process_threads gauge\nprocess_threads 7\n"
     "# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 5\n", 1},
    {NULL, 0, NULL, 0},
};

static void test_runner_any_service_gated_on_its_own_metrics(void **state)
{
    struct canned_http *server = canned_http_start(generic_routes);
    char text[2048];
    struct scenario *sc;
    int port;
    (void)state;
    assert_non_null(server);
    port = canned_http_port(server);

    /* an orderd-only gate on a service without orderd's metrics: an error naming it */
    snprintf(text, sizeof text,
             "[scenario]\nduration = 1s\nsample_interval = 100ms\n"
             "[service]\nurl = http://127.0.0.1:%d\nmetrics = http://127.0.0.1:%d/metrics\n"
             "ready = http://127.0.0.1:%d/metrics\n"
             "[load]\nconnections = 1\n[gate]\nqueue_saturation = < 10%%\n", port, port, port);
    sc = run_text(text);
    assert_int_equal(outcome.status, RUNNER_ABORTED);
    assert_non_null(strstr(outcome.reason, "orderd_queue_depth"));
    assert_false(outcome.judged);
    scenario_free(sc);

    /* generic gates work; a metric gate with no data is an error, not a pass */
    snprintf(text, sizeof text,
             "[scenario]\nduration = 1s\nsample_interval = 100ms\n"
             "[service]\nurl = http://127.0.0.1:%d\nmetrics = http://127.0.0.1:%d/metrics\n"
             "ready = http://127.0.0.1:%d/metrics\nrequests_metric = http_requests_total\n"
             "[load]\nconnections = 1\n"
             "[gate]\nmetric.process_threads.max = <= 7\nerror_rate = < 1%%\nmetric.no_such_metric.last = < 1\n",
             port, port, port);
    sc = run_text(text);
    assert_int_equal(outcome.status, RUNNER_COMPLETED);
    assert_int_equal(outcome.gates[0].verdict, GATE_PASS);
    assert_float_equal(outcome.gates[0].observed, 7, 0);
    assert_int_equal(outcome.gates[1].verdict, GATE_PASS);
    assert_int_equal(outcome.gates[2].verdict, GATE_ERROR);
    assert_non_null(strstr(outcome.gates[2].detail, "no_such_metric"));
    assert_false(outcome.met);
    scenario_free(sc);
    canned_http_stop(server);
}

static void test_runner_service_that_dies_is_crashed(void **state)
{
    const char *text =
        "[scenario]\nduration = 2s\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --no-such-flag\n"
        "[load]\nconnections = 1\n";
    struct scenario *sc = run_text(text);
    (void)state;
    assert_int_equal(outcome.status, RUNNER_CRASHED);
    assert_non_null(strstr(outcome.reason, "exited with status"));
    assert_int_equal(count("SELECT count(*) FROM runs WHERE id = ?1 AND status = 'crashed' AND exit_reason LIKE "
                           "'%exited with status%'", outcome.run_id), 1);
    scenario_free(sc);
}

static void test_runner_wrk_failure_aborts(void **state)
{
    char script[] = "/tmp/runner-bad-XXXXXX.lua", text[1024];
    int fd = mkstemps(script, 4);
    struct scenario *sc;
    (void)state;
    assert_true(fd >= 0);
    assert_true(write(fd, "this is not lua (\n", 18) == 18);
    close(fd);
    snprintf(text, sizeof text,
             "[scenario]\nduration = 2s\n[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
             "[load]\nconnections = 1\nscript = %s\n", script);
    sc = run_text(text);
    unlink(script);
    assert_int_equal(outcome.status, RUNNER_ABORTED);
    assert_non_null(strstr(outcome.reason, "wrk"));
    assert_int_equal(count("SELECT count(*) FROM runs WHERE id = ?1 AND status = 'aborted'", outcome.run_id), 1);
    scenario_free(sc);
}

/* The run hook: what it saw at each moment. */
struct hook_log {
    int calls[RUNNER_AT_END + 1];
    bool measured_tick, ready_at_load_end, judged_at_end;
};

static enum runner_hook_answer record_moment(void *user, enum runner_moment moment, const struct runner_view *v)
{
    struct hook_log *log = user;
    struct httpclient_response resp;
    char url[1100];

    log->calls[moment]++;
    if (moment == RUNNER_AT_LOAD_END) {
        /* The service is still up, with its debug API, when the load is over. */
        snprintf(url, sizeof url, "%s/readyz", v->debug_base);
        log->ready_at_load_end = httpclient_request(v->http, "GET", url, NULL, 1000, 4096, &resp, err, sizeof err) == 0 &&
                                 resp.status == 200;
    }
    if (moment == RUNNER_AT_END)
        log->judged_at_end = v->out->judged && v->out->ngates == 1;
    if (moment == RUNNER_AT_TICK && v->measuring && v->t >= 2.0) {
        log->measured_tick = true;
        return RUNNER_HOOK_END_LOAD;
    }
    return RUNNER_HOOK_CONTINUE;
}

static void test_runner_hook_sees_each_moment_and_can_end_the_load(void **state)
{
    const char *text =
        "[scenario]\nname = hooked\nduration = 20s\nwarmup = 1s\nsample_interval = 200ms\n"
        "[service]\ncommand = ${ORDERD_BIN:-build/orderd} --log-level warn\n"
        "[load]\nconnections = 2\nscript = scenarios/lua/mix.lua\n"
        "[gate]\nthroughput = > 10/s\n";
    struct hook_log log = {0};
    struct scenario *sc;
    (void)state;

    options.hook = record_moment;
    options.hook_user = &log;
    sc = run_text(text);
    options.hook = NULL;
    options.hook_user = NULL;
    if (outcome.status != RUNNER_COMPLETED || !outcome.met)
        fail_msg("status %d met %d: %s", outcome.status, outcome.met, outcome.reason);
    /* Ended at about t=2s of a 21s load, and wrk still reported what it measured. */
    assert_true(outcome.wall_s < 8);
    assert_true(outcome.have_load && outcome.load.requests > 10);
    assert_int_equal(log.calls[RUNNER_AT_START], 1);
    assert_true(log.calls[RUNNER_AT_TICK] >= 5);
    assert_int_equal(log.calls[RUNNER_AT_LOAD_END], 1);
    assert_int_equal(log.calls[RUNNER_AT_END], 1);
    assert_true(log.measured_tick);
    assert_true(log.ready_at_load_end);
    assert_true(log.judged_at_end);
    scenario_free(sc);
}

static void test_runner_missing_service_binary_named(void **state)
{
    const char *text = "[scenario]\nduration = 1s\n[service]\ncommand = build/no-such-orderd --x\n";
    struct scenario *sc = scenario_parse(text, strlen(text), "s.ini", err, sizeof err);
    (void)state;
    assert_non_null(sc);
    assert_int_equal(runner_check_service_binary(sc, err, sizeof err), -1);
    assert_non_null(strstr(err, "s.ini:4:"));
    assert_non_null(strstr(err, "build/no-such-orderd"));
    scenario_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runner_records_every_table),
        cmocka_unit_test(test_runner_fault_trips_expected_gate),
        cmocka_unit_test(test_runner_unexpected_failure_is_unmet),
        cmocka_unit_test(test_runner_service_given_by_url),
        cmocka_unit_test(test_runner_spawned_service_on_placeholder_ports),
        cmocka_unit_test(test_runner_any_service_gated_on_its_own_metrics),
        cmocka_unit_test(test_runner_service_that_dies_is_crashed),
        cmocka_unit_test(test_runner_wrk_failure_aborts),
        cmocka_unit_test(test_runner_hook_sees_each_moment_and_can_end_the_load),
        cmocka_unit_test(test_runner_missing_service_binary_named),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
