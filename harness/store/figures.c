/* figures: the figures and regressions tables. See figures.h. */
#include "store/figures.h"
#include "store/storedb.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int figures_record(struct resultdb *db, int64_t run_id, const char *name, const char *unit, double value,
                   const char *error, char *err, size_t errlen)
{
    return figures_record_counted(db, run_id, name, unit, value, NULL, error, err, errlen);
}

int figures_record_counted(struct resultdb *db, int64_t run_id, const char *name, const char *unit,
                           double value, const char *counter, const char *error, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc;

    if (storedb_prepare(db, "INSERT OR REPLACE INTO figures (run_id, name, unit, value, error, counter) "
                            "VALUES (?, ?, ?, ?, ?, ?)", &st, "recording a figure", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, unit, -1, SQLITE_STATIC);
    storedb_bind_real(st, 4, value);
    sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, counter, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : storedb_fail(db, "recording a figure", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

/* Columns of the queries below: the run, the figure's row, an absolute gate's
 * observed value, then load_results columns. ?1 is the figure's name. */
#define RUN_COLUMNS \
    "r.id, f.value, f.error, f.run_id IS NOT NULL, g.observed, l.throughput, l.error_rate, " \
    "l.p50_s, l.p75_s, l.p90_s, l.p99_s, l.p999_s, l.requests, f.counter, r.git_rev, " \
    "CASE WHEN json_valid(r.params) THEN json_extract(r.params, '$.definition') END"
#define RUN_JOINS \
    " FROM runs r LEFT JOIN figures f ON f.run_id = r.id AND f.name = ?1" \
    " LEFT JOIN gates g ON g.run_id = r.id AND g.name = ?1" \
    " LEFT JOIN load_results l ON l.run_id = r.id AND l.stage = 'measure'"

static void read_run(sqlite3_stmt *st, struct figures_run *out)
{
    memset(out, 0, sizeof *out);
    out->run_id = sqlite3_column_int64(st, 0);
    out->value = storedb_real(st, 1);
    out->has_error = sqlite3_column_type(st, 2) != SQLITE_NULL;
    storedb_text(st, 2, out->error, sizeof out->error);
    out->recorded = sqlite3_column_int(st, 3) != 0;
    out->gate_observed = storedb_real(st, 4);
    out->throughput = storedb_real(st, 5);
    out->error_rate = storedb_real(st, 6);
    out->p50 = storedb_real(st, 7);
    out->p75 = storedb_real(st, 8);
    out->p90 = storedb_real(st, 9);
    out->p99 = storedb_real(st, 10);
    out->p999 = storedb_real(st, 11);
    out->requests = sqlite3_column_int64(st, 12);
    storedb_text(st, 13, out->counter, sizeof out->counter);
    storedb_text(st, 14, out->git_rev, sizeof out->git_rev);
    storedb_text(st, 15, out->definition, sizeof out->definition);
}

int figures_of_run(struct resultdb *db, const char *name, int64_t run_id, struct figures_run *out,
                   char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    if (storedb_prepare(db, "SELECT " RUN_COLUMNS RUN_JOINS " WHERE r.id = ?2 AND r.status = 'completed'", &st,
                        "reading runs", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run_id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        read_run(st, out);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "reading runs", err, errlen);
    return step == SQLITE_ROW;
}

int figures_of_latest(struct resultdb *db, const char *name, const char *scenario, const char *label,
                      const char *host, struct figures_run *runs, size_t cap, size_t *n, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    *n = 0;
    if (storedb_prepare(db, "SELECT * FROM (SELECT " RUN_COLUMNS RUN_JOINS
                            " WHERE r.scenario = ?2 AND (?3 = '' OR r.label = ?3) AND r.status = 'completed'"
                            " AND (?4 = '' OR r.host = ?4) ORDER BY r.id DESC LIMIT ?5) ORDER BY 1",
                        &st, "reading runs", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, host ? host : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)cap);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        read_run(st, &runs[(*n)++]);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "reading runs", err, errlen);
    return 0;
}

int figures_history(struct resultdb *db, const char *name, const char *scenario, const char *label,
                    struct figures_run *runs, size_t cap, size_t *n, char *err, size_t errlen)
{
    return figures_of_latest(db, name, scenario, label ? label : "", "", runs, cap, n, err, errlen);
}

int figures_record_regression(struct resultdb *db, const struct regression_result *r, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const double reals[] = {r->baseline_median, r->candidate_median, r->ratio, r->ci_low, r->ci_high};
    int i = 1, rc;

    if (storedb_prepare(db, "INSERT INTO regressions (judged_at, scenario, baseline_scenario, gate, "
                            "threshold_text, unit, baseline_label, candidate_label, baseline_runs, "
                            "candidate_runs, baseline_n, candidate_n, baseline_median, candidate_median, "
                            "ratio, ci_low, ci_high, confidence, p_value, alpha, min_runs, verdict, detail, method) "
                            "VALUES (strftime('%Y-%m-%dT%H:%M:%fZ','now'),"
                            "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &st, "recording a regression verdict", err, errlen) < 0)
        return -1;
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
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
        storedb_bind_real(st, i++, reals[k]);
    sqlite3_bind_double(st, i++, r->opt.confidence);
    storedb_bind_real(st, i++, r->p_value);
    sqlite3_bind_double(st, i++, r->opt.alpha);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->opt.min_runs);
    sqlite3_bind_text(st, i++, regression_verdict_name(r->verdict), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, regression_method_name(r->method), -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : storedb_fail(db, "recording a regression verdict", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int figures_record_slice(struct resultdb *db, const struct figures_slice *sl, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const double reals[] = {sl->throughput, sl->error_rate, sl->p50, sl->p90, sl->p99, sl->cpu_s};
    int i = 1, rc;

    if (storedb_prepare(db, "INSERT INTO ab_slices (candidate_run_id, baseline_run_id, pair, side, first, t, "
                            "duration_s, requests, errors, throughput, error_rate, p50_s, p90_s, p99_s, cpu_s) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &st, "recording an interleaved slice", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, i++, sl->candidate_run_id);
    sqlite3_bind_int64(st, i++, sl->baseline_run_id);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)sl->pair);
    sqlite3_bind_text(st, i++, sl->baseline ? "baseline" : "candidate", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, i++, sl->first);
    sqlite3_bind_double(st, i++, sl->t);
    sqlite3_bind_double(st, i++, sl->duration_s);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)sl->requests);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)sl->errors);
    for (size_t k = 0; k < sizeof reals / sizeof reals[0]; k++)
        storedb_bind_real(st, i++, reals[k]);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : storedb_fail(db, "recording an interleaved slice", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

/* The latest verdict of each gate whose candidate side includes run ?1. */
#define REGRESSIONS_OF_RUN(METHOD) \
    "SELECT gate, threshold_text, scenario, baseline_scenario, baseline_label, candidate_label, baseline_runs, " \
    "candidate_runs, baseline_n, candidate_n, baseline_median, candidate_median, ratio, ci_low, ci_high, " \
    "confidence, p_value, alpha, min_runs, verdict, detail, " METHOD " FROM regressions r " \
    "WHERE id = (SELECT max(id) FROM regressions r2 WHERE r2.scenario = r.scenario AND r2.gate = r.gate " \
    "AND (',' || r2.candidate_runs || ',') LIKE ('%,' || ?1 || ',%')) ORDER BY id"

static enum regression_verdict verdict_named(const char *word)
{
    static const enum regression_verdict all[] = {REGRESSION_PASS, REGRESSION_FAIL, REGRESSION_INCONCLUSIVE};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(word, regression_verdict_name(all[i])) == 0)
            return all[i];
    return REGRESSION_ERROR;
}

static void read_regression(sqlite3_stmt *st, struct regression_result *r)
{
    char gate[GATE_MAX_NAME], threshold[GATE_MAX_THRESHOLD_TEXT], word[32], method[32], msg[200];
    int c = 0;

    memset(r, 0, sizeof *r);
    storedb_text(st, c++, gate, sizeof gate);
    storedb_text(st, c++, threshold, sizeof threshold);
    /* the spec back from its text, for its units; a gate this loadlab no longer knows keeps its name */
    if (gate_parse(gate, threshold, &r->spec, msg, sizeof msg) < 0) {
        memset(&r->spec, 0, sizeof r->spec);
        r->spec.kind = GATE_METRIC;
        r->spec.regression = true;
    }
    snprintf(r->spec.name, sizeof r->spec.name, "%s", gate);
    snprintf(r->spec.threshold_text, sizeof r->spec.threshold_text, "%s", threshold);
    storedb_text(st, c++, r->scenario, sizeof r->scenario);
    storedb_text(st, c++, r->baseline_scenario, sizeof r->baseline_scenario);
    storedb_text(st, c++, r->baseline_label, sizeof r->baseline_label);
    storedb_text(st, c++, r->candidate_label, sizeof r->candidate_label);
    storedb_text(st, c++, r->baseline_runs, sizeof r->baseline_runs);
    storedb_text(st, c++, r->candidate_runs, sizeof r->candidate_runs);
    r->nbaseline = (size_t)sqlite3_column_int64(st, c++);
    r->ncandidate = (size_t)sqlite3_column_int64(st, c++);
    r->baseline_median = storedb_real(st, c++);
    r->candidate_median = storedb_real(st, c++);
    r->ratio = storedb_real(st, c++);
    r->ci_low = storedb_real(st, c++);
    r->ci_high = storedb_real(st, c++);
    r->opt.confidence = storedb_real(st, c++);
    r->p_value = storedb_real(st, c++);
    r->opt.alpha = storedb_real(st, c++);
    r->opt.min_runs = (size_t)sqlite3_column_int64(st, c++);
    storedb_text(st, c++, word, sizeof word);
    r->verdict = verdict_named(word);
    storedb_text(st, c++, r->detail, sizeof r->detail);
    storedb_text(st, c++, method, sizeof method);
    r->method = strcmp(method, "interleaved") == 0 ? REGRESSION_METHOD_INTERLEAVED : REGRESSION_METHOD_RUNS;
}

/* Steps st (prepared and bound), reading at most cap verdicts into out[0..*n), and
 * finalizes it. Returns 0, or -1 with err filled. */
static int read_regressions(struct resultdb *db, sqlite3_stmt *st, struct regression_result *out, size_t cap,
                            size_t *n, char *err, size_t errlen)
{
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        read_regression(st, &out[(*n)++]);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "reading regression verdicts", err, errlen);
    return 0;
}

int figures_regressions_of_run(struct resultdb *db, int64_t run_id, struct regression_result *out, size_t cap,
                               size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;

    *n = 0;
    /* a database before schema 4 has no method column, before schema 3 no table */
    if (sqlite3_prepare_v2(storedb_sqlite(db), REGRESSIONS_OF_RUN("method"), -1, &st, NULL) != SQLITE_OK &&
        sqlite3_prepare_v2(storedb_sqlite(db), REGRESSIONS_OF_RUN("'runs'"), -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, run_id);
    return read_regressions(db, st, out, cap, n, err, errlen);
}

/* The latest interleaved verdict of each gate and candidate label that starts with ?1. */
#define REGRESSIONS_LABELLED \
    "SELECT gate, threshold_text, scenario, baseline_scenario, baseline_label, candidate_label, baseline_runs, " \
    "candidate_runs, baseline_n, candidate_n, baseline_median, candidate_median, ratio, ci_low, ci_high, " \
    "confidence, p_value, alpha, min_runs, verdict, detail, method FROM regressions r " \
    "WHERE id = (SELECT max(id) FROM regressions r2 WHERE r2.candidate_label = r.candidate_label " \
    "AND r2.gate = r.gate AND r2.method = 'interleaved') AND substr(candidate_label, 1, length(?1)) = ?1 " \
    "ORDER BY id"

int figures_interleaved_labelled(struct resultdb *db, const char *prefix, struct regression_result *out,
                                 size_t cap, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;

    *n = 0;
    /* a database before schema 4 has no interleaved verdict */
    if (sqlite3_prepare_v2(storedb_sqlite(db), REGRESSIONS_LABELLED, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    return read_regressions(db, st, out, cap, n, err, errlen);
}

int figures_labelled(struct resultdb *db, const char *name, const char *prefix, figures_labelled_fn visit,
                     void *user, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc = -1;

    if (storedb_prepare(db, "SELECT substr(r.label, length(?2) + 1), r.scenario, f.value, coalesce(f.counter, '') "
                            "FROM figures f JOIN runs r ON r.id = f.run_id WHERE f.name = ?1 AND "
                            "r.status = 'completed' AND f.value IS NOT NULL AND "
                            "substr(r.label, 1, length(?2)) = ?2 ORDER BY r.id",
                        &st, "reading figures by label", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        char suffix[256], scenario[128], counter[32];
        storedb_text(st, 0, suffix, sizeof suffix);
        storedb_text(st, 1, scenario, sizeof scenario);
        storedb_text(st, 3, counter, sizeof counter);
        if (visit(user, suffix, scenario, storedb_real(st, 2), counter, err, errlen) < 0)
            goto done;
    }
    if (step != SQLITE_DONE) {
        storedb_fail(db, "reading figures by label", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}
