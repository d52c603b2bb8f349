/* resultdb: schema and writes. See resultdb.h and docs/schema.md. */
#include "store/resultdb.h"
#include "store/storedb.h"
#include "judge/verdict.h"

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

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  scenario TEXT NOT NULL,\n"
    "  scenario_file TEXT,\n"
    "  label TEXT NOT NULL,\n"
    "  git_rev TEXT,\n"
    "  host TEXT NOT NULL,\n"
    "  driver_pid INTEGER NOT NULL,\n"
    "  started_at TEXT NOT NULL,\n"
    "  ended_at TEXT,\n"
    "  status TEXT NOT NULL CHECK (status IN ('running','completed','aborted','crashed')),\n"
    "  exit_reason TEXT,\n"
    "  verdict TEXT CHECK (verdict IN ('met','unmet')),\n"
    "  params TEXT NOT NULL,\n"
    "  log_dir TEXT,\n"
    "  service_pid INTEGER,\n"
    "  t0_unix REAL,\n"
    "  steady_from REAL,\n"
    "  steady_to REAL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS runs_scenario_label ON runs(scenario, label, id);\n"
    "CREATE TABLE IF NOT EXISTS phases (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  phase TEXT NOT NULL,\n"
    "  fault TEXT NOT NULL,\n"
    "  term TEXT NOT NULL,\n"
    "  on_at REAL NOT NULL,\n"
    "  off_at REAL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS phases_run ON phases(run_id);\n"
    "CREATE TABLE IF NOT EXISTS samples (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  t REAL NOT NULL,\n"
    "  metric TEXT NOT NULL,\n"
    "  labels TEXT NOT NULL DEFAULT '',\n"
    "  value REAL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS samples_run_metric ON samples(run_id, metric, labels, t);\n"
    "CREATE TABLE IF NOT EXISTS load_results (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  stage TEXT NOT NULL CHECK (stage IN ('warmup','measure')),\n"
    "  started_at REAL NOT NULL,\n"
    "  duration_s REAL NOT NULL,\n"
    "  connections INTEGER NOT NULL,\n"
    "  threads INTEGER NOT NULL,\n"
    "  requests INTEGER NOT NULL,\n"
    "  bytes INTEGER NOT NULL,\n"
    "  throughput REAL,\n"
    "  error_rate REAL,\n"
    "  errors_connect INTEGER NOT NULL,\n"
    "  errors_read INTEGER NOT NULL,\n"
    "  errors_write INTEGER NOT NULL,\n"
    "  errors_status INTEGER NOT NULL,\n"
    "  errors_timeout INTEGER NOT NULL,\n"
    "  latency_min_s REAL, latency_mean_s REAL, latency_stdev_s REAL, latency_max_s REAL,\n"
    "  p50_s REAL, p75_s REAL, p90_s REAL, p99_s REAL, p999_s REAL,\n"
    "  PRIMARY KEY (run_id, stage)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS windows (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  t REAL NOT NULL,\n"
    "  width_s REAL NOT NULL,\n"
    "  metric TEXT NOT NULL,\n"
    "  throughput REAL NOT NULL,\n"
    "  PRIMARY KEY (run_id, t)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS gates (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  op TEXT NOT NULL,\n"
    "  threshold REAL NOT NULL,\n"
    "  threshold_text TEXT NOT NULL,\n"
    "  unit TEXT NOT NULL,\n"
    "  observed REAL,\n"
    "  passed INTEGER,\n"
    "  expected_to_fail INTEGER NOT NULL,\n"
    "  error TEXT,\n"
    "  PRIMARY KEY (run_id, name)\n"
    ");\n"
    "CREATE VIEW IF NOT EXISTS run_overview AS\n"
    "  SELECT r.id, r.scenario, r.label, r.git_rev, r.started_at, r.status, r.verdict, r.exit_reason,\n"
    "         l.throughput, l.p99_s * 1000 AS p99_ms, l.error_rate,\n"
    "         (SELECT count(*) FROM gates g WHERE g.run_id = r.id) AS gates,\n"
    "         (SELECT count(*) FROM gates g WHERE g.run_id = r.id AND g.passed = 0) AS gates_failed\n"
    "  FROM runs r LEFT JOIN load_results l ON l.run_id = r.id AND l.stage = 'measure';\n"
    "CREATE VIEW IF NOT EXISTS gate_verdicts AS\n"
    "  SELECT r.id AS run_id, r.scenario, r.label, r.started_at, g.name, g.threshold_text,\n"
    "         g.observed, g.unit, g.expected_to_fail,\n"
    "         " VERDICT_SQL_CASE("g.passed", "g.expected_to_fail") " AS outcome\n"
    "  FROM gates g JOIN runs r ON r.id = g.run_id;\n"
    "CREATE VIEW IF NOT EXISTS latest_runs AS\n"
    "  SELECT * FROM run_overview o\n"
    "  WHERE o.status = 'completed' AND o.id = (SELECT max(id) FROM runs r2\n"
    "        WHERE r2.scenario = o.scenario AND r2.label = o.label AND r2.status = 'completed');\n"
    "CREATE VIEW IF NOT EXISTS fault_timeline AS\n"
    "  SELECT p.run_id, r.scenario, r.label, p.phase, p.fault, p.term, p.on_at,\n"
    "         coalesce(p.off_at, r.steady_to) AS off_at, p.off_at IS NULL AS still_on_at_end\n"
    "  FROM phases p JOIN runs r ON r.id = p.run_id;\n"
    "CREATE VIEW IF NOT EXISTS steady_samples AS\n"
    "  SELECT s.* FROM samples s JOIN runs r ON r.id = s.run_id\n"
    "  WHERE s.t >= r.steady_from AND s.t <= r.steady_to;\n";

/* The diagnoses table's columns; the class names are the ones a diagnosis and a
 * trainee use. */
#define DIAGNOSES_COLUMNS \
    "  class TEXT NOT NULL CHECK (class IN ('none','thread-leak','memory-leak','lock-contention',\n" \
    "                                       'queue-full','blocked-producer','cpu-slowdown','overload')),\n" \
    "  culprit TEXT,\n" \
    "  started_at REAL,\n" \
    "  confidence REAL,\n" \
    "  summary TEXT NOT NULL,\n" \
    "  evidence_text TEXT NOT NULL,\n" \
    "  diagnosed_at TEXT NOT NULL\n"

/* A diagnoses table from before the overload class has a CHECK that refuses it, and
 * SQLite cannot change a CHECK in place: the table is copied into one that accepts it
 * (same columns, same rows). Nothing references the table, so nothing else moves. */
static const char diagnoses_widen[] =
    "CREATE TABLE diagnoses_widened (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    DIAGNOSES_COLUMNS
    ");\n"
    "INSERT INTO diagnoses_widened SELECT * FROM diagnoses;\n"
    "DROP TABLE diagnoses;\n"
    "ALTER TABLE diagnoses_widened RENAME TO diagnoses;\n"
    "CREATE INDEX IF NOT EXISTS diagnoses_run ON diagnoses(run_id);\n";

/* The evidence columns, in one place for the table and its widening below. */
#define EVIDENCE_COLUMNS \
    "  id INTEGER PRIMARY KEY,\n" \
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n" \
    "  t REAL NOT NULL,\n" \
    "  kind TEXT NOT NULL CHECK (kind IN ('threads','mutex','block','heap','cpu','vars','faults','log','note')),\n" \
    "  reason TEXT NOT NULL,\n" \
    "  bytes INTEGER NOT NULL,\n" \
    "  content_gz BLOB NOT NULL\n"

/* An evidence table from before CPU profiles were kept, copied into one whose CHECK
 * accepts them: SQLite cannot change a CHECK in place. */
static const char evidence_widen[] =
    "CREATE TABLE evidence_widened (\n"
    EVIDENCE_COLUMNS
    ");\n"
    "INSERT INTO evidence_widened SELECT * FROM evidence;\n"
    "DROP TABLE evidence;\n"
    "ALTER TABLE evidence_widened RENAME TO evidence;\n"
    "CREATE INDEX IF NOT EXISTS evidence_run ON evidence(run_id, kind, t);\n";

/* Schema 2: incident evidence (evidence.h), diagnoses (diagnose.h) and drills
 * (drill.h). */
static const char incident_schema[] =
    "CREATE TABLE IF NOT EXISTS evidence (\n"
    EVIDENCE_COLUMNS
    ");\n"
    "CREATE INDEX IF NOT EXISTS evidence_run ON evidence(run_id, kind, t);\n"
    "CREATE TABLE IF NOT EXISTS diagnoses (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    DIAGNOSES_COLUMNS
    ");\n"
    "CREATE INDEX IF NOT EXISTS diagnoses_run ON diagnoses(run_id);\n"
    "CREATE TABLE IF NOT EXISTS drills (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,\n"
    "  trainee TEXT NOT NULL,\n"
    "  started_at TEXT NOT NULL,\n"
    "  level INTEGER NOT NULL,\n"
    "  seed INTEGER NOT NULL,\n"
    "  truth TEXT NOT NULL,\n"
    "  answer TEXT,\n"
    "  status TEXT NOT NULL CHECK (status IN ('answered','unanswered','aborted')),\n"
    "  problems INTEGER NOT NULL,\n"
    "  detected INTEGER,\n"
    "  classes_right INTEGER,\n"
    "  culprits_right INTEGER,\n"
    "  extra INTEGER,\n"
    "  time_s REAL,\n"
    "  score REAL,\n"
    "  mitigated INTEGER,\n"
    "  mitigation_s REAL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS drills_trainee ON drills(trainee, id);\n";

/* Schema 3: regression gates. figures holds, per run, the value each of the
 * scenario's regression gates compares; regressions holds every cross-run verdict
 * (written by the baseline module). */
static const char schema_regressions[] =
    "CREATE TABLE IF NOT EXISTS figures (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  unit TEXT NOT NULL,\n"
    "  value REAL,\n"
    "  error TEXT,\n"
    "  counter TEXT,\n"
    "  PRIMARY KEY (run_id, name)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS regressions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  judged_at TEXT NOT NULL,\n"
    "  scenario TEXT NOT NULL,\n"
    "  baseline_scenario TEXT NOT NULL,\n"
    "  gate TEXT NOT NULL,\n"
    "  threshold_text TEXT NOT NULL,\n"
    "  unit TEXT NOT NULL,\n"
    "  baseline_label TEXT NOT NULL,\n"
    "  candidate_label TEXT NOT NULL,\n"
    "  baseline_runs TEXT NOT NULL,\n"
    "  candidate_runs TEXT NOT NULL,\n"
    "  baseline_n INTEGER NOT NULL,\n"
    "  candidate_n INTEGER NOT NULL,\n"
    "  baseline_median REAL, candidate_median REAL,\n"
    "  ratio REAL, ci_low REAL, ci_high REAL, confidence REAL NOT NULL,\n"
    "  p_value REAL, alpha REAL NOT NULL, min_runs INTEGER NOT NULL,\n"
    "  verdict TEXT NOT NULL CHECK (verdict IN ('pass','fail','inconclusive','error')),\n"
    "  detail TEXT\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS regressions_scenario ON regressions(scenario, gate, id);\n";

/* Schema 4 (and 5): figures.counter, the counter of an instruction count (hw-instructions or
 * callgrind), so two counters are never compared. Added to a schema 3 figures table. */
static const char schema_figures_counter[] = "ALTER TABLE figures ADD COLUMN counter TEXT";

/* Schema 5: interleaved A/B comparisons. regressions.method says how a verdict was
 * reached ('runs': whole runs a side; 'interleaved': paired slices of two builds
 * running at once), and ab_slices holds every slice of an interleaved comparison,
 * keyed by the two runs that stand for its sides. */
static const char schema_interleaved[] =
    "CREATE TABLE IF NOT EXISTS ab_slices (\n"
    "  candidate_run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  baseline_run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  pair INTEGER NOT NULL,\n"
    "  side TEXT NOT NULL CHECK (side IN ('baseline','candidate')),\n"
    "  first INTEGER NOT NULL,\n"
    "  t REAL NOT NULL,\n"
    "  duration_s REAL NOT NULL,\n"
    "  requests INTEGER NOT NULL,\n"
    "  errors INTEGER NOT NULL,\n"
    "  throughput REAL, error_rate REAL, p50_s REAL, p90_s REAL, p99_s REAL, cpu_s REAL,\n"
    "  PRIMARY KEY (candidate_run_id, pair, side)\n"
    ");\n";

static const char regressions_method_column[] =
    "ALTER TABLE regressions ADD COLUMN method TEXT NOT NULL DEFAULT 'runs' "
    "CHECK (method IN ('runs','interleaved'));\n";

/* Schema 6: the open model. open_loads holds what the generator measured per run and
 * stage (its counts, rates, health and whole-stage latency histogram), latency_windows
 * the same per second, histograms serialized as latency_hist writes them. */
static const char schema_open[] =
    "CREATE TABLE IF NOT EXISTS open_loads (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  stage TEXT NOT NULL CHECK (stage IN ('warmup','measure')),\n"
    "  started_at REAL, duration_s REAL, asked_rate REAL, achieved_rate REAL,\n"
    "  scheduled INTEGER NOT NULL, completed INTEGER NOT NULL, errors INTEGER NOT NULL,\n"
    "  dropped INTEGER NOT NULL, waited INTEGER NOT NULL,\n"
    "  send_lag_p99_s REAL, send_lag_max_s REAL, lag_limit_s REAL,\n"
    "  behind_schedule INTEGER NOT NULL,\n"
    "  p50_s REAL, p90_s REAL, p99_s REAL, p999_s REAL, max_s REAL,\n"
    "  latency BLOB,\n"
    "  PRIMARY KEY (run_id, stage)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS latency_windows (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  stage TEXT NOT NULL CHECK (stage IN ('warmup','measure')),\n"
    "  second INTEGER NOT NULL,\n"
    "  t REAL NOT NULL,\n"
    "  scheduled INTEGER NOT NULL, completed INTEGER NOT NULL, errors INTEGER NOT NULL,\n"
    "  dropped INTEGER NOT NULL,\n"
    "  hist BLOB,\n"
    "  PRIMARY KEY (run_id, stage, second)\n"
    ");\n";

/* Schema 7: a fleet's instances. On a fleet (samples from Prometheus, one series per
 * replica) a finding, an evidence item and a per-instance gate each belong to one
 * replica: diagnoses.instance and evidence.instance name it (NULL on one machine), and
 * gates.instance / gates.instances say which replica a worst-of-instances gate's
 * observed value is from and of how many it was the worst. */
static const struct {
    const char *table, *column, *decl;
} fleet_columns[] = {
    {"diagnoses", "instance", "TEXT"},
    {"evidence", "instance", "TEXT"},
    {"gates", "instance", "TEXT"},
    {"gates", "instances", "INTEGER"},
};

static int db_fail(struct resultdb *db, char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(db->db));
    return -1;
}

static int exec_sql(struct resultdb *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", msg ? msg : sqlite3_errmsg(db->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
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

static int schema_version(struct resultdb *db, int *version, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (prepare(db, "PRAGMA user_version", &st, err, errlen) < 0)
        return -1;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(db, err, errlen, "reading the schema version");
    }
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
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

/* Runs widen when table's CHECK lacks the quoted word newest (a table written by an
 * older loadlab). Returns 0, or -1 with err. */
static int widen_table(struct resultdb *db, const char *table, const char *newest, const char *widen, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st;
    char pattern[64];
    bool old;
    if (prepare(db, "SELECT instr(sql, ?) = 0 FROM sqlite_master WHERE type = 'table' AND name = ?", &st, err,
                errlen) < 0)
        return -1;
    snprintf(pattern, sizeof pattern, "'%s'", newest);
    sqlite3_bind_text(st, 1, pattern, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    old = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return old ? exec_sql(db, widen, err, errlen) : 0;
}

/* Adds column (declared decl) to table when a table written by an older loadlab lacks
 * it. Returns 0, or -1 with err. */
static int add_column(struct resultdb *db, const char *table, const char *column, const char *decl, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st;
    char sql[200];
    bool missing;
    if (prepare(db, "SELECT count(*) = 0 FROM pragma_table_info(?) WHERE name = ?", &st, err, errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    missing = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, decl);
    return missing ? exec_sql(db, sql, err, errlen) : 0;
}

/* Copies old diagnoses and evidence tables into ones whose CHECKs accept every class
 * and kind (see diagnoses_widen, evidence_widen), and gives an old drills table the
 * mitigation columns. Returns 0, or -1 with err. */
static int widen_diagnoses(struct resultdb *db, char *err, size_t errlen)
{
    if (widen_table(db, "diagnoses", "overload", diagnoses_widen, err, errlen) < 0 ||
        add_column(db, "drills", "mitigated", "INTEGER", err, errlen) < 0 ||
        add_column(db, "drills", "mitigation_s", "REAL", err, errlen) < 0)
        return -1;
    return widen_table(db, "evidence", "cpu", evidence_widen, err, errlen);
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

/* Schema 7 (see fleet_columns): adds each column a table lacks, so a database of any
 * older schema, or a table just created without them, ends with all of them. Returns
 * 0, or -1 with err. */
static int add_fleet_columns(struct resultdb *db, char *err, size_t errlen)
{
    char sql[160];
    for (size_t i = 0; i < sizeof fleet_columns / sizeof fleet_columns[0]; i++) {
        int has = resultdb_has_column(db, fleet_columns[i].table, fleet_columns[i].column, err, errlen);
        if (has < 0)
            return -1;
        if (has)
            continue;
        snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", fleet_columns[i].table, fleet_columns[i].column,
                 fleet_columns[i].decl);
        if (exec_sql(db, sql, err, errlen) < 0)
            return -1;
    }
    return 0;
}

struct resultdb *resultdb_open(const char *path, bool readonly, char *err, size_t errlen)
{
    struct resultdb *db = calloc(1, sizeof *db);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int version;
    char set_version[64];

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
    if (exec_sql(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                 err, errlen) < 0 ||
        exec_sql(db, "BEGIN IMMEDIATE", err, errlen) < 0)
        goto fail;
    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", RESULTDB_SCHEMA_VERSION);
    if (exec_sql(db, schema, err, errlen) < 0 || exec_sql(db, incident_schema, err, errlen) < 0 ||
        widen_diagnoses(db, err, errlen) < 0 ||
        exec_sql(db, schema_regressions, err, errlen) < 0 ||
        (version == 3 && exec_sql(db, schema_figures_counter, err, errlen) < 0) ||
        exec_sql(db, schema_interleaved, err, errlen) < 0 ||
        (version < 5 && exec_sql(db, regressions_method_column, err, errlen) < 0) ||
        exec_sql(db, schema_open, err, errlen) < 0 ||

        add_fleet_columns(db, err, errlen) < 0 ||
        exec_sql(db, set_version, err, errlen) < 0 ||
        exec_sql(db, "COMMIT", err, errlen) < 0) {
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
    if (exec_sql(db, "BEGIN", err, errlen) < 0)
        return -1;
    db->in_batch = true;
    return 0;
}

int resultdb_commit(struct resultdb *db, char *err, size_t errlen)
{
    if (!db->in_batch)
        return 0;
    db->in_batch = false;
    return exec_sql(db, "COMMIT", err, errlen);
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
