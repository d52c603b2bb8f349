/* runinfo: one run's facts from the results database. See runinfo.h. */
#include "report/runinfo.h"
#include "judge/verdict.h"
#include "store/diagnoses.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REQUESTS_METRIC "orderd_http_requests_total"

static int db_error(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(db));
    return -1;
}

static void column_text(sqlite3_stmt *st, int col, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

static double column_real(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

void runinfo_free(struct runinfo *run)
{
    if (!run)
        return;
    free(run->params);
    free(run->gates);
    free(run->phases);
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

static int load_run_row(sqlite3 *db, struct runinfo *run, bool *missing, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1;

    if (sqlite3_prepare_v2(db, "SELECT scenario, coalesce(scenario_file, ''), label, coalesce(git_rev, ''), host, "
                               "started_at, coalesce(ended_at, ''), status, coalesce(verdict, ''), "
                               "coalesce(exit_reason, ''), coalesce(log_dir, ''), params, steady_from, steady_to, "
                               "coalesce(service_pid, 0), (SELECT max(t) FROM samples s WHERE s.run_id = runs.id), "
                               "(SELECT metric FROM windows w WHERE w.run_id = runs.id LIMIT 1) "
                               "FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "reading a run", err, errlen);
    sqlite3_bind_int64(st, 1, run->id);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        *missing = true;
        snprintf(err, errlen, "no run %lld in the results database", (long long)run->id);
        goto done;
    }
    if (step != SQLITE_ROW) {
        db_error(db, "reading a run", err, errlen);
        goto done;
    }
    column_text(st, 0, run->scenario, sizeof run->scenario);
    column_text(st, 1, run->scenario_file, sizeof run->scenario_file);
    column_text(st, 2, run->label, sizeof run->label);
    column_text(st, 3, run->git_rev, sizeof run->git_rev);
    column_text(st, 4, run->host, sizeof run->host);
    column_text(st, 5, run->started_at, sizeof run->started_at);
    column_text(st, 6, run->ended_at, sizeof run->ended_at);
    column_text(st, 7, run->status, sizeof run->status);
    column_text(st, 8, run->verdict, sizeof run->verdict);
    column_text(st, 9, run->exit_reason, sizeof run->exit_reason);
    column_text(st, 10, run->log_dir, sizeof run->log_dir);
    run->params = strdup(sqlite3_column_text(st, 11) ? (const char *)sqlite3_column_text(st, 11) : "{}");
    run->steady_from = column_real(st, 12);
    run->steady_to = column_real(st, 13);
    run->service_pid = sqlite3_column_int64(st, 14);
    run->last_t = column_real(st, 15);
    column_text(st, 16, run->requests_metric, sizeof run->requests_metric);
    if (!run->requests_metric[0])
        snprintf(run->requests_metric, sizeof run->requests_metric, "%s", DEFAULT_REQUESTS_METRIC);
    if (!run->params) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    read_params(run);
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

static int load_gates(sqlite3 *db, struct runinfo *run, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1;

    if (sqlite3_prepare_v2(db, "SELECT g.name, g.threshold_text, g.unit, g.threshold, g.observed, "
                               "coalesce(g.passed, -1), g.expected_to_fail, coalesce(g.error, ''), v.outcome "
                               "FROM gates g JOIN gate_verdicts v ON v.run_id = g.run_id AND v.name = g.name "
                               "WHERE g.run_id = ? ORDER BY g.rowid", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "reading gates", err, errlen);
    sqlite3_bind_int64(st, 1, run->id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct runinfo_gate *g = add_gate(run);
        if (!g) {
            snprintf(err, errlen, "run %lld: more than %d gates, or out of memory", (long long)run->id,
                     RUNINFO_MAX_GATES);
            goto done;
        }
        column_text(st, 0, g->name, sizeof g->name);
        column_text(st, 1, g->threshold_text, sizeof g->threshold_text);
        column_text(st, 2, g->unit, sizeof g->unit);
        g->threshold = column_real(st, 3);
        g->observed = column_real(st, 4);
        g->passed = sqlite3_column_int(st, 5);
        g->expected_to_fail = sqlite3_column_int(st, 6) != 0;
        column_text(st, 7, g->error, sizeof g->error);
        column_text(st, 8, g->outcome, sizeof g->outcome);
        parse_spec(g);
    }
    if (step != SQLITE_DONE) {
        db_error(db, "reading gates", err, errlen);
        goto done;
    }
    run->gates_judged = run->ngates > 0;
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
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

static int load_phases(sqlite3 *db, struct runinfo *run, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1;

    if (sqlite3_prepare_v2(db, "SELECT phase, fault, term, on_at, off_at FROM phases WHERE run_id = ? "
                               "ORDER BY on_at, id", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "reading phases", err, errlen);
    sqlite3_bind_int64(st, 1, run->id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct runinfo_phase *p, *grown;
        if (run->nphases >= RUNINFO_MAX_PHASES ||
            !(grown = realloc(run->phases, (run->nphases + 1) * sizeof *grown))) {
            snprintf(err, errlen, "run %lld: more than %d phases, or out of memory", (long long)run->id,
                     RUNINFO_MAX_PHASES);
            goto done;
        }
        run->phases = grown;
        p = &run->phases[run->nphases++];
        column_text(st, 0, p->phase, sizeof p->phase);
        column_text(st, 1, p->fault, sizeof p->fault);
        column_text(st, 2, p->term, sizeof p->term);
        p->on_at = column_real(st, 3);
        p->off_at = column_real(st, 4);
        p->still_on = isnan(p->off_at);
        if (p->still_on)
            p->off_at = !isnan(run->last_t) ? run->last_t : run->steady_to;
    }
    if (step != SQLITE_DONE) {
        db_error(db, "reading phases", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

static int load_results(sqlite3 *db, struct runinfo *run, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1;

    if (sqlite3_prepare_v2(db, "SELECT stage, started_at, duration_s, throughput, error_rate, p50_s, p75_s, p90_s, "
                               "p99_s, p999_s, latency_max_s, requests, errors_connect + errors_read + "
                               "errors_write + errors_status + errors_timeout, connections, threads "
                               "FROM load_results WHERE run_id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "reading load results", err, errlen);
    sqlite3_bind_int64(st, 1, run->id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *stage = sqlite3_column_text(st, 0);
        struct runinfo_load *l = stage && strcmp((const char *)stage, "warmup") == 0 ? &run->warmup : &run->measure;
        l->present = true;
        l->started_at = column_real(st, 1);
        l->duration_s = column_real(st, 2);
        l->throughput = column_real(st, 3);
        l->error_rate = column_real(st, 4);
        l->p50 = column_real(st, 5);
        l->p75 = column_real(st, 6);
        l->p90 = column_real(st, 7);
        l->p99 = column_real(st, 8);
        l->p999 = column_real(st, 9);
        l->latency_max = column_real(st, 10);
        l->requests = sqlite3_column_int64(st, 11);
        l->errors = sqlite3_column_int64(st, 12);
        l->connections = (unsigned)sqlite3_column_int(st, 13);
        l->threads = (unsigned)sqlite3_column_int(st, 14);
    }
    if (step != SQLITE_DONE) {
        db_error(db, "reading load results", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

struct runinfo *runinfo_load(struct resultdb *rdb, int64_t id, bool *missing, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    struct runinfo *run = calloc(1, sizeof *run);

    *missing = false;
    if (!run) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    run->id = id;
    if (load_run_row(db, run, missing, err, errlen) < 0 || load_gates(db, run, err, errlen) < 0 ||
        load_phases(db, run, err, errlen) < 0 || load_results(db, run, err, errlen) < 0 ||
        diagnoses_load(rdb, id, run->diagnoses, DIAGNOSE_MAX_FINDINGS, &run->ndiagnoses, run->diagnosed_at,
                       sizeof run->diagnosed_at, err, errlen) < 0)
        goto fail;
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

/* Appends the ids a query yields. Returns the count added, or -1 with err filled. */
static int collect(sqlite3 *db, sqlite3_stmt *st, int64_t *ids, size_t *n, char *err, size_t errlen)
{
    int step, added = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n >= RUNINFO_MAX_RUNS) {
            snprintf(err, errlen, "more than %d runs selected; name runs or scenarios", RUNINFO_MAX_RUNS);
            return -1;
        }
        ids[(*n)++] = sqlite3_column_int64(st, 0);
        added++;
    }
    if (step != SQLITE_DONE)
        return db_error(db, "selecting runs", err, errlen);
    return added;
}

int runinfo_select(struct resultdb *rdb, char *const *words, size_t nwords, int64_t **ids, size_t *n,
                   char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *by_id = NULL, *by_scenario = NULL, *all = NULL;
    int64_t *out = calloc(RUNINFO_MAX_RUNS, sizeof *out);
    size_t count = 0, kept = 0;
    int rc = -1, added;

    *ids = NULL;
    *n = 0;
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sqlite3_prepare_v2(db, "SELECT id FROM runs WHERE id = ?", -1, &by_id, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id FROM runs WHERE scenario = ? ORDER BY id", -1, &by_scenario, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY id", -1, &all, NULL) != SQLITE_OK) {
        db_error(db, "selecting runs", err, errlen);
        goto done;
    }
    if (nwords == 0) {
        if ((added = collect(db, all, out, &count, err, errlen)) < 0)
            goto done;
        if (added == 0) {
            snprintf(err, errlen, "the results database holds no runs yet (loadlab run records them)");
            rc = 1;
            goto done;
        }
    }
    for (size_t i = 0; i < nwords; i++) {
        sqlite3_stmt *st = all_digits(words[i]) ? by_id : by_scenario;
        if (st == by_id)
            sqlite3_bind_int64(st, 1, strtoll(words[i], NULL, 10));
        else
            sqlite3_bind_text(st, 1, words[i], -1, SQLITE_STATIC);
        added = collect(db, st, out, &count, err, errlen);
        sqlite3_reset(st);
        if (added < 0)
            goto done;
        if (added == 0) {
            if (st == by_id)
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
    sqlite3_finalize(by_id);
    sqlite3_finalize(by_scenario);
    sqlite3_finalize(all);
    free(out);
    return rc;
}
