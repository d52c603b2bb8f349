/* opencharts: an open-model run's latency and rate charts. See opencharts.h.
 *
 * Each stored window is one second of the schedule; its point is drawn at the middle
 * of that second on the run's clock, so a fault's shaded interval covers the windows
 * it affected. The warmup's windows are drawn too (under the warmup's grey band), as
 * wrk's load is on the service's charts. */
#include "report/opencharts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/latency_hist.h"
#include "report/chart.h"
#include "store/openloads.h"
#include "units.h"

/* The per-second series of the generator's windows. */
enum { P50, P99, MAX, SCHEDULED, COMPLETED, DROPPED, ERRORS, NSERIES };

static const char *const stages[] = {"warmup", "measure"};

/* Appends the windows of one stage to s (latencies in milliseconds). Sets *any when
 * the stage has a window. Returns 0, or -1 with err filled. */
static int load_stage(struct chartctx *x, const char *stage, struct latency_hist *h, struct series s[NSERIES],
                      bool *any)
{
    struct openloads_window *w = NULL;
    size_t n = 0;
    int rc = -1;

    if (openloads_windows(x->db, x->run->id, stage, &w, &n, x->err, x->errlen) < 0)
        return -1;
    *any = *any || n > 0;
    for (size_t i = 0; i < n; i++) {
        double t = w[i].t + 0.5;
        if (series_push(&s[SCHEDULED], t, (double)w[i].scheduled) < 0 ||
            series_push(&s[COMPLETED], t, (double)w[i].completed) < 0 ||
            series_push(&s[DROPPED], t, (double)w[i].dropped) < 0 ||
            series_push(&s[ERRORS], t, (double)w[i].errors) < 0)
            goto oom;
        if (!w[i].latency)
            continue;
        latency_hist_reset(h);
        if (latency_hist_merge_serialized(h, w[i].latency, w[i].latency_len, x->err, x->errlen) < 0)
            goto done;
        if (latency_hist_count(h) == 0)
            continue;
        if (series_push(&s[P50], t, (double)latency_hist_percentile(h, 50) / 1e3) < 0 ||
            series_push(&s[P99], t, (double)latency_hist_percentile(h, 99) / 1e3) < 0 ||
            series_push(&s[MAX], t, (double)latency_hist_max(h) / 1e3) < 0)
            goto oom;
    }
    rc = 0;
    goto done;
oom:
    snprintf(x->err, x->errlen, "out of memory charting the open-model load");
done:
    openloads_windows_free(w, n);
    return rc;
}

static int chart_latency(struct chartctx *x, struct series s[NSERIES])
{
    static const double q[] = {0.99};
    struct series service = {0};
    struct chart *c = chartctx_time_chart(x, "Latency per second (load generator, from the scheduled send)",
                                          "milliseconds");
    char caption[512];
    int rc;

    if (!c || chartctx_service_quantiles(x, q, 1, &service) < 0) {
        chart_free(c);
        return -1;
    }
    chart_set_log_y(c, true);
    chart_add_series(c, "client p50", CHART_LINES, NULL, s[P50].t, s[P50].v, NULL, NULL, s[P50].n);
    chart_add_series(c, "client p99", CHART_LINES, NULL, s[P99].t, s[P99].v, NULL, NULL, s[P99].n);
    chart_add_series(c, "client max", CHART_LINES, NULL, s[MAX].t, s[MAX].v, NULL, NULL, s[MAX].n);
    if (service.n)
        chartctx_add_scaled(c, "service p99 (its histogram)", CHART_LINES, CHART_GREY, &service, 1e3);
    if (s[P50].n)
        chartctx_add_latency_gates(x, c, "open-model load");
    snprintf(caption, sizeof caption,
             "The load generator's latency percentiles of each second, measured from the time each request was "
             "scheduled to be sent, so a stall counts for every request that should have gone out during it; on a "
             "log scale. Grey: the p99 the service's own histogram saw, which leaves out the time requests waited "
             "to be sent.%s",
             x->run->behind_schedule ? " The generator fell behind its schedule in this run: these latencies are "
                                       "unreliable." : "");
    rc = chartctx_finish(x, c, OPENCHARTS_LATENCY ".svg", "Latency per second (open model)", caption,
                         "no window of the open-model load completed a request");
    series_release(&service);
    return rc;
}

static int chart_rate(struct chartctx *x, struct series s[NSERIES])
{
    struct chart *c = chartctx_time_chart(x, "Intended and achieved request rate", "requests per second");
    char title[160], figure[48];

    if (!c)
        return chartctx_finish(x, c, OPENCHARTS_RATE ".svg", "Request rate", "", "");
    /* Achieved first, so the intended rate stays visible on top where they agree;
     * a count that stayed at zero says so in the legend. */
    chart_add_series(c, "achieved (completed)", CHART_LINES, NULL, s[COMPLETED].t, s[COMPLETED].v, NULL, NULL,
                     s[COMPLETED].n);
    chart_add_series(c, "intended (scheduled)", CHART_LINES, CHART_GREY, s[SCHEDULED].t, s[SCHEDULED].v, NULL,
                     NULL, s[SCHEDULED].n);
    chart_add_series(c, series_max(&s[ERRORS]) > 0 ? "errors" : "errors: none", CHART_LINES, CHART_RED,
                     s[ERRORS].t, s[ERRORS].v, NULL, NULL, s[ERRORS].n);
    chart_add_series(c, series_max(&s[DROPPED]) > 0 ? "dropped (past max_in_flight)" : "dropped: none",
                     CHART_LINES, "#8e44ad", s[DROPPED].t, s[DROPPED].v, NULL, NULL, s[DROPPED].n);
    if (x->run->measure.present && !isnan(x->run->measure.throughput)) {
        snprintf(title, sizeof title, "achieved, measured part: %s",
                 units_format_rate(x->run->measure.throughput, "req", figure, sizeof figure));
        chartctx_add_measured(x, c, title, x->run->measure.throughput);
    }
    chart_set_y_from_zero(c, true);
    return chartctx_finish(x, c, OPENCHARTS_RATE ".svg", "Request rate (open model)",
                           "Requests per second the schedule asked for (grey), that completed, that were "
                           "dropped because max_in_flight requests were already waiting or in flight, and that "
                           "failed. Achieved below intended means the service (or the generator) could not keep "
                           "up; every request scheduled is completed, failed or dropped. dropped_share judges "
                           "the dropped over the scheduled of the measured part.",
                           "no window of the open-model load");
}

int opencharts_queue(struct chartctx *x)
{
    struct series s[NSERIES];
    struct latency_hist *h = latency_hist_new();
    bool any = false;
    int rc = -1;

    memset(s, 0, sizeof s);
    if (!h) {
        snprintf(x->err, x->errlen, "out of memory charting the open-model load");
        return -1;
    }
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
        if (load_stage(x, stages[i], h, s, &any) < 0)
            goto done;
    if (!any) {
        rc = 0;
        goto done;
    }
    if (chart_latency(x, s) < 0 || chart_rate(x, s) < 0)
        goto done;
    rc = 1;
done:
    for (size_t k = 0; k < NSERIES; k++)
        series_release(&s[k]);
    latency_hist_free(h);
    return rc;
}
