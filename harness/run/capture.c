/* capture: evidence taken during a run. See capture.h. */
#include "run/capture.h"
#include "run/symptoms.h"
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

/* A CPU profile this long (at most until the load's planned end) is taken when CPU
 * per request is the symptom: at orderd's 100 Hz a faint slowdown (+40 us a request at
 * 1,500 requests a second, 6% of a core) leaves about 30 samples in its function in
 * 5 s; in 3 s, 15 at best, and under 5 on a loaded machine now and then. */
#define CPU_PROFILE_S 5
/* The routine CPU profile (a run with no symptom-triggered one) ends this long before
 * the last snapshot, so that snapshot sees the service at its own level again. */
#define ROUTINE_GAP_S 0.5

static const char *const wanted_metrics[] = {
    "up", GATE_PROC_THREADS, GATE_PROC_RSS, GATE_PROC_CPU, METRIC_PROCESS_THREADS, METRIC_PROCESS_RSS,
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
    char instance[CAPTURE_MAX_INSTANCE];  /* the fleet instance it came from, "" for one service */
    unsigned char *gz;
    size_t gzlen, bytes;
    bool periodic;
};

/* One service the evidence is taken from: the run's service, or on a fleet (samples
 * from Prometheus) each instance, whose debug port is its instance label (Prometheus
 * scrapes /metrics on the debug port, and names the target host:port). Symptoms are
 * watched, profiling switched on and snapshots triggered per target: the evidence of
 * a sick replica comes from that replica. */
struct target {
    char instance[CAPTURE_MAX_INSTANCE];  /* "" for the run's one service */
    char base[URL_MAX];                   /* "http://host:port" of its debug API */
    bool discovered;
    bool has[EP_COUNT];
    double trigger_at;
    char trigger_reason[96];
    bool symptom_seen[SYMPTOM_COUNT];
    bool profiling_switched;
    bool routine_switch;               /* switched on only for the routine CPU profile */
    char restore_level[32];
    bool has_cpu_profile;              /* its pprof index lists "profile" */
    struct symptoms_state symptoms;    /* what the symptom checks remember of it */
};

struct capture {
    bool keep_always;
    struct item *items;
    size_t n, cap, held_bytes, periodic;
    double dump_interval, next_dump;
    bool mid_taken, final_taken, dropped;
    struct target targets[CAPTURE_MAX_TARGETS];
    size_t ntargets;
    bool kept;
    size_t kept_items;
    char problems[512];
    char found[160];       /* what discover found, as said to the user */
    bool found_new;        /* found differs from the last run's */
    double cpu_blind_at;   /* when to take the CPU profile whatever the service shows (drills); NaN: on a symptom */
    struct cpucapture *cpu;
    struct target *cpu_target;  /* whose CPU profile it is */
    double cpu_at;              /* when the CPU profile started */
    char cpu_reason[96];
    bool cpu_routine;           /* the one under way is the routine one */
    bool cpu_symptom_taken;     /* a symptom started one (or a drill's was scheduled) */
    struct target *cpu_pending; /* a symptom came while the routine one ran: its target */
    char cpu_pending_reason[96];
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

static void target_reset(struct target *tg, const char *instance, const char *base)
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
    c->mid_taken = c->final_taken = c->dropped = false;
    c->ntargets = 0;
    c->kept = false;
    c->kept_items = 0;
    c->problems[0] = '\0';
    c->found_new = false;
    cpucapture_free(c->cpu);
    c->cpu = NULL;
    c->cpu_target = NULL;
    c->cpu_at = NAN;
    c->cpu_routine = c->cpu_symptom_taken = false;
    c->cpu_pending = NULL;
}

void capture_cpu_profile_at(struct capture *c, double t)
{
    c->cpu_blind_at = t;
}

/* The targets of this tick: the run's service when its debug API is known, else on a
 * fleet each instance Prometheus lists (`up`), added as they appear. */
static void find_targets(struct capture *c, const struct runner_view *v)
{
    char (*instances)[SERIES_MAX_VALUE];
    char base[URL_MAX];
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
static void discover(struct capture *c, struct target *tg, const struct runner_view *v)
{
    char url[URL_MAX + 64], err[600], found[sizeof c->found];
    struct httpclient_response resp;
    size_t used = 0;

    tg->discovered = true;
    for (int e = 0; e < EP_COUNT; e++) {
        if (e == EP_GOROUTINE && tg->has[EP_THREADS])
            continue;  /* orderd serves both; its thread dump is the richer */
        snprintf(url, sizeof url, "%s%s", tg->base, endpoints[e].path);
        tg->has[e] = httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                                        err, sizeof err) == 0 && resp.status == 200;
        if (tg->has[e] && used + 16 < sizeof found)
            used += (size_t)snprintf(found + used, sizeof found - used, "%s%s", used ? ", " : "",
                                     endpoints[e].name);
    }
    snprintf(url, sizeof url, "%s/debug/pprof/", tg->base);
    tg->has_cpu_profile = httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                                             err, sizeof err) == 0 && resp.status == 200 &&
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

static int add_item(struct capture *c, const struct target *tg, double t, const char *kind, const char *reason,
                    bool periodic, const char *text, size_t len)
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
    snprintf(it->instance, sizeof it->instance, "%s", tg ? tg->instance : "");
    c->held_bytes += it->gzlen;
    c->n++;
    if (periodic && ++c->periodic > CAPTURE_MAX_PERIODIC)
        thin_periodic(c);
    return 0;
}

/* GETs a debug path and keeps the answer as one item. Returns 0, or -1 (noted). */
static int fetch(struct capture *c, const struct target *tg, const struct runner_view *v, const char *path,
                 const char *kind, const char *reason, bool periodic)
{
    char url[URL_MAX + 64], err[600];
    struct httpclient_response resp;

    snprintf(url, sizeof url, "%s%s", tg->base, path);
    if (httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, EVIDENCE_MAX_ITEM, &resp,
                           err, sizeof err) < 0) {
        note_problem(c, "%s%s%s: %s", tg->instance, tg->instance[0] ? " " : "", path, err);
        return -1;
    }
    if (resp.status != 200) {
        note_problem(c, "GET %s%s answered %ld", tg->instance, path, resp.status);
        return -1;
    }
    return add_item(c, tg, v->t, kind, reason, periodic, resp.body, resp.len);
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
    add_item(c, NULL, v->t, EVIDENCE_LOG, reason, false, out, used);
done:
    close(fd);
    free(buf);
    free(out);
}

/* A full snapshot of one target. */
static void snapshot_of(struct capture *c, struct target *tg, const struct runner_view *v, const char *reason)
{
    if (!tg->discovered)
        discover(c, tg, v);
    for (int e = 0; e < EP_COUNT; e++)
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

/* Switches the service to instrument=profile, remembering the level to restore:
 * until the load ends for a symptom, or only until the routine CPU profile is in
 * (routine; nothing when a symptom has switched it already). A symptom that comes
 * while the routine profile holds the level keeps it there to the end. */
static void switch_profiling_on(struct capture *c, struct target *tg, const struct runner_view *v, const char *why,
                                bool routine)
{
    char url[URL_MAX + 64], err[600], note[256];
    struct httpclient_response resp;
    json_t *cfg;
    const char *level;

    if (routine && (tg->profiling_switched || tg->routine_switch))
        return;
    if (!routine) {
        tg->profiling_switched = true;  /* tried once, whatever comes of it */
        if (tg->routine_switch) {
            tg->routine_switch = false;  /* restored at the load's end now */
            snprintf(note, sizeof note, "instrument stays at profile from t=%.2fs (%s)", v->t, why);
            add_item(c, tg, v->t, EVIDENCE_NOTE, "trigger", false, note, strlen(note));
            return;
        }
    }
    snprintf(url, sizeof url, "%s/debug/config", tg->base);
    if (httpclient_request(v->http, "GET", url, NULL, REQUEST_TIMEOUT_MS, 65536, &resp, err, sizeof err) < 0 ||
        resp.status != 200)
        return;  /* a service without orderd's config API: its profiles are what they are */
    cfg = json_loadb(resp.body, resp.len, 0, NULL);
    level = json_string_value(json_object_get(cfg, "instrument"));
    if (!level || strcmp(level, "profile") == 0) {
        json_decref(cfg);
        return;
    }
    snprintf(tg->restore_level, sizeof tg->restore_level, "%s", level);
    json_decref(cfg);
    if (httpclient_request(v->http, "PUT", url, "{\"instrument\":\"profile\"}", REQUEST_TIMEOUT_MS, 65536, &resp,
                           err, sizeof err) < 0 || resp.status != 200) {
        note_problem(c, "could not switch profiling on: %s", resp.status ? "refused" : err);
        tg->restore_level[0] = '\0';
        return;
    }
    tg->routine_switch = routine;
    snprintf(note, sizeof note, "instrument %s -> profile at t=%.2fs (%s)", tg->restore_level, v->t, why);
    add_item(c, tg, v->t, EVIDENCE_NOTE, routine ? EVIDENCE_ROUTINE_CPU : "trigger", false, note, strlen(note));
}

/* Puts the level switch_profiling_on changed back; why says when ("load over"). */
static void restore_profiling(struct capture *c, struct target *tg, const struct runner_view *v, const char *why)
{
    char url[URL_MAX + 64], body[96], err[600], note[160];
    struct httpclient_response resp;
    bool routine = tg->routine_switch;

    if (!tg->restore_level[0])
        return;
    snprintf(url, sizeof url, "%s/debug/config", tg->base);
    snprintf(body, sizeof body, "{\"instrument\":\"%s\"}", tg->restore_level);
    if (httpclient_request(v->http, "PUT", url, body, REQUEST_TIMEOUT_MS, 65536, &resp, err, sizeof err) < 0 ||
        resp.status != 200)
        note_problem(c, "could not restore instrument=%s", tg->restore_level);
    snprintf(note, sizeof note, "instrument profile -> %s at t=%.2fs (%s)", tg->restore_level, v->t, why);
    add_item(c, tg, v->t, EVIDENCE_NOTE, routine ? EVIDENCE_ROUTINE_CPU : "load end", false, note, strlen(note));
    tg->restore_level[0] = '\0';
    tg->routine_switch = false;
}

/* Starts a CPU profile of target tg, when it serves them, ending by run time until;
 * reason is kept with it. A symptom's (or a drill's) is one a run; the routine one
 * only when no other was taken. A symptom that comes while the routine one runs
 * starts its own once that is in. */
static void start_cpu_profile(struct capture *c, struct target *tg, const struct runner_view *v, const char *reason,
                              bool routine, double until)
{
    char err[600];
    int seconds;

    if (c->cpu) {
        if (!routine && c->cpu_routine && !c->cpu_pending) {
            c->cpu_pending = tg;
            snprintf(c->cpu_pending_reason, sizeof c->cpu_pending_reason, "%s", reason);
        }
        return;
    }
    if ((routine ? !isnan(c->cpu_at) : c->cpu_symptom_taken) || !tg->has_cpu_profile)
        return;
    seconds = (int)fmin(CPU_PROFILE_S, floor(until - v->t));  /* within the load */
    if (seconds < 1)
        return;
    if (routine)
        switch_profiling_on(c, tg, v, "routine CPU profile", true);
    c->cpu_at = v->t;
    c->cpu_target = tg;
    c->cpu_routine = routine;
    c->cpu_symptom_taken |= !routine;
    snprintf(c->cpu_reason, sizeof c->cpu_reason, "%s", reason);
    if (!(c->cpu = cpucapture_start(tg->base, v->sc->token_file, seconds, err, sizeof err))) {
        note_problem(c, "CPU profile: %s", err);
        if (tg->routine_switch)
            restore_profiling(c, tg, v, "no routine CPU profile");
    }
}

/* Keeps the CPU profile once it is in (wait: until it is), at the time it started;
 * puts back a level switched for the routine one, and starts a symptom's that waited
 * for it (not once the load is over: wait). */
static void collect_cpu_profile(struct capture *c, const struct runner_view *v, bool wait)
{
    struct target *pending = c->cpu_pending;
    char *text = NULL, err[300];
    size_t len = 0;
    if (!c->cpu || !cpucapture_done(c->cpu, wait, &text, &len, err, sizeof err))
        return;
    if (text)
        add_item(c, c->cpu_target, c->cpu_at, EVIDENCE_CPU, c->cpu_reason, false, text, len);
    else
        note_problem(c, "CPU profile: %s", err);
    free(text);
    cpucapture_free(c->cpu);
    c->cpu = NULL;
    if (c->cpu_routine && c->cpu_target->routine_switch)
        restore_profiling(c, c->cpu_target, v, "routine CPU profile taken");
    c->cpu_pending = NULL;
    if (pending && !wait)
        start_cpu_profile(c, pending, v, c->cpu_pending_reason, false, v->load_end);
}

/* A symptom on a target switches its profiling on and, a moment later, takes a
 * snapshot of it: of the replica that shows it, not of the healthy ones. CPU per
 * request also starts the run's CPU profile of that target (unless a drill has
 * fixed its time in advance). */
static void watch_symptoms(struct capture *c, struct target *tg, const struct runner_view *v)
{
    for (int s = 0; s < SYMPTOM_COUNT; s++) {
        if (tg->symptom_seen[s] || !symptoms_show(tg->instance, &tg->symptoms, v, (enum symptom)s))
            continue;
        tg->symptom_seen[s] = true;
        if (!tg->profiling_switched)
            switch_profiling_on(c, tg, v, symptoms_names[s], false);
        if (s == SYMPTOM_CPU && isnan(c->cpu_blind_at)) {
            char reason[sizeof c->cpu_reason];
            snprintf(reason, sizeof reason, "trigger: %s at t=%.2fs", symptoms_names[s], v->t);
            start_cpu_profile(c, tg, v, reason, false, v->load_end);
        }
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
    double routine_at;

    find_targets(c, v);
    if (!c->ntargets)
        return;
    for (size_t i = 0; i < c->ntargets; i++) {
        struct target *tg = &c->targets[i];
        enum endpoint dump;
        if (!tg->discovered)
            discover(c, tg, v);
        dump = tg->has[EP_THREADS] ? EP_THREADS : EP_GOROUTINE;
        if (dump_now && tg->has[dump])
            fetch(c, tg, v, endpoints[dump].path, endpoints[dump].kind, EVIDENCE_PERIODIC, true);
        watch_symptoms(c, tg, v);
    }
    if (dump_now)
        c->next_dump = v->t + c->dump_interval;
    collect_cpu_profile(c, v, false);
    if (!c->mid_taken && v->t >= v->load_end / 2) {
        c->mid_taken = true;
        capture_snapshot(c, v, "mid-run");
    }
    if (v->t >= c->cpu_blind_at) {
        char reason[sizeof c->cpu_reason];
        snprintf(reason, sizeof reason, "scheduled at t=%.1fs", c->cpu_blind_at);
        start_cpu_profile(c, &c->targets[0], v, reason, false, v->load_end);  /* once (drills: one service) */
    }
    /* The routine profile, late in the measured load so that a symptom has had the
     * run until then to take its own, and over before the last snapshot; never in a
     * cost run ([load] requests), whose instruction count the profiler's timer and
     * handler would add to. */
    routine_at = fmax((double)v->sc->warmup_ns / 1e9, final_at - ROUTINE_GAP_S - CPU_PROFILE_S);
    if (isnan(c->cpu_blind_at) && !v->sc->requests && v->t >= routine_at) {
        char reason[sizeof c->cpu_reason];
        snprintf(reason, sizeof reason, "%s at t=%.1fs (no symptom-triggered profile)", EVIDENCE_ROUTINE_CPU, v->t);
        start_cpu_profile(c, &c->targets[0], v, reason, true, final_at - ROUTINE_GAP_S);
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
        if (evidence_store_of(v->db, v->run_id, it->t, it->kind, it->reason, it->instance, it->gz, it->gzlen,
                              it->bytes, err, sizeof err) < 0) {
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
        if (!c->final_taken && c->ntargets) {
            c->final_taken = true;
            capture_snapshot(c, v, "load end");
        }
        collect_cpu_profile(c, v, true);  /* before profiling is switched off, which would cut it short */
        for (size_t i = 0; i < c->ntargets; i++)
            restore_profiling(c, &c->targets[i], v, "load over");
        break;
    case RUNNER_AT_END:
        if (worth_keeping(c, v->out))
            keep(c, v);
        drop_items(c);
        break;
    }
    return RUNNER_HOOK_CONTINUE;
}
