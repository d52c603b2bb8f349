/* metrics: orderd's counters and histograms, and their exposition in the Prometheus
 * text format 0.0.4 for /metrics.
 *
 * Hot-path updates are relaxed atomic adds into fixed arrays indexed by route and
 * status class — no allocation, no lock, no label lookup per request. Gauges that
 * other modules already keep (queue depth, threads by state, lock waits, faults) are
 * read from those modules when /metrics is scraped, not mirrored here. */
#ifndef ORDERD_METRICS_H
#define ORDERD_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_BUCKETS 16

/* Upper bounds in seconds of the latency histograms' buckets (+Inf is implicit). */
extern const double metrics_latency_bounds[METRICS_BUCKETS];

struct metrics_histogram {
    _Atomic uint64_t buckets[METRICS_BUCKETS + 1];   /* not cumulative; last is +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
};

void metrics_histogram_observe(struct metrics_histogram *h, int64_t ns);

enum metrics_route {
    METRICS_ROUTE_PRODUCTS_LIST, METRICS_ROUTE_PRODUCT_GET, METRICS_ROUTE_ORDER_CREATE,
    METRICS_ROUTE_ORDER_GET, METRICS_ROUTE_OTHER, METRICS_ROUTE_COUNT
};
const char *metrics_route_name(enum metrics_route route);

/* Counts one public request (when instrumentation is at least "metrics"). */
void metrics_http_observe(enum metrics_route route, int status, int64_t duration_ns);
/* Counts how long a job waited in the queue. */
void metrics_queue_wait_observe(int64_t ns);

struct queue;
struct order_store;
struct metrics_sources {
    struct queue *queue;
    struct order_store *orders;
};

/* Writes every metric family to out. Returns 0, or -1 when out failed. */
int metrics_write(FILE *out, const struct metrics_sources *src);

/* Writes a label value escaped as the text format asks (\\, \", \n). */
void metrics_write_label_value(FILE *out, const char *value);

/* Writes a histogram family's samples (buckets, sum, count) with one extra label
 * pair (label may be NULL for none). */
void metrics_write_histogram(FILE *out, const char *name, const char *label, const char *label_value,
                             const struct metrics_histogram *h);

#endif
