/* crossrun: readers across runs. See crossrun.h. */
#include "store/crossrun.h"
#include "store/storedb.h"

#include <math.h>
#include <string.h>

int crossrun_completed(struct resultdb *db, const char *scenario, struct crossrun_run *runs, size_t cap,
                       size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    *n = 0;
    if (storedb_prepare(db, "SELECT * FROM (SELECT r.id, r.label, l.throughput, l.p99_s, l.p50_s FROM runs r "
                            "LEFT JOIN load_results l ON l.run_id = r.id AND l.stage = 'measure' "
                            "WHERE r.scenario = ? AND r.status = 'completed' ORDER BY r.id DESC LIMIT ?) "
                            "ORDER BY 1", &st, "reading trends", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cap);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
        struct crossrun_run *r = &runs[(*n)++];
        r->id = sqlite3_column_int64(st, 0);
        storedb_text(st, 1, r->label, sizeof r->label);
        r->throughput = storedb_real(st, 2);
        r->p99 = storedb_real(st, 3);
        r->p50 = storedb_real(st, 4);
    }
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "reading trends", err, errlen);
    return 0;
}

int crossrun_slope(struct resultdb *db, int64_t run_id, const char *metric, double *slope, char *err,
                   size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    *slope = NAN;
    if (storedb_prepare(db, "SELECT (n * sxy - sx * sy) / nullif(n * sxx - sx * sx, 0) FROM "
                            "(SELECT count(*) AS n, sum(s.t) AS sx, sum(s.value) AS sy, sum(s.t * s.value) AS sxy, "
                            "sum(s.t * s.t) AS sxx FROM samples s JOIN runs r ON r.id = s.run_id "
                            "WHERE s.run_id = ?1 AND s.metric = ?2 AND s.labels = '' AND s.value IS NOT NULL "
                            "AND s.t >= r.steady_from AND s.t <= r.steady_to)", &st, "computing thread growth",
                        err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *slope = storedb_real(st, 0);
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? 0 : storedb_fail(db, "computing thread growth", err, errlen);
}

int crossrun_prefixed(struct resultdb *db, const char *prefix, crossrun_prefixed_fn visit, void *user,
                      size_t *labels, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step = SQLITE_DONE, rc = -1;

    *labels = 0;
    if (storedb_prepare(db, "SELECT substr(r.scenario, ?1 + 1), l.throughput, l.p99_s, "
                            "(SELECT count(DISTINCT label) FROM runs WHERE status = 'completed' AND "
                            "substr(scenario, 1, ?1) = ?2) FROM runs r JOIN load_results l ON l.run_id = r.id "
                            "AND l.stage = 'measure' WHERE r.status = 'completed' AND substr(r.scenario, 1, ?1) = ?2 "
                            "ORDER BY r.id", &st, "reading overhead runs", err, errlen) < 0)
        return -1;
    sqlite3_bind_int(st, 1, (int)strlen(prefix));
    sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *suffix = sqlite3_column_text(st, 0);
        *labels = (size_t)sqlite3_column_int(st, 3);
        if (visit(user, suffix ? (const char *)suffix : "", storedb_real(st, 1), storedb_real(st, 2), err,
                  errlen) < 0)
            goto done;
    }
    if (step != SQLITE_DONE) {
        storedb_fail(db, "reading overhead runs", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

int crossrun_study_label(struct resultdb *db, const char *prefix, const char *reference, char *label, size_t len,
                         char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;

    label[0] = '\0';
    /* L-off-vs-off (off's baseline against itself) ends in -off too: it is not L-off */
    if (storedb_prepare(db, "SELECT substr(label, 1, length(label) - length(?2) - 1) FROM runs "
                            "WHERE status = 'completed' AND substr(label, 1, length(?1)) = ?1 "
                            "AND length(label) > length(?1) + length(?2) + 1 "
                            "AND substr(label, -length(?2) - 1) = '-' || ?2 "
                            "AND substr(label, -2 * length(?2) - 5) <> '-' || ?2 || '-vs-' || ?2 "
                            "ORDER BY id DESC LIMIT 1", &st, "finding the overhead study", err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, reference, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        storedb_text(st, 0, label, len);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return storedb_fail(db, "finding the overhead study", err, errlen);
    return step == SQLITE_ROW && label[0] ? 1 : 0;
}
