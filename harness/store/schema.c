/* schema: the results database's tables and views, and the steps that bring a
 * database written by an older loadlab up to the current schema (RESULTDB_SCHEMA_VERSION).
 *
 * Kept apart from resultdb.c, which opens the database and writes runs, so the DDL and
 * its history (each schema version's additions, the tables copied to widen a CHECK,
 * the columns added to old tables) read as one piece. Every step is idempotent: a new
 * file, or one of any older version, ends with the same schema. See docs/schema.md. */
#include "store/schema.h"
#include "store/storedb.h"
#include "judge/verdict.h"

#include <stdbool.h>
#include <stdio.h>

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
 * (same columns, same rows). Nothing references the table, so nothing else moves.
 * The fleet's instance column is added to an old table before it is copied
 * (schema_upgrade), so the copy has it last, where ALTER TABLE put it. */
static const char diagnoses_widen[] =
    "CREATE TABLE diagnoses_widened (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    DIAGNOSES_COLUMNS
    "  , instance TEXT\n"
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
    "  , instance TEXT\n"
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
    "  mitigation_s REAL,\n"
    "  mitigation_method TEXT,\n"
    "  time_bought_s REAL\n"
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

/* Schema 9: each time a run's service was restarted (a drill's mitigation), from when
 * it was asked (the old process stopped) to when the new one was ready. A diagnosis
 * reads the run as segments split there: a sample after a restart is a new process's,
 * no continuation of the one before. */
static const char schema_restarts[] =
    "CREATE TABLE IF NOT EXISTS restarts (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  asked_at REAL NOT NULL,\n"
    "  ready_at REAL NOT NULL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS restarts_run ON restarts(run_id, asked_at);\n";

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

int schema_version(struct resultdb *db, int *version, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    if (storedb_prepare(db, "PRAGMA user_version", &st, "prepare", err, errlen) < 0)
        return -1;
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return storedb_fail(db, "reading the schema version", err, errlen);
    }
    *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* Runs widen when table's CHECK lacks the quoted word newest (a table written by an
 * older loadlab). Returns 0, or -1 with err. */
static int widen_table(struct resultdb *db, const char *table, const char *newest, const char *widen, char *err,
                       size_t errlen)
{
    sqlite3_stmt *st;
    char pattern[64];
    bool old;
    if (storedb_prepare(db, "SELECT instr(sql, ?) = 0 FROM sqlite_master WHERE type = 'table' AND name = ?", &st,
                        "prepare", err, errlen) < 0)
        return -1;
    snprintf(pattern, sizeof pattern, "'%s'", newest);
    sqlite3_bind_text(st, 1, pattern, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    old = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return old ? storedb_exec(db, widen, err, errlen) : 0;
}

/* Adds column (declared decl) to table when a table written by an older loadlab lacks
 * it. Returns 0, or -1 with err. */
static int add_column(struct resultdb *db, const char *table, const char *column, const char *decl, char *err,
                      size_t errlen)
{
    sqlite3_stmt *st;
    char sql[200];
    bool missing;
    if (storedb_prepare(db, "SELECT count(*) = 0 FROM pragma_table_info(?) WHERE name = ?", &st, "prepare", err,
                        errlen) < 0)
        return -1;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    missing = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, decl);
    return missing ? storedb_exec(db, sql, err, errlen) : 0;
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

/* Schema 8: how a drill's mitigation was tried (the debug API, or a restart) and, for
 * a restart that only set a leak back, the time it bought. Added to a drills table of
 * any older schema. Returns 0, or -1 with err. */
static int add_mitigation_method(struct resultdb *db, char *err, size_t errlen)
{
    if (add_column(db, "drills", "mitigation_method", "TEXT", err, errlen) < 0 ||
        add_column(db, "drills", "time_bought_s", "REAL", err, errlen) < 0)
        return -1;
    return 0;
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
        if (storedb_exec(db, sql, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int schema_upgrade(struct resultdb *db, int version, char *err, size_t errlen)
{
    char set_version[64];

    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", RESULTDB_SCHEMA_VERSION);
    if (storedb_exec(db, schema, err, errlen) < 0 || storedb_exec(db, incident_schema, err, errlen) < 0 ||
        add_fleet_columns(db, err, errlen) < 0 ||
        widen_diagnoses(db, err, errlen) < 0 || add_mitigation_method(db, err, errlen) < 0 ||
        storedb_exec(db, schema_regressions, err, errlen) < 0 ||
        (version == 3 && storedb_exec(db, schema_figures_counter, err, errlen) < 0) ||
        storedb_exec(db, schema_interleaved, err, errlen) < 0 ||
        (version < 5 && storedb_exec(db, regressions_method_column, err, errlen) < 0) ||
        storedb_exec(db, schema_open, err, errlen) < 0 ||
        storedb_exec(db, schema_restarts, err, errlen) < 0 ||
        storedb_exec(db, set_version, err, errlen) < 0)
        return -1;
    return 0;
}
