/* scrape: one sample of everything a run watches — the service's /metrics and, for a
 * local process, its /proc figures — written to the results database in one
 * transaction and kept in the run's series store for the gates.
 *
 * A /metrics body is parsed twice: once to check it whole, then to record it, so a
 * malformed body records nothing (as in Prometheus) instead of half a sample. A failed
 * scrape of a service loadlab spawned is only counted (the process itself says whether
 * it is alive); for a service given by URL, answers missing for UNREACHABLE_NS mean
 * it is gone. The headline figures (requests, threads, queue) feed the progress line. */
#ifndef LOADLAB_SCRAPE_H
#define LOADLAB_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/httpclient.h"
#include "base/promtext.h"
#include "base/series.h"
#include "store/resultdb.h"

/* The figures of one scrape the progress line shows; NAN when not seen. */
struct scrape_headline {
    double requests, t;   /* the requests counter summed, and when */
    double threads, queue_depth, queue_capacity;
};

enum scrape_status {
    SCRAPE_OK = 0,
    SCRAPE_FAILED = -1,   /* the sample could not be recorded: the run must abort */
    SCRAPE_GONE = -2      /* the service is gone (its process, or its answers) */
};

/* The caller fills the first block (borrowed; it may fill them as they become known)
 * and zeroes the rest; scrape_take keeps the second. */
struct scraper {
    struct resultdb *db;
    int64_t run_id;
    struct httpclient *http;
    struct series_store *series;
    const char *metrics_url;        /* "" for none */
    const char *requests_metric;
    pid_t proc_pid;                 /* a local process to read /proc of, or 0 */
    bool spawned;                   /* loadlab started the service (it knows when it dies) */
    int64_t sample_interval_ns;

    struct scrape_headline now, before;
    unsigned failures, scrapes;     /* of /metrics */
    int64_t last_ok_ns;             /* set by the caller to the clock's start */
    char last_err[256];
    char labels[PROMTEXT_MAX_LABELSTR];
};

/* Starts a sample at time t, for scrape_take or another source (promsource.h): the
 * headline moves to `before`, a database transaction and a series tick begin, the
 * sample is counted. Returns 0, or -1 with err filled (nothing to commit). */
int scrape_begin(struct scraper *s, double t, char *err, size_t errlen);

/* Takes one sample at time t (seconds on the run's clock). Returns SCRAPE_OK (a failed
 * /metrics request is counted, not an error), or SCRAPE_FAILED / SCRAPE_GONE with err
 * filled. */
enum scrape_status scrape_take(struct scraper *s, double t, char *err, size_t errlen);

/* Records the requests counter's throughput per one-second window from `from` to `to`
 * (the steady state) in the windows table; nothing when the counter has no samples.
 * Returns 0, or -1 with err filled. */
int scrape_record_windows(const struct scraper *s, double from, double to, char *err, size_t errlen);

#endif
