/* openloads: what an open-model load measured (run/openstep), kept in two tables:
 * `open_loads`, one row per run and stage with the generator's counts, rates, health
 * and whole-stage latency histogram, and `latency_windows`, one row per second of the
 * stage with its counts and latency histogram. Histograms are stored serialized
 * (latency_hist), so a percentile over any span of seconds, or over several runs, is
 * the merge of stored rows: openloads_percentile. Only the store speaks SQL; the
 * readers here are what charts and comparisons use. */
#ifndef LOADLAB_OPENLOADS_H
#define LOADLAB_OPENLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/resultdb.h"

/* The most windows openloads_windows returns (a week of seconds). */
#define OPENLOADS_MAX_WINDOWS (7 * 24 * 3600)

struct openloads_stage {
    const char *stage;                  /* "warmup" or "measure" */
    double started_at;                  /* the schedule's start, seconds on the run's clock */
    double duration_s;                  /* the schedule's length */
    double asked_rate, achieved_rate;   /* requests per second */
    uint64_t scheduled, completed, errors, dropped, waited;
    double send_lag_p99_s, send_lag_max_s, lag_limit_s;
    bool behind_schedule;               /* the latencies are unreliable */
    double p50_s, p90_s, p99_s, p999_s, max_s;   /* from the scheduled send time */
    const uint8_t *latency;             /* serialized latency_hist; may be NULL */
    size_t latency_len;
};

/* Records a stage. Returns 0, or -1 with err filled. */
int openloads_record(struct resultdb *db, int64_t run_id, const struct openloads_stage *s, char *err,
                     size_t errlen);

struct openloads_window {
    int64_t second;                     /* from the schedule's start */
    double t;                           /* its start, seconds on the run's clock */
    uint64_t scheduled, completed, errors, dropped;
    uint8_t *latency;                   /* serialized latency_hist, NULL when empty */
    size_t latency_len;
};

/* Records the windows of a stage (one transaction). The latencies are borrowed.
 * Returns 0, or -1 with err filled. */
int openloads_record_windows(struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                             const struct openloads_window *w, size_t n, char *err, size_t errlen);

/* Reads the windows of run_id's stage, by second, into *out (malloc'd; free with
 * openloads_windows_free) and *n (0 when there are none, or no such table in an older
 * file). Returns 0, or -1 with err filled. */
int openloads_windows(struct resultdb *db, int64_t run_id, const char *stage, struct openloads_window **out,
                      size_t *n, char *err, size_t errlen);
void openloads_windows_free(struct openloads_window *w, size_t n);

/* The percentile (0..100) in seconds of the latencies of the runs' stage whose window
 * starts at second from_s .. to_s inclusive (0 and INT64_MAX for all), their
 * histograms merged; *count the latencies merged. NaN when none. Returns 0, or -1 with
 * err filled. */
int openloads_percentile(struct resultdb *db, const int64_t *run_ids, size_t nruns, const char *stage,
                         int64_t from_s, int64_t to_s, double percent, double *value_s, uint64_t *count,
                         char *err, size_t errlen);

/* Whether run_id's measured stage was flagged behind schedule: 1, 0 (not, or no open
 * load recorded), or -1 with err filled. */
int openloads_behind_schedule(struct resultdb *db, int64_t run_id, char *err, size_t errlen);

#endif
