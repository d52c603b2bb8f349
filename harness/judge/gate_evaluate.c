/* gate, judging: which metrics each gate needs, what it observes over the steady state
 * of a run, and its verdict against the threshold. The other half of gate.h; parsing
 * is in gate.c, which this half does not need: a parsed gate_spec carries all of it. */
#include "judge/gate.h"
#include "judge/gate_open.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"

/* The metric a growth gate reads: loadlab's /proc figure, else the process_* one
 * (goroutines: Go's go_goroutines). */
static const char *growth_metric(enum gate_kind kind, bool have_proc)
{
    switch (kind) {
    case GATE_THREAD_GROWTH:
        return have_proc ? GATE_PROC_THREADS : METRIC_PROCESS_THREADS;
    case GATE_RSS_GROWTH:
        return have_proc ? GATE_PROC_RSS : METRIC_PROCESS_RSS;
    case GATE_FD_GROWTH:
        return have_proc ? GATE_PROC_FDS : METRIC_PROCESS_OPEN_FDS;
    case GATE_GOROUTINE_GROWTH:
        return METRIC_GO_GOROUTINES;
    default:
        return NULL;
    }
}

/* What a growth gate reads when its own metric is absent: a Go service has no
 * process_threads but has go_threads. NULL when there is no stand-in. */
static const char *growth_stand_in(enum gate_kind kind, bool have_proc)
{
    return kind == GATE_THREAD_GROWTH && !have_proc ? METRIC_GO_THREADS : NULL;
}

/* The service's CPU seconds: loadlab's /proc figure, else the process_* one. */
static const char *cpu_metric(bool have_proc)
{
    return have_proc ? GATE_PROC_CPU : METRIC_PROCESS_CPU;
}

/* Up to two metric names a gate needs; returns how many. */
static size_t needed_metrics(const struct gate_spec *spec, bool have_proc, const char *names[2])
{
    switch (spec->kind) {
    case GATE_THREAD_GROWTH:
    case GATE_RSS_GROWTH:
    case GATE_FD_GROWTH:
    case GATE_GOROUTINE_GROWTH:
        names[0] = growth_metric(spec->kind, have_proc);
        return 1;
    case GATE_QUEUE_SATURATION:
        names[0] = METRIC_ORDERD_QUEUE_DEPTH;
        names[1] = METRIC_ORDERD_QUEUE_CAPACITY;
        return 2;
    case GATE_REJECTED_SHARE:
        names[0] = METRIC_ORDERD_QUEUE_REJECTED;
        names[1] = METRIC_ORDERD_QUEUE_ENQUEUED;
        return 2;
    case GATE_MUTEX_WAIT_SHARE:
        names[0] = METRIC_ORDERD_MUTEX_WAIT;
        return 1;
    case GATE_CPU_PER_REQUEST:
        names[0] = cpu_metric(have_proc);
        return 1;
    case GATE_METRIC:
        names[0] = spec->selector.metric;
        return 1;
    default:
        return 0;
    }
}

int gate_want_metrics(const struct gate_spec *spec, bool have_proc, struct series_store *store)
{
    const char *names[2];
    size_t n = needed_metrics(spec, have_proc, names);
    const char *stand_in = growth_stand_in(spec->kind, have_proc);
    for (size_t i = 0; i < n; i++)
        if (series_store_want(store, names[i]) < 0)
            return -1;
    return stand_in ? series_store_want(store, stand_in) : 0;
}

int gate_check_metrics(const struct gate_spec *spec, bool have_proc,
                       const struct series_store *store, char *err, size_t errlen)
{
    const char *names[2];
    size_t n;

    if (spec->kind == GATE_METRIC)
        return 0;
    n = needed_metrics(spec, have_proc, names);
    for (size_t i = 0; i < n; i++)
        if (!series_store_has_metric(store, names[i]) &&
            !(growth_stand_in(spec->kind, have_proc) &&
              series_store_has_metric(store, growth_stand_in(spec->kind, have_proc)))) {
            snprintf(err, errlen, "gate %s needs the metric %s, which the service does not expose%s",
                     spec->name, names[i],
                     (spec->kind == GATE_THREAD_GROWTH || spec->kind == GATE_RSS_GROWTH ||
                      spec->kind == GATE_FD_GROWTH || spec->kind == GATE_CPU_PER_REQUEST)
                         ? " (and no pid is known for /proc)" : "");
            return -1;
        }
    return 0;
}

/* The series of metric (of one instance when instance is not NULL) over the steady
 * state, summed per sample; a counter's series each made free of resets first (a
 * replica that restarts) and held over samples it misses (one down), so a sum over a
 * fleet never drops (series_store_select_counter). */
static int select_series(const struct gate_inputs *in, const char *metric, const char *instance, bool counter,
                         struct series *pts, struct gate_result *out)
{
    struct series_selector sel = {0};
    snprintf(sel.metric, sizeof sel.metric, "%s", metric);
    if (instance) {
        sel.nmatchers = 1;
        snprintf(sel.matchers[0].name, sizeof sel.matchers[0].name, "%s", GATE_INSTANCE_LABEL);
        snprintf(sel.matchers[0].value, sizeof sel.matchers[0].value, "%s", instance);
    }
    if ((counter ? series_store_select_counter : series_store_select)(in->series, &sel, in->from, in->to, pts) < 0) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    if (pts->n == 0) {
        snprintf(out->detail, sizeof out->detail, "no sample of %s in the steady state", metric);
        return -1;
    }
    return 0;
}

static int select_instance(const struct gate_inputs *in, const char *metric, const char *instance,
                           struct series *pts, struct gate_result *out)
{
    return select_series(in, metric, instance, false, pts, out);
}

/* A figure of one instance (all of them summed when instance is NULL) into *value;
 * returns 0, or -1 with out->detail saying why there is none. */
typedef int (*observe_one_fn)(const struct gate_spec *spec, const struct gate_inputs *in, const char *instance,
                              double *value, struct gate_result *out);

/* On a fleet (series of several instances, as read from Prometheus) a sum would hide
 * one sick replica among healthy ones and blame none, so observe takes each instance
 * in turn and the worst figure (the largest) is the observed one, with the instance
 * named in the detail. An instance without a figure (it came or went mid-run) is
 * passed over when another has one. With one instance or none, the plain sum. */
static int observe_worst_instance(const struct gate_spec *spec, const struct gate_inputs *in, const char *metric,
                                  observe_one_fn observe, struct gate_result *out)
{
    char (*instances)[SERIES_MAX_VALUE] = malloc(GATE_MAX_INSTANCES * sizeof *instances);
    size_t n, worst_at = 0, judged = 0;
    double worst = NAN;

    if (!instances) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    n = series_store_label_values(in->series, metric, GATE_INSTANCE_LABEL, instances, GATE_MAX_INSTANCES);
    if (n < 2) {
        free(instances);
        return observe(spec, in, NULL, &out->observed, out);
    }
    for (size_t i = 0; i < n; i++) {
        double value;
        if (observe(spec, in, instances[i], &value, out) < 0 || isnan(value))
            continue;
        judged++;
        if (isnan(worst) || value > worst) {
            worst = value;
            worst_at = i;
        }
    }
    if (judged) {
        out->observed = worst;
        snprintf(out->detail, sizeof out->detail, "worst of %zu instances: %.200s", judged, instances[worst_at]);
        snprintf(out->instance, sizeof out->instance, "%s", instances[worst_at]);
        out->instances = (unsigned)judged;
    }
    free(instances);
    return judged ? 0 : -1;  /* none judged: the detail is the last instance's reason */
}

/* The metric a growth gate reads in this run: its own, or the stand-in when the
 * service has only that (a Go service's go_threads for thread_growth). */
static const char *growth_metric_present(const struct gate_spec *spec, const struct gate_inputs *in)
{
    const char *metric = growth_metric(spec->kind, in->have_proc);
    const char *stand_in = growth_stand_in(spec->kind, in->have_proc);
    return stand_in && !series_store_has_metric(in->series, metric) ? stand_in : metric;
}

static int growth_one(const struct gate_spec *spec, const struct gate_inputs *in, const char *instance,
                      double *slope, struct gate_result *out)
{
    const char *metric = growth_metric_present(spec, in);
    struct series pts;
    int rc = -1;

    if (select_instance(in, metric, instance, &pts, out) < 0)
        return -1;
    if (stats_slope(pts.t, pts.v, pts.n, slope) < 0)
        snprintf(out->detail, sizeof out->detail,
                 "%zu sample(s) of %.100s in the steady state; a slope needs 2 (sample_interval too long?)",
                 pts.n, metric);
    else
        rc = 0;
    series_release(&pts);
    return rc;
}

/* Pairs two selections by time (they come from the same scrapes). */
static size_t pair_by_time(const struct series *a, const struct series *b,
                           double *va, double *vb)
{
    size_t i = 0, j = 0, n = 0;
    while (i < a->n && j < b->n) {
        if (a->t[i] < b->t[j]) {
            i++;
        } else if (b->t[j] < a->t[i]) {
            j++;
        } else {
            va[n] = a->v[i++];
            vb[n] = b->v[j++];
            n++;
        }
    }
    return n;
}

static int saturation_one(const struct gate_spec *spec, const struct gate_inputs *in, const char *instance,
                          double *share, struct gate_result *out)
{
    struct series depth = {0}, capacity = {0};
    double *vd = NULL, *vc = NULL;
    size_t n;
    int rc = -1;

    (void)spec;
    if (select_instance(in, METRIC_ORDERD_QUEUE_DEPTH, instance, &depth, out) < 0 ||
        select_instance(in, METRIC_ORDERD_QUEUE_CAPACITY, instance, &capacity, out) < 0)
        goto done;
    vd = malloc(depth.n * sizeof *vd);
    vc = malloc(depth.n * sizeof *vc);
    if (!vd || !vc) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        goto done;
    }
    n = pair_by_time(&depth, &capacity, vd, vc);
    if (stats_share_at_or_above(vd, vc, n, GATE_SATURATION_FRACTION, share) < 0) {
        snprintf(out->detail, sizeof out->detail, METRIC_ORDERD_QUEUE_CAPACITY " is never positive");
        goto done;
    }
    rc = 0;
done:
    free(vd);
    free(vc);
    series_release(&depth);
    series_release(&capacity);
    return rc;
}

static int observe_rejected(const struct gate_inputs *in, struct gate_result *out)
{
    struct series rejected = {0}, enqueued = {0};
    double r, e;
    int rc = -1;

    if (select_series(in, METRIC_ORDERD_QUEUE_REJECTED, NULL, true, &rejected, out) < 0 ||
        select_series(in, METRIC_ORDERD_QUEUE_ENQUEUED, NULL, true, &enqueued, out) < 0)
        goto done;
    if (stats_counter_increase(rejected.v, rejected.n, &r) < 0 ||
        stats_counter_increase(enqueued.v, enqueued.n, &e) < 0) {
        snprintf(out->detail, sizeof out->detail, "fewer than 2 queue samples in the steady state");
        goto done;
    }
    out->observed = r + e > 0 ? r / (r + e) : 0;
    rc = 0;
done:
    series_release(&rejected);
    series_release(&enqueued);
    return rc;
}

static int counter_rate_one(const struct gate_inputs *in, const char *metric, const char *instance, double *rate,
                            struct gate_result *out)
{
    struct series pts;
    int rc = -1;

    if (select_series(in, metric, instance, true, &pts, out) < 0)
        return -1;
    if (stats_counter_rate(pts.t, pts.v, pts.n, rate) < 0)
        snprintf(out->detail, sizeof out->detail, "fewer than 2 samples of %s in the steady state", metric);
    else
        rc = 0;
    series_release(&pts);
    return rc;
}

static int observe_counter_rate(const struct gate_inputs *in, const char *metric, struct gate_result *out)
{
    return counter_rate_one(in, metric, NULL, &out->observed, out);
}

static int mutex_wait_one(const struct gate_spec *spec, const struct gate_inputs *in, const char *instance,
                          double *rate, struct gate_result *out)
{
    (void)spec;
    return counter_rate_one(in, METRIC_ORDERD_MUTEX_WAIT, instance, rate, out);
}

/* The service's CPU time per request: its CPU seconds per second over the steady
 * state over wrk's measured rate. Unlike throughput it barely moves when a neighbour
 * takes CPU away, so it shows what a change costs on a shared machine. */
static int observe_cpu_per_request(const struct gate_inputs *in, struct gate_result *out)
{
    double cpu_rate = 0, request_rate;

    if (!in->load) {
        snprintf(out->detail, sizeof out->detail, "no load result");
        return -1;
    }
    request_rate = wrkres_throughput(in->load);
    if (!(request_rate > 0)) {
        snprintf(out->detail, sizeof out->detail, "wrk completed no request");
        return -1;
    }
    if (observe_counter_rate(in, cpu_metric(in->have_proc), out) < 0)
        return -1;
    cpu_rate = out->observed;
    out->observed = cpu_rate / request_rate;
    return 0;
}

/* Instructions per measured request, counted by run/costmeter around [load] requests. */
static int observe_instructions(const struct gate_inputs *in, struct gate_result *out)
{
    if (!in->cost_counter) {
        snprintf(out->detail, sizeof out->detail,
                 "no instruction count: the scenario needs [load] requests = N to measure it");
        return -1;
    }
    out->observed = in->instructions_per_request;
    return 0;
}

static int observe_metric(const struct gate_spec *spec, const struct gate_inputs *in,
                          struct gate_result *out)
{
    struct series pts;
    char sel[GATE_MAX_NAME];
    int rc = -1;

    if (series_store_select(in->series, &spec->selector, in->from, in->to, &pts) < 0) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    if (series_selector_format(&spec->selector, sel, sizeof sel) < 0)
        snprintf(sel, sizeof sel, "%s", spec->selector.metric);
    if (pts.n == 0) {
        snprintf(out->detail, sizeof out->detail, "no sample of %.200s in the steady state", sel);
        goto done;
    }
    switch (spec->agg) {
    case GATE_AGG_MAX:
        rc = stats_max(pts.v, pts.n, &out->observed);
        break;
    case GATE_AGG_LAST:
        out->observed = pts.v[pts.n - 1];
        rc = 0;
        break;
    case GATE_AGG_MEAN:
        rc = stats_mean(pts.v, pts.n, &out->observed);
        break;
    case GATE_AGG_SLOPE:
        rc = stats_slope(pts.t, pts.v, pts.n, &out->observed);
        break;
    }
    if (rc < 0)
        snprintf(out->detail, sizeof out->detail, "too few usable samples of %.200s in the steady state", sel);
done:
    series_release(&pts);
    return rc;
}

static int observe_load(const struct gate_spec *spec, const struct gate_inputs *in,
                        struct gate_result *out)
{
    const struct wrkres *r = in->load;
    if (!r) {
        snprintf(out->detail, sizeof out->detail, "no load result");
        return -1;
    }
    switch (spec->kind) {
    case GATE_THROUGHPUT:
        out->observed = wrkres_throughput(r);
        break;
    case GATE_ERROR_RATE:
        out->observed = wrkres_error_rate(r);
        break;
    case GATE_P50_LATENCY:
        out->observed = r->latency_p50;
        break;
    case GATE_P75_LATENCY:
        out->observed = r->latency_p75;
        break;
    case GATE_P90_LATENCY:
        out->observed = r->latency_p90;
        break;
    case GATE_P99_LATENCY:
        out->observed = r->latency_p99;
        break;
    default:
        out->observed = r->latency_p999;
        break;
    }
    if (isnan(out->observed) || (spec->kind != GATE_THROUGHPUT && spec->kind != GATE_ERROR_RATE &&
                                 r->requests == 0)) {
        snprintf(out->detail, sizeof out->detail, "wrk completed no request");
        return -1;
    }
    return 0;
}

static bool holds(enum gate_op op, double observed, double threshold)
{
    switch (op) {
    case GATE_LT:
        return observed < threshold;
    case GATE_LE:
        return observed <= threshold;
    case GATE_GT:
        return observed > threshold;
    default:
        return observed >= threshold;
    }
}

void gate_evaluate(const struct gate_spec *spec, const struct gate_inputs *in,
                   struct gate_result *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    out->spec = spec;
    out->observed = NAN;
    if (spec->window_ns) {
        rc = gate_observe_window(spec, in, false, out);
        goto judged;
    }
    switch (spec->kind) {
    case GATE_THREAD_GROWTH:
    case GATE_RSS_GROWTH:
    case GATE_FD_GROWTH:
    case GATE_GOROUTINE_GROWTH:
        rc = observe_worst_instance(spec, in, growth_metric_present(spec, in), growth_one, out);
        break;
    case GATE_QUEUE_SATURATION:
        rc = observe_worst_instance(spec, in, METRIC_ORDERD_QUEUE_DEPTH, saturation_one, out);
        break;
    case GATE_REJECTED_SHARE:
        rc = observe_rejected(in, out);
        break;
    case GATE_MUTEX_WAIT_SHARE:
        rc = observe_worst_instance(spec, in, METRIC_ORDERD_MUTEX_WAIT, mutex_wait_one, out);
        break;
    case GATE_CPU_PER_REQUEST:
        rc = observe_cpu_per_request(in, out);
        break;
    case GATE_INSTRUCTIONS_PER_REQUEST:
        rc = observe_instructions(in, out);
        break;
    case GATE_METRIC:
        rc = observe_metric(spec, in, out);
        break;
    case GATE_DROPPED_SHARE:
        rc = gate_observe_dropped(in, out);
        break;
    default:
        rc = observe_load(spec, in, out);
        break;
    }
judged:
    if (rc < 0 || isnan(out->observed)) {
        out->verdict = GATE_ERROR;
        out->observed = NAN;
        if (!out->detail[0])
            snprintf(out->detail, sizeof out->detail, "no value");
        return;
    }
    if (spec->regression)
        out->verdict = GATE_PASS;  /* measured; the verdict is the regression module's */
    else
        out->verdict = holds(spec->op, out->observed, spec->threshold) ? GATE_PASS : GATE_FAIL;
}


bool gate_lost_early(const struct gate_spec *spec, const struct gate_inputs *in, uint64_t planned,
                     struct gate_result *out)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    out->observed = NAN;
    /* a worst window and a share of the planned total only grow: only an upper bound
     * can be lost before the end */
    if (!spec->abort_on_fail || !in->open || (spec->op != GATE_LT && spec->op != GATE_LE))
        return false;
    if (spec->window_ns) {
        if (gate_observe_window(spec, in, true, out) != 0)
            return false;
    } else if (spec->kind == GATE_DROPPED_SHARE && planned > 0) {
        /* the share can only be at least this by the end */
        out->observed = (double)in->dropped / (double)planned;
    } else {
        return false;
    }
    if (holds(spec->op, out->observed, spec->threshold))
        return false;
    out->verdict = GATE_FAIL;
    snprintf(out->detail, sizeof out->detail, "lost before the end of the load (abort_on_fail)");
    return true;
}
