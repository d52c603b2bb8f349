/* diagnose: the rules that name a run's problems. See diagnose.h; the thresholds
 * and why they sit where they do are in docs/diagnosis.md. */
#include "diagnose/diagnose.h"

#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "store/evidence.h"
#include "judge/gate.h"
#include "diagnose/proftext.h"
#include "base/stats.h"

#define WINDOW_S 1.0
/* Window arrays are static in the functions that use them: too big for the stack, and
 * a diagnosis runs one at a time. 8192 windows: over two hours of run. */
#define MAX_WINDOWS 8192
#define MAX_TALLY 64
#define MAX_DUMPS 4096

/* Symptom thresholds (per one-second window) and how many windows in a row make an
 * episode. The healthy suite stays far below each (docs/diagnosis.md has figures). */
#define THREADS_RATE 0.5            /* threads/s */
#define THREADS_MIN_GROWTH 10.0     /* threads over the episode */
#define THREADS_WINDOWS 3
#define RSS_RATE 1e6                /* bytes/s */
#define STARTUP_S 1.0               /* memory and CPU in a process's first second are its start-up */
#define RSS_WINDOWS 3
#define HEAP_MIN_GROWTH 1e6         /* bytes a culprit site must have gained */
#define LOCK_RATE 0.05              /* lock-wait seconds per second */
#define LOCK_WINDOWS 2
#define QUEUE_FILL 0.9              /* of capacity, as the queue_saturation gate */
#define QUEUE_MIN_S 1.0             /* seconds at capacity */
#define QUEUE_BLOCKED_SHARE 0.5     /* of busy worker samples waiting on a condition */
#define BLOCK_RATE 0.1              /* blocked seconds per second at one site */
#define PRODUCER_SHARE 0.3          /* of io-thread samples waiting in one function */
#define PRODUCER_MIN_SAMPLES 3
#define PRODUCER_BLOCK_WINDOWS 2    /* of BLOCK_RATE at the site the io threads wait in */
#define CPU_PER_REQUEST 0.0005      /* CPU seconds per request */
#define CPU_MIN_RATE 5.0            /* requests/s for a window to count */
#define CPU_WINDOWS 2
#define CPU_SHARE 0.3               /* of on-CPU io-thread samples in one function */
#define CPU_MIN_SAMPLES 2

const char *const diagnose_classes[DIAGNOSE_CLASS_COUNT] = {
    "thread-leak", "memory-leak", "lock-contention", "queue-full", "blocked-producer", "cpu-slowdown",
};

bool diagnose_class_valid(const char *name)
{
    for (size_t i = 0; i < DIAGNOSE_CLASS_COUNT; i++)
        if (strcmp(name, diagnose_classes[i]) == 0)
            return true;
    return false;
}

/* The service's wrappers around a wait, an allocation, the clock or logging: a
 * culprit is never one of them, but the function that called it. */
static const char *const wrapper_prefixes[] = {
    "lockprof_", "lock_contended", "heapprof_", "threads_", "stacks_", "units_", "log_", "spawn_trampoline",
};

struct ts {
    double *t, *v;
    size_t n;
};

struct snapshot {
    double t;
    char reason[96];
    struct proftext *p;
};

struct snapshots {
    struct snapshot *items;
    size_t n, cap;
};

struct inputs {
    sqlite3 *db;
    int64_t run_id;
    struct ts threads, rss, cpu, requests, depth, capacity, rejected, mutex_wait;
    const char *threads_metric, *rss_metric;
    struct snapshots dumps, mutex, block, heap;
    double end;
};

struct tally {
    struct {
        char fn[128];
        double count;
        size_t samples;
        double first_t, last_t;
    } e[MAX_TALLY];
    size_t n;
    double total;     /* every thread sample looked at */
    double matched;   /* those the filter picked, culprit or not */
};

struct episode {
    bool found;
    double start, end, mean, peak, first_start;
};

/* ---- series ---------------------------------------------------------------- */

static void ts_free(struct ts *s)
{
    free(s->t);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* The metric's series (summed over label sets, or one label set) in time order. */
static int ts_load(struct inputs *in, const char *metric, const char *labels, struct ts *out,
                   char *err, size_t errlen)
{
    sqlite3_stmt *st;
    size_t cap = 0;
    int step, rc = -1;

    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(in->db, "SELECT t, sum(value) FROM samples WHERE run_id = ?1 AND metric = ?2 "
                                   "AND (?3 IS NULL OR labels = ?3) AND value IS NOT NULL GROUP BY t ORDER BY t",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(in->db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, in->run_id);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    if (labels)
        sqlite3_bind_text(st, 3, labels, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            double *t = realloc(out->t, ncap * sizeof *t), *v;
            if (t)
                out->t = t;
            v = t ? realloc(out->v, ncap * sizeof *v) : NULL;
            if (!v) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            out->v = v;
            cap = ncap;
        }
        out->t[out->n] = sqlite3_column_double(st, 0);
        out->v[out->n++] = sqlite3_column_double(st, 1);
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(in->db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    if (rc < 0)
        ts_free(out);
    return rc;
}

/* The first of two metrics with samples; *which names it. */
static int ts_load_either(struct inputs *in, const char *a, const char *b, struct ts *out, const char **which,
                          char *err, size_t errlen)
{
    if (ts_load(in, a, NULL, out, err, errlen) < 0)
        return -1;
    *which = a;
    if (out->n >= 2)
        return 0;
    ts_free(out);
    *which = b;
    return ts_load(in, b, NULL, out, err, errlen);
}

/* A gauge's value at time x, linear between samples, clamped at the ends. */
static double ts_at(const struct ts *s, double x)
{
    if (!s->n)
        return NAN;
    if (x <= s->t[0])
        return s->v[0];
    for (size_t i = 1; i < s->n; i++)
        if (x <= s->t[i])
            return s->v[i - 1] + (s->v[i] - s->v[i - 1]) * (x - s->t[i - 1]) / (s->t[i] - s->t[i - 1]);
    return s->v[s->n - 1];
}

static double ts_max(const struct ts *s)
{
    double m = -INFINITY;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] > m)
            m = s->v[i];
    return m;
}

/* A gauge's change per second over one-second windows from `from` to its last sample. */
static size_t gauge_windows(const struct ts *s, double from, double *starts, double *rates)
{
    size_t n = 0;
    if (s->n < 2)
        return 0;
    if (from < s->t[0])
        from = s->t[0];
    for (double a = from; a + WINDOW_S <= s->t[s->n - 1] + 1e-9 && n < MAX_WINDOWS; a += WINDOW_S) {
        starts[n] = a;
        rates[n++] = (ts_at(s, a + WINDOW_S) - ts_at(s, a)) / WINDOW_S;
    }
    return n;
}

static size_t counter_windows(const struct ts *s, double from, double *starts, double *rates)
{
    if (s->n < 2)
        return 0;
    if (from < s->t[0])
        from = s->t[0];
    return stats_window_rates(s->t, s->v, s->n, from, s->t[s->n - 1], WINDOW_S, starts, rates, MAX_WINDOWS);
}

/* The longest run of consecutive windows at or above threshold, at least min_windows
 * long; first_start is where the first such run began (when the trouble started). */
static struct episode find_episode(const double *starts, const double *values, size_t n, double threshold,
                                   size_t min_windows)
{
    struct episode best = {.first_start = NAN};
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        double sum = 0, peak = -INFINITY;
        while (j < n && !isnan(values[j]) && values[j] >= threshold) {
            sum += values[j];
            if (values[j] > peak)
                peak = values[j];
            j++;
        }
        if (j - i >= min_windows) {
            if (isnan(best.first_start))
                best.first_start = starts[i];
            if (!best.found || starts[j - 1] + WINDOW_S - starts[i] > best.end - best.start) {
                best.found = true;
                best.start = starts[i];
                best.end = starts[j - 1] + WINDOW_S;
                best.mean = sum / (double)(j - i);
                best.peak = peak;
            }
        }
        i = j > i ? j : i + 1;
    }
    return best;
}

/* Narrows an episode's start from its first window down to the first scrape interval
 * inside it where the rate (of num, or of num per unit of den) reaches threshold. */
static double refine_onset(const struct ts *num, const struct ts *den, double window_start, double threshold)
{
    for (size_t i = 0; i + 1 < num->n; i++) {
        double a = num->t[i], b = num->t[i + 1], dn, rate;
        if (a < window_start - 1e-9)
            continue;
        if (a >= window_start + WINDOW_S)
            break;
        dn = num->v[i + 1] - num->v[i];
        if (den) {
            double dd = ts_at(den, b) - ts_at(den, a);
            rate = dd > 0 ? dn / dd : NAN;
        } else {
            rate = dn / (b - a);
        }
        if (!isnan(rate) && rate >= threshold)
            return a;
    }
    return window_start;
}

/* ---- evidence ---------------------------------------------------------------- */

static void snapshots_free(struct snapshots *s)
{
    for (size_t i = 0; i < s->n; i++)
        proftext_free(s->items[i].p);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static int load_evidence_item(void *user, const struct evidence_item *item, char *err, size_t errlen)
{
    struct inputs *in = user;
    struct snapshots *into;
    enum proftext_kind kind;
    struct proftext *p;
    char msg[300];

    if (strcmp(item->kind, EVIDENCE_THREADS) == 0) {
        into = &in->dumps;
        kind = PROFTEXT_THREADS;
    } else if (strcmp(item->kind, EVIDENCE_MUTEX) == 0) {
        into = &in->mutex;
        kind = PROFTEXT_MUTEX;
    } else if (strcmp(item->kind, EVIDENCE_BLOCK) == 0) {
        into = &in->block;
        kind = PROFTEXT_BLOCK;
    } else if (strcmp(item->kind, EVIDENCE_HEAP) == 0) {
        into = &in->heap;
        kind = PROFTEXT_HEAP;
    } else {
        return 0;  /* vars, logs, notes are for people; faults is the answer key */
    }
    if (into->n == MAX_DUMPS)
        return 0;
    if (!(p = proftext_parse(kind, item->text, item->len, msg, sizeof msg))) {
        snprintf(err, errlen, "evidence %lld (%s at t=%.2fs): %s", (long long)item->id, item->kind, item->t, msg);
        return -1;
    }
    if (into->n == into->cap) {
        size_t cap = into->cap ? into->cap * 2 : 32;
        struct snapshot *bigger = realloc(into->items, cap * sizeof *bigger);
        if (!bigger) {
            proftext_free(p);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        into->items = bigger;
        into->cap = cap;
    }
    into->items[into->n].t = item->t;
    into->items[into->n].p = p;
    snprintf(into->items[into->n].reason, sizeof into->items[into->n].reason, "%s", item->reason);
    into->n++;
    return 0;
}

/* ---- frames -------------------------------------------------------------------- */

static bool is_wrapper(const char *fn)
{
    for (size_t i = 0; i < sizeof wrapper_prefixes / sizeof wrapper_prefixes[0]; i++)
        if (strncmp(fn, wrapper_prefixes[i], strlen(wrapper_prefixes[i])) == 0)
            return true;
    return false;
}

/* Index of the culprit frame: the innermost own frame that is no wrapper; -1 if none. */
static long culprit_index(const struct proftext_entry *e)
{
    for (size_t i = 0; i < e->nframes; i++)
        if (proftext_frame_is_own(&e->frames[i]) && !is_wrapper(e->frames[i].function))
            return (long)i;
    return -1;
}

static const char *culprit_of(const struct proftext_entry *e)
{
    long i = culprit_index(e);
    return i < 0 ? NULL : e->frames[i].function;
}

enum wait_kind { WAIT_NONE, WAIT_MUTEX, WAIT_COND, WAIT_SLEEP, WAIT_IO };

/* What a thread below its culprit frame is doing: on CPU, or waiting for what. */
static enum wait_kind wait_of(const struct proftext_entry *e)
{
    long k = culprit_index(e);
    bool futex = false;
    if (k < 0)
        k = (long)e->nframes;
    for (long i = 0; i < k; i++) {
        const char *fn = e->frames[i].function;
        if (strstr(fn, "lll_lock_wait") || strstr(fn, "mutex_lock") || strcmp(fn, "lock_contended") == 0)
            return WAIT_MUTEX;
        if (strstr(fn, "cond_wait") || strstr(fn, "cond_timedwait") || strstr(fn, "cond_clockwait"))
            return WAIT_COND;
        if (strstr(fn, "nanosleep"))
            return WAIT_SLEEP;
        if (strstr(fn, "epoll_wait") || strstr(fn, "sigwait") || strstr(fn, "sigtimedwait") ||
            strcmp(fn, "poll") == 0 || strcmp(fn, "__poll") == 0 || strstr(fn, "select") || strstr(fn, "accept"))
            return WAIT_IO;
        if (strstr(fn, "futex"))
            futex = true;
    }
    return futex ? WAIT_COND : WAIT_NONE;
}

static void tally_add(struct tally *t, const char *fn, double count, double at)
{
    size_t i;
    t->total += count;
    if (!fn)
        return;
    for (i = 0; i < t->n; i++)
        if (strcmp(t->e[i].fn, fn) == 0)
            break;
    if (i == t->n) {
        if (t->n == MAX_TALLY)
            return;
        t->n++;
        snprintf(t->e[i].fn, sizeof t->e[i].fn, "%s", fn);
        t->e[i].count = 0;
        t->e[i].samples = 0;
        t->e[i].first_t = at;
    } else if (t->e[i].last_t == at) {
        t->e[i].count += count;  /* another group of the same dump */
        return;
    }
    t->e[i].count += count;
    t->e[i].samples++;
    t->e[i].last_t = at;
}

/* The entry with the largest count, or -1. */
static long tally_top(const struct tally *t)
{
    long best = -1;
    for (size_t i = 0; i < t->n; i++)
        if (best < 0 || t->e[i].count > t->e[best].count)
            best = (long)i;
    return best;
}

/* Sums one value of every entry of a profile by culprit. */
static void tally_profile(struct tally *t, const struct proftext *p, size_t value, double at)
{
    for (size_t i = 0; i < proftext_count(p); i++) {
        const struct proftext_entry *e = proftext_entry(p, i);
        if (value < e->nvalues)
            tally_add(t, culprit_of(e), (double)e->values[value], at);
    }
}

/* Threads of one role and state class per culprit, over the dumps in [from, to]. */
typedef bool (*entry_filter)(const struct proftext_entry *e);

static size_t tally_dumps(const struct inputs *in, double from, double to, entry_filter keep, entry_filter of,
                          struct tally *t)
{
    size_t dumps = 0;
    memset(t, 0, sizeof *t);
    for (size_t d = 0; d < in->dumps.n; d++) {
        const struct snapshot *s = &in->dumps.items[d];
        if (s->t < from || s->t > to)
            continue;
        dumps++;
        for (size_t i = 0; i < proftext_count(s->p); i++) {
            const struct proftext_entry *e = proftext_entry(s->p, i);
            if (!keep(e))
                continue;
            if (of(e)) {
                tally_add(t, culprit_of(e), (double)e->values[0], s->t);
                t->matched += (double)e->values[0];
            } else {
                t->total += (double)e->values[0];
            }
        }
    }
    return dumps;
}

static bool role_io(const struct proftext_entry *e) { return strcmp(e->role, "io") == 0; }
static bool busy_worker(const struct proftext_entry *e)
{
    return strcmp(e->role, "worker") == 0 && strcmp(e->state, "idle") != 0;
}
static bool on_cpu(const struct proftext_entry *e) { return wait_of(e) == WAIT_NONE; }
static bool waits_cond(const struct proftext_entry *e) { return wait_of(e) == WAIT_COND; }
static bool waits_mutex(const struct proftext_entry *e) { return wait_of(e) == WAIT_MUTEX; }
static bool always(const struct proftext_entry *e) { return true; }

/* ---- findings -------------------------------------------------------------------- */

static char *human_bytes(double b, char *buf, size_t len)
{
    if (fabs(b) >= 1e9)
        snprintf(buf, len, "%.1fGB", b / 1e9);
    else if (fabs(b) >= 1e6)
        snprintf(buf, len, "%.1fMB", b / 1e6);
    else if (fabs(b) >= 1e3)
        snprintf(buf, len, "%.1fKB", b / 1e3);
    else
        snprintf(buf, len, "%.0fB", b);
    return buf;
}

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

static void find_thread_leak(const struct inputs *in, struct diagnose_result *r)
{
    static double starts[MAX_WINDOWS], rates[MAX_WINDOWS];
    size_t n = gauge_windows(&in->threads, 0, starts, rates);
    struct episode ep = find_episode(starts, rates, n, THREADS_RATE, THREADS_WINDOWS);
    double from, peak, growth, slope;
    struct tally first = {0}, last = {0};
    const struct snapshot *a = NULL, *b = NULL;
    struct diagnose_finding *f;
    long best = -1;
    double best_gain = 0;

    if (!ep.found)
        return;
    ep.first_start = refine_onset(&in->threads, NULL, ep.first_start, THREADS_RATE);
    from = ts_at(&in->threads, ep.first_start);
    peak = ts_max(&in->threads);
    growth = peak - from;
    if (growth < THREADS_MIN_GROWTH)
        return;
    slope = growth / fmax(ep.end - ep.first_start, WINDOW_S);
    if (!(f = new_finding(r, "thread-leak", ep.first_start)))
        return;
    add_line(f, "%s: %.0f -> %.0f threads, +%.1f/s from t=%.1fs", in->threads_metric, from, peak, slope,
             ep.first_start);
    /* The group that grew between the first dump and the fullest one. */
    for (size_t d = 0; d < in->dumps.n; d++) {
        const struct snapshot *s = &in->dumps.items[d];
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
    if (best >= 0 && best_gain >= 0.3 * growth && best_gain >= THREADS_MIN_GROWTH / 2) {
        double before = last.e[best].count - best_gain;
        set_culprit(f, last.e[best].fn);
        add_line(f, "threads?debug=1 at t=%.2fs: %.0f of %.0f threads are in %s", b->t, last.e[best].count,
                 last.total, last.e[best].fn);
        add_line(f, "that group grew from %.0f at t=%.2fs to %.0f at t=%.2fs, while no other grew as much",
                 before, a->t, last.e[best].count, b->t);
        if (best_gain >= 0.8 * (proftext_total(b->p) - proftext_total(a->p)))
            corroborated(f);
        snprintf(f->summary, sizeof f->summary, "%.0f threads share one stack ending in %s - grew %.1f/s from t=%.1fs",
                 last.e[best].count, last.e[best].fn, slope, ep.first_start);
    } else {
        add_line(f, "no group of threads in the dumps accounts for the growth");
        snprintf(f->summary, sizeof f->summary, "threads grew %.1f/s from t=%.1fs (%.0f -> %.0f)", slope,
                 ep.first_start, from, peak);
    }
}

/* The heap culprit: the site whose live bytes grew most between the first and the
 * last heap profile that attribute anything (or the largest, with one profile). */
static long heap_culprit(const struct inputs *in, struct tally *first, struct tally *last,
                         const struct snapshot **a, const struct snapshot **b, double *gain)
{
    long best = -1;
    *a = *b = NULL;
    *gain = 0;
    for (size_t i = 0; i < in->heap.n; i++) {
        struct tally t = {0};
        tally_profile(&t, in->heap.items[i].p, 1, in->heap.items[i].t);
        if (tally_top(&t) < 0)
            continue;
        if (!*a) {
            *a = &in->heap.items[i];
            *first = t;
        }
        *b = &in->heap.items[i];
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
    return *gain >= HEAP_MIN_GROWTH ? best : -1;
}

static void find_memory_leak(const struct inputs *in, struct diagnose_result *r, bool threads_leaked)
{
    static double starts[MAX_WINDOWS], rates[MAX_WINDOWS];
    size_t n = gauge_windows(&in->rss, STARTUP_S, starts, rates);
    struct episode ep = find_episode(starts, rates, n, RSS_RATE, RSS_WINDOWS);
    struct tally first = {0}, last = {0};
    const struct snapshot *a, *b;
    struct diagnose_finding *f;
    double gain, from, peak;
    char x[32], y[32], z[32], w[32];
    long best;

    if (!ep.found)
        return;
    ep.first_start = refine_onset(&in->rss, NULL, ep.first_start, RSS_RATE);
    best = heap_culprit(in, &first, &last, &a, &b, &gain);
    /* Memory that grows with no heap site behind it, while threads leak, is their stacks. */
    if (best < 0 && (b || threads_leaked))
        return;
    from = ts_at(&in->rss, ep.first_start);
    peak = ts_max(&in->rss);
    if (!(f = new_finding(r, "memory-leak", ep.first_start)))
        return;
    add_line(f, "%s: %s -> %s, +%s/s from t=%.1fs (%.1fs at over %s/s)", in->rss_metric, human_bytes(from, x, sizeof x),
             human_bytes(peak, y, sizeof y), human_bytes(ep.mean, z, sizeof z), ep.first_start, ep.end - ep.start,
             human_bytes(RSS_RATE, w, sizeof w));
    if (best < 0) {
        add_line(f, "no heap profile in the evidence to name the allocation site");
        snprintf(f->summary, sizeof f->summary, "resident memory grew %s/s from t=%.1fs", human_bytes(ep.mean, x, sizeof x),
                 ep.first_start);
        return;
    }
    set_culprit(f, last.e[best].fn);
    add_line(f, "heap?debug=1 at t=%.2fs: %s live allocated in %s (%.0f%% of the profiled heap)", b->t,
             human_bytes(last.e[best].count, x, sizeof x), last.e[best].fn, 100.0 * last.e[best].count / last.total);
    if (a != b) {
        add_line(f, "it gained %s since the heap profile at t=%.2fs", human_bytes(gain, x, sizeof x), a->t);
        corroborated(f);
    }
    snprintf(f->summary, sizeof f->summary, "%s live in allocations from %s - resident memory grew %s/s from t=%.1fs",
             human_bytes(last.e[best].count, x, sizeof x), last.e[best].fn, human_bytes(ep.mean, y, sizeof y),
             ep.first_start);
}

/* The label set of a metric whose counter grew most in [from, to]. */
static void top_label(struct inputs *in, const char *metric, double from, double to, char *out, size_t outlen,
                      double *rate)
{
    sqlite3_stmt *st;
    out[0] = '\0';
    *rate = 0;
    if (sqlite3_prepare_v2(in->db, "SELECT labels, max(value) - min(value) AS d FROM samples WHERE run_id = ? "
                                   "AND metric = ? AND t >= ? AND t <= ? GROUP BY labels ORDER BY d DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, in->run_id);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, from);
    sqlite3_bind_double(st, 4, to);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
        *rate = sqlite3_column_double(st, 1) / fmax(to - from, WINDOW_S);
    }
    sqlite3_finalize(st);
}

static void find_lock_contention(struct inputs *in, struct diagnose_result *r)
{
    static double starts[MAX_WINDOWS], rates[MAX_WINDOWS];
    size_t n = counter_windows(&in->mutex_wait, 0, starts, rates);
    struct episode ep = find_episode(starts, rates, n, LOCK_RATE, LOCK_WINDOWS);
    struct tally prof = {0}, dumps;
    const struct snapshot *last = NULL;
    struct diagnose_finding *f;
    struct ts one;
    char lock[256], err[256];
    double lock_rate;
    long p = -1, d;
    size_t ndumps;

    if (!ep.found)
        return;
    /* The lock most waited for in the longest episode dates it: another lock may have
     * had a brief episode of its own earlier (the queue's, while threads are spawned). */
    top_label(in, "orderd_mutex_wait_seconds_total", ep.start, ep.end, lock, sizeof lock, &lock_rate);
    if (lock[0] && ts_load(in, "orderd_mutex_wait_seconds_total", lock, &one, err, sizeof err) == 0) {
        struct episode mine;
        n = counter_windows(&one, 0, starts, rates);
        mine = find_episode(starts, rates, n, LOCK_RATE, LOCK_WINDOWS);
        if (mine.found)
            ep.first_start = refine_onset(&one, NULL, mine.first_start, LOCK_RATE);
        ts_free(&one);
    } else {
        ep.first_start = refine_onset(&in->mutex_wait, NULL, ep.first_start, LOCK_RATE);
    }
    if (!(f = new_finding(r, "lock-contention", ep.first_start)))
        return;
    add_line(f, "orderd_mutex_wait_seconds_total: %.2fs of lock wait per second from t=%.1fs (peak %.2f)%s%s", ep.mean,
             ep.first_start, ep.peak, lock[0] ? ", most on " : "", lock);
    for (size_t i = 0; i < in->mutex.n; i++)
        if (proftext_count(in->mutex.items[i].p))
            last = &in->mutex.items[i];
    if (last) {
        tally_profile(&prof, last->p, 0, last->t);
        p = tally_top(&prof);
    }
    ndumps = tally_dumps(in, ep.start, ep.end + WINDOW_S, always, waits_mutex, &dumps);
    d = tally_top(&dumps);
    if (p >= 0) {
        set_culprit(f, prof.e[p].fn);
        add_line(f, "mutex?debug=1 at t=%.2fs: %.0f%% of the sampled contention is in %s (%.3fs of %.3fs)", last->t,
                 100.0 * prof.e[p].count / prof.total, prof.e[p].fn, prof.e[p].count / 1e9, prof.total / 1e9);
    }
    if (d >= 0) {
        if (p < 0)
            set_culprit(f, dumps.e[d].fn);
        if (p < 0 || strcmp(dumps.e[d].fn, prof.e[p].fn) == 0) {
            add_line(f, "%zu of %zu thread dumps caught threads waiting for a mutex in %s (%.0f thread samples)",
                     dumps.e[d].samples, ndumps, dumps.e[d].fn, dumps.e[d].count);
            if (p >= 0)
                corroborated(f);
        }
    }
    if (p >= 0 || d >= 0)
        snprintf(f->summary, sizeof f->summary, "threads queue for a mutex in %s - %.2fs of lock wait per second from t=%.1fs",
                 p >= 0 ? prof.e[p].fn : dumps.e[d].fn, ep.mean, ep.first_start);
    else
        snprintf(f->summary, sizeof f->summary, "%.2fs of lock wait per second from t=%.1fs%s%s", ep.mean,
                 ep.first_start, lock[0] ? " on " : "", lock);
}

/* The longest stretch of scrapes with the queue at QUEUE_FILL of capacity or more. */
static struct episode queue_episode(const struct inputs *in)
{
    struct episode best = {.first_start = NAN};
    double run_start = NAN;
    size_t j = 0;

    for (size_t i = 0; i <= in->depth.n; i++) {
        bool full = false;
        if (i < in->depth.n) {
            while (j < in->capacity.n && in->capacity.t[j] < in->depth.t[i])
                j++;
            full = j < in->capacity.n && in->capacity.t[j] == in->depth.t[i] && in->capacity.v[j] > 0 &&
                   in->depth.v[i] >= QUEUE_FILL * in->capacity.v[j];
        }
        if (full && isnan(run_start))
            run_start = in->depth.t[i];
        if (!full && !isnan(run_start)) {
            double end = in->depth.t[i - 1];
            if (end - run_start >= QUEUE_MIN_S) {
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

static double counter_increase(const struct ts *s, double from, double to)
{
    double inc = 0;
    bool have = false;
    double prev = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] < from || s->t[i] > to)
            continue;
        if (have)
            inc += s->v[i] >= prev ? s->v[i] - prev : s->v[i];
        prev = s->v[i];
        have = true;
    }
    return inc;
}

static void find_queue_full(const struct inputs *in, struct diagnose_result *r)
{
    struct episode ep = queue_episode(in);
    struct tally busy, blocked;
    struct diagnose_finding *f;
    double rejected, blocked_share;
    size_t ndumps;
    long top;

    if (!ep.found)
        return;
    rejected = counter_increase(&in->rejected, ep.start - 0.5, ep.end + 0.5);
    ndumps = tally_dumps(in, ep.start, ep.end, busy_worker, always, &busy);
    tally_dumps(in, ep.start, ep.end, busy_worker, waits_cond, &blocked);
    blocked_share = blocked.total > 0 ? blocked.matched / blocked.total : 0;
    /* A full queue whose producers are turned away, or whose consumers are stuck
     * waiting on something other than work: a queue merely busy is capacity, not a fault. */
    if (rejected < 1 && blocked_share < QUEUE_BLOCKED_SHARE)
        return;
    if (!(f = new_finding(r, "queue-full", ep.first_start)))
        return;
    add_line(f, "orderd_queue_depth at >= %.0f%% of orderd_queue_capacity for %.1fs from t=%.1fs", QUEUE_FILL * 100,
             ep.end - ep.start, ep.first_start);
    if (rejected >= 1)
        add_line(f, "orderd_queue_rejected_total: %.0f requests turned away meanwhile", rejected);
    top = tally_top(&busy);
    if (top >= 0) {
        set_culprit(f, busy.e[top].fn);
        add_line(f, "%zu of %zu thread dumps in that time found busy workers in %s (%.0f of %.0f busy-worker samples)",
                 busy.e[top].samples, ndumps, busy.e[top].fn, busy.e[top].count, busy.total);
        if (busy.e[top].count >= 0.5 * busy.total)
            corroborated(f);
        if (blocked_share >= QUEUE_BLOCKED_SHARE)
            add_line(f, "%.0f%% of busy-worker samples were waiting on a condition, not working", 100 * blocked_share);
        snprintf(f->summary, sizeof f->summary, "the queue stays full while workers sit in %s - from t=%.1fs, %.0f rejected",
                 busy.e[top].fn, ep.first_start, rejected);
    } else {
        add_line(f, "no thread dump of that time shows what the workers were doing");
        snprintf(f->summary, sizeof f->summary, "the queue stays full from t=%.1fs, %.0f rejected", ep.first_start,
                 rejected);
    }
}

static void find_blocked_producer(struct inputs *in, struct diagnose_result *r)
{
    static double starts[MAX_WINDOWS], rates[MAX_WINDOWS];
    struct tally io_waits;
    struct diagnose_finding *f;
    struct ts site;
    struct episode ep = {0};
    char labels[300], err[256];
    size_t ndumps = tally_dumps(in, 0, INFINITY, role_io, waits_cond, &io_waits);
    long top = tally_top(&io_waits);
    double started;

    if (top < 0 || io_waits.e[top].samples < PRODUCER_MIN_SAMPLES)
        return;
    started = io_waits.e[top].first_t;
    /* The blocking site of the same name, if the service counts one, confirms it and
     * dates it better. */
    snprintf(labels, sizeof labels, "{site=\"%s\"}", io_waits.e[top].fn);
    if (ts_load(in, "orderd_block_seconds_total", labels, &site, err, sizeof err) == 0) {
        size_t n = counter_windows(&site, 0, starts, rates);
        ep = find_episode(starts, rates, n, BLOCK_RATE, PRODUCER_BLOCK_WINDOWS);
        if (ep.found)
            ep.first_start = refine_onset(&site, NULL, ep.first_start, BLOCK_RATE);
        ts_free(&site);
        if (ep.found && ep.first_start < started)
            started = ep.first_start;
    }
    /* Seen often, or seen now and then while the site's blocking time says it lasted. */
    if (io_waits.e[top].count < PRODUCER_SHARE * io_waits.total && !ep.found)
        return;
    if (!(f = new_finding(r, "blocked-producer", started)))
        return;
    set_culprit(f, io_waits.e[top].fn);
    add_line(f, "%zu of %zu thread dumps caught request (io) threads waiting on a condition in %s (%.0f%% of io-thread samples)",
             io_waits.e[top].samples, ndumps, io_waits.e[top].fn, 100.0 * io_waits.e[top].count / io_waits.total);
    if (ep.found) {
        add_line(f, "orderd_block_seconds_total%s: %.2fs blocked per second from t=%.1fs", labels, ep.mean,
                 ep.first_start);
        corroborated(f);
    }
    snprintf(f->summary, sizeof f->summary, "request threads block in %s instead of answering - from t=%.1fs",
             io_waits.e[top].fn, started);
}

static void find_cpu_slowdown(const struct inputs *in, struct diagnose_result *r)
{
    static double starts[MAX_WINDOWS], cpu[MAX_WINDOWS], req_starts[MAX_WINDOWS], req[MAX_WINDOWS];
    static double per_request[MAX_WINDOWS];
    /* Both series on the same windows: a counter appears with its first event. */
    double from = in->cpu.n && in->requests.n ? fmax(STARTUP_S, fmax(in->cpu.t[0], in->requests.t[0])) : 0;
    size_t n = counter_windows(&in->cpu, from, starts, cpu);
    size_t m = counter_windows(&in->requests, from, req_starts, req);
    struct episode ep;
    struct tally running;
    struct diagnose_finding *f;
    size_t ndumps;
    long top;

    if (n > m)
        n = m;
    for (size_t i = 0; i < n; i++)
        per_request[i] = req[i] >= CPU_MIN_RATE && starts[i] == req_starts[i] ? cpu[i] / req[i] : NAN;
    ep = find_episode(starts, per_request, n, CPU_PER_REQUEST, CPU_WINDOWS);
    if (!ep.found)
        return;
    ep.first_start = refine_onset(&in->cpu, &in->requests, ep.first_start, CPU_PER_REQUEST);
    if (!(f = new_finding(r, "cpu-slowdown", ep.first_start)))
        return;
    add_line(f, "CPU per request: %.2fms from t=%.1fs (peak %.2fms; %s over orderd_http_requests_total)", ep.mean * 1e3,
             ep.first_start, ep.peak * 1e3, in->cpu.n ? "process CPU seconds" : "-");
    ndumps = tally_dumps(in, ep.start, ep.end + WINDOW_S, role_io, on_cpu, &running);
    top = tally_top(&running);
    if (top >= 0 && running.e[top].samples >= CPU_MIN_SAMPLES && running.e[top].count >= CPU_SHARE * running.matched) {
        set_culprit(f, running.e[top].fn);
        add_line(f, "%zu of %zu thread dumps caught an io thread running in %s (%.0f%% of on-CPU io-thread samples)",
                 running.e[top].samples, ndumps, running.e[top].fn, 100.0 * running.e[top].count / running.matched);
        if (running.e[top].samples * 3 >= ndumps)
            corroborated(f);
        snprintf(f->summary, sizeof f->summary, "io threads burn CPU in %s - %.2fms of CPU per request from t=%.1fs",
                 running.e[top].fn, ep.mean * 1e3, ep.first_start);
    } else {
        add_line(f, "no function stands out on running io threads in %zu thread dumps", ndumps);
        snprintf(f->summary, sizeof f->summary, "%.2fms of CPU per request from t=%.1fs", ep.mean * 1e3, ep.first_start);
    }
}

static int compare_findings(const void *a, const void *b)
{
    const struct diagnose_finding *x = a, *y = b;
    double p = isnan(x->started_at) ? INFINITY : x->started_at, q = isnan(y->started_at) ? INFINITY : y->started_at;
    return p < q ? -1 : p > q;
}

static void inputs_free(struct inputs *in)
{
    struct ts *all[] = {&in->threads, &in->rss, &in->cpu, &in->requests, &in->depth, &in->capacity,
                        &in->rejected, &in->mutex_wait};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ts_free(all[i]);
    snapshots_free(&in->dumps);
    snapshots_free(&in->mutex);
    snapshots_free(&in->block);
    snapshots_free(&in->heap);
}

static int run_exists(sqlite3 *db, int64_t run_id, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int step;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM runs WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, run_id);
    step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_ROW)
        return 0;
    if (step == SQLITE_DONE) {
        snprintf(err, errlen, "no run %lld in the results database", (long long)run_id);
        return 1;
    }
    snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
    return -1;
}

int diagnose_run(struct resultdb *db, int64_t run_id, struct diagnose_result *out, char *err, size_t errlen)
{
    struct inputs in = {.db = resultdb_handle(db), .run_id = run_id};
    const char *cpu_metric;
    int rc;

    memset(out, 0, sizeof *out);
    out->run_id = run_id;
    if ((rc = run_exists(in.db, run_id, err, errlen)) != 0)
        return rc;
    rc = -1;
    if (ts_load_either(&in, GATE_PROC_THREADS, "process_threads", &in.threads, &in.threads_metric, err, errlen) < 0 ||
        ts_load_either(&in, GATE_PROC_RSS, "process_resident_memory_bytes", &in.rss, &in.rss_metric, err, errlen) < 0 ||
        ts_load_either(&in, GATE_PROC_CPU, "process_cpu_seconds_total", &in.cpu, &cpu_metric, err, errlen) < 0 ||
        ts_load(&in, "orderd_http_requests_total", NULL, &in.requests, err, errlen) < 0 ||
        ts_load(&in, "orderd_queue_depth", NULL, &in.depth, err, errlen) < 0 ||
        ts_load(&in, "orderd_queue_capacity", NULL, &in.capacity, err, errlen) < 0 ||
        ts_load(&in, "orderd_queue_rejected_total", NULL, &in.rejected, err, errlen) < 0 ||
        ts_load(&in, "orderd_mutex_wait_seconds_total", NULL, &in.mutex_wait, err, errlen) < 0 ||
        evidence_foreach(db, run_id, NULL, load_evidence_item, &in, err, errlen) < 0)
        goto done;
    out->span = in.threads.n ? in.threads.t[in.threads.n - 1] : 0;
    out->dumps = in.dumps.n;
    out->profiles = in.mutex.n + in.block.n + in.heap.n;
    if (!in.threads.n && !in.requests.n) {
        snprintf(out->notes, sizeof out->notes, "the run has no samples to diagnose from");
        rc = 0;
        goto done;
    }
    if (!in.dumps.n && !out->profiles)
        snprintf(out->notes, sizeof out->notes,
                 "no evidence was captured for this run: the classes come from the metrics alone and no culprit can "
                 "be named (loadlab run --capture keeps evidence for every run)");
    find_thread_leak(&in, out);
    find_memory_leak(&in, out, out->n > 0 && strcmp(out->findings[0].class_name, "thread-leak") == 0);
    find_lock_contention(&in, out);
    find_queue_full(&in, out);
    find_blocked_producer(&in, out);
    find_cpu_slowdown(&in, out);
    qsort(out->findings, out->n, sizeof out->findings[0], compare_findings);
    rc = 0;
done:
    inputs_free(&in);
    return rc;
}

int diagnose_store(struct resultdb *rdb, const struct diagnose_result *r, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc = -1;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_prepare_v2(db, "DELETE FROM diagnoses WHERE run_id = ?", -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO diagnoses (run_id, class, culprit, started_at, confidence, summary, "
                               "evidence_text, diagnosed_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                               "strftime('%Y-%m-%dT%H:%M:%fZ','now'))", -1, &ins, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int64(del, 1, r->run_id);
    if (sqlite3_step(del) != SQLITE_DONE)
        goto done;
    for (size_t i = 0; i < (r->n ? r->n : 1); i++) {
        const struct diagnose_finding *f = r->n ? &r->findings[i] : NULL;
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        sqlite3_bind_int64(ins, 1, r->run_id);
        sqlite3_bind_text(ins, 2, f ? f->class_name : "none", -1, SQLITE_STATIC);
        if (f && f->culprit[0])
            sqlite3_bind_text(ins, 3, f->culprit, -1, SQLITE_STATIC);
        if (f && !isnan(f->started_at))
            sqlite3_bind_double(ins, 4, f->started_at);
        if (f)
            sqlite3_bind_double(ins, 5, f->confidence);
        sqlite3_bind_text(ins, 6, f ? f->summary : "no problem found", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, f ? f->evidence : r->notes, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            goto done;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto done;
    rc = 0;
done:
    if (rc < 0) {
        snprintf(err, errlen, "results database: storing the diagnosis: %s", sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

static void print_lines(FILE *out, const char *text, const char *indent)
{
    while (*text) {
        size_t len = strcspn(text, "\n");
        if (len)
            fprintf(out, "%s%.*s\n", indent, (int)len, text);
        text += len;
        if (*text)
            text++;
    }
}

void diagnose_print(FILE *out, const struct diagnose_result *r)
{
    fprintf(out, "Diagnosis of run %lld (%.1fs looked at, %zu thread dumps, %zu profiles):\n", (long long)r->run_id,
            r->span, r->dumps, r->profiles);
    if (!r->n)
        fprintf(out, "  no problem found\n");
    for (size_t i = 0; i < r->n; i++) {
        const struct diagnose_finding *f = &r->findings[i];
        char started[32] = "?";
        if (!isnan(f->started_at))
            snprintf(started, sizeof started, "t=%.1fs", f->started_at);
        fprintf(out, "  %zu. %s in %s, from %s (confidence %.1f)\n", i + 1, f->class_name,
                f->culprit[0] ? f->culprit : "(culprit not found)", started, f->confidence);
        fprintf(out, "     %s\n", f->summary);
        print_lines(out, f->evidence, "       - ");
    }
    if (r->notes[0])
        fprintf(out, "  note: %s\n", r->notes);
}

int diagnose_print_stored(struct resultdb *rdb, int64_t run_id, FILE *out, char *err, size_t errlen)
{
    sqlite3 *db = resultdb_handle(rdb);
    sqlite3_stmt *st;
    int step, rows = 0;

    if (sqlite3_prepare_v2(db, "SELECT class, coalesce(culprit, '-'), started_at, confidence, summary, evidence_text, "
                               "diagnosed_at FROM diagnoses WHERE run_id = ? ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        if (strstr(sqlite3_errmsg(db), "no such table"))
            return 0;
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *cls = (const char *)sqlite3_column_text(st, 0);
        if (rows++ == 0)
            fprintf(out, "Diagnosis (%s):\n", (const char *)sqlite3_column_text(st, 6));
        if (strcmp(cls, "none") == 0) {
            fprintf(out, "  no problem found\n");
            continue;
        }
        fprintf(out, "  %s in %s", cls, (const char *)sqlite3_column_text(st, 1));
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            fprintf(out, ", from t=%.1fs", sqlite3_column_double(st, 2));
        fprintf(out, " (confidence %.1f)\n     %s\n", sqlite3_column_double(st, 3),
                (const char *)sqlite3_column_text(st, 4));
        print_lines(out, (const char *)sqlite3_column_text(st, 5), "       - ");
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "results database: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}
