/* trends: charts across runs. See trends.h. */
#include "report/trends.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/chart.h"

#define RUN_AXIS "run (label #id), oldest first"
#define FAIL_BAND "#c0392b"

enum { GATE_TPUT, GATE_P99, GATE_THREADS, NGATES };
static const char *const gate_names[NGATES] = {"throughput", "p99_latency", "thread_growth"};

struct point {
    long long id;
    char label[64];
    double throughput, p99, p50, growth;
    struct {
        bool present, failed;
        double threshold;
        char op[4], text[80];
    } gate[NGATES];
};

static int db_error(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "results database: %s: %s", what, sqlite3_errmsg(db));
    return -1;
}

static double column_real(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? NAN : sqlite3_column_double(st, col);
}

/* Least-squares slope of the thread count over the run's steady state, as the
 * thread_growth gate computes it, from /proc when sampled, else process_threads. */
static int thread_growth(sqlite3 *db, sqlite3_stmt *st, long long id, double *growth, char *err, size_t errlen)
{
    static const char *const metrics[] = {"loadlab_proc_threads", "process_threads"};
    *growth = NAN;
    for (size_t i = 0; i < 2 && isnan(*growth); i++) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, metrics[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_reset(st);
            return db_error(db, "computing thread growth", err, errlen);
        }
        *growth = column_real(st, 0);
        sqlite3_reset(st);
    }
    return 0;
}

static int read_gates(sqlite3 *db, sqlite3_stmt *st, struct point *p, char *err, size_t errlen)
{
    for (size_t g = 0; g < NGATES; g++) {
        int step;
        sqlite3_bind_int64(st, 1, p->id);
        sqlite3_bind_text(st, 2, gate_names[g], -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const unsigned char *op = sqlite3_column_text(st, 1), *text = sqlite3_column_text(st, 3);
            p->gate[g].present = true;
            p->gate[g].threshold = sqlite3_column_double(st, 0);
            snprintf(p->gate[g].op, sizeof p->gate[g].op, "%s", op ? (const char *)op : "");
            p->gate[g].failed = sqlite3_column_type(st, 2) != SQLITE_NULL && sqlite3_column_int(st, 2) == 0;
            snprintf(p->gate[g].text, sizeof p->gate[g].text, "%s", text ? (const char *)text : "");
        }
        sqlite3_reset(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return db_error(db, "reading gates", err, errlen);
    }
    return 0;
}

/* The latest TRENDS_MAX_RUNS completed runs of scenario, oldest first. */
static int load_points(sqlite3 *db, const char *scenario, struct point **out, size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *runs = NULL, *slope = NULL, *gates = NULL;
    struct point *pts = calloc(TRENDS_MAX_RUNS, sizeof *pts);
    size_t count = 0;
    int step, rc = -1;

    *out = NULL;
    *n = 0;
    if (!pts) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sqlite3_prepare_v2(db, "SELECT r.id, r.label, l.throughput, l.p99_s, l.p50_s FROM runs r "
                               "LEFT JOIN load_results l ON l.run_id = r.id AND l.stage = 'measure' "
                               "WHERE r.scenario = ? AND r.status = 'completed' ORDER BY r.id DESC LIMIT ?",
                           -1, &runs, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT (n * sxy - sx * sy) / nullif(n * sxx - sx * sx, 0) FROM "
                               "(SELECT count(*) AS n, sum(s.t) AS sx, sum(s.value) AS sy, sum(s.t * s.value) AS sxy, "
                               "sum(s.t * s.t) AS sxx FROM samples s JOIN runs r ON r.id = s.run_id "
                               "WHERE s.run_id = ?1 AND s.metric = ?2 AND s.labels = '' AND s.value IS NOT NULL "
                               "AND s.t >= r.steady_from AND s.t <= r.steady_to)", -1, &slope, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT threshold, op, passed, threshold_text FROM gates WHERE run_id = ? AND name = ?",
                           -1, &gates, NULL) != SQLITE_OK) {
        db_error(db, "reading trends", err, errlen);
        goto done;
    }
    sqlite3_bind_text(runs, 1, scenario, -1, SQLITE_STATIC);
    sqlite3_bind_int(runs, 2, TRENDS_MAX_RUNS);
    while ((step = sqlite3_step(runs)) == SQLITE_ROW) {
        struct point *p = &pts[count++];
        const unsigned char *label = sqlite3_column_text(runs, 1);
        p->id = sqlite3_column_int64(runs, 0);
        snprintf(p->label, sizeof p->label, "%s", label ? (const char *)label : "");
        p->throughput = column_real(runs, 2);
        p->p99 = column_real(runs, 3);
        p->p50 = column_real(runs, 4);
        if (thread_growth(db, slope, p->id, &p->growth, err, errlen) < 0 || read_gates(db, gates, p, err, errlen) < 0)
            goto done;
    }
    if (step != SQLITE_DONE) {
        db_error(db, "reading trends", err, errlen);
        goto done;
    }
    for (size_t i = 0; i < count / 2; i++) {
        struct point tmp = pts[i];
        pts[i] = pts[count - 1 - i];
        pts[count - 1 - i] = tmp;
    }
    *out = pts;
    *n = count;
    pts = NULL;
    rc = 0;
done:
    sqlite3_finalize(runs);
    sqlite3_finalize(slope);
    sqlite3_finalize(gates);
    free(pts);
    return rc;
}

static void add_chart(struct trends *out, const char *file, const char *title, const char *caption)
{
    struct trends_chart *c;
    if (out->n >= TRENDS_MAX_CHARTS)
        return;
    c = &out->charts[out->n++];
    snprintf(c->file, sizeof c->file, "%s", file);
    snprintf(c->title, sizeof c->title, "%s", title);
    snprintf(c->caption, sizeof c->caption, "%s", caption);
}

/* The latest run's gate (its threshold is the band), or NULL. */
static const struct point *latest_with_gate(const struct point *pts, size_t n, size_t g)
{
    for (size_t i = n; i-- > 0;)
        if (pts[i].gate[g].present)
            return &pts[i];
    return NULL;
}

/* Draws one trend: value(p) * scale per run, the latest gate's failing side shaded,
 * runs whose gate failed marked. */
static int trend_chart(const struct point *pts, size_t n, size_t g, double (*value)(const struct point *),
                       double scale, const char *title, const char *ylabel, const char *series_title,
                       bool second_p50, struct gnuplot *gp, const char *path, const char *png_path,
                       char *err, size_t errlen)
{
    struct chart *c = chart_new(title, RUN_AXIS, ylabel);
    double *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y), *fx = calloc(n, sizeof *fx),
           *fy = calloc(n, sizeof *fy), lo = INFINITY, hi = 0;
    char **labels = calloc(n, sizeof *labels), text[200];
    const struct point *latest = latest_with_gate(pts, n, g);
    size_t nfailed = 0;
    int rc = -1;

    if (!c || !x || !y || !fx || !fy || !labels) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)(i + 1);
        y[i] = value(&pts[i]) * scale;
        if (y[i] > 0) {
            lo = y[i] < lo ? y[i] : lo;
            hi = y[i] > hi ? y[i] : hi;
        }
        if (pts[i].gate[g].failed) {
            fx[nfailed] = x[i];
            fy[nfailed++] = y[i];
        }
        snprintf(text, sizeof text, "%.20s #%lld", pts[i].label, pts[i].id);
        labels[i] = strdup(text);
        if (!labels[i]) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    chart_set_xtics(c, x, (const char *const *)labels, n);
    chart_add_series(c, series_title, CHART_LINESPOINTS, "#0072b2", x, y, NULL, NULL, n);
    if (second_p50) {
        for (size_t i = 0; i < n; i++)
            y[i] = pts[i].p50 * scale;
        chart_add_series(c, "p50", CHART_LINESPOINTS, "#56b4e9", x, y, NULL, NULL, n);
    }
    if (nfailed) {
        snprintf(text, sizeof text, "%s gate failed", gate_names[g]);
        chart_add_series(c, text, CHART_POINTS, CHART_RED, fx, fy, NULL, NULL, nfailed);
    }
    if (latest) {
        double t = latest->gate[g].threshold * scale;
        bool fails_below = latest->gate[g].op[0] == '>';
        snprintf(text, sizeof text, "gate %s %s (run #%lld)", gate_names[g], latest->gate[g].text, latest->id);
        chart_add_hline(c, text, t, CHART_RED);
        chart_add_yband(c, fails_below ? -INFINITY : t, fails_below ? t : INFINITY, "fails the gate", FAIL_BAND);
        if (t > 0) {
            lo = t < lo ? t : lo;
            hi = t > hi ? t : hi;
        }
    }
    /* Latencies spread over decades (a p99 far under a generous gate) read on a log axis. */
    chart_set_log_y(c, second_p50 && hi > 20 * lo);
    if (!second_p50 && g == GATE_TPUT)
        chart_set_y_from_zero(c, true);
    rc = chart_emit(c, gp, path, png_path, err, errlen);
done:
    for (size_t i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
    free(x);
    free(y);
    free(fx);
    free(fy);
    chart_free(c);
    return rc;
}

static double get_throughput(const struct point *p) { return p->throughput; }
static double get_p99(const struct point *p) { return p->p99; }
static double get_growth(const struct point *p) { return p->growth; }

/* The chart's file paths. Returns 1 (draw a PNG too), 0 (SVG only), -1 too long. */
static int paths(const char *dir, const char *rel_dir, const char *stem, const char *what, bool png, char *svg,
                 char *pngp, size_t len, char *rel, size_t rellen)
{
    return (size_t)snprintf(svg, len, "%s/%s-%s.svg", dir, stem, what) >= len ||
                   (size_t)snprintf(pngp, len, "%s/%s-%s.png", dir, stem, what) >= len ||
                   (size_t)snprintf(rel, rellen, "%s/%s-%s.svg", rel_dir, stem, what) >= rellen
               ? -1 : (png ? 1 : 0);
}

int trends_scenario(sqlite3 *db, const char *scenario, struct gnuplot *gp, const char *dir,
                    const char *rel_dir, const char *stem, bool png, struct trends *out,
                    char *err, size_t errlen)
{
    static const struct {
        const char *what, *title, *ylabel, *series, *caption;
        size_t gate;
        double (*value)(const struct point *);
        double scale;
        bool p50;
    } kinds[] = {
        {"throughput", "Throughput across runs", "requests per second", "throughput (wrk, measured part)",
         "wrk's throughput over each run's measured part. A regression is a step down; the shaded side of the "
         "dashed line fails the latest run's gate.", GATE_TPUT, get_throughput, 1, false},
        {"p99", "p99 latency across runs", "milliseconds", "p99 (wrk, measured part)",
         "wrk's p99 and p50 of each run's measured part. A regression is a step up.", GATE_P99, get_p99, 1e3, true},
        {"threads", "Thread growth across runs", "threads per second", "thread growth (least squares, measured part)",
         "Slope of the thread count over each run's measured part. Near zero is healthy; a leak sits well above.",
         GATE_THREADS, get_growth, 1, false},
    };
    struct point *pts = NULL;
    size_t n = 0;
    char svg[4096], png_path[4096], rel[sizeof out->charts[0].file];
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (load_points(db, scenario, &pts, &n, err, errlen) < 0)
        return -1;
    out->runs = n;
    if (n < 2) {
        snprintf(out->note, sizeof out->note, n ? "One completed run so far: trends start with the second."
                                                : "No completed run yet: nothing to trend.");
        rc = 0;
        goto done;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        bool any = false;
        int with_png = paths(dir, rel_dir, stem, kinds[k].what, png, svg, png_path, sizeof svg, rel, sizeof rel);
        for (size_t i = 0; i < n; i++)
            any = any || !isnan(kinds[k].value(&pts[i]));
        if (!any)
            continue;
        if (with_png < 0) {
            snprintf(err, errlen, "report folder path too long: %s", dir);
            goto done;
        }
        if (!gp)
            continue;  /* nothing is drawn, so nothing is listed */
        if (trend_chart(pts, n, kinds[k].gate, kinds[k].value, kinds[k].scale, kinds[k].title, kinds[k].ylabel,
                        kinds[k].series, kinds[k].p50, gp, svg, with_png ? png_path : NULL, err, errlen) < 0)
            goto done;
        add_chart(out, rel, kinds[k].title, kinds[k].caption);
    }
    rc = 0;
done:
    free(pts);
    return rc;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median, min and max of the numbers among v[0..n-1] (NaN skipped); NaN when none. */
static void spread(double *v, size_t n, double *median, double *min, double *max)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[k++] = v[i];
    *median = *min = *max = NAN;
    if (k == 0)
        return;
    qsort(v, k, sizeof *v, compare_doubles);
    *min = v[0];
    *max = v[k - 1];
    *median = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

struct overhead_values {
    double *throughput, *p99;
    size_t n, cap;
};

/* Returns 0 when drawn (or queued), 1 when there is nothing to draw, -1 on failure. */
static int overhead_bars(const struct trends_overhead *o, struct gnuplot *gp, const char *dir, bool png,
                         bool p99, char *err, size_t errlen)
{
    struct chart *c = chart_new(p99 ? "p99 latency by instrumentation setting" : "Throughput by instrumentation setting",
                                "setting (scenario overhead-<setting>)", p99 ? "milliseconds" : "requests per second");
    double x[TRENDS_MAX_SETTINGS], y[TRENDS_MAX_SETTINGS], lo[TRENDS_MAX_SETTINGS], hi[TRENDS_MAX_SETTINGS];
    const char *labels[TRENDS_MAX_SETTINGS];
    char svg[4096], png_path[4096];
    int rc = -1;

    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < o->n; i++) {
        const struct trends_setting *s = &o->settings[i];
        double scale = p99 ? 1e3 : 1;
        x[i] = (double)(i + 1);
        y[i] = (p99 ? s->p99_median : s->throughput_median) * scale;
        lo[i] = (p99 ? s->p99_min : s->throughput_min) * scale;
        hi[i] = (p99 ? s->p99_max : s->throughput_max) * scale;
        labels[i] = s->name;
    }
    chart_set_xtics(c, x, labels, o->n);
    chart_add_series(c, p99 ? "median p99 (whiskers: best and worst run)" : "median throughput (whiskers: slowest and fastest run)",
                     CHART_BARS, p99 ? "#e69f00" : "#0072b2", x, y, lo, hi, o->n);
    chart_set_y_from_zero(c, true);
    if (!chart_has_data(c)) {
        rc = 1;  /* no setting has this figure: no chart */
        goto done;
    }
    if ((size_t)snprintf(svg, sizeof svg, "%s/overhead-%s.svg", dir, p99 ? "p99" : "throughput") >= sizeof svg ||
        (size_t)snprintf(png_path, sizeof png_path, "%s/overhead-%s.png", dir, p99 ? "p99" : "throughput") >=
            sizeof png_path) {
        snprintf(err, errlen, "report folder path too long: %s", dir);
        goto done;
    }
    rc = chart_emit(c, gp, svg, png ? png_path : NULL, err, errlen);
done:
    chart_free(c);
    return rc;
}

int trends_overhead(sqlite3 *db, struct gnuplot *gp, const char *dir, bool png, struct trends_overhead *out,
                    char *err, size_t errlen)
{
    struct overhead_values values[TRENDS_MAX_SETTINGS];
    sqlite3_stmt *st = NULL;
    int step, rc = -1;
    const size_t plen = strlen(TRENDS_OVERHEAD_PREFIX);

    memset(out, 0, sizeof *out);
    memset(values, 0, sizeof values);
    if (sqlite3_prepare_v2(db, "SELECT substr(r.scenario, ?1 + 1), l.throughput, l.p99_s, "
                               "(SELECT count(DISTINCT label) FROM runs WHERE status = 'completed' AND "
                               "substr(scenario, 1, ?1) = ?2) FROM runs r JOIN load_results l ON l.run_id = r.id "
                               "AND l.stage = 'measure' WHERE r.status = 'completed' AND substr(r.scenario, 1, ?1) = ?2 "
                               "ORDER BY r.id", -1, &st, NULL) != SQLITE_OK) {
        db_error(db, "reading overhead runs", err, errlen);
        goto done;
    }
    sqlite3_bind_int(st, 1, (int)plen);
    sqlite3_bind_text(st, 2, TRENDS_OVERHEAD_PREFIX, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        struct overhead_values *v;
        size_t i;
        if (!name || !*name)
            continue;
        for (i = 0; i < out->n && strcmp(out->settings[i].name, name) != 0; i++) {
        }
        if (i == out->n) {
            if (out->n >= TRENDS_MAX_SETTINGS)
                continue;
            snprintf(out->settings[out->n++].name, sizeof out->settings[0].name, "%s", name);
        }
        out->labels = (size_t)sqlite3_column_int(st, 3);
        v = &values[i];
        if (v->n == v->cap) {
            size_t cap = v->cap ? v->cap * 2 : 16;
            double *t = realloc(v->throughput, cap * sizeof *t), *p;
            if (t)
                v->throughput = t;
            p = t ? realloc(v->p99, cap * sizeof *p) : NULL;
            if (!p) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            v->p99 = p;
            v->cap = cap;
        }
        v->throughput[v->n] = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
        v->p99[v->n] = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
        v->n++;
    }
    if (step != SQLITE_DONE) {
        db_error(db, "reading overhead runs", err, errlen);
        goto done;
    }
    for (size_t i = 0; i < out->n; i++) {
        struct trends_setting *s = &out->settings[i];
        s->runs = values[i].n;
        spread(values[i].throughput, values[i].n, &s->throughput_median, &s->throughput_min, &s->throughput_max);
        spread(values[i].p99, values[i].n, &s->p99_median, &s->p99_min, &s->p99_max);
    }
    for (int p99 = 0; p99 < 2 && out->n > 0 && gp; p99++) {
        int drawn = overhead_bars(out, gp, dir, png, p99, err, errlen);
        if (drawn < 0)
            goto done;
        if (drawn == 1)
            continue;
        if (p99)
            add_chart(&out->charts, "overhead-p99.svg", "p99 latency by instrumentation setting",
                      "Median of wrk's p99 over the repeated runs of each setting; the whiskers span the best "
                      "and the worst run.");
        else
            add_chart(&out->charts, "overhead-throughput.svg", "Throughput by instrumentation setting",
                      "Median of wrk's measured throughput over the repeated runs of each setting; the "
                      "whiskers span the slowest and the fastest run.");
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    for (size_t i = 0; i < TRENDS_MAX_SETTINGS; i++) {
        free(values[i].throughput);
        free(values[i].p99);
    }
    return rc;
}
