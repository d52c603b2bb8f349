/* resultdb: the SQLite file every run is recorded in (schema: docs/schema.md).
 *
 * One file holds every run so that later questions (trends, regressions against a
 * baseline label, diagnoses) are SQL over history rather than re-runs. WAL mode lets
 * a reader (`loadlab list`, a report) look while a run writes; samples are written in
 * one transaction per scrape, so a run costs a few dozen commits, not thousands. A run
 * row is created "running" before anything starts and always closed as completed,
 * aborted or crashed; a row left "running" by a loadlab that was killed outright is
 * closed as aborted the next time the file is opened for writing. */
#ifndef LOADLAB_RESULTDB_H
#define LOADLAB_RESULTDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "judge/gate.h"
#include "base/wrkres.h"

#define RESULTDB_SCHEMA_VERSION 9

struct resultdb;

struct resultdb_run {
    const char *scenario, *scenario_file, *label, *git_rev, *params;
};

/* Opens (creating when writable and missing) the database at path and brings the
 * schema up to date. Returns a handle (close with resultdb_close), or NULL with err
 * filled: cannot open, not a loadlab database, or written by a newer loadlab. */
struct resultdb *resultdb_open(const char *path, bool readonly, char *err, size_t errlen);
void resultdb_close(struct resultdb *db);

/* Whether the database has the table name: a file of an older schema opened
 * read-only is not upgraded, so readers of newer tables ask first. Returns 1, 0, or
 * -1 with err filled on a database error. */
int resultdb_table_exists(struct resultdb *db, const char *name, char *err, size_t errlen);

/* Whether table has column (a schema-7 fleet column in a file read-only and older).
 * Returns 1, 0 (no such column or table), or -1 with err filled. */
int resultdb_has_column(struct resultdb *db, const char *table, const char *column, char *err, size_t errlen);

/* Inserts a run with status "running". Returns 0 with *run_id set, or -1 with err. */
int resultdb_run_begin(struct resultdb *db, const struct resultdb_run *run, int64_t *run_id,
                       char *err, size_t errlen);

/* Records the run's log folder, the pid sampled in /proc (0: none) and the wall-clock
 * time of t = 0 (Unix seconds). Returns 0 or -1 with err. */
int resultdb_run_started(struct resultdb *db, int64_t run_id, const char *log_dir, pid_t pid,
                         double t0_unix, char *err, size_t errlen);

/* Closes a run: status is "completed", "aborted" or "crashed"; verdict "met",
 * "unmet" or NULL (not judged); steady_from/to the judged window (NaN if none).
 * Commits any open sample batch first. Returns 0 or -1 with err. */
int resultdb_run_end(struct resultdb *db, int64_t run_id, const char *status,
                     const char *exit_reason, const char *verdict, double steady_from,
                     double steady_to, char *err, size_t errlen);

/* A batch of writes (one scrape). Returns 0 or -1 with err. */
int resultdb_begin(struct resultdb *db, char *err, size_t errlen);
int resultdb_commit(struct resultdb *db, char *err, size_t errlen);

/* One sample; labels in canonical form ("" for none), NaN stored as NULL.
 * Returns 0 or -1 with err. */
int resultdb_sample(struct resultdb *db, int64_t run_id, double t, const char *metric,
                    const char *labels, double value, char *err, size_t errlen);

/* A fault switched on (phase name, fault, term) at on_at seconds; *phase_id for the
 * matching resultdb_phase_off. Returns 0 or -1 with err. */
int resultdb_phase_on(struct resultdb *db, int64_t run_id, const char *phase, const char *fault,
                      const char *term, double on_at, int64_t *phase_id, char *err, size_t errlen);
int resultdb_phase_off(struct resultdb *db, int64_t phase_id, double off_at, char *err, size_t errlen);

/* The service was restarted: stopped at asked_at, ready again at ready_at (run
 * seconds). Returns 0 or -1 with err. */
int resultdb_restart(struct resultdb *db, int64_t run_id, double asked_at, double ready_at, char *err,
                     size_t errlen);

/* What one wrk run measured; stage is "warmup" or "measure". Returns 0 or -1 with err. */
int resultdb_load_result(struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                         unsigned connections, unsigned threads, const struct wrkres *r,
                         char *err, size_t errlen);

/* One throughput window. Returns 0 or -1 with err. */
int resultdb_window(struct resultdb *db, int64_t run_id, double t, double width,
                    const char *metric, double throughput, char *err, size_t errlen);

/* One judged gate. Returns 0 or -1 with err. */
int resultdb_gate(struct resultdb *db, int64_t run_id, const struct gate_result *g,
                  char *err, size_t errlen);

#endif
