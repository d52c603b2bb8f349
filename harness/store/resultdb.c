/* resultdb: opening the database and writing runs. See resultdb.h and docs/schema.md;
 * the tables and their migrations are store/schema.c. */
#include "store/resultdb.h"
#include "store/schema.h"
#include "store/storedb.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct resultdb {
    sqlite3 *db;
    sqlite3_stmt *insert_sample;
    bool in_batch;
    char host[256];
};

static int db_fail(struct resultdb *db, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(db->db));
    return -1;
}

static int prepare(struct resultdb *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(db->db, sql, -1, st, NULL) != SQLITE_OK)
        return db_fail(db, err, errlen, "prepare");
    return 0;
}

/* Steps a statement that returns no rows and finalizes it. */
static int step_done(struct resultdb *db, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, err, errlen, what);
    sqlite3_finalize(st);
    return rc;
}

static void bind_real_or_null(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

/* Closes runs a killed loadlab on this host left "running". */
static int close_abandoned_runs(struct resultdb *db, char *err, size_t errlen)
{
    sqlite3_stmt *st, *upd = NULL;
    int rc = -1, step;

    if (prepare(db, "SELECT id, driver_pid FROM runs WHERE status = 'running' AND host = ?", &st, err, errlen) < 0)
        return -1;
    if (prepare(db, "UPDATE runs SET status = 'aborted', ended_at = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
                    "exit_reason = 'loadlab ended without closing the run (killed?)' WHERE id = ?",
                &upd, err, errlen) < 0)
        goto done;
    sqlite3_bind_text(st, 1, db->host, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        pid_t pid = (pid_t)sqlite3_column_int64(st, 1);
        if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(st, 0));
        if (sqlite3_step(upd) != SQLITE_DONE) {
            db_fail(db, err, errlen, "closing an abandoned run");
            goto done;
        }
        sqlite3_reset(upd);
    }
    if (step != SQLITE_DONE) {
        db_fail(db, err, errlen, "finding abandoned runs");
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(upd);
    return rc;
}

int resultdb_has_column(struct resultdb *db, const char *table, const char *column, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc;

    if (prepare(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : db_fail(db, err, errlen, "looking for a column");
    sqlite3_finalize(st);
    return rc;
}

struct resultdb *resultdb_open(const char *path, bool readonly, char *err, size_t errlen)
{
    struct resultdb *db = calloc(1, sizeof *db);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int version;

    if (!db) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (gethostname(db->host, sizeof db->host - 1) < 0)
        snprintf(db->host, sizeof db->host, "unknown");
    if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db->db ? sqlite3_errmsg(db->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(db->db, 5000);
    if (schema_version(db, &version, err, errlen) < 0)
        goto fail;
    if (version > RESULTDB_SCHEMA_VERSION) {
        snprintf(err, errlen, "%s was written by a newer loadlab (schema %d; this one knows %d)",
                 path, version, RESULTDB_SCHEMA_VERSION);
        goto fail;
    }
    if (readonly) {
        if (version == 0) {
            snprintf(err, errlen, "%s holds no loadlab results", path);
            goto fail;
        }
        return db;
    }
    if (storedb_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                     err, errlen) < 0 ||
        storedb_exec(db, "BEGIN IMMEDIATE", err, errlen) < 0)
        goto fail;
    if (schema_upgrade(db, version, err, errlen) < 0 || storedb_exec(db, "COMMIT", err, errlen) < 0) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    if (close_abandoned_runs(db, err, errlen) < 0 ||
        prepare(db, "INSERT INTO samples (run_id, t, metric, labels, value) VALUES (?, ?, ?, ?, ?)",
                &db->insert_sample, err, errlen) < 0)
        goto fail;
    return db;
fail:
    resultdb_close(db);
    return NULL;
}

void resultdb_close(struct resultdb *db)
{
    if (!db)
        return;
    if (db->in_batch)
        sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(db->insert_sample);
    sqlite3_close(db->db);
    free(db);
}

sqlite3 *storedb_sqlite(struct resultdb *db)
{
    return db->db;
}

int resultdb_table_exists(struct resultdb *db, const char *name, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step, rc;

    if (prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    step = sqlite3_step(st);
    rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : db_fail(db, err, errlen, "looking for a table");
    sqlite3_finalize(st);
    return rc;
}

int resultdb_run_begin(struct resultdb *db, const struct resultdb_run *run, int64_t *run_id,
                       char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "INSERT INTO runs (scenario, scenario_file, label, git_rev, host, driver_pid, "
                    "started_at, status, params) VALUES (?, ?, ?, ?, ?, ?, "
                    "strftime('%Y-%m-%dT%H:%M:%fZ','now'), 'running', ?)", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, run->scenario, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, run->scenario_file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, run->label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, run->git_rev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, db->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, getpid());
    sqlite3_bind_text(st, 7, run->params, -1, SQLITE_STATIC);
    if (step_done(db, st, "recording the run", err, errlen) < 0)
        return -1;
    *run_id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

int resultdb_run_started(struct resultdb *db, int64_t run_id, const char *log_dir, pid_t pid,
                         double t0_unix, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "UPDATE runs SET service_pid = ?, t0_unix = ?, log_dir = ? WHERE id = ?", &st, err, errlen) < 0)
        return -1;
    if (pid > 0)
        sqlite3_bind_int64(st, 1, pid);
    else
        sqlite3_bind_null(st, 1);
    sqlite3_bind_double(st, 2, t0_unix);
    sqlite3_bind_text(st, 3, log_dir, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, run_id);
    return step_done(db, st, "recording the run start", err, errlen);
}

int resultdb_run_end(struct resultdb *db, int64_t run_id, const char *status,
                     const char *exit_reason, const char *verdict, double steady_from,
                     double steady_to, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (db->in_batch && resultdb_commit(db, err, errlen) < 0)
        return -1;
    if (prepare(db, "UPDATE runs SET status = ?, exit_reason = ?, verdict = ?, steady_from = ?, "
                    "steady_to = ?, ended_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
                &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, exit_reason && *exit_reason ? exit_reason : NULL, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, verdict, -1, SQLITE_STATIC);
    bind_real_or_null(st, 4, steady_from);
    bind_real_or_null(st, 5, steady_to);
    sqlite3_bind_int64(st, 6, run_id);
    return step_done(db, st, "closing the run", err, errlen);
}

int resultdb_begin(struct resultdb *db, char *err, size_t errlen)
{
    if (db->in_batch)
        return 0;
    if (storedb_exec(db, "BEGIN", err, errlen) < 0)
        return -1;
    db->in_batch = true;
    return 0;
}

int resultdb_commit(struct resultdb *db, char *err, size_t errlen)
{
    if (!db->in_batch)
        return 0;
    db->in_batch = false;
    return storedb_exec(db, "COMMIT", err, errlen);
}

int resultdb_sample(struct resultdb *db, int64_t run_id, double t, const char *metric,
                    const char *labels, double value, char *err, size_t errlen)
{
    sqlite3_stmt *st = db->insert_sample;
    int rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, t);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, labels, -1, SQLITE_STATIC);
    bind_real_or_null(st, 5, value);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, err, errlen, "recording a sample");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

int resultdb_phase_on(struct resultdb *db, int64_t run_id, const char *phase, const char *fault,
                      const char *term, double on_at, int64_t *phase_id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "INSERT INTO phases (run_id, phase, fault, term, on_at) VALUES (?, ?, ?, ?, ?)",
                &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, phase, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, fault, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, term, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, on_at);
    if (step_done(db, st, "recording a phase", err, errlen) < 0)
        return -1;
    *phase_id = sqlite3_last_insert_rowid(db->db);
    return 0;
}

int resultdb_phase_off(struct resultdb *db, int64_t phase_id, double off_at, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "UPDATE phases SET off_at = ? WHERE id = ?", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_double(st, 1, off_at);
    sqlite3_bind_int64(st, 2, phase_id);
    return step_done(db, st, "closing a phase", err, errlen);
}

int resultdb_restart(struct resultdb *db, int64_t run_id, double asked_at, double ready_at, char *err,
                     size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "INSERT INTO restarts (run_id, asked_at, ready_at) VALUES (?, ?, ?)", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, asked_at);
    sqlite3_bind_double(st, 3, ready_at);
    return step_done(db, st, "recording a restart", err, errlen);
}

int resultdb_load_result(struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                         unsigned connections, unsigned threads, const struct wrkres *r,
                         char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const double lat[] = {r->latency_min, r->latency_mean, r->latency_stdev, r->latency_max,
                          r->latency_p50, r->latency_p75, r->latency_p90, r->latency_p99, r->latency_p999};
    int i = 1;

    if (prepare(db, "INSERT OR REPLACE INTO load_results (run_id, stage, started_at, duration_s, "
                    "connections, threads, requests, bytes, throughput, error_rate, errors_connect, "
                    "errors_read, errors_write, errors_status, errors_timeout, latency_min_s, "
                    "latency_mean_s, latency_stdev_s, latency_max_s, p50_s, p75_s, p90_s, p99_s, p999_s) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, i++, run_id);
    sqlite3_bind_text(st, i++, stage, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, i++, started_at);
    sqlite3_bind_double(st, i++, r->duration_s);
    sqlite3_bind_int(st, i++, (int)connections);
    sqlite3_bind_int(st, i++, (int)threads);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->requests);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->bytes);
    bind_real_or_null(st, i++, wrkres_throughput(r));
    bind_real_or_null(st, i++, wrkres_error_rate(r));
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->errors_connect);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->errors_read);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->errors_write);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->errors_status);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)r->errors_timeout);
    for (size_t k = 0; k < sizeof lat / sizeof lat[0]; k++)
        bind_real_or_null(st, i++, lat[k]);
    return step_done(db, st, "recording load results", err, errlen);
}

int resultdb_window(struct resultdb *db, int64_t run_id, double t, double width,
                    const char *metric, double throughput, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "INSERT OR REPLACE INTO windows (run_id, t, width_s, metric, throughput) VALUES (?,?,?,?,?)",
                &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_double(st, 2, t);
    sqlite3_bind_double(st, 3, width);
    sqlite3_bind_text(st, 4, metric, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, throughput);
    return step_done(db, st, "recording a throughput window", err, errlen);
}

int resultdb_gate(struct resultdb *db, int64_t run_id, const struct gate_result *g,
                  char *err, size_t errlen)
{
    sqlite3_stmt *st;
    const struct gate_spec *s = g->spec;
    if (prepare(db, "INSERT OR REPLACE INTO gates (run_id, name, op, threshold, threshold_text, unit, "
                    "observed, passed, expected_to_fail, error, instance, instances) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, s->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, gate_op_text(s->op), -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 4, s->threshold);
    sqlite3_bind_text(st, 5, s->threshold_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, gate_unit(s), -1, SQLITE_STATIC);
    bind_real_or_null(st, 7, g->observed);
    if (g->verdict == GATE_ERROR)
        sqlite3_bind_null(st, 8);
    else
        sqlite3_bind_int(st, 8, g->verdict == GATE_PASS);
    sqlite3_bind_int(st, 9, g->expected_to_fail);
    sqlite3_bind_text(st, 10, g->verdict == GATE_ERROR ? g->detail : NULL, -1, SQLITE_STATIC);
    if (g->instances) {
        sqlite3_bind_text(st, 11, g->instance, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 12, (int)g->instances);
    }
    return step_done(db, st, "recording a gate", err, errlen);
}
