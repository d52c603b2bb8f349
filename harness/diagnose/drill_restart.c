/* drill_restart: a restart as a drill's mitigation. See drill_restart.h.
 *
 * The runner does the restart itself (the hook answers RUNNER_HOOK_RESTART_SERVICE);
 * this module keeps what must survive it: the faults to set again and the levels
 * before, read from the run's samples as the heal check reads them. */
#include "diagnose/drill_restart.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/httpclient.h"
#include "base/stats.h"
#include "judge/gate.h"
#include "run/faultctl.h"
#include "store/samples.h"

/* The thread and resident-memory series of run_id (release both). Returns 0, or -1
 * with err filled (neither left to release). */
static int levels_load(struct resultdb *db, int64_t run_id, struct series *threads, struct series *rss, char *err,
                       size_t errlen)
{
    memset(threads, 0, sizeof *threads);
    memset(rss, 0, sizeof *rss);
    if (samples_load_sum(db, run_id, GATE_PROC_THREADS, NULL, threads, err, errlen) < 0 ||
        samples_load_sum(db, run_id, GATE_PROC_RSS, NULL, rss, err, errlen) < 0) {
        series_release(threads);
        series_release(rss);
        return -1;
    }
    return 0;
}

int drill_restart_before(struct resultdb *db, int64_t run_id, double t, struct drill_restart *r, char *err,
                         size_t errlen)
{
    struct series threads, rss;
    double max, mean;

    if (levels_load(db, run_id, &threads, &rss, err, errlen) < 0)
        return -1;
    r->threads_before = drill_heal_window(&threads, t - DRILL_RESTART_BEFORE_S, t, &max, &mean) ? max : NAN;
    r->rss_before = drill_heal_window(&rss, t - DRILL_RESTART_BEFORE_S, t, &max, &mean) ? max : NAN;
    series_release(&threads);
    series_release(&rss);
    return 0;
}

/* The lowest value and the least-squares slope of s over from <= t <= to; NaN each
 * when too few points. */
static void low_and_slope(const struct series *s, double from, double to, double *low, double *slope)
{
    double t[256], v[256];
    size_t n = 0;
    *low = INFINITY;
    for (size_t i = 0; i < s->n && n < sizeof t / sizeof t[0]; i++)
        if (s->t[i] >= from && s->t[i] <= to && !isnan(s->v[i])) {
            t[n] = s->t[i];
            v[n++] = s->v[i];
            *low = fmin(*low, s->v[i]);
        }
    if (!n)
        *low = NAN;
    if (n < 3 || stats_slope(t, v, n, slope) < 0)
        *slope = NAN;
}

/* Seconds from the lowest level after until the level before, at slope; INFINITY when
 * not climbing faster than min_slope, NaN when a figure is missing. */
static double time_to_level(double before, double after, double slope, double min_slope)
{
    if (isnan(before) || isnan(after) || isnan(slope))
        return NAN;
    if (slope < min_slope)
        return INFINITY;
    return fmax(0, (before - after) / slope);
}

int drill_restart_after(struct resultdb *db, int64_t run_id, double from, double to, struct drill_restart *r,
                        char *err, size_t errlen)
{
    struct series threads, rss;
    double threads_s = NAN, rss_s = NAN;

    if (levels_load(db, run_id, &threads, &rss, err, errlen) < 0)
        return -1;
    low_and_slope(&threads, from, to, &r->threads_after, &r->threads_slope);
    low_and_slope(&rss, from, to, &r->rss_after, &r->rss_slope);
    series_release(&threads);
    series_release(&rss);
    if (r->thread_leak)
        threads_s = time_to_level(r->threads_before, r->threads_after, r->threads_slope, DRILL_RESTART_THREADS_SLOPE);
    if (r->memory_leak)
        rss_s = time_to_level(r->rss_before, r->rss_after, r->rss_slope, DRILL_RESTART_RSS_SLOPE);
    r->bought_s = isnan(threads_s) ? rss_s : isnan(rss_s) ? threads_s : fmin(threads_s, rss_s);
    return 0;
}

/* "threads 14 after (530 before), climbing again at 180/s: back in 2.9s" for one level. */
static size_t describe_level(char *buf, size_t len, const char *what, double before, double after, double slope,
                             double min_slope, double scale, const char *unit)
{
    int n;
    if (isnan(slope) || slope < min_slope)
        n = snprintf(buf, len, "%s %.0f%s after (%.0f%s before), not climbing again in %.0fs", what, after / scale,
                     unit, before / scale, unit, DRILL_RESTART_WATCH_S);
    else
        n = snprintf(buf, len, "%s %.0f%s after (%.0f%s before), climbing again at %.1f%s/s: back at that level "
                               "in about %.1fs", what, after / scale, unit, before / scale, unit, slope / scale, unit,
                     fmax(0, (before - after) / slope));
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

char *drill_restart_describe(const struct drill_restart *r, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (r->thread_leak)
        used += describe_level(buf, len, "threads", r->threads_before, r->threads_after, r->threads_slope,
                               DRILL_RESTART_THREADS_SLOPE, 1, "");
    if (r->memory_leak && used + 3 < len) {
        if (used)
            used += (size_t)snprintf(buf + used, len - used, "; ");
        describe_level(buf + used, len - used, "resident memory", r->rss_before, r->rss_after, r->rss_slope,
                       DRILL_RESTART_RSS_SLOPE, 1e6, " MB");
    }
    return buf;
}

void drill_restart_run_init(struct drill_restart_run *rr)
{
    memset(rr, 0, sizeof *rr);
    rr->result.asked_t = rr->result.ready_t = rr->result.bought_s = NAN;
}

bool drill_restart_asked(const struct drill_restart_run *rr)
{
    return !isnan(rr->result.asked_t);
}

/* The faults on now, from the service (the grader may read /debug/faults), into
 * rr->reapply; those of the plan already switched on when it does not answer. */
static void faults_on_now(struct drill_restart_run *rr, const struct drill_plan *plan, const struct runner_view *v)
{
    struct httpclient_response resp;
    char url[1200], err[600];
    json_t *root = NULL, *item;
    size_t i;

    rr->nreapply = 0;
    snprintf(url, sizeof url, "%s/debug/faults", v->debug_base);
    if (httpclient_request(v->http, "GET", url, NULL, 3000, 65536, &resp, err, sizeof err) == 0 && resp.status == 200)
        root = json_loadb(resp.body, resp.len, 0, NULL);
    if (json_is_array(json_object_get(root, "faults"))) {
        json_array_foreach(json_object_get(root, "faults"), i, item)
        {
            const char *name = json_string_value(json_object_get(item, "name"));
            const char *term = json_string_value(json_object_get(item, "term"));
            if (!json_is_true(json_object_get(item, "on")) || !name || !term ||
                rr->nreapply == sizeof rr->reapply / sizeof rr->reapply[0])
                continue;
            snprintf(rr->reapply[rr->nreapply].name, sizeof rr->reapply[0].name, "%s", name);
            snprintf(rr->reapply[rr->nreapply++].term, sizeof rr->reapply[0].term, "%s", term);
        }
    } else {
        for (i = 0; i < plan->nfaults; i++)
            if ((double)plan->faults[i].at_ns / 1e9 <= v->t)
                rr->reapply[rr->nreapply++] = plan->faults[i];
    }
    json_decref(root);
}

enum runner_hook_answer drill_restart_ask(struct drill_restart_run *rr, struct resultdb *db,
                                          const struct drill_plan *plan, const struct runner_view *v, FILE *out)
{
    struct drill_restart *r = &rr->result;
    char err[256];
    size_t used = 0;

    faults_on_now(rr, plan, v);
    memset(r, 0, sizeof *r);
    r->ready_t = r->bought_s = NAN;
    r->asked_t = v->t;
    for (size_t i = 0; i < rr->nreapply; i++) {
        int n = snprintf(r->faults + used, sizeof r->faults - used, "%s%s=%s", used ? ", " : "", rr->reapply[i].name,
                         rr->reapply[i].term);
        if (n > 0 && (size_t)n < sizeof r->faults - used)
            used += (size_t)n;
        r->thread_leak |= strcmp(rr->reapply[i].name, "leak.threads") == 0;
        r->memory_leak |= strcmp(rr->reapply[i].name, "leak.memory") == 0;
    }
    if (drill_restart_before(db, v->run_id, v->t, r, err, sizeof err) < 0)
        r->threads_before = r->rss_before = NAN;
    fprintf(out, "Restarting orderd at t=%.1fs...\n", v->t);
    fflush(out);
    return RUNNER_HOOK_RESTART_SERVICE;
}

bool drill_restart_watch(struct drill_restart_run *rr, struct drill_mitigation *m, struct resultdb *db,
                         const struct runner_view *v, FILE *out)
{
    struct drill_restart *r = &rr->result;
    char err[600];

    if (!v->restarts) {
        /* not restarted (the run's reason says why): the mitigation ends at its time */
        if (v->t < m->deadline_t)
            return false;
        m->done = true;
        snprintf(m->problem, sizeof m->problem, "the service was not restarted by the time given (the run's reason "
                 "says why)");
        return true;
    }
    if (!rr->reapplied) {
        rr->reapplied = true;
        r->ready_t = v->restarted_t;
        for (size_t i = 0; i < rr->nreapply; i++)
            if (faultctl_call(v->http, v->debug_base, "PUT", rr->reapply[i].name, rr->reapply[i].term, err,
                              sizeof err) < 0)
                fprintf(out, "  (could not set %s again: %s)\n", rr->reapply[i].name, err);
        fprintf(out, "orderd is back, ready at t=%.1fs. The drill watches it for %.0fs.\n", r->ready_t,
                DRILL_RESTART_WATCH_S);
        fflush(out);
        return false;
    }
    if (v->t < r->ready_t + DRILL_RESTART_WATCH_S)
        return false;
    m->done = true;
    if (drill_restart_after(db, v->run_id, r->ready_t, v->t, r, err, sizeof err) < 0 ||
        drill_heal_faults(v->http, v->debug_base, &m->last, err, sizeof err) < 0 ||
        drill_heal_judge(db, v->run_id, r->ready_t, v->t, &m->ref, &m->last, err, sizeof err) < 0) {
        snprintf(m->problem, sizeof m->problem, "%.200s", err);
        return true;
    }
    /* A fresh process grows its heap as it warms up (arenas, connection buffers): its
     * memory climbing is a leak only when a leak was set again. */
    if (!r->memory_leak)
        m->last.memory_ok = true;
    drill_heal_describe(&m->last, &m->ref, m->problem, sizeof m->problem);
    if (drill_heal_healed(&m->last))
        m->healed_s = v->t - m->started_t;
    return true;
}

bool drill_restart_print(FILE *out, const struct drill_mitigation *m, const struct drill_restart *r)
{
    char what[400];

    if (isnan(r->asked_t))
        return false;
    if (!isnan(m->healed_s)) {
        fprintf(out, "  mitigation    restart at t=%.1fs, then:\n", r->asked_t);
        return false;
    }
    if (!m->done || isnan(r->ready_t))
        fprintf(out, "  mitigation    restart at t=%.1fs: not judged, the load ended first%s\n", r->asked_t,
                isnan(r->ready_t) ? " (the service did not come back in time)" : "");
    else if (isfinite(r->bought_s))
        fprintf(out, "  mitigation    restart at t=%.1fs bought time, did not heal: %s. The leak is in the code "
                     "and came back with it (%s)\n", r->asked_t, drill_restart_describe(r, what, sizeof what),
                r->faults);
    else
        fprintf(out, "  mitigation    restart at t=%.1fs did not heal: the faults are code and are set again "
                     "after it (%s); %s\n", r->asked_t, r->faults[0] ? r->faults : "none was on", m->problem);
    if (m->done && (r->thread_leak || r->memory_leak) && !isfinite(r->bought_s))
        fprintf(out, "                %s\n", drill_restart_describe(r, what, sizeof what));
    return true;
}
