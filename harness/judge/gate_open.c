/* gate, open model: windowed latency gates and dropped_share, judged on the per-second
 * windows and totals of an open-model load. See gate.h.
 *
 * A window gate merges the latency histograms of W consecutive seconds (exactly: the
 * histograms add) and takes the percentile of the merge, for every such run of
 * seconds; the worst one is the observed value. A percentile of a merge, not a mean of
 * per-second percentiles, so a stall of two seconds inside a ten-second window weighs
 * what its requests weigh. */
#include "judge/gate_open.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/latency_hist.h"

static double percent_of(enum gate_kind kind)
{
    switch (kind) {
    case GATE_P50_LATENCY: return 50;
    case GATE_P75_LATENCY: return 75;
    case GATE_P90_LATENCY: return 90;
    case GATE_P99_LATENCY: return 99;
    default: return 99.9;
    }
}

/* Merges windows [from, to) of in into h. Returns 0, or -1 with detail filled. */
static int merge_windows(const struct gate_inputs *in, size_t from, size_t to, struct latency_hist *h,
                         struct gate_result *out)
{
    char why[200];
    latency_hist_reset(h);
    for (size_t i = from; i < to; i++)
        if (in->windows[i].latency &&
            latency_hist_merge_serialized(h, in->windows[i].latency, in->windows[i].latency_len, why,
                                          sizeof why) < 0) {
            snprintf(out->detail, sizeof out->detail, "window %zu: %s", i, why);
            return -1;
        }
    return 0;
}

int gate_observe_window(const struct gate_spec *spec, const struct gate_inputs *in, bool full_only,
                        struct gate_result *out)
{
    size_t width = (size_t)(spec->window_ns / 1000000000), last;
    struct latency_hist *h;
    double pct = percent_of(spec->kind), worst = NAN;
    int rc = 0;

    if (!in->open) {
        snprintf(out->detail, sizeof out->detail, "windowed latencies need the open model ([load] rate)");
        return -1;
    }
    if (in->nwindows < width && full_only)
        return 1;
    if (!(h = latency_hist_new())) {
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return -1;
    }
    last = in->nwindows < width ? 0 : in->nwindows - width;
    for (size_t from = 0; from <= last && rc == 0; from++) {
        size_t to = from + width < in->nwindows ? from + width : in->nwindows;
        if ((rc = merge_windows(in, from, to, h, out)) == 0 && latency_hist_count(h) > 0) {
            double v = (double)latency_hist_percentile(h, pct) / 1e6;
            if (isnan(worst) || v > worst)
                worst = v;
        }
    }
    latency_hist_free(h);
    if (rc < 0)
        return -1;
    if (isnan(worst)) {
        snprintf(out->detail, sizeof out->detail, "no request completed in any window");
        return -1;
    }
    out->observed = worst;
    return 0;
}

int gate_observe_dropped(const struct gate_inputs *in, struct gate_result *out)
{
    if (!in->open) {
        snprintf(out->detail, sizeof out->detail, "dropped requests are counted by the open model ([load] rate)");
        return -1;
    }
    if (in->scheduled == 0) {
        snprintf(out->detail, sizeof out->detail, "no request was scheduled");
        return -1;
    }
    out->observed = (double)in->dropped / (double)in->scheduled;
    return 0;
}
