/* runcharts: the charts of one run — threads, resident memory, open fds, queue depth
 * against capacity, lock wait per named lock, block time per site, throughput by
 * status class, latency percentiles, error shares, and one chart per metric.* gate.
 *
 * Every chart of a run shares the run's time axis (t = 0 is the first scrape), so
 * they line up one above the other; each shades the warmup and every fault interval
 * from the `phases` table with the fault's name, and draws each gate where it
 * applies: a level as a dashed line, a growth limit as a dashed slope from the fitted
 * value at the start of the measured part next to the fitted trend itself. A chart
 * whose metric the run does not have is left out and named in `omitted`, so a reader
 * learns why it is missing rather than wondering. */
#ifndef LOADLAB_RUNCHARTS_H
#define LOADLAB_RUNCHARTS_H

#include <stdbool.h>
#include <stddef.h>

#include "report/gnuplot.h"
#include "report/runinfo.h"
#include "store/resultdb.h"

#define RUNCHARTS_MAX 48

struct runcharts_chart {
    char file[64];               /* "threads.svg", relative to the run's folder */
    char title[160];
    char caption[512];           /* what the chart shows and how to read it */
};

struct runcharts {
    struct runcharts_chart charts[RUNCHARTS_MAX];
    size_t n;
    char omitted[1024];          /* "queue (no orderd_queue_depth samples); ..." */
};

/* The chart a gate is drawn on, as the file's stem ("threads", "gate-3"; the page
 * gives each chart that id), for gate index i of run->gates. Returns buf, or NULL
 * when the gate has no chart (its spec could not be parsed). */
char *runcharts_chart_for_gate(const struct runinfo *run, size_t i, char *buf, size_t buflen);

/* True when charts holds the chart with that stem (charts may be NULL). */
bool runcharts_has(const struct runcharts *charts, const char *stem);

/* Queues into gp the commands that draw run's charts as SVG files in dir (and PNG
 * beside them when png), and lists them in *out. Nothing is drawn until gnuplot has
 * read the commands (gnuplot_close). Returns 0, or -1 with err filled on a database
 * error or when gnuplot has already failed. */
int runcharts_queue(struct resultdb *db, const struct runinfo *run, struct gnuplot *gp, const char *dir, bool png,
                    struct runcharts *out, char *err, size_t errlen);

#endif
