/* series: loadlab's one time-series type and what is computed from it — sums over
 * label sets, per-window rates of counters and gauges, a gauge's value between
 * samples, a least-squares trend, and latency quantiles from a Prometheus
 * histogram's cumulative buckets.
 *
 * A series is plain data: points (t seconds on the run's clock, value) in time
 * order, filled by whoever has the samples — the in-memory store a run judges its
 * gates on (base/seriesstore.h) or the results database's reader (store/samples.h) —
 * so a gate, a chart and a diagnosis compute the same figure the same way.
 *
 * Quantiles come from the increase of each cumulative bucket within a window, with
 * Prometheus's histogram_quantile rules (linear inside the bucket; a rank that lands
 * in +Inf gives the highest finite bound), so a chart shows what the service's own
 * histogram says about that second rather than an average since start. */
#ifndef LOADLAB_SERIES_H
#define LOADLAB_SERIES_H

#include <stddef.h>

#include "base/promtext.h"

#define SERIES_MAX_NAME (PROMTEXT_MAX_NAME + 1)
/* Label values beyond this many are summed into one series named "other". */
#define SERIES_MAX_GROUPS 24
#define SERIES_MAX_POINTS 1000000
#define SERIES_MAX_BUCKETS 128

struct series {
    char name[SERIES_MAX_NAME];  /* a metric, a label's value, or "" */
    double *t, *v;               /* seconds on the run's clock, values; owned */
    size_t n, cap;
};

/* Series of one metric split by a label, sorted by name. */
struct series_set {
    struct series *items;
    size_t n;
};

/* Appends a point. Returns 0, or -1 at SERIES_MAX_POINTS or out of memory (s unchanged). */
int series_push(struct series *s, double t, double v);

/* Adds v to the last point when it is at time t, else appends (t, v): how one
 * scrape's samples of several label sets become one point. Returns as series_push. */
int series_add_at(struct series *s, double t, double v);

/* Keeps the points with from <= t < to and drops the rest (s keeps its memory): one
 * segment of a run whose service restarted, read on its own. */
void series_keep_between(struct series *s, double from, double to);

/* Frees the points and empties s; NULL is a no-op. */
void series_release(struct series *s);
void series_set_release(struct series_set *set);

/* The series named name in set, created (empty) when new; past SERIES_MAX_GROUPS
 * the one named "other". Returns NULL when out of memory. Owned by set. */
struct series *series_set_group(struct series_set *set, const char *name);

/* Sorts a set's series by name. */
void series_set_sort(struct series_set *set);

/* Copies the value of label name from a canonical label string ({a="x",b="y"}),
 * unescaping \\, \" and \n. Returns 0, 1 when the label is absent, -1 when out is too
 * small or the string is malformed. */
int series_label_value(const char *labels, const char *name, char *out, size_t outlen);

/* Sums a set into one series. With ticks NULL, at every time any series has a point.
 * With ticks (every scrape time of the run), at each of its times, a series counting
 * 0 before its first point and its last value where it has no point: a labelled
 * counter that appears mid-run (the first 503) then rises from zero instead of
 * starting late. out gets a new series. Returns 0, or -1 when out of memory. */
int series_sum(const struct series_set *set, const struct series *ticks, struct series *out);

/* A counter's rate per window [start + k*width, start + (k+1)*width) that the series
 * covers, each point at its window's middle; a drop is a counter reset. A common
 * start keeps the windows of several series aligned. out gets a new series (release
 * it). Returns 0 (an empty series when no whole window is covered), or -1 when out of
 * memory. */
int series_rate(const struct series *counter, double start, double width, struct series *out);

/* A counter's rate per window of width seconds from max(from, first point) to its
 * last point, window starts in starts[] and rates in rates[] (at most cap of each).
 * Returns how many windows were written (0 with fewer than 2 points). */
size_t series_counter_windows(const struct series *s, double from, double width, double *starts, double *rates,
                              size_t cap);

/* A gauge's change per second over windows of width seconds from max(from, first
 * point) to its last point, as series_counter_windows. Returns how many. */
size_t series_gauge_windows(const struct series *s, double from, double width, double *starts, double *rates,
                            size_t cap);

/* A gauge's value at time x, linear between points, clamped at the ends; NaN when
 * the series is empty. */
double series_at(const struct series *s, double x);

/* The smallest and the largest value; INFINITY and -INFINITY when the series is empty. */
double series_min(const struct series *s);
double series_max(const struct series *s);

/* How much a counter rose over its points with from <= t <= to, a drop counting as a
 * reset to zero. Returns 0 with fewer than two such points. */
double series_increase(const struct series *s, double from, double to);

/* Least-squares line through the points with from <= t <= to: *slope per second and
 * *at_from the line's value at t = from. Returns 0, or -1 with fewer than 2 points. */
int series_fit(const struct series *s, double from, double to, double *slope, double *at_from);

/* The q-quantiles (0 < q < 1) of a histogram per window of width seconds on the grid
 * start + k*width (as series_rate), from its cumulative bucket counters, one series
 * per bucket named by its upper bound (`le`; "+Inf" for the last). Writes nq series
 * "p50", "p99"... into out[0..nq-1] (a window without observations has no point).
 * Returns 0 (empty series when there are no buckets), or -1 with err filled (too
 * many buckets, out of memory). */
int series_quantiles(const struct series_set *buckets, double start, double width, const double *q, size_t nq,
                     struct series *out, char *err, size_t errlen);

#endif
