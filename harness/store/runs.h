/* runs: the typed readers of one run's rows — the runs row itself, its gates, fault
 * phases, wrk results, throughput windows and a count of its samples — and of the
 * runs a command selects (the latest, a scenario's, a label's).
 *
 * `loadlab list` and `show` (output/history) and the report's run reader
 * (report/runinfo) read a run through these, so a run reads the same wherever it is
 * shown; nothing outside store/ sees SQL. Every string is copied into the struct
 * (truncated at the field's size; "" for NULL) and every missing number is NaN, so a
 * row outlives the statement it came from. */
#ifndef LOADLAB_RUNS_H
#define LOADLAB_RUNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/gate.h"
#include "store/resultdb.h"

#define RUNS_MAX_TEXT 1024
#define RUNS_MAX_GATES 256
#define RUNS_MAX_PHASES 256
#define RUNS_MAX_NAME 128   /* a scenario's name, as stored */

/* The runs row. */
struct runs_run {
    int64_t id;
    char scenario[RUNS_MAX_NAME], scenario_file[RUNS_MAX_TEXT], label[256], git_rev[64], host[256];
    char started_at[40], ended_at[40], status[16], verdict[8];
    char exit_reason[RUNS_MAX_TEXT], log_dir[RUNS_MAX_TEXT];
    char *params;                  /* the scenario's settings, JSON ("{}" when none); owned */
    double steady_from, steady_to; /* NaN when not judged */
    long long service_pid;         /* 0 when none was sampled */
};

/* Reads run id into a new runs_run (free with runs_run_free). Returns it, or NULL
 * with *missing set when there is no such run (err says so), or NULL with err filled
 * on a database error or out of memory. */
struct runs_run *runs_get(struct resultdb *db, int64_t id, bool *missing, char *err, size_t errlen);
void runs_run_free(struct runs_run *run);

/* One judged gate, with the outcome in the gate_verdicts view's words. */
struct runs_gate {
    char name[GATE_MAX_NAME];
    char threshold_text[GATE_MAX_THRESHOLD_TEXT];
    char unit[16], op[4];
    double threshold;              /* base units */
    double observed;               /* NaN when not measured */
    int passed;                    /* 1, 0, or -1 for an error */
    bool expected_to_fail;
    char outcome[40];              /* held, failed, tripped as expected, ... */
    bool has_error;
    char error[256];
    char instance[256];            /* a fleet's worst instance, "" when not per instance */
    int instances;                 /* of how many it was the worst; 0 when not per instance */
};

/* The judged gates of run id in the order judged, in a new array (*gates, caller
 * frees; NULL when none). Returns 0, or -1 with err filled (database error, more
 * than RUNS_MAX_GATES, out of memory). */
int runs_gates(struct resultdb *db, int64_t id, struct runs_gate **gates, size_t *n, char *err, size_t errlen);

/* One fault phase. */
struct runs_phase {
    char phase[64], fault[64], term[128];
    double on_at;
    double off_at;                 /* NaN: still on at the end */
};

/* The phases of run id by time switched on, in a new array (*phases, caller frees;
 * NULL when none). Returns 0, or -1 with err filled (database error, more than
 * RUNS_MAX_PHASES, out of memory). */
int runs_phases(struct resultdb *db, int64_t id, struct runs_phase **phases, size_t *n, char *err,
                size_t errlen);

/* One restart of the run's service (schema 9): the old process stopped at asked_at,
 * the new one ready at ready_at (run seconds). */
struct runs_restart {
    double asked_at, ready_at;
};

/* The restarts of run id in time order, at most cap of them, into out[0..*n-1]; none
 * in a database from before schema 9. Returns 0, 1 when the run had more than cap (the
 * first cap are given), or -1 with err filled. */
int runs_restarts(struct resultdb *db, int64_t id, struct runs_restart *out, size_t cap, size_t *n, char *err,
                  size_t errlen);

/* What one wrk run measured (load_results). Numbers are NaN when NULL. */
struct runs_load {
    char stage[16];                /* "warmup" or "measure" */
    double started_at, duration_s, throughput, error_rate;
    double p50, p75, p90, p99, p999, latency_max;   /* seconds */
    long long requests;
    long long errors_connect, errors_read, errors_write, errors_status, errors_timeout;
    unsigned connections, threads;
};

/* The wrk results of run id by start time (at most two: warmup, measure) into
 * loads[0..*n-1]. Returns 0, or -1 with err filled. */
int runs_loads(struct resultdb *db, int64_t id, struct runs_load loads[2], size_t *n, char *err, size_t errlen);

/* The throughput windows of a run, summed up. */
struct runs_windows {
    int count;
    double min, mean, max;         /* requests/s; NaN when count is 0 */
    char metric[256];              /* the counter they came from; "" when none */
};

/* Returns 0 with *out filled, or -1 with err filled. */
int runs_windows(struct resultdb *db, int64_t id, struct runs_windows *out, char *err, size_t errlen);

/* The samples of a run, counted. */
struct runs_samples {
    long long values;
    int series, metrics;
    double first_t, last_t;        /* NaN when there are none */
};

/* Returns 0 with *out filled, or -1 with err filled. */
int runs_samples(struct resultdb *db, int64_t id, struct runs_samples *out, char *err, size_t errlen);

/* One line of `loadlab list`: the run_overview view. */
struct runs_overview {
    int64_t id;
    char started_at[40], scenario[RUNS_MAX_NAME], label[256], status[16], verdict[8];
    double throughput, p99_ms;     /* wrk's measured part; NaN when none */
    int gates, gates_failed;       /* gates_failed: tripped, whether expected to or not */
    /* the gates by outcome against the scenario's expectation (judge/verdict.h) */
    int tripped_as_expected, failed, held_unexpectedly, errors;
};

/* Calls visit for each of the latest limit runs, oldest first; row is valid during
 * the call only. Returns 0, or -1 with err filled on a database error. */
typedef void (*runs_overview_fn)(void *user, const struct runs_overview *row);
int runs_latest(struct resultdb *db, int limit, runs_overview_fn visit, void *user, char *err, size_t errlen);

/* Whether run id exists: 1, 0, or -1 with err filled. */
int runs_exists(struct resultdb *db, int64_t id, char *err, size_t errlen);

/* Appends to ids[*n..cap-1] the ids of scenario's runs (every run when scenario is
 * NULL), oldest first. Returns how many were added; -1 with *full set (err
 * untouched) when they do not fit in cap, or -1 with err filled on a database error. */
int runs_ids(struct resultdb *db, const char *scenario, int64_t *ids, size_t *n, size_t cap, bool *full,
             char *err, size_t errlen);

/* The params of the latest completed run of scenario under label, as a new string
 * (*params, caller frees; NULL when there is no such run). Returns 0, or -1 with err. */
int runs_latest_params(struct resultdb *db, const char *scenario, const char *label, char **params,
                       char *err, size_t errlen);

/* The scenarios with completed runs under label, in the order they were first run,
 * each at most RUNS_MAX_NAME - 1 characters. Returns 0 with up to cap names and *n,
 * or -1 with err filled. */
int runs_label_scenarios(struct resultdb *db, const char *label, char (*names)[RUNS_MAX_NAME], size_t cap,
                         size_t *n, char *err, size_t errlen);

#endif
