/* promapi: series from a Prometheus server's HTTP API, for a fleet of replicas.
 *
 * A service that runs as many replicas is already scraped by the team's Prometheus;
 * loadlab asks it (GET /api/v1/query_range) instead of scraping every target itself.
 * The answer is a matrix: one series per label set (per instance, unless the query
 * aggregates), each a list of [unix seconds, "value"] pairs on the query's step grid.
 *
 * What a fleet adds over one target, and how this module treats it:
 *  - a failed query is an error with Prometheus' own errorType and error, never an
 *    empty (healthy-looking) result; an answer with "warnings" (partial data) keeps
 *    them so the run can record them;
 *  - a replica that is down or appears mid-run has holes in its series: the sum over
 *    instances counts, per step, how many instances it holds, so a drop in a summed
 *    figure can be told from a replica gone missing;
 *  - a counter that resets (a replica restarted) is made monotonic per series before
 *    any sum (as Prometheus' rate() does), so a restart is not a negative rate.
 * Limits on everything sized by the server: bytes, series, points. */
#ifndef LOADLAB_PROMAPI_H
#define LOADLAB_PROMAPI_H

#include <stddef.h>

#include "base/httpclient.h"

#define PROMAPI_MAX_BODY (64 * 1024 * 1024)
#define PROMAPI_MAX_SERIES 10000
#define PROMAPI_MAX_POINTS 2000000   /* over all series of one answer */
#define PROMAPI_MAX_LABELSTR 4096
#define PROMAPI_MAX_WARNINGS 1024

struct promapi_series {
    char name[256];                     /* __name__, "" when the query computed it */
    char labels[PROMAPI_MAX_LABELSTR];  /* the others, canonical {a="x",b="y"}, "" for none */
    char instance[256];                 /* the instance label, "" when absent */
    double *t;                          /* unix seconds, increasing */
    double *v;
    size_t n;
};

struct promapi_result {
    struct promapi_series *series;
    size_t nseries;
    char warnings[PROMAPI_MAX_WARNINGS];  /* Prometheus' warnings joined by "; ", or "" */
};

/* Parses a query_range (or query with a range selector) answer body of len bytes.
 * Fills *out (free with promapi_result_free). Returns 0, or -1 with err filled: not
 * JSON, "status":"error" (with errorType and error), not a matrix, a malformed point
 * (named as result[i].values[j]), timestamps not increasing, a limit exceeded. */
int promapi_parse_matrix(const char *body, size_t len, struct promapi_result *out, char *err, size_t errlen);

void promapi_result_free(struct promapi_result *r);

/* Asks base_url (e.g. "http://127.0.0.1:9090") for query over [start, end] (unix
 * seconds) at step seconds, within timeout_ms. Returns 0 with *out filled, or -1 with
 * err filled: unreachable, a non-JSON or error answer (Prometheus' words), too many
 * points for the step (Prometheus' own limit is 11,000 a series). */
int promapi_query_range(struct httpclient *client, const char *base_url, const char *query, double start,
                        double end, double step, long timeout_ms, struct promapi_result *out,
                        char *err, size_t errlen);

/* Makes s's values monotonic: after a drop (a counter reset) every later value is
 * raised by the value before the drop, as Prometheus' rate() reads resets. Returns
 * the number of resets found. */
size_t promapi_counter_unreset(struct promapi_series *s);

/* The sum over all series of r at each timestamp any of them has: *t and *v get
 * malloc'd arrays (caller frees) of *n points, and *present (when non-NULL, malloc'd)
 * the number of series that had a point at each timestamp. Returns 0, or -1 when out
 * of memory (nothing allocated). */
int promapi_sum(const struct promapi_result *r, double **t, double **v, unsigned **present, size_t *n);

#endif
