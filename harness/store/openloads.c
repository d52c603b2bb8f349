/* openloads: the open_loads and latency_windows tables. See openloads.h. */
#include "store/openloads.h"
#include "store/storedb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/latency_hist.h"

int openloads_record(struct resultdb *db, int64_t run_id, const struct openloads_stage *s, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    int rc, i = 1;

    if (storedb_prepare(db, "INSERT OR REPLACE INTO open_loads (run_id, stage, started_at, duration_s, asked_rate, "
                            "achieved_rate, scheduled, completed, errors, dropped, waited, send_lag_p99_s, "
                            "send_lag_max_s, lag_limit_s, behind_schedule, p50_s, p90_s, p99_s, p999_s, max_s, "
                            "latency) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        &st, "recording an open load", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, i++, run_id);
    sqlite3_bind_text(st, i++, s->stage, -1, SQLITE_STATIC);
    storedb_bind_real(st, i++, s->started_at);
    storedb_bind_real(st, i++, s->duration_s);
    storedb_bind_real(st, i++, s->asked_rate);
    storedb_bind_real(st, i++, s->achieved_rate);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)s->scheduled);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)s->completed);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)s->errors);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)s->dropped);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)s->waited);
    storedb_bind_real(st, i++, s->send_lag_p99_s);
    storedb_bind_real(st, i++, s->send_lag_max_s);
    storedb_bind_real(st, i++, s->lag_limit_s);
    sqlite3_bind_int(st, i++, s->behind_schedule);
    storedb_bind_real(st, i++, s->p50_s);
    storedb_bind_real(st, i++, s->p90_s);
    storedb_bind_real(st, i++, s->p99_s);
    storedb_bind_real(st, i++, s->p999_s);
    storedb_bind_real(st, i++, s->max_s);
    if (s->latency)
        sqlite3_bind_blob(st, i, s->latency, (int)s->latency_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : storedb_fail(db, "recording an open load", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int openloads_record_windows(struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                             const struct openloads_window *w, size_t n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc = -1;

    if (resultdb_begin(db, err, errlen) < 0)
        return -1;
    if (storedb_prepare(db, "INSERT OR REPLACE INTO latency_windows (run_id, stage, second, t, scheduled, "
                            "completed, errors, dropped, hist) VALUES (?,?,?,?,?,?,?,?,?)",
                        &st, "recording latency windows", err, errlen) < 0)
        goto done;
    for (size_t k = 0; k < n; k++) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, w[k].second);
        sqlite3_bind_double(st, 4, started_at + (double)w[k].second);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)w[k].scheduled);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)w[k].completed);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)w[k].errors);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)w[k].dropped);
        if (w[k].latency)
            sqlite3_bind_blob(st, 9, w[k].latency, (int)w[k].latency_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 9);
        if (sqlite3_step(st) != SQLITE_DONE) {
            storedb_fail(db, "recording latency windows", err, errlen);
            sqlite3_finalize(st);
            goto done;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    rc = 0;
done:
    if (resultdb_commit(db, rc == 0 ? err : NULL, rc == 0 ? errlen : 0) < 0)
        rc = -1;
    return rc;
}

void openloads_windows_free(struct openloads_window *w, size_t n)
{
    if (!w)
        return;
    for (size_t i = 0; i < n; i++)
        free(w[i].latency);
    free(w);
}

int openloads_windows(struct resultdb *db, int64_t run_id, const char *stage, struct openloads_window **out,
                      size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    struct openloads_window *w = NULL;
    size_t used = 0, cap = 0;
    int step, exists = resultdb_table_exists(db, "latency_windows", err, errlen);

    *out = NULL;
    *n = 0;
    if (exists <= 0)
        return exists;
    if (storedb_prepare(db, "SELECT second, t, scheduled, completed, errors, dropped, hist FROM latency_windows "
                            "WHERE run_id = ? AND stage = ? ORDER BY second LIMIT ?",
                        &st, "reading latency windows", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, OPENLOADS_MAX_WINDOWS);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct openloads_window *row;
        int len = sqlite3_column_bytes(st, 6);
        if (used == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct openloads_window *grown = realloc(w, ncap * sizeof *w);
            if (!grown)
                goto oom;
            w = grown;
            cap = ncap;
        }
        row = &w[used];
        memset(row, 0, sizeof *row);
        row->second = sqlite3_column_int64(st, 0);
        row->t = storedb_real(st, 1);
        row->scheduled = (uint64_t)sqlite3_column_int64(st, 2);
        row->completed = (uint64_t)sqlite3_column_int64(st, 3);
        row->errors = (uint64_t)sqlite3_column_int64(st, 4);
        row->dropped = (uint64_t)sqlite3_column_int64(st, 5);
        used++;
        if (len > 0) {
            if (!(row->latency = malloc((size_t)len)))
                goto oom;
            memcpy(row->latency, sqlite3_column_blob(st, 6), (size_t)len);
            row->latency_len = (size_t)len;
        }
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        openloads_windows_free(w, used);
        return storedb_fail(db, "reading latency windows", err, errlen);
    }
    *out = w;
    *n = used;
    return 0;
oom:
    sqlite3_finalize(st);
    openloads_windows_free(w, used);
    snprintf(err, errlen, "out of memory reading latency windows");
    return -1;
}

int openloads_percentile(struct resultdb *db, const int64_t *run_ids, size_t nruns, const char *stage,
                         int64_t from_s, int64_t to_s, double percent, double *value_s, uint64_t *count,
                         char *err, size_t errlen)
{
    struct latency_hist *h = latency_hist_new();
    sqlite3_stmt *st = NULL;
    int rc = -1, step = SQLITE_DONE;

    *value_s = NAN;
    *count = 0;
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (storedb_prepare(db, "SELECT hist FROM latency_windows WHERE run_id = ? AND stage = ? AND second >= ? "
                            "AND second <= ? AND hist IS NOT NULL",
                        &st, "reading latency windows", err, errlen) < 0)
        goto done;
    for (size_t r = 0; r < nruns; r++) {
        sqlite3_bind_int64(st, 1, run_ids[r]);
        sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, from_s);
        sqlite3_bind_int64(st, 4, to_s);
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            char why[200];
            if (latency_hist_merge_serialized(h, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                                              why, sizeof why) < 0) {
                snprintf(err, errlen, "run %lld: a stored latency window: %s", (long long)run_ids[r], why);
                goto done;
            }
        }
        if (step != SQLITE_DONE) {
            storedb_fail(db, "reading latency windows", err, errlen);
            goto done;
        }
        sqlite3_reset(st);
    }
    *count = latency_hist_count(h);
    if (*count)
        *value_s = (double)latency_hist_percentile(h, percent) / 1e6;
    rc = 0;
done:
    sqlite3_finalize(st);
    latency_hist_free(h);
    return rc;
}

int openloads_behind_schedule(struct resultdb *db, int64_t run_id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc, exists = resultdb_table_exists(db, "open_loads", err, errlen);

    if (exists <= 0)
        return exists;
    if (storedb_prepare(db, "SELECT behind_schedule FROM open_loads WHERE run_id = ? AND stage = 'measure'", &st,
                        "reading open loads", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = sqlite3_column_int(st, 0) != 0;
    else
        rc = rc == SQLITE_DONE ? 0 : storedb_fail(db, "reading open loads", err, errlen);
    sqlite3_finalize(st);
    return rc;
}
