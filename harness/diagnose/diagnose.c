/* diagnose: a run's diagnosis from its series and evidence. See diagnose.h. */
#include "diagnose/diagnose.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/rules.h"
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
    if (samples_load_sum(in->db, in->run_id, a, NULL, out, err, errlen) < 0)
        return -1;
    *which = a;
    if (out->n >= 2)
        return 0;
    series_release(out);
    *which = b;
    return samples_load_sum(in->db, in->run_id, b, NULL, out, err, errlen);
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
    if (samples_load_sum(in->db, in->run_id, METRIC_GO_GOROUTINES, NULL, &in->threads, err, errlen) < 0)
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
        if (samples_load_sum(in->db, in->run_id, plain[i].metric, NULL, plain[i].into, err, errlen) < 0)
            return -1;
    return 0;
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

int diagnose_run(struct resultdb *db, int64_t run_id, struct diagnose_result *out, char *err, size_t errlen)
{
    return diagnose_run_against(db, run_id, NULL, out, err, errlen);
}

int diagnose_run_against(struct resultdb *db, int64_t run_id, const struct rules_baseline *baseline,
                         struct diagnose_result *out, char *err, size_t errlen)
{
    struct rules_inputs in = {.db = db, .run_id = run_id, .baseline = baseline};
    int rc;

    memset(out, 0, sizeof *out);
    out->run_id = run_id;
    if ((rc = runs_exists(db, run_id, err, errlen)) != 1) {
        if (rc == 0)
            snprintf(err, errlen, "no run %lld in the results database", (long long)run_id);
        return rc == 0 ? 1 : -1;
    }
    rc = -1;
    if (load_series(&in, err, errlen) < 0 || tally_evidence_load(db, run_id, &in.evidence, err, errlen) < 0)
        goto done;
    out->span = in.threads.n ? in.threads.t[in.threads.n - 1] : 0;
    out->dumps = in.evidence.dumps.n;
    out->profiles = in.evidence.mutex.n + in.evidence.block.n + in.evidence.heap.n + in.evidence.cpu.n;
    if (!in.threads.n && !in.requests.n) {
        snprintf(out->notes, sizeof out->notes, "the run has no samples to diagnose from");
        rc = 0;
        goto done;
    }
    if (!in.evidence.dumps.n && !out->profiles)
        snprintf(out->notes, sizeof out->notes,
                 "no evidence was captured for this run: the classes come from the metrics alone and no culprit can "
                 "be named (loadlab run --capture keeps evidence for every run)");
    rules_thread_leak(&in, out);
    rules_memory_leak(&in, out, out->n > 0 && strcmp(out->findings[0].class_name, "thread-leak") == 0);
    rules_lock_contention(&in, out);
    rules_queue_full(&in, out);
    rules_blocked_producer(&in, out);
    rules_cpu_slowdown(&in, out);
    qsort(out->findings, out->n, sizeof out->findings[0], compare_findings);
    rc = 0;
done:
    inputs_free(&in);
    return rc;
}

int diagnose_store(struct resultdb *db, const struct diagnose_result *r, char *err, size_t errlen)
{
    return diagnoses_save(db, r->run_id, r->findings, r->n, r->notes, err, errlen);
}
