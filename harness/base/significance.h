/* significance: is a difference between two sets of measurements real or noise?
 *
 * Two tools, both free of any assumption about the shape of the distribution, because
 * throughput and latency figures on a shared machine are skewed and carry outliers (a
 * run that lost its core to a compiler for a second):
 *  - the Mann-Whitney U rank test, exact (the full null distribution of U) when there
 *    are no ties and both samples hold at most SIGNIFICANCE_EXACT_MAX values, else the
 *    normal approximation with tie and continuity corrections;
 *  - a percentile bootstrap confidence interval of the ratio of medians, each sample
 *    resampled on its own, from a seeded generator so that the same data always gives
 *    the same interval (a CI verdict that changes when re-judged is a flaky one).
 * The samples are meant to be independent (one figure per run), not autocorrelated
 * windows of one run; see README "Regression gates" for why. */
#ifndef LOADLAB_SIGNIFICANCE_H
#define LOADLAB_SIGNIFICANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest sample (each side) that gets the exact U distribution; and the largest any
 * function here takes. */
#define SIGNIFICANCE_EXACT_MAX 50
#define SIGNIFICANCE_MAX_SAMPLE 100000
#define SIGNIFICANCE_MAX_RESAMPLES 100000

struct significance_rank_test {
    double u;            /* pairs (x, y) with x > y, ties counting one half */
    double p_less;       /* one-sided p-value for "x tends to be smaller than y" */
    double p_greater;    /* one-sided p-value for "x tends to be larger than y" */
    bool exact;          /* from the exact distribution, not the normal approximation */
};

/* The median of n values (the mean of the middle two for even n). NaN values are
 * not allowed. Returns 0, or -1 when n is 0 or over SIGNIFICANCE_MAX_SAMPLE, or out of
 * memory (*median unchanged). */
int significance_median(const double *values, size_t n, double *median);

/* Mann-Whitney U test of x (nx values) against y (ny values). Returns 0, or -1 when a
 * sample is empty or over SIGNIFICANCE_MAX_SAMPLE, a value is NaN, or out of memory
 * (*out unchanged). */
int significance_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
                              struct significance_rank_test *out);

/* Percentile bootstrap interval of median(y) / median(x) at the given two-sided
 * confidence (0.5 .. 0.999), from `resamples` resamples drawn with a generator seeded
 * with `seed`. Returns 0, or -1 when a sample is empty or too large, a value is NaN,
 * resamples is under 100 or over SIGNIFICANCE_MAX_RESAMPLES, confidence is out of
 * range, median(x) is not positive, or out of memory (*low and *high unchanged). A
 * resample whose x median is not positive is drawn again, at most a few times. */
int significance_bootstrap_ratio(const double *x, size_t nx, const double *y, size_t ny,
                                 unsigned resamples, double confidence, uint64_t seed,
                                 double *low, double *high);

/* A deterministic generator (splitmix64) for the bootstrap and for tests that need
 * seeded synthetic samples. next returns a uniform 64-bit value; uniform a double in
 * [0, 1); normal a standard normal deviate (Box-Muller). */
uint64_t significance_rng_next(uint64_t *state);
double significance_rng_uniform(uint64_t *state);
double significance_rng_normal(uint64_t *state);

#endif
