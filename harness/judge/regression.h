/* regression: the verdict of a regression gate — is a candidate build's figure worse
 * than a baseline build's by at least the gate's change, beyond what noise explains?
 *
 * The evidence is one figure per run on each side (see README "Regression gates"):
 * runs are independent, each a fresh process under whatever the shared machine was
 * doing then, while the per-second windows of one run share its conditions and follow
 * each other, so they are not independent samples of the build. A regression is
 * called only when both hold:
 *  - size: the ratio of medians (candidate / baseline) is worse by at least the
 *    gate's change (a drop for throughput, a rise for the rest, or the sign given);
 *  - significance: a one-sided Mann-Whitney U test in the worse direction gives
 *    p < alpha.
 * With fewer than min_runs runs on either side the verdict is "inconclusive": too few
 * runs cannot tell noise from a change, and saying "pass" then would be a lie too.
 * A bootstrap interval of the ratio is reported for the reader; it does not decide.
 *
 * instructions_per_request is an exact count (run/costmeter), not a noisy measure: one
 * run a side decides on the size of the change alone, unless the runs of a side spread
 * by more than REGRESSION_EXACT_MAX_SPREAD of the gate's change (then: inconclusive). */
#ifndef LOADLAB_REGRESSION_H
#define LOADLAB_REGRESSION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "judge/gate.h"

#define REGRESSION_DEFAULT_MIN_RUNS 5
#define REGRESSION_DEFAULT_ALPHA 0.05
#define REGRESSION_DEFAULT_CONFIDENCE 0.90
#define REGRESSION_DEFAULT_RESAMPLES 2000
/* Fixed, so that the same runs always get the same interval. */
#define REGRESSION_BOOTSTRAP_SEED 0x6c6f61646c6162ULL
/* Most runs a side takes into one verdict. */
#define REGRESSION_MAX_RUNS 1000
/* An exact count decides only while its spread within a side is under this share of
 * the gate's change (a 1% gate: 0.1%; callgrind repeats to parts per million). */
#define REGRESSION_EXACT_MAX_SPREAD 0.1

enum regression_verdict {
    REGRESSION_PASS, REGRESSION_FAIL, REGRESSION_INCONCLUSIVE, REGRESSION_ERROR
};

/* How the verdict was reached: whole runs a side (regression_judge), or paired,
 * interleaved slices of two builds running at once (judge/interleave.h). */
enum regression_method { REGRESSION_METHOD_RUNS, REGRESSION_METHOD_INTERLEAVED };

struct regression_options {
    size_t min_runs;        /* on each side; at least 2 */
    double alpha;           /* one-sided significance level, 0 < alpha < 0.5 */
    double confidence;      /* of the reported interval */
    unsigned resamples;     /* bootstrap resamples */
};

struct regression_result {
    struct gate_spec spec;                    /* the regression gate */
    char scenario[128], baseline_scenario[128];
    char baseline_label[256], candidate_label[256];
    char baseline_runs[512], candidate_runs[512];  /* run ids, "3,5,7" (long lists cut) */
    size_t nbaseline, ncandidate;
    double baseline_median, candidate_median; /* NaN: no run on that side */
    double ratio, ci_low, ci_high;            /* candidate / baseline; NaN: undefined */
    double p_value;                           /* one-sided, worse direction; NaN: not computed */
    struct regression_options opt;
    enum regression_verdict verdict;
    enum regression_method method;            /* interleaved: nbaseline = ncandidate = pairs */
    char detail[320];
};

void regression_options_default(struct regression_options *opt);

/* Checks options given on a command line. Returns 0, or -1 with err naming the bad
 * one. */
int regression_options_check(const struct regression_options *opt, char *err, size_t errlen);

/* Judges out->spec with out->opt on the figures of each side (NaN not allowed; the
 * caller leaves out runs without a figure). Fills the medians, ratio, interval,
 * p-value, verdict and detail; leaves the names, labels and run lists as they are.
 * Never fails: what cannot be judged is an inconclusive or error verdict with detail. */
void regression_judge(const double *baseline, size_t nbaseline, const double *candidate,
                      size_t ncandidate, struct regression_result *out);

/* "pass", "fail", "inconclusive", "error": the words stored in the database. */
const char *regression_verdict_name(enum regression_verdict v);

/* The verdict as a CI log shows it: "held", "FAILED", "INCONCLUSIVE", "ERROR". */
const char *regression_verdict_word(enum regression_verdict v);

/* "runs", "interleaved": the words stored in the database. */
const char *regression_method_name(enum regression_method m);

/* The verdict's numbers in words, never "nan": "ratio 0.912, 96.7% interval
 * 0.88..0.95, 14 interleaved pairs", "ratio 1.02, interval not computable (too few
 * runs), p 0.41", "ratio not computed (no figure on a side)". Returns buf. */
char *regression_format_numbers(const struct regression_result *r, char *buf, size_t buflen);

/* Prints the verdicts as a table for a CI log, grouped by scenario and labels. */
void regression_print(FILE *out, const struct regression_result *results, size_t n);


#endif
