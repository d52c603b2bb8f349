/* Unit tests for gate: names, operators, units, and judging on known data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/latency_hist.h"
#include "judge/gate.h"

static char err[600];

static struct gate_spec parse_ok(const char *key, const char *value)
{
    struct gate_spec g;
    if (gate_parse(key, value, &g, err, sizeof err) < 0)
        fail_msg("%s = %s: %s", key, value, err);
    return g;
}

static void parse_bad(const char *key, const char *value, const char *what)
{
    struct gate_spec g;
    if (gate_parse(key, value, &g, err, sizeof err) == 0)
        fail_msg("%s = %s was accepted", key, value);
    if (!strstr(err, what))
        fail_msg("error '%s' lacks '%s'", err, what);
}

static void test_gate_units_convert_to_base(void **state)
{
    struct gate_spec g;
    (void)state;
    g = parse_ok("p99_latency", "< 20ms");
    assert_int_equal(g.op, GATE_LT);
    assert_float_equal(g.threshold, 0.020, 1e-12);
    assert_string_equal(g.threshold_text, "< 20ms");
    g = parse_ok("p50_latency", "<=500us");
    assert_int_equal(g.op, GATE_LE);
    assert_float_equal(g.threshold, 0.0005, 1e-12);
    g = parse_ok("throughput", ">= 1e4/s");
    assert_int_equal(g.op, GATE_GE);
    assert_float_equal(g.threshold, 10000, 0);
    g = parse_ok("error_rate", "< 1%");
    assert_float_equal(g.threshold, 0.01, 1e-12);
    g = parse_ok("error_rate", "< 0.05");
    assert_float_equal(g.threshold, 0.05, 1e-12);
    g = parse_ok("rss_growth", "< 1MB/s");
    assert_float_equal(g.threshold, 1048576, 0);
    g = parse_ok("rss_growth", "< 512KB");
    assert_float_equal(g.threshold, 524288, 0);
    g = parse_ok("thread_growth", "< 0.5/s");
    assert_float_equal(g.threshold, 0.5, 0);
    g = parse_ok("mutex_wait_share", "< 1.5");
    assert_float_equal(g.threshold, 1.5, 0);
    g = parse_ok("metric.process_open_fds.slope", "> -2/s");
    assert_float_equal(g.threshold, -2, 0);
    g = parse_ok("metric.orderd_queue_wait_seconds_sum.max", "< 250ms");
    assert_float_equal(g.threshold, 0.25, 1e-12);
    g = parse_ok("metric.orderd_leaked_bytes.last", "< 64MB");
    assert_float_equal(g.threshold, 64.0 * 1048576, 0);
}

static void test_gate_rejects_unfit_units_and_syntax(void **state)
{
    (void)state;
    parse_bad("p99_latency", "< 20", "time unit");
    parse_bad("p99_latency", "< 20MB", "time unit");
    parse_bad("p99_latency", "< -1ms", "negative");
    parse_bad("throughput", "> 10ms", "plain number");
    parse_bad("error_rate", "< 2", "share");
    parse_bad("error_rate", "< 101%", "share");
    parse_bad("queue_saturation", "< 5MB", "percentage");
    parse_bad("rss_growth", "< 1ms", "size per second");
    parse_bad("p99_latency", "= 20ms", "must start with");
    parse_bad("p99_latency", "<< 20ms", "one operator");
    parse_bad("p99_latency", "<<20ms", "bad threshold");
    parse_bad("p99_latency", "< 20 ms", "one operator");
    parse_bad("p99_latency", "<", "one operator");
    parse_bad("throughput", "> 0x10", "bad threshold");
    parse_bad("metric.x.max", "< 5furlongs", "unknown unit");
    parse_bad("metric.x.median", "< 5", "aggregate");
    parse_bad("metric.x{a=\"b\"}", "< 5", "must read metric");
    parse_bad("metric.9x.max", "< 5", "bad metric name");
    parse_bad("latency", "< 5ms", "unknown gate");
    parse_bad("regression.throughput", "< 5%", "relative change");
    parse_bad("regression.throughput", "5ms", "relative change");
    parse_bad("regression.throughput", "100%", "not a usable change");
    parse_bad("regression.throughput", "0%", "not a usable change");
    parse_bad("regression.p99", "10%", "unknown gate");
    parse_bad("regression.regression.throughput", "5%", "not another regression");
}

static void test_gate_regression_direction_and_change(void **state)
{
    struct gate_spec g;
    char out[GATE_MAX_NAME];
    (void)state;
    /* throughput is worse when it drops; every other figure when it rises */
    g = parse_ok("regression.throughput", "5%");
    assert_true(g.regression);
    assert_int_equal(g.kind, GATE_THROUGHPUT);
    assert_int_equal(g.op, GATE_LT);
    assert_float_equal(g.threshold, 0.05, 1e-12);
    assert_string_equal(g.threshold_text, "-5%");
    assert_string_equal(g.name, "regression.throughput");
    g = parse_ok("regression.p99_latency", " 10% ");
    assert_int_equal(g.op, GATE_GT);
    assert_string_equal(g.threshold_text, "+10%");
    /* a sign says which way is worse, for a figure loadlab cannot know */
    g = parse_ok("regression.metric.orderd_orders_total{state=\"done\"}.slope", "-3%");
    assert_int_equal(g.op, GATE_LT);
    assert_float_equal(g.threshold, 0.03, 1e-12);
    assert_int_equal(g.kind, GATE_METRIC);
    g = parse_ok("regression.cpu_per_request", "+2.5%");
    assert_int_equal(g.op, GATE_GT);
    assert_int_equal(gate_canonical_name("regression.metric.x{b=\"1\",a=\"2\"}.max", out, sizeof out, err,
                                         sizeof err), 0);
    assert_string_equal(out, "regression.metric.x{a=\"2\",b=\"1\"}.max");
}

static void test_gate_canonical_names(void **state)
{
    char out[GATE_MAX_NAME];
    struct gate_spec g;
    (void)state;
    g = parse_ok("metric.orderd_threads{state=\"idle\",role=\"worker\"}.max", "< 3");
    assert_string_equal(g.name, "metric.orderd_threads{role=\"worker\",state=\"idle\"}.max");
    assert_int_equal(gate_canonical_name("metric.orderd_threads{ role=\"worker\", state=\"idle\" }.max",
                                         out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, g.name);
    assert_int_equal(gate_canonical_name("p99_latency", out, sizeof out, err, sizeof err), 0);
    assert_int_equal(gate_canonical_name("p99", out, sizeof out, err, sizeof err), -1);
}

/* A store with a thread series growing at 2/s, a queue full half the time, counters. */
static struct series_store *fixture(void)
{
    struct series_store *st = series_store_new();
    const char *wanted[] = {"process_threads", "orderd_queue_depth", "orderd_queue_capacity",
                            "orderd_queue_rejected_total", "orderd_queue_enqueued_total",
                            "orderd_mutex_wait_seconds_total", GATE_PROC_THREADS};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        assert_int_equal(series_store_want(st, wanted[i]), 0);
    for (int k = 0; k <= 10; k++) {
        double t = k * 0.5;
        struct promtext_label locks[2][1] = {{{"lock", "cache_global"}}, {{"lock", "queue"}}};
        struct promtext_sample s = {.name = "orderd_mutex_wait_seconds_total", .nlabels = 1};
        assert_int_equal(series_store_begin_tick(st, t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "process_threads", 10 + 2 * t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, GATE_PROC_THREADS, 10, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "orderd_queue_depth", k % 2 ? 64 : 1, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "orderd_queue_capacity", 64, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "orderd_queue_rejected_total", 10 * t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "orderd_queue_enqueued_total", 30 * t, err, sizeof err), 0);
        s.labels = locks[0];
        s.value = 0.25 * t;
        assert_int_equal(series_store_add(st, &s, err, sizeof err), 0);
        s.labels = locks[1];
        s.value = 0.05 * t;
        assert_int_equal(series_store_add(st, &s, err, sizeof err), 0);
    }
    return st;
}

static struct gate_result judge(const char *key, const char *value, struct series_store *st,
                                const struct wrkres *load, bool have_proc)
{
    static struct gate_spec spec;
    struct gate_inputs in = {.load = load, .series = st, .from = 1.0, .to = 4.0, .have_proc = have_proc};
    struct gate_result r;
    spec = parse_ok(key, value);
    gate_evaluate(&spec, &in, &r);
    return r;
}

static void test_gate_evaluates_series_gates(void **state)
{
    struct series_store *st = fixture();
    struct gate_result r;
    (void)state;
    r = judge("thread_growth", "< 0.5/s", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 2.0, 1e-9);
    /* with /proc sampled, the flat /proc series is used instead */
    r = judge("thread_growth", "< 0.5/s", st, NULL, true);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_float_equal(r.observed, 0.0, 1e-9);
    r = judge("queue_saturation", "< 60%", st, NULL, false);
    assert_int_equal(r.verdict, GATE_PASS);  /* ticks 2..8: 3 of 7 saturated */
    assert_float_equal(r.observed, 3.0 / 7, 1e-9);
    r = judge("rejected_share", "< 20%", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 0.25, 1e-9);
    r = judge("mutex_wait_share", "< 0.25", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 0.30, 1e-9);
    r = judge("metric.orderd_mutex_wait_seconds_total{lock=\"queue\"}.slope", "< 0.1", st, NULL, false);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_float_equal(r.observed, 0.05, 1e-9);
    r = judge("metric.orderd_queue_depth.max", "<= 64", st, NULL, false);
    assert_int_equal(r.verdict, GATE_PASS);
    r = judge("metric.orderd_queue_depth.mean", "> 40", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, (3 * 64 + 4 * 1) / 7.0, 1e-9);
    r = judge("metric.orderd_queue_depth.last", "> 40", st, NULL, false);
    assert_float_equal(r.observed, 1, 0);  /* t = 4.0 is tick 8 */
    series_store_free(st);
}

static void test_gate_missing_data_is_error_not_pass(void **state)
{
    struct series_store *st = fixture();
    struct gate_result r;
    struct gate_spec spec;
    (void)state;
    r = judge("metric.nonexistent_metric.max", "< 1", st, NULL, false);
    assert_int_equal(r.verdict, GATE_ERROR);
    assert_non_null(strstr(r.detail, "nonexistent_metric"));
    r = judge("p99_latency", "< 1s", st, NULL, false);
    assert_int_equal(r.verdict, GATE_ERROR);
    r = judge("rss_growth", "< 1MB/s", st, NULL, false);
    assert_int_equal(r.verdict, GATE_ERROR);
    spec = parse_ok("rss_growth", "< 1MB/s");
    assert_int_equal(gate_check_metrics(&spec, false, st, err, sizeof err), -1);
    assert_non_null(strstr(err, "process_resident_memory_bytes"));
    spec = parse_ok("queue_saturation", "< 1%");
    assert_int_equal(gate_check_metrics(&spec, false, st, err, sizeof err), 0);
    series_store_free(st);
}

static void test_gate_evaluates_load_gates(void **state)
{
    struct wrkres load = {.duration_s = 10, .requests = 20000, .errors_status = 200,
                          .latency_p50 = 0.001, .latency_p99 = 0.030, .latency_p999 = 0.2};
    struct gate_result r;
    struct series_store *st = series_store_new();
    (void)state;
    r = judge("throughput", "> 1000", st, &load, false);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_float_equal(r.observed, 2000, 0);
    r = judge("error_rate", "< 0.5%", st, &load, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 0.01, 1e-12);
    r = judge("p99_latency", "< 20ms", st, &load, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    r = judge("p99_latency", "<= 30ms", st, &load, false);
    assert_int_equal(r.verdict, GATE_PASS);
    r = judge("p50_latency", "> 1ms", st, &load, false);
    assert_int_equal(r.verdict, GATE_FAIL);  /* strict > */
    load.requests = 0;
    r = judge("p99_latency", "< 20ms", st, &load, false);
    assert_int_equal(r.verdict, GATE_ERROR);
    series_store_free(st);
}

static void test_gate_cpu_per_request_from_proc_cpu(void **state)
{
    /* 0.5 CPU-seconds per second at 2000 requests per second: 250us a request */
    struct wrkres load = {.duration_s = 10, .requests = 20000};
    struct series_store *st = series_store_new();
    struct gate_result r;
    struct gate_spec spec;
    (void)state;
    assert_int_equal(series_store_want(st, GATE_PROC_CPU), 0);
    for (int k = 0; k <= 10; k++) {
        assert_int_equal(series_store_begin_tick(st, k * 0.5, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, GATE_PROC_CPU, 3 + 0.25 * k, err, sizeof err), 0);
    }
    r = judge("cpu_per_request", "< 200us", st, &load, true);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 250e-6, 1e-12);
    /* measured for a regression gate: no verdict of its own */
    r = judge("regression.cpu_per_request", "5%", st, &load, true);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_float_equal(r.observed, 250e-6, 1e-12);
    /* without /proc it needs the service's process_cpu_seconds_total */
    spec = parse_ok("cpu_per_request", "< 1ms");
    assert_int_equal(gate_check_metrics(&spec, false, st, err, sizeof err), -1);
    assert_non_null(strstr(err, "process_cpu_seconds_total"));
    load.requests = 0;
    r = judge("cpu_per_request", "< 1ms", st, &load, true);
    assert_int_equal(r.verdict, GATE_ERROR);
    series_store_free(st);
}

/* A Go service (client_golang): no process_threads, but go_threads and go_goroutines. */
static void test_gate_go_service_threads_and_goroutines(void **state)
{
    struct series_store *st = series_store_new();
    struct gate_spec spec;
    struct gate_result r;
    (void)state;
    assert_non_null(st);
    spec = parse_ok("thread_growth", "< 1/s");
    assert_int_equal(gate_want_metrics(&spec, false, st), 0);
    spec = parse_ok("goroutine_growth", "< 5/s");
    assert_int_equal(gate_want_metrics(&spec, false, st), 0);
    for (int k = 0; k <= 8; k++) {
        double t = k * 0.5;
        assert_int_equal(series_store_begin_tick(st, t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "go_threads", 8 + t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(st, "go_goroutines", 10 + 40 * t, err, sizeof err), 0);
    }
    spec = parse_ok("thread_growth", "< 1/s");
    assert_int_equal(gate_check_metrics(&spec, false, st, err, sizeof err), 0);
    r = judge("thread_growth", "< 0.5/s", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 1.0, 1e-9);  /* go_threads' slope stands in */
    r = judge("goroutine_growth", "< 5/s", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 40.0, 1e-9);
    r = judge("goroutine_growth", "< 50/s", st, NULL, true);  /* /proc has no goroutines: still go_goroutines */
    assert_int_equal(r.verdict, GATE_PASS);
    series_store_free(st);

    /* orderd has no goroutines: the gate names the metric it lacks */
    st = fixture();
    spec = parse_ok("goroutine_growth", "< 5/s");
    assert_int_equal(gate_check_metrics(&spec, false, st, err, sizeof err), -1);
    assert_non_null(strstr(err, "go_goroutines"));
    series_store_free(st);
}

static void test_gate_formats_observed(void **state)
{
    char buf[32];
    struct gate_spec g;
    (void)state;
    g = parse_ok("p99_latency", "< 1s");
    assert_string_equal(gate_format_observed(&g, 0.0123, buf, sizeof buf), "12.3ms");
    assert_string_equal(gate_format_observed(&g, NAN, buf, sizeof buf), "-");
    assert_string_equal(gate_format_observed(&g, 480e-6, buf, sizeof buf), "480us");
    assert_string_equal(gate_format_observed(&g, 12.34e-6, buf, sizeof buf), "12.3us");
    g = parse_ok("error_rate", "< 1%");
    assert_string_equal(gate_format_observed(&g, 0.041, buf, sizeof buf), "4.1%");
    g = parse_ok("rss_growth", "< 1MB/s");
    assert_string_equal(gate_format_observed(&g, 1.5 * 1048576, buf, sizeof buf), "1.5MB/s");
    assert_string_equal(gate_unit(&g), "B/s");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "< 1MB/s");
}

/* A threshold reads in the observed value's unit: mutex_wait_share's "< 0.05" beside
 * "0.428s/s", not a bare number; a rate names what it counts. */
static void test_gate_formats_threshold_like_observed(void **state)
{
    char buf[48];
    struct gate_spec g;
    (void)state;
    g = parse_ok("mutex_wait_share", "< 0.05");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "< 0.05s/s");
    assert_string_equal(gate_format_observed(&g, 0.428, buf, sizeof buf), "0.428s/s");
    assert_string_equal(gate_format_observed(&g, 7.48e-9, buf, sizeof buf), "<0.0001s/s");
    g = parse_ok("thread_growth", "< 0.5/s");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "< 0.5 threads/s");
    g = parse_ok("p99_latency", "< 250ms");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "< 250ms");
    assert_string_equal(gate_format_observed(&g, 0.385e-3, buf, sizeof buf), "385us");
    g = parse_ok("throughput", "> 1000/s");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "> 1000 req/s");
    assert_string_equal(gate_format_observed(&g, 23456, buf, sizeof buf), "23.5k req/s");
    g = parse_ok("error_rate", "< 1%");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "< 1%");
    g = parse_ok("regression.p99_latency", "+5%");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "+5%");
}

/* A metric.* gate's figure is in the unit its metric's name gives. */
static void test_gate_formats_metric_by_name(void **state)
{
    char buf[48];
    struct gate_spec g;
    (void)state;
    g = parse_ok("metric.orderd_block_seconds_total{site=\"queue_push_blocking\"}.slope", "< 0.1");
    assert_string_equal(gate_format_observed(&g, 1.97764, buf, sizeof buf), "1.98s/s");
    assert_string_equal(gate_format_threshold(&g, buf, sizeof buf), "< 0.1s/s");
    g = parse_ok("metric.orderd_leaked_bytes.slope", "< 1MB/s");
    assert_string_equal(gate_format_observed(&g, 2 * 1048576, buf, sizeof buf), "2MB/s");
    g = parse_ok("metric.orderd_threads.slope", "< 1/s");
    assert_string_equal(gate_format_observed(&g, 1.97764, buf, sizeof buf), "1.98/s");
    g = parse_ok("metric.orderd_queue_depth.max", "< 100");
    assert_string_equal(gate_format_observed(&g, 64, buf, sizeof buf), "64");
}

static void test_gate_instructions_per_request(void **state)
{
    struct gate_spec spec = parse_ok("instructions_per_request", "< 50000");
    struct gate_inputs in = {0};
    struct gate_result r;
    char buf[32];
    (void)state;
    assert_int_equal(spec.kind, GATE_INSTRUCTIONS_PER_REQUEST);
    assert_true(spec.threshold == 50000);
    parse_bad("instructions_per_request", "< 5ms", "plain number");
    gate_evaluate(&spec, &in, &r);
    assert_int_equal(r.verdict, GATE_ERROR);
    assert_non_null(strstr(r.detail, "[load] requests"));
    in.cost_counter = "callgrind";
    in.instructions_per_request = 9687.5;
    gate_evaluate(&spec, &in, &r);
    assert_int_equal(r.verdict, GATE_PASS);
    in.instructions_per_request = 60000;
    gate_evaluate(&spec, &in, &r);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_string_equal(gate_format_observed(&spec, 9687.5, buf, sizeof buf), "9688 instructions");
    assert_string_equal(gate_format_threshold(&spec, buf, sizeof buf), "< 50k instructions");
    spec = parse_ok("regression.instructions_per_request", "1%");
    assert_int_equal(spec.op, GATE_GT);
}

/* On a fleet (series per instance) a growth gate judges the worst replica, names it,
 * and passes over a replica that vanished with a single sample. */
static void test_gate_growth_judges_the_worst_instance(void **state)
{
    struct series_store *st = series_store_new();
    const char *instances[] = {"10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100"};
    const double slopes[] = {0.1, 3.0, 0.0};
    struct gate_result r;
    (void)state;
    assert_non_null(st);
    assert_int_equal(series_store_want(st, "process_threads"), 0);
    for (int k = 0; k <= 8; k++) {
        double t = 0.5 * k;
        assert_int_equal(series_store_begin_tick(st, t, err, sizeof err), 0);
        for (int i = 0; i < 3; i++) {
            struct promtext_label l[2] = {{"instance", instances[i]}, {"job", "orderd"}};
            struct promtext_sample s = {.name = "process_threads", .labels = l, .nlabels = 2,
                                        .value = 20 + slopes[i] * t};
            if (i == 2 && k != 3)
                continue;  /* the third replica shows up once in the steady state */
            assert_int_equal(series_store_add(st, &s, err, sizeof err), 0);
        }
    }
    r = judge("thread_growth", "< 0.5/s", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 3.0, 1e-9);  /* not the sum, 3.1 */
    assert_string_equal(r.detail, "worst of 2 instances: 10.0.0.2:9100");
    assert_string_equal(r.instance, "10.0.0.2:9100");
    assert_int_equal(r.instances, 2);
    series_store_free(st);
}

/* rejected_share is the fleet's: the counters summed over the replicas, each free of
 * resets first. Replica b restarts between t=2 and t=2.5 (its counters start again
 * from zero); both serve 100 jobs/s and b turns away 10/s, so the share is 30 of 630.
 * Summed before the reset is seen, b's restart would read as 300 more jobs served. */
static void test_gate_rejected_share_over_a_replica_restart(void **state)
{
    struct series_store *st = series_store_new();
    const char *instances[] = {"a:6060", "b:6060"};
    struct gate_result r;
    (void)state;
    assert_non_null(st);
    assert_int_equal(series_store_want(st, "orderd_queue_enqueued_total"), 0);
    assert_int_equal(series_store_want(st, "orderd_queue_rejected_total"), 0);
    for (int k = 0; k <= 8; k++) {
        double t = 0.5 * k, since = t > 2.25 ? t - 2 : t;  /* b's clock since it (re)started */
        assert_int_equal(series_store_begin_tick(st, t, err, sizeof err), 0);
        for (int i = 0; i < 2; i++) {
            struct promtext_label l[1] = {{"instance", instances[i]}};
            struct promtext_sample enq = {.name = "orderd_queue_enqueued_total", .labels = l, .nlabels = 1,
                                          .value = 100 * (i ? since : t)};
            struct promtext_sample rej = {.name = "orderd_queue_rejected_total", .labels = l, .nlabels = 1,
                                          .value = i ? 10 * since : 0};
            assert_int_equal(series_store_add(st, &enq, err, sizeof err), 0);
            assert_int_equal(series_store_add(st, &rej, err, sizeof err), 0);
        }
    }
    r = judge("rejected_share", "< 4%", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 30.0 / 630.0, 1e-9);
    series_store_free(st);
}

/* On a fleet, queue saturation and lock wait are the worst replica's too: one replica
 * saturated all the time among two idle ones is 100%, not a third. */
static void test_gate_saturation_and_lock_wait_judge_the_worst_instance(void **state)
{
    struct series_store *st = series_store_new();
    const char *instances[] = {"a:6060", "b:6060", "c:6060"};
    struct gate_result r;
    (void)state;
    assert_non_null(st);
    assert_int_equal(series_store_want(st, "orderd_queue_depth"), 0);
    assert_int_equal(series_store_want(st, "orderd_queue_capacity"), 0);
    assert_int_equal(series_store_want(st, "orderd_mutex_wait_seconds_total"), 0);
    for (int k = 0; k <= 8; k++) {
        double t = 0.5 * k;
        assert_int_equal(series_store_begin_tick(st, t, err, sizeof err), 0);
        for (int i = 0; i < 3; i++) {
            struct promtext_label l[1] = {{"instance", instances[i]}};
            struct promtext_sample depth = {.name = "orderd_queue_depth", .labels = l, .nlabels = 1,
                                            .value = i == 2 ? 64 : 1};
            struct promtext_sample capacity = {.name = "orderd_queue_capacity", .labels = l, .nlabels = 1,
                                               .value = 64};
            struct promtext_sample wait = {.name = "orderd_mutex_wait_seconds_total", .labels = l, .nlabels = 1,
                                           .value = (i == 0 ? 0.4 : 0.1) * t};
            assert_int_equal(series_store_add(st, &depth, err, sizeof err), 0);
            assert_int_equal(series_store_add(st, &capacity, err, sizeof err), 0);
            assert_int_equal(series_store_add(st, &wait, err, sizeof err), 0);
        }
    }
    r = judge("queue_saturation", "< 10%", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 1.0, 1e-9);
    assert_string_equal(r.detail, "worst of 3 instances: c:6060");
    r = judge("mutex_wait_share", "< 0.25", st, NULL, false);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_float_equal(r.observed, 0.4, 1e-9);   /* not the fleet's 0.6 */
    assert_string_equal(r.detail, "worst of 3 instances: a:6060");
    series_store_free(st);
}

/* Per-second windows of n values each: second i holds value_us[i] n times. */
static void make_windows(const int64_t *value_us, size_t nsec, uint64_t n, struct gate_window *w, uint8_t **blobs)
{
    struct latency_hist *h = latency_hist_new();
    assert_non_null(h);
    for (size_t i = 0; i < nsec; i++) {
        size_t len;
        latency_hist_reset(h);
        latency_hist_record(h, value_us[i], n);
        assert_int_equal(latency_hist_serialize(h, &blobs[i], &len), 0);
        w[i] = (struct gate_window){.scheduled = n, .completed = n, .latency = blobs[i], .latency_len = len};
    }
    latency_hist_free(h);
}

static void test_gate_window_judges_the_worst_merged_window(void **state)
{
    /* seconds 0..9 at 1ms, except a 2s stall at seconds 4 and 5 at 400ms */
    int64_t v[10] = {1000, 1000, 1000, 1000, 400000, 400000, 1000, 1000, 1000, 1000};
    struct gate_window w[10];
    uint8_t *blobs[10];
    struct gate_spec p99w = parse_ok("p99_latency.window(3s)", "< 20ms");
    struct gate_spec p50w = parse_ok("p50_latency.window(3s)", "< 20ms");
    struct gate_spec p50wide = parse_ok("p50_latency.window(10s)", "< 20ms");
    struct gate_inputs in = {.open = true, .scheduled = 1000, .windows = w, .nwindows = 10};
    struct gate_result r;
    (void)state;

    make_windows(v, 10, 100, w, blobs);
    gate_evaluate(&p99w, &in, &r);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_true(fabs(r.observed - 0.4) < 0.4 / 1024 + 1e-9);
    /* a 3s window holding both stall seconds: 200 of 300 at 400ms, so its median too */
    gate_evaluate(&p50w, &in, &r);
    assert_int_equal(r.verdict, GATE_FAIL);
    assert_true(fabs(r.observed - 0.4) < 0.001);
    /* the whole run: 200 of 1000 slow, the median is 1ms */
    gate_evaluate(&p50wide, &in, &r);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_true(fabs(r.observed - 0.001) < 1e-9);
    /* fewer windows than the width: all merged */
    in.nwindows = 2;
    gate_evaluate(&p99w, &in, &r);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_true(fabs(r.observed - 0.001) < 1e-9);
    /* wrk's load has no windows: an error, not a pass */
    in.open = false;
    gate_evaluate(&p99w, &in, &r);
    assert_int_equal(r.verdict, GATE_ERROR);
    for (size_t i = 0; i < 10; i++)
        free(blobs[i]);
}

static void test_gate_dropped_share_and_abort_on_fail(void **state)
{
    int64_t v[4] = {1000, 1000, 300000, 1000};
    struct gate_window w[4];
    uint8_t *blobs[4];
    struct gate_spec dropped = parse_ok("dropped_share", "< 0.1% abort_on_fail");
    struct gate_spec window = parse_ok("p99_latency.window(2s)", "< 100ms, abort_on_fail");
    struct gate_spec quiet = parse_ok("p99_latency.window(2s)", "< 100ms");
    struct gate_inputs in = {.open = true, .scheduled = 2000, .dropped = 1, .windows = w, .nwindows = 2};
    struct gate_result r;
    (void)state;

    assert_true(dropped.abort_on_fail && window.abort_on_fail && !quiet.abort_on_fail);
    assert_string_equal(window.threshold_text, "< 100ms");
    parse_bad("dropped_share", "< 0.1% abort", "optionally followed by abort_on_fail");
    parse_bad("regression.p99_latency.window(2s)", "5%", "judged on one run");
    make_windows(v, 4, 100, w, blobs);
    gate_evaluate(&dropped, &in, &r);
    assert_int_equal(r.verdict, GATE_PASS);
    assert_true(fabs(r.observed - 0.0005) < 1e-12);
    in.dropped = 10;
    gate_evaluate(&dropped, &in, &r);
    assert_int_equal(r.verdict, GATE_FAIL);
    /* as the run goes: 10 drops of 100000 planned cannot lose 0.1% yet; 200 can */
    assert_false(gate_lost_early(&dropped, &in, 100000, &r));
    in.dropped = 200;
    assert_true(gate_lost_early(&dropped, &in, 100000, &r));
    assert_int_equal(r.verdict, GATE_FAIL);
    /* a window gate is lost only by a full window that fails, and only with abort_on_fail */
    assert_false(gate_lost_early(&window, &in, 100000, &r));
    in.nwindows = 3;
    assert_true(gate_lost_early(&window, &in, 100000, &r));
    assert_true(fabs(r.observed - 0.3) < 0.001);
    assert_false(gate_lost_early(&quiet, &in, 100000, &r));
    for (size_t i = 0; i < 4; i++)
        free(blobs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gate_window_judges_the_worst_merged_window),
        cmocka_unit_test(test_gate_dropped_share_and_abort_on_fail),
        cmocka_unit_test(test_gate_instructions_per_request),
        cmocka_unit_test(test_gate_units_convert_to_base),
        cmocka_unit_test(test_gate_rejects_unfit_units_and_syntax),
        cmocka_unit_test(test_gate_canonical_names),
        cmocka_unit_test(test_gate_regression_direction_and_change),
        cmocka_unit_test(test_gate_cpu_per_request_from_proc_cpu),
        cmocka_unit_test(test_gate_evaluates_series_gates),
        cmocka_unit_test(test_gate_missing_data_is_error_not_pass),
        cmocka_unit_test(test_gate_evaluates_load_gates),
        cmocka_unit_test(test_gate_go_service_threads_and_goroutines),
        cmocka_unit_test(test_gate_formats_observed),
        cmocka_unit_test(test_gate_formats_threshold_like_observed),
        cmocka_unit_test(test_gate_formats_metric_by_name),
        cmocka_unit_test(test_gate_growth_judges_the_worst_instance),
        cmocka_unit_test(test_gate_rejected_share_over_a_replica_restart),
        cmocka_unit_test(test_gate_saturation_and_lock_wait_judge_the_worst_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
