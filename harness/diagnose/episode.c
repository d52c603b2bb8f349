/* episode: symptoms as runs of windows past a level. See episode.h.
 *
 * The window arrays are static: too big for the stack, and a diagnosis runs one at a
 * time. */
#include "diagnose/episode.h"

#include <math.h>

#include "judge/thresholds.h"

struct episode episode_find(const double *starts, const double *values, size_t n, double threshold,
                            size_t min_windows)
{
    struct episode best = {.first_start = NAN};
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        double sum = 0, peak = -INFINITY;
        while (j < n && !isnan(values[j]) && values[j] >= threshold) {
            sum += values[j];
            if (values[j] > peak)
                peak = values[j];
            j++;
        }
        if (j - i >= min_windows) {
            if (isnan(best.first_start))
                best.first_start = starts[i];
            if (!best.found || starts[j - 1] + DIAGNOSE_WINDOW_S - starts[i] > best.end - best.start) {
                best.found = true;
                best.start = starts[i];
                best.end = starts[j - 1] + DIAGNOSE_WINDOW_S;
                best.mean = sum / (double)(j - i);
                best.peak = peak;
            }
        }
        i = j > i ? j : i + 1;
    }
    return best;
}

struct episode episode_of_counter(const struct series *s, double from, double threshold, size_t min_windows)
{
    static double starts[EPISODE_MAX_WINDOWS], rates[EPISODE_MAX_WINDOWS];
    size_t n = series_counter_windows(s, from, DIAGNOSE_WINDOW_S, starts, rates, EPISODE_MAX_WINDOWS);
    return episode_find(starts, rates, n, threshold, min_windows);
}

struct episode episode_of_gauge(const struct series *s, double from, double threshold, size_t min_windows)
{
    static double starts[EPISODE_MAX_WINDOWS], rates[EPISODE_MAX_WINDOWS];
    size_t n = series_gauge_windows(s, from, DIAGNOSE_WINDOW_S, starts, rates, EPISODE_MAX_WINDOWS);
    return episode_find(starts, rates, n, threshold, min_windows);
}

double episode_refine_onset(const struct series *num, const struct series *den, double window_start,
                            double threshold)
{
    for (size_t i = 0; i + 1 < num->n; i++) {
        double a = num->t[i], b = num->t[i + 1], dn, rate;
        if (a < window_start - 1e-9)
            continue;
        if (a >= window_start + DIAGNOSE_WINDOW_S)
            break;
        dn = num->v[i + 1] - num->v[i];
        if (den) {
            double dd = series_at(den, b) - series_at(den, a);
            rate = dd > 0 ? dn / dd : NAN;
        } else {
            rate = dn / (b - a);
        }
        if (!isnan(rate) && rate >= threshold)
            return a;
    }
    return window_start;
}

double episode_steep_onset(const struct series *s, double from, const struct episode *ep, double threshold)
{
    static double starts[EPISODE_MAX_WINDOWS], rates[EPISODE_MAX_WINDOWS];
    size_t n;
    double steep;

    if (!ep->found || !(ep->peak >= EPISODE_STEEP_FACTOR * threshold))
        return ep->first_start;
    steep = ep->peak / EPISODE_STEEP_FACTOR;
    n = series_gauge_windows(s, from, DIAGNOSE_WINDOW_S, starts, rates, EPISODE_MAX_WINDOWS);
    for (size_t i = 0; i < n && starts[i] < ep->end; i++) {
        if (starts[i] + DIAGNOSE_WINDOW_S <= ep->first_start || isnan(rates[i]) || rates[i] < steep)
            continue;
        /* steep in the window where the climb began: it began steep */
        return starts[i] <= ep->first_start ? ep->first_start : episode_refine_onset(s, NULL, starts[i], steep);
    }
    return ep->first_start;
}

double episode_extend_back(const struct series *s, double from, const struct episode *ep, double level)
{
    static double starts[EPISODE_MAX_WINDOWS], rates[EPISODE_MAX_WINDOWS];
    size_t n, k;

    if (!ep->found || isnan(ep->first_start))
        return ep->first_start;
    n = series_gauge_windows(s, from, DIAGNOSE_WINDOW_S, starts, rates, EPISODE_MAX_WINDOWS);
    for (k = 0; k < n && starts[k] + DIAGNOSE_WINDOW_S <= ep->first_start; k++)
        ;  /* k: the window the episode began in */
    if (k == 0 || k == n)
        return ep->first_start;
    while (k > 0 && !isnan(rates[k - 1]) && rates[k - 1] >= level)
        k--;
    return starts[k] < ep->first_start ? episode_refine_onset(s, NULL, starts[k], level) : ep->first_start;
}
