/* regression: judging, printing and JUnit cases of regression gates. See regression.h. */
#include "judge/regression.h"

#include <math.h>
#include <string.h>

#include "base/significance.h"

void regression_options_default(struct regression_options *opt)
{
    opt->min_runs = REGRESSION_DEFAULT_MIN_RUNS;
    opt->alpha = REGRESSION_DEFAULT_ALPHA;
    opt->confidence = REGRESSION_DEFAULT_CONFIDENCE;
    opt->resamples = REGRESSION_DEFAULT_RESAMPLES;
}

int regression_options_check(const struct regression_options *opt, char *err, size_t errlen)
{
    if (opt->min_runs < 2 || opt->min_runs > REGRESSION_MAX_RUNS) {
        snprintf(err, errlen, "--min-runs must be 2..%d (a rank test needs runs on both sides)", REGRESSION_MAX_RUNS);
        return -1;
    }
    if (!(opt->alpha > 0 && opt->alpha < 0.5)) {
        snprintf(err, errlen, "--alpha must be above 0 and below 0.5");
        return -1;
    }
    if (!(opt->confidence >= 0.5 && opt->confidence <= 0.999) || opt->resamples < 100 ||
        opt->resamples > SIGNIFICANCE_MAX_RESAMPLES) {
        snprintf(err, errlen, "the interval needs a confidence of 0.5..0.999 and 100..%d resamples",
                 SIGNIFICANCE_MAX_RESAMPLES);
        return -1;
    }
    return 0;
}

const char *regression_verdict_name(enum regression_verdict v)
{
    static const char *const names[] = {"pass", "fail", "inconclusive", "error"};
    return names[v];
}

/* A relative change for people: "10.2%". */
static double percent(double fraction)
{
    return fabs(fraction) * 100;
}

/* The relative spread (max / min - 1) of n positive values; 0 for fewer than two. */
static double relative_spread(const double *x, size_t n)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    return n < 2 || !(lo > 0) ? 0 : hi / lo - 1;
}

/* An instruction count repeats from run to run to parts per million, so one run a side
 * decides: the change of the medians against the gate's, provided the spread seen
 * within either side (when a side has several runs) stays well under the change
 * looked for; a count that spreads that much is not exact here and decides nothing. */
static void judge_exact(const double *baseline, size_t nbaseline, const double *candidate, size_t ncandidate,
                        struct regression_result *out)
{
    const struct gate_spec *g = &out->spec;
    double sb = relative_spread(baseline, nbaseline), sc = relative_spread(candidate, ncandidate);
    double spread = sb > sc ? sb : sc, worse_by;

    if (nbaseline < 1 || ncandidate < 1) {
        out->verdict = REGRESSION_INCONCLUSIVE;
        snprintf(out->detail, sizeof out->detail, "%zu baseline and %zu candidate runs; an exact count needs one "
                 "of each", nbaseline, ncandidate);
        return;
    }
    if (!(out->baseline_median > 0) || isnan(out->ratio)) {
        out->verdict = REGRESSION_INCONCLUSIVE;
        snprintf(out->detail, sizeof out->detail, "the baseline count is %g: a relative change from it means "
                 "nothing", out->baseline_median);
        return;
    }
    if (spread > g->threshold * REGRESSION_EXACT_MAX_SPREAD) {
        out->verdict = REGRESSION_INCONCLUSIVE;
        snprintf(out->detail, sizeof out->detail, "the count spreads %.3g%% within a side, too much for a %s "
                 "gate to decide on: it is not exact on this machine", percent(spread), g->threshold_text + 1);
        return;
    }
    worse_by = g->op == GATE_GT ? out->ratio - 1 : 1 - out->ratio;
    out->verdict = worse_by >= g->threshold - 1e-12 ? REGRESSION_FAIL : REGRESSION_PASS;
    snprintf(out->detail, sizeof out->detail, "exact count: %.3f%% %s (limit %s; spread within a side %.2g%%)",
             percent(fabs(worse_by)), worse_by >= 0 ? "worse" : "better", g->threshold_text + 1, percent(spread));
}

void regression_judge(const double *baseline, size_t nbaseline, const double *candidate,
                      size_t ncandidate, struct regression_result *out)
{
    const struct gate_spec *g = &out->spec;
    const struct regression_options *opt = &out->opt;
    bool rise_is_worse = g->op == GATE_GT;
    struct significance_rank_test test;
    double worse_by, p_better = NAN;

    out->nbaseline = nbaseline;
    out->ncandidate = ncandidate;
    out->baseline_median = out->candidate_median = NAN;
    out->ratio = out->ci_low = out->ci_high = out->p_value = NAN;
    out->detail[0] = '\0';
    if (nbaseline > 0 && significance_median(baseline, nbaseline, &out->baseline_median) < 0)
        out->baseline_median = NAN;
    if (ncandidate > 0 && significance_median(candidate, ncandidate, &out->candidate_median) < 0)
        out->candidate_median = NAN;
    if (out->baseline_median > 0)
        out->ratio = out->candidate_median / out->baseline_median;
    if (nbaseline >= 2 && ncandidate >= 2 &&
        significance_mann_whitney(candidate, ncandidate, baseline, nbaseline, &test) == 0) {
        out->p_value = rise_is_worse ? test.p_greater : test.p_less;
        p_better = rise_is_worse ? test.p_less : test.p_greater;
    }
    if (out->baseline_median > 0 && nbaseline >= 2 && ncandidate >= 2 &&
        significance_bootstrap_ratio(baseline, nbaseline, candidate, ncandidate, opt->resamples,
                                     opt->confidence, REGRESSION_BOOTSTRAP_SEED, &out->ci_low,
                                     &out->ci_high) < 0)
        out->ci_low = out->ci_high = NAN;

    if (g->kind == GATE_INSTRUCTIONS_PER_REQUEST) {
        judge_exact(baseline, nbaseline, candidate, ncandidate, out);
        return;
    }
    if (nbaseline < opt->min_runs || ncandidate < opt->min_runs) {
        out->verdict = REGRESSION_INCONCLUSIVE;
        snprintf(out->detail, sizeof out->detail,
                 "%zu baseline and %zu candidate runs; at least %zu of each are needed to tell a change "
                 "from noise (--repeat)", nbaseline, ncandidate, opt->min_runs);
        return;
    }
    if (!(out->baseline_median > 0) || isnan(out->ratio)) {
        out->verdict = REGRESSION_INCONCLUSIVE;
        snprintf(out->detail, sizeof out->detail,
                 "the baseline median is %g: a relative change from it means nothing (an absolute "
                 "gate suits a figure that is 0 when healthy)", out->baseline_median);
        return;
    }
    if (isnan(out->p_value)) {
        out->verdict = REGRESSION_ERROR;
        snprintf(out->detail, sizeof out->detail, "the rank test could not be computed (out of memory?)");
        return;
    }
    worse_by = rise_is_worse ? out->ratio - 1 : 1 - out->ratio;
    if (worse_by >= g->threshold - 1e-12 && out->p_value < opt->alpha) {
        out->verdict = REGRESSION_FAIL;
        snprintf(out->detail, sizeof out->detail, "%.1f%% worse, significant (p = %.2g < %g)",
                 percent(worse_by), out->p_value, opt->alpha);
        return;
    }
    out->verdict = REGRESSION_PASS;
    if (worse_by >= g->threshold - 1e-12)
        snprintf(out->detail, sizeof out->detail, "%.1f%% worse but not significant (p = %.2g): "
                 "noise cannot be ruled out", percent(worse_by), out->p_value);
    else if (worse_by > 0 && out->p_value < opt->alpha)
        snprintf(out->detail, sizeof out->detail, "%.1f%% worse (p = %.2g), under the %s limit",
                 percent(worse_by), out->p_value, g->threshold_text + 1);
    else if (worse_by < 0 && p_better < opt->alpha)
        snprintf(out->detail, sizeof out->detail, "%.1f%% better (p = %.2g)", percent(worse_by), p_better);
    else
        snprintf(out->detail, sizeof out->detail, "no significant change");
}

const char *regression_method_name(enum regression_method m)
{
    return m == REGRESSION_METHOD_INTERLEAVED ? "interleaved" : "runs";
}

const char *regression_verdict_word(enum regression_verdict v)
{
    static const char *const words[] = {"held", "FAILED", "INCONCLUSIVE", "ERROR"};
    return words[v];
}

static bool same_group(const struct regression_result *a, const struct regression_result *b)
{
    return strcmp(a->scenario, b->scenario) == 0 && strcmp(a->baseline_scenario, b->baseline_scenario) == 0 &&
           strcmp(a->baseline_label, b->baseline_label) == 0 &&
           strcmp(a->candidate_label, b->candidate_label) == 0 &&
           strcmp(a->baseline_runs, b->baseline_runs) == 0 && strcmp(a->candidate_runs, b->candidate_runs) == 0;
}

static void print_group_header(FILE *out, const struct regression_result *r)
{
    if (strcmp(r->scenario, r->baseline_scenario) == 0)
        fprintf(out, "%s: candidate %s (runs %s) against baseline %s (runs %s)\n", r->scenario,
                r->candidate_label, r->candidate_runs[0] ? r->candidate_runs : "none", r->baseline_label,
                r->baseline_runs[0] ? r->baseline_runs : "none");
    else
        fprintf(out, "%s (%s, runs %s) against %s (%s, runs %s)\n", r->scenario, r->candidate_label,
                r->candidate_runs[0] ? r->candidate_runs : "none", r->baseline_scenario, r->baseline_label,
                r->baseline_runs[0] ? r->baseline_runs : "none");
}

char *regression_format_numbers(const struct regression_result *r, char *buf, size_t buflen)
{
    size_t used;

    if (isnan(r->ratio))
        snprintf(buf, buflen, "ratio not computed (no figure on a side)");
    else if (isnan(r->ci_low) || isnan(r->ci_high))
        snprintf(buf, buflen, "ratio %.3f, interval not computable (too few %s)", r->ratio,
                 r->method == REGRESSION_METHOD_INTERLEAVED ? "pairs" : "runs");
    else
        snprintf(buf, buflen, "ratio %.3f, %.4g%% interval %.3f..%.3f", r->ratio, 100 * r->opt.confidence, r->ci_low,
                 r->ci_high);
    used = strlen(buf);
    if (r->method == REGRESSION_METHOD_INTERLEAVED)
        snprintf(buf + used, buflen - used, ", %zu interleaved pairs", r->nbaseline);
    else if (isnan(r->p_value))
        snprintf(buf + used, buflen - used, ", p not computed");
    else
        snprintf(buf + used, buflen - used, ", p %.3g", r->p_value);
    return buf;
}

void regression_print(FILE *out, const struct regression_result *results, size_t n)
{
    int width = 24;

    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(results[i].spec.name) > width && strlen(results[i].spec.name) < 60)
            width = (int)strlen(results[i].spec.name);
    if (results[0].method == REGRESSION_METHOD_INTERLEAVED)
        fprintf(out, "\nRegression gates: both builds at once, randomized interleaved pairs of slices; per gate a "
                     "group-sequential verdict on the Hodges-Lehmann interval of the pairs' log ratios (with blocks, of "
                     "each block's median, both builds started afresh for each block), alpha %g "
                     "spent over the looks (a fifth at the interim looks, the rest at the last; Bonferroni); (n) = pairs\n", results[0].opt.alpha);
    else
        fprintf(out, "\nRegression gates: one figure per run; medians; Mann-Whitney U one-sided at alpha %g; "
                     "%.0f%% bootstrap interval of the ratio; at least %zu runs a side\n",
                results[0].opt.alpha, results[0].opt.confidence * 100, results[0].opt.min_runs);
    for (size_t i = 0; i < n; i++)
        if (results[i].spec.kind == GATE_INSTRUCTIONS_PER_REQUEST) {
            fprintf(out, "(instructions_per_request is an exact count: one run a side decides on the size of the "
                         "change)\n");
            break;
        }
    for (size_t i = 0; i < n; i++) {
        const struct regression_result *r = &results[i];
        char base[48], cand[48], ratio[64] = "-", p[24] = "-";

        if (i == 0 || !same_group(r, &results[i - 1]))
            print_group_header(out, r);
        gate_format_observed(&r->spec, r->baseline_median, base, sizeof base);
        gate_format_observed(&r->spec, r->candidate_median, cand, sizeof cand);
        if (!isnan(r->ratio) && !isnan(r->ci_low))
            snprintf(ratio, sizeof ratio, "%.3f [%.3f, %.3f]", r->ratio, r->ci_low, r->ci_high);
        else if (!isnan(r->ratio))
            snprintf(ratio, sizeof ratio, "%.3f", r->ratio);
        if (!isnan(r->p_value))
            snprintf(p, sizeof p, "%.2g", r->p_value);
        fprintf(out, "  %-*s %5s  base %10s (%zu)  cand %10s (%zu)  ratio %-22s p %-7s %s: %s\n", width,
                r->spec.name, r->spec.threshold_text, base, r->nbaseline, cand, r->ncandidate, ratio, p,
                regression_verdict_word(r->verdict), r->detail);
    }
}
