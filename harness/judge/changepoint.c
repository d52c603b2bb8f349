/* changepoint: E-divisive means over a history of figures; see changepoint.h. */
#include "judge/changepoint.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/significance.h"
#include "base/stats.h"

#define DEFAULT_MIN_SEGMENT 5
#define DEFAULT_ALPHA 0.05
#define DEFAULT_PERMUTATIONS 199
#define DEFAULT_SEED 0x6c6f61646c6162ULL

struct split {
    size_t at;   /* first index of the right side; 0 when the segment cannot split */
    double q;    /* the scaled energy statistic of that split */
};

/* The best split of v[a..b) by the energy statistic
 *   Q = (l r / (l + r)) * (2/(l r) sum|L_i - R_j| - sum_{i<k}|L_i - L_k| / C(l,2)
 *                                                  - sum_{j<k}|R_j - R_k| / C(r,2)),
 * moving the split one value right at a time so that every sum is updated with one
 * row of distances: O((b-a)^2) for all splits. */
static struct split best_split(const double *v, size_t a, size_t b, size_t min_segment)
{
    struct split best = {0, -INFINITY};
    size_t m = b - a;
    double between = 0, within_left = 0, within_right = 0;

    if (m < 2 * min_segment)
        return (struct split){0, -INFINITY};
    /* Start with an empty left side: everything is within the right. */
    for (size_t i = a; i < b; i++)
        for (size_t j = i + 1; j < b; j++)
            within_right += fabs(v[i] - v[j]);
    for (size_t t = a; t + 1 < b; t++) {
        /* Move v[t] from the right side to the left. */
        double to_left = 0, to_right = 0;
        for (size_t i = a; i < t; i++)
            to_left += fabs(v[i] - v[t]);
        for (size_t j = t + 1; j < b; j++)
            to_right += fabs(v[t] - v[j]);
        within_left += to_left;
        within_right -= to_right;
        between += to_right - to_left;
        size_t l = t + 1 - a, r = b - t - 1;
        if (l < min_segment || r < min_segment)
            continue;
        double e = 2.0 * between / ((double)l * (double)r) -
                   within_left / ((double)l * (double)(l - 1) / 2.0) -
                   within_right / ((double)r * (double)(r - 1) / 2.0);
        double q = (double)l * (double)r / (double)(l + r) * e;
        if (q > best.q)
            best = (struct split){t + 1, q};
    }
    return best;
}

/* The best split over every segment between consecutive bounds; *segment its index. */
static struct split best_over_segments(const double *v, const size_t *bounds, size_t nbounds,
                                       size_t min_segment, size_t *segment)
{
    struct split best = {0, -INFINITY};
    for (size_t s = 0; s + 1 < nbounds; s++) {
        struct split c = best_split(v, bounds[s], bounds[s + 1], min_segment);
        if (c.at && c.q > best.q) {
            best = c;
            if (segment)
                *segment = s;
        }
    }
    return best;
}

/* The permutation p-value of a best split as large as observed: each permutation
 * shuffles the values within every current segment (so the points already found are
 * kept) and takes the largest statistic over all segments again. */
static double permutation_p(const double *x, double *work, size_t n, const size_t *bounds,
                            size_t nbounds, size_t min_segment, double observed, unsigned permutations,
                            uint64_t *rng)
{
    unsigned as_large = 0;
    for (unsigned p = 0; p < permutations; p++) {
        memcpy(work, x, n * sizeof *work);
        for (size_t s = 0; s + 1 < nbounds; s++) {
            size_t a = bounds[s], m = bounds[s + 1] - a;
            for (size_t i = m; i > 1; i--) {
                size_t j = (size_t)(significance_rng_next(rng) % i);
                double t = work[a + i - 1];
                work[a + i - 1] = work[a + j];
                work[a + j] = t;
            }
        }
        struct split c = best_over_segments(work, bounds, nbounds, min_segment, NULL);
        if (c.at && c.q >= observed)
            as_large++;
    }
    return (as_large + 1.0) / (permutations + 1.0);
}

/* The mean of x[a..b), a segment never empty (at least min_segment values). */
static double mean_of(const double *x, size_t a, size_t b)
{
    double mean = NAN;
    stats_mean(x + a, b - a, &mean);
    return mean;
}

int changepoint_find(const double *x, size_t n, const struct changepoint_options *opt,
                     struct changepoint *out, size_t cap, size_t *nfound, char *err, size_t errlen)
{
    struct changepoint_options o = opt ? *opt : (struct changepoint_options){0};
    size_t *bounds = NULL, nbounds = 2;
    double *work = NULL, *pvalues = NULL;
    uint64_t rng;
    int rc = -1;

    *nfound = 0;
    if (!o.min_segment)
        o.min_segment = DEFAULT_MIN_SEGMENT;
    if (o.alpha == 0)
        o.alpha = DEFAULT_ALPHA;
    if (!o.permutations)
        o.permutations = DEFAULT_PERMUTATIONS;
    rng = o.seed ? o.seed : DEFAULT_SEED;
    if (o.min_segment < 2 || o.min_segment > CHANGEPOINT_MAX_VALUES) {
        snprintf(err, errlen, "min_segment must be 2 .. %d, not %zu", CHANGEPOINT_MAX_VALUES, o.min_segment);
        return -1;
    }
    if (!(o.alpha > 0 && o.alpha < 1)) {
        snprintf(err, errlen, "alpha must be between 0 and 1, not %g", o.alpha);
        return -1;
    }
    if (o.permutations > CHANGEPOINT_MAX_PERMUTATIONS) {
        snprintf(err, errlen, "at most %d permutations, not %u", CHANGEPOINT_MAX_PERMUTATIONS, o.permutations);
        return -1;
    }
    if (n > CHANGEPOINT_MAX_VALUES) {
        snprintf(err, errlen, "at most %d values, not %zu", CHANGEPOINT_MAX_VALUES, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            snprintf(err, errlen, "value %zu is not a finite number", i);
            return -1;
        }
    }
    if (n < 2 * o.min_segment || cap == 0)
        return 0;
    bounds = malloc((cap + 2) * sizeof *bounds);
    pvalues = malloc((cap + 2) * sizeof *pvalues);
    work = malloc(n * sizeof *work);
    if (!bounds || !pvalues || !work) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    bounds[0] = 0;
    bounds[1] = n;
    while (nbounds - 2 < cap) {
        size_t segment = 0;
        struct split c = best_over_segments(x, bounds, nbounds, o.min_segment, &segment);
        if (!c.at)
            break;
        double p = permutation_p(x, work, n, bounds, nbounds, o.min_segment, c.q, o.permutations, &rng);
        if (p > o.alpha)
            break;
        memmove(&bounds[segment + 2], &bounds[segment + 1], (nbounds - segment - 1) * sizeof *bounds);
        memmove(&pvalues[segment + 2], &pvalues[segment + 1], (nbounds - segment - 1) * sizeof *pvalues);
        bounds[segment + 1] = c.at;
        pvalues[segment + 1] = p;
        nbounds++;
    }
    for (size_t k = 1; k + 1 < nbounds; k++) {
        out[k - 1] = (struct changepoint){
            .index = bounds[k],
            .p = pvalues[k],
            .before_mean = mean_of(x, bounds[k - 1], bounds[k]),
            .after_mean = mean_of(x, bounds[k], bounds[k + 1]),
        };
    }
    *nfound = nbounds - 2;
    rc = 0;
done:
    free(bounds);
    free(pvalues);
    free(work);
    return rc;
}
