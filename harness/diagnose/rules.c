/* rules: the six rules that name a run's problems. See rules.h; the thresholds and
 * why they sit where they do are in docs/diagnosis.md. */
#include "diagnose/rules.h"
#include "metric_names.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/episode.h"
#include "judge/thresholds.h"
#include "store/samples.h"
#include "units.h"

static struct diagnose_finding *new_finding(struct diagnose_result *r, const char *class_name, double started)
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

__attribute__((format(printf, 2, 3)))
static void add_line(struct diagnose_finding *f, const char *fmt, ...)
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

static void set_culprit(struct diagnose_finding *f, const char *fn)
{
    snprintf(f->culprit, sizeof f->culprit, "%s", fn);
    f->confidence += 0.3;
}

static void corroborated(struct diagnose_finding *f)
{
    f->confidence = fmin(1.0, f->confidence + 0.2);
}

void rules_thread_leak(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct episode ep = episode_of_gauge(&in->threads, 0, DIAGNOSE_THREADS_RATE, DIAGNOSE_THREADS_WINDOWS);
    double from, peak, growth, slope;
    struct tally first = {0}, last = {0};
    const struct tally_snapshot *a = NULL, *b = NULL;
    struct diagnose_finding *f;
    long best = -1;
    double best_gain = 0;
    bool by_level = false;
    /* a Go service's leak is goroutines, counted by its goroutine profile */
    bool go = in->threads_metric && strcmp(in->threads_metric, METRIC_GO_GOROUTINES) == 0;
    const char *what = go ? "goroutines" : "threads", *dump = go ? "goroutine?debug=1" : "threads?debug=1";

    if (!in->threads.n)
        return;
    if (!ep.found) {
        /* A leak that hit its cap before it climbed for long is found by the level it
         * holds: far above the run's lowest count, and still there at the end. */
        double low = series_min(&in->threads), end = in->threads.v[in->threads.n - 1];
        ep = episode_of_gauge(&in->threads, 0, DIAGNOSE_THREADS_RATE, 1);
        if (!ep.found || end - low < DIAGNOSE_THREADS_LEVEL_GROWTH)
            return;
        by_level = true;
    }
    ep.first_start = episode_refine_onset(&in->threads, NULL, ep.first_start, DIAGNOSE_THREADS_RATE);
    from = by_level ? series_min(&in->threads) : series_at(&in->threads, ep.first_start);
    peak = series_max(&in->threads);
    growth = peak - from;
    if (growth < DIAGNOSE_THREADS_MIN_GROWTH)
        return;
    slope = growth / fmax(ep.end - ep.first_start, DIAGNOSE_WINDOW_S);
    if (!(f = new_finding(r, "thread-leak", ep.first_start)))
        return;
    add_line(f, "%s: %.0f -> %.0f %s, +%.1f/s from t=%.1fs", in->threads_metric, from, peak, what, slope,
             ep.first_start);
    if (by_level)
        add_line(f, "the count stopped climbing within %.0f s but holds %.0f %s above the run's lowest to the end",
                 DIAGNOSE_THREADS_WINDOWS * DIAGNOSE_WINDOW_S, in->threads.v[in->threads.n - 1] - from, what);
    /* The group that grew between the first dump and the fullest one. */
    for (size_t d = 0; d < in->evidence.dumps.n; d++) {
        const struct tally_snapshot *s = &in->evidence.dumps.items[d];
        if (!a)
            a = s;
        if (!b || proftext_total(s->p) >= proftext_total(b->p))
            b = s;
    }
    if (a && b && a != b) {
        tally_profile(&first, a->p, 0, a->t);
        tally_profile(&last, b->p, 0, b->t);
        for (size_t i = 0; i < last.n; i++) {
            double before = 0;
            for (size_t j = 0; j < first.n; j++)
                if (strcmp(first.e[j].fn, last.e[i].fn) == 0)
                    before = first.e[j].count;
            if (last.e[i].count - before > best_gain) {
                best_gain = last.e[i].count - before;
                best = (long)i;
            }
        }
    }
    if (best >= 0 && best_gain >= 0.3 * growth && best_gain >= DIAGNOSE_THREADS_MIN_GROWTH / 2) {
        double before = last.e[best].count - best_gain;
        set_culprit(f, last.e[best].fn);
        add_line(f, "%s at t=%.2fs: %.0f of %.0f %s are in %s", dump, b->t, last.e[best].count, last.total, what,
                 last.e[best].fn);
        add_line(f, "that group grew from %.0f at t=%.2fs to %.0f at t=%.2fs, while no other grew as much",
                 before, a->t, last.e[best].count, b->t);
        if (best_gain >= 0.8 * (proftext_total(b->p) - proftext_total(a->p)))
            corroborated(f);
        snprintf(f->summary, sizeof f->summary, "%.0f %s share one stack ending in %s - grew %.1f/s from t=%.1fs",
                 last.e[best].count, what, last.e[best].fn, slope, ep.first_start);
    } else {
        add_line(f, "no group of %s in the dumps accounts for the growth", what);
        snprintf(f->summary, sizeof f->summary, "%s grew %.1f/s from t=%.1fs (%.0f -> %.0f)", what, slope,
                 ep.first_start, from, peak);
    }
}

/* The heap culprit: the site whose live bytes grew most between the first and the
 * last heap profile that attribute anything (or the largest, with one profile). */
static long heap_culprit(const struct rules_inputs *in, struct tally *first, struct tally *last,
                         const struct tally_snapshot **a, const struct tally_snapshot **b, double *gain)
{
    long best = -1;
    *a = *b = NULL;
    *gain = 0;
    for (size_t i = 0; i < in->evidence.heap.n; i++) {
        struct tally t = {0};
        tally_profile(&t, in->evidence.heap.items[i].p, 1, in->evidence.heap.items[i].t);
        if (tally_top(&t) < 0)
            continue;
        if (!*a) {
            *a = &in->evidence.heap.items[i];
            *first = t;
        }
        *b = &in->evidence.heap.items[i];
        *last = t;
    }
    if (!*b)
        return -1;
    for (size_t i = 0; i < last->n; i++) {
        double before = 0;
        if (*a != *b)
            for (size_t j = 0; j < first->n; j++)
                if (strcmp(first->e[j].fn, last->e[i].fn) == 0)
                    before = first->e[j].count;
        if (last->e[i].count - before > *gain) {
            *gain = last->e[i].count - before;
            best = (long)i;
        }
    }
    return *gain >= DIAGNOSE_HEAP_MIN_GROWTH ? best : -1;
}

/* Bytes of a heap tally no site of the service's own accounts for (allocations made
 * before profiling was switched on, in orderd's heapprof_unprofiled). */
static double unattributed(const struct tally *t)
{
    double named = 0;
    for (size_t i = 0; i < t->n; i++)
        named += t->e[i].count;
    return t->total - named;
}

/* The first one-second window of gauge s that climbed at DIAGNOSE_RSS_RATE and at half
 * the steepest window's rate or more, as an episode of that one window. */
static struct episode level_onset(const struct series *s)
{
    static double starts[EPISODE_MAX_WINDOWS], rates[EPISODE_MAX_WINDOWS];
    size_t n = series_gauge_windows(s, 0, DIAGNOSE_WINDOW_S, starts, rates, EPISODE_MAX_WINDOWS);
    double peak = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(rates[i]))
            peak = fmax(peak, rates[i]);
    return episode_find(starts, rates, n, fmax(DIAGNOSE_RSS_RATE, peak / 2), 1);
}

void rules_memory_leak(const struct rules_inputs *in, struct diagnose_result *r, bool threads_leaked)
{
    struct episode ep = episode_of_gauge(&in->rss, DIAGNOSE_STARTUP_S, DIAGNOSE_RSS_RATE, DIAGNOSE_RSS_WINDOWS);
    struct tally first = {0}, last = {0};
    const struct tally_snapshot *a, *b;
    struct diagnose_finding *f;
    double gain, from, peak, held = 0;
    char x[32], y[32], z[32], w[32];
    long best;
    bool by_level = false, blind;

    if (in->rss.n < 2)
        return;
    best = heap_culprit(in, &first, &last, &a, &b, &gain);
    /* A heap profile whose bytes are mostly from before profiling began cannot clear a site. */
    blind = b && unattributed(&last) >= DIAGNOSE_HEAP_LEVEL;
    if (!ep.found) {
        /* A leak that hit its cap fast is found by what it holds: one site far above
         * what the first profile showed (or holding most of the heap), or a resident
         * set that rose far above the run's lowest and stays there. */
        long top = b ? tally_top(&last) : -1;
        double rise = in->rss.v[in->rss.n - 1] - series_min(&in->rss);
        if (top >= 0 && last.e[top].count >= DIAGNOSE_HEAP_LEVEL && last.e[top].count >= 0.5 * (last.total - unattributed(&last))) {
            best = top;
            held = last.e[top].count;
        } else if (best >= 0 && gain >= DIAGNOSE_HEAP_LEVEL) {
            held = gain;
        } else if (!(rise >= DIAGNOSE_RSS_LEVEL_GROWTH && !threads_leaked && (!b || blind))) {
            return;
        } else {
            best = -1;
        }
        /* Dated by the first window that climbed at half the steepest one's rate: a
         * capped leak fills fast, faster than any start-up. */
        ep = level_onset(&in->rss);
        if (!ep.found)
            return;
        by_level = true;
    }
    ep.first_start = episode_refine_onset(&in->rss, NULL, ep.first_start, DIAGNOSE_RSS_RATE);
    /* Memory that grows with no heap site behind it, while threads leak, is their stacks. */
    if (best < 0 && ((b && !blind) || threads_leaked))
        return;
    from = by_level ? series_min(&in->rss) : series_at(&in->rss, ep.first_start);
    peak = series_max(&in->rss);
    if (!(f = new_finding(r, "memory-leak", ep.first_start)))
        return;
    add_line(f, "%s: %s -> %s, +%s/s from t=%.1fs (%.1fs at over %s/s)", in->rss_metric,
             units_format_size(from, x, sizeof x), units_format_size(peak, y, sizeof y),
             units_format_size(ep.mean, z, sizeof z), ep.first_start, ep.end - ep.start,
             units_format_size(DIAGNOSE_RSS_RATE, w, sizeof w));
    if (by_level)
        add_line(f, "the growth stopped (a cap) but the level holds: %s above the run's lowest at the end",
                 units_format_size(in->rss.v[in->rss.n - 1] - from, x, sizeof x));
    if (best < 0) {
        add_line(f, "%s", blind ? "the heap profiles took most of these bytes before profiling began: no site to name"
                                : "no heap profile in the evidence to name the allocation site");
        snprintf(f->summary, sizeof f->summary, "resident memory grew %s/s from t=%.1fs",
                 units_format_size(ep.mean, x, sizeof x), ep.first_start);
        return;
    }
    set_culprit(f, last.e[best].fn);
    add_line(f, "heap?debug=1 at t=%.2fs: %s live allocated in %s (%.0f%% of the profiled heap)", b->t,
             units_format_size(last.e[best].count, x, sizeof x), last.e[best].fn,
             100.0 * last.e[best].count / last.total);
    if (a != b && gain >= DIAGNOSE_HEAP_MIN_GROWTH) {
        add_line(f, "it gained %s since the heap profile at t=%.2fs", units_format_size(gain, x, sizeof x), a->t);
        corroborated(f);
    } else if (by_level && held > 0) {
        add_line(f, "one site holding %s is far above any steady state of the service", units_format_size(held, x,
            sizeof x));
    }
    snprintf(f->summary, sizeof f->summary, "%s live in allocations from %s - resident memory grew %s/s from t=%.1fs",
             units_format_size(last.e[best].count, x, sizeof x), last.e[best].fn,
             units_format_size(ep.mean, y, sizeof y), ep.first_start);
}

/* True when fn is one of t's culprits. */
static bool tally_has(const struct tally *t, const char *fn)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].fn, fn) == 0)
            return true;
    return false;
}

/* Where idle workers wait for work (their culprit when labelled idle and waiting on a
 * condition: queue_pop) into idle. A function busy workers are caught waiting in more
 * often than idle ones is no such place: a label read a moment before or after the
 * stack can be stale, and a stalled worker is not an idle one. */
static void idle_waits(const struct rules_inputs *in, struct tally *idle)
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
static long top_except(const struct tally *t, const struct tally *skip)
{
    long best = -1;
    for (size_t i = 0; i < t->n; i++)
        if ((!skip || !tally_has(skip, t->e[i].fn)) && t->e[i].count > 0 && (best < 0 || t->e[i].count > t->e[best].count))
            best = (long)i;
    return best;
}

/* How many times a second the lock labels names was found taken over the episode
 * (orderd_mutex_contentions_total); infinite when the service does not count them. */
static double contentions_per_s(const struct rules_inputs *in, const char *labels, const struct episode *ep)
{
    struct series c = {0};
    char err[256];
    double rate = INFINITY;
    if (samples_load_sum(in->db, in->run_id, METRIC_ORDERD_MUTEX_CONTENTIONS, labels, &c, err, sizeof err) == 0 &&
        c.n >= 2)
        rate = series_increase(&c, ep->start, ep->end) / fmax(ep->end - ep->start, DIAGNOSE_WINDOW_S);
    series_release(&c);
    return rate;
}

/* What the search for a contended lock found and holds: the lock series, the
 * mutex profile, where idle workers wait, and the lock most waited for. */
struct lock_search {
    struct series_set locks, kept;
    struct series ticks, total;
    struct tally prof, idle;
    const struct tally_snapshot *last;
    struct episode ep;
    bool excluded[SERIES_MAX_GROUPS + 1], explained;
    char lock[SERIES_MAX_NAME + 16], set_aside[SERIES_MAX_NAME + 16], set_aside_why[128];
    long lock_i, p;
    double set_aside_wait;
};

/* Sets lock top_lock aside (why says why), so the episode is looked for again in
 * the other locks. */
static void lock_set_aside(struct lock_search *s, long top_lock, double span, const char *why)
{
    s->excluded[top_lock] = true;
    snprintf(s->set_aside, sizeof s->set_aside, "%s", s->lock);
    snprintf(s->set_aside_why, sizeof s->set_aside_why, "%s", why);
    s->set_aside_wait = series_increase(&s->locks.items[top_lock], 0, INFINITY) / fmax(span, DIAGNOSE_WINDOW_S);
    s->ep.found = false;
}

/* Whether the wait on the episode's lock is idle workers waiting for work: the
 * threads caught waiting in the episode say first, the mutex profile (not split by
 * lock) when the dumps caught none. Sets s->p, the profile's culprit outside where
 * idle workers wait (the culprit is never there), or -1. */
static bool lock_is_work_wait(const struct rules_inputs *in, struct lock_search *s)
{
    struct tally waiters, idle_waiters;
    const struct episode *ep = &s->ep;
    tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_always, tally_waits_mutex, &waiters);
    tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_idle_worker, tally_waits_mutex,
                &idle_waiters);
    s->p = top_except(&s->prof, &s->idle);
    if (s->explained)
        return waiters.matched <= idle_waiters.matched && s->p < 0;
    if (waiters.matched > 0)
        return idle_waiters.matched >= DIAGNOSE_LOCK_IDLE_SHARE * waiters.matched;
    long any = top_except(&s->prof, NULL);
    return any >= 0 && tally_has(&s->idle, s->prof.e[any].fn);
}

/* Looks for the episode of lock wait and the lock most waited for in it, setting
 * aside locks taken too rarely to be contended and locks idle workers wait on.
 * Returns whether a contended lock's episode was found (in s->ep, s->lock_i). */
static bool lock_find_episode(const struct rules_inputs *in, struct lock_search *s, double span)
{
    for (size_t round = 0; round <= s->locks.n; round++) {
        long top_lock = -1;
        double top_rise = 0;
        s->kept.n = 0;
        for (size_t i = 0; i < s->locks.n; i++)
            if (!s->excluded[i])
                s->kept.items[s->kept.n++] = s->locks.items[i];
        series_release(&s->total);
        if (!s->kept.n || series_sum(&s->kept, &s->ticks, &s->total) < 0)
            return false;
        s->ep = episode_of_counter(&s->total, 0, DIAGNOSE_LOCK_RATE, DIAGNOSE_LOCK_WINDOWS);
        if (!s->ep.found)
            return false;
        for (size_t i = 0; i < s->locks.n; i++) {
            double rise = s->excluded[i] ? 0 : series_increase(&s->locks.items[i], s->ep.start, s->ep.end);
            if (rise > top_rise) {
                top_rise = rise;
                top_lock = (long)i;
            }
        }
        if (top_lock < 0)
            return false;
        snprintf(s->lock, sizeof s->lock, "{lock=\"%s\"}", s->locks.items[top_lock].name);
        s->lock_i = top_lock;
        /* A lock found taken a few times a second, each time for long, is a holder
         * descheduled on a busy machine, not a lock held too long by its users. */
        if (contentions_per_s(in, s->lock, &s->ep) < DIAGNOSE_LOCK_MIN_CONTENTIONS) {
            char why[128];
            snprintf(why, sizeof why,
                     "found taken under %.0f times a second: a holder descheduled, not a lock held too long",
                     DIAGNOSE_LOCK_MIN_CONTENTIONS);
            lock_set_aside(s, top_lock, span, why);
            continue;
        }
        if (!lock_is_work_wait(in, s))
            break;
        lock_set_aside(s, top_lock, span, "its waiters are idle workers waiting for work");
        s->explained = true;
    }
    return s->ep.found;
}

/* Dates the episode's onset. Unless a lock was set aside for idle workers, by the
 * lock most waited for in it: another lock may have had a brief episode of its own
 * earlier (the queue's, while threads are spawned). */
static void lock_date_onset(struct lock_search *s)
{
    if (!s->explained) {
        const struct series *mine_s = &s->locks.items[s->lock_i];
        struct episode mine = episode_of_counter(mine_s, 0, DIAGNOSE_LOCK_RATE, DIAGNOSE_LOCK_WINDOWS);
        if (mine.found) {
            s->ep.first_start = episode_refine_onset(mine_s, NULL, mine.first_start, DIAGNOSE_LOCK_RATE);
            return;
        }
    }
    s->ep.first_start = episode_refine_onset(&s->total, NULL, s->ep.first_start, DIAGNOSE_LOCK_RATE);
}

/* Adds the lock-contention finding for the episode found, with its culprit from
 * the mutex profile and the thread dumps. */
static void lock_report(const struct rules_inputs *in, const struct lock_search *s, struct diagnose_result *r)
{
    const struct episode *ep = &s->ep;
    const struct tally *prof = &s->prof;
    struct tally dumps;
    struct diagnose_finding *f;
    long p = s->p, d;
    size_t ndumps;
    if (!(f = new_finding(r, "lock-contention", ep->first_start)))
        return;
    add_line(f, METRIC_ORDERD_MUTEX_WAIT ": %.2fs of lock wait per second from t=%.1fs (peak %.2f)%s%s", ep->mean,
             ep->first_start, ep->peak, s->lock[0] ? ", most on " : "", s->lock);
    if (s->set_aside[0])
        add_line(f, "%s (%.2fs/s over the run) set aside: %s", s->set_aside, s->set_aside_wait, s->set_aside_why);
    ndumps = tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_not_idle_worker,
                         tally_waits_mutex, &dumps);
    d = tally_top(&dumps);
    if (p >= 0) {
        set_culprit(f, prof->e[p].fn);
        add_line(f, "mutex?debug=1 at t=%.2fs: %.0f%% of the sampled contention is in %s (%.3fs of %.3fs)", s->last->t,
                 100.0 * prof->e[p].count / prof->total, prof->e[p].fn, prof->e[p].count / 1e9, prof->total / 1e9);
    }
    if (d >= 0) {
        if (p < 0)
            set_culprit(f, dumps.e[d].fn);
        if (p < 0 || strcmp(dumps.e[d].fn, prof->e[p].fn) == 0) {
            add_line(f, "%zu of %zu thread dumps caught threads waiting for a mutex in %s (%.0f thread samples)",
                     dumps.e[d].samples, ndumps, dumps.e[d].fn, dumps.e[d].count);
            if (p >= 0)
                corroborated(f);
        }
    }
    if (p >= 0 || d >= 0)
        snprintf(f->summary, sizeof f->summary, "threads queue for a mutex in %s - %.2fs of lock wait per second from t=%.1fs",
                 p >= 0 ? prof->e[p].fn : dumps.e[d].fn, ep->mean, ep->first_start);
    else
        snprintf(f->summary, sizeof f->summary, "%.2fs of lock wait per second from t=%.1fs%s%s", ep->mean,
                 ep->first_start, s->lock[0] ? " on " : "", s->lock);
}

/* Lock wait is contention only when someone waits for a lock another holds too
 * long. Idle workers queueing for the job queue's lock to learn there is no work
 * are waiting for work: a lock whose waiters are those (the mutex profile's top is
 * where idle workers wait, or most threads caught waiting for a mutex are idle
 * workers) is set aside, and the episode looked for again in the other locks. */
void rules_lock_contention(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct lock_search *s = calloc(1, sizeof *s);
    char err[256];

    if (!s)
        return;
    s->lock_i = s->p = -1;
    if (samples_load(in->db, in->run_id, METRIC_ORDERD_MUTEX_WAIT, "lock", &s->locks, err, sizeof err) < 0 ||
        samples_ticks(in->db, in->run_id, &s->ticks, err, sizeof err) < 0 ||
        !(s->kept.items = calloc(s->locks.n + 1, sizeof *s->kept.items)))
        goto done;
    for (size_t i = 0; i < in->evidence.mutex.n; i++)
        if (proftext_count(in->evidence.mutex.items[i].p))
            s->last = &in->evidence.mutex.items[i];
    if (s->last)
        tally_profile(&s->prof, s->last->p, 0, s->last->t);
    /* Where idle workers wait for work: on the queue's condition, in its pop. */
    idle_waits(in, &s->idle);
    if (!lock_find_episode(in, s, r->span))
        goto done;
    lock_date_onset(s);
    lock_report(in, s, r);
done:
    free(s->kept.items);
    series_release(&s->total);
    series_release(&s->ticks);
    series_set_release(&s->locks);
    free(s);
}

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

    if (!(f = new_finding(r, "overload", ep->first_start)))
        return;
    if (samples_load_sum(in->db, in->run_id, METRIC_ORDERD_QUEUE_ENQUEUED, NULL, &enqueued, err, sizeof err) == 0 &&
        enqueued.n >= 2)
        served = series_increase(&enqueued, ep->start, ep->end) / span;
    series_release(&enqueued);
    add_line(f, METRIC_ORDERD_QUEUE_DEPTH " at >= %.0f%% of " METRIC_ORDERD_QUEUE_CAPACITY " for %.1fs from t=%.1fs",
             DIAGNOSE_QUEUE_FILL * 100, ep->end - ep->start, ep->first_start);
    if (!isnan(served))
        add_line(f, "offered %.0f jobs/s, served %.0f/s (" METRIC_ORDERD_QUEUE_ENQUEUED "), %.0f/s turned away "
                 "(" METRIC_ORDERD_QUEUE_REJECTED ")", served + rejected / span, served, rejected / span);
    else
        add_line(f, METRIC_ORDERD_QUEUE_REJECTED ": %.0f requests turned away meanwhile", rejected);
    tally_dumps(&in->evidence.dumps, ep->start, ep->end, tally_role_worker, tally_idle_worker, &workers);
    busy_share = workers.total > 0 ? 1.0 - workers.matched / workers.total : NAN;
    if (!isnan(busy_share)) {
        long top = tally_top(busy);
        add_line(f, "%zu thread dumps in that time: workers busy in %.0f%% of worker samples, doing their ordinary "
                 "work%s%s, none waiting on anything but it", ndumps, 100 * busy_share, top >= 0 ? " in " : "",
                 top >= 0 ? busy->e[top].fn : "");
        if (busy_share >= 0.8)
            corroborated(f);
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
    if (samples_load_sum(in->db, in->run_id, METRIC_ORDERD_QUEUE_ENQUEUED, NULL, &enqueued, err, sizeof err) == 0 &&
        enqueued.n >= 2 && ep->start - before_from >= DIAGNOSE_WINDOW_S) {
        before = series_increase(&enqueued, before_from, ep->start) / (ep->start - before_from);
        during = series_increase(&enqueued, ep->start, ep->end) / fmax(ep->end - ep->start, DIAGNOSE_WINDOW_S);
    }
    series_release(&enqueued);
    return !isnan(before) && before > 0 && during < DIAGNOSE_QUEUE_SLOWER * before;
}

/* Workers stalled with the queue still keeping up: enough workers absorb a stall, so
 * the queue never fills, but the busy workers are caught waiting on a condition in one
 * function - not in their work - in most of their samples from when it first showed. */
static void workers_stalled(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct tally all, since, idle;
    struct diagnose_finding *f;
    size_t ndumps;
    long top, k = -1;

    /* Where idle workers wait for work is never the stall, whatever a racy label says. */
    idle_waits(in, &idle);
    tally_dumps(&in->evidence.dumps, 0, INFINITY, tally_busy_worker, tally_waits_cond, &all);
    top = top_except(&all, &idle);
    if (top < 0 || all.e[top].samples < DIAGNOSE_STALL_MIN_SAMPLES)
        return;
    ndumps = tally_dumps(&in->evidence.dumps, all.e[top].first_t, INFINITY, tally_busy_worker, tally_waits_cond,
        &since);
    for (size_t i = 0; i < since.n; i++)
        if (strcmp(since.e[i].fn, all.e[top].fn) == 0)
            k = (long)i;
    if (k < 0 || since.e[k].count < DIAGNOSE_QUEUE_BLOCKED_SHARE * since.total ||
        !(f = new_finding(r, "queue-full", all.e[top].first_t)))
        return;
    set_culprit(f, since.e[k].fn);
    add_line(f, "%zu of %zu thread dumps from t=%.1fs caught busy workers waiting on a condition in %s "
             "(%.0f%% of busy-worker samples), not in their work", since.e[k].samples, ndumps, all.e[top].first_t,
             since.e[k].fn, 100.0 * since.e[k].count / since.total);
    add_line(f, METRIC_ORDERD_QUEUE_DEPTH " never reached %.0f%% of capacity: enough workers absorb the stall, for now",
             DIAGNOSE_QUEUE_FILL * 100);
    snprintf(f->summary, sizeof f->summary, "workers stall in %s from t=%.1fs; the queue keeps up only because "
             "there are workers to spare", since.e[k].fn, all.e[top].first_t);
}

void rules_queue_full(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct episode ep = queue_episode(in);
    struct tally busy, blocked, idle;
    struct diagnose_finding *f;
    double rejected, blocked_share;
    size_t ndumps;
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
    ndumps = tally_dumps(&in->evidence.dumps, ep.start, ep.end, tally_busy_worker, tally_always, &busy);
    tally_dumps(&in->evidence.dumps, ep.start, ep.end, tally_busy_worker, tally_waits_cond, &blocked);
    blocked_share = blocked.total > 0 ? blocked.matched / blocked.total : 0;
    /* A full queue whose producers are turned away, or whose consumers are stuck
     * waiting on something other than work: a queue merely busy is capacity, not a fault. */
    if (rejected < 1 && blocked_share < DIAGNOSE_QUEUE_BLOCKED_SHARE)
        return;
    /* Turned away while the workers do nothing but their ordinary work, as fast as
     * before the queue filled: overload. Workers that slowed down are not healthy. */
    if (blocked_share < DIAGNOSE_QUEUE_STALL_SHARE && !served_dropped(in, &ep)) {
        add_overload(in, r, &ep, rejected, &busy, ndumps);
        return;
    }
    if (!(f = new_finding(r, "queue-full", ep.first_start)))
        return;
    add_line(f, METRIC_ORDERD_QUEUE_DEPTH " at >= %.0f%% of " METRIC_ORDERD_QUEUE_CAPACITY " for %.1fs from t=%.1fs",
        DIAGNOSE_QUEUE_FILL * 100,
             ep.end - ep.start, ep.first_start);
    if (rejected >= 1)
        add_line(f, METRIC_ORDERD_QUEUE_REJECTED ": %.0f requests turned away meanwhile", rejected);
    /* The culprit is where the busy workers wait instead of working (never where idle
     * workers wait for work, whatever a racy label says). */
    idle_waits(in, &idle);
    top = top_except(&blocked, &idle);
    if (top >= 0) {
        set_culprit(f, blocked.e[top].fn);
        add_line(f, "%zu of %zu thread dumps in that time found busy workers waiting on a condition in %s (%.0f of %.0f busy-worker samples)",
                 blocked.e[top].samples, ndumps, blocked.e[top].fn, blocked.e[top].count, blocked.total);
        if (blocked.e[top].count >= 0.5 * blocked.matched)
            corroborated(f);
        add_line(f, "%.0f%% of busy-worker samples were waiting on a condition, not working", 100 * blocked_share);
        snprintf(f->summary, sizeof f->summary, "the queue stays full while workers sit in %s - from t=%.1fs, %.0f rejected",
                 blocked.e[top].fn, ep.first_start, rejected);
    } else {
        add_line(f, "no thread dump of that time shows what the workers were doing");
        snprintf(f->summary, sizeof f->summary, "the queue stays full from t=%.1fs, %.0f rejected", ep.first_start,
                 rejected);
    }
}

void rules_blocked_producer(const struct rules_inputs *in, struct diagnose_result *r)
{
        struct tally io_waits;
    struct diagnose_finding *f;
    struct series site;
    struct episode ep = {0};
    char labels[300], err[256];
    size_t ndumps = tally_dumps(&in->evidence.dumps, 0, INFINITY, tally_role_io, tally_waits_cond, &io_waits);
    long top = tally_top(&io_waits);
    double started;

    if (top < 0 || io_waits.e[top].samples < DIAGNOSE_PRODUCER_MIN_SAMPLES)
        return;
    started = io_waits.e[top].first_t;
    /* The blocking site of the same name, if the service counts one, confirms it and
     * dates it better. */
    snprintf(labels, sizeof labels, "{site=\"%s\"}", io_waits.e[top].fn);
    if (samples_load_sum(in->db, in->run_id, METRIC_ORDERD_BLOCK_SECONDS, labels, &site, err, sizeof err) == 0) {
        ep = episode_of_counter(&site, 0, DIAGNOSE_BLOCK_RATE, DIAGNOSE_PRODUCER_BLOCK_WINDOWS);
        if (ep.found)
            ep.first_start = episode_refine_onset(&site, NULL, ep.first_start, DIAGNOSE_BLOCK_RATE);
        series_release(&site);
        if (ep.found && ep.first_start < started)
            started = ep.first_start;
    }
    /* Seen often, or seen now and then while the site's blocking time says it lasted. */
    if (io_waits.e[top].count < DIAGNOSE_PRODUCER_SHARE * io_waits.total && !ep.found)
        return;
    if (!(f = new_finding(r, "blocked-producer", started)))
        return;
    set_culprit(f, io_waits.e[top].fn);
    add_line(f, "%zu of %zu thread dumps caught request (io) threads waiting on a condition in %s (%.0f%% of io-thread samples)",
             io_waits.e[top].samples, ndumps, io_waits.e[top].fn, 100.0 * io_waits.e[top].count / io_waits.total);
    if (ep.found) {
        add_line(f, METRIC_ORDERD_BLOCK_SECONDS "%s: %.2fs blocked per second from t=%.1fs", labels, ep.mean,
                 ep.first_start);
        corroborated(f);
    }
    snprintf(f->summary, sizeof f->summary, "request threads block in %s instead of answering - from t=%.1fs",
             io_waits.e[top].fn, started);
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

/* Whether the extra CPU of an episode against base is worth a finding: at least
 * DIAGNOSE_CPU_REL_MIN_CORE of a core. At a few hundred requests a second, the
 * capture's own dumps and snapshots move CPU per request by more than a faint fault. */
static bool cpu_extra_counts(const struct episode *ep, const double *starts, const double *req, size_t n, double base)
{
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (starts[i] >= ep->start && starts[i] < ep->end) {
            sum += req[i];
            k++;
        }
    return k && (ep->mean - base) * sum / (double)k >= DIAGNOSE_CPU_REL_MIN_CORE;
}

/* A step in CPU per request against the lowest of the DIAGNOSE_CPU_BASELINE_WINDOWS
 * windows before it, held for DIAGNOSE_CPU_REL_WINDOWS: a slowdown switched on while
 * another problem was under way. The base it was measured against goes in *base. */
static struct episode cpu_step(const double *starts, const double *per_request, size_t n, double *base)
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
            return ep;
        }
    }
    return ep;
}

/* True when fn is the culprit of a finding in r already. */
static bool culprit_taken(const struct diagnose_result *r, const char *fn)
{
    for (size_t k = 0; k < r->n; k++)
        if (strcmp(r->findings[k].culprit, fn) == 0)
            return true;
    return false;
}

void rules_cpu_slowdown(const struct rules_inputs *in, struct diagnose_result *r)
{
    static double starts[EPISODE_MAX_WINDOWS], cpu[EPISODE_MAX_WINDOWS], req_starts[EPISODE_MAX_WINDOWS];
    static double req[EPISODE_MAX_WINDOWS], per_request[EPISODE_MAX_WINDOWS], clean[EPISODE_MAX_WINDOWS];
    /* Both series on the same windows: a counter appears with its first event. */
    double from = in->cpu.n && in->requests.n ? fmax(DIAGNOSE_STARTUP_S, fmax(in->cpu.t[0], in->requests.t[0])) : 0;
    size_t n = series_counter_windows(&in->cpu, from, DIAGNOSE_WINDOW_S, starts, cpu, EPISODE_MAX_WINDOWS);
    size_t m = series_counter_windows(&in->requests, from, DIAGNOSE_WINDOW_S, req_starts, req, EPISODE_MAX_WINDOWS);
    struct episode ep;
    struct tally running;
    struct diagnose_finding *f;
    size_t ndumps;
    long top;
    double level = DIAGNOSE_CPU_PER_REQUEST, base = NAN;
    bool need_culprit = false, named;

    if (n > m)
        n = m;
    for (size_t i = 0; i < n; i++)
        per_request[i] = req[i] >= DIAGNOSE_CPU_MIN_RATE && starts[i] == req_starts[i] ? cpu[i] / req[i] : NAN;
    ep = episode_find(starts, per_request, n, DIAGNOSE_CPU_PER_REQUEST, DIAGNOSE_CPU_WINDOWS);
    if (!ep.found) {
        /* Against the run's own healthy start. Other problems cost CPU of their own
         * (unwinding thousands of leaked threads, faulting in leaked pages, futex calls
         * on a contended lock): from when one started, the windows are no healthy
         * comparison. */
        base = cpu_baseline(per_request, n);
        for (size_t i = 0; i < n; i++) {
            clean[i] = per_request[i];
            for (size_t k = 0; k < r->n; k++)
                if (!isnan(r->findings[k].started_at) && starts[i] + DIAGNOSE_WINDOW_S > r->findings[k].started_at)
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
            ep = cpu_step(starts, per_request, n, &base);
            need_culprit = ep.found;
            if (ep.found)
                level = cpu_level(base);
        }
        if (!ep.found || (!isnan(base) && !cpu_extra_counts(&ep, starts, req, n, base)))
            return;
    }
    /* The culprit from the thread dumps: io threads caught running (not waiting, not
     * in a read or write). Seam: a CPU profile taken during the episode
     * (/debug/pprof/profile, once the capture keeps one as evidence) samples only
     * running threads and far more often; when there is one, its top culprit is the
     * better source, and a faint slowdown the dumps catch two or three times needs it. */
    ndumps = tally_dumps(&in->evidence.dumps, ep.start, ep.end + DIAGNOSE_WINDOW_S, tally_role_io, tally_on_cpu,
        &running);
    top = tally_top(&running);
    named = top >= 0 && running.e[top].samples >= DIAGNOSE_CPU_MIN_SAMPLES &&
            running.e[top].count >= DIAGNOSE_CPU_SHARE * running.matched;
    if (need_culprit && (!named || culprit_taken(r, running.e[top].fn)))
        return;
    ep.first_start = episode_refine_onset(&in->cpu, &in->requests, ep.first_start, level);
    if (!(f = new_finding(r, "cpu-slowdown", ep.first_start)))
        return;
    add_line(f, "CPU per request: %.2fms from t=%.1fs (peak %.2fms; %s over " METRIC_ORDERD_HTTP_REQUESTS ")",
        ep.mean * 1e3,
             ep.first_start, ep.peak * 1e3, in->cpu.n ? "process CPU seconds" : "-");
    if (!isnan(base))
        add_line(f, "against the run's own %s: %.0fus per request before, %.1fx that after",
                 need_culprit ? "windows just before" : "healthy start", base * 1e6, ep.mean / base);
    if (named) {
        set_culprit(f, running.e[top].fn);
        add_line(f, "%zu of %zu thread dumps caught an io thread running in %s (%.0f%% of on-CPU io-thread samples)",
                 running.e[top].samples, ndumps, running.e[top].fn, 100.0 * running.e[top].count / running.matched);
        if (running.e[top].samples * 3 >= ndumps)
            corroborated(f);
        snprintf(f->summary, sizeof f->summary, "io threads burn CPU in %s - %.2fms of CPU per request from t=%.1fs",
                 running.e[top].fn, ep.mean * 1e3, ep.first_start);
    } else {
        add_line(f, "no function stands out on running io threads in %zu thread dumps", ndumps);
        snprintf(f->summary, sizeof f->summary, "%.2fms of CPU per request from t=%.1fs", ep.mean * 1e3,
            ep.first_start);
    }
}
