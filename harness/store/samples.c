/* samples: series read from the `samples` table. See samples.h.
 *
 * Rows are read ordered by time, so each series grows in order and one scrape's
 * samples of a group are adjacent to its last point: summing per scrape is adding to
 * the last point, with no sort. */
#include "store/samples.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define BY_METRIC "SELECT labels, t, value FROM samples WHERE run_id = ? AND metric = ? " \
                  "AND value IS NOT NULL ORDER BY t"

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

int samples_run_exists(struct resultdb *rdb, int64_t run_id, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st = prepare(db, "SELECT 1 FROM runs WHERE id = ?", run_id, NULL, err, errlen);
    int step;

    if (!st)
        return -1;
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW)
        return 0;
    if (step == SQLITE_DONE) {
        snprintf(err, errlen, "no run %lld in the results database", (long long)run_id);
        return 1;
    }
    return db_error(db, NULL, err, errlen);
}

int samples_load(struct resultdb *rdb, int64_t run_id, const char *metric, const char *group_by,
                 struct series_set *out, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int step, rc = -1;

    series_set_release(out);
    if (!(st = prepare(db, BY_METRIC, run_id, metric, err, errlen)))
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(st, 0);
        double t = sqlite3_column_double(st, 1), v = sqlite3_column_double(st, 2);
        char value[SERIES_MAX_NAME] = "";
        struct series *s;

        if (group_by && series_label_value(labels ? labels : "", group_by, value, sizeof value) < 0)
            snprintf(value, sizeof value, "?");
        if (!(s = series_set_group(out, value))) {
            snprintf(err, errlen, "out of memory reading %s", metric);
            goto done;
        }
        if (series_add_at(s, t, v) < 0) {
            snprintf(err, errlen, "%s: more than %d points, or out of memory", metric, SERIES_MAX_POINTS);
            goto done;
        }
    }
    if (step != SQLITE_DONE) {
        db_error(db, metric, err, errlen);
        goto done;
    }
    series_set_sort(out);
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0)
        series_set_release(out);
    return rc;
}

static bool labels_match(const char *labels, const struct series_selector *sel)
{
    char value[SERIES_MAX_VALUE];
    for (size_t i = 0; i < sel->nmatchers; i++)
        if (series_label_value(labels, sel->matchers[i].name, value, sizeof value) != 0 ||
            strcmp(value, sel->matchers[i].value) != 0)
            return false;
    return true;
}

int samples_load_selected(struct resultdb *rdb, int64_t run_id, const struct series_selector *sel,
                          struct series *out, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int step, rc = -1;

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", sel->metric);
    if (!(st = prepare(db, BY_METRIC, run_id, sel->metric, err, errlen)))
        return -1;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(st, 0);
        if (!labels_match(labels ? labels : "", sel))
            continue;
        if (series_add_at(out, sqlite3_column_double(st, 1), sqlite3_column_double(st, 2)) < 0) {
            snprintf(err, errlen, "%s: more than %d points, or out of memory", sel->metric, SERIES_MAX_POINTS);
            goto done;
        }
    }
    if (step != SQLITE_DONE) {
        db_error(db, sel->metric, err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0)
        series_release(out);
    return rc;
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
    sqlite3 *db = resultdb_handle(rdb);
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

int samples_ticks(struct resultdb *rdb, int64_t run_id, struct series *out, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
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
    sqlite3 *db = resultdb_handle(rdb);
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
