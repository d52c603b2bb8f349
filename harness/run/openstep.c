/* openstep: the open-model load as a step of a run. See openstep.h. */
#include "run/openstep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/openloads.h"
#include "units.h"

/* A window is complete this long after its end (openload_window_latency). */
#define WINDOW_SETTLE_NS (60 * 1000000LL)
/* Past the drain deadline, the generator is waited for regardless. */
#define DRAIN_SLACK_NS 1000000000LL

int openstep_start(struct openstep *s, const struct scenario *sc, const char *public_base, int64_t duration_ns,
                   int64_t t0_ns, double *started_at, char *err, size_t errlen)
{
    struct openload_config *cfg;
    char target[128], why[400];

    openstep_close(s);
    if (scenario_open_target(public_base, target, sizeof target) < 0) {
        snprintf(err, errlen, "open model: the service's url %s is not http://HOST:PORT", public_base);
        return -1;
    }
    if (!(cfg = scenario_open_config(sc, target, duration_ns, why, sizeof why))) {
        snprintf(err, errlen, "%s: [load] %s", sc->file, why);
        return -1;
    }
    s->ol = openload_start(cfg, why, sizeof why);
    openload_config_free(cfg);
    if (!s->ol) {
        snprintf(err, errlen, "open model: %s", why);
        return -1;
    }
    s->running = true;
    s->start_ns = openload_start_time(s->ol);
    s->end_ns = s->start_ns + duration_ns;
    s->timeout_ns = sc->timeout_ns;
    s->planned = 0;
    {
        struct openload_totals t;
        openload_progress(s->ol, &t);
        s->planned = (uint64_t)(t.asked_rate * (double)duration_ns / 1e9);
    }
    *started_at = (double)(s->start_ns - t0_ns) / 1e9;
    return 0;
}

void openstep_stop(struct openstep *s)
{
    if (!s->running || s->stopped)
        return;
    openload_stop(s->ol);
    s->stopped = true;
    s->stop_ns = units_now_ns();
}

static void drop_windows(struct openstep *s)
{
    for (size_t i = 0; s->blobs && i < s->nwindows; i++)
        free(s->blobs[i]);
    free(s->blobs);
    free(s->windows);
    s->blobs = NULL;
    s->windows = NULL;
    s->nwindows = s->cap = 0;
}

bool openstep_poll(struct openstep *s)
{
    int64_t now = units_now_ns(), end = s->stopped && s->stop_ns < s->end_ns ? s->stop_ns : s->end_ns;

    if (!s->running)
        return false;
    if (now < end || (!openload_finished(s->ol) && now < end + s->timeout_ns + DRAIN_SLACK_NS))
        return false;
    s->result = openload_wait(s->ol, s->failure, sizeof s->failure);
    s->ol = NULL;
    s->running = false;
    if (!s->result && !s->failure[0])
        snprintf(s->failure, sizeof s->failure, "open model: no result");
    return true;
}

/* The collected stage's windows as the gates see them, borrowing the result's. */
static int windows_of_result(struct openstep *s)
{
    size_t n = openload_result_window_count(s->result);

    drop_windows(s);
    if (!(s->windows = calloc(n ? n : 1, sizeof *s->windows)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct openload_window *w = openload_result_window(s->result, i);
        s->windows[i] = (struct gate_window){.scheduled = w->scheduled, .completed = w->completed,
                                             .errors = w->errors, .dropped = w->dropped,
                                             .latency = w->latency, .latency_len = w->latency_len};
    }
    s->nwindows = n;
    return 0;
}

static double pct_s(const struct latency_hist *h, double pct)
{
    return latency_hist_count(h) ? (double)latency_hist_percentile(h, pct) / 1e6 : NAN;
}

/* The stage as wrk's figures: throughput is completed over the schedule's length. */
static void as_wrk(const struct openload_result *r, struct wrkres *res)
{
    const struct openload_totals *t = openload_result_totals(r);
    const struct latency_hist *h = openload_result_latency(r);

    memset(res, 0, sizeof *res);
    res->duration_s = t->duration_s;
    res->requests = t->completed;
    res->errors_connect = t->error_connect;
    res->errors_read = t->error_io + t->error_protocol + t->error_too_large;
    res->errors_timeout = t->error_timeout;
    res->errors_status = t->status_other;
    res->latency_min = latency_hist_count(h) ? (double)latency_hist_min(h) / 1e6 : NAN;
    res->latency_mean = latency_hist_count(h) ? latency_hist_mean(h) / 1e6 : NAN;
    res->latency_stdev = NAN;
    res->latency_max = latency_hist_count(h) ? (double)latency_hist_max(h) / 1e6 : NAN;
    res->latency_p50 = pct_s(h, 50);
    res->latency_p75 = pct_s(h, 75);
    res->latency_p90 = pct_s(h, 90);
    res->latency_p99 = pct_s(h, 99);
    res->latency_p999 = pct_s(h, 99.9);
}

static int record(struct openstep *s, struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                  const struct wrkres *res, char *err, size_t errlen)
{
    const struct openload_totals *t = openload_result_totals(s->result);
    const struct latency_hist *lag = openload_result_send_lag(s->result);
    struct openloads_stage row = {
        .stage = stage, .started_at = started_at, .duration_s = t->duration_s, .asked_rate = t->asked_rate,
        .achieved_rate = t->achieved_rate, .scheduled = t->scheduled, .completed = t->completed,
        .errors = t->errors, .dropped = t->dropped, .waited = t->waited, .send_lag_p99_s = pct_s(lag, 99),
        .send_lag_max_s = latency_hist_count(lag) ? (double)latency_hist_max(lag) / 1e6 : NAN,
        .lag_limit_s = (double)t->lag_limit_us / 1e6, .behind_schedule = t->behind_schedule,
        .p50_s = res->latency_p50, .p90_s = res->latency_p90, .p99_s = res->latency_p99,
        .p999_s = res->latency_p999, .max_s = res->latency_max,
    };
    size_t n = openload_result_window_count(s->result);
    struct openloads_window *w = calloc(n ? n : 1, sizeof *w);
    uint8_t *whole = NULL;
    int rc = -1;

    if (!w || latency_hist_serialize(openload_result_latency(s->result), &whole, &row.latency_len) < 0) {
        snprintf(err, errlen, "out of memory recording the open load");
        goto done;
    }
    row.latency = whole;
    for (size_t i = 0; i < n; i++) {
        const struct openload_window *ow = openload_result_window(s->result, i);
        w[i] = (struct openloads_window){.second = ow->start_s, .scheduled = ow->scheduled,
                                         .completed = ow->completed, .errors = ow->errors, .dropped = ow->dropped,
                                         .latency = ow->latency, .latency_len = ow->latency_len};
    }
    if (openloads_record(db, run_id, &row, err, errlen) < 0 ||
        openloads_record_windows(db, run_id, stage, started_at, w, n, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    free(whole);
    free(w);  /* the histograms are the result's */
    return rc;
}

int openstep_finish(struct openstep *s, struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                    struct wrkres *res, char *note, size_t notelen, char *err, size_t errlen)
{
    const struct openload_totals *t;

    note[0] = '\0';
    if (!s->result) {
        snprintf(err, errlen, "%s", s->failure);
        return -1;
    }
    t = openload_result_totals(s->result);
    as_wrk(s->result, res);
    if (record(s, db, run_id, stage, started_at, res, err, errlen) < 0)
        return -1;
    if (windows_of_result(s) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (t->behind_schedule)
        snprintf(note, notelen, "%s: the load generator fell behind its schedule (send-lag p99 %.0fus > %lldus): "
                 "its latency figures are unreliable", stage, pct_s(openload_result_send_lag(s->result), 99) * 1e6,
                 (long long)t->lag_limit_us);
    return 0;
}

/* Appends the windows completed since the last call (live, from the generator). */
static int take_live_windows(struct openstep *s)
{
    int64_t now = units_now_ns();
    char why[200];

    if (!s->scratch && !(s->scratch = latency_hist_new()))
        return -1;
    while (s->start_ns + (int64_t)(s->nwindows + 1) * 1000000000LL + WINDOW_SETTLE_NS <= now &&
           s->nwindows < (size_t)GATE_MAX_WINDOW_S * 1000) {
        uint8_t *blob = NULL;
        size_t len = 0;
        if (s->nwindows == s->cap) {
            size_t ncap = s->cap ? s->cap * 2 : 64;
            struct gate_window *w = realloc(s->windows, ncap * sizeof *w);
            uint8_t **b = w ? realloc(s->blobs, ncap * sizeof *b) : NULL;
            if (w)
                s->windows = w;
            if (!b)
                return -1;
            s->blobs = b;
            s->cap = ncap;
        }
        latency_hist_reset(s->scratch);
        if (openload_window_latency(s->ol, s->nwindows, s->scratch, why, sizeof why) < 0 ||
            (latency_hist_count(s->scratch) && latency_hist_serialize(s->scratch, &blob, &len) < 0))
            return -1;
        s->blobs[s->nwindows] = blob;
        s->windows[s->nwindows] = (struct gate_window){.completed = latency_hist_count(s->scratch),
                                                       .latency = blob, .latency_len = len};
        s->nwindows++;
    }
    return 0;
}

const struct gate_spec *openstep_lost_gate(struct openstep *s, const struct scenario *sc, struct gate_result *g)
{
    struct openload_totals t;
    struct gate_inputs in = {.open = true};
    bool any = false;

    if (!s->running)
        return NULL;
    for (size_t i = 0; i < sc->ngates; i++)
        any |= sc->gates[i].abort_on_fail;
    if (!any || take_live_windows(s) < 0)
        return NULL;
    openload_progress(s->ol, &t);
    in.scheduled = t.scheduled;
    in.dropped = t.dropped;
    in.windows = s->windows;
    in.nwindows = s->nwindows;
    for (size_t i = 0; i < sc->ngates; i++)
        if (gate_lost_early(&sc->gates[i], &in, s->planned, g))
            return &sc->gates[i];
    return NULL;
}

void openstep_gate_inputs(const struct openstep *s, struct gate_inputs *in)
{
    const struct openload_totals *t;

    if (!s->result)
        return;
    t = openload_result_totals(s->result);
    in->open = true;
    in->scheduled = t->scheduled;
    in->dropped = t->dropped;
    in->windows = s->windows;
    in->nwindows = s->nwindows;
}

void openstep_close(struct openstep *s)
{
    if (s->running) {
        char why[200];
        openload_stop(s->ol);
        openload_result_free(openload_wait(s->ol, why, sizeof why));
    }
    drop_windows(s);
    openload_result_free(s->result);
    latency_hist_free(s->scratch);
    memset(s, 0, sizeof *s);
}
