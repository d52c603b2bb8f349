/* runs: typed readers of a run's rows. See runs.h. */
#include "store/runs.h"
#include "store/storedb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void runs_run_free(struct runs_run *run)
{
    if (!run)
        return;
    free(run->params);
    free(run);
}

static void read_run(sqlite3_stmt *st, struct runs_run *run)
{
    const unsigned char *params = sqlite3_column_text(st, 11);

    run->id = sqlite3_column_int64(st, 0);
    storedb_text(st, 1, run->scenario, sizeof run->scenario);
    storedb_text(st, 2, run->scenario_file, sizeof run->scenario_file);
    storedb_text(st, 3, run->label, sizeof run->label);
    storedb_text(st, 4, run->git_rev, sizeof run->git_rev);
    storedb_text(st, 5, run->host, sizeof run->host);
    storedb_text(st, 6, run->started_at, sizeof run->started_at);
    storedb_text(st, 7, run->ended_at, sizeof run->ended_at);
    storedb_text(st, 8, run->status, sizeof run->status);
    storedb_text(st, 9, run->verdict, sizeof run->verdict);
    storedb_text(st, 10, run->exit_reason, sizeof run->exit_reason);
    run->params = strdup(params ? (const char *)params : "{}");
    storedb_text(st, 12, run->log_dir, sizeof run->log_dir);
    run->service_pid = sqlite3_column_int64(st, 13);
    run->steady_from = storedb_real(st, 14);
    run->steady_to = storedb_real(st, 15);
}

struct runs_run *runs_get(struct resultdb *db, int64_t id, bool *missing, char *err, size_t errlen)
{
    struct runs_run *run = calloc(1, sizeof *run);
    sqlite3_stmt *st = NULL;
    int step;

    *missing = false;
    if (!run) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (storedb_prepare(db, "SELECT id, scenario, scenario_file, label, git_rev, host, started_at, ended_at, "
                            "status, verdict, exit_reason, params, log_dir, service_pid, steady_from, steady_to "
                            "FROM runs WHERE id = ?", &st, "reading a run", err, errlen) < 0)
        goto fail;
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_DONE) {
        *missing = true;
        snprintf(err, errlen, "no run %lld in the results database", (long long)id);
        goto fail;
    }
    if (step != SQLITE_ROW) {
        storedb_fail(db, "reading a run", err, errlen);
        goto fail;
    }
    read_run(st, run);
    if (!run->params) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    sqlite3_finalize(st);
    return run;
fail:
    sqlite3_finalize(st);
    runs_run_free(run);
    return NULL;
}

/* Grows *array of *n elements of size by one zeroed element, at most max. Returns
 * the new element, or NULL at the limit or out of memory. */
static void *append(void **array, size_t *n, size_t size, size_t max)
{
    char *grown;
    if (*n >= max || !(grown = realloc(*array, (*n + 1) * size)))
        return NULL;
    *array = grown;
    memset(grown + *n * size, 0, size);
    return grown + (*n)++ * size;
}

int runs_gates(struct resultdb *db, int64_t id, struct runs_gate **gates, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1, fleet = resultdb_has_column(db, "gates", "instance", err, errlen);

    *gates = NULL;
    *n = 0;
    if (fleet < 0)
        return -1;
    /* a file older than schema 7 read-only has no instance columns */
    if (storedb_prepare(db, fleet ? "SELECT g.name, g.threshold_text, g.unit, g.op, g.threshold, g.observed, "
                                    "coalesce(g.passed, -1), g.expected_to_fail, g.error, v.outcome, g.instance, "
                                    "coalesce(g.instances, 0) "
                                    "FROM gates g JOIN gate_verdicts v ON v.run_id = g.run_id AND v.name = g.name "
                                    "WHERE g.run_id = ? ORDER BY g.rowid"
                                  : "SELECT g.name, g.threshold_text, g.unit, g.op, g.threshold, g.observed, "
                                    "coalesce(g.passed, -1), g.expected_to_fail, g.error, v.outcome, NULL, 0 "
                                    "FROM gates g JOIN gate_verdicts v ON v.run_id = g.run_id AND v.name = g.name "
                                    "WHERE g.run_id = ? ORDER BY g.rowid", &st, "reading gates", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct runs_gate *g = append((void **)gates, n, sizeof *g, RUNS_MAX_GATES);
        if (!g) {
            snprintf(err, errlen, "run %lld: more than %d gates, or out of memory", (long long)id, RUNS_MAX_GATES);
            goto done;
        }
        storedb_text(st, 0, g->name, sizeof g->name);
        storedb_text(st, 1, g->threshold_text, sizeof g->threshold_text);
        storedb_text(st, 2, g->unit, sizeof g->unit);
        storedb_text(st, 3, g->op, sizeof g->op);
        g->threshold = storedb_real(st, 4);
        g->observed = storedb_real(st, 5);
        g->passed = sqlite3_column_int(st, 6);
        g->expected_to_fail = sqlite3_column_int(st, 7) != 0;
        g->has_error = sqlite3_column_type(st, 8) != SQLITE_NULL;
        storedb_text(st, 8, g->error, sizeof g->error);
        storedb_text(st, 9, g->outcome, sizeof g->outcome);
        storedb_text(st, 10, g->instance, sizeof g->instance);
        g->instances = sqlite3_column_int(st, 11);
    }
    if (step != SQLITE_DONE) {
        storedb_fail(db, "reading gates", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0) {
        free(*gates);
        *gates = NULL;
        *n = 0;
    }
    return rc;
}

int runs_phases(struct resultdb *db, int64_t id, struct runs_phase **phases, size_t *n, char *err,
                size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1;

    *phases = NULL;
    *n = 0;
    if (storedb_prepare(db, "SELECT phase, fault, term, on_at, off_at FROM phases WHERE run_id = ? "
                            "ORDER BY on_at, id", &st, "reading phases", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct runs_phase *p = append((void **)phases, n, sizeof *p, RUNS_MAX_PHASES);
        if (!p) {
            snprintf(err, errlen, "run %lld: more than %d phases, or out of memory", (long long)id,
                     RUNS_MAX_PHASES);
            goto done;
        }
        storedb_text(st, 0, p->phase, sizeof p->phase);
        storedb_text(st, 1, p->fault, sizeof p->fault);
        storedb_text(st, 2, p->term, sizeof p->term);
        p->on_at = storedb_real(st, 3);
        p->off_at = storedb_real(st, 4);
    }
    if (step != SQLITE_DONE) {
        storedb_fail(db, "reading phases", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0) {
        free(*phases);
        *phases = NULL;
        *n = 0;
    }
    return rc;
}

int runs_restarts(struct resultdb *db, int64_t id, struct runs_restart *out, size_t cap, size_t *n, char *err,
                  size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc;

    *n = 0;
    /* a file of an older schema opened read-only has no such table: no restarts */
    if ((rc = resultdb_table_exists(db, "restarts", err, errlen)) <= 0)
        return rc;
    if (storedb_prepare(db, "SELECT asked_at, ready_at FROM restarts WHERE run_id = ? ORDER BY asked_at", &st,
                        "reading restarts", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            rc = 1;
            break;
        }
        out[*n].asked_at = storedb_real(st, 0);
        out[*n].ready_at = storedb_real(st, 1);
        (*n)++;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = storedb_fail(db, "reading restarts", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

static void read_load(sqlite3_stmt *st, struct runs_load *l)
{
    memset(l, 0, sizeof *l);
    storedb_text(st, 0, l->stage, sizeof l->stage);
    l->started_at = storedb_real(st, 1);
    l->duration_s = storedb_real(st, 2);
    l->throughput = storedb_real(st, 3);
    l->error_rate = storedb_real(st, 4);
    l->p50 = storedb_real(st, 5);
    l->p75 = storedb_real(st, 6);
    l->p90 = storedb_real(st, 7);
    l->p99 = storedb_real(st, 8);
    l->p999 = storedb_real(st, 9);
    l->latency_max = storedb_real(st, 10);
    l->requests = sqlite3_column_int64(st, 11);
    l->errors_connect = sqlite3_column_int64(st, 12);
    l->errors_read = sqlite3_column_int64(st, 13);
    l->errors_write = sqlite3_column_int64(st, 14);
    l->errors_status = sqlite3_column_int64(st, 15);
    l->errors_timeout = sqlite3_column_int64(st, 16);
    l->connections = (unsigned)sqlite3_column_int(st, 17);
    l->threads = (unsigned)sqlite3_column_int(st, 18);
}

int runs_loads(struct resultdb *db, int64_t id, struct runs_load loads[2], size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    *n = 0;
    if (storedb_prepare(db, "SELECT stage, started_at, duration_s, throughput, error_rate, p50_s, p75_s, p90_s, "
                            "p99_s, p999_s, latency_max_s, requests, errors_connect, errors_read, errors_write, "
                            "errors_status, errors_timeout, connections, threads FROM load_results "
                            "WHERE run_id = ? ORDER BY started_at", &st, "reading load results", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < 2)
        read_load(st, &loads[(*n)++]);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "reading load results", err, errlen);
    return 0;
}

int runs_windows(struct resultdb *db, int64_t id, struct runs_windows *out, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    memset(out, 0, sizeof *out);
    if (storedb_prepare(db, "SELECT count(*), min(throughput), avg(throughput), max(throughput), max(metric) "
                            "FROM windows WHERE run_id = ?", &st, "reading throughput windows", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if ((step = sqlite3_step(st)) == SQLITE_ROW) {
        out->count = sqlite3_column_int(st, 0);
        out->min = storedb_real(st, 1);
        out->mean = storedb_real(st, 2);
        out->max = storedb_real(st, 3);
        storedb_text(st, 4, out->metric, sizeof out->metric);
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? 0 : storedb_fail(db, "reading throughput windows", err, errlen);
}

int runs_samples(struct resultdb *db, int64_t id, struct runs_samples *out, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    memset(out, 0, sizeof *out);
    if (storedb_prepare(db, "SELECT count(*), count(DISTINCT metric || labels), count(DISTINCT metric), "
                            "min(t), max(t) FROM samples WHERE run_id = ?", &st, "counting samples", err,
                        errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if ((step = sqlite3_step(st)) == SQLITE_ROW) {
        out->values = sqlite3_column_int64(st, 0);
        out->series = sqlite3_column_int(st, 1);
        out->metrics = sqlite3_column_int(st, 2);
        out->first_t = storedb_real(st, 3);
        out->last_t = storedb_real(st, 4);
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? 0 : storedb_fail(db, "counting samples", err, errlen);
}

int runs_latest(struct resultdb *db, int limit, runs_overview_fn visit, void *user, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    if (storedb_prepare(db, "SELECT * FROM (SELECT o.id, started_at, scenario, label, status, verdict, "
                            "throughput, p99_ms, gates, gates_failed, "
                            "(SELECT count(*) FROM gates g WHERE g.run_id = o.id AND g.passed = 0 "
                            "AND g.expected_to_fail), "
                            "(SELECT count(*) FROM gates g WHERE g.run_id = o.id AND g.passed = 0 "
                            "AND NOT g.expected_to_fail), "
                            "(SELECT count(*) FROM gates g WHERE g.run_id = o.id AND g.passed = 1 "
                            "AND g.expected_to_fail), "
                            "(SELECT count(*) FROM gates g WHERE g.run_id = o.id AND g.passed IS NULL) "
                            "FROM run_overview o ORDER BY o.id DESC LIMIT ?) "
                            "ORDER BY id", &st, "listing runs", err, errlen) < 0)
        return -1;
    sqlite3_bind_int(st, 1, limit);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct runs_overview row = {.id = sqlite3_column_int64(st, 0)};
        storedb_text(st, 1, row.started_at, sizeof row.started_at);
        storedb_text(st, 2, row.scenario, sizeof row.scenario);
        storedb_text(st, 3, row.label, sizeof row.label);
        storedb_text(st, 4, row.status, sizeof row.status);
        storedb_text(st, 5, row.verdict, sizeof row.verdict);
        row.throughput = storedb_real(st, 6);
        row.p99_ms = storedb_real(st, 7);
        row.gates = sqlite3_column_int(st, 8);
        row.gates_failed = sqlite3_column_int(st, 9);
        row.tripped_as_expected = sqlite3_column_int(st, 10);
        row.failed = sqlite3_column_int(st, 11);
        row.held_unexpectedly = sqlite3_column_int(st, 12);
        row.errors = sqlite3_column_int(st, 13);
        visit(user, &row);
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : storedb_fail(db, "listing runs", err, errlen);
}

int runs_exists(struct resultdb *db, int64_t id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    if (storedb_prepare(db, "SELECT 1 FROM runs WHERE id = ?", &st, "selecting runs", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW || step == SQLITE_DONE)
        return step == SQLITE_ROW;
    return storedb_fail(db, "selecting runs", err, errlen);
}

int runs_ids(struct resultdb *db, const char *scenario, int64_t *ids, size_t *n, size_t cap, bool *full,
             char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, added = 0;

    *full = false;
    if (storedb_prepare(db, "SELECT id FROM runs WHERE ?1 IS NULL OR scenario = ?1 ORDER BY id", &st,
                        "selecting runs", err, errlen) < 0)
        return -1;
    if (scenario)
        sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n >= cap) {
            *full = true;
            sqlite3_finalize(st);
            return -1;
        }
        ids[(*n)++] = sqlite3_column_int64(st, 0);
        added++;
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? added : storedb_fail(db, "selecting runs", err, errlen);
}

int runs_latest_params(struct resultdb *db, const char *scenario, const char *label, char **params,
                       char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = 0;

    *params = NULL;
    if (storedb_prepare(db, "SELECT params FROM runs WHERE scenario = ? AND label = ? AND status = 'completed' "
                            "ORDER BY id DESC LIMIT 1", &st, "reading a scenario's gates", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = storedb_fail(db, "reading a scenario's gates", err, errlen);
    else if (step == SQLITE_ROW && sqlite3_column_text(st, 0) &&
             !(*params = strdup((const char *)sqlite3_column_text(st, 0)))) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    sqlite3_finalize(st);
    return rc;
}

int runs_label_scenarios(struct resultdb *db, const char *label, char (*names)[RUNS_MAX_NAME], size_t cap,
                         size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    *n = 0;
    if (storedb_prepare(db, "SELECT scenario FROM runs WHERE label = ? AND status = 'completed' "
                            "GROUP BY scenario ORDER BY min(id)", &st, "listing scenarios", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        storedb_text(st, 0, names[(*n)++], RUNS_MAX_NAME);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "listing scenarios", err, errlen);
    return 0;
}
