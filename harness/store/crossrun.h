/* crossrun: readers that look across runs for trends — a scenario's completed runs
 * with what wrk measured, the slope of a run's thread count, and the runs of a
 * family of scenarios sharing a name prefix (the overhead study).
 *
 * The report's trend charts (report/trends) read history through these; the rules
 * of what a trend shows stay there. */
#ifndef LOADLAB_CROSSRUN_H
#define LOADLAB_CROSSRUN_H

#include <stddef.h>
#include <stdint.h>

#include "store/resultdb.h"

/* A completed run and wrk's measured part. Numbers are NaN when NULL. */
struct crossrun_run {
    int64_t id;
    char label[64];
    double throughput, p99, p50;   /* requests/s, seconds */
};

/* The latest (at most cap) completed runs of scenario, oldest first, into
 * runs[0..*n-1]. Returns 0, or -1 with err filled. */
int crossrun_completed(struct resultdb *db, const char *scenario, struct crossrun_run *runs, size_t cap,
                       size_t *n, char *err, size_t errlen);

/* Least-squares slope over run_id's steady state of metric's unlabelled samples
 * (per second), in *slope: NaN when there are too few. Returns 0, or -1 with err. */
int crossrun_slope(struct resultdb *db, int64_t run_id, const char *metric, double *slope, char *err,
                   size_t errlen);

/* Calls visit for each completed run with a measured wrk result whose scenario's name
 * starts with prefix, oldest first, with the rest of the name (suffix) and wrk's
 * throughput and p99 (NaN when NULL); *labels is set to the number of distinct labels
 * among those runs. Returns 0, or -1 with err filled (database error, or visit
 * returned -1, having filled err). */
typedef int (*crossrun_prefixed_fn)(void *user, const char *suffix, double throughput, double p99, char *err,
                                    size_t errlen);
int crossrun_prefixed(struct resultdb *db, const char *prefix, crossrun_prefixed_fn visit, void *user,
                      size_t *labels, char *err, size_t errlen);

/* The label L of the latest study whose labels follow the overhead study's contract
 * (scripts/overhead.sh): L starts with prefix, and a completed run is labelled
 * L-<reference> (the reference setting, "off"), but not L-<reference>-vs-<reference>
 * (the reference's own baseline). Writes L into label. Returns 1 (found), 0 (none),
 * or -1 with err filled. */
int crossrun_study_label(struct resultdb *db, const char *prefix, const char *reference, char *label, size_t len,
                         char *err, size_t errlen);

#endif
