/* baseline: figures, run selection and verdict storage for regression gates.
 * See baseline.h. */
#include "run/baseline.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIGURE_PREFIX_LEN 11  /* strlen("regression.") */

static int db_error(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(db));
    return -1;
}

int baseline_record_figures(struct resultdb *rdb, int64_t run_id, const struct scenario *sc,
                            const struct gate_inputs *in, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st = NULL;
    int rc = -1;

    if (sc->nregressions == 0)
        return 0;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO figures (run_id, name, unit, value, error) "
                               "VALUES (?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "recording a figure", err, errlen);
    for (size_t i = 0; i < sc->nregressions; i++) {
        const struct gate_spec *spec = &sc->regressions[i];
        struct gate_result res;

        gate_evaluate(spec, in, &res);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, spec->name + FIGURE_PREFIX_LEN, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, gate_unit(spec), -1, SQLITE_STATIC);
        if (res.verdict == GATE_ERROR) {
            sqlite3_bind_null(st, 4);
            sqlite3_bind_text(st, 5, res.detail, -1, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_double(st, 4, res.observed);
            sqlite3_bind_null(st, 5);
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            db_error(db, "recording a figure", err, errlen);
            goto done;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

/* A run's figure, as found: measured, failed to measure (with why), or absent. */
enum found { FOUND_VALUE, FOUND_ERROR, FOUND_NOTHING };

/* Columns of the query below, from 1 on: figure value, figure error, figure row
 * present, an absolute gate's observed value, then load_results columns. */
#define RUN_COLUMNS \
    "r.id, f.value, f.error, f.run_id IS NOT NULL, g.observed, l.throughput, l.error_rate, " \
    "l.p50_s, l.p75_s, l.p90_s, l.p99_s, l.p999_s, l.requests"
#define RUN_JOINS \
    " FROM runs r LEFT JOIN figures f ON f.run_id = r.id AND f.name = ?1" \
    " LEFT JOIN gates g ON g.run_id = r.id AND g.name = ?1" \
    " LEFT JOIN load_results l ON l.run_id = r.id AND l.stage = 'measure'"

static bool column_number(sqlite3_stmt *st, int col, double *v)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return false;
    *v = sqlite3_column_double(st, col);
    return !isnan(*v);
}

static enum found read_figure(sqlite3_stmt *st, enum gate_kind kind, double *value, char *why, size_t whylen)
{
    int load_column = -1;

    if (sqlite3_column_int(st, 3)) {
        if (column_number(st, 1, value))
            return FOUND_VALUE;
        snprintf(why, whylen, "%s", sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2)
                                                                : "no value");
        return FOUND_ERROR;
    }
    if (column_number(st, 4, value))
        return FOUND_VALUE;
    switch (kind) {
    case GATE_THROUGHPUT: load_column = 5; break;
    case GATE_ERROR_RATE: load_column = 6; break;
    case GATE_P50_LATENCY: load_column = 7; break;
    case GATE_P75_LATENCY: load_column = 8; break;
    case GATE_P90_LATENCY: load_column = 9; break;
    case GATE_P99_LATENCY: load_column = 10; break;
    case GATE_P999_LATENCY: load_column = 11; break;
    default: break;
    }
    if (load_column >= 7 && sqlite3_column_int64(st, 12) == 0)
        return FOUND_NOTHING;  /* no request completed: wrk's percentiles mean nothing */
    if (load_column > 0 && column_number(st, load_column, value))
        return FOUND_VALUE;
    return FOUND_NOTHING;
}

/* What one side's runs gave. */
struct side_figures {
    double values[REGRESSION_MAX_RUNS];
    int64_t ids[REGRESSION_MAX_RUNS];
    size_t n;
    size_t absent;             /* runs with no figure at all */
    size_t failed;             /* runs that failed to measure it */
    int64_t failed_run;        /* the first of them, or 0 */
    char failed_why[256];
};

static void take_row(sqlite3_stmt *st, enum gate_kind kind, struct side_figures *out)
{
    char why[256] = "";
    double v = NAN;
    enum found f = read_figure(st, kind, &v, why, sizeof why);

    if (f == FOUND_VALUE && out->n < REGRESSION_MAX_RUNS) {
        out->ids[out->n] = sqlite3_column_int64(st, 0);
        out->values[out->n++] = v;
    } else if (f == FOUND_ERROR) {
        if (!out->failed++) {
            out->failed_run = sqlite3_column_int64(st, 0);
            snprintf(out->failed_why, sizeof out->failed_why, "%s", why);
        }
    } else if (f == FOUND_NOTHING) {
        out->absent++;
    }
}

static int load_side(sqlite3 *db, const struct gate_spec *spec, const struct baseline_side *side,
                     struct side_figures *out, char *err, size_t errlen)
{
    const char *figure = spec->name + FIGURE_PREFIX_LEN;
    char host[256] = "";
    sqlite3_stmt *st = NULL;
    int step = SQLITE_DONE, rc = -1;

    memset(out, 0, sizeof *out);
    if (side->run_ids) {
        if (sqlite3_prepare_v2(db, "SELECT " RUN_COLUMNS RUN_JOINS
                                   " WHERE r.id = ?2 AND r.status = 'completed'", -1, &st, NULL) != SQLITE_OK)
            return db_error(db, "reading runs", err, errlen);
        for (size_t i = 0; i < side->nrun_ids && i < REGRESSION_MAX_RUNS; i++) {
            sqlite3_bind_text(st, 1, figure, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, side->run_ids[i]);
            step = sqlite3_step(st);
            if (step == SQLITE_ROW)
                take_row(st, spec->kind, out);
            else if (step == SQLITE_DONE)
                out->absent++;  /* the run did not complete */
            else
                break;
            sqlite3_reset(st);
            step = SQLITE_DONE;
        }
    } else {
        if (side->this_host_only && gethostname(host, sizeof host - 1) < 0)
            snprintf(host, sizeof host, "unknown");
        if (sqlite3_prepare_v2(db, "SELECT * FROM (SELECT " RUN_COLUMNS RUN_JOINS
                                   " WHERE r.scenario = ?2 AND r.label = ?3 AND r.status = 'completed'"
                                   " AND (?4 = '' OR r.host = ?4) ORDER BY r.id DESC LIMIT ?5) ORDER BY 1",
                               -1, &st, NULL) != SQLITE_OK)
            return db_error(db, "reading runs", err, errlen);
        sqlite3_bind_text(st, 1, figure, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, side->scenario, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, side->label, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, host, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)(side->latest < REGRESSION_MAX_RUNS ? side->latest
                                                                                     : REGRESSION_MAX_RUNS));
        while ((step = sqlite3_step(st)) == SQLITE_ROW)
            take_row(st, spec->kind, out);
    }
    if (step != SQLITE_DONE) {
        db_error(db, "reading runs", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

/* "3,5,7", cut with "..." when it does not fit. */
static void format_ids(const int64_t *ids, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, outlen - used, "%s%lld", i ? "," : "", (long long)ids[i]);
        if (w < 0 || (size_t)w >= outlen - used - 4) {
            snprintf(out + used, outlen - used, ",...");
            return;
        }
        used += (size_t)w;
    }
}

static int store(sqlite3 *db, const struct regression_result *r, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const double reals[] = {r->baseline_median, r->candidate_median, r->ratio, r->ci_low, r->ci_high};
    int i = 1, rc;

    if (sqlite3_prepare_v2(db, "INSERT INTO regressions (judged_at, scenario, baseline_scenario, gate, "
                               "threshold_text, unit, baseline_label, candidate_label, baseline_runs, "
                               "candidate_runs, baseline_n, candidate_n, baseline_median, candidate_median, "
                               "ratio, ci_low, ci_high, confidence, p_value, alpha, min_runs, verdict, detail) "
                               "VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'),?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "recording a regression verdict", err, errlen);
    sqlite3_bind_text(st, i++, r->scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->baseline_scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->spec.name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->spec.threshold_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, gate_unit(&r->spec), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->baseline_label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->candidate_label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->baseline_runs, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->candidate_runs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->nbaseline);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->ncandidate);
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++, i++)
        if (isnan(reals[k]))
            sqlite3_bind_null(st, i);
        else
            sqlite3_bind_double(st, i, reals[k]);
    sqlite3_bind_double(st, i++, r->opt.confidence);
    if (isnan(r->p_value))
        sqlite3_bind_null(st, i++);
    else
        sqlite3_bind_double(st, i++, r->p_value);
    sqlite3_bind_double(st, i++, r->opt.alpha);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->opt.min_runs);
    sqlite3_bind_text(st, i++, regression_verdict_name(r->verdict), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->detail, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_error(db, "recording a regression verdict", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

/* Says in the detail which runs were left out. */
static void note_left_out(struct regression_result *r, size_t base_absent, size_t cand_absent)
{
    size_t used = strlen(r->detail);
    if (base_absent + cand_absent == 0 || used >= sizeof r->detail - 1)
        return;
    snprintf(r->detail + used, sizeof r->detail - used, "; left out without the figure: %zu baseline, "
             "%zu candidate run(s)", base_absent, cand_absent);
}

static int judge_one(sqlite3 *db, const struct gate_spec *spec, const struct baseline_side *baseline,
                     const struct baseline_side *candidate, const struct regression_options *opt,
                     struct regression_result *r, char *err, size_t errlen)
{
    struct side_figures *base = malloc(sizeof *base), *cand = malloc(sizeof *cand);
    int rc = -1;

    memset(r, 0, sizeof *r);
    if (!base || !cand) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    r->spec = *spec;
    r->opt = *opt;
    snprintf(r->scenario, sizeof r->scenario, "%s", candidate->scenario);
    snprintf(r->baseline_scenario, sizeof r->baseline_scenario, "%s", baseline->scenario);
    snprintf(r->candidate_label, sizeof r->candidate_label, "%s", candidate->label);
    snprintf(r->baseline_label, sizeof r->baseline_label, "%s", baseline->label);
    if (load_side(db, spec, baseline, base, err, errlen) < 0 || load_side(db, spec, candidate, cand, err, errlen) < 0)
        goto done;
    format_ids(base->ids, base->n, r->baseline_runs, sizeof r->baseline_runs);
    format_ids(cand->ids, cand->n, r->candidate_runs, sizeof r->candidate_runs);
    regression_judge(base->values, base->n, cand->values, cand->n, r);
    if (cand->failed_run) {
        r->verdict = REGRESSION_ERROR;
        snprintf(r->detail, sizeof r->detail, "candidate run %lld could not measure %s: %s",
                 (long long)cand->failed_run, spec->name + FIGURE_PREFIX_LEN, cand->failed_why);
    }
    note_left_out(r, base->absent + base->failed, cand->absent);
    rc = store(db, r, err, errlen);
done:
    free(base);
    free(cand);
    return rc;
}

int baseline_judge(struct resultdb *rdb, const struct gate_spec *specs, size_t nspecs,
                   const struct baseline_side *baseline, const struct baseline_side *candidate,
                   const struct regression_options *opt, struct regression_result *results,
                   size_t *n, size_t cap, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    for (size_t i = 0; i < nspecs; i++) {
        if (*n >= cap) {
            snprintf(err, errlen, "more than %zu regression verdicts", cap);
            return -1;
        }
        if (judge_one(db, &specs[i], baseline, candidate, opt, &results[*n], err, errlen) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

/* The gates compare judges when the runs record none: a 5% drop in throughput, a 10% rise in p99. */
static int parse_default_gates(struct gate_spec *specs, size_t cap, size_t *n, char *err, size_t errlen)
{
    static const struct { const char *name, *change; } defaults[] = {
        {"regression.throughput", "5%"}, {"regression.p99_latency", "10%"},
    };
    *n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && *n < cap; i++) {
        if (gate_parse(defaults[i].name, defaults[i].change, &specs[*n], err, errlen) < 0)
            return -1;
        (*n)++;
    }
    return 0;
}

int baseline_scenario_gates(struct resultdb *rdb, const char *scenario, const char *label,
                            struct gate_spec *specs, size_t cap, size_t *n, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    json_t *params = NULL, *gates;
    size_t i;
    json_t *g;
    int step, rc = -1;

    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT params FROM runs WHERE scenario = ? AND label = ? AND status = 'completed' "
                               "ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "reading a scenario's gates", err, errlen);
    sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        db_error(db, "reading a scenario's gates", err, errlen);
        goto done;
    }
    if (step == SQLITE_ROW && sqlite3_column_text(st, 0))
        params = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    gates = json_object_get(params, "gates");
    json_array_foreach(gates, i, g) {
        const char *name = json_string_value(json_object_get(g, "name"));
        const char *threshold = json_string_value(json_object_get(g, "threshold"));
        if (!name || !threshold || strncmp(name, "regression.", FIGURE_PREFIX_LEN) != 0)
            continue;
        if (*n >= cap) {
            snprintf(err, errlen, "%s records more than %zu regression gates", scenario, cap);
            goto done;
        }
        if (gate_parse(name, threshold, &specs[*n], err, errlen) < 0)
            goto done;
        (*n)++;
    }
    if (*n == 0 && parse_default_gates(specs, cap, n, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    json_decref(params);
    sqlite3_finalize(st);
    return rc;
}

int baseline_label_scenarios(struct resultdb *rdb, const char *label, char (*names)[128], size_t cap,
                             size_t *n, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int step;

    *n = 0;
    if (sqlite3_prepare_v2(db, "SELECT scenario FROM runs WHERE label = ? AND status = 'completed' "
                               "GROUP BY scenario ORDER BY min(id)", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, "listing scenarios", err, errlen);
    sqlite3_bind_text(st, 1, label, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        snprintf(names[(*n)++], 128, "%.127s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_error(db, "listing scenarios", err, errlen);
    return 0;
}
