/* significance: rank test and bootstrap interval. See significance.h.
 *
 * The exact distribution of U is counted with the recursion on the largest pooled
 * value (it is either an x, above all ny y's, or a y, above no x): only additions, so
 * the counts stay exact to double precision where a product formula would cancel. */
#include "base/significance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static bool usable(const double *v, size_t n)
{
    if (n == 0 || n > SIGNIFICANCE_MAX_SAMPLE)
        return false;
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i]))
            return false;
    return true;
}

/* Median of values already sorted. */
static double sorted_median(const double *v, size_t n)
{
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int significance_median(const double *values, size_t n, double *median)
{
    double *copy;

    if (!usable(values, n))
        return -1;
    copy = malloc(n * sizeof *copy);
    if (!copy)
        return -1;
    memcpy(copy, values, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, compare_doubles);
    *median = sorted_median(copy, n);
    free(copy);
    return 0;
}

struct tagged {
    double value;
    bool from_x;
};

static int compare_tagged(const void *a, const void *b)
{
    return compare_doubles(&((const struct tagged *)a)->value, &((const struct tagged *)b)->value);
}

/* P(U <= u) and P(U >= u) under the null for sizes nx, ny, without ties: counts
 * arrangements by U, row by row over ny. Returns -1 when out of memory. */
static int exact_tails(size_t nx, size_t ny, double u, double *lower, double *upper)
{
    size_t width = nx * ny + 1;
    double *prev = calloc((nx + 1) * width, sizeof *prev);
    double *cur = calloc((nx + 1) * width, sizeof *cur);
    double total = 0, below = 0, above = 0;
    int rc = -1;

    if (!prev || !cur)
        goto done;
    /* j = 0 y's: whatever the x's, U = 0 */
    for (size_t i = 0; i <= nx; i++)
        prev[i * width] = 1;
    for (size_t j = 1; j <= ny; j++) {
        memset(cur, 0, (nx + 1) * width * sizeof *cur);
        cur[0] = 1;
        for (size_t i = 1; i <= nx; i++)
            for (size_t k = 0; k <= i * j; k++)
                cur[i * width + k] = prev[i * width + k] + (k >= j ? cur[(i - 1) * width + k - j] : 0);
        double *swap = prev;
        prev = cur;
        cur = swap;
    }
    for (size_t k = 0; k < width; k++) {
        double count = prev[nx * width + k];
        total += count;
        if ((double)k <= u + 1e-9)
            below += count;
        if ((double)k >= u - 1e-9)
            above += count;
    }
    *lower = below / total;
    *upper = above / total;
    rc = 0;
done:
    free(prev);
    free(cur);
    return rc;
}

static double normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

int significance_mann_whitney(const double *x, size_t nx, const double *y, size_t ny,
                              struct significance_rank_test *out)
{
    size_t n = nx + ny;
    struct tagged *all;
    double rank_sum_x = 0, tie_term = 0, u;
    bool ties = false;

    if (!usable(x, nx) || !usable(y, ny))
        return -1;
    all = malloc(n * sizeof *all);
    if (!all)
        return -1;
    for (size_t i = 0; i < nx; i++)
        all[i] = (struct tagged){x[i], true};
    for (size_t j = 0; j < ny; j++)
        all[nx + j] = (struct tagged){y[j], false};
    qsort(all, n, sizeof *all, compare_tagged);
    for (size_t i = 0; i < n;) {
        size_t k = i;
        while (k + 1 < n && all[k + 1].value == all[i].value)
            k++;
        double midrank = ((double)i + (double)k) / 2 + 1, t = (double)(k - i + 1);
        for (size_t m = i; m <= k; m++)
            if (all[m].from_x)
                rank_sum_x += midrank;
        if (t > 1) {
            ties = true;
            tie_term += t * t * t - t;
        }
        i = k + 1;
    }
    free(all);
    u = rank_sum_x - (double)nx * ((double)nx + 1) / 2;
    out->u = u;
    if (!ties && nx <= SIGNIFICANCE_EXACT_MAX && ny <= SIGNIFICANCE_EXACT_MAX) {
        if (exact_tails(nx, ny, u, &out->p_less, &out->p_greater) < 0)
            return -1;
        out->exact = true;
        return 0;
    }
    {
        double mean = (double)nx * (double)ny / 2;
        double var = (double)nx * (double)ny / 12 *
                     (((double)n + 1) - tie_term / ((double)n * ((double)n - 1)));
        out->exact = false;
        if (!(var > 0)) {
            out->p_less = out->p_greater = 1;  /* every value tied: no evidence either way */
            return 0;
        }
        out->p_less = normal_cdf((u - mean + 0.5) / sqrt(var));
        out->p_greater = 1 - normal_cdf((u - mean - 0.5) / sqrt(var));
        if (out->p_less > 1)
            out->p_less = 1;
        if (out->p_greater > 1)
            out->p_greater = 1;
    }
    return 0;
}

uint64_t significance_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double significance_rng_uniform(uint64_t *state)
{
    return (double)(significance_rng_next(state) >> 11) * 0x1.0p-53;
}

double significance_rng_normal(uint64_t *state)
{
    double u1 = significance_rng_uniform(state), u2 = significance_rng_uniform(state);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

/* The median of n values drawn with replacement from v, sorted into scratch. */
static double resampled_median(const double *v, size_t n, double *scratch, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        size_t pick = (size_t)(significance_rng_uniform(rng) * (double)n);
        scratch[i] = v[pick < n ? pick : n - 1];
    }
    qsort(scratch, n, sizeof *scratch, compare_doubles);
    return sorted_median(scratch, n);
}

/* The q-quantile (0..1) of sorted values, linearly interpolated. */
static double quantile(const double *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (pos - (double)lo);
}

#define REDRAWS 8

int significance_bootstrap_ratio(const double *x, size_t nx, const double *y, size_t ny,
                                 unsigned resamples, double confidence, uint64_t seed,
                                 double *low, double *high)
{
    double *ratios = NULL, *scratch = NULL, mx;
    uint64_t rng = seed;
    int rc = -1;

    if (!usable(x, nx) || !usable(y, ny) || resamples < 100 || resamples > SIGNIFICANCE_MAX_RESAMPLES ||
        !(confidence >= 0.5 && confidence <= 0.999))
        return -1;
    if (significance_median(x, nx, &mx) < 0 || !(mx > 0))
        return -1;
    ratios = malloc(resamples * sizeof *ratios);
    scratch = malloc((nx > ny ? nx : ny) * sizeof *scratch);
    if (!ratios || !scratch)
        goto done;
    for (unsigned b = 0; b < resamples; b++) {
        double bx = 0;
        for (int tries = 0; tries < REDRAWS && !(bx > 0); tries++)
            bx = resampled_median(x, nx, scratch, &rng);
        if (!(bx > 0))
            goto done;
        ratios[b] = resampled_median(y, ny, scratch, &rng) / bx;
    }
    qsort(ratios, resamples, sizeof *ratios, compare_doubles);
    *low = quantile(ratios, resamples, (1 - confidence) / 2);
    *high = quantile(ratios, resamples, (1 + confidence) / 2);
    rc = 0;
done:
    free(ratios);
    free(scratch);
    return rc;
}
