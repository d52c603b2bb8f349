/* samples: the one reader of the `samples` table — a recorded run's scraped values
 * read back as series (base/series.h) for the report's charts and for a diagnosis.
 *
 * Every query over samples lives here, so what "a metric's series" means (summed per
 * scrape over its label sets, NULL values left out, in time order) is decided once.
 * Sizes come from the database, so every series stops at SERIES_MAX_POINTS and a
 * split by label at SERIES_MAX_GROUPS (the rest summed as "other"). */
#ifndef LOADLAB_SAMPLES_H
#define LOADLAB_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

#include "base/series.h"
#include "base/seriesstore.h"
#include "store/resultdb.h"

/* Loads every sample of metric in run run_id, summed per scrape time: one series
 * when group_by is NULL, else one per value of the label group_by (samples without
 * it go under ""), sorted by name. NULL (NaN) values are left out. out is emptied
 * first; a metric with no samples gives an empty set. Returns 0, or -1 with err
 * filled (a database error, out of memory, more than SERIES_MAX_POINTS points). */
int samples_load(struct resultdb *db, int64_t run_id, const char *metric, const char *group_by,
                 struct series_set *out, char *err, size_t errlen);

/* Loads the samples a gate's selector picks (its metric, series whose labels include
 * the selector's), summed per scrape, into out (a new series named after the metric;
 * release it). Returns 0 (an empty series when nothing matches), or -1 with err. */
int samples_load_selected(struct resultdb *db, int64_t run_id, const struct series_selector *sel,
                          struct series *out, char *err, size_t errlen);

/* Loads a metric summed per scrape by the database, over every label set (labels
 * NULL) or over the one label set labels names exactly ({lock="orders"}), into out (a
 * new series named after the metric; release it). Returns 0, or -1 with err. */
int samples_load_sum(struct resultdb *db, int64_t run_id, const char *metric, const char *labels,
                     struct series *out, char *err, size_t errlen);

/* The label that tells a fleet's replicas apart in samples read from Prometheus. */
#define SAMPLES_INSTANCE_LABEL "instance"

/* samples_load restricted to the samples of one instance of a fleet (their instance
 * label equal to instance); instance NULL is samples_load. Same returns. */
int samples_load_of(struct resultdb *db, int64_t run_id, const char *instance, const char *metric,
                    const char *group_by, struct series_set *out, char *err, size_t errlen);

/* samples_load_sum restricted to one instance: with instance NULL it is
 * samples_load_sum; else labels (NULL: any) match a stored label set that holds each
 * of them (Prometheus adds job and the target's labels), and instance="instance".
 * Same returns; a labels text that is no label set is an error. */
int samples_load_sum_of(struct resultdb *db, int64_t run_id, const char *instance, const char *metric,
                        const char *labels, struct series *out, char *err, size_t errlen);

/* The distinct values of the instance label of the run's `up` samples, sorted, into
 * out (at most max, *n of them): the replicas of a fleet read from Prometheus, none
 * for a run that scraped one service (which has no `up`). Returns 0, 1 when there were more than max
 * (the first max kept), or -1 with err filled. */
int samples_instances(struct resultdb *db, int64_t run_id, char (*out)[SERIES_MAX_VALUE], size_t max, size_t *n,
                      char *err, size_t errlen);

/* Every scrape time of the run (a series of zeros), for series_sum. Returns 0, or -1
 * with err filled. */
int samples_ticks(struct resultdb *db, int64_t run_id, struct series *out, char *err, size_t errlen);

/* The label set of a counter that rose most (its largest minus its smallest value)
 * in from <= t <= to, copied into labels (truncated to labelslen), its rise in *rise.
 * Returns 0, 1 when the metric has no samples there (labels "" and *rise 0), or -1
 * with err filled. */
int samples_top_labels(struct resultdb *db, int64_t run_id, const char *metric, double from, double to,
                       char *labels, size_t labelslen, double *rise, char *err, size_t errlen);

#endif
