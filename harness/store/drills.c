/* drills: the drills table. See drills.h. */
#include "store/drills.h"
#include "store/storedb.h"

#include <math.h>
#include <stdio.h>

int drills_record(struct resultdb *db, const struct drills_record *d, int64_t *id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc;

    if (storedb_prepare(db, "INSERT INTO drills (run_id, trainee, started_at, level, seed, truth, answer, status, "
                            "problems, detected, classes_right, culprits_right, extra, time_s, score, mitigated, mitigation_s, "
                            "mitigation_method, time_bought_s) "
                            "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                            "?, ?, ?, ?)",
                        &st, "recording the drill", err, errlen) < 0)
        return -1;
    if (d->run_id)
        sqlite3_bind_int64(st, 1, d->run_id);
    sqlite3_bind_text(st, 2, d->trainee, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, d->level);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)d->seed);
    sqlite3_bind_text(st, 5, d->truth, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, d->answer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, d->status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, d->problems);
    if (d->scored) {
        sqlite3_bind_int(st, 9, d->detected);
        sqlite3_bind_int(st, 10, d->classes_right);
        sqlite3_bind_int(st, 11, d->culprits_right);
        sqlite3_bind_int(st, 12, d->extra);
        sqlite3_bind_double(st, 14, d->score);
    }
    storedb_bind_real(st, 13, d->time_s);
    if (d->mitigated != DRILLS_MITIGATION_NONE)
        sqlite3_bind_int(st, 15, d->mitigated == DRILLS_MITIGATION_HEALED);
    storedb_bind_real(st, 16, d->mitigation_s);
    sqlite3_bind_text(st, 17, d->mitigation_method, -1, SQLITE_STATIC);
    storedb_bind_real(st, 18, d->time_bought_s);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : storedb_fail(db, "recording the drill", err, errlen);
    *id = sqlite3_last_insert_rowid(storedb_sqlite(db));
    sqlite3_finalize(st);
    return rc;
}

static const char *text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

int drills_foreach(struct resultdb *db, const char *trainee, drills_visit_fn visit, void *user, char *err,
                   size_t errlen)
{
    sqlite3_stmt *st;
    int step, exists = resultdb_table_exists(db, "drills", err, errlen);

    if (exists <= 0)
        return exists < 0 ? -1 : 1;
    /* A file written by an older loadlab and opened read-only (never upgraded) may lack
     * the later columns: they read as NULL there. */
    static const char *const later[] = {"mitigated", "mitigation_s", "mitigation_method", "time_bought_s"};
    const char *col[4];
    for (size_t i = 0; i < 4; i++) {
        int has = resultdb_has_column(db, "drills", later[i], err, errlen);
        if (has < 0)
            return -1;
        col[i] = has ? later[i] : "NULL";
    }
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT id, run_id, trainee, started_at, level, seed, truth, answer, status, problems, "
             "detected IS NOT NULL, detected, classes_right, culprits_right, extra, score, time_s, "
             "CASE %s WHEN 1 THEN 1 WHEN 0 THEN 2 ELSE 0 END, %s, %s, %s "
             "FROM drills WHERE ?1 IS NULL OR trainee = ?1 ORDER BY id",
             col[0], col[1], col[2], col[3]);
    if (storedb_prepare(db, sql, &st, "reading drills", err, errlen) < 0)
        return -1;
    if (trainee)
        sqlite3_bind_text(st, 1, trainee, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct drills_record d = {
            .id = sqlite3_column_int64(st, 0), .run_id = sqlite3_column_int64(st, 1),
            .trainee = text(st, 2), .started_at = text(st, 3), .level = sqlite3_column_int(st, 4),
            .seed = (uint64_t)sqlite3_column_int64(st, 5), .truth = text(st, 6),
            .answer = sqlite3_column_type(st, 7) == SQLITE_NULL ? NULL : text(st, 7), .status = text(st, 8),
            .problems = sqlite3_column_int(st, 9), .scored = sqlite3_column_int(st, 10) != 0,
            .detected = sqlite3_column_int(st, 11), .classes_right = sqlite3_column_int(st, 12),
            .culprits_right = sqlite3_column_int(st, 13), .extra = sqlite3_column_int(st, 14),
            .score = storedb_real(st, 15), .time_s = storedb_real(st, 16),
            .mitigated = (enum drills_mitigation)sqlite3_column_int(st, 17), .mitigation_s = storedb_real(st, 18),
            .mitigation_method = text(st, 19), .time_bought_s = storedb_real(st, 20),
        };
        visit(user, &d);
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? 0 : storedb_fail(db, "reading drills", err, errlen);
}
