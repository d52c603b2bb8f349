/* capture: evidence taken during a run. See capture.h. */
#include "run/capture.h"
#include "metric_names.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/cpucapture.h"
#include "store/evidence.h"
#include "judge/gate.h"
#include "base/stats.h"
#include "judge/thresholds.h"

#define REQUEST_TIMEOUT_MS 3000
#define FIRST_DUMP_INTERVAL 0.5
/* The last snapshot is taken this long before the load's planned end (or at 85% of a
 * shorter load), so that it is done while wrk still drives the service. */
#define FINAL_LEAD_S 1.5
/* After a symptom switches profiling on, the snapshot waits this long so that the
 * profiles have recorded something. */
#define TRIGGER_DELAY_S 1.0
#define LOG_TAIL_BYTES (256 * 1024)
#define URL_MAX 1200

/* Symptoms that trigger a snapshot. Memory growth, a full queue, lock wait and CPU
 * per request use the diagnosis's own levels (judge/thresholds.h): a diagnosis
 * names a problem when a level holds for several windows in a row, a snapshot is
 * taken at the first reading past it, so the evidence is in hand before the episode
 * the diagnosis will report is over. The rest are the capture's own. */
#define TRIGGER_THREADS 20.0           /* threads above the run's lowest count */
#define TRIGGER_RSS_WINDOW 2.0         /* seconds the memory slope is fitted over */
#define TRIGGER_MIN_REQUESTS 10.0      /* requests/s for CPU per request to mean anything */
/* A CPU profile this long (at most until the load's planned end) is taken when CPU
 * per request is the symptom: at orderd's 100 Hz a faint slowdown (+40 us a request at
 * 1,500 requests a second, 6% of a core) leaves about 30 samples in its function in
 * 5 s; in 3 s, 15 at best, and under 5 on a loaded machine now and then. */
#define CPU_PROFILE_S 5

enum symptom { SYMPTOM_THREADS, SYMPTOM_MEMORY, SYMPTOM_QUEUE, SYMPTOM_LOCK, SYMPTOM_CPU, SYMPTOM_COUNT };
static const char *const symptom_names[] = {
    "threads or goroutines climbing", "memory climbing", "queue full", "lock wait high", "CPU per request high",
};

static const char *const wanted_metrics[] = {
    GATE_PROC_THREADS, GATE_PROC_RSS, GATE_PROC_CPU, METRIC_PROCESS_THREADS, METRIC_PROCESS_RSS,
    METRIC_PROCESS_CPU, METRIC_ORDERD_QUEUE_DEPTH, METRIC_ORDERD_QUEUE_CAPACITY,
    METRIC_ORDERD_MUTEX_WAIT, METRIC_ORDERD_HTTP_REQUESTS, METRIC_GO_THREADS, METRIC_GO_GOROUTINES,
};

/* The debug endpoints evidence may come from: orderd's, and a Go service's
 * net/http/pprof and expvar. Which of them a service has is found out once per run
 * (discover), and only those are asked for. A Go service's goroutine profile stands
 * for orderd's thread dump (proftext reads both). */
enum endpoint { EP_THREADS, EP_GOROUTINE, EP_MUTEX, EP_BLOCK, EP_HEAP, EP_VARS, EP_FAULTS, EP_COUNT };
static const struct {
    const char *path, *kind, *name;
} endpoints[EP_COUNT] = {
    [EP_THREADS] = {"/debug/pprof/threads?debug=1", EVIDENCE_THREADS, "threads"},
    [EP_GOROUTINE] = {"/debug/pprof/goroutine?debug=1", EVIDENCE_THREADS, "goroutine"},
    [EP_MUTEX] = {"/debug/pprof/mutex?debug=1", EVIDENCE_MUTEX, "mutex"},
    [EP_BLOCK] = {"/debug/pprof/block?debug=1", EVIDENCE_BLOCK, "block"},
    [EP_HEAP] = {"/debug/pprof/heap?debug=1", EVIDENCE_HEAP, "heap"},
    [EP_VARS] = {"/debug/vars", EVIDENCE_VARS, "vars"},
    [EP_FAULTS] = {"/debug/faults", EVIDENCE_FAULTS, "faults"},
};

struct item {
    double t;
    char kind[16];
    char reason[96];
    unsigned char *gz;
    size_t gzlen, bytes;
    bool periodic;
};

struct capture {
    bool keep_always;
    struct item *items;
    size_t n, cap, held_bytes, periodic;
    double dump_interval, next_dump;
    bool mid_taken, final_taken, dropped;
    double trigger_at;
    char trigger_reason[96];
    bool symptom_seen[SYMPTOM_COUNT];
    bool profiling_switched;
    char restore_level[32];
    bool kept;
    size_t kept_items;
    char problems[512];
    bool discovered;
    bool has[EP_COUNT];
    char found[160];       /* what discover found, as said to the user */
    bool found_new;        /* found differs from the last run's */
    bool has_cpu_profile;  /* the pprof index lists "profile" */
    double cpu_blind_at;   /* when to take the CPU profile whatever the service shows (drills); NaN: on a symptom */
    struct cpucapture *cpu;
    double cpu_at, cpu_base;  /* when the CPU profile started; the run's lowest early CPU per request */
    double cpu_rose_at;       /* since when CPU per request is well above cpu_base; NaN: it is not */
    char cpu_reason[96];
};

struct capture *capture_new(bool keep_always)
{
    struct capture *c = calloc(1, sizeof *c);
    if (c) {
        c->keep_always = keep_always;
        c->cpu_blind_at = NAN;
    }
    return c;
}

static void drop_items(struct capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->items[i].gz);
    c->n = 0;
    c->held_bytes = 0;
    c->periodic = 0;
}

void capture_free(struct capture *c)
{
    if (!c)
        return;
    cpucapture_free(c->cpu);
    drop_items(c);
    free(c->items);
    free(c);
}

bool capture_kept(const struct capture *c, size_t *items)
{
    if (items)
        *items = c->kept_items;
    return c->kept;
}

const char *capture_problems(const struct capture *c)
{
    return c->problems;
}

__attribute__((format(printf, 2, 3)))
static void note_problem(struct capture *c, const char *fmt, ...)
{
    size_t used = strlen(c->problems);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strstr(c->problems, msg))
        return;  /* the same failure, again: said once */
    if (used + strlen(msg) + 3 >= sizeof c->problems) {
        if (used + 6 < sizeof c->problems && !strstr(c->problems, "; ..."))
            snprintf(c->problems + used, sizeof c->problems - used, "; ...");
        return;  /* no room for the whole of it: never cut a message mid-word */
    }
    snprintf(c->problems + used, sizeof c->problems - used, "%s%s", used ? "; " : "", msg);
}

static void reset_run(struct capture *c)
{
    drop_items(c);
    c->dump_interval = FIRST_DUMP_INTERVAL;
    c->next_dump = 0;
    c->mid_taken = c->final_taken = c->dropped = false;
    c->trigger_at = NAN;
    memset(c->symptom_seen, 0, sizeof c->symptom_seen);
    c->profiling_switched = false;
    c->kept = false;
    c->kept_items = 0;
    c->problems[0] = '\0';
    c->discovered = false;
    memset(c->has, 0, sizeof c->has);
    c->found_new = false;
    c->has_cpu_profile = false;
    cpucapture_free(c->cpu);
    c->cpu = NULL;
    c->cpu_at = c->cpu_rose_at = NAN;
    c->cpu_base = INFINITY;
}

void capture_cpu_profile_at(struct capture *c, double t)
{
    c->cpu_blind_at = t;
}

/* Asks the service once for each debug endpoint and remembers which answer 200, so
 * that evidence is asked only of those; says which were found when that differs
 * from the last run's. A 404, another status or no answer all mean "not there". */
static void discover(struct capture *c, const struct runner_view *v)
{
    char url[URL_MAX], err[600], found[sizeof c->found];
    struct httpclient_response resp;
    size_t used = 0;

    c->discovered = true;
    for (int e = 0; e < EP_COUNT; e++) {
        if (e == EP_GOROUTINE && c->has[EP_THREADS])
            continue;  /* orderd serves both; its thread dump is the richer */
        snprintf(url, sizeof url, "%s%s", v->debug_base, endpoints[e].path);
        c->has[e] = httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                                       err, sizeof err) == 0 && resp.status == 200;
        if (c->has[e] && used + 16 < sizeof found)
            used += (size_t)snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "",
                                     endpoints[e].name);
    }
    snprintf(url, sizeof url, "%s/debug/pprof/", v->debug_base);
    c->has_cpu_profile = httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                                            err, sizeof err) == 0 && resp.status == 200 &&
                         memmem(resp.body, resp.len, ">profile</a>", 12);
    if (c->has_cpu_profile && used + 16 < sizeof found)
        used += (size_t)snprintf(found + used, sizeof found - used, "%sprofile", used ? ", " : "");
    if (!used)
        snprintf(found, sizeof found, "none");
    c->found_new = strcmp(found, c->found) != 0;
    snprintf(c->found, sizeof c->found, "%s", found);
}

const char *capture_endpoints(const struct capture *c)
{
    return c->found_new ? c->found : "";
}

/* Every other periodic dump goes, so that the kept ones still span the whole run. */
static void thin_periodic(struct capture *c)
{
    size_t out = 0, seen = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct item *it = &c->items[i];
        if (it->periodic && seen++ % 2 == 1) {
            c->held_bytes -= it->gzlen;
            free(it->gz);
            c->periodic--;
            continue;
        }
        c->items[out++] = *it;
    }
    c->n = out;
    c->dump_interval *= 2;
}

static int add_item(struct capture *c, double t, const char *kind, const char *reason, bool periodic,
                    const char *text, size_t len)
{
    char err[256];
    struct item *it;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct item *bigger = realloc(c->items, cap * sizeof *bigger);
        if (!bigger) {
            note_problem(c, "out of memory");
            return -1;
        }
        c->items = bigger;
        c->cap = cap;
    }
    it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    if (evidence_gzip(text, len, &it->gz, &it->gzlen, err, sizeof err) < 0) {
        note_problem(c, "%s: %s", kind, err);
        return -1;
    }
    if (c->held_bytes + it->gzlen > CAPTURE_MAX_BYTES) {
        free(it->gz);
        if (!c->dropped)
            note_problem(c, "evidence past %d MB dropped", CAPTURE_MAX_BYTES >> 20);
        c->dropped = true;
        return -1;
    }
    it->t = t;
    it->bytes = len;
    it->periodic = periodic;
    snprintf(it->kind, sizeof it->kind, "%s", kind);
    snprintf(it->reason, sizeof it->reason, "%s", reason);
    c->held_bytes += it->gzlen;
    c->n++;
    if (periodic && ++c->periodic > CAPTURE_MAX_PERIODIC)
        thin_periodic(c);
    return 0;
}

/* GETs a debug path and keeps the answer as one item. Returns 0, or -1 (noted). */
static int fetch(struct capture *c, const struct runner_view *v, const char *path, const char *kind,
                 const char *reason, bool periodic)
{
    char url[URL_MAX], err[600];
    struct httpclient_response resp;

    snprintf(url, sizeof url, "%s%s", v->debug_base, path);
    if (httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                           err, sizeof err) < 0) {
        note_problem(c, "%s: %s", path, err);
        return -1;
    }
    if (resp.status != 200) {
        note_problem(c, "GET %s answered %ld", path, resp.status);
        return -1;
    }
    return add_item(c, v->t, kind, reason, periodic, resp.body, resp.len);
}

/* True when a log line carries a correlation id (JSON or text format). */
static bool has_correlation(const char *line, size_t len)
{
    static const char *const keys[] = {"request_id", "order_id", "trace_id"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (memmem(line, len, keys[k], strlen(keys[k])))
            return true;
    return false;
}

/* The last CAPTURE_LOG_LINES lines of service.log that carry a correlation id. */
static void take_log(struct capture *c, const struct runner_view *v, const char *reason)
{
    char path[1200], *buf = NULL, *out = NULL;
    const char *starts[CAPTURE_LOG_LINES];
    size_t lens[CAPTURE_LOG_LINES], found = 0, used = 0;
    off_t size;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/service.log", v->log_dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    size = lseek(fd, 0, SEEK_END);
    if (size > LOG_TAIL_BYTES)
        lseek(fd, size - LOG_TAIL_BYTES, SEEK_SET);
    else
        lseek(fd, 0, SEEK_SET);
    if (!(buf = malloc(LOG_TAIL_BYTES + 1)) || (n = read(fd, buf, LOG_TAIL_BYTES)) <= 0)
        goto done;
    buf[n] = '\0';
    /* Walk back from the end, newest line first. A first line cut by the tail is skipped. */
    for (char *end = buf + n; end > buf && found < CAPTURE_LOG_LINES;) {
        char *start = end;
        while (start > buf && start[-1] != '\n')
            start--;
        if ((start > buf || size <= LOG_TAIL_BYTES) && has_correlation(start, (size_t)(end - start))) {
            starts[found] = start;
            lens[found++] = (size_t)(end - start);
        }
        end = start > buf ? start - 1 : buf;
    }
    if (!found || !(out = malloc(LOG_TAIL_BYTES + found + 1)))
        goto done;
    for (size_t i = found; i-- > 0;) {
        memcpy(out + used, starts[i], lens[i]);
        used += lens[i];
        out[used++] = '\n';
    }
    add_item(c, v->t, EVIDENCE_LOG, reason, false, out, used);
done:
    close(fd);
    free(buf);
    free(out);
}

size_t capture_snapshot(struct capture *c, const struct runner_view *v, const char *reason)
{
    size_t before = c->n;

    if (!v->debug_base[0] || !v->http)
        return 0;
    if (!c->discovered)
        discover(c, v);
    for (int e = 0; e < EP_COUNT; e++)
        if (c->has[e])
            fetch(c, v, endpoints[e].path, endpoints[e].kind, reason, false);
    take_log(c, v, reason);
    return c->n - before;
}

/* Points of a metric (all its series summed) from `from` to the view's now. */
static int points(const struct runner_view *v, const char *metric, double from, struct series *pts)
{
    struct series_selector sel = {0};
    snprintf(sel.metric, sizeof sel.metric, "%s", metric);
    if (series_store_select(v->series, &sel, from, v->t, pts) < 0)
        return -1;
    if (pts->n == 0) {
        series_release(pts);
        return -1;
    }
    return 0;
}

/* The first of two metrics that has points (loadlab's /proc figure, else the service's). */
static int points_either(const struct runner_view *v, const char *a, const char *b, double from,
                         struct series *pts)
{
    return points(v, a, from, pts) == 0 ? 0 : points(v, b, from, pts);
}

static bool rise_above_low(const struct series *p, double *rise)
{
    double low = INFINITY;
    for (size_t i = 0; i < p->n; i++)
        if (!isnan(p->v[i]) && p->v[i] < low)
            low = p->v[i];
    if (isinf(low) || isnan(p->v[p->n - 1]))
        return false;
    *rise = p->v[p->n - 1] - low;
    return true;
}

static bool counter_rate(const struct runner_view *v, const char *metric, double window, double *rate)
{
    struct series p;
    bool ok;
    if (points(v, metric, v->t - window, &p) < 0)
        return false;
    ok = stats_counter_rate(p.t, p.v, p.n, rate) == 0;
    series_release(&p);
    return ok;
}

/* CPU per request against the run's own healthy start, as the diagnosis judges a
 * faint slowdown: the lowest reading of its first DIAGNOSE_CPU_BASELINE_WINDOWS
 * windows is the base, and later readings past DIAGNOSE_CPU_REL_FACTOR times it and
 * DIAGNOSE_CPU_REL_MIN above it are the symptom. */
static bool cpu_rose(struct capture *c, double t, double cpu_rate, double request_rate)
{
    double learnt = DIAGNOSE_STARTUP_S + DIAGNOSE_WINDOW_S * (1 + DIAGNOSE_CPU_BASELINE_WINDOWS);
    double per_request = cpu_rate / request_rate;
    if (t < learnt) {
        c->cpu_base = fmin(c->cpu_base, per_request);
        return false;
    }
    /* and, as the diagnosis asks, adding a share of a core that the capture's own
     * dumps do not explain */
    if (!(isfinite(c->cpu_base) && c->cpu_base > 0 &&
          per_request >= fmax(c->cpu_base * DIAGNOSE_CPU_REL_FACTOR, c->cpu_base + DIAGNOSE_CPU_REL_MIN) &&
          cpu_rate - c->cpu_base * request_rate >= DIAGNOSE_CPU_REL_MIN_CORE)) {
        c->cpu_rose_at = NAN;
        return false;
    }
    /* Held a window on: the capture's own snapshots (at mid-run, near the end) cost a
     * burst of CPU that lifts one window of a light load past the level. */
    if (isnan(c->cpu_rose_at))
        c->cpu_rose_at = t;
    return t - c->cpu_rose_at >= DIAGNOSE_WINDOW_S;
}

static bool symptom_shows(struct capture *c, const struct runner_view *v, enum symptom s)
{
    struct series p, q;
    double x, y;
    bool shows = false;

    switch (s) {
    case SYMPTOM_THREADS:
        if (points_either(v, GATE_PROC_THREADS, METRIC_PROCESS_THREADS, 0, &p) == 0 ||
            points(v, METRIC_GO_THREADS, 0, &p) == 0) {
            shows = rise_above_low(&p, &x) && x >= TRIGGER_THREADS;
            series_release(&p);
        }
        if (!shows && points(v, METRIC_GO_GOROUTINES, 0, &p) == 0) {
            shows = rise_above_low(&p, &x) && x >= TRIGGER_THREADS;  /* a Go service leaks goroutines */
            series_release(&p);
        }
        return shows;
    case SYMPTOM_MEMORY:
        if (v->t < DIAGNOSE_STARTUP_S + TRIGGER_RSS_WINDOW ||
            points_either(v, GATE_PROC_RSS, METRIC_PROCESS_RSS, v->t - TRIGGER_RSS_WINDOW, &p) < 0)
            return false;
        shows = stats_slope(p.t, p.v, p.n, &y) == 0 && y >= DIAGNOSE_RSS_RATE;
        series_release(&p);
        return shows;
    case SYMPTOM_QUEUE:
        if (points(v, METRIC_ORDERD_QUEUE_DEPTH, v->t - 0.01, &p) < 0)
            return false;
        if (points(v, METRIC_ORDERD_QUEUE_CAPACITY, v->t - 0.01, &q) == 0) {
            shows = q.v[q.n - 1] > 0 && p.v[p.n - 1] >= DIAGNOSE_QUEUE_FILL * q.v[q.n - 1];
            series_release(&q);
        }
        series_release(&p);
        return shows;
    case SYMPTOM_LOCK:
        return counter_rate(v, METRIC_ORDERD_MUTEX_WAIT, DIAGNOSE_WINDOW_S, &x) && x >= DIAGNOSE_LOCK_RATE;
    case SYMPTOM_CPU:
        if (v->t < DIAGNOSE_STARTUP_S + DIAGNOSE_WINDOW_S ||
            !counter_rate(v, METRIC_ORDERD_HTTP_REQUESTS, DIAGNOSE_WINDOW_S, &y) || y < TRIGGER_MIN_REQUESTS)
            return false;
        if (!counter_rate(v, GATE_PROC_CPU, DIAGNOSE_WINDOW_S, &x) &&
            !counter_rate(v, METRIC_PROCESS_CPU, DIAGNOSE_WINDOW_S, &x))
            return false;
        return x / y >= DIAGNOSE_CPU_PER_REQUEST || cpu_rose(c, v->t, x, y);
    case SYMPTOM_COUNT:
        break;
    }
    return false;
}

/* Switches the service to instrument=profile, remembering the level to restore. */
static void switch_profiling_on(struct capture *c, const struct runner_view *v, const char *why)
{
    char url[URL_MAX], err[600], note[256];
    struct httpclient_response resp;
    json_t *cfg;
    const char *level;

    c->profiling_switched = true;  /* tried once, whatever comes of it */
    snprintf(url, sizeof url, "%s/debug/config", v->debug_base);
    if (httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, 65536, &resp, err, sizeof err) < 0 ||
        resp.status != 200)
        return;  /* a service without orderd's config API: its profiles are what they are */
    cfg = json_loadb(resp.body, resp.len, 0, NULL);
    level = json_string_value(json_object_get(cfg, "instrument"));
    if (!level || strcmp(level, "profile") == 0) {
        json_decref(cfg);
        return;
    }
    snprintf(c->restore_level, sizeof c->restore_level, "%s", level);
    json_decref(cfg);
    if (httpclient_request(v->http, "PUT", url, "{\"instrument\":\"profile\"}", REQUEST_TIMEOUT_MS, 65536, &resp,
                           err, sizeof err) < 0 || resp.status != 200) {
        note_problem(c, "could not switch profiling on: %s", resp.status ? "refused" : err);
        c->restore_level[0] = '\0';
        return;
    }
    snprintf(note, sizeof note, "instrument %s -> profile at t=%.2fs (%s)", c->restore_level, v->t, why);
    add_item(c, v->t, EVIDENCE_NOTE, "trigger", false, note, strlen(note));
}

static void restore_profiling(struct capture *c, const struct runner_view *v)
{
    char url[URL_MAX], body[96], err[600], note[160];
    struct httpclient_response resp;

    if (!c->restore_level[0])
        return;
    snprintf(url, sizeof url, "%s/debug/config", v->debug_base);
    snprintf(body, sizeof body, "{\"instrument\":\"%s\"}", c->restore_level);
    if (httpclient_request(v->http, "PUT", url, body, REQUEST_TIMEOUT_MS, 65536, &resp, err, sizeof err) < 0 ||
        resp.status != 200)
        note_problem(c, "could not restore instrument=%s", c->restore_level);
    snprintf(note, sizeof note, "instrument profile -> %s at t=%.2fs (load over)", c->restore_level, v->t);
    add_item(c, v->t, EVIDENCE_NOTE, "load end", false, note, strlen(note));
    c->restore_level[0] = '\0';
}

/* Starts the run's one CPU profile, when the service serves them. */
static void start_cpu_profile(struct capture *c, const struct runner_view *v)
{
    char err[600];
    if (c->cpu || !isnan(c->cpu_at) || !c->has_cpu_profile)
        return;
    int seconds = (int)fmin(CPU_PROFILE_S, floor(v->load_end - v->t));  /* within the load */
    if (seconds < 1)
        return;
    c->cpu_at = v->t;
    if (!(c->cpu = cpucapture_start(v->debug_base, v->sc->token_file, seconds, err, sizeof err)))
        note_problem(c, "CPU profile: %s", err);
}

/* Keeps the CPU profile once it is in (wait: until it is), at the time it started. */
static void collect_cpu_profile(struct capture *c, bool wait)
{
    char *text = NULL, err[300];
    size_t len = 0;
    if (!c->cpu || !cpucapture_done(c->cpu, wait, &text, &len, err, sizeof err))
        return;
    if (text)
        add_item(c, c->cpu_at, EVIDENCE_CPU, c->cpu_reason, false, text, len);
    else
        note_problem(c, "CPU profile: %s", err);
    free(text);
    cpucapture_free(c->cpu);
    c->cpu = NULL;
}

static void watch_symptoms(struct capture *c, const struct runner_view *v)
{
    for (int s = 0; s < SYMPTOM_COUNT; s++) {
        if (c->symptom_seen[s] || !symptom_shows(c, v, (enum symptom)s))
            continue;
        c->symptom_seen[s] = true;
        if (!c->profiling_switched)
            switch_profiling_on(c, v, symptom_names[s]);
        if (s == SYMPTOM_CPU && isnan(c->cpu_blind_at)) {
            snprintf(c->cpu_reason, sizeof c->cpu_reason, "trigger: %s at t=%.2fs", symptom_names[s], v->t);
            start_cpu_profile(c, v);
        }
        if (isnan(c->trigger_at)) {
            c->trigger_at = v->t + TRIGGER_DELAY_S;
            snprintf(c->trigger_reason, sizeof c->trigger_reason, "trigger: %s at t=%.2fs", symptom_names[s], v->t);
        }
    }
}

static void on_tick(struct capture *c, const struct runner_view *v)
{
    double final_at = v->load_end - (v->load_end * 0.15 < FINAL_LEAD_S ? v->load_end * 0.15 : FINAL_LEAD_S);

    if (!v->debug_base[0])
        return;
    if (!c->discovered)
        discover(c, v);
    if (v->t >= c->next_dump) {
        enum endpoint dump = c->has[EP_THREADS] ? EP_THREADS : EP_GOROUTINE;
        if (c->has[dump])
            fetch(c, v, endpoints[dump].path, endpoints[dump].kind, EVIDENCE_PERIODIC, true);
        c->next_dump = v->t + c->dump_interval;
    }
    watch_symptoms(c, v);
    collect_cpu_profile(c, false);
    if (!isnan(c->trigger_at) && v->t >= c->trigger_at) {
        capture_snapshot(c, v, c->trigger_reason);
        c->trigger_at = INFINITY;  /* one triggered snapshot per run */
    }
    if (!c->mid_taken && v->t >= v->load_end / 2) {
        c->mid_taken = true;
        capture_snapshot(c, v, "mid-run");
    }
    if (v->t >= c->cpu_blind_at) {
        snprintf(c->cpu_reason, sizeof c->cpu_reason, "scheduled at t=%.1fs", c->cpu_blind_at);
        start_cpu_profile(c, v);  /* once: it is a no-op once taken */
    }
    if (!c->final_taken && v->t >= final_at) {
        c->final_taken = true;
        capture_snapshot(c, v, "end of steady state");
    }
}

static bool worth_keeping(const struct capture *c, const struct runner_outcome *out)
{
    if (c->keep_always || out->status == RUNNER_CRASHED)
        return true;
    for (size_t i = 0; i < out->ngates; i++)
        if (out->gates[i].verdict == GATE_FAIL)
            return true;
    return false;
}

static void keep(struct capture *c, const struct runner_view *v)
{
    char err[600];
    if (resultdb_begin(v->db, err, sizeof err) < 0) {
        note_problem(c, "%s", err);
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct item *it = &c->items[i];
        if (evidence_store(v->db, v->run_id, it->t, it->kind, it->reason, it->gz, it->gzlen, it->bytes,
                           err, sizeof err) < 0) {
            note_problem(c, "%s", err);
            break;
        }
        c->kept_items++;
    }
    if (resultdb_commit(v->db, err, sizeof err) < 0)
        note_problem(c, "%s", err);
    c->kept = c->kept_items > 0;
}

enum runner_hook_answer capture_hook(void *user, enum runner_moment moment, const struct runner_view *v)
{
    struct capture *c = user;

    switch (moment) {
    case RUNNER_AT_START:
        reset_run(c);
        for (size_t i = 0; i < sizeof wanted_metrics / sizeof wanted_metrics[0]; i++)
            if (series_store_want(v->series, wanted_metrics[i]) < 0)
                note_problem(c, "out of memory");
        break;
    case RUNNER_AT_TICK:
        on_tick(c, v);
        break;
    case RUNNER_AT_LOAD_END:
        if (!c->final_taken && v->debug_base[0]) {
            c->final_taken = true;
            capture_snapshot(c, v, "load end");
        }
        collect_cpu_profile(c, true);  /* before profiling is switched off, which would cut it short */
        restore_profiling(c, v);
        break;
    case RUNNER_AT_END:
        if (worth_keeping(c, v->out))
            keep(c, v);
        drop_items(c);
        break;
    }
    return RUNNER_HOOK_CONTINUE;
}
