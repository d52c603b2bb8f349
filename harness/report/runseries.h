/* runseries: a recorded run's samples read back from the results database as time
 * series for charts — summed per scrape, split by one label (a line per lock, per
 * site, per status code), turned into per-second rates, and, for a Prometheus
 * histogram, into latency percentiles over time.
 *
 * Percentiles come from the increase of each cumulative bucket within a window, with
 * Prometheus's histogram_quantile rules (linear inside the bucket; a rank that lands
 * in +Inf gives the highest finite bound), so a chart shows what the service's own
 * histogram says about that second rather than an average since start. */
#ifndef LOADLAB_RUNSERIES_H
#define LOADLAB_RUNSERIES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "base/series.h"

#define RUNSERIES_MAX_NAME (PROMTEXT_MAX_NAME + 1)
/* Label values beyond this many are summed into one series named "other". */
#define RUNSERIES_MAX_GROUPS 24
#define RUNSERIES_MAX_POINTS 1000000
#define RUNSERIES_MAX_BUCKETS 128

struct runseries {
    char name[RUNSERIES_MAX_NAME];  /* the label's value, or "" for an ungrouped series */
    double *t, *v;                  /* seconds on the run's clock, values; owned */
    size_t n, cap;
};

struct runseries_set {
    struct runseries *items;        /* sorted by name */
    size_t n;
};

/* Loads every sample of metric in run run_id, summed per scrape time: one series when
 * group_by is NULL, else one per value of the label group_by (samples without it go
 * under ""). NULL (NaN) values are left out. out is emptied first; a metric with no
 * samples gives an empty set. Returns 0, or -1 with err filled (a database error,
 * out of memory, more than RUNSERIES_MAX_POINTS points). */
int runseries_load(sqlite3 *db, int64_t run_id, const char *metric, const char *group_by,
                   struct runseries_set *out, char *err, size_t errlen);
void runseries_set_release(struct runseries_set *set);

/* Loads the samples a gate's selector picks (its metric, series whose labels include
 * the selector's), summed per scrape, into out (a new series; release it). Returns 0
 * (an empty series when nothing matches), or -1 with err filled. */
int runseries_load_selected(sqlite3 *db, int64_t run_id, const struct series_selector *sel,
                            struct runseries *out, char *err, size_t errlen);
void runseries_release(struct runseries *s);

/* Sums a set into one series. With ticks NULL, at every time any series has a point.
 * With ticks (e.g. runseries_ticks), at each of its times, a series counting 0 before
 * its first point and its last value where it has no point: a labelled counter that
 * appears mid-run (the first 503) then rises from zero instead of starting late.
 * out gets a new series. Returns 0, or -1 when out of memory. */
int runseries_sum(const struct runseries_set *set, const struct runseries *ticks, struct runseries *out);

/* Every scrape time of the run (a series of zeros), for runseries_sum. Returns 0, or
 * -1 with err filled. */
int runseries_ticks(sqlite3 *db, int64_t run_id, struct runseries *out, char *err, size_t errlen);

/* A counter's rate per window [start + k*width, start + (k+1)*width) that the series
 * covers, each point at its window's middle; a drop is a counter reset. A common
 * start keeps the windows of several series aligned. out gets a new series (release
 * it). Returns 0 (an empty series when no whole window is covered), or -1 when out of
 * memory. */
int runseries_rate(const struct runseries *counter, double start, double width, struct runseries *out);

/* The q-quantiles (0 < q < 1) of a histogram per window of width seconds on the grid
 * start + k*width (as runseries_rate), from the samples of bucket_metric
 * (NAME_bucket, split by "le", summed over other labels). Writes nq series into
 * out[0..nq-1] (a window without observations has no point). Returns 0 (empty series
 * when there are no buckets), or -1 with err filled. */
int runseries_quantiles(sqlite3 *db, int64_t run_id, const char *bucket_metric, double start, double width,
                        const double *q, size_t nq, struct runseries *out, char *err, size_t errlen);

/* Least-squares line through the points with from <= t <= to: *slope per second and
 * *at_from the line's value at t = from. Returns 0, or -1 with fewer than 2 points. */
int runseries_fit(const struct runseries *s, double from, double to, double *slope, double *at_from);

/* Copies the value of label name from a canonical label string ({a="x",b="y"}),
 * unescaping \\, \" and \n. Returns 0, 1 when the label is absent, -1 when out is too
 * small or the string is malformed. */
int runseries_label_value(const char *labels, const char *name, char *out, size_t outlen);

#endif
