/* runseries: chart series from a run's recorded samples. See runseries.h. */
#include "report/runseries.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/stats.h"

static int push(struct runseries *s, double t, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        double *nt, *nv;
        if (cap > RUNSERIES_MAX_POINTS)
            cap = RUNSERIES_MAX_POINTS;
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

void runseries_release(struct runseries *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof *s);
}

void runseries_set_release(struct runseries_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        runseries_release(&set->items[i]);
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

int runseries_label_value(const char *labels, const char *name, char *out, size_t outlen)
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
    return strcmp(((const struct runseries *)a)->name, ((const struct runseries *)b)->name);
}

/* The series for group name, created when new (past RUNSERIES_MAX_GROUPS: "other"). */
static struct runseries *group_for(struct runseries_set *set, const char *name)
{
    struct runseries *grown;
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return &set->items[i];
    if (set->n >= RUNSERIES_MAX_GROUPS)
        return strcmp(name, "other") == 0 ? NULL : group_for(set, "other");
    grown = realloc(set->items, (set->n + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    set->items = grown;
    memset(&set->items[set->n], 0, sizeof set->items[set->n]);
    snprintf(set->items[set->n].name, sizeof set->items[set->n].name, "%s", name);
    return &set->items[set->n++];
}

int runseries_load(sqlite3 *db, int64_t run_id, const char *metric, const char *group_by,
                   struct runseries_set *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1;

    runseries_set_release(out);
    /* Ordered by time, so each series grows in order and one scrape's samples of a
     * group are adjacent to its last point. */
    if (sqlite3_prepare_v2(db, "SELECT labels, t, value FROM samples WHERE run_id = ? AND metric = ? "
                               "AND value IS NOT NULL ORDER BY t", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(st, 0);
        double t = sqlite3_column_double(st, 1), v = sqlite3_column_double(st, 2);
        char value[RUNSERIES_MAX_NAME] = "";
        struct runseries *s;

        if (group_by && runseries_label_value(labels ? labels : "", group_by, value, sizeof value) < 0)
            snprintf(value, sizeof value, "?");
        s = group_for(out, value);
        if (!s) {
            snprintf(err, errlen, "out of memory reading %s", metric);
            goto done;
        }
        if (s->n > 0 && s->t[s->n - 1] == t) {
            s->v[s->n - 1] += v;
        } else if (push(s, t, v) < 0) {
            snprintf(err, errlen, "%s: more than %d points, or out of memory", metric, RUNSERIES_MAX_POINTS);
            goto done;
        }
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "results database: reading %s: %s", metric, sqlite3_errmsg(db));
        goto done;
    }
    if (out->n > 1)
        qsort(out->items, out->n, sizeof *out->items, compare_names);
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0)
        runseries_set_release(out);
    return rc;
}

static bool labels_match(const char *labels, const struct series_selector *sel)
{
    char value[SERIES_MAX_VALUE];
    for (size_t i = 0; i < sel->nmatchers; i++)
        if (runseries_label_value(labels, sel->matchers[i].name, value, sizeof value) != 0 ||
            strcmp(value, sel->matchers[i].value) != 0)
            return false;
    return true;
}

int runseries_load_selected(sqlite3 *db, int64_t run_id, const struct series_selector *sel,
                            struct runseries *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1;

    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", sel->metric);
    if (sqlite3_prepare_v2(db, "SELECT labels, t, value FROM samples WHERE run_id = ? AND metric = ? "
                               "AND value IS NOT NULL ORDER BY t", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, sel->metric, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *labels = (const char *)sqlite3_column_text(st, 0);
        double t = sqlite3_column_double(st, 1), v = sqlite3_column_double(st, 2);
        if (!labels_match(labels ? labels : "", sel))
            continue;
        if (out->n > 0 && out->t[out->n - 1] == t) {
            out->v[out->n - 1] += v;
        } else if (push(out, t, v) < 0) {
            snprintf(err, errlen, "%s: more than %d points, or out of memory", sel->metric, RUNSERIES_MAX_POINTS);
            goto done;
        }
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "results database: reading %s: %s", sel->metric, sqlite3_errmsg(db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0)
        runseries_release(out);
    return rc;
}

struct point {
    double t, v;
};

static int compare_points(const void *a, const void *b)
{
    double x = ((const struct point *)a)->t, y = ((const struct point *)b)->t;
    return x < y ? -1 : x > y;
}

static int sum_at_ticks(const struct runseries_set *set, const struct runseries *ticks, struct runseries *out)
{
    size_t *cursor = calloc(set->n ? set->n : 1, sizeof *cursor);
    int rc = -1;

    if (!cursor)
        return -1;
    for (size_t k = 0; k < ticks->n; k++) {
        double t = ticks->t[k], sum = 0;
        for (size_t i = 0; i < set->n; i++) {
            const struct runseries *s = &set->items[i];
            while (cursor[i] + 1 < s->n && s->t[cursor[i] + 1] <= t)
                cursor[i]++;
            if (s->n > 0 && s->t[cursor[i]] <= t)
                sum += s->v[cursor[i]];
        }
        if (push(out, t, sum) < 0)
            goto done;
    }
    rc = 0;
done:
    free(cursor);
    return rc;
}

int runseries_sum(const struct runseries_set *set, const struct runseries *ticks, struct runseries *out)
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
    for (size_t i = 0; i < n; i++) {
        if (out->n > 0 && out->t[out->n - 1] == all[i].t)
            out->v[out->n - 1] += all[i].v;
        else if (push(out, all[i].t, all[i].v) < 0)
            goto done;
    }
    rc = 0;
done:
    free(all);
    if (rc < 0)
        runseries_release(out);
    return rc;
}

int runseries_ticks(sqlite3 *db, int64_t run_id, struct runseries *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int step, rc = -1;

    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db, "SELECT DISTINCT t FROM samples WHERE run_id = ? ORDER BY t", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (push(out, sqlite3_column_double(st, 0), 0) < 0) {
            snprintf(err, errlen, "more than %d scrapes, or out of memory", RUNSERIES_MAX_POINTS);
            goto done;
        }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "results database: reading scrape times: %s", sqlite3_errmsg(db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0)
        runseries_release(out);
    return rc;
}

int runseries_rate(const struct runseries *counter, double start, double width, struct runseries *out)
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
    if (cap > RUNSERIES_MAX_POINTS)
        return -1;
    starts = malloc(cap * sizeof *starts);
    rates = malloc(cap * sizeof *rates);
    if (!starts || !rates)
        goto done;
    n = stats_window_rates(counter->t, counter->v, counter->n, start, counter->t[counter->n - 1],
                           width, starts, rates, cap);
    for (size_t i = 0; i < n; i++)
        if (push(out, starts[i] + width / 2, rates[i]) < 0)
            goto done;
    rc = 0;
done:
    free(starts);
    free(rates);
    if (rc < 0)
        runseries_release(out);
    return rc;
}

struct bucket {
    double le;
    const struct runseries *counts;
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

int runseries_quantiles(sqlite3 *db, int64_t run_id, const char *bucket_metric, double start, double width,
                        const double *q, size_t nq, struct runseries *out, char *err, size_t errlen)
{
    struct runseries_set set = {0};
    struct bucket buckets[RUNSERIES_MAX_BUCKETS];
    double *starts = NULL;
    size_t nb = 0, nwin = 0, cap = 0;
    int rc = -1;

    memset(buckets, 0, sizeof buckets);
    for (size_t k = 0; k < nq; k++)
        memset(&out[k], 0, sizeof out[k]);
    if (runseries_load(db, run_id, bucket_metric, "le", &set, err, errlen) < 0)
        return -1;
    if (set.n > RUNSERIES_MAX_BUCKETS) {
        snprintf(err, errlen, "%s: more than %d buckets", bucket_metric, RUNSERIES_MAX_BUCKETS);
        goto done;
    }
    for (size_t i = 0; i < set.n; i++) {
        char *end;
        double le = strtod(set.items[i].name, &end);
        if (end == set.items[i].name || *end || isnan(le) || set.items[i].n < 2)
            continue;
        buckets[nb].le = le;
        buckets[nb].counts = &set.items[i];
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
            const struct runseries *s = buckets[i].counts;
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
        if (cap > RUNSERIES_MAX_POINTS) {
            snprintf(err, errlen, "%s: too many windows", bucket_metric);
            goto done;
        }
        starts = malloc(cap * sizeof *starts);
        if (!starts)
            goto oom;
        for (size_t i = 0; i < nb; i++) {
            const struct runseries *s = buckets[i].counts;
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
            if (!isnan(v) && push(&out[k], starts[w] + width / 2, v) < 0)
                goto oom;
        }
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory computing percentiles of %s", bucket_metric);
done:
    for (size_t i = 0; i < nb; i++)
        free(buckets[i].rates);
    free(starts);
    runseries_set_release(&set);
    if (rc < 0)
        for (size_t k = 0; k < nq; k++)
            runseries_release(&out[k]);
    return rc;
}

int runseries_fit(const struct runseries *s, double from, double to, double *slope, double *at_from)
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
