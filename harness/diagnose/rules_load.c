/* rules_load: the rules for a service that cannot keep up - queue-full and overload
 * (one full queue, told apart by whether the workers were stuck or doing their ordinary
 * work as fast as before) and cpu-slowdown (CPU per request climbing, absolutely or
 * against the run's own healthy start; its culprit from a CPU profile when the capture
 * took one, else from the thread dumps). */
#include "diagnose/rules_internal.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/episode.h"
#include "judge/thresholds.h"
#include "store/samples.h"

/* The longest stretch of scrapes with the queue full: it enters at
 * DIAGNOSE_QUEUE_FILL of capacity and leaves only below DIAGNOSE_QUEUE_LEAVE, so a
 * depth of 16,16,14,16,15 on a queue of 16 is one episode, not several. */
static struct episode queue_episode(const struct rules_inputs *in)
{
    struct episode best = {.first_start = NAN};
    double run_start = NAN;
    size_t j = 0;

    for (size_t i = 0; i <= in->depth.n; i++) {
        bool full = false;
        if (i < in->depth.n) {
            while (j < in->capacity.n && in->capacity.t[j] < in->depth.t[i])
                j++;
            if (j < in->capacity.n && in->capacity.t[j] == in->depth.t[i] && in->capacity.v[j] > 0) {
                double level = isnan(run_start) ? DIAGNOSE_QUEUE_FILL : DIAGNOSE_QUEUE_LEAVE;
                full = in->depth.v[i] >= level * in->capacity.v[j];
            }
        }
        if (full && isnan(run_start))
            run_start = in->depth.t[i];
        if (!full && !isnan(run_start)) {
            double end = in->depth.t[i - 1];
            if (end - run_start >= DIAGNOSE_QUEUE_MIN_S) {
                if (isnan(best.first_start))
                    best.first_start = run_start;
                if (!best.found || end - run_start > best.end - best.start) {
                    best.found = true;
                    best.start = run_start;
                    best.end = end;
                }
            }
            run_start = NAN;
        }
    }
    return best;
}

/* A full queue whose workers are healthy and simply too few: offered against served
 * rate, and how busy the workers were. Not a faulty function, so no culprit. */
static void add_overload(const struct rules_inputs *in, struct diagnose_result *r, const struct episode *ep,
                         double rejected, const struct tally *busy, size_t ndumps)
{
    struct tally workers;
    struct series enqueued = {0};
    struct diagnose_finding *f;
    char err[256];
    double span = fmax(ep->end - ep->start, DIAGNOSE_WINDOW_S), served = NAN, busy_share;

    if (!(f = rules_new_finding(r, "overload", ep->first_start)))
        return;
    if (rules_load_sum(in, METRIC_ORDERD_QUEUE_ENQUEUED, NULL, &enqueued, err, sizeof err) == 0 &&
        enqueued.n >= 2)
        served = series_increase(&enqueued, ep->start, ep->end) / span;
    series_release(&enqueued);
    rules_add_line(f, METRIC_ORDERD_QUEUE_DEPTH " at >= %.0f%% of " METRIC_ORDERD_QUEUE_CAPACITY " for %.1fs from t=%.1fs",
             DIAGNOSE_QUEUE_FILL * 100, ep->end - ep->start, ep->first_start);
    if (!isnan(served))
        rules_add_line(f, "offered %.0f jobs/s, served %.0f/s (" METRIC_ORDERD_QUEUE_ENQUEUED "), %.0f/s turned away "
                 "(" METRIC_ORDERD_QUEUE_REJECTED ")", served + rejected / span, served, rejected / span);
    else
        rules_add_line(f, METRIC_ORDERD_QUEUE_REJECTED ": %.0f requests turned away meanwhile", rejected);
    tally_dumps(&in->evidence.dumps, ep->start, ep->end, tally_role_worker, tally_idle_worker, &workers);
    busy_share = workers.total > 0 ? 1.0 - workers.matched / workers.total : NAN;
    if (!isnan(busy_share)) {
        long top = tally_top(busy);
        rules_add_line(f, "%zu thread dumps in that time: workers busy in %.0f%% of worker samples, doing their ordinary "
                 "work%s%s, none waiting on anything but it", ndumps, 100 * busy_share, top >= 0 ? " in " : "",
                 top >= 0 ? busy->e[top].fn : "");
        if (busy_share >= 0.8)
            rules_corroborated(f);
    }
    snprintf(f->summary, sizeof f->summary, "capacity: the workers are healthy but too few - %.0f jobs/s turned away from t=%.1fs",
             rejected / span, ep->first_start);
}

/* True when the workers served jobs at under DIAGNOSE_QUEUE_SLOWER of their rate in the
 * windows before the queue filled: they slowed down, rather than being too few. */
static bool served_dropped(const struct rules_inputs *in, const struct episode *ep)
{
    struct series enqueued = {0};
    char err[256];
    double before_from = fmax(0, ep->start - 3 * DIAGNOSE_WINDOW_S), before = NAN, during = NAN;
    if (rules_load_sum(in, METRIC_ORDERD_QUEUE_ENQUEUED, NULL, &enqueued, err, sizeof err) == 0 &&
        enqueued.n >= 2 && ep->start - before_from >= DIAGNOSE_WINDOW_S) {
        before = series_increase(&enqueued, before_from, ep->start) / (ep->start - before_from);
        during = series_increase(&enqueued, ep->start, ep->end) / fmax(ep->end - ep->start, DIAGNOSE_WINDOW_S);
    }
    series_release(&enqueued);
    return !isnan(before) && before > 0 && during < DIAGNOSE_QUEUE_SLOWER * before;
}

/* Workers stalled with the queue still keeping up: enough workers absorb a stall, so
 * the queue never fills, but the busy workers are caught waiting on a condition in one
 * function - not in their work - in DIAGNOSE_STALL_SHARE of their samples from when it
 * first showed. A healthy busy worker never waits on a condition (it works or sleeps
 * in its payment call), so a stall as short as the work it holds up is found. */
static void workers_stalled(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct tally all, since, idle;
    struct diagnose_finding *f;
    size_t ndumps;
    long top, k = -1;

    /* Where idle workers wait for work is never the stall, whatever a racy label says. */
    rules_idle_waits(in, &idle);
    tally_dumps(&in->evidence.dumps, 0, INFINITY, tally_busy_worker, tally_waits_cond, &all);
    top = rules_top_except(&all, &idle);
    if (top < 0 || all.e[top].samples < DIAGNOSE_STALL_MIN_SAMPLES)
        return;
    ndumps = tally_dumps(&in->evidence.dumps, all.e[top].first_t, INFINITY, tally_busy_worker, tally_waits_cond,
        &since);
    for (size_t i = 0; i < since.n; i++)
        if (strcmp(since.e[i].fn, all.e[top].fn) == 0)
            k = (long)i;
    if (k < 0 || since.e[k].count < DIAGNOSE_STALL_SHARE * since.total ||
        !(f = rules_new_finding(r, "queue-full", all.e[top].first_t)))
        return;
    rules_set_culprit(f, since.e[k].fn);
    rules_add_line(f, "%zu of %zu thread dumps from t=%.1fs caught busy workers waiting on a condition in %s "
             "(%.0f%% of busy-worker samples), not in their work", since.e[k].samples, ndumps, all.e[top].first_t,
             since.e[k].fn, 100.0 * since.e[k].count / since.total);
    rules_add_line(f, METRIC_ORDERD_QUEUE_DEPTH " never reached %.0f%% of capacity: enough workers absorb the stall, for now",
             DIAGNOSE_QUEUE_FILL * 100);
    snprintf(f->summary, sizeof f->summary, "workers stall in %s from t=%.1fs; the queue keeps up only because "
             "there are workers to spare", since.e[k].fn, all.e[top].first_t);
}

/* A queue full because its busy workers wait for a mutex in the function a
 * lock-contention finding already names: the lock's consequence, said in that finding
 * rather than as a second problem with no culprit. Returns whether it was. */
static bool queue_full_is_lock_wait(const struct rules_inputs *in, struct diagnose_result *r,
                                    const struct episode *ep, double rejected)
{
    struct tally locked;
    size_t ndumps = tally_dumps(&in->evidence.dumps, ep->start, ep->end, tally_busy_worker, tally_waits_mutex, &locked);
    long top = tally_top(&locked);
    if (top < 0 || locked.e[top].count < DIAGNOSE_QUEUE_BLOCKED_SHARE * locked.total)
        return false;
    for (size_t k = 0; k < r->n; k++) {
        struct diagnose_finding *f = &r->findings[k];
        if (strcmp(f->class_name, "lock-contention") != 0 || strcmp(f->culprit, locked.e[top].fn) != 0)
            continue;
        rules_add_line(f, METRIC_ORDERD_QUEUE_DEPTH " at >= %.0f%% of capacity for %.1fs from t=%.1fs, %.0f turned "
                       "away: %zu of %zu thread dumps caught busy workers waiting for this mutex (%.0f%% of their samples)",
                       DIAGNOSE_QUEUE_FILL * 100, ep->end - ep->start, ep->first_start, rejected, locked.e[top].samples,
                       ndumps, 100.0 * locked.e[top].count / locked.total);
        return true;
    }
    return false;
}

/* What busy workers did between start and end: every sample (busy), those waiting on
 * a condition (blocked), the dumps read and the share of busy samples blocked. Busy
 * workers caught where idle workers wait for work (idle) are idle under a stale label
 * (a loaded machine reads the label and the stack moments apart): not blocked. */
struct workers_seen {
    struct tally busy, blocked;
    size_t ndumps;
    double blocked_share;
};

static void workers_between(const struct rules_inputs *in, const struct tally *idle, double start, double end,
                            struct workers_seen *w)
{
    double stale = 0;
    w->ndumps = tally_dumps(&in->evidence.dumps, start, end, tally_busy_worker, tally_always, &w->busy);
    tally_dumps(&in->evidence.dumps, start, end, tally_busy_worker, tally_waits_cond, &w->blocked);
    for (size_t i = 0; i < w->blocked.n; i++)
        if (rules_tally_has(idle, w->blocked.e[i].fn))
            stale += w->blocked.e[i].count;
    w->blocked_share = w->blocked.total - stale > 0 ? (w->blocked.matched - stale) / (w->blocked.total - stale) : 0;
}

/* Whether a full queue was overload before its workers stalled in culprit fn from
 * stall_from: DIAGNOSE_OVERLOAD_FIRST_S and DIAGNOSE_OVERLOAD_FIRST_DUMPS of busy
 * workers doing their ordinary work between the queue filling and the stall, with work
 * turned away then. If so, adds the overload finding for that stretch. */
static bool overload_before_stall(const struct rules_inputs *in, struct diagnose_result *r, const struct episode *ep,
                                  const struct tally *idle, double stall_from)
{
    struct workers_seen w;
    struct episode before = *ep;
    double rejected;

    if (stall_from - ep->start < DIAGNOSE_OVERLOAD_FIRST_S)
        return false;
    before.end = stall_from - 1e-6;  /* the dump that caught the stall is the stall's */
    workers_between(in, idle, before.start, before.end, &w);
    rejected = series_increase(&in->rejected, before.start - 0.5, before.end);
    if (w.ndumps < DIAGNOSE_OVERLOAD_FIRST_DUMPS || w.busy.total <= 0 || rejected < 1 ||
        w.blocked_share >= DIAGNOSE_QUEUE_STALL_SHARE || served_dropped(in, &before))
        return false;
    add_overload(in, r, &before, rejected, &w.busy, w.ndumps);
    return true;
}

/* When busy workers were first caught waiting in fn, before the queue filled at
 * full_at: the stall that fills a queue shows in the dumps while it fills. The first
 * dump that caught it, if it did in at least half the dumps from then on; else full_at. */
static double stalled_since(const struct rules_inputs *in, const struct tally *idle, const char *fn, double full_at)
{
    struct workers_seen w;
    double since = NAN;

    workers_between(in, idle, 0, full_at - 1e-6, &w);
    for (size_t i = 0; i < w.blocked.n; i++)
        if (strcmp(w.blocked.e[i].fn, fn) == 0)
            since = w.blocked.e[i].first_t;
    if (isnan(since))
        return full_at;
    workers_between(in, idle, since, full_at - 1e-6, &w);
    for (size_t i = 0; i < w.blocked.n; i++)
        if (strcmp(w.blocked.e[i].fn, fn) == 0 && 2 * w.blocked.e[i].samples >= w.ndumps)
            return since;
    return full_at;
}

void rules_queue_full(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct episode ep = queue_episode(in);
    struct workers_seen w;
    struct tally idle;
    struct diagnose_finding *f;
    double rejected;
    long top;

    if (!ep.found) {
        /* A queue that fills in bursts between scrapes shows in what it turns away. */
        ep = episode_of_counter(&in->rejected, 0, DIAGNOSE_REJECT_RATE, DIAGNOSE_REJECT_WINDOWS);
        if (!ep.found) {
            workers_stalled(in, r);
            return;
        }
        ep.first_start = episode_refine_onset(&in->rejected, NULL, ep.first_start, DIAGNOSE_REJECT_RATE);
    }
    rejected = series_increase(&in->rejected, ep.start - 0.5, ep.end + 0.5);
    rules_idle_waits(in, &idle);
    workers_between(in, &idle, ep.start, ep.end, &w);
    /* A full queue whose producers are turned away, or whose consumers are stuck
     * waiting on something other than work: a queue merely busy is capacity, not a fault. */
    if (rejected < 1 && w.blocked_share < DIAGNOSE_QUEUE_BLOCKED_SHARE)
        return;
    /* Turned away while the workers do nothing but their ordinary work, as fast as
     * before the queue filled: overload. Workers that slowed down are not healthy. */
    if (w.blocked_share < DIAGNOSE_QUEUE_STALL_SHARE && !served_dropped(in, &ep)) {
        add_overload(in, r, &ep, rejected, &w.busy, w.ndumps);
        return;
    }
    top = rules_top_except(&w.blocked, &idle);
    if (top < 0 && queue_full_is_lock_wait(in, r, &ep, rejected))
        return;
    /* More offered than the workers could take, and later a stall on top: two
     * problems, each from its own start (the stall's: the first dump that caught it). */
    if (top >= 0 && overload_before_stall(in, r, &ep, &idle, w.blocked.e[top].first_t)) {
        ep.first_start = ep.start = w.blocked.e[top].first_t;
        rejected = series_increase(&in->rejected, ep.start - 0.5, ep.end + 0.5);
        workers_between(in, &idle, ep.start, ep.end, &w);
        top = rules_top_except(&w.blocked, &idle);
    }
    double stalled_from = top >= 0 ? stalled_since(in, &idle, w.blocked.e[top].fn, ep.first_start) : NAN;
    if (!(f = rules_new_finding(r, "queue-full", stalled_from < ep.first_start ? stalled_from : ep.first_start)))
        return;
    rules_add_line(f, METRIC_ORDERD_QUEUE_DEPTH " at >= %.0f%% of " METRIC_ORDERD_QUEUE_CAPACITY " for %.1fs from t=%.1fs",
        DIAGNOSE_QUEUE_FILL * 100,
             ep.end - ep.start, ep.first_start);
    if (stalled_from < ep.first_start)
        rules_add_line(f, "busy workers were caught waiting in %s from t=%.1fs, while the queue filled (depth %.0f then)",
                       w.blocked.e[top].fn, stalled_from, series_at(&in->depth, stalled_from));
    if (rejected >= 1)
        rules_add_line(f, METRIC_ORDERD_QUEUE_REJECTED ": %.0f requests turned away meanwhile", rejected);
    /* The culprit is where the busy workers wait instead of working (never where idle
     * workers wait for work, whatever a racy label says). */
    if (top >= 0) {
        rules_set_culprit(f, w.blocked.e[top].fn);
        rules_add_line(f, "%zu of %zu thread dumps in that time found busy workers waiting on a condition in %s (%.0f of %.0f busy-worker samples)",
                 w.blocked.e[top].samples, w.ndumps, w.blocked.e[top].fn, w.blocked.e[top].count, w.blocked.total);
        if (w.blocked.e[top].count >= 0.5 * w.blocked.matched)
            rules_corroborated(f);
        rules_add_line(f, "%.0f%% of busy-worker samples were waiting on a condition, not working", 100 * w.blocked_share);
        snprintf(f->summary, sizeof f->summary, "the queue stays full while workers sit in %s - from t=%.1fs, %.0f rejected",
                 w.blocked.e[top].fn, fmin(stalled_from, ep.first_start), rejected);
    } else {
        rules_add_line(f, "no thread dump of that time shows what the workers were doing");
        snprintf(f->summary, sizeof f->summary, "the queue stays full from t=%.1fs, %.0f rejected", ep.first_start,
                 rejected);
    }
}

/* The run's healthy CPU per request: the lowest of its first DIAGNOSE_CPU_BASELINE_WINDOWS
 * windows with requests (a slowdown switched on in the third still leaves one), or
 * NaN when it has fewer. */
static double cpu_baseline(const double *per_request, size_t n)
{
    double low = INFINITY;
    size_t seen = 0;
    for (size_t i = 0; i < n && seen < DIAGNOSE_CPU_BASELINE_WINDOWS; i++)
        if (!isnan(per_request[i])) {
            low = fmin(low, per_request[i]);
            seen++;
        }
    return seen == DIAGNOSE_CPU_BASELINE_WINDOWS && low > 0 ? low : NAN;
}

static double cpu_level(double base)
{
    return fmax(base * DIAGNOSE_CPU_REL_FACTOR, base + DIAGNOSE_CPU_REL_MIN);
}

/* The step of the CPU counter: DIAGNOSE_CPU_TICK_S when every reading is a whole
 * number of /proc's 10 ms ticks (runs recorded before loadlab read the process CPU
 * clock, and services whose own process_cpu_seconds_total counts ticks, as Go's and
 * Python's clients do), else 0: nanoseconds. */
static double cpu_counter_step(const struct series *cpu)
{
    size_t seen = 0;
    for (size_t i = 0; i < cpu->n; i++) {
        double ticks = cpu->v[i] / DIAGNOSE_CPU_TICK_S;
        if (isnan(ticks))
            continue;
        if (fabs(ticks - round(ticks)) > 1e-6)
            return 0;
        seen++;
    }
    return seen >= 2 ? DIAGNOSE_CPU_TICK_S : 0;
}

/* Whether the extra CPU of an episode against base is worth a finding: at least
 * DIAGNOSE_CPU_REL_MIN_CORE of a core beyond one step of the CPU counter. At a few
 * hundred requests a second, the capture's own dumps and snapshots move CPU per
 * request by more than a faint fault; and the base, the lowest of a few one-second
 * windows, may be a whole step of the counter low. */
static bool cpu_extra_counts(const struct rules_inputs *in, const struct episode *ep, const double *starts,
                             const double *req, size_t n, double base)
{
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (starts[i] >= ep->start && starts[i] < ep->end) {
            sum += req[i];
            k++;
        }
    return k && (ep->mean - base) * sum / (double)k - cpu_counter_step(&in->cpu) >= DIAGNOSE_CPU_REL_MIN_CORE;
}

/* The first finding of r that began in [from, to), or NULL. */
static struct diagnose_finding *finding_began_in(struct diagnose_result *r, double from, double to)
{
    for (size_t k = 0; k < r->n; k++)
        if (r->findings[k].started_at >= from && r->findings[k].started_at < to)
            return &r->findings[k];
    return NULL;
}

/* A step in CPU per request against the lowest of the DIAGNOSE_CPU_BASELINE_WINDOWS
 * windows before it, held for DIAGNOSE_CPU_REL_WINDOWS: a slowdown switched on while
 * another problem was under way. The base it was measured against goes in *base,
 * the start of its first window in *base_from. */
static struct episode cpu_step(const double *starts, const double *per_request, size_t n, double *base,
                               double *base_from)
{
    struct episode ep = {.first_start = NAN};
    for (size_t i = DIAGNOSE_CPU_BASELINE_WINDOWS; i + DIAGNOSE_CPU_REL_WINDOWS <= n; i++) {
        double low = INFINITY, sum = 0, peak = 0;
        size_t j;
        for (j = i - DIAGNOSE_CPU_BASELINE_WINDOWS; j < i; j++)
            if (!isnan(per_request[j]))
                low = fmin(low, per_request[j]);
        if (!isfinite(low) || low <= 0)
            continue;
        for (j = i; j < i + DIAGNOSE_CPU_REL_WINDOWS; j++) {
            if (isnan(per_request[j]) || per_request[j] < cpu_level(low))
                break;
            sum += per_request[j];
            peak = fmax(peak, per_request[j]);
        }
        if (j == i + DIAGNOSE_CPU_REL_WINDOWS) {
            ep = (struct episode){.found = true, .start = starts[i], .end = starts[j - 1] + DIAGNOSE_WINDOW_S,
                                  .first_start = starts[i], .mean = sum / DIAGNOSE_CPU_REL_WINDOWS, .peak = peak};
            *base = low;
            *base_from = starts[i - DIAGNOSE_CPU_BASELINE_WINDOWS];
            return ep;
        }
    }
    return ep;
}

/* Tallies into out the samples of episode ep that on_cpu picks: those of the CPU
 * profiles taken during it (from_profile) or the io threads' in its thread dumps.
 * Returns how many profiles or dumps were read. */
static size_t cpu_samples(const struct rules_inputs *in, const struct episode *ep, bool from_profile,
                          tally_filter on_cpu, struct tally *out)
{
    if (from_profile)
        return tally_dumps(&in->evidence.cpu, ep->start - DIAGNOSE_CPU_PROFILE_LEAD_S, ep->end + DIAGNOSE_WINDOW_S,
                           tally_not_debug, on_cpu, out);
    return tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_role_io, on_cpu, out);
}

/* The culprit of a CPU episode among the samples on_cpu picks: the top self-time
 * function of the service's own code in a CPU profile taken during the episode, which
 * samples only running threads and a hundred times a second; else the function io
 * threads were caught running in (not waiting, not in a read or write) across the
 * thread dumps. Returns its index in *running (-1: none), with *named when it stands
 * out, *from_profile when a profile named it and *ndumps the dumps read otherwise. */
static long cpu_culprit(const struct rules_inputs *in, const struct episode *ep, tally_filter on_cpu,
                        struct tally *running, bool *named, bool *from_profile, size_t *nprofiles, size_t *ndumps)
{
    struct tally idle;
    long top;
    /* Where idle workers wait for work is never the culprit: CPU there is the job
     * queue's handoff, waking workers to look for work, which grows with whatever else
     * loads the machine (queue_pop topped a CPU profile beside 1,100 leaked threads,
     * 23 of 45 samples, and was named cpu-slowdown in a fresh matrix). */
    rules_idle_waits(in, &idle);
    *ndumps = 0;
    *nprofiles = cpu_samples(in, ep, true, on_cpu, running);
    top = rules_top_except(running, &idle);
    *from_profile = top >= 0 && running->e[top].count >= DIAGNOSE_CPU_PROFILE_MIN_SAMPLES &&
                    running->e[top].count >= DIAGNOSE_CPU_SHARE * running->matched;
    if (!*from_profile) {
        *ndumps = cpu_samples(in, ep, false, on_cpu, running);
        top = rules_top_except(running, &idle);
    }
    *named = *from_profile || (top >= 0 && running->e[top].samples >= DIAGNOSE_CPU_MIN_SAMPLES &&
                               running->e[top].count >= DIAGNOSE_CPU_SHARE * running->matched);
    return top;
}

/* The thread leak found in r whose growth overlaps episode ep, or NULL. */
static struct diagnose_finding *thread_leak_during(struct diagnose_result *r, const struct episode *ep)
{
    for (size_t k = 0; k < r->n; k++)
        if (strcmp(r->findings[k].class_name, "thread-leak") == 0 && !isnan(r->findings[k].started_at) &&
            r->findings[k].started_at < ep->end + DIAGNOSE_WINDOW_S)
            return &r->findings[k];
    return NULL;
}

/* How many of culprit fn's samples (of the same evidence) are inside pthread_create. */
static double samples_starting_threads(const struct rules_inputs *in, const struct episode *ep, bool from_profile,
                                       const char *fn)
{
    struct tally starting;
    cpu_samples(in, ep, from_profile, tally_on_cpu_starting_thread, &starting);
    for (size_t i = 0; i < starting.n; i++)
        if (strcmp(starting.e[i].fn, fn) == 0)
            return starting.e[i].count;
    return 0;
}

void rules_cpu_slowdown(const struct rules_inputs *in, struct diagnose_result *r)
{
    static double starts[EPISODE_MAX_WINDOWS], req[EPISODE_MAX_WINDOWS], per_request[EPISODE_MAX_WINDOWS];
    static double clean[EPISODE_MAX_WINDOWS];
    size_t n = rules_cpu_windows(&in->cpu, &in->requests, in->from, starts, req, per_request, EPISODE_MAX_WINDOWS);
    struct episode ep;
    struct tally running;
    struct diagnose_finding *f;
    size_t ndumps = 0, nprofiles;
    long top;
    double level = DIAGNOSE_CPU_PER_REQUEST, base = NAN, step_from = NAN;
    bool need_culprit = false, stepped = false, named, from_profile;
    bool against_baseline = in->baseline && !isnan(in->baseline->cpu_per_request);

    ep = episode_find(starts, per_request, n, DIAGNOSE_CPU_PER_REQUEST, DIAGNOSE_CPU_WINDOWS);
    if (!ep.found) {
        /* Against the run's own healthy start. Other problems cost CPU of their own
         * (unwinding thousands of leaked threads, faulting in leaked pages, futex calls
         * on a contended lock): from when one started, the windows are no healthy
         * comparison. Overload is no such problem: healthy workers too few for the
         * load, whose turned-away requests are the cheapest there are (a faint slowdown
         * from the start under 32 order connections on 8 workers, overloaded from t=1
         * as its healthy twin was, was 2.3 times the twin's CPU per request and
         * reported as overload alone). */
        base = against_baseline ? in->baseline->cpu_per_request : cpu_baseline(per_request, n);
        for (size_t i = 0; i < n; i++) {
            clean[i] = per_request[i];
            for (size_t k = 0; k < r->n; k++)
                if (!isnan(r->findings[k].started_at) && starts[i] + DIAGNOSE_WINDOW_S > r->findings[k].started_at &&
                    strcmp(r->findings[k].class_name, "overload") != 0)
                    clean[i] = NAN;
        }
        if (!isnan(base)) {
            level = cpu_level(base);
            ep = episode_find(starts, clean, n, level, DIAGNOSE_CPU_REL_WINDOWS);
        }
        /* Or a lower absolute level, or a step while another problem is under way:
         * either then needs a function on the io threads to show for it that is not
         * another problem's. */
        if (!ep.found) {
            ep = episode_find(starts, per_request, n, DIAGNOSE_CPU_PER_REQUEST_NAMED, DIAGNOSE_CPU_REL_WINDOWS);
            need_culprit = ep.found;
            if (ep.found) {
                level = DIAGNOSE_CPU_PER_REQUEST_NAMED;
                base = NAN;
            }
        }
        if (!ep.found && r->n) {
            ep = cpu_step(starts, per_request, n, &base, &step_from);
            need_culprit = stepped = ep.found;
            if (ep.found)
                level = cpu_level(base);
        }
        if (!ep.found || (!isnan(base) && !cpu_extra_counts(in, &ep, starts, req, n, base)))
            return;
    }
    top = cpu_culprit(in, &ep, tally_on_cpu, &running, &named, &from_profile, &nprofiles, &ndumps);
    /* While threads leak, a culprit mostly inside pthread_create is the leak's cost of
     * starting them, said in its finding; what runs beside it, without those samples,
     * may still show a slowdown of its own. */
    struct diagnose_finding *leak = named ? thread_leak_during(r, &ep) : NULL;
    if (leak) {
        double starting = samples_starting_threads(in, &ep, from_profile, running.e[top].fn);
        if (starting >= 0.5 * running.e[top].count) {
            rules_add_line(leak, "starting the leaked threads costs CPU: %.0f of %.0f %s in %s from t=%.1fs are "
                           "inside pthread_create", starting, running.e[top].count,
                           from_profile ? "CPU-profile samples" : "on-CPU dump samples", running.e[top].fn,
                           ep.first_start);
            top = cpu_culprit(in, &ep, tally_on_cpu_not_starting_thread, &running, &named, &from_profile,
                              &nprofiles, &ndumps);
            if (!named || rules_culprit_taken(r, running.e[top].fn))
                return;
            need_culprit = true;
        }
    }
    if (need_culprit && (!named || rules_culprit_taken(r, running.e[top].fn)))
        return;
    /* A step from windows in which another problem began (its base or its first) is
     * that problem's cost: a contended lock's futex calls, a leak's page faults, fewer
     * requests to spread the capture's own cost over. lock.cache switched on beside a
     * stall doubled CPU per request, 46 to 90 us, and the CPU profile's top function
     * was an ordinary one (orders_parse_request, 5 of 16 samples). */
    struct diagnose_finding *began = stepped ? finding_began_in(r, step_from, ep.start + DIAGNOSE_WINDOW_S) : NULL;
    if (began) {
        rules_add_line(began, "CPU per request rose with it: %.0fus before t=%.1fs, %.1fx that after (%s tops the %s)",
                       base * 1e6, ep.start, ep.mean / base, running.e[top].fn,
                       from_profile ? "CPU profile" : "io threads' on-CPU samples");
        return;
    }
    ep.first_start = episode_refine_onset(&in->cpu, &in->requests, ep.first_start, level);
    if (!(f = rules_new_finding(r, "cpu-slowdown", ep.first_start)))
        return;
    rules_add_line(f, "CPU per request: %.2fms from t=%.1fs (peak %.2fms; %s over " METRIC_ORDERD_HTTP_REQUESTS ")",
        ep.mean * 1e3,
             ep.first_start, ep.peak * 1e3, in->cpu.n ? "process CPU seconds" : "-");
    if (!isnan(base) && against_baseline && !need_culprit)
        rules_add_line(f, "against baseline %s (%zu runs of %s): %.0fus per request (run medians %.0f-%.0fus), %.1fx "
                       "that here", in->baseline->label, in->baseline->runs, in->baseline->scenario, base * 1e6,
                       in->baseline->cpu_low * 1e6, in->baseline->cpu_high * 1e6, ep.mean / base);
    else if (!isnan(base))
        rules_add_line(f, "against the run's own %s: %.0fus per request before, %.1fx that after",
                 need_culprit ? "windows just before" : "healthy start", base * 1e6, ep.mean / base);
    if (from_profile) {
        rules_set_culprit(f, running.e[top].fn);
        rules_add_line(f, "CPU profile%s from t=%.1fs: %s is the top function of the service's own code by self "
                       "time, %.0f of %.0f samples on CPU outside system calls (%.0f%%)", nprofiles == 1 ? "" : "s",
                       running.e[top].first_t, running.e[top].fn, running.e[top].count, running.matched,
                       100.0 * running.e[top].count / running.matched);
        rules_corroborated(f);
        snprintf(f->summary, sizeof f->summary, "CPU goes to %s - %.2fms of CPU per request from t=%.1fs",
                 running.e[top].fn, ep.mean * 1e3, ep.first_start);
    } else if (named) {
        rules_set_culprit(f, running.e[top].fn);
        rules_add_line(f, "%zu of %zu thread dumps caught an io thread running in %s (%.0f%% of on-CPU io-thread samples)",
                 running.e[top].samples, ndumps, running.e[top].fn, 100.0 * running.e[top].count / running.matched);
        if (running.e[top].samples * 3 >= ndumps)
            rules_corroborated(f);
        snprintf(f->summary, sizeof f->summary, "io threads burn CPU in %s - %.2fms of CPU per request from t=%.1fs",
                 running.e[top].fn, ep.mean * 1e3, ep.first_start);
    } else {
        rules_add_line(f, "no function stands out on running io threads in %zu thread dumps", ndumps);
        snprintf(f->summary, sizeof f->summary, "%.2fms of CPU per request from t=%.1fs", ep.mean * 1e3,
            ep.first_start);
    }
}
