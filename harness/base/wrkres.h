/* wrkres: what one wrk run measured, and the Lua that makes wrk say it.
 *
 * wrk prints a human summary; parsing that text would break with any wrk version or
 * locale change. Instead loadlab runs wrk with a wrapper script (wrkres_lua_wrapper)
 * that loads the scenario's own script and adds a done() hook writing a small JSON
 * document; this module reads that document. The wrapper takes everything from the
 * environment (see WRKRES_ENV_*), so the same text works for every run. */
#ifndef LOADLAB_WRKRES_H
#define LOADLAB_WRKRES_H

#include <stddef.h>
#include <stdint.h>

/* Environment the wrapper reads. */
#define WRKRES_ENV_SUMMARY "LOADLAB_WRK_SUMMARY"   /* where done() writes the JSON */
#define WRKRES_ENV_SCRIPT "LOADLAB_WRK_SCRIPT"     /* the scenario's script, if any */
#define WRKRES_ENV_METHOD "LOADLAB_WRK_METHOD"
#define WRKRES_ENV_BODY "LOADLAB_WRK_BODY"
#define WRKRES_ENV_CONTENT_TYPE "LOADLAB_WRK_CONTENT_TYPE"

/* A summary document is a few hundred bytes; anything near this is not one. */
#define WRKRES_MAX_SUMMARY 65536

struct wrkres {
    double duration_s;
    uint64_t requests, bytes;
    uint64_t errors_connect, errors_read, errors_write, errors_status, errors_timeout;
    /* seconds; NaN when wrk had nothing to report */
    double latency_min, latency_mean, latency_stdev, latency_max;
    double latency_p50, latency_p75, latency_p90, latency_p99, latency_p999;
};

/* The wrapper script's text. */
extern const char wrkres_lua_wrapper[];

/* Parses a summary document. Returns 0, or -1 with err filled when it is not JSON,
 * lacks a field, or a count is negative. *out is unchanged on failure. */
int wrkres_parse(const char *text, size_t len, struct wrkres *out, char *err, size_t errlen);

/* Reads and parses the file at path (at most WRKRES_MAX_SUMMARY bytes).
 * Returns 0, or -1 with err filled. */
int wrkres_load(const char *path, struct wrkres *out, char *err, size_t errlen);

/* Adds what another generator measured over the same time to into, for load spread
 * over several wrk processes: counts and bytes summed, the duration the longest, min
 * and max the extremes, the mean weighted by requests and the stdev pooled. wrk gives
 * no histogram, so a percentile is the worst of the generators' (an upper bound of the
 * merged one: the fleet's p99 can be no higher than the highest p99 of its parts),
 * never an average of percentiles. An into with no request yet takes part as is. */
void wrkres_merge(struct wrkres *into, const struct wrkres *part);

/* Completed requests per second. NaN when no time passed. */
double wrkres_throughput(const struct wrkres *r);

/* Failed attempts (socket errors, timeouts, non-2xx/3xx answers) over all attempts.
 * NaN when there was no attempt at all. */
double wrkres_error_rate(const struct wrkres *r);

/* Socket errors plus error statuses. */
uint64_t wrkres_errors(const struct wrkres *r);

#endif
