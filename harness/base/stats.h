/* stats: the few figures gates are judged on, computed from (time, value) series.
 *
 * Growth is a least-squares slope, not last-minus-first, so one noisy sample at either
 * end cannot make or break a leak gate. Counter rates follow Prometheus's increase():
 * a drop in a counter is a reset, not negative traffic. Every function takes plain
 * arrays so each can be checked on a known series in a unit test. */
#ifndef LOADLAB_STATS_H
#define LOADLAB_STATS_H

#include <stddef.h>

/* Least-squares slope of y over x (units of y per unit of x).
 * Returns 0, or -1 when n < 2 or all x are equal (*slope unchanged). */
int stats_slope(const double *x, const double *y, size_t n, double *slope);

/* Mean and maximum of y, ignoring NaN. Return 0, or -1 when there is no number. */
int stats_mean(const double *y, size_t n, double *mean);
int stats_max(const double *y, size_t n, double *max);

/* Increase of a counter from the first to the last sample, counting each drop as a
 * reset to zero. Returns 0, or -1 when n < 2. */
int stats_counter_increase(const double *y, size_t n, double *increase);

/* Counter increase per unit of x over the whole series. Returns 0, or -1 when n < 2
 * or no time passes. */
int stats_counter_rate(const double *x, const double *y, size_t n, double *rate);

/* Share (0..1) of samples where value >= fraction * capacity, over samples with a
 * positive capacity. Returns 0, or -1 when no sample has a capacity. */
int stats_share_at_or_above(const double *value, const double *capacity, size_t n,
                            double fraction, double *share);

/* Counter rates over consecutive windows [start + k*width, start + (k+1)*width] that
 * end no later than end (a last partial window is dropped) and lie within the series.
 * The counter at a window edge is interpolated linearly between neighbouring samples;
 * resets are handled as in stats_counter_increase. Writes up to cap window starts and
 * rates. Returns the number of windows written (0 when none is covered). */
size_t stats_window_rates(const double *x, const double *y, size_t n, double start, double end,
                          double width, double *starts, double *rates, size_t cap);

#endif
