/* paired: is one side of paired measurements worse than the other?
 *
 * When a baseline and a candidate are measured in interleaved slices, slice i of each
 * saw the same machine (the same neighbours, the same thermal state, the same drift),
 * so the figure to judge is the per-pair difference d_i (for ratios, the log of
 * candidate/baseline): the interference common to both cancels in it. Two tools on
 * such differences, free of any assumption about their distribution's shape:
 *  - the Wilcoxon signed-rank test (zero differences dropped, as Wilcoxon did), exact
 *    (the full null distribution of W+) without ties for at most PAIRED_EXACT_MAX
 *    non-zero differences, else the normal approximation with tie correction;
 *  - the Hodges-Lehmann estimate of the shift (the median of the Walsh averages
 *    (d_i + d_j)/2, i <= j) with its distribution-free confidence interval, read off
 *    the same signed-rank distribution (Hollander and Wolfe, Nonparametric Statistical
 *    Methods, ch. 3). */
#ifndef LOADLAB_PAIRED_H
#define LOADLAB_PAIRED_H

#include <stdbool.h>
#include <stddef.h>

#define PAIRED_EXACT_MAX 50
#define PAIRED_MAX_PAIRS 2000

struct paired_test {
    size_t n;           /* non-zero differences used */
    double w_plus;      /* sum of the ranks of the positive differences */
    double p_greater;   /* one-sided p-value for "the differences tend to be positive" */
    double p_less;      /* one-sided p-value for "the differences tend to be negative" */
    bool exact;
};

struct paired_shift {
    double estimate;    /* Hodges-Lehmann estimate of the shift */
    double low, high;   /* the interval; bounded is false when too few pairs give one */
    bool bounded;       /* at this confidence: with n pairs the two-sided level can be at
                           most 1 - 2^(1-n), so 5 pairs cannot give a 95% interval */
};

/* Signed-rank test of d[0..n). Returns 0, or -1 when n is 0 or over PAIRED_MAX_PAIRS, a
 * value is not finite, or out of memory (*out unchanged). All differences zero gives
 * n 0 and both p-values 1. */
int paired_signed_rank(const double *d, size_t n, struct paired_test *out);

/* Hodges-Lehmann estimate of the shift of d[0..n) and its interval at the two-sided
 * confidence given (0.5 .. 0.999999). Returns 0, or -1 when n is 0 or over
 * PAIRED_MAX_PAIRS, a value is not finite, confidence is out of range, or out of memory
 * (*out unchanged). */
int paired_shift(const double *d, size_t n, double confidence, struct paired_shift *out);

#endif
