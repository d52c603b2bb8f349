/* rules_baseline: the reference a baseline label's runs give the relative rules
 * (`loadlab diagnose --baseline LABEL RUN`). See rules.h.
 *
 * Three figures, each the one its rule compares against: CPU per request (the
 * median over the runs of each run's median one-second window: a healthy run's
 * windows scatter, its median does not), and the highest resident memory and thread
 * count any run held (a leak is a level far above anything healthy reached). The
 * runs are the label's latest completed ones of the same scenario, so the load, the
 * workers and the capture are the same as the run's. */
#include "diagnose/rules_internal.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/significance.h"
#include "diagnose/episode.h"
#include "judge/gate.h"
#include "judge/thresholds.h"
#include "store/runs.h"
#include "store/samples.h"

#define MAX_SCENARIO_RUNS 65536

/* The first of two metrics with two points or more into out. Returns 0, or -1 with err. */
static int load_either(struct resultdb *db, int64_t id, const char *a, const char *b, struct series *out, char *err,
                       size_t errlen)
{
    if (samples_load_sum(db, id, a, NULL, out, err, errlen) < 0)
        return -1;
    if (out->n >= 2)
        return 0;
    series_release(out);
    return samples_load_sum(db, id, b, NULL, out, err, errlen);
}

/* Adds run id's figures: its median CPU per request into medians[*nmed], its highest
 * threads and resident memory into out. Returns 0, or -1 with err. */
static int add_run(struct resultdb *db, int64_t id, struct rules_baseline *out, double *medians, size_t *nmed, char *err,
                   size_t errlen)
{
    static double starts[EPISODE_MAX_WINDOWS], req[EPISODE_MAX_WINDOWS], per_request[EPISODE_MAX_WINDOWS];
    struct series cpu = {0}, requests = {0}, threads = {0}, rss = {0};
    size_t n, k = 0;
    double median;
    int rc = -1;

    if (load_either(db, id, GATE_PROC_CPU, METRIC_PROCESS_CPU, &cpu, err, errlen) < 0 ||
        samples_load_sum(db, id, METRIC_ORDERD_HTTP_REQUESTS, NULL, &requests, err, errlen) < 0 ||
        load_either(db, id, GATE_PROC_THREADS, METRIC_PROCESS_THREADS, &threads, err, errlen) < 0 ||
        load_either(db, id, GATE_PROC_RSS, METRIC_PROCESS_RSS, &rss, err, errlen) < 0)
        goto done;
    n = rules_cpu_windows(&cpu, &requests, 0, starts, req, per_request, EPISODE_MAX_WINDOWS);
    for (size_t i = 0; i < n; i++)
        if (!isnan(per_request[i]))
            per_request[k++] = per_request[i];
    if (k && significance_median(per_request, k, &median) == 0)
        medians[(*nmed)++] = median;
    if (threads.n)
        out->threads = fmax(isnan(out->threads) ? -INFINITY : out->threads, series_max(&threads));
    for (size_t i = 0; i < rss.n; i++)
        if (rss.t[i] >= DIAGNOSE_STARTUP_S && !isnan(rss.v[i]))
            out->rss = fmax(isnan(out->rss) ? -INFINITY : out->rss, rss.v[i]);
    rc = 0;
done:
    series_release(&cpu);
    series_release(&requests);
    series_release(&threads);
    series_release(&rss);
    return rc;
}

int rules_baseline_load(struct resultdb *db, int64_t run_id, const char *label, struct rules_baseline *out, char *err,
                        size_t errlen)
{
    double medians[RULES_BASELINE_MAX_RUNS];
    struct runs_run *run = NULL;
    int64_t *ids = NULL;
    size_t n = 0, nmed = 0;
    bool missing = false, full = false;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->cpu_per_request = out->cpu_low = out->cpu_high = out->rss = out->threads = NAN;
    snprintf(out->label, sizeof out->label, "%s", label);
    if (!(run = runs_get(db, run_id, &missing, err, errlen)))
        return missing ? 1 : -1;
    snprintf(out->scenario, sizeof out->scenario, "%s", run->scenario);
    runs_run_free(run);
    run = NULL;
    if (!(ids = malloc(MAX_SCENARIO_RUNS * sizeof *ids))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (runs_ids(db, out->scenario, ids, &n, MAX_SCENARIO_RUNS, &full, err, errlen) < 0) {
        if (full)
            snprintf(err, errlen, "scenario %s has more than %d runs", out->scenario, MAX_SCENARIO_RUNS);
        goto done;
    }
    /* Newest first, until enough. */
    for (size_t i = n; i-- > 0 && out->runs < RULES_BASELINE_MAX_RUNS;) {
        if (ids[i] == run_id)
            continue;
        if (!(run = runs_get(db, ids[i], &missing, err, errlen)))
            goto done;
        if (strcmp(run->label, label) == 0 && strcmp(run->status, "completed") == 0) {
            if (add_run(db, ids[i], out, medians, &nmed, err, errlen) < 0)
                goto done;
            out->runs++;
        }
        runs_run_free(run);
        run = NULL;
    }
    if (!out->runs) {
        snprintf(err, errlen, "no completed run of scenario %s is labelled %s", out->scenario, label);
        rc = 1;
        goto done;
    }
    if (nmed && significance_median(medians, nmed, &out->cpu_per_request) == 0) {
        out->cpu_low = out->cpu_high = medians[0];
        for (size_t i = 1; i < nmed; i++) {
            out->cpu_low = fmin(out->cpu_low, medians[i]);
            out->cpu_high = fmax(out->cpu_high, medians[i]);
        }
    }
    rc = 0;
done:
    runs_run_free(run);
    free(ids);
    return rc;
}
