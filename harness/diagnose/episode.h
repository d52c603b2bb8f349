/* episode: when a series was in trouble — the longest run of consecutive one-second
 * windows at or past a threshold, and the scrape interval inside its first window
 * where it began.
 *
 * A single window past a level is noise (a scrape late, a burst); an episode of
 * several is a symptom. The onset is refined below the window so that "from t=4.2s"
 * names the scrape where the rate first crossed, not the window's start. */
#ifndef LOADLAB_EPISODE_H
#define LOADLAB_EPISODE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/series.h"

/* Windows looked at per series: over two hours of run. */
#define EPISODE_MAX_WINDOWS 8192

struct episode {
    bool found;
    double start, end;    /* the longest such run of windows */
    double mean, peak;    /* of its windows' values */
    double first_start;   /* where the first such run began (when the trouble started); NaN when none */
};

/* The longest run of consecutive windows (starts[i], values[i]) with values at or
 * above threshold (NaN breaks a run), at least min_windows long. */
struct episode episode_find(const double *starts, const double *values, size_t n, double threshold,
                            size_t min_windows);

/* episode_find over a counter's per-second rate, or a gauge's change per second, in
 * windows from `from`. */
struct episode episode_of_counter(const struct series *s, double from, double threshold, size_t min_windows);
struct episode episode_of_gauge(const struct series *s, double from, double threshold, size_t min_windows);

/* Narrows an episode's start from its first window (window_start) down to the first
 * scrape interval inside it where the rate of num — or of num per unit of den, when
 * den is not NULL — reaches threshold. Returns that scrape's time, or window_start. */
double episode_refine_onset(const struct series *num, const struct series *den, double window_start,
                            double threshold);

/* A gauge episode whose steepest window climbed EPISODE_STEEP_FACTOR times its
 * threshold or more: the start of its first window from `from` (at or after the
 * episode's first start) that climbed at a tenth of that peak, narrowed to the scrape
 * as episode_refine_onset does; else ep's first start. Slow ordinary growth (a bounded
 * store filling) can run at the threshold for seconds before a leak begins and join
 * its episode; the leak began where the climb turned steep. */
#define EPISODE_STEEP_FACTOR 10.0
double episode_steep_onset(const struct series *s, double from, const struct episode *ep, double threshold);

/* A gauge episode's start moved back over the windows just before it (from `from`)
 * that climbed at `level` or more without a break, narrowed to the scrape: a climb
 * found at one rate that had been under way, a little slower, for seconds. */
double episode_extend_back(const struct series *s, double from, const struct episode *ep, double level);

#endif
