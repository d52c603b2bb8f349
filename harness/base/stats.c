/* stats: slopes, counter rates and saturation shares. See stats.h. */
#include "base/stats.h"

#include <math.h>

int stats_slope(const double *x, const double *y, size_t n, double *slope)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;

    if (n < 2)
        return -1;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (sxx <= 0)
        return -1;
    *slope = sxy / sxx;
    return 0;
}

int stats_mean(const double *y, size_t n, double *mean)
{
    double sum = 0;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i])) {
            sum += y[i];
            count++;
        }
    if (count == 0)
        return -1;
    *mean = sum / (double)count;
    return 0;
}

int stats_max(const double *y, size_t n, double *max)
{
    size_t count = 0;
    double best = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i])) {
            if (y[i] > best)
                best = y[i];
            count++;
        }
    if (count == 0)
        return -1;
    *max = best;
    return 0;
}

int stats_counter_increase(const double *y, size_t n, double *increase)
{
    double total = 0;
    if (n < 2)
        return -1;
    for (size_t i = 1; i < n; i++)
        total += y[i] >= y[i - 1] ? y[i] - y[i - 1] : y[i];
    *increase = total;
    return 0;
}

int stats_counter_rate(const double *x, const double *y, size_t n, double *rate)
{
    double increase;
    if (n < 2 || x[n - 1] <= x[0] || stats_counter_increase(y, n, &increase) < 0)
        return -1;
    *rate = increase / (x[n - 1] - x[0]);
    return 0;
}

int stats_share_at_or_above(const double *value, const double *capacity, size_t n,
                            double fraction, double *share)
{
    size_t counted = 0, above = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(capacity[i] > 0) || isnan(value[i]))
            continue;
        counted++;
        if (value[i] >= fraction * capacity[i])
            above++;
    }
    if (counted == 0)
        return -1;
    *share = (double)above / (double)counted;
    return 0;
}

/* The reset-corrected counter at sample i: the sum of increases up to i. */
static double corrected(const double *y, size_t i, double *running, size_t *upto)
{
    while (*upto < i) {
        (*upto)++;
        *running += y[*upto] >= y[*upto - 1] ? y[*upto] - y[*upto - 1] : y[*upto];
    }
    return *running;
}

/* Interpolates the reset-corrected counter at time t (x ascending, x[0] <= t <= x[n-1]). */
static double counter_at(const double *x, const double *y, size_t n, double t)
{
    double running = y[0];
    size_t upto = 0, i = 0;

    while (i + 1 < n && x[i + 1] < t)
        i++;
    if (i + 1 >= n || x[i + 1] == x[i])
        return corrected(y, i, &running, &upto);
    {
        double a = corrected(y, i, &running, &upto);
        double b = corrected(y, i + 1, &running, &upto);
        return a + (b - a) * (t - x[i]) / (x[i + 1] - x[i]);
    }
}

size_t stats_window_rates(const double *x, const double *y, size_t n, double start, double end,
                          double width, double *starts, double *rates, size_t cap)
{
    const double slack = 1e-9;
    size_t count = 0;

    if (n < 2 || width <= 0)
        return 0;
    for (size_t k = 0; count < cap; k++) {
        double lo = start + width * (double)k, hi = lo + width;
        if (hi > end + slack || hi > x[n - 1] + slack)
            break;
        if (lo < x[0] - slack)
            continue;
        starts[count] = lo;
        rates[count] = (counter_at(x, y, n, hi) - counter_at(x, y, n, lo)) / width;
        count++;
    }
    return count;
}
