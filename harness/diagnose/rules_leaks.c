/* rules_leaks: the two leak rules, thread-leak and memory-leak. Each finds its
 * gauge climbing (a slope) or holding far above the run's start or a baseline's runs
 * (a level), then the culprit in the evidence: the group of threads, or the heap
 * site, that grew. */
#include "diagnose/rules_internal.h"
#include "metric_names.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "diagnose/episode.h"
#include "judge/thresholds.h"
#include "units.h"

/* The most threads the baseline's runs reached; NaN without a baseline. */
static double base_threads(const struct rules_inputs *in)
{
    return in->baseline ? in->baseline->threads : NAN;
}

/* The most resident bytes the baseline's runs held; NaN without a baseline. */
static double base_rss(const struct rules_inputs *in)
{
    return in->baseline ? in->baseline->rss : NAN;
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
    bool by_level = false, by_baseline = false;
    /* a Go service's leak is goroutines, counted by its goroutine profile */
    bool go = in->threads_metric && strcmp(in->threads_metric, METRIC_GO_GOROUTINES) == 0;
    const char *what = go ? "goroutines" : "threads", *dump = go ? "goroutine?debug=1" : "threads?debug=1";

    if (!in->threads.n)
        return;
    if (!ep.found) {
        /* A leak that hit its cap before it climbed for long is found by the level it
         * holds: far above the run's lowest count (or above anything the baseline's
         * runs reached), and still there at the end. */
        double low = series_min(&in->threads), end = in->threads.v[in->threads.n - 1];
        ep = episode_of_gauge(&in->threads, 0, DIAGNOSE_THREADS_RATE, 1);
        if (base_threads(in) > 0 && end - base_threads(in) >= DIAGNOSE_THREADS_BASELINE_MARGIN) {
            by_baseline = true;
            if (!ep.found)  /* at that level from the first scrape */
                ep = (struct episode){.found = true, .start = in->threads.t[0], .first_start = in->threads.t[0],
                                      .end = in->threads.t[in->threads.n - 1]};
        } else if (!ep.found || end - low < DIAGNOSE_THREADS_LEVEL_GROWTH) {
            return;
        }
        by_level = true;
    }
    ep.first_start = episode_refine_onset(&in->threads, NULL, ep.first_start, DIAGNOSE_THREADS_RATE);
    from = by_baseline ? base_threads(in) : by_level ? series_min(&in->threads) : series_at(&in->threads, ep.first_start);
    peak = series_max(&in->threads);
    growth = peak - from;
    if (growth < DIAGNOSE_THREADS_MIN_GROWTH)
        return;
    slope = growth / fmax(ep.end - ep.first_start, DIAGNOSE_WINDOW_S);
    if (!(f = rules_new_finding(r, "thread-leak", ep.first_start)))
        return;
    rules_add_line(f, "%s: %.0f -> %.0f %s, +%.1f/s from t=%.1fs", in->threads_metric, from, peak, what, slope,
             ep.first_start);
    if (by_baseline)
        rules_add_line(f, "the count holds %.0f %s to the end, %.0f above the most baseline %s's %zu runs of %s reached "
                       "(%.0f)", in->threads.v[in->threads.n - 1], what, in->threads.v[in->threads.n - 1] - from,
                       in->baseline->label, in->baseline->runs, in->baseline->scenario, from);
    else if (by_level)
        rules_add_line(f, "the count stopped climbing within %.0f s but holds %.0f %s above the run's lowest to the end",
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
    if (!(best >= 0 && best_gain >= 0.3 * growth) && (by_level || by_baseline)) {
        /* A leak at its cap before the first dump grew in none of them: the group that
         * holds the level - most of the threads above the run's lowest count parked in
         * one stack - is its culprit. */
        long top;
        if (b && b == a)
            tally_profile(&last, b->p, 0, b->t);
        top = tally_top(&last);
        if (top >= 0 && last.e[top].count >= DIAGNOSE_THREADS_LEVEL_SHARE * growth) {
            rules_set_culprit(f, last.e[top].fn);
            rules_add_line(f, "%s at t=%.2fs: %.0f of %.0f %s are in %s, the level held above the run's lowest",
                           dump, b->t, last.e[top].count, last.total, what, last.e[top].fn);
            snprintf(f->summary, sizeof f->summary, "%.0f %s parked in one stack ending in %s - held from t=%.1fs",
                     last.e[top].count, what, last.e[top].fn, ep.first_start);
            return;
        }
    }
    if (best >= 0 && best_gain >= 0.3 * growth && best_gain >= DIAGNOSE_THREADS_MIN_GROWTH / 2) {
        double before = last.e[best].count - best_gain;
        rules_set_culprit(f, last.e[best].fn);
        rules_add_line(f, "%s at t=%.2fs: %.0f of %.0f %s are in %s", dump, b->t, last.e[best].count, last.total, what,
                 last.e[best].fn);
        rules_add_line(f, "that group grew from %.0f at t=%.2fs to %.0f at t=%.2fs, while no other grew as much",
                 before, a->t, last.e[best].count, b->t);
        if (best_gain >= 0.8 * (proftext_total(b->p) - proftext_total(a->p)))
            rules_corroborated(f);
        snprintf(f->summary, sizeof f->summary, "%.0f %s share one stack ending in %s - grew %.1f/s from t=%.1fs",
                 last.e[best].count, what, last.e[best].fn, slope, ep.first_start);
    } else {
        rules_add_line(f, "no group of %s in the dumps accounts for the growth", what);
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

/* Bytes of a heap tally no site of the service's own accounts for (in orderd's
 * heapprof_unprofiled: allocations made at the off level, on a thread whose stack
 * could not be walked, or, by an orderd that took heap stacks only at profile, before
 * profiling was switched on). */
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

/* Whether the climb of ep was over before the heap profiles: resident memory rose
 * between the first and last of them by under a tenth of what it rose over the
 * episode (with one profile: the episode ended before it). */
static bool climb_over_before(const struct rules_inputs *in, const struct episode *ep, const struct tally_snapshot *a,
                              const struct tally_snapshot *b)
{
    double climb = series_at(&in->rss, ep->end) - series_at(&in->rss, ep->first_start);
    if (a == b)
        return ep->end <= a->t;
    double between = series_at(&in->rss, b->t) - series_at(&in->rss, a->t);
    return !isnan(climb) && !isnan(between) && climb > 0 && between < 0.1 * climb;
}

/* Whether most of ep's climb (four fifths) came before t, where threads began to
 * leak: what rose after it is their stacks, what rose before is not. */
static bool climb_before_threads(const struct rules_inputs *in, const struct episode *ep, double t)
{
    double start = series_at(&in->rss, ep->first_start), end = series_at(&in->rss, ep->end);
    double then = series_at(&in->rss, t);
    return t > ep->first_start && !isnan(start) && !isnan(end) && !isnan(then) && end > start &&
           then - start >= 0.8 * (end - start);
}

/* Whether a site holding bytes accounts for half or more of what resident memory rose
 * from from to t (before threads began to leak): the rise is what it holds, not a
 * warm-up beside a site that was always there. */
static bool site_holds_rise(const struct rules_inputs *in, double bytes, double from, double t)
{
    double rise = series_at(&in->rss, t) - series_at(&in->rss, from);
    return !isnan(rise) && rise > 0 && bytes >= 0.5 * rise;
}

void rules_memory_leak(const struct rules_inputs *in, struct diagnose_result *r, double threads_from)
{
    bool threads_leaked = threads_from < INFINITY;
    struct episode ep = episode_of_gauge(&in->rss, in->from + DIAGNOSE_STARTUP_S, DIAGNOSE_RSS_RATE, DIAGNOSE_RSS_WINDOWS);
    struct tally first = {0}, last = {0};
    const struct tally_snapshot *a, *b;
    struct diagnose_finding *f;
    double gain, from, peak, held = 0;
    char x[32], y[32], z[32], w[32];
    long best;
    bool by_level = false, blind, above_base = false;

    if (in->rss.n < 2)
        return;
    best = heap_culprit(in, &first, &last, &a, &b, &gain);
    /* The site holding the most (in the last profile that attributes anything). */
    long top = b ? tally_top(&last) : -1;
    /* A climb found only from when threads began leaking is their stacks; memory that
     * had risen far (a heap level's worth) after start-up and before them, held by one
     * site, is read by the level it holds, below, as a leak that filled its cap fast. */
    if (ep.found && threads_leaked && ep.first_start >= threads_from - DIAGNOSE_WINDOW_S && top >= 0 &&
        series_at(&in->rss, threads_from) - series_at(&in->rss, in->from + DIAGNOSE_STARTUP_S) >= DIAGNOSE_HEAP_LEVEL &&
        site_holds_rise(in, last.e[top].count, in->from + DIAGNOSE_STARTUP_S, threads_from))
        ep.found = false;
    /* A faint climb counts only with a heap site that gained most of it (checked below
     * with the share every climb's culprit must have; without one it is dropped), and
     * not while threads leak: their stacks climb faintly beside any site that grows. */
    bool faint = false;
    if (!ep.found && best >= 0 && a != b && !threads_leaked) {
        ep = episode_of_gauge(&in->rss, in->from + DIAGNOSE_STARTUP_S, DIAGNOSE_RSS_RATE_FAINT,
                              DIAGNOSE_RSS_WINDOWS_FAINT);
        faint = ep.found;
    }
    /* A heap profile whose bytes are mostly stackless (taken before profiling began, by an
     * orderd that took heap stacks only at profile) cannot clear a site. */
    blind = b && unattributed(&last) >= DIAGNOSE_HEAP_LEVEL;
    /* Whether the site holding the most holds far more than any steady state and most
     * of what the profile can name. */
    bool top_holds = top >= 0 && last.e[top].count >= DIAGNOSE_HEAP_LEVEL &&
                     last.e[top].count >= 0.5 * (last.total - unattributed(&last));
    /* A site that holds the level, and whose bytes came during the run (resident memory
     * rose by half of them or more: a catalog loaded before the service was ready is
     * there at the first scrape), is the leak, whatever gained a few MB beside it (under
     * an eighth of what it holds): a leak at its cap before the first profile under 128
     * connections, with connection buffers climbing 1.4 MB/s beside it (six heap
     * samples), was named the buffers. The grower is a line of the finding. */
    long beside = -1;
    double beside_gain = gain;
    if (ep.found && !threads_leaked && top_holds && a != b && best >= 0 && best != top && 8 * gain < last.e[top].count &&
        in->rss.v[in->rss.n - 1] - series_min(&in->rss) >= 0.5 * last.e[top].count) {
        beside = best;
        ep.found = faint = false;
        gain = last.e[top].count;  /* what the holder gained between the profiles */
        for (size_t i = 0; i < first.n; i++)
            if (strcmp(first.e[i].fn, last.e[top].fn) == 0)
                gain -= first.e[i].count;
    }
    if (!ep.found) {
        /* A leak that hit its cap fast is found by what it holds: one site far above
         * what the first profile showed (or holding most of the heap), or a resident
         * set that rose far above the run's lowest and stays there. */
        double rise = in->rss.v[in->rss.n - 1] - series_min(&in->rss);
        /* Against a baseline: held far above anything its runs held. */
        above_base = base_rss(in) > 0 && in->rss.v[in->rss.n - 1] - base_rss(in) >= DIAGNOSE_RSS_BASELINE_MARGIN;
        if (top_holds) {
            best = top;
            held = last.e[top].count;
        } else if (best >= 0 && gain >= DIAGNOSE_HEAP_LEVEL) {
            held = gain;
        } else if (above_base && top >= 0 && last.e[top].count >= 0.5 * (in->rss.v[in->rss.n - 1] - base_rss(in))) {
            best = top;  /* one site holds at least half of what the baseline never held */
            held = last.e[top].count;
        } else if (!((rise >= DIAGNOSE_RSS_LEVEL_GROWTH || above_base) && !threads_leaked && (!b || blind))) {
            return;
        } else {
            best = -1;
        }
        /* Dated by the first window that climbed at half the steepest one's rate: a
         * capped leak fills fast, faster than any start-up. */
        ep = level_onset(&in->rss);
        if (!ep.found && above_base)  /* at that level from the first scrape */
            ep = (struct episode){.found = true, .start = in->rss.t[0], .first_start = in->rss.t[0],
                                  .end = in->rss.t[in->rss.n - 1]};
        if (!ep.found)
            return;
        by_level = true;
    }
    double rate = faint ? DIAGNOSE_RSS_RATE_FAINT : DIAGNOSE_RSS_RATE;
    ep.first_start = episode_refine_onset(&in->rss, NULL, ep.first_start, rate);
    /* A climb found at the leak's rate that had been under way at half of it (and at
     * least the faint rate) began then; a steep climb joined by the slow growth before
     * it dates from where it turned steep. */
    if (!by_level) {
        ep.first_start = episode_extend_back(&in->rss, in->from + DIAGNOSE_STARTUP_S, &ep,
                                             fmax(DIAGNOSE_RSS_RATE_FAINT, 0.5 * ep.mean));
        ep.first_start = episode_steep_onset(&in->rss, in->from + DIAGNOSE_STARTUP_S, &ep, rate);
    }
    /* A site that gained only a small part of the climb between the two profiles is
     * ordinary growth beside it, not what climbs. */
    if (!by_level && best >= 0 && a != b) {
        double climbed = series_at(&in->rss, b->t) - series_at(&in->rss, a->t);  /* NaN: a gap, left alone */
        if (!isnan(climbed) && (climbed <= 0 || gain < DIAGNOSE_HEAP_SHARE_OF_GROWTH * climbed))
            best = -1;
    }
    if (faint && best < 0)
        return;
    /* A climb that was over before the first heap profile (a leak that filled its cap
     * within seconds): no site gained between the profiles, but one holds far more than
     * any steady state, and it is what climbed. With threads leaking, the climb goes on
     * with their stacks: it must have come mostly before they began. */
    if (best < 0 && !by_level && top_holds && a &&
        (threads_leaked ? climb_before_threads(in, &ep, threads_from) &&
                              site_holds_rise(in, last.e[top].count, ep.first_start, threads_from)
                        : climb_over_before(in, &ep, a, b))) {
        best = top;
        held = last.e[top].count;
    }
    /* Memory that grows with no heap site behind it, while threads leak, is their stacks. */
    if (best < 0 && ((b && !blind) || threads_leaked))
        return;
    from = by_level ? series_min(&in->rss) : series_at(&in->rss, ep.first_start);
    peak = series_max(&in->rss);
    if (!(f = rules_new_finding(r, "memory-leak", ep.first_start)))
        return;
    rules_add_line(f, "%s: %s -> %s, +%s/s from t=%.1fs (%.1fs at over %s/s)", in->rss_metric,
             units_format_size(from, x, sizeof x), units_format_size(peak, y, sizeof y),
             units_format_size(ep.mean, z, sizeof z), ep.first_start, ep.end - ep.start,
             units_format_size(rate, w, sizeof w));
    if (above_base)
        rules_add_line(f, "the level holds %s at the end, %s above the most baseline %s's %zu runs of %s held (%s)",
                       units_format_size(in->rss.v[in->rss.n - 1], x, sizeof x),
                       units_format_size(in->rss.v[in->rss.n - 1] - base_rss(in), y, sizeof y), in->baseline->label,
                       in->baseline->runs, in->baseline->scenario, units_format_size(base_rss(in), z, sizeof z));
    else if (by_level)
        rules_add_line(f, "the growth stopped (a cap) but the level holds: %s above the run's lowest at the end",
                 units_format_size(in->rss.v[in->rss.n - 1] - from, x, sizeof x));
    if (best < 0) {
        rules_add_line(f, "%s", blind ? "the heap profiles took most of these bytes before profiling began: no site to name"
                                : "no heap profile in the evidence to name the allocation site");
        snprintf(f->summary, sizeof f->summary, "resident memory grew %s/s from t=%.1fs",
                 units_format_size(ep.mean, x, sizeof x), ep.first_start);
        return;
    }
    rules_set_culprit(f, last.e[best].fn);
    rules_add_line(f, "heap?debug=1 at t=%.2fs: %s live allocated in %s (%.0f%% of the profiled heap)", b->t,
             units_format_size(last.e[best].count, x, sizeof x), last.e[best].fn,
             100.0 * last.e[best].count / last.total);
    if (a != b && gain >= DIAGNOSE_HEAP_MIN_GROWTH) {
        rules_add_line(f, "it gained %s since the heap profile at t=%.2fs", units_format_size(gain, x, sizeof x), a->t);
        rules_corroborated(f);
    } else if (held > 0) {
        rules_add_line(f, "one site holding %s is far above any steady state of the service", units_format_size(held, x,
            sizeof x));
    }
    if (beside >= 0)
        rules_add_line(f, "beside it %s gained %s since the heap profile at t=%.2fs, a climb of its own far below "
                       "what this site holds", last.e[beside].fn, units_format_size(beside_gain, x, sizeof x), a->t);
    snprintf(f->summary, sizeof f->summary, "%s live in allocations from %s - resident memory grew %s/s from t=%.1fs",
             units_format_size(last.e[best].count, x, sizeof x), last.e[best].fn,
             units_format_size(ep.mean, y, sizeof y), ep.first_start);
}

/* The periodic heap profiles looked at, the last ones (the capture thins its periodic
 * items to 120 a run, of both kinds). */
#define HEAP_CLIMB_MAX_PROFILES 128

/* The live bytes of one heap site through the periodic profiles. */
struct heap_site {
    const char *fn;                     /* owned by the last profile */
    double v[HEAP_CLIMB_MAX_PROFILES];
};

/* Live bytes of each site of profile p, by culprit, leaving out what was allocated
 * while a thread was being started (its stack bookkeeping, its TLS): adds to sites
 * (at index k of their series) the ones met first in the last profile, and only those. */
static void heap_sites_add(const struct proftext *p, size_t k, struct heap_site *sites, size_t *n, bool last)
{
    for (size_t i = 0; i < proftext_count(p); i++) {
        const struct proftext_entry *e = proftext_entry(p, i);
        const char *fn = tally_culprit_of(e);
        size_t j;
        if (!fn || e->nvalues < 2 || proftext_entry_has(e, "pthread_create"))
            continue;
        for (j = 0; j < *n && strcmp(sites[j].fn, fn) != 0; j++)
            ;
        if (j == *n) {
            if (!last || *n == TALLY_MAX)
                continue;
            memset(&sites[j], 0, sizeof sites[j]);
            sites[j].fn = fn;
            (*n)++;
        }
        sites[j].v[k] += (double)e->values[1];
    }
}

void rules_heap_climb(const struct rules_inputs *in, struct diagnose_result *r)
{
    const struct tally_snapshots *all = &in->evidence.heap_series;
    size_t skip = 0;
    /* from the end of start-up (connections opening, caches filling), the last ones */
    while (skip < all->n && all->items[skip].t < in->from + DIAGNOSE_STARTUP_S)
        skip++;
    if (all->n - skip > HEAP_CLIMB_MAX_PROFILES)
        skip = all->n - HEAP_CLIMB_MAX_PROFILES;
    const struct tally_snapshots view = {.items = all->items + skip, .n = all->n - skip}, *hs = &view;
    static struct heap_site sites[TALLY_MAX];
    size_t n = 0, nprof = hs->n, best_rises = 0;
    long best = -1;
    double best_gain = 0, best_falls = 0;
    char x[32], y[32], z[32];

    /* Not beside a thread leak: what each leaked thread is handed (its arguments, its
     * bookkeeping) climbs with them, in the function that starts them. */
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->findings[i].class_name, "memory-leak") == 0 || strcmp(r->findings[i].class_name, "thread-leak") == 0)
            return;
    if (nprof < DIAGNOSE_HEAP_CLIMB_PROFILES)
        return;
    /* Nor while the queue fills: the jobs waiting in it hold what their requests
     * allocated (a stall from t=5 filled a queue of 1,024 orders in 2 s, and order_create
     * climbed 0.64 MB through the profiles). */
    double depth0 = series_at(&in->depth, hs->items[0].t), depth1 = series_at(&in->depth, hs->items[nprof - 1].t);
    double capacity = in->capacity.n ? series_max(&in->capacity) : NAN;
    if (!isnan(depth0) && !isnan(depth1) && capacity > 0 && depth1 - depth0 >= DIAGNOSE_HEAP_CLIMB_QUEUE * capacity)
        return;
    /* the sites of the last profile first, then each profile's bytes in them */
    heap_sites_add(hs->items[nprof - 1].p, nprof - 1, sites, &n, true);
    for (size_t k = 0; k + 1 < nprof; k++)
        heap_sites_add(hs->items[k].p, k, sites, &n, false);
    double rate = (double)proftext_sample_rate(hs->items[nprof - 1].p);
    double need = fmax(DIAGNOSE_HEAP_CLIMB_MIN, DIAGNOSE_HEAP_CLIMB_SAMPLES * rate);
    for (size_t j = 0; j < n; j++) {
        double gain = sites[j].v[nprof - 1] - sites[j].v[0], falls = 0;
        size_t rises = 0;
        bool rising_at_end = false;
        for (size_t k = 1; k < nprof; k++) {
            double d = sites[j].v[k] - sites[j].v[k - 1];
            if (d > 0) {
                rises++;
                rising_at_end |= k + 2 >= nprof;  /* in one of the last two steps */
            } else {
                falls -= d;
            }
        }
        /* steadily: in several steps (each a sample at least), not a burst or two that
         * stayed; never falling far; and still climbing at the end, as a leak does and a
         * warm-up does not */
        if (gain < need || rises < DIAGNOSE_HEAP_CLIMB_RISES || falls > DIAGNOSE_HEAP_CLIMB_FALLS * gain ||
            !rising_at_end || gain <= best_gain)
            continue;
        best = (long)j;
        best_gain = gain;
        best_rises = rises;
        best_falls = falls;
    }
    if (best < 0)
        return;
    const struct heap_site *s = &sites[best];
    double t0 = hs->items[0].t, t1 = hs->items[nprof - 1].t, slope = best_gain / fmax(t1 - t0, 1e-9);
    /* Leaked bytes are resident: memory that did not rise by half of them over the same
     * span is not a leak's. */
    double rss_rise = series_at(&in->rss, t1) - series_at(&in->rss, t0);
    if (isnan(rss_rise) || rss_rise < 0.5 * best_gain)
        return;
    /* Dated where the site began to climb: between the last profile before its first
     * rise and that rise, or, held already in the first profile, back along its slope. */
    double started = t0;
    if (s->v[0] > 0) {
        started = fmax(in->from, t0 - s->v[0] / slope);
    } else {
        for (size_t k = 1; k < nprof; k++)
            if (s->v[k] > s->v[0]) {
                started = 0.5 * (hs->items[k - 1].t + hs->items[k].t);
                break;
            }
    }
    /* its rate over the profiles since it began to climb */
    slope = (s->v[nprof - 1] - (started > t0 ? s->v[0] : 0)) / fmax(t1 - fmax(started, in->from), 1e-9);
    struct diagnose_finding *f = rules_new_finding(r, "memory-leak", started);
    if (!f)
        return;
    rules_set_culprit(f, s->fn);
    rules_add_line(f, "heap?debug=1 through %zu periodic profiles: %s live in %s at t=%.2fs, %s at t=%.2fs; it rose "
                   "in %zu of %zu steps, fell %s in all, and was still rising at the end",
                   nprof, units_format_size(s->v[0], x, sizeof x), s->fn, t0, units_format_size(s->v[nprof - 1], y,
                   sizeof y), t1, best_rises, nprof - 1, units_format_size(best_falls, z, sizeof z));
    rules_add_line(f, "a climb of %s/s that the rules on %s (+%s over the same span) did not name: too faint "
                   "beside the service's other growth, or not most of it", units_format_size(slope, x, sizeof x),
                   in->rss_metric, units_format_size(rss_rise, y, sizeof y));
    if (rate > 1)
        rules_add_line(f, "the heap profile samples once per %s allocated on average: the climb is %.0f samples' "
                       "worth", units_format_size(rate, z, sizeof z), best_gain / rate);
    snprintf(f->summary, sizeof f->summary, "%s live in allocations from %s, climbing %s/s through the heap profiles "
             "from t=%.1fs", units_format_size(s->v[nprof - 1], x, sizeof x), s->fn,
             units_format_size(slope, y, sizeof y), started);
}
