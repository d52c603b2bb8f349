/* Unit tests for symptoms: the CPU-per-request and lock-wait triggers of evidence
 * capture, on series built here as a run's scrapes every 250 ms - CPU's absolute level,
 * its relative rise over the run's first windows, and the diagnosis's named level held
 * on from the start (a slowdown with no healthy start to rise from, whose culprit needs
 * a CPU profile); lock wait's level and the diagnosis's faint one, held; memory climbing
 * after a restart, judged on the new process's samples only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/seriesstore.h"
#include "judge/gate.h"
#include "judge/thresholds.h"
#include "metric_names.h"
#include "run/symptoms.h"

#define TICK 0.25
#define END 12.0

static char err[256];

/* A run's load: requests a second; CPU per request, base from the start and step
 * from t=at; lock wait seconds a second from t=lock_at (1 ms a second before), at a
 * cache lock, or with queue_lock at the job queue's lock (lock="queue"). */
struct load {
    double rate, base, at, step, lock_wait, lock_at;
    bool queue_lock;
};

/* The time symptom s first shows on load l's scrapes, or NAN when it never does. */
static double shown_at(enum symptom s, const struct load *l)
{
    struct series_store *store = series_store_new();
    struct symptoms_state st;
    struct runner_view v;
    double cpu = 0, shown = NAN;

    assert_non_null(store);
    assert_int_equal(series_store_want(store, GATE_PROC_CPU), 0);
    assert_int_equal(series_store_want(store, METRIC_ORDERD_HTTP_REQUESTS), 0);
    assert_int_equal(series_store_want(store, METRIC_ORDERD_MUTEX_WAIT), 0);
    symptoms_state_reset(&st);
    memset(&v, 0, sizeof v);
    v.series = store;
    for (double t = 0; t <= END + 1e-9 && isnan(shown); t += TICK) {
        double wait = 0.001 * t + (t > l->lock_at ? l->lock_wait * (t - l->lock_at) : 0);
        if (t > 0)
            cpu += l->rate * TICK * (t > l->at ? l->step : l->base);
        assert_int_equal(series_store_begin_tick(store, t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(store, GATE_PROC_CPU, cpu, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(store, METRIC_ORDERD_HTTP_REQUESTS, l->rate * t, err, sizeof err), 0);
        {
            struct promtext_label lock = {.name = "lock", .value = l->queue_lock ? "queue" : "cache_global"};
            struct promtext_sample sample = {.name = METRIC_ORDERD_MUTEX_WAIT, .labels = &lock, .nlabels = 1,
                                             .value = wait, .type = PROMTEXT_COUNTER};
            assert_int_equal(series_store_add(store, &sample, err, sizeof err), 0);
        }
        v.t = t;
        if (symptoms_show(NULL, &st, &v, s))
            shown = t;
    }
    series_store_free(store);
    return shown;
}

/* CPU per request base from the start and step from t=at, at rate requests a second,
 * no lock wait: when the CPU symptom first shows. */
static double cpu_symptom_at(double rate, double base, double at, double step)
{
    struct load l = {.rate = rate, .base = base, .at = at, .step = step, .lock_at = INFINITY};
    return shown_at(SYMPTOM_CPU, &l);
}

/* Lock wait seconds a second from t=at (at the job queue's lock with queue): when the
 * lock symptom first shows. */
static double lock_symptom_at(double wait, double at, bool queue)
{
    struct load l = {.rate = 1000, .base = 0.00005, .at = INFINITY, .lock_wait = wait, .lock_at = at,
                     .queue_lock = queue};
    return shown_at(SYMPTOM_LOCK, &l);
}

static void test_symptoms_healthy_cpu_per_request_shows_nothing(void **state)
{
    (void)state;
    assert_true(isnan(cpu_symptom_at(1000, 0.00005, INFINITY, 0)));
    /* A light load whose fixed costs make each request look dear: 150 us. */
    assert_true(isnan(cpu_symptom_at(300, 0.00015, INFINITY, 0)));
}

static void test_symptoms_cpu_past_the_absolute_level(void **state)
{
    (void)state;
    assert_float_equal(cpu_symptom_at(1000, 0.00005, 3, 0.003), 3.25, 0.01);
}

static void test_symptoms_cpu_rise_over_the_healthy_start(void **state)
{
    /* 40 us to 100 us at 1,000 requests a second from t=5: a relative rise, held. */
    double at = cpu_symptom_at(1000, 0.00004, 5, 0.0001);
    assert_false(isnan(at));
    assert_true(at >= 6.0 && at <= 7.0);
}

static void test_symptoms_cpu_at_the_named_level_from_the_start(void **state)
{
    /* 300 us per request from the first scrape at 700 requests a second (slow=on(300us)):
     * no rise over the run's own start, under the absolute 0.5 ms, past the 0.25 ms the
     * diagnosis names a culprit for - held a second. */
    double at = cpu_symptom_at(700, 0.0003, INFINITY, 0);
    assert_false(isnan(at));
    assert_true(at <= 3.5);
}

/* Resident memory of a process that starts at 4 MB, climbs 32 MB/s for half a second
 * (its start-up) and holds 20 MB, plus leak bytes a second from its start (before: of
 * the first process, after: of the one after the restart at restart_at: its start-up
 * again, the view says when it was ready). The time the memory symptom first shows,
 * or NAN. */
static double memory_symptom_at(double before, double after, double restart_at)
{
    struct series_store *store = series_store_new();
    struct symptoms_state st;
    struct runner_view v;
    double shown = NAN;

    assert_non_null(store);
    assert_int_equal(series_store_want(store, GATE_PROC_RSS), 0);
    symptoms_state_reset(&st);
    memset(&v, 0, sizeof v);
    v.series = store;
    v.restarted_t = NAN;
    for (double t = 0; t <= END + 1e-9 && isnan(shown); t += TICK) {
        double born = t >= restart_at ? restart_at : 0, pt = t - born;
        double rss = (pt < 0.5 ? 4e6 + 32e6 * pt : 20e6) + (born > 0 ? after : before) * pt;
        if (born > 0 && !v.restarts) {
            v.restarts = 1;
            v.restarted_t = born;
        }
        assert_int_equal(series_store_begin_tick(store, t, err, sizeof err), 0);
        assert_int_equal(series_store_add_plain(store, GATE_PROC_RSS, rss, err, sizeof err), 0);
        v.t = t;
        if (symptoms_show(NULL, &st, &v, SYMPTOM_MEMORY))
            shown = t;
    }
    series_store_free(store);
    return shown;
}

/* A restart's drop and the new process's start-up are no memory climbing; a leak that
 * climbs again after it is, once the new process is past its start-up. */
static void test_symptoms_memory_after_a_restart(void **state)
{
    (void)state;
    assert_true(isnan(memory_symptom_at(0, 0, 5)));
    assert_true(isnan(memory_symptom_at(0, 0, INFINITY)));
    assert_float_equal(memory_symptom_at(4e6, 0, INFINITY), DIAGNOSE_STARTUP_S + 2, 1e-9);
    assert_float_equal(memory_symptom_at(0, 4e6, 6), 6 + DIAGNOSE_STARTUP_S + 2, 1e-9);
}

static void test_symptoms_lock_wait_levels(void **state)
{
    (void)state;
    assert_true(isnan(lock_symptom_at(0, INFINITY, false)));   /* 1 ms a second: nothing */
    assert_float_equal(lock_symptom_at(0.2, 3, false), 3.25, 0.3);
    /* 0.03 s/s from t=5, a lock held too long under two connections: held as long as
     * the diagnosis asks of the faint level (DIAGNOSE_LOCK_FAINT_WINDOWS windows). */
    {
        double at = lock_symptom_at(0.03, 5, false);
        assert_false(isnan(at));
        assert_true(at >= 5 + DIAGNOSE_LOCK_FAINT_WINDOWS * DIAGNOSE_WINDOW_S && at <= 10.5);
    }
    /* The same wait at the job queue's lock is its handoff: nothing at the faint level,
     * while the strong level still counts every lock. */
    assert_true(isnan(lock_symptom_at(0.03, 5, true)));
    assert_float_equal(lock_symptom_at(0.2, 3, true), 3.25, 0.3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symptoms_healthy_cpu_per_request_shows_nothing),
        cmocka_unit_test(test_symptoms_cpu_past_the_absolute_level),
        cmocka_unit_test(test_symptoms_cpu_rise_over_the_healthy_start),
        cmocka_unit_test(test_symptoms_cpu_at_the_named_level_from_the_start),
        cmocka_unit_test(test_symptoms_lock_wait_levels),
        cmocka_unit_test(test_symptoms_memory_after_a_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
