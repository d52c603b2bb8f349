/* chartctx: what every chart of one run shares, for the modules that draw them
 * (runcharts: the service's resources and gates; requestcharts: its requests) — the
 * run, the time axis and its windows, the shading of warmup and fault intervals, the
 * drawing of a gate's threshold or allowed slope, and the list of charts drawn or
 * left out. Internal to report/: the pages see only runcharts.h. */
#ifndef LOADLAB_CHARTCTX_H
#define LOADLAB_CHARTCTX_H

#include <stdbool.h>
#include <stddef.h>

#include "metric_names.h"
#include "base/series.h"
#include "judge/gate.h"
#include "report/chart.h"
#include "report/gnuplot.h"
#include "report/runcharts.h"
#include "report/runinfo.h"
#include "store/resultdb.h"

#define CHARTCTX_TIME_AXIS "time since the service was ready (s)"
#define CHARTCTX_TREND_COLOR "#333333"
/* The service's latency histogram (orderd's name; a service without it has none). */
#define CHARTCTX_LATENCY_BUCKETS METRIC_ORDERD_HTTP_DURATION_BUCKET

struct chartctx {
    struct resultdb *db;
    const struct runinfo *run;
    struct gnuplot *gp;
    const char *dir;
    bool png;
    struct runcharts *out;
    struct series ticks;        /* every scrape time: counters count from zero on it */
    double x_hi, width, start;  /* windows of width seconds from the first scrape */
    bool have_steady;
    char *err;
    size_t errlen;
};

/* Names a chart left out and why, in out->omitted. */
void chartctx_note_omitted(struct chartctx *x, const char *what, const char *why);

/* A time chart with the run's axis, its warmup and its fault intervals. Returns a
 * new chart (drawn and freed by chartctx_finish), or NULL when out of memory. */
struct chart *chartctx_time_chart(struct chartctx *x, const char *title, const char *ylabel);

/* Draws c into the run's folder and lists it, or names it as omitted when it has no
 * data. Frees c (NULL: out of memory). Returns 0, or -1 with err filled when gnuplot
 * has failed or c is NULL. */
int chartctx_finish(struct chartctx *x, struct chart *c, const char *file, const char *title, const char *caption,
                    const char *why_empty);

/* The run's first gate of a kind with a parsed spec, or NULL. Owned by run. */
const struct runinfo_gate *chartctx_gate_of(const struct runinfo *run, enum gate_kind kind);

/* A gate's legend title ("gate NAME THRESHOLD"). */
void chartctx_gate_title(const struct runinfo_gate *g, char *out, size_t outlen);

/* Adds s with every value times scale. Returns 0, or -1 when out of memory. */
int chartctx_add_scaled(struct chart *c, const char *title, enum chart_style style, const char *color,
                        const struct series *s, double scale);

/* The fitted trend over the measured part and, with a growth gate of kind, the
 * steepest line the gate allows from the same starting point. */
void chartctx_add_growth(struct chartctx *x, struct chart *c, const struct series *s, enum gate_kind kind,
                         double scale);

/* wrk's figure for the measured part, as a segment across it: what the gate judged. */
void chartctx_add_measured(struct chartctx *x, struct chart *c, const char *title, double value);

/* The per-window rate of the sum of counters on the run's ticks and windows, into
 * rate (a new series). Returns 0, or -1 with err filled when out of memory. */
int chartctx_counter_rate(struct chartctx *x, const struct series_set *counters, struct series *rate);

/* The service's latency q-quantiles (0 < q < 1) per window of x's grid from its
 * histogram's buckets, into out[0..nq-1] (new series, empty when it has none).
 * Returns 0, or -1 with err filled. */
int chartctx_service_quantiles(struct chartctx *x, const double *q, size_t nq, struct series *out);

/* The run's latency gates on a chart in milliseconds: each threshold, and the load's
 * percentile of the measured part that a whole-run gate judged, named after who
 * measured it ("wrk", "open-model load"). */
void chartctx_add_latency_gates(struct chartctx *x, struct chart *c, const char *who);

#endif
