/* runinfo: one run's facts from the results database. See runinfo.h. */
#include "report/runinfo.h"
#include "metric_names.h"
#include "judge/verdict.h"
#include "store/diagnoses.h"
#include "store/figures.h"
#include "store/openloads.h"
#include "store/runs.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REQUESTS_METRIC METRIC_ORDERD_HTTP_REQUESTS

void runinfo_free(struct runinfo *run)
{
    if (!run)
        return;
    free(run->params);
    free(run->gates);
    free(run->phases);
    free(run->regressions);
    free(run);
}

/* Settings the charts need that only the scenario's params record. */
static void read_params(struct runinfo *run)
{
    json_t *root = json_loads(run->params, 0, NULL), *v;

    run->warmup_s = run->duration_s = run->sample_interval_s = NAN;
    if (!root)
        return;
    if ((v = json_object_get(root, "warmup_s")) && json_is_number(v))
        run->warmup_s = json_number_value(v);
    if ((v = json_object_get(root, "duration_s")) && json_is_number(v))
        run->duration_s = json_number_value(v);
    if ((v = json_object_get(root, "sample_interval_s")) && json_is_number(v))
        run->sample_interval_s = json_number_value(v);
    if ((v = json_object_get(root, "description")) && json_is_string(v))
        snprintf(run->description, sizeof run->description, "%s", json_string_value(v));
    json_decref(root);
}

/* A new zeroed gate at the end of run->gates, or NULL at the limit or out of memory. */
static struct runinfo_gate *add_gate(struct runinfo *run)
{
    struct runinfo_gate *grown;
    if (run->ngates >= RUNINFO_MAX_GATES)
        return NULL;
    grown = realloc(run->gates, (run->ngates + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    run->gates = grown;
    memset(&run->gates[run->ngates], 0, sizeof *grown);
    return &run->gates[run->ngates++];
}

static void parse_spec(struct runinfo_gate *g)
{
    char ignored[256];
    g->have_spec = gate_parse(g->name, g->threshold_text, &g->spec, ignored, sizeof ignored) == 0;
}

static int load_run_row(struct resultdb *db, struct runinfo *run, bool *missing, char *err, size_t errlen)
{
    struct runs_run *row = runs_get(db, run->id, missing, err, errlen);
    struct runs_windows windows;
    struct runs_samples samples;
    int rc = -1;

    if (!row || runs_windows(db, run->id, &windows, err, errlen) < 0 ||
        runs_samples(db, run->id, &samples, err, errlen) < 0)
        goto done;
    snprintf(run->scenario, sizeof run->scenario, "%s", row->scenario);
    snprintf(run->scenario_file, sizeof run->scenario_file, "%s", row->scenario_file);
    snprintf(run->label, sizeof run->label, "%s", row->label);
    snprintf(run->git_rev, sizeof run->git_rev, "%s", row->git_rev);
    snprintf(run->host, sizeof run->host, "%s", row->host);
    snprintf(run->started_at, sizeof run->started_at, "%s", row->started_at);
    snprintf(run->ended_at, sizeof run->ended_at, "%s", row->ended_at);
    snprintf(run->status, sizeof run->status, "%s", row->status);
    snprintf(run->verdict, sizeof run->verdict, "%s", row->verdict);
    snprintf(run->exit_reason, sizeof run->exit_reason, "%s", row->exit_reason);
    snprintf(run->log_dir, sizeof run->log_dir, "%s", row->log_dir);
    run->params = row->params;
    row->params = NULL;
    run->steady_from = row->steady_from;
    run->steady_to = row->steady_to;
    run->service_pid = row->service_pid;
    run->last_t = samples.last_t;
    snprintf(run->requests_metric, sizeof run->requests_metric, "%s",
             windows.metric[0] ? windows.metric : DEFAULT_REQUESTS_METRIC);
    read_params(run);
    rc = 0;
done:
    runs_run_free(row);
    return rc;
}

static int load_gates(struct resultdb *db, struct runinfo *run, char *err, size_t errlen)
{
    struct runs_gate *gates;
    size_t n;

    if (runs_gates(db, run->id, &gates, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct runinfo_gate *g = add_gate(run);
        if (!g) {
            snprintf(err, errlen, "run %lld: more than %d gates, or out of memory", (long long)run->id,
                     RUNINFO_MAX_GATES);
            free(gates);
            return -1;
        }
        snprintf(g->name, sizeof g->name, "%s", gates[i].name);
        snprintf(g->threshold_text, sizeof g->threshold_text, "%s", gates[i].threshold_text);
        snprintf(g->unit, sizeof g->unit, "%s", gates[i].unit);
        g->threshold = gates[i].threshold;
        g->observed = gates[i].observed;
        g->passed = gates[i].passed;
        g->expected_to_fail = gates[i].expected_to_fail;
        snprintf(g->error, sizeof g->error, "%s", gates[i].error);
        snprintf(g->instance, sizeof g->instance, "%s", gates[i].instance);
        g->instances = gates[i].instances;
        snprintf(g->outcome, sizeof g->outcome, "%s", gates[i].outcome);
        parse_spec(g);
    }
    free(gates);
    run->gates_judged = run->ngates > 0;
    return 0;
}

/* A run stopped before its gates were judged still has thresholds worth drawing:
 * the scenario's, from params. */
static void gates_from_params(struct runinfo *run)
{
    json_t *root = json_loads(run->params, 0, NULL), *gates, *g;
    size_t i;

    if (!root)
        return;
    gates = json_object_get(root, "gates");
    json_array_foreach(gates, i, g) {
        struct runinfo_gate *out;
        const char *name = json_string_value(json_object_get(g, "name"));
        const char *threshold = json_string_value(json_object_get(g, "threshold"));
        if (!name || !threshold || !(out = add_gate(run)))
            continue;
        snprintf(out->name, sizeof out->name, "%s", name);
        snprintf(out->threshold_text, sizeof out->threshold_text, "%s", threshold);
        out->threshold = json_number_value(json_object_get(g, "threshold_base"));
        out->observed = NAN;
        out->passed = -1;
        out->expected_to_fail = json_is_true(json_object_get(g, "expected_to_fail"));
        snprintf(out->outcome, sizeof out->outcome, "not judged");
        parse_spec(out);
        if (out->have_spec)
            snprintf(out->unit, sizeof out->unit, "%s", gate_unit(&out->spec));
    }
    json_decref(root);
}

static int load_phases(struct resultdb *db, struct runinfo *run, char *err, size_t errlen)
{
    struct runs_phase *phases;
    size_t n;

    if (runs_phases(db, run->id, &phases, &n, err, errlen) < 0)
        return -1;
    if (n && !(run->phases = calloc(n, sizeof *run->phases))) {
        free(phases);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct runinfo_phase *p = &run->phases[run->nphases++];
        snprintf(p->phase, sizeof p->phase, "%s", phases[i].phase);
        snprintf(p->fault, sizeof p->fault, "%s", phases[i].fault);
        snprintf(p->term, sizeof p->term, "%s", phases[i].term);
        p->on_at = phases[i].on_at;
        p->off_at = phases[i].off_at;
        p->still_on = isnan(p->off_at);
        if (p->still_on)
            p->off_at = !isnan(run->last_t) ? run->last_t : run->steady_to;
    }
    free(phases);
    return 0;
}

static int load_results(struct resultdb *db, struct runinfo *run, char *err, size_t errlen)
{
    struct runs_load loads[2];
    size_t n;

    if (runs_loads(db, run->id, loads, &n, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct runs_load *from = &loads[i];
        struct runinfo_load *l = strcmp(from->stage, "warmup") == 0 ? &run->warmup : &run->measure;
        l->present = true;
        l->started_at = from->started_at;
        l->duration_s = from->duration_s;
        l->throughput = from->throughput;
        l->error_rate = from->error_rate;
        l->p50 = from->p50;
        l->p75 = from->p75;
        l->p90 = from->p90;
        l->p99 = from->p99;
        l->p999 = from->p999;
        l->latency_max = from->latency_max;
        l->requests = from->requests;
        l->errors = from->errors_connect + from->errors_read + from->errors_write + from->errors_status +
                    from->errors_timeout;
        l->connections = from->connections;
        l->threads = from->threads;
    }
    return 0;
}

struct runinfo *runinfo_load(struct resultdb *rdb, int64_t id, bool *missing, char *err, size_t errlen)
{
    struct runinfo *run = calloc(1, sizeof *run);
    int behind;

    *missing = false;
    if (!run) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    run->id = id;
    if (load_run_row(rdb, run, missing, err, errlen) < 0 || load_gates(rdb, run, err, errlen) < 0 ||
        load_phases(rdb, run, err, errlen) < 0 || load_results(rdb, run, err, errlen) < 0 ||
        diagnoses_load(rdb, id, run->diagnoses, DIAGNOSE_MAX_FINDINGS, &run->ndiagnoses, run->diagnosed_at,
                       sizeof run->diagnosed_at, err, errlen) < 0)
        goto fail;
    if (!(run->regressions = calloc(RUNINFO_MAX_REGRESSIONS, sizeof *run->regressions))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (figures_regressions_of_run(rdb, id, run->regressions, RUNINFO_MAX_REGRESSIONS, &run->nregressions, err,
                                   errlen) < 0)
        goto fail;
    if ((behind = openloads_behind_schedule(rdb, id, err, errlen)) < 0)
        goto fail;
    run->behind_schedule = behind == 1;
    {
        struct openloads_window *w = NULL;
        size_t nw = 0;
        if (openloads_windows(rdb, id, "measure", &w, &nw, err, errlen) < 0)
            goto fail;
        run->open_model = nw > 0;
        openloads_windows_free(w, nw);
    }
    if (!run->gates_judged)
        gates_from_params(run);
    return run;
fail:
    runinfo_free(run);
    return NULL;
}

size_t runinfo_gates_against_expectation(const struct runinfo *run)
{
    size_t n = 0;
    if (!run->gates_judged)
        return 0;
    for (size_t i = 0; i < run->ngates; i++)
        n += !verdict_met(verdict_outcome(run->gates[i].passed, run->gates[i].expected_to_fail));
    return n;
}

bool runinfo_met(const struct runinfo *run)
{
    return strcmp(run->status, "completed") == 0 && strcmp(run->verdict, "met") == 0;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

static int compare_ids(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Appends the runs one word names. Returns the count added, or -1 with err filled. */
static int select_word(struct resultdb *db, const char *word, int64_t *ids, size_t *n, char *err, size_t errlen)
{
    bool full = false;
    int added;

    if (word && all_digits(word)) {
        int64_t id = strtoll(word, NULL, 10);
        if ((added = runs_exists(db, id, err, errlen)) <= 0)
            return added;
        full = *n >= RUNINFO_MAX_RUNS;
        if (!full)
            ids[(*n)++] = id;
    } else {
        added = runs_ids(db, word, ids, n, RUNINFO_MAX_RUNS, &full, err, errlen);
    }
    if (full) {
        snprintf(err, errlen, "more than %d runs selected; name runs or scenarios", RUNINFO_MAX_RUNS);
        return -1;
    }
    return added;
}

int runinfo_select(struct resultdb *db, char *const *words, size_t nwords, int64_t **ids, size_t *n,
                   char *err, size_t errlen)
{
    int64_t *out = calloc(RUNINFO_MAX_RUNS, sizeof *out);
    size_t count = 0, kept = 0;
    int rc = -1, added;

    *ids = NULL;
    *n = 0;
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (nwords == 0) {
        if ((added = select_word(db, NULL, out, &count, err, errlen)) < 0)
            goto done;
        if (added == 0) {
            snprintf(err, errlen, "the results database holds no runs yet (loadlab run records them)");
            rc = 1;
            goto done;
        }
    }
    for (size_t i = 0; i < nwords; i++) {
        if ((added = select_word(db, words[i], out, &count, err, errlen)) < 0)
            goto done;
        if (added == 0) {
            if (all_digits(words[i]))
                snprintf(err, errlen, "no run %s in the results database (loadlab list shows them)", words[i]);
            else
                snprintf(err, errlen, "no run of a scenario named '%s' in the results database", words[i]);
            rc = 1;
            goto done;
        }
    }
    qsort(out, count, sizeof *out, compare_ids);
    for (size_t i = 0; i < count; i++)
        if (kept == 0 || out[kept - 1] != out[i])
            out[kept++] = out[i];
    *ids = out;
    *n = kept;
    out = NULL;
    rc = 0;
done:
    free(out);
    return rc;
}
