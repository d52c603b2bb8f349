/* interleave: paired interleaved A/B schedule and verdict; see interleave.h. */
#include "judge/interleave.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/significance.h"

#define DEFAULT_SEED 0x696e7465726c76ULL

/* Checks the figures of one slice that are still being judged. Returns 0, or -1 with
 * err saying which figure is not positive and finite. */
static int check_figures(const double *fig, const bool *decided, size_t n, enum interleave_side side, size_t slot,
                         char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (!decided[i] && (!(fig[i] > 0) || !isfinite(fig[i]))) {
            snprintf(err, errlen, "pair %zu: the %s's figure is %g; a ratio needs a positive figure", slot + 1,
                     side == INTERLEAVE_BASELINE ? "baseline" : "candidate", fig[i]);
            return -1;
        }
    return 0;
}

/* The medians and the ratio and interval back from "log of how much worse". */
static void conclude(const struct interleave_figure *f, const struct sequential_plan *plan, const double *base,
                     const double *cand, struct interleave_result *r)
{
    /* the level of the look that decided; with no look yet, the last look's */
    double level = r->verdict.level > 0 ? r->verdict.level : plan->look_alpha[plan->nlooks - 1];
    r->confidence = 1 - 2 * level;
    r->nlooks = plan->nlooks;
    double sign = f->higher_is_better ? -1 : 1;
    significance_median(base, r->pairs, &r->baseline_median);
    significance_median(cand, r->pairs, &r->candidate_median);
    r->ratio = exp(sign * r->verdict.estimate);
    r->ratio_low = exp(sign * (f->higher_is_better ? r->verdict.high : r->verdict.low));
    r->ratio_high = exp(sign * (f->higher_is_better ? r->verdict.low : r->verdict.high));
}

int interleave_run_many(const struct interleave_many_options *opt, interleave_slice_many_fn slice, void *ctx,
                        struct interleave_result *out, char *err, size_t errlen)
{
    struct sequential_plan plan[INTERLEAVE_MAX_FIGURES];
    double *base[INTERLEAVE_MAX_FIGURES] = {0}, *cand[INTERLEAVE_MAX_FIGURES] = {0};
    double *unit[INTERLEAVE_MAX_FIGURES] = {0};  /* the blocks' median log ratios */
    size_t block = opt->block_pairs > 1 ? opt->block_pairs : 1;
    bool decided[INTERLEAVE_MAX_FIGURES] = {0};
    uint64_t rng = opt->seed ? opt->seed : DEFAULT_SEED;
    size_t nf = opt->nfigures, open;
    int rc = -1;

    if (nf == 0 || nf > INTERLEAVE_MAX_FIGURES) {
        snprintf(err, errlen, "1 to %d figures, not %zu", INTERLEAVE_MAX_FIGURES, nf);
        return -1;
    }
    memset(out, 0, nf * sizeof *out);
    for (size_t i = 0; i < nf; i++) {
        double t = opt->figures[i].threshold;
        if (!(t > 0 && t < 10)) {
            snprintf(err, errlen, "the regression to detect must be a ratio above 0, not %g", t);
            return -1;
        }
        if (sequential_plan_init(&plan[i], opt->alpha, log1p(t), opt->max_pairs / block, err, errlen) < 0)
            return -1;
    }
    for (size_t i = 0; i < nf; i++) {
        out[i].log_ratios = malloc(opt->max_pairs * sizeof *out[i].log_ratios);
        base[i] = malloc(opt->max_pairs * sizeof *base[i]);
        cand[i] = malloc(opt->max_pairs * sizeof *cand[i]);
        unit[i] = malloc((opt->max_pairs / block + 1) * sizeof *unit[i]);
        if (!out[i].log_ratios || !base[i] || !cand[i] || !unit[i]) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    open = nf;
    for (size_t pair = 0, slot = 0, voided = 0, started = 0; pair < opt->max_pairs && open > 0; slot++) {
        /* a block's first pair: new processes for every block after the first (a pair
         * set aside is run again in the same block) */
        if (block > 1 && pair % block == 0 && pair / block >= started) {
            if (started > 0 && opt->new_block && opt->new_block(ctx, started, err, errlen) < 0)
                goto done;
            started++;
        }
        bool baseline_first = significance_rng_next(&rng) & 1;
        enum interleave_side first = baseline_first ? INTERLEAVE_BASELINE : INTERLEAVE_CANDIDATE;
        enum interleave_side second = baseline_first ? INTERLEAVE_CANDIDATE : INTERLEAVE_BASELINE;
        double a[INTERLEAVE_MAX_FIGURES], b[INTERLEAVE_MAX_FIGURES];
        if (slice(ctx, first, slot, a, err, errlen) < 0 || slice(ctx, second, slot, b, err, errlen) < 0)
            goto done;
        /* a pair with a figure that gives no ratio is set aside, whichever side it hit
         * (so under no change the pairs kept are as likely either way); past the limit
         * the comparison stops, saying which figure */
        if (check_figures(a, decided, nf, first, slot, err, errlen) < 0 ||
            check_figures(b, decided, nf, second, slot, err, errlen) < 0) {
            if (++voided > INTERLEAVE_MAX_VOID_PAIRS)
                goto done;
            for (size_t i = 0; i < nf; i++)
                out[i].voided += !decided[i];
            continue;
        }
        for (size_t i = 0; i < nf; i++) {
            struct interleave_result *r = &out[i];
            if (decided[i])
                continue;
            base[i][pair] = baseline_first ? a[i] : b[i];
            cand[i][pair] = baseline_first ? b[i] : a[i];
            r->baseline_first += baseline_first;
            /* positive = candidate worse */
            r->log_ratios[pair] = opt->figures[i].higher_is_better ? log(base[i][pair] / cand[i][pair])
                                                                   : log(cand[i][pair] / base[i][pair]);
            r->pairs = pair + 1;
            if ((pair + 1) % block != 0)
                continue;   /* the block is judged when it is complete */
            r->units = (pair + 1) / block;
            if (block > 1 && significance_median(r->log_ratios + pair + 1 - block, block, &unit[i][r->units - 1]) < 0) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            if (sequential_judge(&plan[i], block > 1 ? unit[i] : r->log_ratios, r->units, &r->verdict) < 0) {
                snprintf(err, errlen, "cannot judge pair %zu", pair + 1);
                goto done;
            }
            if (r->verdict.decision != SEQUENTIAL_CONTINUE) {
                decided[i] = true;
                open--;
            }
        }
        pair++;
    }
    for (size_t i = 0; i < nf; i++)
        conclude(&opt->figures[i], &plan[i], base[i], cand[i], &out[i]);
    rc = 0;
done:
    for (size_t i = 0; i < nf; i++) {
        free(base[i]);
        free(cand[i]);
        free(unit[i]);
        if (rc < 0)
            interleave_result_free(&out[i]);
    }
    return rc;
}

/* interleave_run's one-figure slice behind the many-figure interface. */
struct one_figure {
    interleave_slice_fn slice;
    void *ctx;
};

static int one_figure_slice(void *ctx, enum interleave_side side, size_t pair, double *figures, char *err,
                            size_t errlen)
{
    const struct one_figure *one = ctx;
    return one->slice(one->ctx, side, pair, &figures[0], err, errlen);
}

int interleave_run(const struct interleave_options *opt, interleave_slice_fn slice, void *ctx,
                   struct interleave_result *out, char *err, size_t errlen)
{
    struct interleave_many_options many = {
        .figures = {{.threshold = opt->threshold, .higher_is_better = opt->higher_is_better}},
        .nfigures = 1, .alpha = opt->alpha, .max_pairs = opt->max_pairs, .seed = opt->seed,
    };
    struct one_figure one = {.slice = slice, .ctx = ctx};

    return interleave_run_many(&many, one_figure_slice, &one, out, err, errlen);
}

void interleave_result_free(struct interleave_result *r)
{
    if (!r)
        return;
    free(r->log_ratios);
    r->log_ratios = NULL;
}
