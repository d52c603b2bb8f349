/* sequential: group-sequential judging of paired differences; see sequential.h. */
#include "judge/sequential.h"

#include <math.h>
#include <stdio.h>

#include "base/paired.h"

#define LOOK_GROWTH 1.4

/* The fewest pairs whose most extreme outcome (every difference positive, probability
 * 2^-n under no change) reaches the one-sided level. */
static size_t fewest_pairs_for(double level)
{
    size_t n = 1;
    while (ldexp(1.0, -(int)n) > level)
        n++;
    return n;
}

/* Fills the looks from first to max on the geometric schedule; returns their count. */
static size_t schedule(size_t first, size_t max, size_t *looks)
{
    size_t n = 0;
    double at = (double)first;
    while (n < SEQUENTIAL_MAX_LOOKS - 1 && (size_t)at < max) {
        size_t look = (size_t)at;
        if (n == 0 || look > looks[n - 1])
            looks[n++] = look;
        at *= LOOK_GROWTH;
    }
    looks[n++] = max;
    return n;
}

int sequential_plan_init(struct sequential_plan *plan, double alpha, double threshold, size_t max_pairs,
                         char *err, size_t errlen)
{
    struct sequential_plan p = {.alpha = alpha, .threshold = threshold, .max_pairs = max_pairs};
    size_t first;

    if (!(alpha > 0 && alpha < 0.5)) {
        snprintf(err, errlen, "alpha must be between 0 and 0.5, not %g", alpha);
        return -1;
    }
    if (!(threshold > 0 && isfinite(threshold))) {
        snprintf(err, errlen, "the regression threshold must be positive, not %g", threshold);
        return -1;
    }
    if (max_pairs > SEQUENTIAL_MAX_PAIRS) {
        snprintf(err, errlen, "at most %d pairs, not %zu", SEQUENTIAL_MAX_PAIRS, max_pairs);
        return -1;
    }
    /* The interim level fixes the first useful look, which fixes the number of looks,
     * which fixes the level; fewer looks only raise the level, so a few passes settle. */
    first = fewest_pairs_for(alpha);
    if (max_pairs < first) {
        snprintf(err, errlen, "%zu pairs cannot show a regression at alpha %g; give at least %zu",
                 max_pairs, alpha, first);
        return -1;
    }
    double interim = 0;
    for (int pass = 0; pass < 8; pass++) {
        p.nlooks = schedule(first, max_pairs, p.looks);
        if (p.nlooks < 2)
            break;
        interim = SEQUENTIAL_INTERIM_SHARE * alpha / (double)(p.nlooks - 1);
        size_t need = fewest_pairs_for(interim);
        if (need <= first)
            break;
        if (need >= max_pairs) {
            p.nlooks = 1;
            break;
        }
        first = need;
    }
    if (p.nlooks < 2) {
        p.nlooks = 1;
        p.looks[0] = max_pairs;
        p.look_alpha[0] = alpha;
    } else {
        for (size_t i = 0; i + 1 < p.nlooks; i++)
            p.look_alpha[i] = interim;
        p.look_alpha[p.nlooks - 1] = alpha - interim * (double)(p.nlooks - 1);
    }
    *plan = p;
    return 0;
}

/* The index of the look after the n-th pair, or -1. */
static int look_index(const struct sequential_plan *plan, size_t n)
{
    for (size_t i = 0; i < plan->nlooks; i++)
        if (plan->looks[i] == n)
            return (int)i;
    return -1;
}

bool sequential_is_look(const struct sequential_plan *plan, size_t n)
{
    return look_index(plan, n) >= 0;
}

int sequential_judge(const struct sequential_plan *plan, const double *d, size_t n,
                     struct sequential_verdict *out)
{
    struct paired_shift s;

    if (n > plan->max_pairs)
        return -1;
    int look = look_index(plan, n);
    if (look < 0) {
        *out = (struct sequential_verdict){.decision = SEQUENTIAL_CONTINUE, .pairs = n,
                                           .estimate = NAN, .low = NAN, .high = NAN};
        return 0;
    }
    double level = plan->look_alpha[look];
    if (paired_shift(d, n, 1 - 2 * level, &s) < 0)
        return -1;
    *out = (struct sequential_verdict){.pairs = n, .estimate = s.estimate, .low = s.low,
                                       .high = s.high, .level = level, .bounded = s.bounded};
    if (s.bounded && s.low > 0 && s.estimate >= plan->threshold)
        out->decision = SEQUENTIAL_REGRESSION;
    else if (s.bounded && s.high < plan->threshold)
        out->decision = SEQUENTIAL_NO_REGRESSION;
    else if (n >= plan->max_pairs)
        out->decision = SEQUENTIAL_INCONCLUSIVE;
    else
        out->decision = SEQUENTIAL_CONTINUE;
    return 0;
}

const char *sequential_decision_name(enum sequential_decision d)
{
    switch (d) {
    case SEQUENTIAL_REGRESSION: return "regression";
    case SEQUENTIAL_NO_REGRESSION: return "no regression";
    case SEQUENTIAL_INCONCLUSIVE: return "inconclusive";
    case SEQUENTIAL_CONTINUE: break;
    }
    return "continue";
}
