/* runcharts: one run's charts — here those of the service's resources (threads,
 * memory, fds, queue, lock wait, blocking) and of metric.* gates; the requests' are in
 * requestcharts.c, what they share in chartctx.c. See runcharts.h.
 *
 * The orderd metric names are the defaults of a service loadlab knows; a service
 * without them simply gets fewer charts (and a line saying which and why). */
#include "report/runcharts.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/chart.h"
#include "report/chartctx.h"
#include "report/opencharts.h"
#include "report/requestcharts.h"
#include "report/runpage.h"
#include "base/series.h"
#include "store/samples.h"
#include "units.h"

#define THREADS_BY_ROLE METRIC_ORDERD_THREADS
#define LEAKED_BYTES METRIC_ORDERD_LEAKED_BYTES
#define QUEUE_DEPTH METRIC_ORDERD_QUEUE_DEPTH
#define QUEUE_CAPACITY METRIC_ORDERD_QUEUE_CAPACITY
#define MUTEX_WAIT METRIC_ORDERD_MUTEX_WAIT
#define BLOCK_SECONDS METRIC_ORDERD_BLOCK_SECONDS
#define BLOCK_IDLE_SITE "queue_pop"     /* orderd's idle wait, before it labelled it so */
#define MIB (1024.0 * 1024.0)            /* the "MB" of units_format_size and of gates */

/* The first metric of the pair that the run has, loaded as one series. */
static int load_first(struct chartctx *x, const char *a, const char *b, struct series_set *set, const char **which)
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

static int chart_threads(struct chartctx *x)
{
    struct series_set total = {0}, roles = {0};
    struct chart *c = chartctx_time_chart(x, "Threads", "threads");
    const char *which;
    char title[300];
    int rc = -1;

    if (!c || load_first(x, GATE_PROC_THREADS, METRIC_PROCESS_THREADS, &total, &which) < 0 ||
        samples_load(x->db, x->run->id, THREADS_BY_ROLE, "role", &roles, x->err, x->errlen) < 0)
        goto done;
    if (total.n) {
        snprintf(title, sizeof title, "all threads%s", strcmp(which,
            GATE_PROC_THREADS) == 0 ? "" : " (" METRIC_PROCESS_THREADS ")");
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
        chartctx_add_growth(x, c, &total.items[0], GATE_THREAD_GROWTH, 1);
    chart_set_y_integer(c, true);
    rc = chartctx_finish(x, c, "threads.svg", "Threads",
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

static int chart_memory(struct chartctx *x)
{
    struct series_set rss = {0}, leaked = {0};
    struct chart *c = chartctx_time_chart(x, "Resident memory", "MB (1024 x 1024 bytes)");
    const char *which;
    char title[300];
    int rc = -1;

    if (!c || load_first(x, GATE_PROC_RSS, METRIC_PROCESS_RSS, &rss, &which) < 0 ||
        samples_load(x->db, x->run->id, LEAKED_BYTES, NULL, &leaked, x->err, x->errlen) < 0)
        goto done;
    if (rss.n) {
        snprintf(title, sizeof title, "resident memory%s",
                 strcmp(which, GATE_PROC_RSS) == 0 ? "" : " (" METRIC_PROCESS_RSS ")");
        chartctx_add_scaled(c, title, CHART_LINES, NULL, &rss.items[0], 1 / MIB);
        chartctx_add_growth(x, c, &rss.items[0], GATE_RSS_GROWTH, 1 / MIB);
    }
    if (leaked.n && series_max(&leaked.items[0]) > 0)
        chartctx_add_scaled(c, "held by the leak fault", CHART_LINES, NULL, &leaked.items[0], 1 / MIB);
    rc = chartctx_finish(x, c, "memory.svg", "Resident memory",
                "Resident set size of the service in MB (binary, as in gates: 1MB = 1024 x 1024 bytes). rss_growth judges the least-squares slope over "
                "the measured part; a leak shows as a steady climb above the allowed slope.",
                "no resident memory was sampled");
    c = NULL;
done:
    chart_free(c);
    series_set_release(&rss);
    series_set_release(&leaked);
    return rc;
}

static int chart_fds(struct chartctx *x)
{
    struct series_set fds = {0};
    struct chart *c = chartctx_time_chart(x, "Open file descriptors", "file descriptors");
    const char *which;
    char title[300];
    int rc = -1;

    if (!c || load_first(x, GATE_PROC_FDS, METRIC_PROCESS_OPEN_FDS, &fds, &which) < 0)
        goto done;
    if (fds.n) {
        snprintf(title, sizeof title, "open fds%s", strcmp(which,
            GATE_PROC_FDS) == 0 ? "" : " (" METRIC_PROCESS_OPEN_FDS ")");
        chart_add_series(c, title, CHART_STEPS, NULL, fds.items[0].t, fds.items[0].v, NULL, NULL, fds.items[0].n);
        chartctx_add_growth(x, c, &fds.items[0], GATE_FD_GROWTH, 1);
    }
    chart_set_y_integer(c, true);
    rc = chartctx_finish(x, c, "fds.svg", "Open file descriptors",
                "File descriptors the service holds (sockets, files). A descriptor leak climbs with the "
                "load; fd_growth judges the slope over the measured part.",
                "no open-fd count was sampled");
    c = NULL;
done:
    chart_free(c);
    series_set_release(&fds);
    return rc;
}

static int chart_queue(struct chartctx *x)
{
    struct series_set depth = {0}, capacity = {0};
    const struct runinfo_gate *g = chartctx_gate_of(x->run, GATE_QUEUE_SATURATION);
    struct chart *c = chartctx_time_chart(x, "Work queue depth against capacity", "jobs queued");
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
            char threshold[GATE_MAX_THRESHOLD_TEXT + 32];
            snprintf(title, sizeof title, "%.0f%% of capacity (gate %s %s)", GATE_SATURATION_FRACTION * 100,
                     g->name, runpage_format_threshold(g, threshold, sizeof threshold));
            chart_add_hline(c, title, GATE_SATURATION_FRACTION * series_max(&capacity.items[0]), CHART_RED);
        }
    }
    chart_set_y_from_zero(c, true);
    chart_set_y_integer(c, true);
    rc = chartctx_finish(x, c, "queue.svg", "Work queue depth",
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

/* Whether a block site is idle waiting (workers waiting for work): orderd says so in
 * the wait="idle" label; a run recorded before that label has queue_pop alone. */
static bool block_site_idle(struct chartctx *x, const char *site)
{
    struct series idle = {0};
    char labels[SERIES_MAX_NAME + 32];
    bool found;

    snprintf(labels, sizeof labels, "{site=\"%s\",wait=\"idle\"}", site);
    if (samples_load_sum(x->db, x->run->id, BLOCK_SECONDS, labels, &idle, x->err, x->errlen) < 0)
        return strcmp(site, BLOCK_IDLE_SITE) == 0;
    found = idle.n > 0;
    series_release(&idle);
    if (found)
        return true;
    snprintf(labels, sizeof labels, "{site=\"%s\",wait=\"delay\"}", site);
    if (samples_load_sum(x->db, x->run->id, BLOCK_SECONDS, labels, &idle, x->err, x->errlen) < 0)
        return false;
    found = idle.n > 0;
    series_release(&idle);
    return !found && strcmp(site, BLOCK_IDLE_SITE) == 0;
}

/* What rates_by_label leaves out of a chart and sums apart (idle waiting). */
struct set_aside {
    bool (*skip)(struct chartctx *x, const char *name);
    double seconds_per_second;   /* mean over the run of the series left out; NaN: none */
    char names[256];             /* theirs, comma-separated */
};

/* One line per label value of a seconds counter, as seconds per second, plus the sum
 * when more than one is drawn (or when none moved, so a flat zero still shows). With
 * aside, the values its skip names are left out of lines and sum alike, and their
 * mean rate is put in aside. */
static int rates_by_label(struct chartctx *x, struct chart *c, const char *metric, const char *label,
                          const char *prefix, const char *total_title, struct set_aside *aside, bool *any)
{
    struct series_set set = {0}, kept = {0};
    struct series *rates = NULL, total = {0};
    bool *skipped = NULL;
    size_t moved = 0;
    char title[SERIES_MAX_NAME + 64];
    int rc = -1;

    *any = false;
    if (aside) {
        aside->seconds_per_second = NAN;
        aside->names[0] = '\0';
    }
    if (samples_load(x->db, x->run->id, metric, label, &set, x->err, x->errlen) < 0)
        return -1;
    if (set.n == 0) {
        rc = 0;
        goto done;
    }
    *any = true;
    rates = calloc(set.n, sizeof *rates);
    skipped = calloc(set.n, sizeof *skipped);
    kept.items = calloc(set.n, sizeof *kept.items);
    if (!rates || !skipped || !kept.items) {
        snprintf(x->err, x->errlen, "out of memory charting %s", metric);
        goto done;
    }
    for (size_t i = 0; i < set.n; i++) {
        struct series_set one = {.items = &set.items[i], .n = 1};
        if (chartctx_counter_rate(x, &one, &rates[i]) < 0)
            goto done;
        skipped[i] = aside && aside->skip(x, set.items[i].name);
        if (skipped[i]) {
            size_t used = strlen(aside->names);
            double sum = 0;
            size_t n = 0;
            for (size_t k = 0; k < rates[i].n; k++)
                if (!isnan(rates[i].v[k]))
                    sum += rates[i].v[k], n++;
            if (n)
                aside->seconds_per_second = (isnan(aside->seconds_per_second) ? 0 : aside->seconds_per_second) + sum / (double)n;
            snprintf(aside->names + used, sizeof aside->names - used, "%s%s", used ? ", " : "", set.items[i].name);
            continue;
        }
        kept.items[kept.n++] = set.items[i];
        moved += series_max(&rates[i]) > 0;
    }
    /* The total goes first, underneath: where one line carries it all, that line
     * stays visible on top of the total instead of hidden under it. */
    if (moved != 1) {
        if (kept.n == 0) {
            /* Only idle waiting: a flat zero says nothing was held up. */
            if (samples_ticks(x->db, x->run->id, &total, x->err, x->errlen) < 0)
                goto done;
        } else if (chartctx_counter_rate(x, &kept, &total) < 0) {
            goto done;
        }
        chart_add_series(c, total_title, CHART_LINES, CHARTCTX_TREND_COLOR, total.t, total.v, NULL, NULL, total.n);
    }
    for (size_t i = 0; i < set.n; i++)
        if (!skipped[i] && series_max(&rates[i]) > 0) {
            snprintf(title, sizeof title, "%s %s", prefix, set.items[i].name);
            chart_add_series(c, title, CHART_LINES, NULL, rates[i].t, rates[i].v, NULL, NULL, rates[i].n);
        }
    rc = 0;
done:
    for (size_t i = 0; rates && i < set.n; i++)
        series_release(&rates[i]);
    free(rates);
    free(skipped);
    free(kept.items);
    series_release(&total);
    series_set_release(&set);
    return rc;
}

static int chart_lock_wait(struct chartctx *x)
{
    const struct runinfo_gate *g = chartctx_gate_of(x->run, GATE_MUTEX_WAIT_SHARE);
    struct chart *c = chartctx_time_chart(x, "Lock wait per named lock", "seconds waited per second");
    char title[GATE_MAX_NAME + 160];
    bool any;

    if (!c || rates_by_label(x, c, MUTEX_WAIT, "lock", "lock", "all locks", NULL, &any) < 0) {
        chart_free(c);
        return -1;
    }
    if (any && g) {
        chartctx_gate_title(g, title, sizeof title);
        chart_add_hline(c, title, g->threshold, CHART_RED);
    }
    chart_set_y_from_zero(c, true);
    return chartctx_finish(x, c, "lockwait.svg", "Lock wait",
                  "Seconds threads spent waiting for each named lock, per second (1.0 = one thread "
                  "waiting all the time). Locks that never made anyone wait are left out. "
                  "mutex_wait_share judges the sum over all locks across the measured part.",
                  "no " MUTEX_WAIT " samples");
}

static int chart_block(struct chartctx *x)
{
    struct chart *c = chartctx_time_chart(x, "Blocked time that delays work", "seconds blocked per second");
    struct set_aside idle = {.skip = block_site_idle};
    char caption[1024], rate[32];
    bool any;

    if (!c || rates_by_label(x, c, BLOCK_SECONDS, "site", "site", "all blocking that delays work", &idle, &any) < 0) {
        chart_free(c);
        return -1;
    }
    chart_set_y_from_zero(c, true);
    snprintf(caption, sizeof caption,
             "Seconds threads spent blocked per second at each site where blocking holds work up (a producer "
             "blocked on a full queue: queue_push_blocking; a stalled worker: worker_process); 1.0 = one thread "
             "blocked all the time. Idle waiting for work is not blocking and is left out%s%s%s%s.",
             idle.names[0] ? ": " : "", idle.names, isnan(idle.seconds_per_second) ? "" : " averaged ",
             isnan(idle.seconds_per_second) ? "" : units_format_seconds_per_second(idle.seconds_per_second, rate, sizeof rate));
    return chartctx_finish(x, c, "block.svg", "Blocked time that delays work", caption, "no " BLOCK_SECONDS " samples");
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
static int chart_metric_gate(struct chartctx *x, const struct runinfo_gate *g, size_t index)
{
    struct series raw = {0}, rate = {0};
    bool counts = g->spec.agg == GATE_AGG_SLOPE && is_counter(g->spec.selector.metric);
    char title[GATE_MAX_NAME + 160], file[64], caption[512];
    struct chart *c;
    int rc = -1;

    snprintf(title, sizeof title, "Gate %s", g->name);
    c = chartctx_time_chart(x, title, counts ? "increase per second" : "value (summed over matching series)");
    if (!c || samples_load_selected(x->db, x->run->id, &g->spec.selector, &raw, x->err, x->errlen) < 0)
        goto done;
    if (counts) {
        struct series_set one = {.items = &raw, .n = 1};
        if (chartctx_counter_rate(x, &one, &rate) < 0)
            goto done;
        snprintf(title, sizeof title, "%s per second", g->spec.selector.metric);
        chart_add_series(c, title, CHART_LINES, NULL, rate.t, rate.v, NULL, NULL, rate.n);
    } else {
        chart_add_series(c, g->spec.selector.metric, CHART_LINES, NULL, raw.t, raw.v, NULL, NULL, raw.n);
    }
    /* The chart's title names the gate; its legend only needs the threshold. */
    {
        char threshold[GATE_MAX_THRESHOLD_TEXT + 32];
        snprintf(title, sizeof title, "gate threshold %s", runpage_format_threshold(g, threshold, sizeof threshold));
    }
    if (g->spec.agg == GATE_AGG_SLOPE && !counts) {
        double slope, at;
        if (x->have_steady && series_fit(&raw, x->run->steady_from, x->run->steady_to, &slope, &at) == 0) {
            double from = x->run->steady_from, to = x->run->steady_to;
            char trend[96], per_second[64];
            snprintf(trend, sizeof trend, "fitted trend: %s%s", slope > 0 ? "+" : "",
                     gate_format_observed(&g->spec, slope, per_second, sizeof per_second));
            chart_add_segment(c, trend, from, at, to, at + slope * (to - from), CHARTCTX_TREND_COLOR, CHART_DOTTED);
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
    rc = chartctx_finish(x, c, file, title, caption, "no matching samples");
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
    case GATE_INSTRUCTIONS_PER_REQUEST: return NULL;
    case GATE_GOROUTINE_GROWTH: return NULL;  /* no goroutine chart yet */
    case GATE_DROPPED_SHARE: stem = OPENCHARTS_RATE; break;
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
    struct chartctx x = {.db = db, .run = run, .gp = gp, .dir = dir, .png = png, .out = out, .err = err, .errlen = errlen};
    int rc = -1;

    memset(out, 0, sizeof *out);
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
        chart_lock_wait(&x) < 0 || chart_block(&x) < 0 || requestcharts_queue(&x) < 0)
        goto done;
    for (size_t i = 0; i < run->ngates; i++)
        if (run->gates[i].have_spec && run->gates[i].spec.kind == GATE_METRIC &&
            chart_metric_gate(&x, &run->gates[i], i) < 0)
            goto done;
    rc = 0;
done:
    series_release(&x.ticks);
    return rc;
}
