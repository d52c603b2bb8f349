/* rules: what the rules share - a finding started in the result, its evidence lines,
 * culprit and confidence, and the two ways into a tally the waiting rules and the queue
 * rule both use (where idle workers wait for work; the top culprit past those), and
 * CPU per request by window, which cpu-slowdown and a baseline's reference share. The
 * rules themselves are in rules_leaks.c, rules_waits.c and rules_load.c; see rules.h,
 * and docs/diagnosis.md for the thresholds and why they sit where they do. */
#include "diagnose/rules_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/samples.h"
#include "diagnose/episode.h"
#include "judge/thresholds.h"

struct diagnose_finding *rules_new_finding(struct diagnose_result *r, const char *class_name, double started)
{
    struct diagnose_finding *f;
    if (r->n == DIAGNOSE_MAX_FINDINGS)
        return NULL;
    f = &r->findings[r->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->class_name, sizeof f->class_name, "%s", class_name);
    f->started_at = started;
    f->confidence = 0.5;
    return f;
}

void rules_add_line(struct diagnose_finding *f, const char *fmt, ...)
{
    size_t used = strlen(f->evidence);
    va_list ap;
    if (used + 2 >= sizeof f->evidence)
        return;
    va_start(ap, fmt);
    vsnprintf(f->evidence + used, sizeof f->evidence - used, fmt, ap);
    va_end(ap);
    used = strlen(f->evidence);
    if (used + 1 < sizeof f->evidence) {
        f->evidence[used] = '\n';
        f->evidence[used + 1] = '\0';
    }
}

void rules_set_culprit(struct diagnose_finding *f, const char *fn)
{
    snprintf(f->culprit, sizeof f->culprit, "%s", fn);
    f->confidence += 0.3;
}

void rules_corroborated(struct diagnose_finding *f)
{
    f->confidence = fmin(1.0, f->confidence + 0.2);
}

/* True when fn is one of t's culprits. */
bool rules_tally_has(const struct tally *t, const char *fn)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].fn, fn) == 0)
            return true;
    return false;
}

bool rules_culprit_taken(const struct diagnose_result *r, const char *fn)
{
    for (size_t k = 0; k < r->n; k++)
        if (strcmp(r->findings[k].culprit, fn) == 0)
            return true;
    return false;
}

/* Where idle workers wait for work (their culprit when labelled idle and waiting on a
 * condition: queue_pop) into idle. A function busy workers are caught waiting in more
 * often than idle ones is no such place: a label read a moment before or after the
 * stack can be stale, and a stalled worker is not an idle one. */
void rules_idle_waits(const struct rules_inputs *in, struct tally *idle)
{
    struct tally all, busy;
    tally_dumps(&in->evidence.dumps, 0, INFINITY, tally_idle_worker, tally_waits_cond, &all);
    tally_dumps(&in->evidence.dumps, 0, INFINITY, tally_busy_worker, tally_waits_cond, &busy);
    memset(idle, 0, sizeof *idle);
    for (size_t i = 0; i < all.n; i++) {
        double busy_count = 0;
        for (size_t j = 0; j < busy.n; j++)
            if (strcmp(busy.e[j].fn, all.e[i].fn) == 0)
                busy_count = busy.e[j].count;
        if (all.e[i].count >= busy_count)
            idle->e[idle->n++] = all.e[i];
    }
}

/* The profile's top culprit that is not in skip (NULL: none), or -1. */
long rules_top_except(const struct tally *t, const struct tally *skip)
{
    long best = -1;
    for (size_t i = 0; i < t->n; i++)
        if ((!skip || !rules_tally_has(skip, t->e[i].fn)) && t->e[i].count > 0 && (best < 0 || t->e[i].count > t->e[best].count))
            best = (long)i;
    return best;
}

int rules_load_sum(const struct rules_inputs *in, const char *metric, const char *labels, struct series *out,
                   char *err, size_t errlen)
{
    if (samples_load_sum_of(in->db, in->run_id, in->instance, metric, labels, out, err, errlen) < 0)
        return -1;
    series_keep_between(out, in->from, in->to);
    return 0;
}

int rules_load_by(const struct rules_inputs *in, const char *metric, const char *group_by, struct series_set *out,
                  char *err, size_t errlen)
{
    if (samples_load_of(in->db, in->run_id, in->instance, metric, group_by, out, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < out->n; i++)
        series_keep_between(&out->items[i], in->from, in->to);
    return 0;
}

size_t rules_cpu_windows(const struct series *cpu, const struct series *requests, double process_start,
                         double *starts, double *req, double *per_request, size_t cap)
{
    static double cpu_rate[EPISODE_MAX_WINDOWS], req_starts[EPISODE_MAX_WINDOWS];
    /* Both series on the same windows: a counter appears with its first event. */
    double from = cpu->n && requests->n ? fmax(process_start + DIAGNOSE_STARTUP_S, fmax(cpu->t[0], requests->t[0]))
                                        : 0;
    size_t n, m;
    if (cap > EPISODE_MAX_WINDOWS)
        cap = EPISODE_MAX_WINDOWS;
    n = series_counter_windows(cpu, from, DIAGNOSE_WINDOW_S, starts, cpu_rate, cap);
    m = series_counter_windows(requests, from, DIAGNOSE_WINDOW_S, req_starts, req, cap);
    if (n > m)
        n = m;
    for (size_t i = 0; i < n; i++)
        per_request[i] = req[i] >= DIAGNOSE_CPU_MIN_RATE && starts[i] == req_starts[i] ? cpu_rate[i] / req[i] : NAN;
    return n;
}
