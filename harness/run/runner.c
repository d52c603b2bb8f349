/* runner: drives one scenario run. See runner.h.
 *
 * The timeline: t = 0 is the first scrape, just before the service's faults are set
 * and wrk starts; warmup (if any) and the measured wrk run follow back to back, and
 * the steady state the metric gates are judged on runs from the scrape taken as the
 * measured wrk starts to the scrape taken as it ends. Phases fire at their `at` and
 * `until` on the same clock.
 *
 * This file is the run's orchestration: the loop around poll(), the order of the
 * steps, judging, and the run row. Each step's mechanics live in a module of its own:
 * the service's lifecycle (service.h), sampling (scrape.h), faults over the debug API
 * (faultctl.h), the phases' order (timeline.h), the load by wrk or, when [load] has a
 * rate, the open-model generator (loadstep.h), the progress line
 * (progress.h) and the counted requests of [load] requests (coststep.h); what a caller
 * sets up before its runs (the signalfd, the service binary check) is runner_setup.c. */
#include "run/runner.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/childproc.h"
#include "judge/verdict.h"
#include "run/baseline.h"
#include "run/coststep.h"
#include "run/faultctl.h"
#include "run/loadstep.h"
#include "run/progress.h"
#include "run/promsource.h"
#include "run/scrape.h"
#include "run/service.h"
#include "run/timeline.h"
#include "units.h"

#define WRK_STOP_GRACE_MS 1000
#define PROGRESS_MS 250
/* How long past its end a load may run before wrk is taken to hang. */
#define WRK_OVERRUN_NS 15000000000LL

enum stage { STAGE_NONE = -1, STAGE_WARMUP = 0, STAGE_MEASURE = 1 };
static const char *const stage_names[] = {"warmup", "measure"};

struct run {
    const struct scenario *sc;
    const struct runner_options *opt;
    struct resultdb *db;
    struct runner_outcome *out;
    bool failed;
    int64_t run_id;
    char log_dir[PATH_MAX];
    struct service svc;
    struct httpclient *http;
    struct series_store *series;
    struct scraper scraper;
    struct promsource *prom;     /* samples from Prometheus instead of scrapes, or NULL */
    struct faultctl faults;
    struct timeline timeline;
    struct loadstep load;        /* wrk, or the open-model generator */
    enum stage stage;
    double stage_started[2];
    bool measure_done;
    int64_t t0_ns;
    bool clock_started;
    int64_t next_sample_ns, next_progress_ns;
    bool progress_drawn;
    double steady_from, steady_to;
    bool end_load_requested, wrk_interrupted;   /* a hook ended the load early */
    unsigned restarts;           /* a hook restarted the service */
    double restarted_t;
    struct coststep cost;        /* [load] requests: the counter and callgrind's prefix */
};

static double seconds_since_t0(const struct run *r)
{
    return r->clock_started ? (double)(units_now_ns() - r->t0_ns) / 1e9 : 0;
}

/* Records why the run stops; the first reason wins. Returns -1 for convenience. */
__attribute__((format(printf, 3, 4)))
static int stop_run(struct run *r, enum runner_status status, const char *fmt, ...)
{
    va_list ap;
    if (r->failed)
        return -1;
    r->failed = true;
    r->out->status = status;
    va_start(ap, fmt);
    vsnprintf(r->out->reason, sizeof r->out->reason, fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((format(printf, 2, 3)))
static void append_reason(struct run *r, const char *fmt, ...)
{
    size_t used = strlen(r->out->reason);
    va_list ap;
    if (used + 3 >= sizeof r->out->reason)
        return;
    if (used)
        used += (size_t)snprintf(r->out->reason + used, sizeof r->out->reason - used, "; ");
    va_start(ap, fmt);
    vsnprintf(r->out->reason + used, sizeof r->out->reason - used, fmt, ap);
    va_end(ap);
}

static void start_wrk(struct run *r, enum stage stage);

static void finish_wrk_stage(struct run *r)
{
    char err[600], note[300] = "";
    struct wrkres res;

    if (loadstep_collect(&r->load, r->db, r->run_id, r->log_dir, stage_names[r->stage], r->stage_started[r->stage],
                         &res, note, sizeof note, err, sizeof err) < 0) {
        stop_run(r, RUNNER_ABORTED, "%s", err);
        return;
    }
    if (note[0])
        append_reason(r, "%s", note);
    if (r->stage == STAGE_WARMUP) {
        start_wrk(r, STAGE_MEASURE);
        return;
    }
    r->out->load = res;
    r->out->have_load = true;
    r->measure_done = true;
}

/* Waits up to timeout_ms for a signal or service output, then checks the children.
 * Returns -1 when the run must stop (interrupt, crash, failure), else 0. */
static int wait_step(struct run *r, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = r->opt->signal_fd, .events = POLLIN},
                            {.fd = r->svc.out_fd, .events = POLLIN}};
    char why[PATH_MAX + 600];
    int signo;

    if (timeout_ms < 0)
        timeout_ms = 0;
    if (poll(fds, r->svc.out_fd >= 0 ? 2 : 1, timeout_ms) < 0 && errno != EINTR)
        return stop_run(r, RUNNER_ABORTED, "poll: %s", strerror(errno));
    signo = runner_signals_take(r->opt->signal_fd);
    if (signo) {
        r->out->interrupted = true;
        return stop_run(r, RUNNER_ABORTED, "interrupted by SIG%s at t=%.1fs", sigabbrev_np(signo),
                        seconds_since_t0(r));
    }
    service_drain(&r->svc);
    if (service_check_exit(&r->svc, seconds_since_t0(r), why, sizeof why))
        stop_run(r, RUNNER_CRASHED, "%s", why);
    if (loadstep_poll(&r->load))
        finish_wrk_stage(r);
    return r->failed ? -1 : 0;
}

static int wait_step_for_service(void *user, int timeout_ms)
{
    return wait_step(user, timeout_ms);
}

/* One sample; a service found gone ends the run as crashed. */
static int scrape(struct run *r)
{
    char err[600];
    enum scrape_status st = r->prom ? promsource_take(r->prom, &r->scraper, seconds_since_t0(r),
                                                      (double)units_wall_ns() / 1e9, err, sizeof err)
                                    : scrape_take(&r->scraper, seconds_since_t0(r), err, sizeof err);
    if (st == SCRAPE_OK)
        return 0;
    return stop_run(r, st == SCRAPE_GONE ? RUNNER_CRASHED : RUNNER_ABORTED, "%s", err);
}

static int fault_on(struct run *r, const char *phase, const struct scenario_fault *f)
{
    char err[800];
    if (faultctl_set(&r->faults, phase, f, seconds_since_t0(r), err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    return 0;
}

/* At the end, also after a failure: every fault loadlab set is cleared, so a service
 * given by URL is left as it was found. A fault that cannot be cleared is noted. */
static void clear_faults(struct run *r)
{
    char err[1000];
    while (r->faults.nactive > 0)
        if (faultctl_clear_last(&r->faults, seconds_since_t0(r), err, sizeof err) < 0)
            append_reason(r, "%s", err);
}

static int fire_due_events(struct run *r)
{
    const struct timeline_event *e;
    int64_t now = units_now_ns() - r->t0_ns;
    char err[800];

    while ((e = timeline_take_due(&r->timeline, now))) {
        const struct scenario_phase *ph = &r->sc->phases[e->phase];
        if (e->off ? faultctl_clear(&r->faults, ph->fault.name, seconds_since_t0(r), err, sizeof err) < 0
                   : faultctl_set(&r->faults, ph->name, &ph->fault, seconds_since_t0(r), err, sizeof err) < 0)
            return stop_run(r, RUNNER_ABORTED, "%s", err);
    }
    return 0;
}

static void start_wrk(struct run *r, enum stage stage)
{
    int64_t ns = stage == STAGE_WARMUP ? r->sc->warmup_ns : r->sc->duration_ns;
    char err[PATH_MAX + 400];

    r->stage = stage;
    r->stage_started[stage] = seconds_since_t0(r);
    if (loadstep_start(&r->load, r->sc, r->opt->wrk_path, r->svc.public_base, r->log_dir, stage_names[stage], ns,
                       r->t0_ns, &r->stage_started[stage], err, sizeof err) < 0)
        stop_run(r, RUNNER_ABORTED, "%s", err);
    if (!r->failed && stage == STAGE_MEASURE) {
        /* the first sample of the steady state */
        if (scrape(r) == 0)
            r->steady_from = r->scraper.now.t;
        r->next_sample_ns = units_now_ns() + r->sc->sample_interval_ns;
    }
}

static void draw_progress(struct run *r, bool final)
{
    char line[1024];

    if (!r->opt->progress)
        return;
    if (final) {
        progress_clear(stderr, r->progress_drawn);
        r->progress_drawn = false;
        return;
    }
    progress_format(line, sizeof line, r->sc->name, r->stage == STAGE_WARMUP, seconds_since_t0(r),
                    scenario_load_ns(r->sc) / 1e9, &r->scraper.now, &r->scraper.before);
    progress_draw(stderr, line);
    r->progress_drawn = true;
}

/* Calls the run hook, if any, with the run as it stands. */
static enum runner_hook_answer call_hook(struct run *r, enum runner_moment moment)
{
    struct runner_view view = {
        .sc = r->sc, .db = r->db, .run_id = r->run_id, .http = r->http, .series = r->series,
        .public_base = r->svc.public_base, .debug_base = r->svc.debug_base, .log_dir = r->log_dir,
        .t = seconds_since_t0(r), .load_end = scenario_load_ns(r->sc) / 1e9,
        .measuring = r->stage == STAGE_MEASURE && loadstep_running(&r->load), .out = r->out,
        .restarts = r->restarts, .restarted_t = r->restarts ? r->restarted_t : NAN,
    };
    if (!r->opt->hook)
        return RUNNER_HOOK_CONTINUE;
    return r->opt->hook(r->opt->hook_user, moment, &view);
}

/* A hook asked for the service to be restarted: stopped, started again on the same
 * ports, ready. Returns -1 when the run must stop (it did not come back), else 0. */
static int restart_service(struct run *r)
{
    char err[PATH_MAX + 600];
    double asked = seconds_since_t0(r);

    if (!r->svc.pid) {
        append_reason(r, "a restart asked at t=%.1fs: only a service loadlab started can be restarted", asked);
        return 0;
    }
    if (service_restart(&r->svc, err, sizeof err) < 0 ||
        service_wait_ready(&r->svc, r->http, wait_step_for_service, r, err, sizeof err) < 0)
        return err[0] ? stop_run(r, RUNNER_CRASHED, "restarted at t=%.1fs: %s", asked, err) : -1;
    r->scraper.proc_pid = r->svc.proc_pid;
    r->restarts++;
    r->restarted_t = seconds_since_t0(r);
    /* A diagnosis reads the run in segments split here (the new process's samples are
     * no continuation of the old one's): a restart it cannot see would break them. */
    if (resultdb_restart(r->db, r->run_id, asked, r->restarted_t, err, sizeof err) < 0)
        append_reason(r, "the restart at t=%.1fs was not recorded: %s", asked, err);
    append_reason(r, "service restarted at t=%.1fs (pid %d, ready at t=%.1fs)", asked, (int)r->svc.pid,
                  r->restarted_t);
    return 0;
}

/* A hook or a lost abort_on_fail gate asked to end the load: wrk stops on SIGINT and
 * still writes its summary; the open model's schedule ends and what is out drains.
 * Asked during the warmup, the measured run is stopped as soon as it starts. */
static void end_load_early(struct run *r)
{
    char why[GATE_MAX_NAME + 100];

    if (r->stage == STAGE_MEASURE && !r->end_load_requested && loadstep_lost_gate(&r->load, why, sizeof why)) {
        append_reason(r, "%s at t=%.1fs: the load ended early (abort_on_fail)", why, seconds_since_t0(r));
        r->end_load_requested = true;
    }
    if (r->end_load_requested && !r->wrk_interrupted && loadstep_running(&r->load) && r->stage == STAGE_MEASURE) {
        loadstep_interrupt(&r->load);
        r->wrk_interrupted = true;
    }
}

/* Read through Prometheus: the fleet's latency percentiles over the steady state,
 * from the service's summed histogram, joining the last sample. */
static int fleet_latency(struct run *r)
{
    char err[600];
    double now_unix = (double)units_wall_ns() / 1e9, now = seconds_since_t0(r);

    if (!r->prom)
        return 0;
    if (promsource_fleet_latency(r->prom, &r->scraper, r->steady_to, now_unix - (now - r->steady_from),
                                 now_unix - (now - r->steady_to), err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    return 0;
}

/* The loop while wrk runs: phases on time, a sample every interval, progress. wrk
 * stops itself after its duration; the deadline only guards against one that hangs. */
static int drive_load(struct run *r)
{
    int64_t deadline = r->t0_ns + scenario_load_ns(r->sc) + r->sc->timeout_ns + WRK_OVERRUN_NS;

    while (!r->measure_done) {
        int64_t now = units_now_ns(), wake = r->next_sample_ns, event_at = timeline_next_at(&r->timeline);
        if (now > deadline)
            return stop_run(r, RUNNER_ABORTED, "wrk still running %.0fs after the load should have ended",
                            (double)(now - r->t0_ns - scenario_load_ns(r->sc)) / 1e9);
        if (event_at != INT64_MAX && r->t0_ns + event_at < wake)
            wake = r->t0_ns + event_at;
        if (r->opt->progress && r->next_progress_ns < wake)
            wake = r->next_progress_ns;
        if (wait_step(r, (int)((wake - now + 999999) / 1000000)) < 0)
            return -1;
        if (r->measure_done)
            break;
        if (fire_due_events(r) < 0)
            return -1;
        now = units_now_ns();
        if (now >= r->next_sample_ns) {
            if (scrape(r) < 0)
                return -1;
            enum runner_hook_answer answer = call_hook(r, RUNNER_AT_TICK);
            if (answer == RUNNER_HOOK_END_LOAD)
                r->end_load_requested = true;
            if (answer == RUNNER_HOOK_RESTART_SERVICE && restart_service(r) < 0)
                return -1;
            end_load_early(r);
            r->next_sample_ns += r->sc->sample_interval_ns;
            if (r->next_sample_ns <= now)
                r->next_sample_ns = now + r->sc->sample_interval_ns;
        }
        if (now >= r->next_progress_ns) {
            draw_progress(r, false);
            r->next_progress_ns = now + PROGRESS_MS * 1000000LL;
        }
    }
    /* the last sample of the steady state */
    if (scrape(r) < 0)
        return -1;
    r->steady_to = r->scraper.now.t;
    return fleet_latency(r);
}

static void judge(struct run *r)
{
    struct gate_inputs in = {.load = r->out->have_load ? &r->out->load : NULL, .series = r->series,
                             .from = r->steady_from, .to = r->steady_to, .have_proc = r->svc.proc_pid > 0};
    bool met = true;

    loadstep_gate_inputs(&r->load, &in);
    if (r->out->have_cost) {
        in.instructions_per_request = r->out->cost.instructions_per_request;
        in.cost_counter = costmeter_kind_name(r->out->cost.kind);
    }
    char err[400];

    for (size_t i = 0; i < r->sc->ngates; i++) {
        struct gate_result *g = &r->out->gates[i];
        gate_evaluate(&r->sc->gates[i], &in, g);
        g->expected_to_fail = r->sc->expected_to_fail[i];
        if (!verdict_met(verdict_of_gate(g->verdict, g->expected_to_fail)))
            met = false;
        if (resultdb_gate(r->db, r->run_id, g, err, sizeof err) < 0) {
            stop_run(r, RUNNER_ABORTED, "%s", err);
            return;
        }
    }
    r->out->ngates = r->sc->ngates;
    r->out->judged = true;
    r->out->met = met;
    /* regression gates: only this run's figures here; judged across runs later */
    if (baseline_record_figures(r->db, r->run_id, r->sc, &in, err, sizeof err) < 0)
        stop_run(r, RUNNER_ABORTED, "%s", err);
}

/* Checks, on the first scrape, that the built-in gates have their metrics. */
static int check_gate_metrics(struct run *r)
{
    char err[600];
    for (size_t i = 0; i < r->sc->ngates; i++)
        if (gate_check_metrics(&r->sc->gates[i], r->svc.proc_pid > 0, r->series, err, sizeof err) < 0) {
            if (r->prom)
                return stop_run(r, RUNNER_ABORTED, "%s: Prometheus at %s has no such series for %s%s%s", err,
                                r->sc->prometheus, r->sc->prometheus_selector,
                                r->scraper.failures ? "; the query failed: " : "", r->scraper.last_err);
            if (!r->svc.metrics_url[0])
                return stop_run(r, RUNNER_ABORTED, "%s: [service] gives no metrics URL", err);
            if (r->scraper.failures)
                return stop_run(r, RUNNER_ABORTED, "%s (the scrape failed: %s)", err, r->scraper.last_err);
            return stop_run(r, RUNNER_ABORTED, "%s at %s", err, r->svc.metrics_url);
        }
    return 0;
}

/* The run's log folder, wrk's wrapper, the HTTP client and the series store. */
static int prepare_run(struct run *r)
{
    char err[PATH_MAX + 600], token[HTTPCLIENT_MAX_TOKEN + 2];
    bool local = r->sc->command[0] || r->sc->pid;

    if ((size_t)snprintf(r->log_dir, sizeof r->log_dir, "%s/run-%lld", r->opt->log_root,
                         (long long)r->run_id) >= sizeof r->log_dir)
        return stop_run(r, RUNNER_ABORTED, "log folder path too long");
    if ((mkdir(r->opt->log_root, 0755) < 0 && errno != EEXIST) || (mkdir(r->log_dir, 0755) < 0 && errno != EEXIST))
        return stop_run(r, RUNNER_ABORTED, "cannot create %s: %s", r->log_dir, strerror(errno));
    if (loadwrk_write_wrapper(r->log_dir, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    if (r->sc->token_file[0] && httpclient_read_token(r->sc->token_file, token, sizeof token, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    r->http = httpclient_new(r->sc->token_file[0] ? token : NULL, err, sizeof err);
    r->series = series_store_new();
    if (!r->http || !r->series)
        return stop_run(r, RUNNER_ABORTED, "%s", r->http ? "out of memory" : err);
    if (r->sc->prometheus[0] && !(r->prom = promsource_new(r->sc, err, sizeof err)))
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    for (size_t i = 0; i < r->sc->ngates; i++)
        if (gate_want_metrics(&r->sc->gates[i], local, r->series) < 0)
            return stop_run(r, RUNNER_ABORTED, "out of memory");
    for (size_t i = 0; i < r->sc->nregressions; i++)
        if (gate_want_metrics(&r->sc->regressions[i], local, r->series) < 0)
            return stop_run(r, RUNNER_ABORTED, "out of memory");
    if (series_store_want(r->series, r->sc->requests_metric) < 0)
        return stop_run(r, RUNNER_ABORTED, "out of memory");
    return 0;
}

/* Starts (or finds) the service and waits until it is ready; then the scraper and the
 * fault control know where it is. */
static int start_service(struct run *r)
{
    char err[PATH_MAX + 600];

    if (service_start(&r->svc, r->log_dir, err, sizeof err) < 0 ||
        service_wait_ready(&r->svc, r->http, wait_step_for_service, r, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    r->scraper = (struct scraper){
        .db = r->db, .run_id = r->run_id, .http = r->http, .series = r->series,
        .metrics_url = r->svc.metrics_url, .requests_metric = r->sc->requests_metric,
        .proc_pid = r->svc.proc_pid, .spawned = r->svc.pid != 0, .sample_interval_ns = r->sc->sample_interval_ns,
    };
    r->faults = (struct faultctl){.http = r->http, .debug_base = r->svc.debug_base, .db = r->db,
                                  .run_id = r->run_id};
    return 0;
}

static int cost_check(void *user)
{
    return wait_step(user, 0);
}

/* [load] requests: the counted requests instead of wrk, between two scrapes that
 * bound the steady state. */
static void measure_cost(struct run *r)
{
    char err[1200];
    int rc;

    r->stage = STAGE_MEASURE;
    r->stage_started[STAGE_MEASURE] = seconds_since_t0(r);
    r->steady_from = r->scraper.now.t;
    rc = coststep_measure(&r->cost, r->sc, r->svc.pid, r->svc.public_base, r->t0_ns + r->sc->duration_ns,
                          cost_check, r, &r->out->cost, err, sizeof err);
    if (rc == -1)
        stop_run(r, RUNNER_ABORTED, "%s", err);
    if (rc != 0)
        return;
    r->out->have_cost = true;
    r->measure_done = true;
    if (scrape(r) == 0)
        r->steady_to = r->scraper.now.t;
}

/* [load] requests: the counter and, for callgrind, the service started under it. */
static int prepare_cost(struct run *r)
{
    char err[PATH_MAX + 600];

    if (!r->sc->requests)
        return 0;
    if (coststep_prepare(&r->cost, r->sc, r->log_dir, err, sizeof err) < 0)
        return stop_run(r, RUNNER_ABORTED, "%s", err);
    if (r->cost.nprefix) {
        r->svc.prefix = r->cost.prefix;
        r->svc.nprefix = r->cost.nprefix;
    }
    return 0;
}

/* From the first scrape to the end of the load: faults, wrk, the loop. */
static void run_load(struct run *r)
{
    char msg[600];

    r->t0_ns = units_now_ns();
    r->clock_started = true;
    r->scraper.last_ok_ns = r->t0_ns;
    if (resultdb_run_started(r->db, r->run_id, r->log_dir, r->svc.proc_pid, (double)units_wall_ns() / 1e9, msg,
                             sizeof msg) < 0)
        stop_run(r, RUNNER_ABORTED, "%s", msg);
    if (!r->failed)
        call_hook(r, RUNNER_AT_START);
    if (r->failed || scrape(r) != 0 || check_gate_metrics(r) != 0)
        return;
    for (size_t i = 0; i < r->sc->nfaults && !r->failed; i++)
        fault_on(r, "service", &r->sc->faults[i]);
    if (!r->failed && r->sc->requests) {
        measure_cost(r);
        return;
    }
    if (!r->failed) {
        r->next_sample_ns = units_now_ns() + r->sc->sample_interval_ns;
        r->next_progress_ns = units_now_ns();
        start_wrk(r, r->sc->warmup_ns > 0 ? STAGE_WARMUP : STAGE_MEASURE);
    }
    if (!r->failed)
        drive_load(r);
}

/* Stops wrk and the service, clearing the faults first while the service still runs. */
static void stop_children(struct run *r)
{
    char how[128];

    draw_progress(r, true);
    loadstep_stop(&r->load, WRK_STOP_GRACE_MS);
    if (r->clock_started && !r->svc.reaped)
        call_hook(r, RUNNER_AT_LOAD_END);
    if (!r->svc.reaped && r->svc.debug_base[0])
        clear_faults(r);
    if (service_stop(&r->svc, how, sizeof how) && r->out->status == RUNNER_COMPLETED)
        append_reason(r, "service %s when stopped", how);
}

static void note_scrape_failures(struct run *r)
{
    char note[600];

    if (r->scraper.failures && r->out->status == RUNNER_COMPLETED)
        append_reason(r, "%u of %u %s failed (last: %s)", r->scraper.failures, r->scraper.scrapes,
                      r->prom ? "Prometheus queries" : "scrapes", r->scraper.last_err);
    if (r->prom) {
        promsource_note(r->prom, note, sizeof note);
        if (note[0])
            append_reason(r, "%s", note);
    }
}

int runner_run(const struct scenario *sc, struct resultdb *db, const struct runner_options *opt,
               struct runner_outcome *out, char *err, size_t errlen)
{
    struct run *r = calloc(1, sizeof *r);
    struct resultdb_run row = {.scenario = sc->name, .scenario_file = sc->file, .label = opt->label,
                               .git_rev = opt->git_rev};
    int64_t started = units_now_ns();
    static const char *const status_names[] = {"completed", "aborted", "crashed"};
    char *params = scenario_params_json(sc);
    char msg[600];
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->scenario = sc;
    if (!r || !params) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    r->sc = sc;
    r->opt = opt;
    r->db = db;
    r->out = out;
    r->stage = STAGE_NONE;
    r->steady_from = r->steady_to = NAN;
    service_init(&r->svc, sc);
    row.params = params;
    if (resultdb_run_begin(db, &row, &r->run_id, err, errlen) < 0)
        goto done;
    out->run_id = r->run_id;
    timeline_plan(&r->timeline, sc);

    if (prepare_run(r) == 0 && prepare_cost(r) == 0 && start_service(r) == 0)
        run_load(r);
    stop_children(r);
    if (!r->failed) {
        if (scrape_record_windows(&r->scraper, r->steady_from, r->steady_to, msg, sizeof msg) < 0)
            stop_run(r, RUNNER_ABORTED, "%s", msg);
        else
            judge(r);
    }
    note_scrape_failures(r);
    if (r->clock_started)
        call_hook(r, RUNNER_AT_END);
    if (resultdb_run_end(db, r->run_id, status_names[out->status], out->reason,
                         out->judged ? (out->met ? "met" : "unmet") : NULL, r->steady_from,
                         r->steady_to, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s", msg);
        goto done;
    }
    rc = 0;
done:
    if (r) {
        service_close(&r->svc);
        loadstep_close(&r->load);
        httpclient_free(r->http);
        promsource_free(r->prom);
        series_store_free(r->series);
    }
    free(r);
    free(params);
    out->wall_s = (double)(units_now_ns() - started) / 1e9;
    return rc;
}
