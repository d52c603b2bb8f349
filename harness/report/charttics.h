/* charttics: the y-axis tics of a chart, placed and labelled here rather than left to
 * gnuplot, whose own give "8.5" on an axis of threads, "1e+08" on a large one and one
 * label per decade (often none) on a log axis. Labels are written by
 * units_format_count, so an axis reads like the tables: "150M", "0.05", "12". */
#ifndef LOADLAB_CHARTTICS_H
#define LOADLAB_CHARTTICS_H

#include <stdbool.h>

#include "report/gnuplot.h"

/* Queues `set ytics (...)` for a log axis over lo..hi (lo > 0): 1-2-5 tics, or one a
 * decade when those would crowd; nothing (gnuplot's own) for a range under two tics. */
void charttics_emit_log(struct gnuplot *gp, double lo, double hi);

/* Queues `set ytics (...)` for a linear axis over lo..hi: about six tics on a 1-2-5
 * step, whole numbers when integer (an axis of threads, descriptors, queued jobs);
 * on a narrow range far from zero (ratios near 1.0), as many decimals as the step
 * needs, so no two tics read alike; nothing (gnuplot's own) for a step under 1e-9. */
void charttics_emit_linear(struct gnuplot *gp, double lo, double hi, bool integer);

#endif
