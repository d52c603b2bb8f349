/* interleave: paired interleaved A/B schedule and verdict; see interleave.h. */
#include "judge/interleave.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/significance.h"

#define DEFAULT_SEED 0x696e7465726c76ULL

static int run_slice(interleave_slice_fn slice, void *ctx, enum interleave_side side, size_t pair,
                     double *figure, char *err, size_t errlen)
{
    if (slice(ctx, side, pair, figure, err, errlen) < 0)
        return -1;
    if (!(*figure > 0) || !isfinite(*figure)) {
        snprintf(err, errlen, "pair %zu: the %s's figure is %g; a ratio needs a positive figure", pair + 1,
                 side == INTERLEAVE_BASELINE ? "baseline" : "candidate", *figure);
        return -1;
    }
    return 0;
}

int interleave_run(const struct interleave_options *opt, interleave_slice_fn slice, void *ctx,
                   struct interleave_result *out, char *err, size_t errlen)
{
    struct sequential_plan plan;
    double *base = NULL, *cand = NULL;
    uint64_t rng = opt->seed ? opt->seed : DEFAULT_SEED;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!(opt->threshold > 0 && opt->threshold < 10)) {
        snprintf(err, errlen, "the regression to detect must be a ratio above 0, not %g", opt->threshold);
        return -1;
    }
    if (sequential_plan_init(&plan, opt->alpha, log1p(opt->threshold), opt->max_pairs, err, errlen) < 0)
        return -1;
    out->log_ratios = malloc(opt->max_pairs * sizeof *out->log_ratios);
    base = malloc(opt->max_pairs * sizeof *base);
    cand = malloc(opt->max_pairs * sizeof *cand);
    if (!out->log_ratios || !base || !cand) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t pair = 0; pair < opt->max_pairs; pair++) {
        bool baseline_first = significance_rng_next(&rng) & 1;
        enum interleave_side first = baseline_first ? INTERLEAVE_BASELINE : INTERLEAVE_CANDIDATE;
        enum interleave_side second = baseline_first ? INTERLEAVE_CANDIDATE : INTERLEAVE_BASELINE;
        double a, b;
        if (run_slice(slice, ctx, first, pair, &a, err, errlen) < 0 ||
            run_slice(slice, ctx, second, pair, &b, err, errlen) < 0)
            goto done;
        base[pair] = baseline_first ? a : b;
        cand[pair] = baseline_first ? b : a;
        out->baseline_first += baseline_first;
        /* positive = candidate worse */
        out->log_ratios[pair] = opt->higher_is_better ? log(base[pair] / cand[pair]) : log(cand[pair] / base[pair]);
        out->pairs = pair + 1;
        if (sequential_judge(&plan, out->log_ratios, out->pairs, &out->verdict) < 0) {
            snprintf(err, errlen, "cannot judge pair %zu", pair + 1);
            goto done;
        }
        if (out->verdict.decision != SEQUENTIAL_CONTINUE)
            break;
    }
    significance_median(base, out->pairs, &out->baseline_median);
    significance_median(cand, out->pairs, &out->candidate_median);
    /* back from "log of how much worse" to candidate/baseline */
    double sign = opt->higher_is_better ? -1 : 1;
    out->ratio = exp(sign * out->verdict.estimate);
    out->ratio_low = exp(sign * (opt->higher_is_better ? out->verdict.high : out->verdict.low));
    out->ratio_high = exp(sign * (opt->higher_is_better ? out->verdict.low : out->verdict.high));
    rc = 0;
done:
    free(base);
    free(cand);
    if (rc < 0)
        interleave_result_free(out);
    return rc;
}

void interleave_result_free(struct interleave_result *r)
{
    if (!r)
        return;
    free(r->log_ratios);
    r->log_ratios = NULL;
}
