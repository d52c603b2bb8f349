/* seriesstore: the time series a run keeps in memory to judge its gates, and the
 * selectors (`name{label="value",...}`) that pick them.
 *
 * Every scraped sample goes to the results database; only the metrics some gate, the
 * progress line or the throughput windows need are also kept here, so memory stays
 * bounded by what the scenario asks about rather than by what the service exposes.
 * A scrape is a "tick" with one time; a selector sums, tick by tick, every series of
 * the metric whose labels include the selector's (like PromQL's sum(name{...})). */
#ifndef LOADLAB_SERIESSTORE_H
#define LOADLAB_SERIESSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/promtext.h"
#include "base/series.h"

#define SERIES_MAX_MATCHERS 8
#define SERIES_MAX_VALUE 256
#define SERIES_MAX_SERIES 100000
#define SERIES_MAX_TICKS 1000000

struct series_selector {
    char metric[PROMTEXT_MAX_NAME + 1];
    size_t nmatchers;
    struct {
        char name[PROMTEXT_MAX_NAME + 1];
        char value[SERIES_MAX_VALUE];
    } matchers[SERIES_MAX_MATCHERS];
};

struct series_store;

/* Parses `name` or `name{a="x",b="y"}` (escapes as in the exposition format) from
 * text of length len. Returns 0, or -1 with err filled. */
int series_selector_parse(const char *text, size_t len, struct series_selector *out,
                          char *err, size_t errlen);

/* Writes a selector back in canonical form (matchers sorted). Returns 0, or -1 when
 * out is too small. */
int series_selector_format(const struct series_selector *sel, char *out, size_t outlen);

/* Returns a new empty store, or NULL when out of memory. */
struct series_store *series_store_new(void);
void series_store_free(struct series_store *store);

/* Marks a metric name as worth keeping. Returns 0, or -1 when out of memory or when
 * SERIES_MAX_WANTED names are already kept. */
int series_store_want(struct series_store *store, const char *metric);

/* Starts a new tick at time t (seconds); later series_store_add calls belong to it.
 * Returns 0, or -1 with err filled at SERIES_MAX_TICKS or out of memory. */
int series_store_begin_tick(struct series_store *store, double t, char *err, size_t errlen);

/* Adds one sample to the current tick if its metric is wanted (else does nothing).
 * Returns 0, or -1 with err filled (no tick begun, SERIES_MAX_SERIES, out of memory). */
int series_store_add(struct series_store *store, const struct promtext_sample *sample,
                     char *err, size_t errlen);

/* Adds a sample with no labels (for loadlab's own /proc figures). Same returns. */
int series_store_add_plain(struct series_store *store, const char *metric, double value,
                           char *err, size_t errlen);

/* True when any series of the metric has been seen at all. */
bool series_store_has_metric(const struct series_store *store, const char *metric);

/* The distinct values of label among the series of metric that have samples (e.g.
 * every "instance" of a fleet), up to max of them, into out. Returns how many; a
 * value longer than SERIES_MAX_VALUE - 1 is left out (a selector could not name it). */
size_t series_store_label_values(const struct series_store *store, const char *metric, const char *label,
                                 char (*out)[SERIES_MAX_VALUE], size_t max);

/* Sums matching series per tick for ticks with from <= t <= to, one point per tick
 * that had any matching sample, into out (a new series named after the metric;
 * release it with series_release); a selector that matches nothing gives n = 0.
 * Returns 0, or -1 when out of memory (out left empty). */
int series_store_select(const struct series_store *store, const struct series_selector *sel,
                        double from, double to, struct series *out);

/* The same for a counter summed over several series (a fleet's replicas, a
 * service's label sets), as PromQL's sum(increase()) sees it: each series is made
 * free of resets first (a drop is a restart counting from zero, as rate() reads it),
 * and holds its last value at ticks it has no sample at (a replica down or gone
 * does not take its count out of the sum); before its first sample it counts 0 (a
 * label set or replica that appears adds its count). A single series without
 * resets gives what series_store_select gives. Same returns. */
int series_store_select_counter(const struct series_store *store, const struct series_selector *sel,
                                double from, double to, struct series *out);

#endif
