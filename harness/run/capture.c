/* capture: evidence taken during a run. See capture.h.
 *
 * This half finds the targets, takes the periodic dumps, the snapshots and the
 * triggered ones, watches the symptoms and keeps the evidence at the run's end; when a
 * CPU profile is taken and the instrument level switched for it is capture_cpu.c's,
 * which reaches the evidence only through capture_add_item. Their shared state is in
 * capture_internal.h, private to the two. */
#include "run/capture_internal.h"
#include "metric_names.h"

#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/httpclient.h"
#include "store/evidence.h"
#include "judge/gate.h"

#define FIRST_DUMP_INTERVAL 0.5
/* The last snapshot is taken this long before the load's planned end (or at 85% of a
 * shorter load), so that it is done while wrk still drives the service. */
#define FINAL_LEAD_S 1.5
/* After a symptom switches profiling on, the snapshot waits this long so that the
 * profiles have recorded something. */
#define TRIGGER_DELAY_S 1.0
#define LOG_TAIL_BYTES (256 * 1024)

static const char *const wanted_metrics[] = {
    "up", GATE_PROC_THREADS, GATE_PROC_RSS, GATE_PROC_CPU, METRIC_PROCESS_THREADS, METRIC_PROCESS_RSS,
    METRIC_PROCESS_CPU, METRIC_ORDERD_QUEUE_DEPTH, METRIC_ORDERD_QUEUE_CAPACITY,
    METRIC_ORDERD_MUTEX_WAIT, METRIC_ORDERD_HTTP_REQUESTS, METRIC_GO_THREADS, METRIC_GO_GOROUTINES,
};

static const struct {
    const char *path, *kind, *name;
} endpoints[CAPTURE_EP_COUNT] = {
    [CAPTURE_EP_THREADS] = {"/debug/pprof/threads?debug=1", EVIDENCE_THREADS, "threads"},
    [CAPTURE_EP_GOROUTINE] = {"/debug/pprof/goroutine?debug=1", EVIDENCE_THREADS, "goroutine"},
    [CAPTURE_EP_MUTEX] = {"/debug/pprof/mutex?debug=1", EVIDENCE_MUTEX, "mutex"},
    [CAPTURE_EP_BLOCK] = {"/debug/pprof/block?debug=1", EVIDENCE_BLOCK, "block"},
    [CAPTURE_EP_HEAP] = {"/debug/pprof/heap?debug=1", EVIDENCE_HEAP, "heap"},
    [CAPTURE_EP_VARS] = {"/debug/vars", EVIDENCE_VARS, "vars"},
    [CAPTURE_EP_FAULTS] = {"/debug/faults", EVIDENCE_FAULTS, "faults"},
};

struct capture_item {
    double t;
    char kind[16];
    char reason[96];
    char instance[CAPTURE_MAX_INSTANCE];  /* the fleet instance it came from, "" for one service */
    unsigned char *gz;
    size_t gzlen, bytes;
    bool periodic;
};

struct capture *capture_new(bool keep_always)
{
    struct capture *c = calloc(1, sizeof *c);
    if (c) {
        c->keep_always = keep_always;
        c->cpu.blind_at = NAN;
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
    capture_cpu_reset(c);
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

void capture_note_problem(struct capture *c, const char *fmt, ...)
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

static void target_reset(struct capture_target *tg, const char *instance, const char *base)
{
    memset(tg, 0, sizeof *tg);
    snprintf(tg->instance, sizeof tg->instance, "%s", instance);
    snprintf(tg->base, sizeof tg->base, "%s", base);
    tg->trigger_at = NAN;
    symptoms_state_reset(&tg->symptoms);
}

static void reset_run(struct capture *c)
{
    drop_items(c);
    c->dump_interval = FIRST_DUMP_INTERVAL;
    c->next_dump = 0;
    c->dumps_taken = 0;
    c->mid_taken = c->final_taken = c->dropped = false;
    c->ntargets = 0;
    c->kept = false;
    c->kept_items = 0;
    c->problems[0] = '\0';
    c->found_new = false;
    capture_cpu_reset(c);
}

/* The targets of this tick: the run's service when its debug API is known, else on a
 * fleet each instance Prometheus lists (`up`), added as they appear. */
static void find_targets(struct capture *c, const struct runner_view *v)
{
    char (*instances)[SERIES_MAX_VALUE];
    char base[CAPTURE_URL_MAX];
    size_t n;

    if (v->debug_base[0]) {
        if (!c->ntargets)
            target_reset(&c->targets[c->ntargets++], "", v->debug_base);
        return;
    }
    if (!v->sc->prometheus[0] || !(instances = malloc(CAPTURE_MAX_TARGETS * sizeof *instances)))
        return;
    n = series_store_label_values(v->series, "up", GATE_INSTANCE_LABEL, instances, CAPTURE_MAX_TARGETS);
    for (size_t i = 0; i < n && c->ntargets < CAPTURE_MAX_TARGETS; i++) {
        bool known = false;
        for (size_t k = 0; k < c->ntargets && !known; k++)
            known = strcmp(c->targets[k].instance, instances[i]) == 0;
        if (known || strlen(instances[i]) >= CAPTURE_MAX_INSTANCE)
            continue;
        snprintf(base, sizeof base, "%s%s", strstr(instances[i], "://") ? "" : "http://", instances[i]);
        target_reset(&c->targets[c->ntargets++], instances[i], base);
    }
    free(instances);
}

/* Asks the target once for each debug endpoint and remembers which answer 200, so
 * that evidence is asked only of those; says which were found (of the first target)
 * when that differs from the last run's. A 404, another status or no answer all mean
 * "not there". */
static void discover(struct capture *c, struct capture_target *tg, const struct runner_view *v)
{
    char url[CAPTURE_URL_MAX + 64], err[600], found[sizeof c->found];
    struct httpclient_response resp;
    size_t used = 0;

    tg->discovered = true;
    for (int e = 0; e < CAPTURE_EP_COUNT; e++) {
        if (e == CAPTURE_EP_GOROUTINE && tg->has[CAPTURE_EP_THREADS])
            continue;  /* orderd serves both; its thread dump is the richer */
        snprintf(url, sizeof url, "%s%s", tg->base, endpoints[e].path);
        tg->has[e] = httpclient_request(v->http, "GET", url, NULL, CAPTURE_REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM,
                                        &resp, err, sizeof err) == 0 && resp.status == 200;
        if (tg->has[e] && used + 16 < sizeof found)
            used += (size_t)snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "",
                                     endpoints[e].name);
    }
    snprintf(url, sizeof url, "%s/debug/pprof/", tg->base);
    tg->has_cpu_profile = httpclient_request(v->http, "GET", url, NULL, CAPTURE_REQUEST_TIMEOUT_MS,
                                             EVIDENCE_MAX_ITEM, &resp, err, sizeof err) == 0 && resp.status == 200 &&
                          memmem(resp.body, resp.len, ">profile</a>", 12);
    if (tg->has_cpu_profile && used + 16 < sizeof found)
        used += (size_t)snprintf(found + used, sizeof found - used, "%sprofile", used ? ", " : "");
    if (tg != &c->targets[0])
        return;
    if (!used)
        snprintf(found, sizeof found, "none");
    c->found_new = strcmp(found, c->found) != 0;
    snprintf(c->found, sizeof c->found, "%s", found);
}

const char *capture_endpoints(const struct capture *c)
{
    return c->found_new ? c->found : "";
}

/* Every other periodic item of each kind (thread dumps, heap profiles) goes, so that
 * the kept ones still span the whole run. */
static void thin_periodic(struct capture *c)
{
    size_t out = 0, seen[2] = {0, 0};
    for (size_t i = 0; i < c->n; i++) {
        struct capture_item *it = &c->items[i];
        if (it->periodic && seen[strcmp(it->kind, EVIDENCE_HEAP) == 0]++ % 2 == 1) {
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

int capture_add_item(struct capture *c, const struct capture_target *tg, double t, const char *kind,
                     const char *reason, bool periodic, const char *text, size_t len)
{
    char err[256];
    struct capture_item *it;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct capture_item *bigger = realloc(c->items, cap * sizeof *bigger);
        if (!bigger) {
            capture_note_problem(c, "out of memory");
            return -1;
        }
        c->items = bigger;
        c->cap = cap;
    }
    it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    if (evidence_gzip(text, len, &it->gz, &it->gzlen, err, sizeof err) < 0) {
        capture_note_problem(c, "%s: %s", kind, err);
        return -1;
    }
    if (c->held_bytes + it->gzlen > CAPTURE_MAX_BYTES) {
        free(it->gz);
        if (!c->dropped)
            capture_note_problem(c, "evidence past %d MB dropped", CAPTURE_MAX_BYTES >> 20);
        c->dropped = true;
        return -1;
    }
    it->t = t;
    it->bytes = len;
    it->periodic = periodic;
    snprintf(it->kind, sizeof it->kind, "%s", kind);
    snprintf(it->reason, sizeof it->reason, "%s", reason);
    snprintf(it->instance, sizeof it->instance, "%s", tg ? tg->instance : "");
    c->held_bytes += it->gzlen;
    c->n++;
    if (periodic && ++c->periodic > CAPTURE_MAX_PERIODIC)
        thin_periodic(c);
    return 0;
}

/* GETs a debug path and keeps the answer as one item. Returns 0, or -1 (noted). */
static int fetch(struct capture *c, const struct capture_target *tg, const struct runner_view *v, const char *path,
                 const char *kind, const char *reason, bool periodic)
{
    char url[CAPTURE_URL_MAX + 64], err[600];
    struct httpclient_response resp;

    snprintf(url, sizeof url, "%s%s", tg->base, path);
    if (httpclient_request(v->http, "GET", url, NULL, CAPTURE_REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                           err, sizeof err) < 0) {
        capture_note_problem(c, "%s%s%s: %s", tg->instance, tg->instance[0] ? " " : "", path, err);
        return -1;
    }
    if (resp.status != 200) {
        capture_note_problem(c, "GET %s%s answered %ld", tg->instance, path, resp.status);
        return -1;
    }
    return capture_add_item(c, tg, v->t, kind, reason, periodic, resp.body, resp.len);
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
    capture_add_item(c, NULL, v->t, EVIDENCE_LOG, reason, false, out, used);
done:
    close(fd);
    free(buf);
    free(out);
}

/* A full snapshot of one target. */
static void snapshot_of(struct capture *c, struct capture_target *tg, const struct runner_view *v, const char *reason)
{
    if (!tg->discovered)
        discover(c, tg, v);
    for (int e = 0; e < CAPTURE_EP_COUNT; e++)
        if (tg->has[e])
            fetch(c, tg, v, endpoints[e].path, endpoints[e].kind, reason, false);
    if (!tg->instance[0])
        take_log(c, v, reason);
}

size_t capture_snapshot(struct capture *c, const struct runner_view *v, const char *reason)
{
    size_t before = c->n;

    if (!v->http)
        return 0;
    find_targets(c, v);
    for (size_t i = 0; i < c->ntargets; i++)
        snapshot_of(c, &c->targets[i], v, reason);
    return c->n - before;
}

/* A symptom on a target switches its profiling on and, a moment later, takes a
 * snapshot of it: of the replica that shows it, not of the healthy ones. CPU per
 * request also starts the run's CPU profile of that target (unless a drill has
 * fixed its time in advance). */
static void watch_symptoms(struct capture *c, struct capture_target *tg, const struct runner_view *v)
{
    for (int s = 0; s < SYMPTOM_COUNT; s++) {
        if (tg->symptom_seen[s] || !symptoms_show(tg->instance, &tg->symptoms, v, (enum symptom)s))
            continue;
        tg->symptom_seen[s] = true;
        if (!tg->profiling_switched)
            capture_cpu_switch_profiling_on(c, tg, v, symptoms_names[s], false);
        if (s == SYMPTOM_CPU)
            capture_cpu_on_symptom(c, tg, v, symptoms_names[s]);
        if (isnan(tg->trigger_at)) {
            tg->trigger_at = v->t + TRIGGER_DELAY_S;
            snprintf(tg->trigger_reason, sizeof tg->trigger_reason, "trigger: %s at t=%.2fs", symptoms_names[s],
                     v->t);
        }
    }
    if (!isnan(tg->trigger_at) && v->t >= tg->trigger_at) {
        snapshot_of(c, tg, v, tg->trigger_reason);
        tg->trigger_at = INFINITY;  /* one triggered snapshot per target and run */
    }
}

static void on_tick(struct capture *c, const struct runner_view *v)
{
    double final_at = v->load_end - (v->load_end * 0.15 < FINAL_LEAD_S ? v->load_end * 0.15 : FINAL_LEAD_S);
    bool dump_now = v->t >= c->next_dump;
    /* A heap profile with every other periodic dump: a site whose live bytes climb
     * through them is a leak too faint for the resident set to show beside ordinary
     * growth (the rule in diagnose/rules_leaks.c); the snapshots alone are two or three. */
    bool heap_now = dump_now && c->dumps_taken++ % 2 == 0;

    find_targets(c, v);
    if (!c->ntargets)
        return;
    for (size_t i = 0; i < c->ntargets; i++) {
        struct capture_target *tg = &c->targets[i];
        enum capture_endpoint dump;
        if (!tg->discovered)
            discover(c, tg, v);
        dump = tg->has[CAPTURE_EP_THREADS] ? CAPTURE_EP_THREADS : CAPTURE_EP_GOROUTINE;
        if (dump_now && tg->has[dump])
            fetch(c, tg, v, endpoints[dump].path, endpoints[dump].kind, EVIDENCE_PERIODIC, true);
        if (heap_now && tg->has[CAPTURE_EP_HEAP])
            fetch(c, tg, v, endpoints[CAPTURE_EP_HEAP].path, EVIDENCE_HEAP, EVIDENCE_PERIODIC, true);
        watch_symptoms(c, tg, v);
    }
    if (dump_now)
        c->next_dump = v->t + c->dump_interval;
    capture_cpu_collect(c, v, false);
    if (!c->mid_taken && v->t >= v->load_end / 2) {
        c->mid_taken = true;
        capture_snapshot(c, v, "mid-run");
    }
    capture_cpu_schedule(c, v, final_at);
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
        capture_note_problem(c, "%s", err);
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct capture_item *it = &c->items[i];
        if (evidence_store_of(v->db, v->run_id, it->t, it->kind, it->reason, it->instance, it->gz, it->gzlen,
                              it->bytes, err, sizeof err) < 0) {
            capture_note_problem(c, "%s", err);
            break;
        }
        c->kept_items++;
    }
    if (resultdb_commit(v->db, err, sizeof err) < 0)
        capture_note_problem(c, "%s", err);
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
                capture_note_problem(c, "out of memory");
        break;
    case RUNNER_AT_TICK:
        on_tick(c, v);
        break;
    case RUNNER_AT_LOAD_END:
        if (!c->final_taken && c->ntargets) {
            c->final_taken = true;
            capture_snapshot(c, v, "load end");
        }
        capture_cpu_collect(c, v, true);  /* before profiling is switched off, which would cut it short */
        for (size_t i = 0; i < c->ntargets; i++)
            capture_cpu_restore_profiling(c, &c->targets[i], v, "load over");
        break;
    case RUNNER_AT_END:
        if (worth_keeping(c, v->out))
            keep(c, v);
        drop_items(c);
        break;
    }
    return RUNNER_HOOK_CONTINUE;
}
