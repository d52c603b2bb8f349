/* paired: signed-rank test and Hodges-Lehmann interval; see paired.h. */
#include "base/paired.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool usable(const double *d, size_t n)
{
    if (n == 0 || n > PAIRED_MAX_PAIRS)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(d[i]))
            return false;
    return true;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The null distribution of W+ for m untied ranks: counts[k] = number of the 2^m sign
 * assignments whose positive ranks sum to k, k = 0 .. m(m+1)/2. NULL when out of memory. */
static double *signed_rank_counts(size_t m)
{
    size_t top = m * (m + 1) / 2;
    double *counts = calloc(top + 1, sizeof *counts);
    if (!counts)
        return NULL;
    counts[0] = 1;
    for (size_t r = 1; r <= m; r++)
        for (size_t k = r * (r + 1) / 2; k >= r; k--)
            counts[k] += counts[k - r];
    return counts;
}

static double normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* The z with normal_cdf(z) = p, by bisection (p in (0, 1)). */
static double normal_quantile(double p)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (normal_cdf(mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

struct ranked {
    double magnitude;
    bool positive;
};

static int compare_ranked(const void *a, const void *b)
{
    return compare_doubles(&((const struct ranked *)a)->magnitude, &((const struct ranked *)b)->magnitude);
}

int paired_signed_rank(const double *d, size_t n, struct paired_test *out)
{
    struct ranked *r;
    size_t m = 0;
    double w = 0, tie_term = 0;
    bool ties = false;

    if (!usable(d, n))
        return -1;
    if (!(r = malloc(n * sizeof *r)))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0)
            r[m++] = (struct ranked){fabs(d[i]), d[i] > 0};
    qsort(r, m, sizeof *r, compare_ranked);
    for (size_t i = 0; i < m;) {
        size_t k = i;
        while (k + 1 < m && r[k + 1].magnitude == r[i].magnitude)
            k++;
        double midrank = ((double)i + (double)k) / 2 + 1, t = (double)(k - i + 1);
        for (size_t j = i; j <= k; j++)
            if (r[j].positive)
                w += midrank;
        if (t > 1) {
            ties = true;
            tie_term += t * t * t - t;
        }
        i = k + 1;
    }
    free(r);
    *out = (struct paired_test){.n = m, .w_plus = w, .p_greater = 1, .p_less = 1};
    if (m == 0)
        return 0;
    if (!ties && m <= PAIRED_EXACT_MAX) {
        double *counts = signed_rank_counts(m), total = ldexp(1.0, (int)m), below = 0, above = 0;
        size_t top = m * (m + 1) / 2;
        if (!counts)
            return -1;
        for (size_t k = 0; k <= top; k++) {
            if ((double)k <= w + 1e-9)
                below += counts[k];
            if ((double)k >= w - 1e-9)
                above += counts[k];
        }
        free(counts);
        out->p_less = below / total;
        out->p_greater = above / total;
        out->exact = true;
        return 0;
    }
    double mean = (double)m * ((double)m + 1) / 4;
    double var = (double)m * ((double)m + 1) * (2 * (double)m + 1) / 24 - tie_term / 48;
    if (!(var > 0))
        return 0;
    out->p_less = fmin(1, normal_cdf((w - mean + 0.5) / sqrt(var)));
    out->p_greater = fmin(1, 1 - normal_cdf((w - mean - 0.5) / sqrt(var)));
    return 0;
}

/* The largest c with P(W+ <= c) <= tail for n pairs (-1 when even c = 0 is too likely). */
static long critical_count(size_t n, double tail, bool *failed)
{
    size_t top = n * (n + 1) / 2;
    if (n <= PAIRED_EXACT_MAX) {
        double *counts = signed_rank_counts(n), total = ldexp(1.0, (int)n), cum = 0;
        long c = -1;
        if (!counts) {
            *failed = true;
            return -1;
        }
        for (size_t k = 0; k <= top; k++) {
            cum += counts[k];
            if (cum / total > tail)
                break;
            c = (long)k;
        }
        free(counts);
        return c;
    }
    double sd = sqrt((double)n * ((double)n + 1) * (2 * (double)n + 1) / 24);
    return (long)floor((double)top / 2 + normal_quantile(tail) * sd - 0.5);
}

int paired_shift(const double *d, size_t n, double confidence, struct paired_shift *out)
{
    size_t walsh = n * (n + 1) / 2, k = 0;
    double *avg;
    bool failed = false;

    if (!usable(d, n) || !(confidence >= 0.5 && confidence <= 0.999999))
        return -1;
    if (!(avg = malloc(walsh * sizeof *avg)))
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            avg[k++] = (d[i] + d[j]) / 2;
    qsort(avg, walsh, sizeof *avg, compare_doubles);
    long c = critical_count(n, (1 - confidence) / 2, &failed);
    if (failed) {
        free(avg);
        return -1;
    }
    *out = (struct paired_shift){
        .estimate = walsh % 2 ? avg[walsh / 2] : (avg[walsh / 2 - 1] + avg[walsh / 2]) / 2,
        .low = -INFINITY,
        .high = INFINITY,
        .bounded = c >= 0,
    };
    if (c >= 0) {
        out->low = avg[c];
        out->high = avg[walsh - 1 - (size_t)c];
    }
    free(avg);
    return 0;
}
