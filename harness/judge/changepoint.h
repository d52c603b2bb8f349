/* changepoint: where did a figure's level shift in a history of runs?
 *
 * A gate that compares one build with one baseline misses a slow drift: ten merges
 * that each cost 1% pass one by one. MongoDB's performance CI and Apache Otava look
 * instead for change points in the whole history, with E-divisive means (Matteson and
 * James, "A nonparametric approach for multiple change point analysis of multivariate
 * data", JASA 2014): for every split of a segment the energy distance between the
 * values before and after it is computed, the split with the largest one is a
 * candidate, and a permutation test (values shuffled within each segment) says whether
 * a split that large is more than chance. Found points split their segments and the
 * search goes on, hierarchically, until no candidate is significant.
 *
 * Nonparametric (no assumption of normal noise), finds shifts in level and in spread,
 * and deterministic: the permutations come from a seeded generator, so the same
 * history always gives the same answer. Cost is O(n^2) per segment per permutation;
 * CHANGEPOINT_MAX_VALUES bounds n. */
#ifndef LOADLAB_CHANGEPOINT_H
#define LOADLAB_CHANGEPOINT_H

#include <stddef.h>
#include <stdint.h>

#define CHANGEPOINT_MAX_VALUES 5000
#define CHANGEPOINT_MAX_PERMUTATIONS 10000

struct changepoint_options {
    size_t min_segment;     /* fewest values on each side of a point (>= 2; 0: 5) */
    double alpha;           /* significance level of the permutation test (0: 0.05) */
    unsigned permutations;  /* per candidate (0: 199) */
    uint64_t seed;          /* of the permutation generator (0: a fixed default) */
};

struct changepoint {
    size_t index;           /* the first value of the new level */
    double p;               /* permutation p-value of the split when it was found */
    double before_mean;     /* mean of the segment that ends at index */
    double after_mean;      /* mean of the segment that starts at index */
};

/* Finds the change points of x[0..n), at most cap of them, into out sorted by index;
 * *nfound their count. opt may be NULL (all defaults). Means are of the final segments
 * on either side. Returns 0 (with *nfound 0 when there is none, or fewer than two
 * min_segment's worth of values), or -1 with err filled: a NaN or infinite value
 * (named by index), n over CHANGEPOINT_MAX_VALUES, options out of range, out of memory. */
int changepoint_find(const double *x, size_t n, const struct changepoint_options *opt,
                     struct changepoint *out, size_t cap, size_t *nfound, char *err, size_t errlen);

#endif
