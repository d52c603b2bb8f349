/* symptoms: whether a run's service shows a symptom in its recent series. See
 * symptoms.h. */
#include "run/symptoms.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>

#include "base/stats.h"
#include "judge/gate.h"
#include "judge/thresholds.h"

/* Memory growth, a full queue, lock wait and CPU per request use the diagnosis's own
 * levels (judge/thresholds.h): a diagnosis names a problem when a level holds for
 * several windows in a row, a snapshot is taken at the first reading past it, so the
 * evidence is in hand before the episode the diagnosis will report is over. The rest
 * are the capture's own. */
#define TRIGGER_THREADS 20.0           /* threads above the run's lowest count */
#define TRIGGER_RSS_WINDOW 2.0         /* seconds the memory slope is fitted over */
#define TRIGGER_MIN_REQUESTS 10.0      /* requests/s for CPU per request to mean anything */

const char *const symptoms_names[SYMPTOM_COUNT] = {
    "threads or goroutines climbing", "memory climbing", "queue full", "lock wait high", "CPU per request high",
};

/* Adds the matcher name="value" to sel. */
static void match(struct series_selector *sel, const char *name, const char *value)
{
    snprintf(sel->matchers[sel->nmatchers].name, sizeof sel->matchers[0].name, "%s", name);
    snprintf(sel->matchers[sel->nmatchers].value, sizeof sel->matchers[0].value, "%s", value);
    sel->nmatchers++;
}

/* Points of a metric (all its series, or the instance's, or those of one lock label
 * when lock is not NULL, summed; a counter's free of resets) from `from` to the view's
 * now. Returns 0, or -1 when there are none. */
static int points_of(const char *instance, const char *lock, const struct runner_view *v, const char *metric,
                     double from, bool counter, struct series *pts)
{
    struct series_selector sel = {0};
    snprintf(sel.metric, sizeof sel.metric, "%s", metric);
    if (instance && instance[0])
        match(&sel, GATE_INSTANCE_LABEL, instance);
    if (lock)
        match(&sel, "lock", lock);
    if ((counter ? series_store_select_counter : series_store_select)(v->series, &sel, from, v->t, pts) < 0)
        return -1;
    if (pts->n == 0) {
        series_release(pts);
        return -1;
    }
    return 0;
}

static int points(const char *instance, const struct runner_view *v, const char *metric, double from,
                  struct series *pts)
{
    return points_of(instance, NULL, v, metric, from, false, pts);
}

/* The first of two metrics that has points (loadlab's /proc figure, else the service's). */
static int points_either(const char *instance, const struct runner_view *v, const char *a, const char *b,
                         double from, struct series *pts)
{
    return points(instance, v, a, from, pts) == 0 ? 0 : points(instance, v, b, from, pts);
}

static bool rise_above_low(const struct series *p, double *rise)
{
    double low = INFINITY;
    for (size_t i = 0; i < p->n; i++)
        if (!isnan(p->v[i]) && p->v[i] < low)
            low = p->v[i];
    if (isinf(low) || isnan(p->v[p->n - 1]))
        return false;
    *rise = p->v[p->n - 1] - low;
    return true;
}

/* The rate of a counter over the last window (lock as for points_of). */
static bool counter_rate_of(const char *instance, const char *lock, const struct runner_view *v, const char *metric,
                            double window, double *rate)
{
    struct series p;
    bool ok;
    if (points_of(instance, lock, v, metric, v->t - window, true, &p) < 0)
        return false;
    ok = stats_counter_rate(p.t, p.v, p.n, rate) == 0;
    series_release(&p);
    return ok;
}

static bool counter_rate(const char *instance, const struct runner_view *v, const char *metric, double window,
                         double *rate)
{
    return counter_rate_of(instance, NULL, v, metric, window, rate);
}

/* The rate of orderd's mutex wait at its job queue's lock ("queue"): workers taking
 * jobs and producers handing them over, which is the queue's handoff, not a lock held
 * too long (0 when the service has no such series). */
static double queue_lock_wait_rate(const char *instance, const struct runner_view *v)
{
    double rate;
    return counter_rate_of(instance, ORDERD_QUEUE_LOCK, v, METRIC_ORDERD_MUTEX_WAIT, DIAGNOSE_WINDOW_S, &rate) &&
                   rate > 0
               ? rate
               : 0;
}

void symptoms_state_reset(struct symptoms_state *st)
{
    st->cpu_base = INFINITY;
    st->cpu_rose_at = NAN;
    st->cpu_named_at = NAN;
    st->lock_faint_at = NAN;
}

/* Whether a reading past a level (past) has been so for a window, at t: *since is
 * when it first was (NaN: it is not), so a burst of one reading does not count. */
static bool held_for(double *since, double t, bool past, double span)
{
    if (!past) {
        *since = NAN;
        return false;
    }
    if (isnan(*since))
        *since = t;
    return t - *since >= span;
}

static bool held_a_window(double *since, double t, bool past)
{
    return held_for(since, t, past, DIAGNOSE_WINDOW_S);
}

/* CPU per request against the run's own healthy start, as the diagnosis judges a
 * faint slowdown: the lowest reading of its first DIAGNOSE_CPU_BASELINE_WINDOWS
 * windows is the base, and later readings past DIAGNOSE_CPU_REL_FACTOR times it and
 * DIAGNOSE_CPU_REL_MIN above it are the symptom. */
static bool cpu_rose(struct symptoms_state *st, double t, double cpu_rate, double request_rate)
{
    double learnt = DIAGNOSE_STARTUP_S + DIAGNOSE_WINDOW_S * (1 + DIAGNOSE_CPU_BASELINE_WINDOWS);
    double per_request = cpu_rate / request_rate;
    if (t < learnt) {
        st->cpu_base = fmin(st->cpu_base, per_request);
        return false;
    }
    /* and, as the diagnosis asks, adding a share of a core; held a window on: the
     * capture's own snapshots (at mid-run, near the end) cost a burst of CPU that lifts
     * one window of a light load past the level. */
    return held_a_window(&st->cpu_rose_at, t,
                         isfinite(st->cpu_base) && st->cpu_base > 0 &&
                             per_request >= fmax(st->cpu_base * DIAGNOSE_CPU_REL_FACTOR,
                                                 st->cpu_base + DIAGNOSE_CPU_REL_MIN) &&
                             cpu_rate - st->cpu_base * request_rate >= DIAGNOSE_CPU_REL_MIN_CORE);
}

bool symptoms_show(const char *instance, struct symptoms_state *st, const struct runner_view *v, enum symptom s)
{
    struct series p, q;
    double x, y;
    bool shows = false;
    /* The service's process started then: at the run's start, or when a restart made
     * it ready again. A new process's threads and memory start from low and its
     * start-up climbs: nothing before it is a level or a slope of this one's. */
    double born = v->restarts && !isnan(v->restarted_t) ? v->restarted_t : 0;

    switch (s) {
    case SYMPTOM_THREADS:
        if (points_either(instance, v, GATE_PROC_THREADS, METRIC_PROCESS_THREADS, born, &p) == 0 ||
            points(instance, v, METRIC_GO_THREADS, born, &p) == 0) {
            shows = rise_above_low(&p, &x) && x >= TRIGGER_THREADS;
            series_release(&p);
        }
        if (!shows && points(instance, v, METRIC_GO_GOROUTINES, born, &p) == 0) {
            shows = rise_above_low(&p, &x) && x >= TRIGGER_THREADS;  /* a Go service leaks goroutines */
            series_release(&p);
        }
        return shows;
    case SYMPTOM_MEMORY:
        if (v->t < born + DIAGNOSE_STARTUP_S + TRIGGER_RSS_WINDOW ||
            points_either(instance, v, GATE_PROC_RSS, METRIC_PROCESS_RSS, v->t - TRIGGER_RSS_WINDOW, &p) < 0)
            return false;
        shows = stats_slope(p.t, p.v, p.n, &y) == 0 && y >= DIAGNOSE_RSS_RATE;
        series_release(&p);
        return shows;
    case SYMPTOM_QUEUE:
        if (points(instance, v, METRIC_ORDERD_QUEUE_DEPTH, v->t - 0.01, &p) < 0)
            return false;
        if (points(instance, v, METRIC_ORDERD_QUEUE_CAPACITY, v->t - 0.01, &q) == 0) {
            shows = q.v[q.n - 1] > 0 && p.v[p.n - 1] >= DIAGNOSE_QUEUE_FILL * q.v[q.n - 1];
            series_release(&q);
        }
        series_release(&p);
        return shows;
    case SYMPTOM_LOCK:
        if (!counter_rate(instance, v, METRIC_ORDERD_MUTEX_WAIT, DIAGNOSE_WINDOW_S, &x))
            return false;
        /* or the diagnosis's faint level, held as long as it asks, on the locks other
         * than the job queue's (whose waits are its handoff and reach the faint level
         * on healthy many-worker runs): a lock held too long by few threads at once,
         * which the diagnosis names only from the mutex profile (on once profiling is)
         * or the dumps */
        return x >= DIAGNOSE_LOCK_RATE ||
               held_for(&st->lock_faint_at, v->t, x - queue_lock_wait_rate(instance, v) >= DIAGNOSE_LOCK_FAINT_RATE,
                        DIAGNOSE_LOCK_FAINT_WINDOWS * DIAGNOSE_WINDOW_S);
    case SYMPTOM_CPU:
        if (v->t < born + DIAGNOSE_STARTUP_S + DIAGNOSE_WINDOW_S ||
            !counter_rate(instance, v, METRIC_ORDERD_HTTP_REQUESTS, DIAGNOSE_WINDOW_S, &y) || y < TRIGGER_MIN_REQUESTS)
            return false;
        if (!counter_rate(instance, v, GATE_PROC_CPU, DIAGNOSE_WINDOW_S, &x) &&
            !counter_rate(instance, v, METRIC_PROCESS_CPU, DIAGNOSE_WINDOW_S, &x))
            return false;
        shows = cpu_rose(st, v->t, x, y);  /* first: it learns the base from the first windows */
        /* Past the diagnosis's named level, held a window: a slowdown on from the start,
         * too faint for the absolute level and with no healthy start to rise from, whose
         * culprit the diagnosis must name - from a CPU profile, since the thread dumps
         * catch io threads running in it a few times at best. */
        return held_a_window(&st->cpu_named_at, v->t, x / y >= DIAGNOSE_CPU_PER_REQUEST_NAMED) ||
               x / y >= DIAGNOSE_CPU_PER_REQUEST || shows;
    case SYMPTOM_COUNT:
        break;
    }
    return false;
}

