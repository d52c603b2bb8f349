/* series: the one time-series type and its computations. See series.h. */
#include "base/series.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"

int series_push(struct series *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double *nt, *nv;
        if (cap > SERIES_MAX_POINTS)
            cap = SERIES_MAX_POINTS;
        if (s->n >= cap)
            return -1;
        nt = realloc(s->t, cap * sizeof *nt);
        if (!nt)
            return -1;
        s->t = nt;
        nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = cap;
    }
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return 0;
}

int series_add_at(struct series *s, double t, double v)
{
    if (s->n > 0 && s->t[s->n - 1] == t) {
        s->v[s->n - 1] += v;
        return 0;
    }
    return series_push(s, t, v);
}

void series_keep_between(struct series *s, double from, double to)
{
    size_t kept = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i] >= from && s->t[i] < to) {
            s->t[kept] = s->t[i];
            s->v[kept++] = s->v[i];
        }
    s->n = kept;
}

void series_release(struct series *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof *s);
}

void series_set_release(struct series_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        series_release(&set->items[i]);
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

int series_label_value(const char *labels, const char *name, char *out, size_t outlen)
{
    size_t namelen = strlen(name);
    const char *p = labels;

    if (!*p)
        return 1;
    if (*p++ != '{')
        return -1;
    while (*p && *p != '}') {
        const char *key = p;
        size_t k = 0;
        bool match;
        while (*p && *p != '=')
            p++;
        if (*p != '=' || p[1] != '"')
            return -1;
        match = (size_t)(p - key) == namelen && strncmp(key, name, namelen) == 0;
        p += 2;
        while (*p && *p != '"') {
            char c = *p++;
            if (c == '\\') {
                if (!*p)
                    return -1;
                c = *p == 'n' ? '\n' : *p;
                p++;
            }
            if (match) {
                if (k + 1 >= outlen)
                    return -1;
                out[k++] = c;
            }
        }
        if (*p != '"')
            return -1;
        p++;
        if (match) {
            out[k] = '\0';
            return 0;
        }
        if (*p == ',')
            p++;
    }
    return *p == '}' ? 1 : -1;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const struct series *)a)->name, ((const struct series *)b)->name);
}

struct series *series_set_group(struct series_set *set, const char *name)
{
    struct series *grown;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    if (set->n >= SERIES_MAX_GROUPS && strcmp(name, "other") != 0)
        return series_set_group(set, "other");  /* the one group past the limit */
    grown = realloc(set->items, (set->n + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    set->items = grown;
    memset(&set->items[set->n], 0, sizeof set->items[set->n]);
    snprintf(set->items[set->n].name, sizeof set->items[set->n].name, "%s", name);
    return &set->items[set->n++];
}

void series_set_sort(struct series_set *set)
{
    if (set->n > 1)
        qsort(set->items, set->n, sizeof *set->items, compare_names);
}

struct point {
    double t, v;
};

static int compare_points(const void *a, const void *b)
{
    double x = ((const struct point *)a)->t, y = ((const struct point *)b)->t;
    return x < y ? -1 : x > y;
}

static int sum_at_ticks(const struct series_set *set, const struct series *ticks, struct series *out)
{
    size_t *cursor = calloc(set->n ? set->n : 1, sizeof *cursor);
    int rc = -1;

    if (!cursor)
        return -1;
    for (size_t k = 0; k < ticks->n; k++) {
        double t = ticks->t[k], sum = 0;
        for (size_t i = 0; i < set->n; i++) {
            const struct series *s = &set->items[i];
            while (cursor[i] + 1 < s->n && s->t[cursor[i] + 1] <= t)
                cursor[i]++;
            if (s->n > 0 && s->t[cursor[i]] <= t)
                sum += s->v[cursor[i]];
        }
        if (series_push(out, t, sum) < 0)
            goto done;
    }
    rc = 0;
done:
    free(cursor);
    return rc;
}

int series_sum(const struct series_set *set, const struct series *ticks, struct series *out)
{
    struct point *all = NULL;
    size_t n = 0, k = 0;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (ticks) {
        rc = sum_at_ticks(set, ticks, out);
        goto done;
    }
    for (size_t i = 0; i < set->n; i++)
        n += set->items[i].n;
    all = malloc((n ? n : 1) * sizeof *all);
    if (!all)
        return -1;
    for (size_t i = 0; i < set->n; i++)
        for (size_t j = 0; j < set->items[i].n; j++)
            all[k++] = (struct point){set->items[i].t[j], set->items[i].v[j]};
    qsort(all, n, sizeof *all, compare_points);
    for (size_t i = 0; i < n; i++)
        if (series_add_at(out, all[i].t, all[i].v) < 0)
            goto done;
    rc = 0;
done:
    free(all);
    if (rc < 0)
        series_release(out);
    return rc;
}

int series_rate(const struct series *counter, double start, double width, struct series *out)
{
    double *starts = NULL, *rates = NULL;
    size_t cap, n;
    int rc = -1;

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", counter->name);
    if (counter->n < 2 || !(width > 0))
        return 0;
    if (start > counter->t[counter->n - 1])
        return 0;
    cap = (size_t)((counter->t[counter->n - 1] - start) / width) + 1;
    if (cap > SERIES_MAX_POINTS)
        return -1;
    starts = malloc(cap * sizeof *starts);
    rates = malloc(cap * sizeof *rates);
    if (!starts || !rates)
        goto done;
    n = stats_window_rates(counter->t, counter->v, counter->n, start, counter->t[counter->n - 1],
                           width, starts, rates, cap);
    for (size_t i = 0; i < n; i++)
        if (series_push(out, starts[i] + width / 2, rates[i]) < 0)
            goto done;
    rc = 0;
done:
    free(starts);
    free(rates);
    if (rc < 0)
        series_release(out);
    return rc;
}

struct bucket {
    double le;
    const struct series *counts;
    double *rates;
};

static int compare_buckets(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->le, y = ((const struct bucket *)b)->le;
    return x < y ? -1 : x > y;
}

/* histogram_quantile over cumulative counts per bucket, ascending by le. */
static double bucket_quantile(const struct bucket *b, size_t nb, size_t w, double q)
{
    double total = b[nb - 1].rates[w], rank = q * total, below = 0, lower = 0;

    if (!(total > 0) || !isinf(b[nb - 1].le))
        return NAN;
    for (size_t i = 0; i < nb; i++) {
        double cum = b[i].rates[w];
        if (cum >= rank) {
            if (isinf(b[i].le))
                return i > 0 ? b[i - 1].le : NAN;
            if (cum - below <= 0)
                return b[i].le;
            return lower + (b[i].le - lower) * (rank - below) / (cum - below);
        }
        below = cum;
        lower = b[i].le;
    }
    return NAN;
}

int series_quantiles(const struct series_set *set, double start, double width, const double *q, size_t nq,
                     struct series *out, char *err, size_t errlen)
{
    struct bucket buckets[SERIES_MAX_BUCKETS];
    double *starts = NULL;
    size_t nb = 0, nwin = 0, cap = 0;
    int rc = -1;

    memset(buckets, 0, sizeof buckets);
    for (size_t k = 0; k < nq; k++)
        memset(&out[k], 0, sizeof out[k]);
    if (set->n > SERIES_MAX_BUCKETS) {
        snprintf(err, errlen, "more than %d histogram buckets", SERIES_MAX_BUCKETS);
        goto done;
    }
    for (size_t i = 0; i < set->n; i++) {
        char *end;
        double le = strtod(set->items[i].name, &end);
        if (end == set->items[i].name || *end || isnan(le) || set->items[i].n < 2)
            continue;
        buckets[nb].le = le;
        buckets[nb].counts = &set->items[i];
        nb++;
    }
    if (nb == 0) {
        rc = 0;
        goto done;
    }
    qsort(buckets, nb, sizeof buckets[0], compare_buckets);
    {
        /* Windows over the span every bucket covers, so window w means the same
         * seconds in each bucket. */
        double from = buckets[0].counts->t[0], to = buckets[0].counts->t[buckets[0].counts->n - 1];
        for (size_t i = 1; i < nb; i++) {
            const struct series *s = buckets[i].counts;
            from = s->t[0] > from ? s->t[0] : from;
            to = s->t[s->n - 1] < to ? s->t[s->n - 1] : to;
        }
        if (from > start)
            from = start + width * ceil((from - start) / width - 1e-9);  /* on the grid */
        else
            from = start;
        if (!(to - from >= width)) {
            rc = 0;
            goto done;
        }
        cap = (size_t)((to - from) / width) + 1;
        if (cap > SERIES_MAX_POINTS) {
            snprintf(err, errlen, "too many windows of the histogram");
            goto done;
        }
        starts = malloc(cap * sizeof *starts);
        if (!starts)
            goto oom;
        for (size_t i = 0; i < nb; i++) {
            const struct series *s = buckets[i].counts;
            buckets[i].rates = malloc(cap * sizeof *buckets[i].rates);
            if (!buckets[i].rates)
                goto oom;
            nwin = stats_window_rates(s->t, s->v, s->n, from, to, width, starts, buckets[i].rates, cap);
        }
    }
    for (size_t k = 0; k < nq; k++) {
        snprintf(out[k].name, sizeof out[k].name, "p%g", q[k] * 100);
        for (size_t w = 0; w < nwin; w++) {
            double v = bucket_quantile(buckets, nb, w, q[k]);
            if (!isnan(v) && series_push(&out[k], starts[w] + width / 2, v) < 0)
                goto oom;
        }
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory computing percentiles");
done:
    for (size_t i = 0; i < nb; i++)
        free(buckets[i].rates);
    free(starts);
    if (rc < 0)
        for (size_t k = 0; k < nq; k++)
            series_release(&out[k]);
    return rc;
}

int series_fit(const struct series *s, double from, double to, double *slope, double *at_from)
{
    double *x, *y, sum_x = 0, sum_y = 0, b;
    size_t n = 0;
    int rc = -1;

    x = malloc((s->n ? s->n : 1) * sizeof *x);
    y = malloc((s->n ? s->n : 1) * sizeof *y);
    if (!x || !y)
        goto done;
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i] >= from && s->t[i] <= to) {
            x[n] = s->t[i];
            y[n] = s->v[i];
            sum_x += x[n];
            sum_y += y[n];
            n++;
        }
    if (n < 2 || stats_slope(x, y, n, &b) < 0)
        goto done;
    *slope = b;
    *at_from = sum_y / (double)n - b * (sum_x / (double)n - from);
    rc = 0;
done:
    free(x);
    free(y);
    return rc;
}

size_t series_counter_windows(const struct series *s, double from, double width, double *starts, double *rates,
                              size_t cap)
{
    if (s->n < 2)
        return 0;
    if (from < s->t[0])
        from = s->t[0];
    return stats_window_rates(s->t, s->v, s->n, from, s->t[s->n - 1], width, starts, rates, cap);
}

size_t series_gauge_windows(const struct series *s, double from, double width, double *starts, double *rates,
                            size_t cap)
{
    size_t n = 0;
    if (s->n < 2)
        return 0;
    if (from < s->t[0])
        from = s->t[0];
    /* Stepped by adding, not multiplying, so the window starts are the ones a
     * diagnosis has always reported. */
    for (double a = from; a + width <= s->t[s->n - 1] + 1e-9 && n < cap; a += width) {
        starts[n] = a;
        rates[n++] = (series_at(s, a + width) - series_at(s, a)) / width;
    }
    return n;
}

double series_at(const struct series *s, double x)
{
    if (!s->n)
        return NAN;
    if (x <= s->t[0])
        return s->v[0];
    for (size_t i = 1; i < s->n; i++)
        if (x <= s->t[i])
            return s->v[i - 1] + (s->v[i] - s->v[i - 1]) * (x - s->t[i - 1]) / (s->t[i] - s->t[i - 1]);
    return s->v[s->n - 1];
}

double series_min(const struct series *s)
{
    double m = INFINITY;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] < m)
            m = s->v[i];
    return m;
}

double series_max(const struct series *s)
{
    double m = -INFINITY;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] > m)
            m = s->v[i];
    return m;
}

double series_increase(const struct series *s, double from, double to)
{
    double inc = 0, prev = 0;
    bool have = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] < from || s->t[i] > to)
            continue;
        if (have)
            inc += s->v[i] >= prev ? s->v[i] - prev : s->v[i];
        prev = s->v[i];
        have = true;
    }
    return inc;
}
