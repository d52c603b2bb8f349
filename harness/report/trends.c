/* trends: charts across runs. See trends.h. */
#include "report/trends.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "judge/gate.h"
#include "report/chart.h"
#include "store/crossrun.h"
#include "store/runs.h"

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

/* Least-squares slope of the thread count over the run's steady state, as the
 * thread_growth gate computes it, from /proc when sampled, else process_threads. */
static int thread_growth(struct resultdb *db, long long id, double *growth, char *err, size_t errlen)
{
    static const char *const metrics[] = {"loadlab_proc_threads", METRIC_PROCESS_THREADS};
    *growth = NAN;
    for (size_t i = 0; i < 2 && isnan(*growth); i++)
        if (crossrun_slope(db, id, metrics[i], growth, err, errlen) < 0)
            return -1;
    return 0;
}

static int read_gates(struct resultdb *db, struct point *p, char *err, size_t errlen)
{
    struct runs_gate *gates;
    size_t n;

    if (runs_gates(db, p->id, &gates, &n, err, errlen) < 0)
        return -1;
    for (size_t g = 0; g < NGATES; g++)
        for (size_t i = 0; i < n; i++) {
            if (strcmp(gates[i].name, gate_names[g]) != 0)
                continue;
            p->gate[g].present = true;
            p->gate[g].threshold = gates[i].threshold;
            snprintf(p->gate[g].op, sizeof p->gate[g].op, "%s", gates[i].op);
            p->gate[g].failed = gates[i].passed == 0;
            {
                /* In the unit the run page writes it in, as parsed from what was stored. */
                struct gate_spec spec;
                char ignored[256];
                if (gate_parse(gates[i].name, gates[i].threshold_text, &spec, ignored, sizeof ignored) == 0)
                    gate_format_threshold(&spec, p->gate[g].text, sizeof p->gate[g].text);
                else
                    snprintf(p->gate[g].text, sizeof p->gate[g].text, "%s", gates[i].threshold_text);
            }
            break;
        }
    free(gates);
    return 0;
}

/* The latest TRENDS_MAX_RUNS completed runs of scenario, oldest first. */
static int load_points(struct resultdb *db, const char *scenario, struct point **out, size_t *n, char *err,
                       size_t errlen)
{
    struct crossrun_run *runs = calloc(TRENDS_MAX_RUNS, sizeof *runs);
    struct point *pts = calloc(TRENDS_MAX_RUNS, sizeof *pts);
    size_t count = 0;
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (!runs || !pts) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (crossrun_completed(db, scenario, runs, TRENDS_MAX_RUNS, &count, err, errlen) < 0)
        goto done;
    for (size_t i = 0; i < count; i++) {
        struct point *p = &pts[i];
        p->id = runs[i].id;
        snprintf(p->label, sizeof p->label, "%s", runs[i].label);
        p->throughput = runs[i].throughput;
        p->p99 = runs[i].p99;
        p->p50 = runs[i].p50;
        if (thread_growth(db, p->id, &p->growth, err, errlen) < 0 || read_gates(db, p, err, errlen) < 0)
            goto done;
    }
    *out = pts;
    *n = count;
    pts = NULL;
    rc = 0;
done:
    free(runs);
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

int trends_scenario(struct resultdb *db, const char *scenario, struct gnuplot *gp, const char *dir,
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

/* The overhead pass: one run's figures added to its setting's values. */
struct overhead_pass {
    struct trends_overhead *out;
    struct overhead_values *values;
};

static int add_overhead_run(void *user, const char *name, double throughput, double p99, char *err,
                            size_t errlen)
{
    struct overhead_pass *pass = user;
    struct trends_overhead *out = pass->out;
    struct overhead_values *v;
    size_t i;

    if (!*name)
        return 0;
    for (i = 0; i < out->n && strcmp(out->settings[i].name, name) != 0; i++) {
    }
    if (i == out->n) {
        if (out->n >= TRENDS_MAX_SETTINGS)
            return 0;
        snprintf(out->settings[out->n++].name, sizeof out->settings[0].name, "%s", name);
    }
    v = &pass->values[i];
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        double *t = realloc(v->throughput, cap * sizeof *t), *p;
        if (t)
            v->throughput = t;
        p = t ? realloc(v->p99, cap * sizeof *p) : NULL;
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        v->p99 = p;
        v->cap = cap;
    }
    v->throughput[v->n] = throughput;
    v->p99[v->n] = p99;
    v->n++;
    return 0;
}

int trends_overhead(struct resultdb *db, struct gnuplot *gp, const char *dir, bool png, struct trends_overhead *out,
                    char *err, size_t errlen)
{
    struct overhead_values values[TRENDS_MAX_SETTINGS];
    struct overhead_pass pass = {.out = out, .values = values};
    int rc = -1;

    memset(out, 0, sizeof *out);
    memset(values, 0, sizeof values);
    if (crossrun_prefixed(db, TRENDS_OVERHEAD_PREFIX, add_overhead_run, &pass, &out->labels, err, errlen) < 0)
        goto done;
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
    for (size_t i = 0; i < TRENDS_MAX_SETTINGS; i++) {
        free(values[i].throughput);
        free(values[i].p99);
    }
    return rc;
}
