/* Integration test for gating a fleet through Prometheus: three real orderd replicas
 * on loopback ports, a real Prometheus (the Debian package) scraping them every
 * second, and loadlab reading the fleet's samples from Prometheus' API while one wrk
 * loads each replica (`url` as a list). Only the second replica leaks threads. The thread-growth gate
 * must trip on the worst replica and name it, while the fleet's samples are stored per
 * instance. Then what Prometheus itself gets wrong: nobody answering, and a target
 * going down mid-run. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "base/childproc.h"
#include "diagnose/diagnose.h"
#include "base/cmdline.h"
#include "orderd_proc.h"
#include "free_port.h"
#include "prometheus_proc.h"
#include "run/capture.h"
#include "run/runner.h"
#include "run/scenario.h"
#include "store/resultdb.h"
#include "testdb.h"
#include "tmpdb.h"

#define REPLICAS 3
#define LEAKING 1   /* the replica with leak.threads on */

static char err[2048];
static struct tmpdb tmp;
static char log_root[128], wrk[PATH_MAX];
static struct resultdb *db;
static struct runner_options options;
static struct runner_outcome outcome;
static struct orderd_proc replica[REPLICAS];
static struct prometheus_proc prom;
static char instance[REPLICAS][64];

static int setup(void **state)
{
    const char *args[] = {"--workers", "4", "--queue-capacity", "256", "--payment-latency", "2ms",
                          "--log-level", "warn", NULL};
    const char *targets[REPLICAS];
    (void)state;

    if (tmpdb_make(&tmp, "fleet-test") < 0)
        return -1;
    tmpdb_file(&tmp, "logs", log_root, sizeof log_root);
    if (cmdline_find_executable("wrk", wrk, sizeof wrk, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    for (int i = 0; i < REPLICAS; i++) {
        if (orderd_proc_start(&replica[i], args, i == LEAKING ? "leak.threads=5%on" : NULL) < 0)
            return -1;
        snprintf(instance[i], sizeof instance[i], "127.0.0.1:%d", replica[i].debug_port);
        targets[i] = instance[i];
    }
    if (prometheus_proc_start(&prom, "orderd", targets, REPLICAS) < 0 ||
        prometheus_proc_wait_up(&prom, "orderd", REPLICAS, 30) < 0)
        return -1;
    if (!(db = resultdb_open(tmp.path, false, err, sizeof err)))
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
    int rc = 0;
    (void)state;
    resultdb_close(db);
    close(options.signal_fd);
    if (prometheus_proc_stop(&prom) < 0)
        rc = -1;
    for (int i = 0; i < REPLICAS; i++)
        if (replica[i].pid > 0)
            orderd_proc_stop(&replica[i], 15, 5000);
    return tmpdb_remove(&tmp) < 0 ? -1 : rc;
}

static long long count(const char *sql, int64_t run_id)
{
    return testdb_int_of_run(tmp.path, sql, run_id);
}

/* The scenario text for the fleet: one wrk on each replica, samples from prom_url. */
static struct scenario *fleet_scenario(const char *prom_url, const char *extra, const char *duration)
{
    char text[2048];
    struct scenario *sc;
    snprintf(text, sizeof text,
             "[scenario]\nname = fleet\nduration = %s\nwarmup = 1s\nsample_interval = 1s\n"
             "[service]\nurl = http://127.0.0.1:%d, http://127.0.0.1:%d, http://127.0.0.1:%d\n"
             "prometheus = %s\nselector = {job=\"orderd\"}\n"
             "[load]\nconnections = 9\nthreads = 3\nscript = scenarios/lua/orders.lua\n"
             "[gate]\nthread_growth = < 0.5/s\nerror_rate = < 5%%\n%s",
             duration, replica[0].public_port, replica[1].public_port, replica[2].public_port, prom_url, extra);
    if (!(sc = scenario_parse(text, strlen(text), "fleet.ini", err, sizeof err)))
        fail_msg("scenario: %s", err);
    return sc;
}

static void test_fleet_gate_names_the_leaking_replica(void **state)
{
    struct scenario *sc = fleet_scenario(prom.url,
                                         "metric.loadlab_fleet_latency_seconds{quantile=\"0.99\"}.last = < 10s\n"
                                         "[expect]\nfail = thread_growth\n", "6s");
    struct stat st;
    char path[PATH_MAX + 64];
    (void)state;

    struct runner_options capturing = options;
    struct capture *cap = capture_new(false);
    assert_non_null(cap);
    capturing.hook = capture_hook;
    capturing.hook_user = cap;
    if (runner_run(sc, db, &capturing, &outcome, err, sizeof err) < 0)
        fail_msg("runner: %s", err);
    if (capture_problems(cap)[0])
        printf("capture: %s\n", capture_problems(cap));
    capture_free(cap);
    if (outcome.status != RUNNER_COMPLETED)
        fail_msg("status %d: %s", outcome.status, outcome.reason);
    assert_int_equal(outcome.gates[0].verdict, GATE_FAIL);
    assert_non_null(strstr(outcome.gates[0].detail, "worst of 3 instances"));
    if (!strstr(outcome.gates[0].detail, instance[LEAKING]))
        fail_msg("the gate names '%s', not the leaking replica %s", outcome.gates[0].detail, instance[LEAKING]);
    assert_int_equal(outcome.gates[1].verdict, GATE_PASS);
    /* the fleet's p99 from the replicas' summed histogram buckets, gated as a metric */
    if (outcome.gates[2].verdict != GATE_PASS)
        fail_msg("fleet p99 gate: %s", outcome.gates[2].detail);
    assert_true(outcome.gates[2].observed > 0 && outcome.gates[2].observed < 10);
    assert_true(outcome.met);  /* thread_growth was expected to fail */

    /* one wrk on each replica, their counts summed into the run's load */
    int64_t id = outcome.run_id;
    long long parts = 0;
    for (int k = 1; k <= REPLICAS; k++) {
        snprintf(path, sizeof path, "%s/run-%lld/wrk-measure-%d.json", log_root, (long long)id, k);
        parts += stat(path, &st) == 0;
    }
    assert_int_equal(parts, REPLICAS);
    assert_true(outcome.load.requests > 0);
    assert_int_equal(count("SELECT requests FROM load_results WHERE run_id = ?1 AND stage = 'measure'", id),
                     (long long)outcome.load.requests);
    /* each replica served orders: its request counter rose (read per instance from Prometheus) */
    assert_int_equal(count("SELECT count(DISTINCT labels) FROM samples WHERE run_id = ?1 "
                           "AND metric = 'process_threads' AND labels LIKE '%instance=%'", id), REPLICAS);
    /* the run's settings name the replicas and the Prometheus they were read from */
    assert_int_equal(count("SELECT count(*) FROM runs WHERE id = ?1 AND json_extract(params, '$.service.selector') "
                           "= '{job=\"orderd\"}' AND json_array_length(params, '$.service.targets') = 3", id), 1);
    /* the fleet's request counter rises in the throughput windows (summed over replicas) */
    assert_true(count("SELECT count(*) FROM windows WHERE run_id = ?1 AND throughput > 0", id) >= 2);
    /* how late Prometheus' data is: recorded per instance, under two scrape intervals */
    double age = testdb_real(tmp.path, "SELECT avg(value) FROM samples WHERE metric = "
                                       "'loadlab_prometheus_sample_age_seconds'");
    double worst = testdb_real(tmp.path, "SELECT max(value) FROM samples WHERE metric = "
                                         "'loadlab_prometheus_sample_age_seconds'");
    double query = testdb_real(tmp.path, "SELECT avg(value) FROM samples WHERE metric = "
                                         "'loadlab_prometheus_query_seconds'");
    printf("sample age through Prometheus: mean %.3fs, max %.3fs; query %.1fms; fleet p99 %.1fms (wrk's worst %.1fms)\n",
           age, worst, query * 1e3, outcome.gates[2].observed * 1e3, outcome.load.latency_p99 * 1e3);
    assert_true(age >= 0 && age < 2.0);

    /* the evidence came from each replica, named by its instance, and the diagnosis
     * names the problem, its culprit and the replica it is on */
    for (int i = 0; i < REPLICAS; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM evidence WHERE run_id = ?1 AND kind = 'threads' "
                                  "AND instance = '%s'", instance[i]);
        if (count(sql, id) < 2)
            fail_msg("%lld thread dumps from %s", count(sql, id), instance[i]);
    }
    struct diagnose_result *dr = calloc(1, sizeof *dr);
    assert_non_null(dr);
    if (diagnose_run(db, id, dr, err, sizeof err) != 0)
        fail_msg("diagnose: %s", err);
    diagnose_print(stdout, dr);
    const struct diagnose_finding *leak = NULL;
    for (size_t i = 0; i < dr->n; i++)
        if (strcmp(dr->findings[i].class_name, "thread-leak") == 0)
            leak = &dr->findings[i];
    if (!leak)
        fail_msg("no thread-leak among %zu findings", dr->n);
    assert_string_equal(leak->instance, instance[LEAKING]);
    assert_string_equal(leak->culprit, "leak_notifier_wait");
    assert_int_equal(diagnose_store(db, dr, err, sizeof err), 0);
    free(dr);
    assert_true(count("SELECT count(*) FROM diagnoses WHERE run_id = ?1 AND class = 'thread-leak' AND instance = "
                      "(SELECT instance FROM gates WHERE run_id = ?1 AND name = 'thread_growth')", id) == 1);
    scenario_free(sc);
}

static void test_fleet_prometheus_unreachable_is_named(void **state)
{
    char nobody[64];
    struct scenario *sc;
    (void)state;
    snprintf(nobody, sizeof nobody, "http://127.0.0.1:%d", free_port());
    sc = fleet_scenario(nobody, "", "2s");
    if (runner_run(sc, db, &options, &outcome, err, sizeof err) < 0)
        fail_msg("runner: %s", err);
    assert_int_equal(outcome.status, RUNNER_ABORTED);
    if (!strstr(outcome.reason, "Prometheus at") || !strstr(outcome.reason, "the query failed"))
        fail_msg("reason: %s", outcome.reason);
    assert_false(outcome.judged);
    /* the failed query is recorded when it failed, and no service series as a zero */
    assert_true(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'loadlab_prometheus_query_failed'",
                      outcome.run_id) >= 1);
    assert_int_equal(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric NOT LIKE 'loadlab_%'",
                           outcome.run_id), 0);
    scenario_free(sc);
}

/* A run hook that stops the third replica two seconds into the load. */
static enum runner_hook_answer stop_a_replica(void *user, enum runner_moment moment, const struct runner_view *view)
{
    (void)user;
    if (moment == RUNNER_AT_TICK && view->t >= 2 && replica[2].pid > 0) {
        orderd_proc_stop(&replica[2], 9, 2000);
        replica[2].pid = 0;
    }
    return RUNNER_HOOK_CONTINUE;
}

static void test_fleet_target_down_ends_the_run(void **state)
{
    struct scenario *sc = fleet_scenario(prom.url, "", "9s");
    struct runner_options with_hook = options;
    (void)state;
    with_hook.hook = stop_a_replica;
    if (runner_run(sc, db, &with_hook, &outcome, err, sizeof err) < 0)
        fail_msg("runner: %s", err);
    if (outcome.status != RUNNER_CRASHED || !strstr(outcome.reason, instance[2]) ||
        !strstr(outcome.reason, "up == 0"))
        fail_msg("status %d: %s", outcome.status, outcome.reason);
    /* the down target was recorded, not taken for a zero of the service's figures */
    assert_true(count("SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'up' AND value = 0", outcome.run_id)
                >= 1);
    /* and its figures were not read as zeros: none of its threads samples is 0 */
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM samples WHERE run_id = ?1 AND metric = 'process_threads' "
                              "AND labels LIKE '%%instance=\"%s\"%%' AND value = 0", instance[2]);
    assert_int_equal(count(sql, outcome.run_id), 0);
    scenario_free(sc);
}

/* A run hook that restarts the first replica (killed, then started again on the same
 * ports, so Prometheus scrapes it as the same instance) three seconds into the run. */
static bool restarted;
static enum runner_hook_answer restart_a_replica(void *user, enum runner_moment moment, const struct runner_view *view)
{
    const char *args[] = {"--workers", "4", "--queue-capacity", "256", "--payment-latency", "2ms", "--log-level",
                          "warn", "--listen", NULL, "--debug-listen", NULL, NULL};
    char listen[32], debug[32];
    (void)user;
    if (moment != RUNNER_AT_TICK || view->t < 3 || restarted)
        return RUNNER_HOOK_CONTINUE;
    restarted = true;
    snprintf(listen, sizeof listen, "127.0.0.1:%d", replica[0].public_port);
    snprintf(debug, sizeof debug, "127.0.0.1:%d", replica[0].debug_port);
    args[9] = listen;
    args[11] = debug;
    orderd_proc_stop(&replica[0], 9, 2000);
    if (orderd_proc_start(&replica[0], args, NULL) < 0)
        replica[0].pid = 0;
    return RUNNER_HOOK_CONTINUE;
}

/* A replica that restarts mid-run starts its counters again from zero. The fleet's
 * throughput windows take that drop as a reset of that replica's counter (as
 * Prometheus' rate() does); summed before the reset is seen, the drop would read as
 * a reset of the whole fleet's sum and count everything the other replicas had
 * served again. */
static void test_fleet_replica_restart_is_a_counter_reset(void **state)
{
    struct scenario *sc = fleet_scenario(prom.url, "[expect]\nfail = thread_growth\n", "7s");
    struct runner_options with_hook = options;
    char sql[512];
    (void)state;
    with_hook.hook = restart_a_replica;
    restarted = false;
    if (runner_run(sc, db, &with_hook, &outcome, err, sizeof err) < 0)
        fail_msg("runner: %s", err);
    if (replica[0].pid <= 0)
        fail_msg("the replica did not start again");
    if (outcome.status != RUNNER_COMPLETED)
        fail_msg("status %d: %s", outcome.status, outcome.reason);
    int64_t id = outcome.run_id;
    /* Prometheus saw the restart: that instance's request count fell */
    snprintf(sql, sizeof sql, "WITH x AS (SELECT t, sum(value) AS v FROM samples WHERE run_id = ?1 AND metric = "
                              "'orderd_http_requests_total' AND labels LIKE '%%instance=\"%s\"%%' GROUP BY t) "
                              "SELECT count(*) FROM x a JOIN x b ON b.t > a.t AND b.v < a.v", instance[0]);
    assert_true(count(sql, id) > 0);
    double windows = testdb_real(tmp.path, "SELECT sum(throughput * width_s) FROM windows WHERE run_id = "
                                           "(SELECT max(id) FROM runs)");
    printf("restart: %.0f requests in the throughput windows, %llu measured by wrk\n", windows,
           (unsigned long long)outcome.load.requests);
    assert_true(windows > 0);
    assert_true(windows < 1.25 * (double)outcome.load.requests);
    assert_true(count("SELECT count(*) FROM windows WHERE run_id = ?1 AND throughput < 0", id) == 0);
    scenario_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_gate_names_the_leaking_replica),
        cmocka_unit_test(test_fleet_prometheus_unreachable_is_named),
        cmocka_unit_test(test_fleet_replica_restart_is_a_counter_reset),
        cmocka_unit_test(test_fleet_target_down_ends_the_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
