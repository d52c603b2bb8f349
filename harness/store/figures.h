/* figures: the tables of regression gates — `figures`, the value each run measured
 * for its scenario's regression gates, and `regressions`, every cross-run verdict —
 * and the reader that finds a run's figure where it was recorded.
 *
 * A run recorded before its scenario had the gate has no figures row, so the reader
 * returns, beside the figures row, the two older places the same figure may be: an
 * absolute gate of the same name (gates.observed) and wrk's measured results
 * (load_results). Which one counts is the judge's rule (run/baseline), not the
 * store's. */
#ifndef LOADLAB_FIGURES_H
#define LOADLAB_FIGURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/regression.h"
#include "store/resultdb.h"

/* Records run_id's figure name (without "regression."): value in unit, or NaN with
 * error saying why it could not be measured. Returns 0, or -1 with err filled. */
int figures_record(struct resultdb *db, int64_t run_id, const char *name, const char *unit, double value,
                   const char *error, char *err, size_t errlen);

/* The same, with the counter that counted an instruction figure ("hw-instructions",
 * "callgrind"; NULL for a figure that is not a count). Returns 0, or -1 with err. */
int figures_record_counted(struct resultdb *db, int64_t run_id, const char *name, const char *unit,
                           double value, const char *counter, const char *error, char *err, size_t errlen);

/* One completed run and what it holds of one figure. Numbers are NaN when NULL. */
struct figures_run {
    int64_t run_id;
    bool recorded;               /* a figures row exists */
    double value;                /* figures.value */
    bool has_error;
    char error[256];             /* figures.error */
    char counter[32];            /* figures.counter, "" when none */
    double gate_observed;        /* gates.observed of the gate of the same name */
    double throughput, error_rate, p50, p75, p90, p99, p999;   /* load_results, measured part */
    long long requests;          /* 0 when wrk recorded none */
    char git_rev[64];            /* runs.git_rev, "" when unknown */
    char definition[32];         /* the scenario definition digest in runs.params, "" when none */
};

/* Reads figure name of run_id into *out when the run completed. Returns 1 (read),
 * 0 (no such completed run), or -1 with err filled. */
int figures_of_run(struct resultdb *db, const char *name, int64_t run_id, struct figures_run *out,
                   char *err, size_t errlen);

/* Reads figure name of the latest (at most cap) completed runs of scenario under
 * label ("": any), recorded on host (NULL or "": any), oldest first, into runs[0..*n-1].
 * Returns 0, or -1 with err filled. */
int figures_of_latest(struct resultdb *db, const char *name, const char *scenario, const char *label,
                      const char *host, struct figures_run *runs, size_t cap, size_t *n, char *err,
                      size_t errlen);

/* Reads figure name of every completed run of scenario (under label; NULL or "": any
 * label), oldest first, into runs[0..*n-1], at most cap of them (the latest cap when
 * there are more). Returns 0, or -1 with err filled. */
int figures_history(struct resultdb *db, const char *name, const char *scenario, const char *label,
                    struct figures_run *runs, size_t cap, size_t *n, char *err, size_t errlen);

/* Records one regression verdict (judged now). Returns 0, or -1 with err filled. */
int figures_record_regression(struct resultdb *db, const struct regression_result *r, char *err, size_t errlen);

/* The latest verdict of each regression gate judged with run_id among its candidate
 * runs (whole runs or interleaved), oldest first, at most cap, into out[0..*n).
 * A database from before regression verdicts has none. Returns 0, or -1 with err. */
int figures_regressions_of_run(struct resultdb *db, int64_t run_id, struct regression_result *out, size_t cap,
                               size_t *n, char *err, size_t errlen);

/* The latest interleaved verdict of each gate for each candidate label starting with
 * prefix (the overhead study's settings), oldest first, at most cap, into out[0..*n).
 * A database from before interleaved verdicts has none. Returns 0, or -1 with err. */
int figures_interleaved_labelled(struct resultdb *db, const char *prefix, struct regression_result *out,
                                 size_t cap, size_t *n, char *err, size_t errlen);

/* Calls visit, oldest first, for each figure name measured (value not NULL) by a
 * completed run whose label starts with prefix, with the rest of the label (suffix),
 * the run's scenario, the value and its counter ("" when none). Returns 0, or -1 with
 * err filled (a database error, or visit returned -1 having filled err). */
typedef int (*figures_labelled_fn)(void *user, const char *suffix, const char *scenario, double value,
                                   const char *counter, char *err, size_t errlen);
int figures_labelled(struct resultdb *db, const char *name, const char *prefix, figures_labelled_fn visit,
                     void *user, char *err, size_t errlen);

/* One slice of an interleaved A/B comparison (judge/interleave.h): which side, in
 * which pair, whether it went first, and what wrk measured in it. Numbers NaN: none. */
struct figures_slice {
    int64_t candidate_run_id, baseline_run_id;
    size_t pair;                 /* from 0 */
    bool baseline;               /* the baseline build's slice */
    bool first;                  /* it went first in its pair */
    double t;                    /* seconds since the comparison's load began */
    double duration_s;
    uint64_t requests, errors;
    double throughput, error_rate, p50, p90, p99;
    double cpu_s;                /* the service's CPU seconds in the slice */
};

/* Records one slice in ab_slices. Returns 0, or -1 with err filled. */
int figures_record_slice(struct resultdb *db, const struct figures_slice *sl, char *err, size_t errlen);

#endif
