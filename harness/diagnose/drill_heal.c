/* drill_heal: whether a drill's service healed. See drill_heal.h. */
#include "diagnose/drill_heal.h"
#include "metric_names.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/stats.h"
#include "diagnose/diagnose.h"
#include "judge/gate.h"
#include "judge/thresholds.h"
#include "store/drills.h"
#include "store/samples.h"
#include "units.h"

#define FAULTS_MAX_BODY 65536
#define FAULTS_TIMEOUT_MS 3000

bool drill_heal_window(const struct series *s, double from, double to, double *max, double *mean)
{
    double sum = 0;
    size_t n = 0;
    *max = -INFINITY;
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i] >= from && s->t[i] <= to && !isnan(s->v[i])) {
            *max = fmax(*max, s->v[i]);
            sum += s->v[i];
            n++;
        }
    *mean = n ? sum / (double)n : NAN;
    return n > 0;
}

/* The series a judgement reads. */
struct heal_series {
    struct series threads, rss, depth, capacity, latency_sum, latency_count;
};

static void heal_series_release(struct heal_series *h)
{
    series_release(&h->threads);
    series_release(&h->rss);
    series_release(&h->depth);
    series_release(&h->capacity);
    series_release(&h->latency_sum);
    series_release(&h->latency_count);
}

static int heal_series_load(struct resultdb *db, int64_t run_id, struct heal_series *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (samples_load_sum(db, run_id, GATE_PROC_THREADS, NULL, &h->threads, err, errlen) < 0 ||
        samples_load_sum(db, run_id, GATE_PROC_RSS, NULL, &h->rss, err, errlen) < 0 ||
        samples_load_sum(db, run_id, METRIC_ORDERD_QUEUE_DEPTH, NULL, &h->depth, err, errlen) < 0 ||
        samples_load_sum(db, run_id, METRIC_ORDERD_QUEUE_CAPACITY, NULL, &h->capacity, err, errlen) < 0 ||
        samples_load_sum(db, run_id, METRIC_ORDERD_HTTP_DURATION "_sum", NULL, &h->latency_sum, err, errlen) < 0 ||
        samples_load_sum(db, run_id, METRIC_ORDERD_HTTP_DURATION "_count", NULL, &h->latency_count, err, errlen) < 0) {
        heal_series_release(h);
        return -1;
    }
    return 0;
}

/* Mean request time over the window: time spent over requests served; NaN when none. */
static double mean_latency(const struct heal_series *h, double from, double to)
{
    double count = series_increase(&h->latency_count, from, to);
    return count >= 1 ? series_increase(&h->latency_sum, from, to) / count : NAN;
}

int drill_heal_reference_load(struct resultdb *db, int64_t run_id, double from, double to, const char *source,
                              struct drill_heal_reference *out, char *err, size_t errlen)
{
    struct heal_series h;
    double max, mean;

    memset(out, 0, sizeof *out);
    out->threads = out->depth = out->latency = NAN;
    snprintf(out->source, sizeof out->source, "%s", source);
    to = nextafter(to, -INFINITY);  /* the window ends before to: the fault's own scrape is not healthy */
    if (heal_series_load(db, run_id, &h, err, errlen) < 0)
        return -1;
    if (drill_heal_window(&h.threads, from, to, &max, &mean)) {
        out->threads = max;
        out->have = true;
    }
    if (drill_heal_window(&h.depth, from, to, &max, &mean))
        out->depth = mean;
    out->latency = mean_latency(&h, from, to);
    heal_series_release(&h);
    return 0;
}

/* ---- what healthy looked like: the last healthy drill ---------------------------- */

static void find_healthy(void *user, const struct drills_record *r)
{
    int64_t *run_id = user;
    if (r->run_id > 0 && r->truth && strcmp(r->truth, "[]") == 0 && strcmp(r->status, "aborted") != 0)
        *run_id = r->run_id;
}

/* The increase of metric over the run's samples divided by that of per (or by the
 * span, per NULL); NaN when either has too few samples. */
static double run_ratio(struct resultdb *db, int64_t run_id, const char *metric, const char *per)
{
    struct series a = {0}, b = {0};
    char err[256];
    double ratio = NAN;
    if (samples_load_sum(db, run_id, metric, NULL, &a, err, sizeof err) == 0 && a.n >= 2) {
        double rise = a.v[a.n - 1] - a.v[0];
        if (!per)
            ratio = rise / fmax(a.t[a.n - 1] - a.t[0], 1e-9);
        else if (samples_load_sum(db, run_id, per, NULL, &b, err, sizeof err) == 0 && b.n >= 2 && b.v[b.n - 1] > b.v[0])
            ratio = rise / (b.v[b.n - 1] - b.v[0]);
    }
    series_release(&a);
    series_release(&b);
    return ratio;
}

/* The highest value of a gauge in the run; NaN when it has no samples. */
static double run_peak(struct resultdb *db, int64_t run_id, const char *metric)
{
    struct series a = {0};
    char err[256];
    double peak = NAN;
    if (samples_load_sum(db, run_id, metric, NULL, &a, err, sizeof err) == 0 && a.n)
        peak = series_max(&a);
    series_release(&a);
    return peak;
}

int64_t drill_heal_last_healthy(struct resultdb *db)
{
    int64_t run_id = 0;
    char err[256];

    if (!db || drills_foreach(db, NULL, find_healthy, &run_id, err, sizeof err) != 0)
        return 0;
    return run_id;
}

/* Only the healthy drill's scrapes are read: nothing of the drill under way. */
void drill_heal_print_normal(FILE *out, struct resultdb *db)
{
    int64_t run_id = drill_heal_last_healthy(db);
    char rss[32];

    if (!run_id) {
        fputs("What normal looks like: no healthy drill recorded yet ('loadlab drill --fault none' runs one).\n", out);
        return;
    }
    units_format_size(run_peak(db, run_id, "loadlab_proc_resident_memory_bytes"), rss, sizeof rss);
    fprintf(out,
            "What normal looks like (the last healthy drill, run %lld, shop mix): at most %.0f threads, %s resident,\n"
            "  %.3fs of lock wait a second, %.0fus of CPU per request, %.0f requests a second, queue depth\n"
            "  at most %.0f.\n",
            (long long)run_id, run_peak(db, run_id, "loadlab_proc_threads"), rss,
            run_ratio(db, run_id, METRIC_ORDERD_MUTEX_WAIT, NULL),
            1e6 * run_ratio(db, run_id, "loadlab_proc_cpu_seconds_total", METRIC_ORDERD_HTTP_REQUESTS),
            run_ratio(db, run_id, METRIC_ORDERD_HTTP_REQUESTS, NULL),
            run_peak(db, run_id, METRIC_ORDERD_QUEUE_DEPTH));
}

void drill_heal_reference_find(struct resultdb *db, int64_t run_id, double own_until, struct drill_heal_reference *ref)
{
    int64_t healthy;
    char source[96], err[256];

    memset(ref, 0, sizeof *ref);
    if (!isnan(own_until)) {
        snprintf(source, sizeof source, "this run before t=%.0fs", own_until);
        if (drill_heal_reference_load(db, run_id, DIAGNOSE_STARTUP_S, own_until, source, ref, err, sizeof err) == 0 &&
            ref->have)
            return;
    }
    if ((healthy = drill_heal_last_healthy(db))) {
        snprintf(source, sizeof source, "the healthy drill of run %lld", (long long)healthy);
        if (drill_heal_reference_load(db, healthy, DIAGNOSE_STARTUP_S, INFINITY, source, ref, err, sizeof err) < 0)
            ref->have = false;
    }
}

int drill_heal_faults(struct httpclient *http, const char *debug_base, struct drill_heal_status *out, char *err,
                      size_t errlen)
{
    struct httpclient_response resp;
    char url[1200];
    json_t *root, *list, *item;
    size_t i, used = 0;

    snprintf(url, sizeof url, "%s/debug/faults", debug_base);
    if (httpclient_request(http, "GET", url, NULL, FAULTS_TIMEOUT_MS, FAULTS_MAX_BODY, &resp, err, errlen) < 0)
        return -1;
    root = resp.status == 200 ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
    if (!json_is_array(list = json_object_get(root, "faults"))) {
        snprintf(err, errlen, "GET /debug/faults answered %ld without a fault list", resp.status);
        json_decref(root);
        return -1;
    }
    out->faults_clear = true;
    out->faults_on[0] = '\0';
    json_array_foreach(list, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "name"));
        bool on = json_is_true(json_object_get(item, "on"));
        json_int_t threads = json_integer_value(json_object_get(item, "held_threads"));
        json_int_t bytes = json_integer_value(json_object_get(item, "held_bytes"));
        int n;
        if (!on && threads == 0 && bytes == 0)
            continue;
        out->faults_clear = false;
        n = snprintf(out->faults_on + used, sizeof out->faults_on - used, "%s%s%s", used ? ", " : "",
                     name ? name : "?", on ? "" : " (still holding)");
        if (n > 0 && (size_t)n < sizeof out->faults_on - used)
            used += (size_t)n;
    }
    json_decref(root);
    return 0;
}

int drill_heal_judge(struct resultdb *db, int64_t run_id, double from, double to,
                     const struct drill_heal_reference *ref, struct drill_heal_status *out, char *err, size_t errlen)
{
    struct heal_series h;
    double max, mean, capacity = 0, healthy_threads;
    double t[256], v[256];
    size_t n = 0;

    if (heal_series_load(db, run_id, &h, err, errlen) < 0)
        return -1;
    out->threads = drill_heal_window(&h.threads, from, to, &max, &mean) ? max : NAN;
    out->depth = drill_heal_window(&h.depth, from, to, &max, &mean) ? mean : NAN;
    out->latency = mean_latency(&h, from, to);
    for (size_t i = 0; i < h.rss.n && n < sizeof t / sizeof t[0]; i++)
        if (h.rss.t[i] >= from && h.rss.t[i] <= to) {
            t[n] = h.rss.t[i];
            v[n++] = h.rss.v[i];
        }
    if (n < 2 || stats_slope(t, v, n, &out->rss_slope) < 0)
        out->rss_slope = NAN;
    for (size_t i = 0; i < h.capacity.n; i++)
        capacity = fmax(capacity, h.capacity.v[i]);
    healthy_threads = ref && ref->have ? ref->threads : series_min(&h.threads);
    out->threads_ok = !isnan(out->threads) && out->threads <= healthy_threads + DRILL_HEAL_THREADS_MARGIN;
    out->memory_ok = !isnan(out->rss_slope) && out->rss_slope < DIAGNOSE_RSS_RATE;
    if (ref && ref->have && !isnan(ref->depth))
        out->queue_ok = isnan(out->depth) || out->depth <= ref->depth + DRILL_HEAL_DEPTH_MARGIN;
    else
        out->queue_ok = isnan(out->depth) || capacity <= 0 || out->depth < DIAGNOSE_QUEUE_FILL * capacity;
    out->latency_ok = !ref || !ref->have || isnan(ref->latency) ||
                      (!isnan(out->latency) && out->latency <= fmax(ref->latency * DRILL_HEAL_LATENCY_FACTOR,
                                                                    ref->latency + DRILL_HEAL_LATENCY_MARGIN));
    heal_series_release(&h);
    return 0;
}

bool drill_heal_healed(const struct drill_heal_status *s)
{
    return s->faults_clear && s->threads_ok && s->memory_ok && s->queue_ok && s->latency_ok;
}

char *drill_heal_describe(const struct drill_heal_status *s, const struct drill_heal_reference *ref, char *buf,
                          size_t len)
{
    size_t used = 0;
    bool have = ref && ref->have;
    int n;
    buf[0] = '\0';
#define PART(...)                                                                           \
    do {                                                                                    \
        n = snprintf(buf + used, len - used, "%s", used ? ", " : "");                       \
        if (n > 0 && (size_t)n < len - used)                                                \
            used += (size_t)n;                                                              \
        n = snprintf(buf + used, len - used, __VA_ARGS__);                                  \
        if (n > 0 && (size_t)n < len - used)                                                \
            used += (size_t)n;                                                              \
    } while (0)
    if (!s->faults_clear)
        PART("faults still on: %s", s->faults_on);
    if (!s->threads_ok)
        PART("threads %.0f (healthy %.0f)", s->threads, have ? ref->threads : NAN);
    if (!s->memory_ok)
        PART("resident memory still climbing %.1f MB/s", s->rss_slope / 1e6);
    if (!s->queue_ok)
        PART("queue depth %.1f on average (healthy %.1f)", s->depth, have ? ref->depth : NAN);
    if (!s->latency_ok)
        PART("requests %.2fms on average (healthy %.2fms)", s->latency * 1e3, have ? ref->latency * 1e3 : NAN);
#undef PART
    return buf;
}

void drill_mitigation_start(struct drill_mitigation *m, double t, double seconds, const struct drill_heal_reference *ref)
{
    memset(m, 0, sizeof *m);
    m->ref = *ref;
    m->started_t = m->next_check_t = t;
    m->deadline_t = t + seconds;
    m->clear_t = m->healed_s = NAN;
    snprintf(m->problem, sizeof m->problem, "faults still on");
}

bool drill_mitigation_tick(struct drill_mitigation *m, struct resultdb *db, int64_t run_id, struct httpclient *http,
                           const char *debug_base, double t)
{
    char err[200];

    if (m->done)
        return true;
    if (t >= m->deadline_t) {
        m->done = true;
        return true;
    }
    if (t < m->next_check_t)
        return false;
    m->next_check_t = t + 1.0;
    if (drill_heal_faults(http, debug_base, &m->last, err, sizeof err) < 0) {
        snprintf(m->problem, sizeof m->problem, "%s", err);
        return false;
    }
    if (!m->last.faults_clear) {
        m->clear_t = NAN;
        snprintf(m->problem, sizeof m->problem, "faults still on: %s", m->last.faults_on);
        return false;
    }
    if (isnan(m->clear_t))
        m->clear_t = t;
    if (t - m->clear_t < DRILL_HEAL_WINDOW_S)
        return false;
    /* The window after the faults went off, past the second it took to notice. */
    if (drill_heal_judge(db, run_id, t - DRILL_HEAL_WINDOW_S, t, &m->ref, &m->last, err, sizeof err) < 0) {
        snprintf(m->problem, sizeof m->problem, "%s", err);
        return false;
    }
    drill_heal_describe(&m->last, &m->ref, m->problem, sizeof m->problem);
    if (!drill_heal_healed(&m->last))
        return false;
    m->healed_s = t - m->started_t;
    m->done = true;
    return true;
}
