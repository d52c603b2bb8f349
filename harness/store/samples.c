/* samples: series read from the `samples` table. See samples.h.
 *
 * Rows are read ordered by time, so each series grows in order and one scrape's
 * samples of a group are adjacent to its last point: summing per scrape is adding to
 * the last point, with no sort. */
#include "store/samples.h"
#include "store/storedb.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int db_error(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    if (what)
        snprintf(err, errlen, "results database: reading %s: %s", what, sqlite3_errmsg(db));
    else
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
    return -1;
}

/* Prepares sql with the run bound to ?1 and, when metric is not NULL, the metric to
 * ?2. Returns the statement, or NULL with err filled. */
static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, int64_t run_id, const char *metric, char *err,
                             size_t errlen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_error(db, NULL, err, errlen);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, run_id);
    if (metric)
        sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    return st;
}

/* Calls row(user, labels, t, value) for each sample of metric in the run with a
 * value, in time order. Returns 0, or -1 with err filled (by row when it fails). */
static int scan_metric(struct resultdb *rdb, int64_t run_id, const char *metric,
                       int (*row)(void *user, const char *labels, double t, double v, char *err, size_t errlen),
                       void *user, char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *st;
    int step, rc = -1;

    if (!(st = prepare(db, "SELECT labels, t, value FROM samples WHERE run_id = ? AND metric = ? "
                           "AND value IS NOT NULL ORDER BY t", run_id, metric, err, errlen)))
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(st, 0);
        if (row(user, labels ? labels : "", sqlite3_column_double(st, 1), sqlite3_column_double(st, 2), err,
                errlen) < 0)
            goto done;
    }
    if (step != SQLITE_DONE) {
        db_error(db, metric, err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

static int too_many(const char *metric, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: more than %d points, or out of memory", metric, SERIES_MAX_POINTS);
    return -1;
}

/* True when labels carry instance="instance" (always, when instance is NULL). */
static bool of_instance(const char *labels, const char *instance)
{
    char value[SERIES_MAX_VALUE];
    return !instance || (series_label_value(labels, SAMPLES_INSTANCE_LABEL, value, sizeof value) == 0 &&
                         strcmp(value, instance) == 0);
}

struct grouping {
    const char *metric, *group_by, *instance;
    struct series_set *out;
};

static int add_grouped(void *user, const char *labels, double t, double v, char *err, size_t errlen)
{
    struct grouping *g = user;
    char value[SERIES_MAX_NAME] = "";
    struct series *s;

    if (!of_instance(labels, g->instance))
        return 0;
    if (g->group_by && series_label_value(labels, g->group_by, value, sizeof value) < 0)
        snprintf(value, sizeof value, "?");
    if (!(s = series_set_group(g->out, value))) {
        snprintf(err, errlen, "out of memory reading %s", g->metric);
        return -1;
    }
    return series_add_at(s, t, v) < 0 ? too_many(g->metric, err, errlen) : 0;
}

int samples_load(struct resultdb *db, int64_t run_id, const char *metric, const char *group_by,
                 struct series_set *out, char *err, size_t errlen)
{
    return samples_load_of(db, run_id, NULL, metric, group_by, out, err, errlen);
}

int samples_load_of(struct resultdb *db, int64_t run_id, const char *instance, const char *metric,
                    const char *group_by, struct series_set *out, char *err, size_t errlen)
{
    struct grouping g = {.metric = metric, .group_by = group_by, .instance = instance, .out = out};

    series_set_release(out);
    if (scan_metric(db, run_id, metric, add_grouped, &g, err, errlen) < 0) {
        series_set_release(out);
        return -1;
    }
    series_set_sort(out);
    return 0;
}

struct selection {
    const struct series_selector *sel;
    struct series *out;
};

static int add_selected(void *user, const char *labels, double t, double v, char *err, size_t errlen)
{
    struct selection *s = user;
    char value[SERIES_MAX_VALUE];

    for (size_t i = 0; i < s->sel->nmatchers; i++)
        if (series_label_value(labels, s->sel->matchers[i].name, value, sizeof value) != 0 ||
            strcmp(value, s->sel->matchers[i].value) != 0)
            return 0;
    return series_add_at(s->out, t, v) < 0 ? too_many(s->sel->metric, err, errlen) : 0;
}

int samples_load_selected(struct resultdb *db, int64_t run_id, const struct series_selector *sel,
                          struct series *out, char *err, size_t errlen)
{
    struct selection s = {.sel = sel, .out = out};

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", sel->metric);
    if (scan_metric(db, run_id, sel->metric, add_selected, &s, err, errlen) < 0) {
        series_release(out);
        return -1;
    }
    return 0;
}

/* Reads (t, value) rows into out, which the caller has emptied. */
static int read_points(sqlite3 *db, sqlite3_stmt *st, const char *what, struct series *out, char *err,
                       size_t errlen)
{
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (series_push(out, sqlite3_column_double(st, 0), sqlite3_column_double(st, 1)) < 0) {
            snprintf(err, errlen, "%s: more than %d points, or out of memory", what, SERIES_MAX_POINTS);
            return -1;
        }
    if (step != SQLITE_DONE)
        return db_error(db, what, err, errlen);
    return 0;
}

int samples_load_sum(struct resultdb *rdb, int64_t run_id, const char *metric, const char *labels,
                     struct series *out, char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", metric);
    if (!(st = prepare(db, "SELECT t, sum(value) FROM samples WHERE run_id = ?1 AND metric = ?2 "
                           "AND (?3 IS NULL OR labels = ?3) AND value IS NOT NULL GROUP BY t ORDER BY t",
                       run_id, metric, err, errlen)))
        return -1;
    if (labels)
        sqlite3_bind_text(st, 3, labels, -1, SQLITE_STATIC);
    rc = read_points(db, st, metric, out, err, errlen);
    sqlite3_finalize(st);
    if (rc < 0)
        series_release(out);
    return rc;
}

int samples_load_sum_of(struct resultdb *db, int64_t run_id, const char *instance, const char *metric,
                        const char *labels, struct series *out, char *err, size_t errlen)
{
    struct series_selector sel;
    char text[SERIES_MAX_NAME + 1024];

    if (!instance)
        return samples_load_sum(db, run_id, metric, labels, out, err, errlen);
    snprintf(text, sizeof text, "%s%s", metric, labels ? labels : "");
    if (series_selector_parse(text, strlen(text), &sel, err, errlen) < 0)
        return -1;
    if (sel.nmatchers == SERIES_MAX_MATCHERS) {
        snprintf(err, errlen, "%s: more than %d labels", text, SERIES_MAX_MATCHERS - 1);
        return -1;
    }
    snprintf(sel.matchers[sel.nmatchers].name, sizeof sel.matchers[0].name, "%s", SAMPLES_INSTANCE_LABEL);
    snprintf(sel.matchers[sel.nmatchers].value, sizeof sel.matchers[0].value, "%s", instance);
    sel.nmatchers++;
    return samples_load_selected(db, run_id, &sel, out, err, errlen);
}

int samples_instances(struct resultdb *rdb, int64_t run_id, char (*out)[SERIES_MAX_VALUE], size_t max, size_t *n,
                      char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *st;
    char value[SERIES_MAX_VALUE];
    int step, rc = 0;

    *n = 0;
    /* Prometheus' `up`, one series per target, is stored only for a run read from it:
     * a service scraped directly has no `up`, whatever labels its own metrics carry */
    if (!(st = prepare(db, "SELECT DISTINCT labels FROM samples WHERE run_id = ? AND metric = 'up' ORDER BY labels",
                       run_id, NULL, err, errlen)))
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(st, 0);
        bool seen = false;
        if (!labels || series_label_value(labels, SAMPLES_INSTANCE_LABEL, value, sizeof value) != 0 || !value[0])
            continue;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = strcmp(out[i], value) == 0;
        if (seen)
            continue;
        if (*n == max) {
            rc = 1;
            break;
        }
        snprintf(out[(*n)++], SERIES_MAX_VALUE, "%s", value);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = db_error(db, "instances", err, errlen);
    sqlite3_finalize(st);
    for (size_t i = 1; i < *n; i++)  /* by name: a stable order for the findings */
        for (size_t j = i; j > 0 && strcmp(out[j - 1], out[j]) > 0; j--) {
            snprintf(value, sizeof value, "%s", out[j]);
            snprintf(out[j], SERIES_MAX_VALUE, "%s", out[j - 1]);
            snprintf(out[j - 1], SERIES_MAX_VALUE, "%s", value);
        }
    return rc;
}

int samples_ticks(struct resultdb *rdb, int64_t run_id, struct series *out, char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *st;
    int rc;

    memset(out, 0, sizeof *out);
    if (!(st = prepare(db, "SELECT DISTINCT t, 0 FROM samples WHERE run_id = ? ORDER BY t", run_id, NULL, err,
                       errlen)))
        return -1;
    rc = read_points(db, st, "scrape times", out, err, errlen);
    sqlite3_finalize(st);
    if (rc < 0)
        series_release(out);
    return rc;
}

int samples_top_labels(struct resultdb *rdb, int64_t run_id, const char *metric, double from, double to,
                       char *labels, size_t labelslen, double *rise, char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *st;
    int step, rc = 1;

    labels[0] = '\0';
    *rise = 0;
    if (!(st = prepare(db, "SELECT labels, max(value) - min(value) AS d FROM samples WHERE run_id = ? "
                           "AND metric = ? AND t >= ? AND t <= ? GROUP BY labels ORDER BY d DESC LIMIT 1",
                       run_id, metric, err, errlen)))
        return -1;
    sqlite3_bind_double(st, 3, from);
    sqlite3_bind_double(st, 4, to);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(labels, labelslen, "%s", (const char *)sqlite3_column_text(st, 0));
        *rise = sqlite3_column_double(st, 1);
        rc = 0;
    } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = db_error(db, metric, err, errlen);
    }
    sqlite3_finalize(st);
    return rc;
}
