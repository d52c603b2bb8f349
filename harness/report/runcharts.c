/* runcharts: one run's charts. See runcharts.h.
 *
 * The orderd metric names are the defaults of a service loadlab knows; a service
 * without them simply gets fewer charts (and a line saying which and why). */
#include "report/runcharts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/chart.h"
#include "base/series.h"
#include "store/samples.h"

#define THREADS_BY_ROLE "orderd_threads"
#define LEAKED_BYTES "orderd_leaked_bytes"
#define QUEUE_DEPTH "orderd_queue_depth"
#define QUEUE_CAPACITY "orderd_queue_capacity"
#define QUEUE_REJECTED "orderd_queue_rejected_total"
#define QUEUE_ENQUEUED "orderd_queue_enqueued_total"
#define MUTEX_WAIT "orderd_mutex_wait_seconds_total"
#define BLOCK_SECONDS "orderd_block_seconds_total"
#define LATENCY_BUCKETS "orderd_http_request_duration_seconds_bucket"
#define MIB (1024.0 * 1024.0)

#define TIME_AXIS "time since the service was ready (s)"
#define TREND_COLOR "#333333"

/* Fault intervals; light once made translucent, and none of them the threshold red. */
static const char *const fault_colors[] = {"#e67e22", "#8e44ad", "#16a085", "#2980b9", "#b7950b", "#d35400"};

struct ctx {
    struct resultdb *db;
    const struct runinfo *run;
    struct gnuplot *gp;
    const char *dir;
    bool png;
    struct runcharts *out;
    struct series ticks;     /* every scrape time: counters count from zero on it */
    double x_hi, width, start;  /* windows of width seconds from the first scrape */
    bool have_steady;
    char *err;
    size_t errlen;
};

static void note_omitted(struct ctx *x, const char *what, const char *why)
{
    size_t used = strlen(x->out->omitted);
    snprintf(x->out->omitted + used, sizeof x->out->omitted - used, "%s%s (%s)", used ? "; " : "", what, why);
}

/* A time chart with the run's axis, its warmup and its fault intervals. */
static struct chart *time_chart(struct ctx *x, const char *title, const char *ylabel)
{
    const struct runinfo *run = x->run;
    struct chart *c = chart_new(title, TIME_AXIS, ylabel);

    if (!c)
        return NULL;
    chart_set_x_range(c, 0, x->x_hi);
    if (x->have_steady && run->steady_from > 0)
        chart_add_xband(c, 0, run->steady_from, "warmup", "#9e9e9e");
    for (size_t i = 0; i < run->nphases; i++) {
        const struct runinfo_phase *p = &run->phases[i];
        char label[256];
        if (isnan(p->on_at))
            continue;
        snprintf(label, sizeof label, "%s=%s%s", p->fault, p->term, p->still_on ? " (never cleared)" : "");
        chart_add_xband(c, p->on_at, isnan(p->off_at) ? x->x_hi : p->off_at, label,
                        fault_colors[i % (sizeof fault_colors / sizeof fault_colors[0])]);
    }
    return c;
}

/* Draws c into the run's folder and lists it, or names it as omitted when it has no
 * data. Frees c. Returns 0, or -1 with err filled when gnuplot has failed. */
static int finish(struct ctx *x, struct chart *c, const char *file, const char *title, const char *caption,
                  const char *why_empty)
{
    char svg[4096], png[4096], stem[64];
    struct runcharts_chart *entry;
    int rc = 0;

    if (!c) {
        snprintf(x->err, x->errlen, "out of memory drawing %s", title);
        return -1;
    }
    if (!chart_has_data(c)) {
        note_omitted(x, title, why_empty);
        goto done;
    }
    if (x->out->n >= RUNCHARTS_MAX)
        goto done;
    snprintf(stem, sizeof stem, "%.*s", (int)(strlen(file) - 4), file);
    if ((size_t)snprintf(svg, sizeof svg, "%s/%s", x->dir, file) >= sizeof svg ||
        (size_t)snprintf(png, sizeof png, "%s/%s.png", x->dir, stem) >= sizeof png) {
        snprintf(x->err, x->errlen, "report folder path too long: %s", x->dir);
        rc = -1;
        goto done;
    }
    if (chart_emit(c, x->gp, svg, x->png ? png : NULL, x->err, x->errlen) < 0) {
        rc = -1;
        goto done;
    }
    entry = &x->out->charts[x->out->n++];
    snprintf(entry->file, sizeof entry->file, "%s", file);
    snprintf(entry->title, sizeof entry->title, "%s", title);
    snprintf(entry->caption, sizeof entry->caption, "%s", caption);
done:
    chart_free(c);
    return rc;
}

static const struct runinfo_gate *gate_of(const struct runinfo *run, enum gate_kind kind)
{
    for (size_t i = 0; i < run->ngates; i++)
        if (run->gates[i].have_spec && run->gates[i].spec.kind == kind)
            return &run->gates[i];
    return NULL;
}

static void gate_title(const struct runinfo_gate *g, char *out, size_t outlen)
{
    snprintf(out, outlen, "gate %s %s", g->name, g->threshold_text);
}

static int add_scaled(struct chart *c, const char *title, enum chart_style style, const char *color,
                      const struct series *s, double scale)
{
    double *v = malloc((s->n ? s->n : 1) * sizeof *v);
    int rc;
    if (!v)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        v[i] = s->v[i] * scale;
    rc = chart_add_series(c, title, style, color, s->t, v, NULL, NULL, s->n);
    free(v);
    return rc;
}

/* The fitted trend over the measured part and, with a growth gate, the steepest line
 * the gate allows from the same starting point. */
static void add_growth(struct ctx *x, struct chart *c, const struct series *s, enum gate_kind kind,
                       double scale)
{
    const struct runinfo *run = x->run;
    const struct runinfo_gate *g = gate_of(run, kind);
    double slope, at, from = run->steady_from, to = run->steady_to;
    char title[GATE_MAX_NAME + 160], rate[64];

    if (!x->have_steady || series_fit(s, from, to, &slope, &at) < 0)
        return;
    if (g)
        gate_format_observed(&g->spec, slope, rate, sizeof rate);
    else if (kind == GATE_RSS_GROWTH && fabs(slope) >= 1024 * 1024)
        snprintf(rate, sizeof rate, "%.3gMB/s", slope / (1024 * 1024));
    else if (kind == GATE_RSS_GROWTH)
        snprintf(rate, sizeof rate, "%.3gKB/s", slope / 1024);
    else
        snprintf(rate, sizeof rate, "%.3g/s", slope);
    snprintf(title, sizeof title, "fitted trend: %s%s", slope > 0 ? "+" : "", rate);
    chart_add_segment(c, title, from, at * scale, to, (at + slope * (to - from)) * scale, TREND_COLOR,
                      CHART_DOTTED);
    if (g) {
        gate_title(g, title, sizeof title);
        chart_add_segment(c, title, from, at * scale, to, (at + g->threshold * (to - from)) * scale, CHART_RED,
                          CHART_DASHED);
    }
}

/* The first metric of the pair that the run has, loaded as one series. */
static int load_first(struct ctx *x, const char *a, const char *b, struct series_set *set, const char **which)
{
    if (samples_load(x->db, x->run->id, a, NULL, set, x->err, x->errlen) < 0)
        return -1;
    *which = a;
    if (set->n == 0) {
        *which = b;
        return samples_load(x->db, x->run->id, b, NULL, set, x->err, x->errlen);
    }
    return 0;
}

static int chart_threads(struct ctx *x)
{
    struct series_set total = {0}, roles = {0};
    struct chart *c = time_chart(x, "Threads", "threads");
    const char *which;
    char title[300];
    int rc = -1;

    if (!c || load_first(x, GATE_PROC_THREADS, "process_threads", &total, &which) < 0 ||
        samples_load(x->db, x->run->id, THREADS_BY_ROLE, "role", &roles, x->err, x->errlen) < 0)
        goto done;
    if (total.n) {
        snprintf(title, sizeof title, "all threads%s", strcmp(which, GATE_PROC_THREADS) == 0 ? "" : " (process_threads)");
        chart_add_series(c, title, CHART_LINES, NULL, total.items[0].t, total.items[0].v, NULL, NULL,
                         total.items[0].n);
    }
    /* A role whose count never moves only crowds the legend; one that moves (the
     * fault's leaked notifiers, a growing pool) is the story. */
    for (size_t i = 0; i < roles.n; i++)
        if (series_max(&roles.items[i]) > series_min(&roles.items[i])) {
            snprintf(title, sizeof title, "role %s", roles.items[i].name);
            chart_add_series(c, title, CHART_LINES, NULL, roles.items[i].t, roles.items[i].v, NULL, NULL,
                             roles.items[i].n);
        }
    if (total.n)
        add_growth(x, c, &total.items[0], GATE_THREAD_GROWTH, 1);
    rc = finish(x, c, "threads.svg", "Threads",
                "Threads of the service over the run, in all and for each role whose count changed. "
                "A leak is a line that keeps climbing; thread_growth judges its least-squares slope "
                "over the measured part (dotted), drawn beside the steepest slope the gate allows.",
                "no thread count was sampled");
    c = NULL;
done:
    chart_free(c);
    series_set_release(&total);
    series_set_release(&roles);
    return rc;
}

static int chart_memory(struct ctx *x)
{
    struct series_set rss = {0}, leaked = {0};
    struct chart *c = time_chart(x, "Resident memory", "MiB");
    const char *which;
    char title[300];
    int rc = -1;

    if (!c || load_first(x, GATE_PROC_RSS, "process_resident_memory_bytes", &rss, &which) < 0 ||
        samples_load(x->db, x->run->id, LEAKED_BYTES, NULL, &leaked, x->err, x->errlen) < 0)
        goto done;
    if (rss.n) {
        snprintf(title, sizeof title, "resident memory%s",
                 strcmp(which, GATE_PROC_RSS) == 0 ? "" : " (process_resident_memory_bytes)");
        add_scaled(c, title, CHART_LINES, NULL, &rss.items[0], 1 / MIB);
        add_growth(x, c, &rss.items[0], GATE_RSS_GROWTH, 1 / MIB);
    }
    if (leaked.n && series_max(&leaked.items[0]) > 0)
        add_scaled(c, "held by the leak fault", CHART_LINES, NULL, &leaked.items[0], 1 / MIB);
    rc = finish(x, c, "memory.svg", "Resident memory",
                "Resident set size of the service in MiB. rss_growth judges the least-squares slope over "
                "the measured part; a leak shows as a steady climb above the allowed slope.",
                "no resident memory was sampled");
    c = NULL;
done:
    chart_free(c);
    series_set_release(&rss);
    series_set_release(&leaked);
    return rc;
}

static int chart_fds(struct ctx *x)
{
    struct series_set fds = {0};
    struct chart *c = time_chart(x, "Open file descriptors", "file descriptors");
    const char *which;
    char title[300];
    int rc = -1;

    if (!c || load_first(x, GATE_PROC_FDS, "process_open_fds", &fds, &which) < 0)
        goto done;
    if (fds.n) {
        snprintf(title, sizeof title, "open fds%s", strcmp(which, GATE_PROC_FDS) == 0 ? "" : " (process_open_fds)");
        chart_add_series(c, title, CHART_STEPS, NULL, fds.items[0].t, fds.items[0].v, NULL, NULL, fds.items[0].n);
        add_growth(x, c, &fds.items[0], GATE_FD_GROWTH, 1);
    }
    rc = finish(x, c, "fds.svg", "Open file descriptors",
                "File descriptors the service holds (sockets, files). A descriptor leak climbs with the "
                "load; fd_growth judges the slope over the measured part.",
                "no open-fd count was sampled");
    c = NULL;
done:
    chart_free(c);
    series_set_release(&fds);
    return rc;
}

static int chart_queue(struct ctx *x)
{
    struct series_set depth = {0}, capacity = {0};
    const struct runinfo_gate *g = gate_of(x->run, GATE_QUEUE_SATURATION);
    struct chart *c = time_chart(x, "Work queue depth against capacity", "jobs queued");
    char title[GATE_MAX_NAME + 160];
    int rc = -1;

    if (!c || samples_load(x->db, x->run->id, QUEUE_DEPTH, NULL, &depth, x->err, x->errlen) < 0 ||
        samples_load(x->db, x->run->id, QUEUE_CAPACITY, NULL, &capacity, x->err, x->errlen) < 0)
        goto done;
    if (depth.n)
        chart_add_series(c, "depth", CHART_LINES, NULL, depth.items[0].t, depth.items[0].v, NULL, NULL,
                         depth.items[0].n);
    if (depth.n && capacity.n) {
        chart_add_series(c, "capacity", CHART_STEPS, CHART_GREY, capacity.items[0].t, capacity.items[0].v, NULL,
                         NULL, capacity.items[0].n);
        if (g) {
            snprintf(title, sizeof title, "%.0f%% of capacity (gate %s %s)", GATE_SATURATION_FRACTION * 100,
                     g->name, g->threshold_text);
            chart_add_hline(c, title, GATE_SATURATION_FRACTION * series_max(&capacity.items[0]), CHART_RED);
        }
    }
    chart_set_y_from_zero(c, true);
    rc = finish(x, c, "queue.svg", "Work queue depth",
                "Jobs waiting in the bounded work queue, against its capacity. A stalled or slow worker "
                "pool fills it; queue_saturation judges the share of measured samples at or above the "
                "dashed line.",
                "no " QUEUE_DEPTH " samples");
    c = NULL;
done:
    chart_free(c);
    series_set_release(&depth);
    series_set_release(&capacity);
    return rc;
}

/* A counter's per-window rate, the counter taken as zero at scrapes before it
 * appeared. Returns 0, or -1 with err filled. */
static int counter_rate(struct ctx *x, const struct series_set *counters, struct series *rate)
{
    struct series sum;
    int rc;

    memset(rate, 0, sizeof *rate);
    if (series_sum(counters, &x->ticks, &sum) < 0) {
        snprintf(x->err, x->errlen, "out of memory computing a rate");
        return -1;
    }
    rc = series_rate(&sum, x->start, x->width, rate);
    series_release(&sum);
    if (rc < 0)
        snprintf(x->err, x->errlen, "out of memory computing a rate");
    return rc;
}

/* One line per label value of a seconds counter, as seconds per second, plus the sum
 * when more than one is drawn (or when none moved, so a flat zero still shows). */
static int rates_by_label(struct ctx *x, struct chart *c, const char *metric, const char *label,
                          const char *prefix, bool *any)
{
    struct series_set set = {0};
    struct series *rates = NULL, total = {0};
    size_t moved = 0;
    char title[SERIES_MAX_NAME + 64];
    int rc = -1;

    *any = false;
    if (samples_load(x->db, x->run->id, metric, label, &set, x->err, x->errlen) < 0)
        return -1;
    if (set.n == 0) {
        rc = 0;
        goto done;
    }
    *any = true;
    rates = calloc(set.n, sizeof *rates);
    if (!rates) {
        snprintf(x->err, x->errlen, "out of memory charting %s", metric);
        goto done;
    }
    for (size_t i = 0; i < set.n; i++) {
        struct series_set one = {.items = &set.items[i], .n = 1};
        if (counter_rate(x, &one, &rates[i]) < 0)
            goto done;
        moved += series_max(&rates[i]) > 0;
    }
    /* The total goes first, underneath: where one line carries it all, that line
     * stays visible on top of the total instead of hidden under it. */
    if (moved != 1) {
        if (counter_rate(x, &set, &total) < 0)
            goto done;
        snprintf(title, sizeof title, "all %ss", prefix);
        chart_add_series(c, title, CHART_LINES, TREND_COLOR, total.t, total.v, NULL, NULL, total.n);
    }
    for (size_t i = 0; i < set.n; i++)
        if (series_max(&rates[i]) > 0) {
            snprintf(title, sizeof title, "%s %s", prefix, set.items[i].name);
            chart_add_series(c, title, CHART_LINES, NULL, rates[i].t, rates[i].v, NULL, NULL, rates[i].n);
        }
    rc = 0;
done:
    for (size_t i = 0; rates && i < set.n; i++)
        series_release(&rates[i]);
    free(rates);
    series_release(&total);
    series_set_release(&set);
    return rc;
}

static int chart_lock_wait(struct ctx *x)
{
    const struct runinfo_gate *g = gate_of(x->run, GATE_MUTEX_WAIT_SHARE);
    struct chart *c = time_chart(x, "Lock wait per named lock", "seconds waited per second");
    char title[GATE_MAX_NAME + 160];
    bool any;

    if (!c || rates_by_label(x, c, MUTEX_WAIT, "lock", "lock", &any) < 0) {
        chart_free(c);
        return -1;
    }
    if (any && g) {
        gate_title(g, title, sizeof title);
        chart_add_hline(c, title, g->threshold, CHART_RED);
    }
    chart_set_y_from_zero(c, true);
    return finish(x, c, "lockwait.svg", "Lock wait",
                  "Seconds threads spent waiting for each named lock, per second (1.0 = one thread "
                  "waiting all the time). Locks that never made anyone wait are left out. "
                  "mutex_wait_share judges the sum over all locks across the measured part.",
                  "no " MUTEX_WAIT " samples");
}

static int chart_block(struct ctx *x)
{
    struct chart *c = time_chart(x, "Blocked time per site", "seconds blocked per second");
    bool any;

    if (!c || rates_by_label(x, c, BLOCK_SECONDS, "site", "site", &any) < 0) {
        chart_free(c);
        return -1;
    }
    chart_set_y_from_zero(c, true);
    return finish(x, c, "block.svg", "Blocked time",
                  "Seconds threads spent blocked at each site, per second. queue_pop is idle workers "
                  "waiting for work (normal); a producer blocked on a full queue shows as "
                  "queue_push_blocking.",
                  "no " BLOCK_SECONDS " samples");
}

/* Status classes of the requests counter: index 0 all, then 2xx, 3xx, 4xx, 5xx, other. */
#define CLASSES 6
static const char *const class_names[CLASSES] = {"all responses", "2xx", "3xx", "4xx", "5xx", "no status code"};

static size_t class_of(const char *code)
{
    if (code[0] >= '2' && code[0] <= '5' && strlen(code) == 3)
        return (size_t)(code[0] - '2') + 1;
    return 5;
}

/* Per-window rates of the requests counter by status class (rates[0] all). */
static int request_rates(struct ctx *x, struct series rates[CLASSES], bool *by_code)
{
    struct series_set set = {0}, members = {0};
    int rc = -1;

    for (size_t k = 0; k < CLASSES; k++)
        memset(&rates[k], 0, sizeof rates[k]);
    *by_code = false;
    if (samples_load(x->db, x->run->id, x->run->requests_metric, "code", &set, x->err, x->errlen) < 0)
        return -1;
    members.items = calloc(set.n ? set.n : 1, sizeof *members.items);
    if (!members.items) {
        snprintf(x->err, x->errlen, "out of memory charting %s", x->run->requests_metric);
        goto done;
    }
    for (size_t k = 0; k < CLASSES; k++) {
        members.n = 0;
        for (size_t i = 0; i < set.n; i++)
            if (k == 0 || class_of(set.items[i].name) == k)
                members.items[members.n++] = set.items[i];  /* borrowed, not released here */
        if (members.n == 0)
            continue;
        if (k > 0 && k < 5)
            *by_code = true;
        if (counter_rate(x, &members, &rates[k]) < 0)
            goto done;
    }
    rc = 0;
done:
    free(members.items);
    series_set_release(&set);
    return rc;
}

/* wrk's figure for the measured part, as a segment across it: what the gate judged. */
static void add_measured(struct ctx *x, struct chart *c, const char *title, double value)
{
    const struct runinfo_load *m = &x->run->measure;
    if (!m->present || isnan(value) || isnan(m->started_at))
        return;
    chart_add_segment(c, title, m->started_at, value, m->started_at + m->duration_s, value, TREND_COLOR,
                      CHART_DOTTED);
}

static int chart_throughput(struct ctx *x, struct series rates[CLASSES], bool by_code)
{
    const struct runinfo_gate *g = gate_of(x->run, GATE_THROUGHPUT);
    struct chart *c = time_chart(x, "Throughput", "requests per second");
    char title[GATE_MAX_NAME + 160];
    size_t classes_seen = 0;

    if (!c)
        return finish(x, c, "throughput.svg", "Throughput", "", "");
    for (size_t k = 1; k < CLASSES; k++)
        classes_seen += rates[k].n > 0;
    chart_add_series(c, class_names[0], CHART_LINES, NULL, rates[0].t, rates[0].v, NULL, NULL, rates[0].n);
    for (size_t k = 1; k < CLASSES && by_code && classes_seen > 1; k++)
        if (series_max(&rates[k]) > 0) {
            snprintf(title, sizeof title, "%s responses", class_names[k]);
            chart_add_series(c, title, CHART_LINES, k >= 4 ? CHART_RED : NULL, rates[k].t, rates[k].v, NULL,
                             NULL, rates[k].n);
        }
    snprintf(title, sizeof title, "wrk, measured part: %.0f/s", x->run->measure.throughput);
    if (rates[0].n)
        add_measured(x, c, title, x->run->measure.throughput);
    if (g && rates[0].n) {
        gate_title(g, title, sizeof title);
        chart_add_hline(c, title, g->threshold, CHART_RED);
    }
    chart_set_y_from_zero(c, true);
    return finish(x, c, "throughput.svg", "Throughput",
                  "Requests per second the service answered (from its requests counter), by status class "
                  "when there is more than one. The throughput gate judges wrk's average over the measured "
                  "part, drawn as a flat segment.",
                  "no samples of the requests counter");
}

/* The service's latency percentiles per window, from its histogram's buckets. */
static int latency_quantiles(struct ctx *x, const double *q, size_t nq, struct series *out)
{
    struct series_set buckets = {0};
    char why[256];
    int rc = -1;

    for (size_t k = 0; k < nq; k++)
        memset(&out[k], 0, sizeof out[k]);
    if (samples_load(x->db, x->run->id, LATENCY_BUCKETS, "le", &buckets, x->err, x->errlen) < 0)
        return -1;
    if (series_quantiles(&buckets, x->start, x->width, q, nq, out, why, sizeof why) < 0)
        snprintf(x->err, x->errlen, "%s: %s", LATENCY_BUCKETS, why);
    else
        rc = 0;
    series_set_release(&buckets);
    return rc;
}

static int chart_latency(struct ctx *x)
{
    static const double q[] = {0.5, 0.9, 0.99};
    struct series pct[3];
    struct chart *c = time_chart(x, "Latency percentiles (service histogram, all routes)", "milliseconds");
    const struct runinfo *run = x->run;
    char title[GATE_MAX_NAME + 160];
    int rc = -1;

    if (!c || latency_quantiles(x, q, 3, pct) < 0) {
        chart_free(c);
        return -1;
    }
    chart_set_log_y(c, true);
    for (size_t k = 0; k < 3; k++)
        add_scaled(c, pct[k].name, CHART_LINES, NULL, &pct[k], 1e3);
    for (size_t i = 0; i < run->ngates && pct[0].n; i++) {
        const struct runinfo_gate *g = &run->gates[i];
        double wrk = NAN;
        const char *which = "";
        if (!g->have_spec)
            continue;
        switch (g->spec.kind) {
        case GATE_P50_LATENCY: wrk = run->measure.p50; which = "p50"; break;
        case GATE_P75_LATENCY: wrk = run->measure.p75; which = "p75"; break;
        case GATE_P90_LATENCY: wrk = run->measure.p90; which = "p90"; break;
        case GATE_P99_LATENCY: wrk = run->measure.p99; which = "p99"; break;
        case GATE_P999_LATENCY: wrk = run->measure.p999; which = "p99.9"; break;
        default: continue;
        }
        gate_title(g, title, sizeof title);
        chart_add_hline(c, title, g->threshold * 1e3, CHART_RED);
        snprintf(title, sizeof title, "wrk %s, measured part: %.3gms", which, wrk * 1e3);
        add_measured(x, c, title, wrk * 1e3);
    }
    rc = finish(x, c, "latency.svg", "Latency percentiles",
                "Percentiles per window from the increase of the service's latency histogram (buckets "
                "interpolated as Prometheus's histogram_quantile does), on a log scale. Latency gates "
                "judge wrk's percentiles of the measured part, which include the network and wrk's own "
                "queueing; both are drawn.",
                "no " LATENCY_BUCKETS " samples");
    for (size_t k = 0; k < 3; k++)
        series_release(&pct[k]);
    return rc;
}

/* out[i] = 100 * num[i] / den[i] where both have a point at the same time. */
static int share_series(const struct series *num, const struct series *den, struct series *out)
{
    memset(out, 0, sizeof *out);
    out->t = malloc((den->n ? den->n : 1) * sizeof *out->t);
    out->v = malloc((den->n ? den->n : 1) * sizeof *out->v);
    if (!out->t || !out->v) {
        series_release(out);
        return -1;
    }
    for (size_t i = 0, j = 0; i < den->n; i++) {
        double part = 0;
        while (j < num->n && num->t[j] < den->t[i])
            j++;
        if (j < num->n && num->t[j] == den->t[i])
            part = num->v[j];
        if (!(den->v[i] > 0))
            continue;
        out->t[out->n] = den->t[i];
        out->v[out->n++] = 100 * part / den->v[i];
    }
    return 0;
}

static int chart_errors(struct ctx *x, struct series rates[CLASSES], bool by_code)
{
    const struct runinfo_gate *gerr = gate_of(x->run, GATE_ERROR_RATE), *grej = gate_of(x->run, GATE_REJECTED_SHARE);
    struct series_set rejected = {0}, enqueued = {0};
    struct series failed = {0}, share = {0}, rrate = {0}, erate = {0}, offered = {0};
    struct chart *c = time_chart(x, "Errors and rejections", "% of requests");
    char title[GATE_MAX_NAME + 160];
    bool any = false;
    int rc = -1;

    if (!c) {
        snprintf(x->err, x->errlen, "out of memory charting errors");
        goto done;
    }
    if (by_code) {
        /* 4xx, 5xx and no-code answers are failures, as wrk counts non-2xx/3xx. */
        struct series_set parts = {.items = &rates[3], .n = 3};
        if (series_sum(&parts, NULL, &failed) < 0 || share_series(&failed, &rates[0], &share) < 0)
            goto oom;
        chart_add_series(c, "answered with 4xx/5xx", CHART_LINES, CHART_RED, share.t, share.v, NULL, NULL, share.n);
        any = series_max(&share) > 0;
        series_release(&share);
    }
    if (samples_load(x->db, x->run->id, QUEUE_REJECTED, NULL, &rejected, x->err, x->errlen) < 0 ||
        samples_load(x->db, x->run->id, QUEUE_ENQUEUED, NULL, &enqueued, x->err, x->errlen) < 0)
        goto done;
    if (rejected.n && enqueued.n) {
        struct series_set both = {.items = NULL, .n = 0};
        struct series pair[2];
        if (counter_rate(x, &rejected, &rrate) < 0 || counter_rate(x, &enqueued, &erate) < 0)
            goto done;
        pair[0] = rrate;
        pair[1] = erate;
        both.items = pair;
        both.n = 2;
        if (series_sum(&both, NULL, &offered) < 0 || share_series(&rrate, &offered, &share) < 0)
            goto oom;
        chart_add_series(c, "jobs rejected by the full queue", CHART_LINES, NULL, share.t, share.v, NULL, NULL,
                         share.n);
        any = any || series_max(&share) > 0;
    }
    if (!any && !gerr && !grej) {
        note_omitted(x, "Errors and rejections", "no request failed and no gate asks about errors");
        rc = 0;
        goto done;
    }
    if (gerr) {
        gate_title(gerr, title, sizeof title);
        chart_add_hline(c, title, gerr->threshold * 100, CHART_RED);
    }
    if (grej) {
        gate_title(grej, title, sizeof title);
        chart_add_hline(c, title, grej->threshold * 100, "#7b241c");
    }
    chart_set_y_from_zero(c, true);
    rc = finish(x, c, "errors.svg", "Errors and rejections",
                "Share of answers that were 4xx/5xx, and share of orders the full queue turned away, per "
                "window. error_rate judges wrk's count over the measured part (socket errors and timeouts "
                "included); rejected_share judges the queue's counters.",
                "no requests counter by status code and no queue counters");
    c = NULL;
    goto done;
oom:
    snprintf(x->err, x->errlen, "out of memory charting errors");
done:
    chart_free(c);
    series_release(&failed);
    series_release(&share);
    series_release(&rrate);
    series_release(&erate);
    series_release(&offered);
    series_set_release(&rejected);
    series_set_release(&enqueued);
    return rc;
}

static bool is_counter(const char *metric)
{
    static const char *const suffixes[] = {"_total", "_count", "_sum", "_bucket"};
    size_t len = strlen(metric);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && strcmp(metric + len - sl, suffixes[i]) == 0)
            return true;
    }
    return false;
}

/* A metric.* gate: its selection over the run. A slope of a counter is its rate, so
 * that is drawn with the threshold as a level; a slope of a gauge gets the fitted
 * trend and the allowed slope; max, last and mean get the threshold as a level. */
static int chart_metric_gate(struct ctx *x, const struct runinfo_gate *g, size_t index)
{
    struct series raw = {0}, rate = {0};
    bool counts = g->spec.agg == GATE_AGG_SLOPE && is_counter(g->spec.selector.metric);
    char title[GATE_MAX_NAME + 160], file[64], caption[512];
    struct chart *c;
    int rc = -1;

    snprintf(title, sizeof title, "Gate %s", g->name);
    c = time_chart(x, title, counts ? "increase per second" : "value (summed over matching series)");
    if (!c || samples_load_selected(x->db, x->run->id, &g->spec.selector, &raw, x->err, x->errlen) < 0)
        goto done;
    if (counts) {
        struct series_set one = {.items = &raw, .n = 1};
        if (counter_rate(x, &one, &rate) < 0)
            goto done;
        snprintf(title, sizeof title, "%s per second", g->spec.selector.metric);
        chart_add_series(c, title, CHART_LINES, NULL, rate.t, rate.v, NULL, NULL, rate.n);
    } else {
        chart_add_series(c, g->spec.selector.metric, CHART_LINES, NULL, raw.t, raw.v, NULL, NULL, raw.n);
    }
    /* The chart's title names the gate; its legend only needs the threshold. */
    snprintf(title, sizeof title, "gate threshold %s", g->threshold_text);
    if (g->spec.agg == GATE_AGG_SLOPE && !counts) {
        double slope, at;
        if (x->have_steady && series_fit(&raw, x->run->steady_from, x->run->steady_to, &slope, &at) == 0) {
            double from = x->run->steady_from, to = x->run->steady_to;
            char trend[96];
            snprintf(trend, sizeof trend, "fitted trend: %+.4g/s", slope);
            chart_add_segment(c, trend, from, at, to, at + slope * (to - from), TREND_COLOR, CHART_DOTTED);
            chart_add_segment(c, title, from, at, to, at + g->threshold * (to - from), CHART_RED, CHART_DASHED);
        }
    } else if (raw.n) {
        chart_add_hline(c, title, g->threshold, CHART_RED);
    }
    snprintf(file, sizeof file, "gate-%zu.svg", index + 1);
    snprintf(caption, sizeof caption, "The series this gate selects, summed over matching labels%s; the gate "
             "judges its %s over the measured part.", counts ? ", as a rate per second" : "",
             g->spec.agg == GATE_AGG_SLOPE ? "slope" : g->spec.agg == GATE_AGG_MAX ? "maximum"
             : g->spec.agg == GATE_AGG_LAST ? "last value" : "mean");
    snprintf(title, sizeof title, "Gate %s", g->name);
    rc = finish(x, c, file, title, caption, "no matching samples");
    c = NULL;
done:
    chart_free(c);
    series_release(&raw);
    series_release(&rate);
    return rc;
}

bool runcharts_has(const struct runcharts *charts, const char *stem)
{
    size_t len = strlen(stem);
    for (size_t i = 0; charts && i < charts->n; i++)
        if (strncmp(charts->charts[i].file, stem, len) == 0 && strcmp(charts->charts[i].file + len, ".svg") == 0)
            return true;
    return false;
}

char *runcharts_chart_for_gate(const struct runinfo *run, size_t i, char *buf, size_t buflen)
{
    const struct runinfo_gate *g = &run->gates[i];
    const char *stem = NULL;

    if (!g->have_spec)
        return NULL;
    switch (g->spec.kind) {
    case GATE_THROUGHPUT: stem = "throughput"; break;
    case GATE_ERROR_RATE: case GATE_REJECTED_SHARE: stem = "errors"; break;
    case GATE_P50_LATENCY: case GATE_P75_LATENCY: case GATE_P90_LATENCY: case GATE_P99_LATENCY:
    case GATE_P999_LATENCY: stem = "latency"; break;
    case GATE_THREAD_GROWTH: stem = "threads"; break;
    case GATE_RSS_GROWTH: stem = "memory"; break;
    case GATE_FD_GROWTH: stem = "fds"; break;
    case GATE_QUEUE_SATURATION: stem = "queue"; break;
    case GATE_MUTEX_WAIT_SHARE: stem = "lockwait"; break;
    case GATE_CPU_PER_REQUEST: return NULL;   /* a figure per run: no time series draws it */
    case GATE_METRIC:
        snprintf(buf, buflen, "gate-%zu", i + 1);
        return buf;
    }
    snprintf(buf, buflen, "%s", stem);
    return buf;
}

int runcharts_queue(struct resultdb *db, const struct runinfo *run, struct gnuplot *gp, const char *dir, bool png,
                    struct runcharts *out, char *err, size_t errlen)
{
    struct ctx x = {.db = db, .run = run, .gp = gp, .dir = dir, .png = png, .out = out, .err = err, .errlen = errlen};
    struct series rates[CLASSES];
    bool by_code = false;
    int rc = -1;

    memset(out, 0, sizeof *out);
    memset(rates, 0, sizeof rates);
    x.have_steady = !isnan(run->steady_from) && !isnan(run->steady_to) && run->steady_to > run->steady_from;
    x.x_hi = !isnan(run->last_t) && run->last_t > 0 ? run->last_t : 1;
    /* Per-second windows read naturally; a coarse scrape needs wider ones to hold two
     * samples, and a very short run narrower ones to show any shape. */
    x.width = 1.0;
    if (!isnan(run->sample_interval_s) && run->sample_interval_s * 2 > x.width)
        x.width = run->sample_interval_s * 2;
    if (x.x_hi < 4 * x.width)
        x.width = x.x_hi / 4;
    if (samples_ticks(db, run->id, &x.ticks, err, errlen) < 0)
        goto done;
    x.start = x.ticks.n ? x.ticks.t[0] : 0;
    if (chart_threads(&x) < 0 || chart_memory(&x) < 0 || chart_fds(&x) < 0 || chart_queue(&x) < 0 ||
        chart_lock_wait(&x) < 0 || chart_block(&x) < 0 || request_rates(&x, rates, &by_code) < 0 ||
        chart_throughput(&x, rates, by_code) < 0 || chart_latency(&x) < 0 || chart_errors(&x, rates, by_code) < 0)
        goto done;
    for (size_t i = 0; i < run->ngates; i++)
        if (run->gates[i].have_spec && run->gates[i].spec.kind == GATE_METRIC &&
            chart_metric_gate(&x, &run->gates[i], i) < 0)
            goto done;
    rc = 0;
done:
    for (size_t k = 0; k < CLASSES; k++)
        series_release(&rates[k]);
    series_release(&x.ticks);
    return rc;
}
