/* Unit tests for drill_heal: what healthy looked like read from a run's samples, a
 * window judged healed or not part by part, the mitigation's clock, and the faults
 * read from a real orderd's /debug/faults before and after a DELETE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>

#include "base/httpclient.h"
#include "diagnose/drill_heal.h"
#include "diagnose/drill_restart.h"
#include "orderd_proc.h"
#include "store/resultdb.h"
#include "tmpdb.h"

static char err[512];
static struct tmpdb tmp;
static struct resultdb *db;
static int64_t run_id;

/* What a window after a fault looks like: each field from t=10 on (before: healthy,
 * 12 threads, 20 MB, depth 2, 0.2 ms a request at 1,000 requests a second). */
struct after {
    double threads, rss_rate, depth, latency;
};

static void sample(double t, const char *metric, double v)
{
    if (resultdb_sample(db, run_id, t, metric, "", v, err, sizeof err) < 0)
        fail_msg("%s", err);
}

static void store(const struct after *a)
{
    double sum = 0, count = 0;
    assert_int_equal(resultdb_begin(db, err, sizeof err), 0);
    for (double t = 0; t <= 16 + 1e-9; t += 0.25) {
        bool late = t >= 10;
        sum += 250 * (late ? a->latency : 0.0002);
        count += 250;
        sample(t, "loadlab_proc_threads", late ? a->threads : 12);
        sample(t, "loadlab_proc_resident_memory_bytes", 20e6 + (late ? a->rss_rate * (t - 10) : 0));
        sample(t, "orderd_queue_depth", late ? a->depth : 2);
        sample(t, "orderd_queue_capacity", 64);
        sample(t, "orderd_http_request_duration_seconds_sum", sum);
        sample(t, "orderd_http_request_duration_seconds_count", count);
    }
    assert_int_equal(resultdb_commit(db, err, sizeof err), 0);
}

static int setup(void **state)
{
    struct resultdb_run run = {.scenario = "drill", .scenario_file = "drill", .label = "drill", .params = "{}"};
    (void)state;
    if (tmpdb_make(&tmp, "drill-heal-test") < 0)
        return -1;
    db = resultdb_open(tmp.path, false, err, sizeof err);
    return db && resultdb_run_begin(db, &run, &run_id, err, sizeof err) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    resultdb_close(db);
    return tmpdb_remove(&tmp);
}

static void judge(const struct after *a, const struct drill_heal_reference *ref, struct drill_heal_status *s)
{
    store(a);
    memset(s, 0, sizeof *s);
    s->faults_clear = true;
    assert_int_equal(drill_heal_judge(db, run_id, 13, 16, ref, s, err, sizeof err), 0);
}

static void test_drill_heal_reference_is_the_healthy_window(void **state)
{
    struct drill_heal_reference ref;
    struct after a = {.threads = 300, .rss_rate = 0, .depth = 64, .latency = 0.01};
    (void)state;
    store(&a);
    assert_int_equal(drill_heal_reference_load(db, run_id, 1, 10, "this run before t=10s", &ref, err, sizeof err), 0);
    assert_true(ref.have);
    assert_string_equal(ref.source, "this run before t=10s");
    assert_float_equal(ref.threads, 12, 1e-9);
    assert_float_equal(ref.depth, 2, 1e-9);
    assert_float_equal(ref.latency, 0.0002, 1e-9);
    assert_int_equal(drill_heal_reference_load(db, run_id, 100, 200, "later", &ref, err, sizeof err), 0);
    assert_false(ref.have);
}

static void test_drill_heal_judges_each_part(void **state)
{
    struct drill_heal_reference ref = {.have = true, .source = "x", .threads = 12, .depth = 2, .latency = 0.0002};
    struct drill_heal_status s;
    struct after healed = {.threads = 13, .rss_rate = 0, .depth = 3, .latency = 0.0003};
    char buf[256];
    (void)state;

    judge(&healed, &ref, &s);
    assert_true(drill_heal_healed(&s));
    assert_string_equal(drill_heal_describe(&s, &ref, buf, sizeof buf), "");
    s.faults_clear = false;
    snprintf(s.faults_on, sizeof s.faults_on, "leak.threads (still holding)");
    assert_false(drill_heal_healed(&s));
    assert_string_equal(drill_heal_describe(&s, &ref, buf, sizeof buf), "faults still on: leak.threads (still holding)");
}

static void test_drill_heal_sees_what_is_still_wrong(void **state)
{
    struct drill_heal_reference ref = {.have = true, .source = "x", .threads = 12, .depth = 2, .latency = 0.0002};
    struct drill_heal_status s;
    struct after sick = {.threads = 40, .rss_rate = 4e6, .depth = 60, .latency = 0.004};
    char buf[256];
    (void)state;

    judge(&sick, &ref, &s);
    assert_false(s.threads_ok);
    assert_false(s.memory_ok);
    assert_false(s.queue_ok);
    assert_false(s.latency_ok);
    drill_heal_describe(&s, &ref, buf, sizeof buf);
    assert_non_null(strstr(buf, "threads 40 (healthy 12)"));
    assert_non_null(strstr(buf, "resident memory still climbing 4.0 MB/s"));
    assert_non_null(strstr(buf, "queue depth 60.0 on average (healthy 2.0)"));
    assert_non_null(strstr(buf, "requests 4.00ms on average (healthy 0.20ms)"));
}

static void test_drill_heal_without_a_reference(void **state)
{
    /* No healthy window: threads against the run's lowest, the queue against its
     * capacity, latency not judged. */
    struct drill_heal_status s;
    struct after a = {.threads = 14, .rss_rate = 0, .depth = 10, .latency = 0.05};
    (void)state;
    judge(&a, NULL, &s);
    assert_true(drill_heal_healed(&s));
}

static void test_drill_heal_mitigation_runs_out_of_time(void **state)
{
    struct drill_heal_reference ref = {0};
    struct drill_mitigation m;
    (void)state;
    drill_mitigation_start(&m, 10, 5, &ref);
    assert_true(isnan(m.healed_s));
    /* Past the deadline, decided without asking the service anything. */
    assert_true(drill_mitigation_tick(&m, db, run_id, NULL, "", 15.5));
    assert_true(m.done);
    assert_true(isnan(m.healed_s));
    assert_string_equal(m.problem, "faults still on");
}

static void test_drill_heal_reads_the_faults_of_a_real_orderd(void **state)
{
    struct orderd_proc p;
    struct httpclient *http = httpclient_new(NULL, err, sizeof err);
    struct drill_heal_status s = {0};
    struct curl_client_result r;
    char base[128];
    (void)state;

    assert_non_null(http);
    assert_int_equal(orderd_proc_start(&p, NULL, "lock.cache=on(20us)"), 0);
    orderd_proc_url(&p, true, "", base, sizeof base);
    assert_int_equal(drill_heal_faults(http, base, &s, err, sizeof err), 0);
    assert_false(s.faults_clear);
    assert_string_equal(s.faults_on, "lock.cache");
    r = orderd_proc_call(&p, true, "DELETE", "/debug/faults/lock.cache", NULL, NULL);
    assert_int_equal(r.status, 200);
    curl_client_free(&r);
    assert_int_equal(drill_heal_faults(http, base, &s, err, sizeof err), 0);
    assert_true(s.faults_clear);
    assert_string_equal(s.faults_on, "");
    orderd_proc_stop(&p, SIGTERM, 5000);
    assert_int_equal(drill_heal_faults(http, base, &s, err, sizeof err), -1);
    httpclient_free(http);
}

/* A leak restarted at t=8 (ready at 8.5): threads at `before` slope until then,
 * from `after` at `regrowth` a second after; memory the same way in MB. */
struct restart_shape {
    double threads_slope, threads_after, threads_regrowth;
    double rss_slope_mb, rss_after_mb, rss_regrowth_mb;
};

static void store_restart(const struct restart_shape *r)
{
    assert_int_equal(resultdb_begin(db, err, sizeof err), 0);
    for (double t = 0; t <= 12.5 + 1e-9; t += 0.25) {
        if (t > 8 && t < 8.5)
            continue;  /* the service is down */
        bool after = t >= 8.5;
        sample(t, "loadlab_proc_threads", after ? r->threads_after + r->threads_regrowth * (t - 8.5)
                                                : 12 + r->threads_slope * t);
        sample(t, "loadlab_proc_resident_memory_bytes",
               1e6 * (after ? r->rss_after_mb + r->rss_regrowth_mb * (t - 8.5) : 20 + r->rss_slope_mb * t));
    }
    assert_int_equal(resultdb_commit(db, err, sizeof err), 0);
}

static void restart_judged(const struct restart_shape *shape, bool thread_leak, bool memory_leak,
                           struct drill_restart *r)
{
    store_restart(shape);
    memset(r, 0, sizeof *r);
    r->thread_leak = thread_leak;
    r->memory_leak = memory_leak;
    assert_int_equal(drill_restart_before(db, run_id, 8, r, err, sizeof err), 0);
    assert_int_equal(drill_restart_after(db, run_id, 8.5, 12.5, r, err, sizeof err), 0);
}

static void test_drill_heal_restart_buys_time_against_a_thread_leak(void **state)
{
    struct restart_shape shape = {.threads_slope = 50, .threads_after = 8, .threads_regrowth = 20};
    struct drill_restart r;
    char text[400];
    (void)state;

    restart_judged(&shape, true, false, &r);
    assert_float_equal(r.threads_before, 412, 1e-9);
    assert_float_equal(r.threads_after, 8, 1e-9);
    assert_float_equal(r.threads_slope, 20, 1e-6);
    assert_float_equal(r.bought_s, (412 - 8) / 20.0, 1e-6);
    drill_restart_describe(&r, text, sizeof text);
    assert_string_equal(text, "threads 8 after (412 before), climbing again at 20.0/s: back at that level in about "
                              "20.2s");
}

static void test_drill_heal_restart_buys_time_against_a_memory_leak(void **state)
{
    /* 20 MB + 5 MB/s until t=8 (60 MB); 10 MB after, +2.5 MB/s: back in 20 s. Threads
     * flat, and not a leak here: the time is memory's. */
    struct restart_shape shape = {.threads_after = 12, .rss_slope_mb = 5, .rss_after_mb = 10, .rss_regrowth_mb = 2.5};
    struct drill_restart r;
    char text[400];
    (void)state;

    restart_judged(&shape, false, true, &r);
    assert_float_equal(r.rss_before, 60e6, 1);
    assert_float_equal(r.bought_s, 20, 1e-6);
    drill_restart_describe(&r, text, sizeof text);
    assert_non_null(strstr(text, "resident memory 10 MB after (60 MB before), climbing again at 2.5 MB/s"));
    assert_null(strstr(text, "threads"));
}

static void test_drill_heal_restart_of_a_leak_that_does_not_climb_again(void **state)
{
    /* Threads back to 12 and flat: no time to give (the leak's fault was not set again,
     * or holds nothing yet). A restart with no leak among its faults buys nothing. */
    struct restart_shape shape = {.threads_slope = 50, .threads_after = 12};
    struct drill_restart r;
    char text[400];
    (void)state;

    restart_judged(&shape, true, false, &r);
    assert_true(isinf(r.bought_s));
    drill_restart_describe(&r, text, sizeof text);
    assert_string_equal(text, "threads 12 after (412 before), not climbing again in 4s");
    restart_judged(&shape, false, false, &r);
    assert_true(isnan(r.bought_s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drill_heal_reference_is_the_healthy_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_judges_each_part, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_sees_what_is_still_wrong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_without_a_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_mitigation_runs_out_of_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_restart_buys_time_against_a_thread_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_restart_buys_time_against_a_memory_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_heal_restart_of_a_leak_that_does_not_climb_again, setup, teardown),
        cmocka_unit_test(test_drill_heal_reads_the_faults_of_a_real_orderd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
