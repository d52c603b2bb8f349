/* evidence: stored incident evidence. See evidence.h. */
#include "store/evidence.h"
#include "store/runs.h"
#include "store/storedb.h"

#include <stdlib.h>
#include <string.h>

#include "gzip.h"

static const char *const kinds[] = {
    EVIDENCE_THREADS, EVIDENCE_MUTEX, EVIDENCE_BLOCK, EVIDENCE_HEAP, EVIDENCE_CPU,
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

int evidence_store(struct resultdb *db, int64_t run_id, double t, const char *kind,
                   const char *reason, const void *gz, size_t gzlen, size_t bytes,
                   char *err, size_t errlen)
{
    return evidence_store_of(db, run_id, t, kind, reason, NULL, gz, gzlen, bytes, err, errlen);
}

int evidence_store_of(struct resultdb *db, int64_t run_id, double t, const char *kind, const char *reason,
                      const char *instance, const void *gz, size_t gzlen, size_t bytes, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int rc;

    if (!evidence_kind_valid(kind)) {
        snprintf(err, errlen, "unknown evidence kind '%s'", kind);
        return -1;
    }
    if (storedb_prepare(db, "INSERT INTO evidence (run_id, t, kind, reason, bytes, content_gz, instance) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", &st, "storing evidence", err, errlen) < 0)
        return -1;
    if (instance && instance[0])
        sqlite3_bind_text(st, 7, instance, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, t);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)bytes);
    sqlite3_bind_blob(st, 6, gz, (int)gzlen, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : storedb_fail(db, "storing evidence", err, errlen);
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

int evidence_foreach_stored(struct resultdb *db, int64_t run_id, const char *kind, evidence_stored_fn visit,
                            void *user, char *err, size_t errlen)
{
    return evidence_foreach_stored_of(db, run_id, kind, NULL, visit, user, err, errlen);
}

int evidence_foreach_stored_of(struct resultdb *db, int64_t run_id, const char *kind, const char *instance,
                               evidence_stored_fn visit, void *user, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1, exists = resultdb_table_exists(db, "evidence", err, errlen), fleet;

    if (exists <= 0)
        return exists;
    /* a file older than schema 7 read-only has no instance column: every item is ""'s */
    if ((fleet = resultdb_has_column(db, "evidence", "instance", err, errlen)) < 0)
        return -1;
    if (storedb_prepare(db, fleet ? "SELECT id, t, kind, reason, bytes, content_gz, coalesce(instance, '') FROM evidence "
                                    "WHERE run_id = ?1 AND (?2 IS NULL OR kind = ?2) "
                                    "AND (?3 IS NULL OR coalesce(instance, '') = ?3) ORDER BY t, id"
                                  : "SELECT id, t, kind, reason, bytes, content_gz, '' FROM evidence "
                                    "WHERE run_id = ?1 AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR ?3 = '') "
                                    "ORDER BY t, id",
                        &st, "reading evidence", err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    if (kind)
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    if (instance)
        sqlite3_bind_text(st, 3, instance, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *item_kind = sqlite3_column_text(st, 2), *reason = sqlite3_column_text(st, 3);
        const unsigned char *of = sqlite3_column_text(st, 6);
        struct evidence_stored item = {
            .id = sqlite3_column_int64(st, 0), .t = sqlite3_column_double(st, 1),
            .kind = item_kind ? (const char *)item_kind : "", .reason = reason ? (const char *)reason : "",
            .instance = of ? (const char *)of : "", .bytes = sqlite3_column_int64(st, 4),
        };
        int v;

        item.gz = sqlite3_column_blob(st, 5);
        item.gzlen = (size_t)sqlite3_column_bytes(st, 5);
        if (!item.gz)
            item.gz = "";
        if ((v = visit(user, &item, err, errlen)) < 0)
            goto done;
        if (v > 0)
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        storedb_fail(db, "reading evidence", err, errlen);
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

/* evidence_foreach's pass: each stored item decompressed for the caller's visit. */
struct unzip_pass {
    evidence_visit_fn visit;
    void *user;
};

static int unzip_item(void *user, const struct evidence_stored *stored, char *err, size_t errlen)
{
    struct unzip_pass *pass = user;
    struct evidence_item item = {.id = stored->id, .t = stored->t, .kind = stored->kind, .reason = stored->reason,
                                 .instance = stored->instance};
    char *text, msg[256];
    int v;

    if (evidence_gunzip(stored->gz, stored->gzlen, EVIDENCE_MAX_ITEM, &text, &item.len, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "evidence %lld: %s", (long long)item.id, msg);
        return -1;
    }
    item.text = text;
    v = pass->visit(pass->user, &item, err, errlen);
    free(text);
    return v;
}

int evidence_foreach(struct resultdb *db, int64_t run_id, const char *kind, evidence_visit_fn visit,
                     void *user, char *err, size_t errlen)
{
    return evidence_foreach_of(db, run_id, kind, NULL, visit, user, err, errlen);
}

int evidence_foreach_of(struct resultdb *db, int64_t run_id, const char *kind, const char *instance,
                        evidence_visit_fn visit, void *user, char *err, size_t errlen)
{
    struct unzip_pass pass = {.visit = visit, .user = user};
    return evidence_foreach_stored_of(db, run_id, kind, instance, unzip_item, &pass, err, errlen);
}

struct print_ctx {
    FILE *out;
    bool all;
    int rows, periodic, periodic_heap;
};

static int print_item(void *user, const struct evidence_item *item, char *err, size_t errlen)
{
    struct print_ctx *ctx = user;
    (void)err;
    (void)errlen;
    if (!ctx->all && strcmp(item->reason, EVIDENCE_PERIODIC) == 0)
        return 0;
    fprintf(ctx->out, "\n=== #%lld %s at t=%.2fs (%s%s%s), %zu bytes\n", (long long)item->id, item->kind, item->t,
            item->reason, item->instance[0] ? ", instance " : "", item->instance, item->len);
    fwrite(item->text, 1, item->len, ctx->out);
    if (item->len && item->text[item->len - 1] != '\n')
        fputc('\n', ctx->out);
    return 0;
}

static int print_row(void *user, const struct evidence_stored *item, char *err, size_t errlen)
{
    struct print_ctx *ctx = user;
    (void)err;
    (void)errlen;
    if (ctx->rows++ == 0)
        fprintf(ctx->out, "Evidence\n  %6s  %8s  %-8s  %10s  %10s  %s\n", "ID", "T", "KIND", "BYTES", "STORED",
                "WHY");
    if (!ctx->all && strcmp(item->reason, EVIDENCE_PERIODIC) == 0) {
        if (strcmp(item->kind, EVIDENCE_HEAP) == 0)
            ctx->periodic_heap++;
        else
            ctx->periodic++;
        return 0;
    }
    fprintf(ctx->out, "  %6lld  %7.2fs  %-8s  %10lld  %10lld  %s%s%s\n", (long long)item->id, item->t, item->kind,
            item->bytes, (long long)item->gzlen, item->reason, item->instance[0] ? " on " : "", item->instance);
    return 0;
}

int evidence_print(struct resultdb *db, int64_t run_id, FILE *out, bool all, char *err, size_t errlen)
{
    struct print_ctx ctx = {.out = out, .all = all};
    bool missing;
    struct runs_run *run = runs_get(db, run_id, &missing, err, errlen);
    int exists;

    if (!run)
        return missing ? 1 : -1;
    fprintf(out, "run %lld: %s (%s)\n", (long long)run_id, run->scenario, run->status);
    runs_run_free(run);
    exists = resultdb_table_exists(db, "evidence", err, errlen);
    if (exists < 0)
        return -1;
    if (exists == 0) {
        fprintf(out, "Evidence: none (this database predates evidence capture)\n");
        return 0;
    }
    if (evidence_foreach_stored(db, run_id, NULL, print_row, &ctx, err, errlen) < 0)
        return -1;
    if (ctx.rows == 0) {
        fprintf(out, "Evidence: none (taken when a gate fails, or always with loadlab run --capture)\n");
        return 0;
    }
    if (ctx.periodic || ctx.periodic_heap)
        fprintf(out, "  (and %d periodic thread dumps and %d periodic heap profiles; --all prints them)\n",
                ctx.periodic, ctx.periodic_heap);
    return evidence_foreach(db, run_id, NULL, print_item, &ctx, err, errlen);
}
