/* requestcharts: the charts of a run's requests — throughput by status class, the
 * service's latency percentiles per window from its histogram, and the shares of
 * errors and of requests the queue turned away — each with the gates that judge it
 * and wrk's figure for the measured part. An open-model run's latency chart, and its
 * rate chart, are opencharts' instead. */
#ifndef LOADLAB_REQUESTCHARTS_H
#define LOADLAB_REQUESTCHARTS_H

#include "report/chartctx.h"

/* Queues the throughput, latency and errors charts of x's run. Returns 0, or -1 with
 * x's err filled on a database error or when gnuplot has failed. */
int requestcharts_queue(struct chartctx *x);

#endif
