/* rules_waits: the rules for threads that wait instead of working - lock-contention
 * (lock-wait seconds per second, with idle workers waiting for work, producers and
 * workers handing jobs over at a queue that keeps up, and rare long waits set aside;
 * the contended lock and where threads wait for it) and
 * blocked-producer (request threads waiting on a condition instead of answering). */
#include "diagnose/rules_internal.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/episode.h"
#include "judge/thresholds.h"
#include "store/samples.h"

/* How many times a second the lock labels names was found taken over the episode
 * (orderd_mutex_contentions_total); infinite when the service does not count them. */
static double contentions_per_s(const struct rules_inputs *in, const char *labels, const struct episode *ep)
{
    struct series c = {0};
    char err[256];
    double rate = INFINITY;
    if (rules_load_sum(in, METRIC_ORDERD_MUTEX_CONTENTIONS, labels, &c, err, sizeof err) == 0 &&
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
    double rate;      /* the episode's level: DIAGNOSE_LOCK_RATE, or the faint one */
    size_t windows;
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
    s->p = rules_top_except(&s->prof, &s->idle);
    /* Idle workers caught queueing for the job queue's lock say nothing of another lock
     * that the mutex profile charges most of its contention to, where other threads
     * were caught waiting too. */
    if (s->p >= 0 && s->prof.e[s->p].count >= DIAGNOSE_LOCK_HOLDER_SHARE * s->prof.total) {
        struct tally others;
        tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_not_idle_worker,
                    tally_waits_mutex, &others);
        if (rules_tally_has(&others, s->prof.e[s->p].fn) && !rules_tally_has(&s->idle, s->prof.e[s->p].fn))
            return false;
    }
    if (s->explained)
        return waiters.matched <= idle_waiters.matched && s->p < 0;
    if (waiters.matched > 0)
        return idle_waiters.matched >= DIAGNOSE_LOCK_IDLE_SHARE * waiters.matched;
    long any = rules_top_except(&s->prof, NULL);
    return any >= 0 && rules_tally_has(&s->idle, s->prof.e[any].fn);
}

/* The source file of function fn: that of the first frame of it in the snapshots,
 * "" when none has one. Owned by the snapshots. */
static const char *source_of(const struct tally_snapshots *snaps, const char *fn)
{
    for (size_t d = 0; d < snaps->n; d++)
        for (size_t i = 0; i < proftext_count(snaps->items[d].p); i++) {
            const struct proftext_entry *e = proftext_entry(snaps->items[d].p, i);
            for (size_t k = 0; k < e->nframes; k++)
                if (strcmp(e->frames[k].function, fn) == 0 && e->frames[k].file[0])
                    return e->frames[k].file;
        }
    return "";
}

/* True when the episode's work went on undelayed: the job queue never filled and
 * turned nothing away. */
static bool work_undelayed(const struct rules_inputs *in, const struct episode *ep)
{
    double top = 0, capacity = 0;
    for (size_t i = 0; i < in->depth.n; i++)
        if (in->depth.t[i] >= ep->start && in->depth.t[i] <= ep->end)
            top = fmax(top, in->depth.v[i]);
    for (size_t i = 0; i < in->capacity.n; i++)
        capacity = fmax(capacity, in->capacity.v[i]);
    return series_increase(&in->rejected, ep->start, ep->end) < 1 && (capacity <= 0 || top < DIAGNOSE_QUEUE_FILL * capacity);
}

/* The share of the mutex profile's contention charged to holders in source file
 * file (the profile charges a wait to the stack that unlocked the mutex); 0 when the
 * profile is empty. */
static double holders_share_in(const struct rules_inputs *in, const struct tally *prof, const char *file)
{
    double in_file = 0;
    if (prof->total <= 0)
        return 0;
    for (size_t i = 0; i < prof->n; i++)
        if (strcmp(source_of(&in->evidence.mutex, prof->e[i].fn), file) == 0)
            in_file += prof->e[i].count;
    return in_file / prof->total;
}

/* Whether the wait on the episode's lock is the job queue's handoff: the threads
 * other than idle workers caught waiting for a mutex in it wait where idle workers
 * wait for work, or in the same source file (the producers pushing jobs:
 * queue_try_push beside queue_pop) - or, when the dumps caught none, the mutex
 * profile's top holder is there - the mutex profile charges no more than
 * DIAGNOSE_LOCK_HOLDER_SHARE to a holder elsewhere, and either the queue kept up or
 * the profile charges at least DIAGNOSE_LOCK_QUEUE_SHARE of its contention to the
 * queue's own code. Such a lock is held only to hand a job over: on a full queue
 * turning work away, producers queue at its mutex behind each other's push, which
 * is the queue's overload (the queue rule's finding), not a lock held too long. */
static bool lock_is_queue_handoff(const struct rules_inputs *in, const struct lock_search *s)
{
    struct tally waiters;
    const struct episode *ep = &s->ep;
    long idle_top = tally_top(&s->idle), holder = rules_top_except(&s->prof, &s->idle);
    const char *queue_file;
    double at_queue = 0;
    bool held_by_queue;

    if (idle_top < 0 || !*(queue_file = source_of(&in->evidence.dumps, s->idle.e[idle_top].fn)))
        return false;
    /* The mutex profile covers every lock and charges each wait to its holder: when it
     * charges nearly all of it to the queue's own push and pop, threads the dumps caught
     * waiting for a mutex elsewhere (stalled workers taking their own lock back after a
     * wait) were not held up long by anyone. */
    held_by_queue = holders_share_in(in, &s->prof, queue_file) >= DIAGNOSE_LOCK_QUEUE_SHARE;
    /* Idle workers are left out: their wait is no delay, and may be on another lock. */
    tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_not_idle_worker, tally_waits_mutex,
                &waiters);
    for (size_t i = 0; i < waiters.n; i++)
        if (rules_tally_has(&s->idle, waiters.e[i].fn) ||
            strcmp(source_of(&in->evidence.dumps, waiters.e[i].fn), queue_file) == 0)
            at_queue += waiters.e[i].count;
    if (!held_by_queue && waiters.matched > 0 && at_queue < DIAGNOSE_LOCK_QUEUE_SHARE * waiters.matched)
        return false;
    /* With no waiter caught, the mutex profile's top holder must be the queue's own. */
    if (waiters.matched <= 0 && (holder < 0 || strcmp(source_of(&in->evidence.mutex, s->prof.e[holder].fn),
                                                      queue_file) != 0))
        return false;
    if (holder >= 0 && s->prof.e[holder].count >= DIAGNOSE_LOCK_HOLDER_SHARE * s->prof.total &&
        strcmp(source_of(&in->evidence.mutex, s->prof.e[holder].fn), queue_file) != 0)
        return false;
    return work_undelayed(in, ep) || held_by_queue;
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
        s->ep = episode_of_counter(&s->total, 0, s->rate, s->windows);
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
        if (lock_is_work_wait(in, s)) {
            lock_set_aside(s, top_lock, span, "its waiters are idle workers waiting for work");
            s->explained = true;
            continue;
        }
        if (!lock_is_queue_handoff(in, s))
            break;
        lock_set_aside(s, top_lock, span, "its waiters are idle workers and producers at the job queue, its holders the "
                       "queue's own push and pop: a handoff, not a lock held too long");
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
        struct episode mine = episode_of_counter(mine_s, 0, s->rate, s->windows);
        if (mine.found) {
            s->ep.first_start = episode_refine_onset(mine_s, NULL, mine.first_start, s->rate);
            return;
        }
    }
    s->ep.first_start = episode_refine_onset(&s->total, NULL, s->ep.first_start, s->rate);
}

/* Whether a faint episode names a lock held too long: the mutex profile's top holder
 * outside where idle workers wait has DIAGNOSE_LOCK_HOLDER_SHARE of it, or the dumps
 * caught threads other than idle workers waiting for a mutex in one function in
 * DIAGNOSE_LOCK_FAINT_DUMPS of them - and that function is not in the job queue's
 * source file (its handoff). */
static bool lock_faint_named(const struct rules_inputs *in, const struct lock_search *s)
{
    struct tally dumps;
    long idle_top = tally_top(&s->idle), d;
    const char *queue_file = idle_top >= 0 ? source_of(&in->evidence.dumps, s->idle.e[idle_top].fn) : "";

    /* Most of the faint wait at orderd's job queue is its handoff, whoever the profile
     * charges it to: with every worker busy no idle wait shows where the queue's code
     * is, and producers queueing behind each other's push at a full queue reach the
     * faint level (0.02 s/s on a healthy overloaded run). */
    if (s->lock_i >= 0 && strcmp(s->locks.items[s->lock_i].name, ORDERD_QUEUE_LOCK) == 0)
        return false;

    if (s->p >= 0 && s->prof.e[s->p].count >= DIAGNOSE_LOCK_HOLDER_SHARE * s->prof.total)
        return !*queue_file || strcmp(source_of(&in->evidence.mutex, s->prof.e[s->p].fn), queue_file) != 0;
    tally_dumps(&in->evidence.dumps, s->ep.start, s->ep.end + DIAGNOSE_WINDOW_S, tally_not_idle_worker,
                tally_waits_mutex, &dumps);
    d = tally_top(&dumps);
    return s->p < 0 && d >= 0 && dumps.e[d].samples >= DIAGNOSE_LOCK_FAINT_DUMPS &&
           (!*queue_file || strcmp(source_of(&in->evidence.dumps, dumps.e[d].fn), queue_file) != 0);
}

/* Decimals that show seconds of wait a second to two significant digits down to a
 * millisecond: 0.07, 0.0066. */
static int seconds_digits(double x)
{
    return x >= 0.01 || x <= 0 ? 2 : 4;
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
    if (!(f = rules_new_finding(r, "lock-contention", ep->first_start)))
        return;
    rules_add_line(f, METRIC_ORDERD_MUTEX_WAIT ": %.*fs of lock wait per second from t=%.1fs (peak %.*f)%s%s",
                   seconds_digits(ep->mean), ep->mean, ep->first_start, seconds_digits(ep->peak), ep->peak,
                   s->lock[0] ? ", most on " : "", s->lock);
    if (s->set_aside[0])
        rules_add_line(f, "%s (%.2fs/s over the run) set aside: %s", s->set_aside, s->set_aside_wait, s->set_aside_why);
    ndumps = tally_dumps(&in->evidence.dumps, ep->start, ep->end + DIAGNOSE_WINDOW_S, tally_not_idle_worker,
                         tally_waits_mutex, &dumps);
    d = tally_top(&dumps);
    if (p >= 0) {
        rules_set_culprit(f, prof->e[p].fn);
        rules_add_line(f, "mutex?debug=1 at t=%.2fs: %.0f%% of the sampled contention is in %s (%.3fs of %.3fs)", s->last->t,
                 100.0 * prof->e[p].count / prof->total, prof->e[p].fn, prof->e[p].count / 1e9, prof->total / 1e9);
    }
    if (d >= 0) {
        if (p < 0)
            rules_set_culprit(f, dumps.e[d].fn);
        if (p < 0 || strcmp(dumps.e[d].fn, prof->e[p].fn) == 0) {
            rules_add_line(f, "%zu of %zu thread dumps caught threads waiting for a mutex in %s (%.0f thread samples)",
                     dumps.e[d].samples, ndumps, dumps.e[d].fn, dumps.e[d].count);
            if (p >= 0)
                rules_corroborated(f);
        }
    }
    if (p >= 0 || d >= 0)
        snprintf(f->summary, sizeof f->summary, "threads queue for a mutex in %s - %.*fs of lock wait per second from "
                 "t=%.1fs", p >= 0 ? prof->e[p].fn : dumps.e[d].fn, seconds_digits(ep->mean), ep->mean,
                 ep->first_start);
    else
        snprintf(f->summary, sizeof f->summary, "%.*fs of lock wait per second from t=%.1fs%s%s",
                 seconds_digits(ep->mean), ep->mean, ep->first_start, s->lock[0] ? " on " : "", s->lock);
}

static void lock_search_free(struct lock_search *s)
{
    if (!s)
        return;
    free(s->kept.items);
    series_release(&s->total);
    series_release(&s->ticks);
    series_set_release(&s->locks);
    free(s);
}

/* A new search over the run's locks, with the last mutex profile and where idle
 * workers wait; NULL when out of memory or the lock series cannot be read. Free it
 * with lock_search_free. */
static struct lock_search *lock_search_new(const struct rules_inputs *in)
{
    struct lock_search *s = calloc(1, sizeof *s);
    char err[256];

    if (!s)
        return NULL;
    s->lock_i = s->p = -1;
    if (rules_load_by(in, METRIC_ORDERD_MUTEX_WAIT, "lock", &s->locks, err, sizeof err) < 0 ||
        samples_ticks(in->db, in->run_id, &s->ticks, err, sizeof err) < 0 ||
        !(s->kept.items = calloc(s->locks.n + 1, sizeof *s->kept.items))) {
        lock_search_free(s);
        return NULL;
    }
    for (size_t i = 0; i < in->evidence.mutex.n; i++)
        if (proftext_count(in->evidence.mutex.items[i].p))
            s->last = &in->evidence.mutex.items[i];
    if (s->last)
        tally_profile(&s->prof, s->last->p, 0, s->last->t);
    /* Where idle workers wait for work: on the queue's condition, in its pop. */
    rules_idle_waits(in, &s->idle);
    return s;
}

/* Lock wait is contention only when someone waits for a lock another holds too
 * long. Idle workers queueing for the job queue's lock to learn there is no work
 * are waiting for work: a lock whose waiters are those (the mutex profile's top is
 * where idle workers wait, or most threads caught waiting for a mutex are idle
 * workers) is set aside, and the episode looked for again in the other locks. */
void rules_lock_contention(const struct rules_inputs *in, struct diagnose_result *r)
{
    struct lock_search *s = lock_search_new(in);

    if (!s)
        return;
    s->rate = DIAGNOSE_LOCK_RATE;
    s->windows = DIAGNOSE_LOCK_WINDOWS;
    if (!lock_find_episode(in, s, r->span)) {
        /* A lock held too long by few threads at once (two connections) waits less:
         * a fainter level, held longer, and only with a function named for it. */
        memset(s->excluded, 0, sizeof s->excluded);
        s->explained = false;
        s->set_aside[0] = '\0';
        s->lock_i = s->p = -1;
        s->rate = DIAGNOSE_LOCK_FAINT_RATE;
        s->windows = DIAGNOSE_LOCK_FAINT_WINDOWS;
        if (!lock_find_episode(in, s, r->span) || !lock_faint_named(in, s))
            goto done;
    }
    lock_date_onset(s);
    lock_report(in, s, r);
done:
    lock_search_free(s);
}

/* The windows of one lock: wait seconds and contentions per second in each. */
struct lock_windows {
    double starts[EPISODE_MAX_WINDOWS], wait[EPISODE_MAX_WINDOWS], taken[EPISODE_MAX_WINDOWS];
    size_t n;
};

/* Fills w with wait's and taken's one-second windows, on the same starts. */
static void lock_windows_of(const struct rules_inputs *in, const struct series *wait, const struct series *taken,
                            struct lock_windows *w)
{
    static double starts2[EPISODE_MAX_WINDOWS];
    double from;
    size_t m;

    w->n = 0;
    if (wait->n < 2 || taken->n < 2)
        return;
    from = fmax(in->from, fmax(wait->t[0], taken->t[0]));
    w->n = series_counter_windows(wait, from, DIAGNOSE_WINDOW_S, w->starts, w->wait, EPISODE_MAX_WINDOWS);
    m = series_counter_windows(taken, from, DIAGNOSE_WINDOW_S, starts2, w->taken, EPISODE_MAX_WINDOWS);
    if (m < w->n)
        w->n = m;
}

/* The job queue's wait per contention over [start, end), or NaN when it was found
 * taken under DIAGNOSE_LOCK_MIN_CONTENTIONS times a second there. */
static double queue_wait_per_contention(const struct series_set *locks, const struct series_set *taken,
                                        double start, double end)
{
    const struct series *w = NULL, *c = NULL;
    double times;
    for (size_t i = 0; i < locks->n; i++)
        if (strcmp(locks->items[i].name, ORDERD_QUEUE_LOCK) == 0)
            w = &locks->items[i];
    for (size_t i = 0; i < taken->n; i++)
        if (strcmp(taken->items[i].name, ORDERD_QUEUE_LOCK) == 0)
            c = &taken->items[i];
    if (!w || !c || (times = series_increase(c, start, end)) < DIAGNOSE_LOCK_MIN_CONTENTIONS * (end - start))
        return NAN;
    return series_increase(w, start, end) / times;
}

/* The first DIAGNOSE_LOCK_HELD_WINDOWS windows of w in a row in which the lock was
 * held long each time it was taken (see thresholds.h), as an episode whose mean is
 * the wait per second; not found when none. */
static struct episode lock_held_episode(const struct lock_windows *w, const struct series_set *locks,
                                        const struct series_set *taken)
{
    struct episode ep = {.first_start = NAN};
    for (size_t i = 0; i + DIAGNOSE_LOCK_HELD_WINDOWS <= w->n; i++) {
        double wait = 0, times = 0, peak = 0, queue;
        size_t j;
        for (j = i; j < i + DIAGNOSE_LOCK_HELD_WINDOWS; j++) {
            if (!(w->taken[j] >= DIAGNOSE_LOCK_HELD_CONTENTIONS) || w->wait[j] < DIAGNOSE_LOCK_HELD_WAIT * w->taken[j])
                break;
            wait += w->wait[j];
            times += w->taken[j];
            peak = fmax(peak, w->wait[j]);
        }
        if (j < i + DIAGNOSE_LOCK_HELD_WINDOWS || wait / DIAGNOSE_LOCK_HELD_WINDOWS < DIAGNOSE_LOCK_HELD_RATE)
            continue;
        queue = queue_wait_per_contention(locks, taken, w->starts[i], w->starts[j - 1] + DIAGNOSE_WINDOW_S);
        if (!isnan(queue) && wait / times < DIAGNOSE_LOCK_HELD_FACTOR * queue)
            continue;
        ep = (struct episode){.found = true, .start = w->starts[i], .end = w->starts[j - 1] + DIAGNOSE_WINDOW_S,
                              .first_start = w->starts[i], .mean = wait / DIAGNOSE_LOCK_HELD_WINDOWS, .peak = peak};
        return ep;
    }
    return ep;
}

void rules_lock_held_long(const struct rules_inputs *in, struct diagnose_result *r)
{
    static struct lock_windows w;
    struct series_set taken = {0};
    struct lock_search *s;
    struct tally dumps;
    double per_contention = 0, times = 0, best_wait = 0;
    const char *culprit = NULL;
    char err[256];

    for (size_t k = 0; k < r->n; k++)
        if (strcmp(r->findings[k].class_name, "lock-contention") == 0)
            return;
    if (!(s = lock_search_new(in)))
        return;
    if (rules_load_by(in, METRIC_ORDERD_MUTEX_CONTENTIONS, "lock", &taken, err, sizeof err) < 0)
        goto done;
    /* The lock that waited most in such an episode; the job queue's lock is held only to
     * hand a job over, and its waits are the scheduler's. */
    for (size_t i = 0; i < s->locks.n; i++) {
        const struct series *c = NULL;
        struct episode ep;
        if (strcmp(s->locks.items[i].name, ORDERD_QUEUE_LOCK) == 0)
            continue;
        for (size_t k = 0; k < taken.n && !c; k++)
            if (strcmp(taken.items[k].name, s->locks.items[i].name) == 0)
                c = &taken.items[k];
        if (!c)
            continue;
        lock_windows_of(in, &s->locks.items[i], c, &w);
        ep = lock_held_episode(&w, &s->locks, &taken);
        if (ep.found && ep.mean > best_wait) {
            best_wait = ep.mean;
            s->ep = ep;
            s->lock_i = (long)i;
            times = series_increase(c, ep.start, ep.end);
            per_contention = series_increase(&s->locks.items[i], ep.start, ep.end) / fmax(times, 1);
        }
    }
    if (s->lock_i < 0)
        goto done;
    snprintf(s->lock, sizeof s->lock, "{lock=\"%s\"}", s->locks.items[s->lock_i].name);
    s->p = rules_top_except(&s->prof, &s->idle);
    if (!lock_faint_named(in, s))
        goto done;
    /* The culprit lock_report names: the mutex profile's, else the dumps'. Another
     * finding's (a stalled worker taking its own lock back) is that finding's. */
    tally_dumps(&in->evidence.dumps, s->ep.start, s->ep.end + DIAGNOSE_WINDOW_S, tally_not_idle_worker,
                tally_waits_mutex, &dumps);
    if (s->p >= 0)
        culprit = s->prof.e[s->p].fn;
    else if (tally_top(&dumps) >= 0)
        culprit = dumps.e[tally_top(&dumps)].fn;
    if (!culprit || rules_culprit_taken(r, culprit))
        goto done;
    lock_report(in, s, r);
    if (r->n && strcmp(r->findings[r->n - 1].class_name, "lock-contention") == 0)
        rules_add_line(&r->findings[r->n - 1],
                       "%s waited %.0fus each time it was found taken (%.0f times a second) from t=%.1fs: held long "
                       "each time, however few wait for it", s->lock, per_contention * 1e6,
                       times / (s->ep.end - s->ep.start), s->ep.first_start);
done:
    series_set_release(&taken);
    lock_search_free(s);
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
    /* orderd marks blocking that holds work up wait="delay"; runs recorded before it
     * split idle waiting out have the site alone. */
    snprintf(labels, sizeof labels, "{site=\"%s\",wait=\"delay\"}", io_waits.e[top].fn);
    memset(&site, 0, sizeof site);
    if (rules_load_sum(in, METRIC_ORDERD_BLOCK_SECONDS, labels, &site, err, sizeof err) == 0 &&
        site.n == 0) {
        series_release(&site);
        snprintf(labels, sizeof labels, "{site=\"%s\"}", io_waits.e[top].fn);
        if (rules_load_sum(in, METRIC_ORDERD_BLOCK_SECONDS, labels, &site, err, sizeof err) < 0)
            site.n = 0;
    }
    if (site.n > 0) {
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
    if (!(f = rules_new_finding(r, "blocked-producer", started)))
        return;
    rules_set_culprit(f, io_waits.e[top].fn);
    rules_add_line(f, "%zu of %zu thread dumps caught request (io) threads waiting on a condition in %s (%.0f%% of io-thread samples)",
             io_waits.e[top].samples, ndumps, io_waits.e[top].fn, 100.0 * io_waits.e[top].count / io_waits.total);
    if (ep.found) {
        rules_add_line(f, METRIC_ORDERD_BLOCK_SECONDS "%s: %.2fs blocked per second from t=%.1fs", labels, ep.mean,
                 ep.first_start);
        rules_corroborated(f);
    }
    snprintf(f->summary, sizeof f->summary, "request threads block in %s instead of answering - from t=%.1fs",
             io_waits.e[top].fn, started);
}
