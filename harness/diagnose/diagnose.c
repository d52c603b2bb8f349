/* diagnose: a run's diagnosis from its series and evidence. See diagnose.h. */
#include "diagnose/diagnose.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/rules.h"
#include "diagnose/rules_internal.h"
#include "diagnose/tally.h"
#include "judge/gate.h"
#include "store/runs.h"
#include "store/samples.h"

const char *const diagnose_classes[DIAGNOSE_CLASS_COUNT] = {
    "thread-leak", "memory-leak", "lock-contention", "queue-full", "blocked-producer", "cpu-slowdown", "overload",
};

bool diagnose_class_valid(const char *name)
{
    for (size_t i = 0; i < DIAGNOSE_CLASS_COUNT; i++)
        if (strcmp(name, diagnose_classes[i]) == 0)
            return true;
    return false;
}

/* The first of two metrics with samples; *which names it. */
static int load_either(struct rules_inputs *in, const char *a, const char *b, struct series *out, const char **which,
                       char *err, size_t errlen)
{
    if (samples_load_sum_of(in->db, in->run_id, in->instance, a, NULL, out, err, errlen) < 0)
        return -1;
    *which = a;
    if (out->n >= 2)
        return 0;
    series_release(out);
    *which = b;
    return samples_load_sum_of(in->db, in->run_id, in->instance, b, NULL, out, err, errlen);
}

/* The series every rule may look at, each summed over its label sets. */
static int load_series(struct rules_inputs *in, char *err, size_t errlen)
{
    const struct {
        const char *metric;
        struct series *into;
    } plain[] = {
        {METRIC_ORDERD_HTTP_REQUESTS, &in->requests},
        {METRIC_ORDERD_QUEUE_DEPTH, &in->depth},
        {METRIC_ORDERD_QUEUE_CAPACITY, &in->capacity},
        {METRIC_ORDERD_QUEUE_REJECTED, &in->rejected},
        {METRIC_ORDERD_MUTEX_WAIT, &in->mutex_wait},
    };
    const char *cpu_metric;

    /* A Go service's goroutines are what leaks there, and what its goroutine profile
     * (its thread dump) counts; else the threads, from /proc or process_threads. */
    if (samples_load_sum_of(in->db, in->run_id, in->instance, METRIC_GO_GOROUTINES, NULL, &in->threads, err, errlen) < 0)
        return -1;
    in->threads_metric = METRIC_GO_GOROUTINES;
    if (in->threads.n < 2)
        series_release(&in->threads);
    if ((in->threads.n < 2 && load_either(in, GATE_PROC_THREADS, METRIC_PROCESS_THREADS, &in->threads,
                                          &in->threads_metric, err, errlen) < 0) ||
        load_either(in, GATE_PROC_RSS, METRIC_PROCESS_RSS, &in->rss, &in->rss_metric, err, errlen) < 0 ||
        load_either(in, GATE_PROC_CPU, METRIC_PROCESS_CPU, &in->cpu, &cpu_metric, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (samples_load_sum_of(in->db, in->run_id, in->instance, plain[i].metric, NULL, plain[i].into, err, errlen) < 0)
            return -1;
    return 0;
}

/* Narrows in's series and evidence to its segment [in->from, in->to). */
static void keep_segment(struct rules_inputs *in)
{
    struct series *all[] = {&in->threads, &in->rss, &in->cpu, &in->requests, &in->depth, &in->capacity,
                            &in->rejected, &in->mutex_wait};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        series_keep_between(all[i], in->from, in->to);
    tally_evidence_keep_between(&in->evidence, in->from, in->to);
}

static void inputs_free(struct rules_inputs *in)
{
    struct series *all[] = {&in->threads, &in->rss, &in->cpu, &in->requests, &in->depth, &in->capacity,
                            &in->rejected, &in->mutex_wait};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        series_release(all[i]);
    tally_evidence_free(&in->evidence);
}

static int compare_findings(const void *a, const void *b)
{
    const struct diagnose_finding *x = a, *y = b;
    double p = isnan(x->started_at) ? INFINITY : x->started_at, q = isnan(y->started_at) ? INFINITY : y->started_at;
    return p < q ? -1 : p > q;
}

/* The rules over one service's series and evidence (of one instance of a fleet when
 * in->instance is set) into out, which the caller has emptied. Returns 0, or -1 with
 * err filled. */
static const char no_evidence_note[] =
    "no evidence was captured for this run: the classes come from the metrics alone and no culprit can be named "
    "(loadlab run --capture keeps evidence for every run)";

static int diagnose_one(struct rules_inputs *in, struct diagnose_result *out, char *err, size_t errlen)
{
    int rc = -1;

    if (load_series(in, err, errlen) < 0 ||
        tally_evidence_load_of(in->db, in->run_id, in->instance, &in->evidence, err, errlen) < 0)
        goto done;
    keep_segment(in);
    out->span = in->threads.n ? in->threads.t[in->threads.n - 1] : 0;
    out->dumps = in->evidence.dumps.n;
    out->profiles = in->evidence.mutex.n + in->evidence.block.n + in->evidence.heap.n + in->evidence.cpu.n +
                    in->evidence.heap_series.n;
    if (!in->threads.n && !in->requests.n) {
        if (in->from > 0 || isfinite(in->to))
            snprintf(out->notes, sizeof out->notes, "the part of the run from t=%.1fs has no samples to diagnose from",
                     in->from);
        else
            snprintf(out->notes, sizeof out->notes, "the run has no samples to diagnose from");
        rc = 0;
        goto done;
    }
    /* a part of a restarted run: the whole run's evidence decides (diagnose_segments) */
    if (!in->evidence.dumps.n && !out->profiles && in->from <= 0 && !isfinite(in->to))
        snprintf(out->notes, sizeof out->notes, "%s", no_evidence_note);
    rules_thread_leak(in, out);
    rules_memory_leak(in, out, out->n > 0 && strcmp(out->findings[0].class_name, "thread-leak") == 0 &&
                                   !isnan(out->findings[0].started_at) ? out->findings[0].started_at : INFINITY);
    rules_heap_climb(in, out);
    rules_lock_contention(in, out);
    rules_queue_full(in, out);
    rules_blocked_producer(in, out);
    rules_lock_held_long(in, out);
    rules_cpu_slowdown(in, out);
    rc = 0;
done:
    inputs_free(in);
    return rc;
}

/* Appends text to r's notes ("; " between), unless they say it already or it does
 * not fit. */
static void add_note(struct diagnose_result *r, const char *text)
{
    size_t used = strlen(r->notes);
    if (!text[0] || strstr(r->notes, text) || used + 1 >= sizeof r->notes)
        return;
    snprintf(r->notes + used, sizeof r->notes - used, "%s%s", used ? "; " : "", text);
}

/* Adds the finding f of the segment that began with the restart asked at restarted
 * (NaN: the run's first segment) to r: the same class as a finding of an earlier segment,
 * with the same culprit or one of the two unnamed, is that problem again (a leak in
 * the code comes back after a restart): the earlier finding says so; else f is new,
 * and says which segment it was found in. */
static void add_segment_finding(struct diagnose_result *r, const struct diagnose_finding *f, double restarted)
{
    struct diagnose_finding *to;

    for (size_t i = 0; i < r->n; i++) {
        to = &r->findings[i];
        if (strcmp(to->class_name, f->class_name) != 0 || strcmp(to->instance, f->instance) != 0 ||
            (to->culprit[0] && f->culprit[0] && strcmp(to->culprit, f->culprit) != 0))
            continue;
        if (!to->culprit[0] && f->culprit[0]) {
            snprintf(to->culprit, sizeof to->culprit, "%s", f->culprit);
            to->confidence = fmax(to->confidence, f->confidence);
        }
        rules_add_line(to, "again after the restart at t=%.1fs: %s", restarted, f->summary);
        return;
    }
    if (r->n == DIAGNOSE_MAX_FINDINGS)
        return;
    to = &r->findings[r->n++];
    *to = *f;
    if (!isnan(restarted))
        rules_add_line(to, "found after the service's restart at t=%.1fs, in the new process's samples", restarted);
}

/* The rules over a service whose run had restarts (restarts[0..n-1], none: the whole
 * run at once), one segment at a time: from the run's start (or a restart's ready)
 * to the next restart's stop. A process's memory, threads and counters start again
 * from low at a restart, so a slope or a rate across it is neither the old process's
 * nor the new one's: a leak that climbed before it is found on its own segment, and
 * again after if it climbs again. in gives the run, instance and baseline; out is
 * filled as by diagnose_one. Returns 0, or -1 with err filled. */
static int diagnose_segments(struct rules_inputs *in, const struct runs_restart *restarts, size_t n,
                             struct diagnose_result *out, char *err, size_t errlen)
{
    struct diagnose_result *part;
    char note[256];
    size_t used;
    int rc = -1;

    in->from = 0;
    in->to = INFINITY;
    if (!n)
        return diagnose_one(in, out, err, errlen);
    if (!(part = malloc(sizeof *part))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    used = (size_t)snprintf(note, sizeof note, "the service was restarted at t=");
    for (size_t k = 0; k < n && used < sizeof note; k++)
        used += (size_t)snprintf(note + used, sizeof note - used, "%s%.1fs", k ? ", t=" : "", restarts[k].asked_at);
    if (used < sizeof note)
        snprintf(note + used, sizeof note - used, ": each of the run's %zu parts diagnosed on its own", n + 1);
    add_note(out, note);
    for (size_t k = 0; k <= n; k++) {
        struct rules_inputs segment = *in;
        segment.from = k ? restarts[k - 1].ready_at : 0;
        segment.to = k < n ? restarts[k].asked_at : INFINITY;
        memset(part, 0, sizeof *part);
        part->run_id = out->run_id;
        if (diagnose_one(&segment, part, err, errlen) < 0)
            goto done;
        out->span = fmax(out->span, part->span);
        out->dumps += part->dumps;
        out->profiles += part->profiles;
        for (size_t i = 0; i < part->n; i++)
            add_segment_finding(out, &part->findings[i], k ? restarts[k - 1].asked_at : NAN);
        add_note(out, part->notes);
    }
    if (out->dumps == 0 && out->profiles == 0)
        add_note(out, no_evidence_note);
    rc = 0;
done:
    free(part);
    return rc;
}

/* Adds one instance's finding f to the fleet's verdict r: the same class and culprit
 * already found on another instance gains this one's name (one problem of the whole
 * fleet, such as overload everywhere, is one finding); else a new finding that names
 * its instance. */
static void add_instance_finding(struct diagnose_result *r, const struct diagnose_finding *f, const char *instance)
{
    struct diagnose_finding *to;
    size_t used;

    for (size_t i = 0; i < r->n; i++) {
        to = &r->findings[i];
        if (strcmp(to->class_name, f->class_name) != 0 || strcmp(to->culprit, f->culprit) != 0)
            continue;
        used = strlen(to->instance);
        if (used + strlen(instance) + 3 < sizeof to->instance)
            snprintf(to->instance + used, sizeof to->instance - used, ", %s", instance);
        if (!isnan(f->started_at) && (isnan(to->started_at) || f->started_at < to->started_at))
            to->started_at = f->started_at;
        return;
    }
    if (r->n == DIAGNOSE_MAX_FINDINGS)
        return;
    to = &r->findings[r->n++];
    *to = *f;
    snprintf(to->instance, sizeof to->instance, "%s", instance);
}

/* A fleet (samples from Prometheus, one series per instance): the rules run once per
 * instance, on its series and the evidence taken from it, since a sum over replicas
 * would hide the sick one among the healthy and its evidence from the others' (and
 * blame none). Each finding names its instance. */
static int diagnose_fleet(struct resultdb *db, int64_t run_id, const struct rules_baseline *baseline,
                          char (*instances)[SERIES_MAX_VALUE], size_t n, const struct runs_restart *restarts,
                          size_t nrestarts, struct diagnose_result *out, char *err, size_t errlen)
{
    struct diagnose_result *one = malloc(sizeof *one);
    struct rules_baseline per_instance;
    char note[64];

    if (!one) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* A baseline's thread and memory levels are its runs' sums over their instances:
     * no measure for one replica's. Its CPU per request, a ratio, holds for each. */
    if (baseline) {
        per_instance = *baseline;
        per_instance.rss = per_instance.threads = NAN;
    }
    for (size_t i = 0; i < n; i++) {
        struct rules_inputs in = {.db = db, .run_id = run_id, .instance = instances[i],
                                  .baseline = baseline ? &per_instance : NULL};
        memset(one, 0, sizeof *one);
        one->run_id = run_id;
        if (diagnose_segments(&in, restarts, nrestarts, one, err, errlen) < 0) {
            free(one);
            return -1;
        }
        out->span = fmax(out->span, one->span);
        out->dumps += one->dumps;
        out->profiles += one->profiles;
        for (size_t k = 0; k < one->n; k++)
            add_instance_finding(out, &one->findings[k], instances[i]);
        add_note(out, one->notes);
    }
    snprintf(note, sizeof note, "a fleet of %zu instances, diagnosed one by one", n);
    add_note(out, note);
    free(one);
    return 0;
}

/* The restarts a single service's samples show when none was recorded (a run from
 * before schema 9, or a service restarted by something other than loadlab): its
 * process start time (process_start_time_seconds) changing between two scrapes, the
 * new process's segment from the first scrape that shows it. Up to cap into out;
 * *more when there were more. Returns 0, or -1 with err filled. */
static int restarts_seen(struct resultdb *db, int64_t run_id, struct runs_restart *out, size_t cap, size_t *n,
                         bool *more, char *err, size_t errlen)
{
    struct series started = {0};
    if (samples_load_sum_of(db, run_id, NULL, METRIC_PROCESS_START_TIME, NULL, &started, err, errlen) < 0)
        return -1;
    for (size_t i = 1; i < started.n; i++) {
        /* written to 10 ms: the same process's never moves */
        if (!(fabs(started.v[i] - started.v[i - 1]) >= 0.5))
            continue;
        if (*n == cap) {
            *more = true;
            break;
        }
        out[(*n)++] = (struct runs_restart){.asked_at = started.t[i], .ready_at = started.t[i]};
    }
    series_release(&started);
    return 0;
}

int diagnose_run(struct resultdb *db, int64_t run_id, struct diagnose_result *out, char *err, size_t errlen)
{
    return diagnose_run_against(db, run_id, NULL, out, err, errlen);
}

int diagnose_run_against(struct resultdb *db, int64_t run_id, const struct rules_baseline *baseline,
                         struct diagnose_result *out, char *err, size_t errlen)
{
    struct rules_inputs in = {.db = db, .run_id = run_id, .baseline = baseline};
    char (*instances)[SERIES_MAX_VALUE] = NULL;
    struct runs_restart restarts[DIAGNOSE_MAX_RESTARTS];
    size_t n = 0, nrestarts = 0;
    bool more_restarts;
    int rc;

    memset(out, 0, sizeof *out);
    out->run_id = run_id;
    if ((rc = runs_exists(db, run_id, err, errlen)) != 1) {
        if (rc == 0)
            snprintf(err, errlen, "no run %lld in the results database", (long long)run_id);
        return rc == 0 ? 1 : -1;
    }
    if ((rc = runs_restarts(db, run_id, restarts, DIAGNOSE_MAX_RESTARTS, &nrestarts, err, errlen)) < 0)
        return -1;
    more_restarts = rc == 1;
    if (!(instances = malloc(DIAGNOSE_MAX_INSTANCES * sizeof *instances))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if ((rc = samples_instances(db, run_id, instances, DIAGNOSE_MAX_INSTANCES, &n, err, errlen)) < 0)
        rc = -1;
    else if (n) {
        bool more = rc == 1;
        rc = diagnose_fleet(db, run_id, baseline, instances, n, restarts, nrestarts, out, err, errlen);
        if (rc == 0 && more) {
            size_t used = strlen(out->notes);
            snprintf(out->notes + used, sizeof out->notes - used, "; more than %d instances: the others were not "
                     "diagnosed", DIAGNOSE_MAX_INSTANCES);
        }
    }
    else if (!nrestarts && restarts_seen(db, run_id, restarts, DIAGNOSE_MAX_RESTARTS, &nrestarts, &more_restarts, err,
                                         errlen) < 0)
        rc = -1;
    else
        rc = diagnose_segments(&in, restarts, nrestarts, out, err, errlen);
    free(instances);
    if (rc == 0 && more_restarts) {
        char note[96];
        snprintf(note, sizeof note, "more than %d restarts: the run after the last of those read as one",
                 DIAGNOSE_MAX_RESTARTS);
        add_note(out, note);
    }
    if (rc == 0)
        qsort(out->findings, out->n, sizeof out->findings[0], compare_findings);
    return rc;
}

int diagnose_store(struct resultdb *db, const struct diagnose_result *r, char *err, size_t errlen)
{
    return diagnoses_save(db, r->run_id, r->findings, r->n, r->notes, err, errlen);
}
