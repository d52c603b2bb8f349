/* requestcharts: the charts of a run's requests. See requestcharts.h.
 *
 * The orderd metric names are the defaults of a service loadlab knows; a service
 * without them simply gets fewer charts (and a line saying which and why). */
#include "report/requestcharts.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/series.h"
#include "report/chart.h"
#include "report/opencharts.h"
#include "store/samples.h"
#include "units.h"

#define QUEUE_REJECTED METRIC_ORDERD_QUEUE_REJECTED
#define QUEUE_ENQUEUED METRIC_ORDERD_QUEUE_ENQUEUED

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
static int request_rates(struct chartctx *x, struct series rates[CLASSES], bool *by_code)
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
        if (chartctx_counter_rate(x, &members, &rates[k]) < 0)
            goto done;
    }
    rc = 0;
done:
    free(members.items);
    series_set_release(&set);
    return rc;
}

static int chart_throughput(struct chartctx *x, struct series rates[CLASSES], bool by_code)
{
    const struct runinfo_gate *g = chartctx_gate_of(x->run, GATE_THROUGHPUT);
    struct chart *c = chartctx_time_chart(x, "Throughput", "requests per second");
    char title[GATE_MAX_NAME + 160], figure[48];
    size_t classes_seen = 0;

    if (!c)
        return chartctx_finish(x, c, "throughput.svg", "Throughput", "", "");
    for (size_t k = 1; k < CLASSES; k++)
        classes_seen += rates[k].n > 0;
    chart_add_series(c, class_names[0], CHART_LINES, NULL, rates[0].t, rates[0].v, NULL, NULL, rates[0].n);
    for (size_t k = 1; k < CLASSES && by_code && classes_seen > 1; k++)
        if (series_max(&rates[k]) > 0) {
            snprintf(title, sizeof title, "%s responses", class_names[k]);
            chart_add_series(c, title, CHART_LINES, k >= 4 ? CHART_RED : NULL, rates[k].t, rates[k].v, NULL,
                             NULL, rates[k].n);
        }
    snprintf(title, sizeof title, "wrk, measured part: %s",
             units_format_rate(x->run->measure.throughput, "req", figure, sizeof figure));
    if (rates[0].n)
        chartctx_add_measured(x, c, title, x->run->measure.throughput);
    if (g && rates[0].n) {
        chartctx_gate_title(g, title, sizeof title);
        chart_add_hline(c, title, g->threshold, CHART_RED);
    }
    chart_set_y_from_zero(c, true);
    return chartctx_finish(x, c, "throughput.svg", "Throughput",
                  "Requests per second the service answered (from its requests counter), by status class "
                  "when there is more than one. The throughput gate judges wrk's average over the measured "
                  "part, drawn as a flat segment.",
                  "no samples of the requests counter");
}

static int chart_latency(struct chartctx *x)
{
    static const double q[] = {0.5, 0.9, 0.99};
    struct series pct[3];
    struct chart *c = chartctx_time_chart(x, "Latency percentiles (service histogram, all routes)", "milliseconds");
    int rc = -1;

    if (!c || chartctx_service_quantiles(x, q, 3, pct) < 0) {
        chart_free(c);
        return -1;
    }
    chart_set_log_y(c, true);
    for (size_t k = 0; k < 3; k++)
        chartctx_add_scaled(c, pct[k].name, CHART_LINES, NULL, &pct[k], 1e3);
    if (pct[0].n)
        chartctx_add_latency_gates(x, c, "wrk");
    rc = chartctx_finish(x, c, "latency.svg", "Latency percentiles",
                "Percentiles per window from the increase of the service's latency histogram (buckets "
                "interpolated as Prometheus's histogram_quantile does), on a log scale. Latency gates "
                "judge wrk's percentiles of the measured part, which include the network and wrk's own "
                "queueing; both are drawn.",
                "no " CHARTCTX_LATENCY_BUCKETS " samples");
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

static int chart_errors(struct chartctx *x, struct series rates[CLASSES], bool by_code)
{
    const struct runinfo_gate *gerr = chartctx_gate_of(x->run, GATE_ERROR_RATE), *grej = chartctx_gate_of(x->run, GATE_REJECTED_SHARE);
    struct series_set rejected = {0}, enqueued = {0};
    struct series failed = {0}, share = {0}, rrate = {0}, erate = {0}, offered = {0};
    struct chart *c = chartctx_time_chart(x, "Errors and rejections", "% of requests");
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
        if (chartctx_counter_rate(x, &rejected, &rrate) < 0 || chartctx_counter_rate(x, &enqueued, &erate) < 0)
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
        chartctx_note_omitted(x, "Errors and rejections", "no request failed and no gate asks about errors");
        rc = 0;
        goto done;
    }
    if (gerr) {
        chartctx_gate_title(gerr, title, sizeof title);
        chart_add_hline(c, title, gerr->threshold * 100, CHART_RED);
    }
    if (grej) {
        chartctx_gate_title(grej, title, sizeof title);
        chart_add_hline(c, title, grej->threshold * 100, "#7b241c");
    }
    chart_set_y_from_zero(c, true);
    rc = chartctx_finish(x, c, "errors.svg", "Errors and rejections",
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

int requestcharts_queue(struct chartctx *x)
{
    struct series rates[CLASSES];
    bool by_code = false;
    int rc = -1, open;

    memset(rates, 0, sizeof rates);
    if (request_rates(x, rates, &by_code) < 0 || chart_throughput(x, rates, by_code) < 0 ||
        (open = opencharts_queue(x)) < 0 || (open == 0 && chart_latency(x) < 0) || chart_errors(x, rates, by_code) < 0)
        goto done;
    rc = 0;
done:
    for (size_t k = 0; k < CLASSES; k++)
        series_release(&rates[k]);
    return rc;
}
