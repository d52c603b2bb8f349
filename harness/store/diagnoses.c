/* diagnoses: stored verdicts of `loadlab diagnose`. See diagnoses.h. */
#include "store/diagnoses.h"
#include "store/storedb.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* Every row of one verdict carries the time of its first: 'now' is only stable
 * within one statement. */
#define INSERT_ROW "INSERT INTO diagnoses (run_id, class, culprit, started_at, confidence, summary, " \
                   "evidence_text, instance, diagnosed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, " \
                   "coalesce((SELECT diagnosed_at FROM diagnoses WHERE run_id = ?1 LIMIT 1), " \
                   "strftime('%Y-%m-%dT%H:%M:%fZ','now')))"

/* Binds one finding (NULL: the row of a healthy run) to the insert. */
static void bind_row(sqlite3_stmt *ins, int64_t run_id, const struct diagnose_finding *f, const char *notes)
{
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    sqlite3_bind_int64(ins, 1, run_id);
    sqlite3_bind_text(ins, 2, f ? f->class_name : "none", -1, SQLITE_STATIC);
    if (f && f->culprit[0])
        sqlite3_bind_text(ins, 3, f->culprit, -1, SQLITE_STATIC);
    if (f && !isnan(f->started_at))
        sqlite3_bind_double(ins, 4, f->started_at);
    if (f)
        sqlite3_bind_double(ins, 5, f->confidence);
    sqlite3_bind_text(ins, 6, f ? f->summary : "no problem found", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, f ? f->evidence : notes, -1, SQLITE_STATIC);
    if (f && f->instance[0])
        sqlite3_bind_text(ins, 8, f->instance, -1, SQLITE_STATIC);
}

int diagnoses_save(struct resultdb *rdb, int64_t run_id, const struct diagnose_finding *findings, size_t n,
                   const char *notes, char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc = -1;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_prepare_v2(db, "DELETE FROM diagnoses WHERE run_id = ?", -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, INSERT_ROW, -1, &ins, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(del, 1, run_id);
    if (sqlite3_step(del) != SQLITE_DONE)
        goto done;
    for (size_t i = 0; i < (n ? n : 1); i++) {
        bind_row(ins, run_id, n ? &findings[i] : NULL, notes);
        if (sqlite3_step(ins) != SQLITE_DONE)
            goto done;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    rc = 0;
done:
    if (rc < 0) {
        snprintf(err, errlen, "results database: storing the diagnosis: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
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

int diagnoses_load(struct resultdb *rdb, int64_t run_id, struct diagnose_finding *out, size_t max, size_t *n,
                   char *diagnosed_at, size_t diagnosed_at_len, char *err, size_t errlen)
{
    sqlite3 *db = storedb_sqlite(rdb);
    sqlite3_stmt *st;
    int step, rc = -1, exists = resultdb_table_exists(rdb, "diagnoses", err, errlen), fleet;

    *n = 0;
    if (exists <= 0)
        return exists;
    /* a file older than schema 7 read-only has no instance column */
    if ((fleet = resultdb_has_column(rdb, "diagnoses", "instance", err, errlen)) < 0)
        return -1;
    if (sqlite3_prepare_v2(db, fleet ? "SELECT class, coalesce(culprit, ''), started_at, confidence, summary, "
                                       "evidence_text, diagnosed_at, coalesce(instance, '') FROM diagnoses "
                                       "WHERE run_id = ? ORDER BY id LIMIT ?"
                                     : "SELECT class, coalesce(culprit, ''), started_at, confidence, summary, "
                                       "evidence_text, diagnosed_at, '' FROM diagnoses WHERE run_id = ? ORDER BY id "
                                       "LIMIT ?", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: reading the diagnosis: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct diagnose_finding *d = &out[(*n)++];
        column_text(st, 0, d->class_name, sizeof d->class_name);
        column_text(st, 1, d->culprit, sizeof d->culprit);
        d->started_at = column_real(st, 2);
        d->confidence = column_real(st, 3);
        column_text(st, 4, d->summary, sizeof d->summary);
        column_text(st, 5, d->evidence, sizeof d->evidence);
        column_text(st, 7, d->instance, sizeof d->instance);
        if (diagnosed_at && *n == 1)
            column_text(st, 6, diagnosed_at, diagnosed_at_len);
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "results database: reading the diagnosis: %s", sqlite3_errmsg(db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}
