/* opencharts: the charts of an open-model run (a `[load] rate`), from the generator's
 * per-second windows (store/openloads.h) rather than the service's counters: the
 * client-side latency per second, measured from each request's scheduled send time
 * so that a stall counts for every request that should have been sent during it,
 * with the service histogram's p99 beside it; and the rate the schedule asked for
 * against the rate that completed, with dropped and failed requests per second. A
 * closed-model (wrk) run has no windows and gets neither: its latency chart is
 * requestcharts'. */
#ifndef LOADLAB_OPENCHARTS_H
#define LOADLAB_OPENCHARTS_H

#include "report/chartctx.h"

/* The file stems of the two charts (the page's figure ids). */
#define OPENCHARTS_LATENCY "latency"
#define OPENCHARTS_RATE "rate"

/* Queues the latency and rate charts of x's run when it had an open-model load.
 * Returns 1 when it had (charts queued, or named as omitted when empty), 0 when it
 * had none (nothing queued), or -1 with x's err filled on a database error, a
 * malformed stored histogram, out of memory, or when gnuplot has failed. */
int opencharts_queue(struct chartctx *x);

#endif
