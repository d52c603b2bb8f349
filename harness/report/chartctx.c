/* chartctx: what every chart of a run shares. See chartctx.h. */
#include "report/chartctx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/runpage.h"
#include "store/samples.h"
#include "units.h"

/* Fault intervals; light once made translucent, and none of them the threshold red. */
static const char *const fault_colors[] = {"#e67e22", "#8e44ad", "#16a085", "#2980b9", "#b7950b", "#d35400"};

void chartctx_note_omitted(struct chartctx *x, const char *what, const char *why)
{
    size_t used = strlen(x->out->omitted);
    snprintf(x->out->omitted + used, sizeof x->out->omitted - used, "%s%s (%s)", used ? "; " : "", what, why);
}

/* A time chart with the run's axis, its warmup and its fault intervals. */
struct chart *chartctx_time_chart(struct chartctx *x, const char *title, const char *ylabel)
{
    const struct runinfo *run = x->run;
    struct chart *c = chart_new(title, CHARTCTX_TIME_AXIS, ylabel);

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
int chartctx_finish(struct chartctx *x, struct chart *c, const char *file, const char *title, const char *caption,
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
        chartctx_note_omitted(x, title, why_empty);
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

const struct runinfo_gate *chartctx_gate_of(const struct runinfo *run, enum gate_kind kind)
{
    for (size_t i = 0; i < run->ngates; i++)
        if (run->gates[i].have_spec && run->gates[i].spec.kind == kind)
            return &run->gates[i];
    return NULL;
}

void chartctx_gate_title(const struct runinfo_gate *g, char *out, size_t outlen)
{
    char threshold[GATE_MAX_THRESHOLD_TEXT + 32];
    snprintf(out, outlen, "gate %s %s", g->name, runpage_format_threshold(g, threshold, sizeof threshold));
}

int chartctx_add_scaled(struct chart *c, const char *title, enum chart_style style, const char *color,
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
void chartctx_add_growth(struct chartctx *x, struct chart *c, const struct series *s, enum gate_kind kind,
                         double scale)
{
    const struct runinfo *run = x->run;
    const struct runinfo_gate *g = chartctx_gate_of(run, kind);
    double slope, at, from = run->steady_from, to = run->steady_to;
    char title[GATE_MAX_NAME + 160], rate[64];

    if (!x->have_steady || series_fit(s, from, to, &slope, &at) < 0)
        return;
    if (g)
        gate_format_observed(&g->spec, slope, rate, sizeof rate);
    else if (kind == GATE_RSS_GROWTH)
        units_format_size_rate(slope, rate, sizeof rate);
    else
        units_format_rate(slope, kind == GATE_THREAD_GROWTH ? "threads" : kind == GATE_FD_GROWTH ? "fds" : NULL,
                          rate, sizeof rate);
    snprintf(title, sizeof title, "fitted trend: %s%s", slope > 0 ? "+" : "", rate);
    chart_add_segment(c, title, from, at * scale, to, (at + slope * (to - from)) * scale, CHARTCTX_TREND_COLOR,
                      CHART_DOTTED);
    if (g) {
        chartctx_gate_title(g, title, sizeof title);
        chart_add_segment(c, title, from, at * scale, to, (at + g->threshold * (to - from)) * scale, CHART_RED,
                          CHART_DASHED);
    }
}

/* wrk's figure for the measured part, as a segment across it: what the gate judged. */
void chartctx_add_measured(struct chartctx *x, struct chart *c, const char *title, double value)
{
    const struct runinfo_load *m = &x->run->measure;
    if (!m->present || isnan(value) || isnan(m->started_at))
        return;
    chart_add_segment(c, title, m->started_at, value, m->started_at + m->duration_s, value, CHARTCTX_TREND_COLOR,
                      CHART_DOTTED);
}

/* A counter's per-window rate, the counter taken as zero at scrapes before it
 * appeared. Returns 0, or -1 with err filled. */
int chartctx_counter_rate(struct chartctx *x, const struct series_set *counters, struct series *rate)
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

int chartctx_service_quantiles(struct chartctx *x, const double *q, size_t nq, struct series *out)
{
    struct series_set buckets = {0};
    char why[256];
    int rc = -1;

    for (size_t k = 0; k < nq; k++)
        memset(&out[k], 0, sizeof out[k]);
    if (samples_load(x->db, x->run->id, CHARTCTX_LATENCY_BUCKETS, "le", &buckets, x->err, x->errlen) < 0)
        return -1;
    if (series_quantiles(&buckets, x->start, x->width, q, nq, out, why, sizeof why) < 0)
        snprintf(x->err, x->errlen, "%s: %s", CHARTCTX_LATENCY_BUCKETS, why);
    else
        rc = 0;
    series_set_release(&buckets);
    return rc;
}

void chartctx_add_latency_gates(struct chartctx *x, struct chart *c, const char *who)
{
    const struct runinfo *run = x->run;
    char title[GATE_MAX_NAME + 160], figure[48];

    for (size_t i = 0; i < run->ngates; i++) {
        const struct runinfo_gate *g = &run->gates[i];
        double measured = NAN;
        const char *which = "";
        if (!g->have_spec)
            continue;
        switch (g->spec.kind) {
        case GATE_P50_LATENCY: measured = run->measure.p50; which = "p50"; break;
        case GATE_P75_LATENCY: measured = run->measure.p75; which = "p75"; break;
        case GATE_P90_LATENCY: measured = run->measure.p90; which = "p90"; break;
        case GATE_P99_LATENCY: measured = run->measure.p99; which = "p99"; break;
        case GATE_P999_LATENCY: measured = run->measure.p999; which = "p99.9"; break;
        default: continue;
        }
        chartctx_gate_title(g, title, sizeof title);
        chart_add_hline(c, title, g->threshold * 1e3, CHART_RED);
        /* A windowed gate judged its worst window, which the per-second lines show;
         * the whole part's figure is not what it judged. */
        if (g->spec.window_ns > 0)
            continue;
        snprintf(title, sizeof title, "%s %s, measured part: %s", who, which,
                 units_format_seconds(measured, figure, sizeof figure));
        chartctx_add_measured(x, c, title, measured * 1e3);
    }
}
