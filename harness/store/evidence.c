/* evidence: stored incident evidence. See evidence.h. */
#include "store/evidence.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"

static const char *const kinds[] = {
    EVIDENCE_THREADS, EVIDENCE_MUTEX, EVIDENCE_BLOCK, EVIDENCE_HEAP,
    EVIDENCE_VARS, EVIDENCE_FAULTS, EVIDENCE_LOG, EVIDENCE_NOTE,
};

bool evidence_kind_valid(const char *kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

int evidence_gzip(const char *data, size_t len, unsigned char **out, size_t *outlen,
                  char *err, size_t errlen)
{
    *out = NULL;
    if (len > EVIDENCE_MAX_ITEM) {
        snprintf(err, errlen, "evidence larger than %d bytes", EVIDENCE_MAX_ITEM);
        return -1;
    }
    return gzip_compress(data, len, GZIP_SMALLEST, out, outlen, err, errlen);
}

int evidence_gunzip(const void *gz, size_t gzlen, size_t max, char **out, size_t *outlen,
                    char *err, size_t errlen)
{
    char why[200];
    unsigned char *text = NULL;

    if (gzip_decompress(gz, gzlen, max, &text, outlen, why, sizeof why) < 0) {
        *out = NULL;
        if (strstr(why, "larger than"))
            snprintf(err, errlen, "evidence %s", why);
        else
            snprintf(err, errlen, "corrupt evidence (%s)", why);
        return -1;
    }
    *out = (char *)text;
    return 0;
}

static int db_fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(db));
    return -1;
}

int evidence_store(struct resultdb *rdb, int64_t run_id, double t, const char *kind,
                   const char *reason, const void *gz, size_t gzlen, size_t bytes,
                   char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int rc;

    if (!evidence_kind_valid(kind)) {
        snprintf(err, errlen, "unknown evidence kind '%s'", kind);
        return -1;
    }
    if (sqlite3_prepare_v2(db, "INSERT INTO evidence (run_id, t, kind, reason, bytes, content_gz) "
                               "VALUES (?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "storing evidence", err, errlen);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, t);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)bytes);
    sqlite3_bind_blob(st, 6, gz, (int)gzlen, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, "storing evidence", err, errlen);
    sqlite3_finalize(st);
    return rc;
}

int evidence_store_text(struct resultdb *db, int64_t run_id, double t, const char *kind,
                        const char *reason, const char *text, size_t len, char *err, size_t errlen)
{
    unsigned char *gz;
    size_t gzlen;
    int rc;

    if (evidence_gzip(text, len, &gz, &gzlen, err, errlen) < 0)
        return -1;
    rc = evidence_store(db, run_id, t, kind, reason, gz, gzlen, len, err, errlen);
    free(gz);
    return rc;
}

int evidence_foreach(struct resultdb *rdb, int64_t run_id, const char *kind, evidence_visit_fn visit,
                     void *user, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st = NULL;
    int step, rc = -1, exists = resultdb_table_exists(rdb, "evidence", err, errlen);

    if (exists <= 0)
        return exists;
    if (sqlite3_prepare_v2(db, "SELECT id, t, kind, reason, content_gz FROM evidence "
                               "WHERE run_id = ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY t, id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "reading evidence", err, errlen);
    sqlite3_bind_int64(st, 1, run_id);
    if (kind)
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct evidence_item item = {
            .id = sqlite3_column_int64(st, 0), .t = sqlite3_column_double(st, 1),
            .kind = (const char *)sqlite3_column_text(st, 2), .reason = (const char *)sqlite3_column_text(st, 3),
        };
        const void *gz = sqlite3_column_blob(st, 4);
        size_t gzlen = (size_t)sqlite3_column_bytes(st, 4);
        char *text, msg[256];
        int v;

        if (evidence_gunzip(gz ? gz : "", gzlen, EVIDENCE_MAX_ITEM, &text, &item.len, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "evidence %lld: %s", (long long)item.id, msg);
            goto done;
        }
        item.text = text;
        v = visit(user, &item, err, errlen);
        free(text);
        if (v < 0)
            goto done;
        if (v > 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        db_fail(db, "reading evidence", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

struct print_ctx {
    FILE *out;
    bool all;
    size_t items;
};

static int print_item(void *user, const struct evidence_item *item, char *err, size_t errlen)
{
    struct print_ctx *ctx = user;
    if (!ctx->all && strcmp(item->reason, EVIDENCE_PERIODIC) == 0)
        return 0;
    fprintf(ctx->out, "\n=== #%lld %s at t=%.2fs (%s), %zu bytes\n", (long long)item->id, item->kind, item->t,
            item->reason, item->len);
    fwrite(item->text, 1, item->len, ctx->out);
    if (item->len && item->text[item->len - 1] != '\n')
        fputc('\n', ctx->out);
    ctx->items++;
    return 0;
}

int evidence_print(struct resultdb *rdb, int64_t run_id, FILE *out, bool all, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    struct print_ctx ctx = {.out = out, .all = all};
    int step, rows = 0, periodic = 0, exists;

    if (sqlite3_prepare_v2(db, "SELECT scenario, status FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "reading the run", err, errlen);
    sqlite3_bind_int64(st, 1, run_id);
    if ((step = sqlite3_step(st)) == SQLITE_ROW)
        fprintf(out, "run %lld: %s (%s)\n", (long long)run_id, (const char *)sqlite3_column_text(st, 0),
                (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    if (step != SQLITE_ROW) {
        if (step != SQLITE_DONE)
            return db_fail(db, "reading the run", err, errlen);
        snprintf(err, errlen, "no run %lld in the results database", (long long)run_id);
        return 1;
    }
    exists = resultdb_table_exists(rdb, "evidence", err, errlen);
    if (exists < 0)
        return -1;
    if (exists == 0) {
        fprintf(out, "Evidence: none (this database predates evidence capture)\n");
        return 0;
    }
    if (sqlite3_prepare_v2(db, "SELECT id, t, kind, reason, bytes, length(content_gz) FROM evidence "
                               "WHERE run_id = ? ORDER BY t, id", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "reading evidence", err, errlen);
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *reason = (const char *)sqlite3_column_text(st, 3);
        if (rows++ == 0)
            fprintf(out, "Evidence\n  %6s  %8s  %-8s  %10s  %10s  %s\n", "ID", "T", "KIND", "BYTES", "STORED", "WHY");
        if (!all && reason && strcmp(reason, EVIDENCE_PERIODIC) == 0) {
            periodic++;
            continue;
        }
        fprintf(out, "  %6lld  %7.2fs  %-8s  %10lld  %10lld  %s\n", (long long)sqlite3_column_int64(st, 0),
                sqlite3_column_double(st, 1), (const char *)sqlite3_column_text(st, 2),
                (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5),
                reason ? reason : "");
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return db_fail(db, "reading evidence", err, errlen);
    if (rows == 0) {
        fprintf(out, "Evidence: none (taken when a gate fails, or always with loadlab run --capture)\n");
        return 0;
    }
    if (periodic)
        fprintf(out, "  (and %d periodic thread dumps; --all prints them)\n", periodic);
    return evidence_foreach(rdb, run_id, NULL, print_item, &ctx, err, errlen);
}
