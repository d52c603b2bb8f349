/* sequential: judge a regression as paired slices come in, and stop when the answer
 * is known, without raising the false-alarm rate by looking often.
 *
 * Testing after every new pair at level alpha would find a "regression" in a
 * no-change comparison far more often than alpha (each look is another chance).
 * This module uses a group-sequential design with a valid correction that needs no
 * model of how the looks correlate:
 *  - the looks are fixed in advance, on a geometric schedule (each about 1.4 times the
 *    pairs of the one before, the last at max_pairs), so there are few of them;
 *  - alpha is spent unevenly, as Haybittle and Peto do: the interim looks share a fifth
 *    of it evenly (each a strict level, so only a clear answer stops early) and the
 *    last look gets the other four fifths. By the union bound (Bonferroni) the chance
 *    of any false alarm over all looks is at most the sum, alpha, whatever the
 *    correlation between looks and whatever the distribution of the differences. An
 *    even split would test the last look, where a budget-limited comparison decides,
 *    at alpha/looks: at 5 looks and alpha 0.05, 0.01 against 0.04 here;
 *  - at each look the Hodges-Lehmann interval of the shift (base/paired.h) at one-sided
 *    level alpha_k on each side decides: its lower end above 0 with the estimate at
 *    or past the threshold is a regression; its upper end below the threshold is
 *    "no regression" (any regression is smaller than what the gate cares about);
 *    otherwise the next look, and after the last one "inconclusive".
 * O'Brien-Fleming boundaries would spend alpha a little better still, but they rest on
 * the looks' joint normal distribution, which a rank statistic on a noisy machine does
 * not give. The differences are oriented so that positive is worse (for
 * throughput log(baseline/candidate), for latency or cost log(candidate/baseline)). */
#ifndef LOADLAB_SEQUENTIAL_H
#define LOADLAB_SEQUENTIAL_H

#include <stdbool.h>
#include <stddef.h>

#define SEQUENTIAL_MAX_LOOKS 24
#define SEQUENTIAL_MAX_PAIRS 2000

enum sequential_decision {
    SEQUENTIAL_CONTINUE,
    SEQUENTIAL_REGRESSION,
    SEQUENTIAL_NO_REGRESSION,
    SEQUENTIAL_INCONCLUSIVE,
};

struct sequential_plan {
    double alpha;            /* the false-alarm rate over all looks */
    double threshold;        /* the smallest shift (positive = worse) that is a regression */
    size_t max_pairs;
    size_t looks[SEQUENTIAL_MAX_LOOKS];
    size_t nlooks;
    double look_alpha[SEQUENTIAL_MAX_LOOKS]; /* one-sided level of each look; they sum to alpha */
};

/* The share of alpha the interim looks spend together (the last look spends the rest). */
#define SEQUENTIAL_INTERIM_SHARE 0.2

struct sequential_verdict {
    enum sequential_decision decision;
    size_t pairs;
    double estimate, low, high;   /* the shift and its interval at this look's level */
    double level;                 /* this look's one-sided level (the interval is 1 - 2 level) */
    bool bounded;                 /* false: too few pairs for an interval at this level */
};

/* Plans the looks for a comparison of at most max_pairs pairs (the first look at the
 * fewest pairs that can reach the interim level at all; when max_pairs is too few for
 * that, one look at max_pairs spends all of alpha). Returns 0, or -1 with err
 * filled: alpha outside (0, 0.5), threshold not positive and finite, max_pairs too
 * small to reach alpha even with one look, or over SEQUENTIAL_MAX_PAIRS. */
int sequential_plan_init(struct sequential_plan *plan, double alpha, double threshold, size_t max_pairs,
                         char *err, size_t errlen);

/* Whether a look is planned after the n-th pair. */
bool sequential_is_look(const struct sequential_plan *plan, size_t n);

/* The verdict on d[0..n): CONTINUE when n is not a planned look, or the look cannot
 * decide and more are to come. Returns 0, or -1 when n is over max_pairs, a value is
 * not finite, or out of memory (*out unchanged). */
int sequential_judge(const struct sequential_plan *plan, const double *d, size_t n,
                     struct sequential_verdict *out);

/* "continue", "regression", "no regression", "inconclusive". */
const char *sequential_decision_name(enum sequential_decision d);

#endif
