/* abrun: interleaved A/B of one scenario, two services at once. See abrun.h. */
#include "run/abrun_internal.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/httpclient.h"
#include "base/wrkres.h"
#include "judge/interleave.h"
#include "procstat.h"
#include "run/faultctl.h"
#include "run/loadwrk.h"
#include "run/schedule.h"
#include "run/service.h"
#include "store/figures.h"
#include "units.h"

/* Checks a slice length and the budget's pairs of it; wrk: whole seconds only. */
static int check_slice(const struct abrun_options *opt, int64_t slice_ns, bool wrk, char *err, size_t errlen)
{
    struct sequential_plan plan;
    char why[300];
    size_t pairs;

    if (slice_ns < ABRUN_MIN_SLICE_NS || slice_ns > ABRUN_MAX_SLICE_NS) {
        snprintf(err, errlen, "--slice must be from 100ms to 10s");
        return -1;
    }
    if (wrk && slice_ns % 1000000000LL != 0) {
        snprintf(err, errlen, "--slice must be whole seconds when wrk loads the slices (a wrk script, or "
                 "--wrk-slices): wrk counts in seconds");
        return -1;
    }
    if (opt->budget_ns < 2 * slice_ns || opt->budget_ns > ABRUN_MAX_BUDGET_NS) {
        snprintf(err, errlen, "--budget must be at least two slices and at most 1h");
        return -1;
    }
    pairs = (size_t)(opt->budget_ns / (2 * slice_ns));
    size_t block = abrun_block_pairs(opt);
    if (sequential_plan_init(&plan, opt->regression.alpha, 0.05, pairs / block, why, sizeof why) < 0) {
        size_t fewest = pairs / block + 1;
        while (fewest < SEQUENTIAL_MAX_PAIRS &&
               sequential_plan_init(&plan, opt->regression.alpha, 0.05, fewest, why, sizeof why) < 0)
            fewest++;
        if (block > 1)
            snprintf(err, errlen, "--budget %.1fs gives %zu blocks of %zu pairs of %.2fs slices; a verdict on blocks "
                     "at alpha %g needs at least %zu blocks (give a longer --budget, a shorter --slice or a smaller "
                     "--restart-every)", (double)opt->budget_ns / 1e9, pairs / block, block, (double)slice_ns / 1e9,
                     opt->regression.alpha, fewest);
        else
            snprintf(err, errlen, "--budget %.1fs gives %zu pairs of %.2fs slices: %s", (double)opt->budget_ns / 1e9,
                     pairs, (double)slice_ns / 1e9, why);
        return -1;
    }
    return 0;
}

size_t abrun_block_pairs(const struct abrun_options *opt)
{
    return opt->restart_every == ABRUN_RESTART_DEFAULT ? ABRUN_DEFAULT_BLOCK_PAIRS
           : opt->restart_every > 1                    ? opt->restart_every
                                                       : 1;
}

int64_t abrun_slice_of(const struct scenario *sc, const struct abrun_options *opt)
{
    if (opt->slice_ns)
        return opt->slice_ns;
    return sc && abrun_uses_wrk(sc, opt) ? ABRUN_WRK_SLICE_NS : ABRUN_DUET_SLICE_NS;
}

int abrun_check(const struct abrun_options *opt, char *err, size_t errlen)
{
    int64_t slice = opt->slice_ns ? opt->slice_ns : opt->wrk_slices ? ABRUN_WRK_SLICE_NS : ABRUN_DUET_SLICE_NS;
    return check_slice(opt, slice, opt->wrk_slices, err, errlen);
}

int abrun_check_scenario(const struct scenario *sc, const struct abrun_options *opt, char *err, size_t errlen)
{
    if (!sc->command[0]) {
        snprintf(err, errlen, "%s: --interleave starts both builds: the scenario needs [service] command, not a url",
                 sc->name);
        return -1;
    }
    if (sc->nphases > 0) {
        snprintf(err, errlen, "%s: --interleave cannot run timed fault phases ([phase] %s): two services "
                 "switched in slices share no run clock; compare it with whole runs (without --interleave)",
                 sc->name, sc->phases[0].name);
        return -1;
    }
    if (sc->open_model || sc->requests > 0) {
        snprintf(err, errlen, "%s: --interleave loads a closed loop and the scenario's [load] is %s; compare it with "
                 "whole runs (without --interleave)", sc->name,
                 sc->open_model ? "open-model (rate)" : "a counted cost run (requests)");
        return -1;
    }
    if (sc->nregressions == 0) {
        snprintf(err, errlen, "%s: --interleave judges regression gates, and the scenario has none "
                 "(add e.g. regression.throughput = 5%%)", sc->name);
        return -1;
    }
    if (check_slice(opt, abrun_slice_of(sc, opt), abrun_uses_wrk(sc, opt), err, errlen) < 0)
        return -1;
    return abrun_load_check(sc, opt, err, errlen);
}

void abrun_fail(struct ab *ab, enum runner_status status, const char *fmt, ...)
{
    va_list ap;
    if (ab->failed)
        return;
    ab->failed = true;
    ab->out->status = status;
    va_start(ap, fmt);
    vsnprintf(ab->out->reason, sizeof ab->out->reason, fmt, ap);
    va_end(ap);
}

double abrun_since_t0(const struct ab *ab)
{
    return ab->t0_ns ? (double)(units_now_ns() - ab->t0_ns) / 1e9 : 0;
}

int abrun_wait_step(struct ab *ab, int timeout_ms)
{
    struct pollfd fds[3] = {{.fd = ab->opt->signal_fd, .events = POLLIN}};
    nfds_t nfds = 1;
    char why[PATH_MAX + 600];
    int signo;

    for (int k = 0; k < 2; k++)
        if (ab->side[k].svc.out_fd >= 0)
            fds[nfds++] = (struct pollfd){.fd = ab->side[k].svc.out_fd, .events = POLLIN};
    if (poll(fds, nfds, timeout_ms) < 0 && errno != EINTR) {
        abrun_fail(ab, RUNNER_ABORTED, "poll: %s", strerror(errno));
        return -1;
    }
    if ((signo = runner_signals_take(ab->opt->signal_fd)) != 0) {
        ab->out->interrupted = true;
        abrun_fail(ab, RUNNER_ABORTED, "interrupted by SIG%s at t=%.1fs", sigabbrev_np(signo), abrun_since_t0(ab));
        return -1;
    }
    for (int k = 0; k < 2; k++) {
        service_drain(&ab->side[k].svc);
        if (service_check_exit(&ab->side[k].svc, abrun_since_t0(ab), why, sizeof why))
            abrun_fail(ab, RUNNER_CRASHED, "%s build: %s", k == BASE ? "baseline" : "candidate", why);
    }
    return ab->failed ? -1 : 0;
}

static int wait_for_service(void *user, int timeout_ms)
{
    return abrun_wait_step(user, timeout_ms);
}

static double figure_of(const struct wrkres *r, double cpu_s, enum figure_source src)
{
    switch (src) {
    case FROM_CPU: return r->requests ? cpu_s / (double)r->requests : NAN;
    case FROM_THROUGHPUT: return wrkres_throughput(r);
    case FROM_P50: return r->latency_p50;
    case FROM_P75: return r->latency_p75;
    case FROM_P90: return r->latency_p90;
    case FROM_P99: return r->latency_p99;
    case FROM_P999: return r->latency_p999;
    }
    return NAN;
}

/* Accounts one side's slice, stores its row and fills its figures. Returns 0, or -1
 * with err filled. */
static int record_slice(struct ab *ab, int k, size_t pair, bool first, double t, const struct wrkres *res,
                        double cpu_s, double *figures, char *err, size_t errlen)
{
    struct side *s = &ab->side[k];
    struct figures_slice row = {
        .candidate_run_id = ab->side[CAND].run_id, .baseline_run_id = ab->side[BASE].run_id, .pair = pair,
        .baseline = k == BASE, .first = first, .t = t, .duration_s = res->duration_s, .requests = res->requests,
        .errors = wrkres_errors(res), .throughput = wrkres_throughput(res), .error_rate = wrkres_error_rate(res),
        .p50 = res->latency_p50, .p90 = res->latency_p90, .p99 = res->latency_p99, .cpu_s = cpu_s,
    };

    for (size_t i = 0; i < ab->nfigures; i++)
        figures[i] = figure_of(res, cpu_s, ab->source[i]);
    s->requests += res->requests;
    s->errors += wrkres_errors(res);
    return figures_record_slice(ab->db, &row, err, errlen);
}

/* interleave's slice: one side loaded for a slice (its partner idles), or, with duet,
 * the first call of a pair loads both at once and the second returns its partner's
 * figures. The service's CPU over the slice is read from /proc. */
static int slice(void *ctx, enum interleave_side iside, size_t pair, double *figures, char *err, size_t errlen)
{
    struct ab *ab = ctx;
    int ks[2] = {iside == INTERLEAVE_BASELINE ? BASE : CAND, iside == INTERLEAVE_BASELINE ? CAND : BASE};
    bool first = ab->nslices++ % 2 == 0;   /* interleave calls two slices a pair, in order */
    size_t n = ab->opt->duet ? 2 : 1;
    double t = abrun_since_t0(ab), cpu[2];
    double before[2], after[2];
    bool have[2];
    struct wrkres res[2];

    if (ab->opt->duet && !first) {
        memcpy(figures, ab->partner, ab->nfigures * sizeof *figures);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        have[i] = procstat_cpu_seconds(ab->side[ks[i]].svc.proc_pid, &before[i]) == 0;
    if (abrun_load(ab, ks, n, "slice", ab->slice_ns, res) < 0) {
        snprintf(err, errlen, "%s", ab->out->reason);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        have[i] = have[i] && procstat_cpu_seconds(ab->side[ks[i]].svc.proc_pid, &after[i]) == 0;
        cpu[i] = have[i] ? after[i] - before[i] : NAN;
    }
    if (record_slice(ab, ks[0], pair, first, t, &res[0], cpu[0], figures, err, errlen) < 0)
        return -1;
    return n == 2 ? record_slice(ab, ks[1], pair, false, t, &res[1], cpu[1], ab->partner, err, errlen) : 0;
}

/* Picks the gates a slice measures. */
static void plan_figures(struct ab *ab, struct interleave_many_options *many)
{
    static const struct {
        enum gate_kind kind;
        enum figure_source source;
    } sliceable[] = {
        {GATE_THROUGHPUT, FROM_THROUGHPUT}, {GATE_P50_LATENCY, FROM_P50}, {GATE_P75_LATENCY, FROM_P75},
        {GATE_P90_LATENCY, FROM_P90},       {GATE_P99_LATENCY, FROM_P99}, {GATE_P999_LATENCY, FROM_P999},
        {GATE_CPU_PER_REQUEST, FROM_CPU},
    };
    for (size_t g = 0; g < ab->sc->nregressions && ab->nfigures < INTERLEAVE_MAX_FIGURES; g++) {
        const struct gate_spec *spec = &ab->sc->regressions[g];
        for (size_t j = 0; j < sizeof sliceable / sizeof sliceable[0]; j++) {
            if (spec->kind != sliceable[j].kind || spec->kind == GATE_METRIC)
                continue;
            struct interleave_figure *f = &many->figures[ab->nfigures];
            f->higher_is_better = spec->op == GATE_LT;
            /* a drop of t is a ratio 1 - t, i.e. the baseline 1/(1-t) - 1 above the candidate */
            f->threshold = f->higher_is_better && spec->threshold < 1 ? 1 / (1 - spec->threshold) - 1
                                                                      : spec->threshold;
            ab->gate_of[ab->nfigures] = g;
            ab->source[ab->nfigures] = sliceable[j].source;
            ab->nfigures++;
        }
    }
    many->nfigures = ab->nfigures;
}

/* The names, labels and sides every verdict of this comparison shares. */
static void verdict_frame(const struct ab *ab, const struct gate_spec *spec, struct regression_result *r)
{
    memset(r, 0, sizeof *r);
    r->spec = *spec;
    r->method = REGRESSION_METHOD_INTERLEAVED;
    r->opt = ab->opt->regression;
    snprintf(r->scenario, sizeof r->scenario, "%s", ab->sc->name);
    snprintf(r->baseline_scenario, sizeof r->baseline_scenario, "%s", ab->sc->name);
    snprintf(r->baseline_label, sizeof r->baseline_label, "%s", ab->opt->baseline_label);
    snprintf(r->candidate_label, sizeof r->candidate_label, "%s", ab->opt->candidate_label);
    snprintf(r->baseline_runs, sizeof r->baseline_runs, "%lld", (long long)ab->side[BASE].run_id);
    snprintf(r->candidate_runs, sizeof r->candidate_runs, "%lld", (long long)ab->side[CAND].run_id);
    r->baseline_median = r->candidate_median = r->ratio = r->ci_low = r->ci_high = r->p_value = NAN;
}

/* A slice-judged gate's verdict from its interleave result. */
static void verdict_of_figure(const struct ab *ab, const struct gate_spec *spec, const struct interleave_result *ir,
                              struct regression_result *r)
{
    const struct sequential_verdict *v = &ir->verdict;
    char interval[160], aside[96] = "";
    double load_s = (double)ir->pairs * 2 * (double)ab->slice_ns / 1e9;

    verdict_frame(ab, spec, r);
    r->nbaseline = r->ncandidate = ir->pairs;
    r->baseline_median = ir->baseline_median;
    r->candidate_median = ir->candidate_median;
    r->opt.confidence = ir->confidence;
    if (v->bounded) {
        r->ratio = ir->ratio;
        r->ci_low = ir->ratio_low;
        r->ci_high = ir->ratio_high;
        snprintf(interval, sizeof interval, "ratio %.3f, %.2f%% interval %.3f..%.3f", ir->ratio,
                 100 * ir->confidence, ir->ratio_low, ir->ratio_high);
    } else {
        r->ratio = isfinite(ir->ratio) ? ir->ratio : NAN;
        snprintf(interval, sizeof interval, "no %.2f%% interval: too few pairs for that level",
                 100 * ir->confidence);
    }
    if (ir->voided > 0)
        snprintf(aside, sizeof aside, ", %zu more set aside (a side answered nothing in its slice)", ir->voided);
    char blocks[64] = "";
    if (ir->units > 0 && ir->units * 2 <= ir->pairs)
        snprintf(blocks, sizeof blocks, " in %zu blocks", ir->units);
    switch (v->decision) {
    case SEQUENTIAL_REGRESSION:
        r->verdict = REGRESSION_FAIL;
        snprintf(r->detail, sizeof r->detail, "interleaved, %zu pairs%s%s (%.0fs of load): %s, worse than %s",
                 ir->pairs, blocks, aside, load_s, interval, spec->threshold_text);
        break;
    case SEQUENTIAL_NO_REGRESSION:
        r->verdict = REGRESSION_PASS;
        snprintf(r->detail, sizeof r->detail, "interleaved, %zu pairs%s%s (%.0fs of load): %s, within %s",
                 ir->pairs, blocks, aside, load_s, interval, spec->threshold_text);
        break;
    default:
        r->verdict = REGRESSION_INCONCLUSIVE;
        snprintf(r->detail, sizeof r->detail,
                 "budget spent: %zu pairs%s%s (%.0fs of load) did not decide at %zu looks: %s, which holds "
                 "both no change and %s (give a longer --budget)",
                 ir->pairs, blocks, aside, load_s, ir->nlooks, interval, spec->threshold_text);
        break;
    }
}

/* A gate no slice measures, or error_rate, judged on the pooled slices. */
static void verdict_of_other(const struct ab *ab, const struct gate_spec *spec, size_t pairs,
                             struct regression_result *r)
{
    const struct side *b = &ab->side[BASE], *c = &ab->side[CAND];

    verdict_frame(ab, spec, r);
    r->nbaseline = r->ncandidate = pairs;
    r->verdict = REGRESSION_INCONCLUSIVE;
    if (spec->kind != GATE_ERROR_RATE) {
        snprintf(r->detail, sizeof r->detail, "not measured per slice: an interleaved comparison judges "
                 "throughput, latency percentiles, cpu_per_request and error_rate; judge %s with whole runs "
                 "(without --interleave)",
                 spec->name);
        return;
    }
    r->baseline_median = b->requests + b->errors ? (double)b->errors / (double)(b->requests + b->errors) : NAN;
    r->candidate_median = c->requests + c->errors ? (double)c->errors / (double)(c->requests + c->errors) : NAN;
    if (b->errors == 0 && c->errors == 0 && b->requests > 0 && c->requests > 0) {
        r->verdict = REGRESSION_PASS;
        snprintf(r->detail, sizeof r->detail, "interleaved, %zu pairs: no error on either side (%llu and %llu "
                 "requests)", pairs, (unsigned long long)b->requests, (unsigned long long)c->requests);
    } else {
        snprintf(r->detail, sizeof r->detail, "interleaved, %zu pairs: errors seen (baseline %llu, candidate "
                 "%llu); a ratio of error rates over slices is not judged; judge error_rate with whole runs",
                 pairs, (unsigned long long)b->errors, (unsigned long long)c->errors);
    }
}

/* Log folder and run row of a side. Returns 0, or -1 with err filled. */
static int open_side(struct ab *ab, int k, char *err, size_t errlen)
{
    struct side *s = &ab->side[k];
    char *params = scenario_params_json(ab->sc);
    struct resultdb_run row = {.scenario = ab->sc->name, .scenario_file = ab->sc->file, .label = s->label,
                               .git_rev = k == CAND ? ab->opt->git_rev : NULL, .params = params};
    int rc = -1;

    if (!params) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (resultdb_run_begin(ab->db, &row, &s->run_id, err, errlen) < 0)
        goto done;
    if ((size_t)snprintf(s->log_dir, sizeof s->log_dir, "%s/run-%lld", ab->opt->log_root, (long long)s->run_id) >=
        sizeof s->log_dir) {
        snprintf(err, errlen, "log folder path too long");
        goto done;
    }
    if ((mkdir(ab->opt->log_root, 0755) < 0 && errno != EEXIST) || (mkdir(s->log_dir, 0755) < 0 && errno != EEXIST)) {
        snprintf(err, errlen, "cannot create %s: %s", s->log_dir, strerror(errno));
        goto done;
    }
    rc = loadwrk_write_wrapper(s->log_dir, err, errlen);
done:
    free(params);
    return rc;
}

/* Spawns side k (the baseline under its environment) and waits until it is ready.
 * Returns 0, or -1 (ab->out says why). */
static int start_side(struct ab *ab, int k)
{
    struct side *s = &ab->side[k];
    struct schedule_env *saved = NULL;
    char err[PATH_MAX + 600];
    int rc;

    if (k == BASE && !(saved = schedule_env_apply(ab->opt->baseline_env, ab->opt->nenv, err, sizeof err))) {
        abrun_fail(ab, RUNNER_ABORTED, "%s", err);
        return -1;
    }
    rc = service_start(&s->svc, s->log_dir, err, sizeof err);
    schedule_env_restore(saved);
    if (rc == 0)
        rc = service_wait_ready(&s->svc, ab->http, wait_for_service, ab, err, sizeof err);
    if (rc == 0)
        rc = resultdb_run_started(ab->db, s->run_id, s->log_dir, s->svc.proc_pid, (double)units_wall_ns() / 1e9,
                                  err, sizeof err);
    s->faults = (struct faultctl){.http = ab->http, .debug_base = s->svc.debug_base, .db = ab->db,
                                  .run_id = s->run_id};
    for (size_t i = 0; rc == 0 && i < ab->sc->nfaults; i++)
        rc = faultctl_set(&s->faults, "service", &ab->sc->faults[i], 0, err, sizeof err);
    if (rc < 0)
        abrun_fail(ab, RUNNER_ABORTED, "%s build: %s", k == BASE ? "baseline" : "candidate", err);
    return rc;
}

/* Side k stopped and started afresh (the baseline under its environment), ready, with
 * the scenario's faults set again; the restart is recorded with the side's run.
 * Returns 0, or -1 (ab->out says why). */
static int restart_side(struct ab *ab, int k)
{
    struct side *s = &ab->side[k];
    struct schedule_env *saved = NULL;
    char err[PATH_MAX + 600], how[128];
    double asked = abrun_since_t0(ab);
    int rc;

    /* how the old process ended is the comparison's business: a build that crashes when
     * stopped is as broken as at the comparison's end */
    if (abrun_wait_step(ab, 0) < 0)
        return -1;
    if (service_stop(&s->svc, how, sizeof how)) {
        abrun_fail(ab, RUNNER_CRASHED, "%s build: service %s when stopped for a new block at t=%.1fs",
                   k == BASE ? "baseline" : "candidate", how, asked);
        return -1;
    }
    if (k == BASE && !(saved = schedule_env_apply(ab->opt->baseline_env, ab->opt->nenv, err, sizeof err))) {
        abrun_fail(ab, RUNNER_ABORTED, "%s", err);
        return -1;
    }
    rc = service_restart(&s->svc, err, sizeof err);
    schedule_env_restore(saved);
    if (rc == 0)
        rc = service_wait_ready(&s->svc, ab->http, wait_for_service, ab, err, sizeof err);
    if (rc == 0)
        rc = resultdb_restart(ab->db, s->run_id, asked, abrun_since_t0(ab), err, sizeof err);
    /* the same faultctl: setting a fault that is on closes its row first, so each
     * process's span is one row */
    s->faults.debug_base = s->svc.debug_base;
    for (size_t i = 0; rc == 0 && i < ab->sc->nfaults; i++)
        rc = faultctl_set(&s->faults, "service", &ab->sc->faults[i], asked, err, sizeof err);
    if (rc < 0)
        abrun_fail(ab, RUNNER_ABORTED, "%s build, restarted for a new block: %s", k == BASE ? "baseline" : "candidate",
                   err);
    return rc;
}

/* interleave's new block: both builds started afresh (in a random order), the load
 * reopened to them, and each warmed up for one slice, unmeasured. */
static int new_block(void *ctx, size_t block, char *err, size_t errlen)
{
    struct ab *ab = ctx;
    int first = (units_now_ns() >> 10) & 1;
    struct wrkres res;

    (void)block;
    abrun_load_close(ab);
    if (restart_side(ab, first) < 0 || restart_side(ab, !first) < 0 || abrun_load_open(ab) < 0 ||
        abrun_load(ab, (const int[]){BASE}, 1, "warmup", ab->slice_ns, &res) < 0 ||
        abrun_load(ab, (const int[]){CAND}, 1, "warmup", ab->slice_ns, &res) < 0) {
        snprintf(err, errlen, "%s", ab->out->reason);
        return -1;
    }
    return 0;
}

/* Both sides started, warmed up and compared; verdicts to results. */
static void compare(struct ab *ab, struct regression_result *results, size_t *n, size_t cap)
{
    struct interleave_many_options many = {.alpha = ab->opt->regression.alpha,
                                           .max_pairs = (size_t)(ab->opt->budget_ns / (2 * ab->slice_ns)),
                                           .seed = ab->opt->seed ? ab->opt->seed
                                                                 : (uint64_t)units_now_ns() ^ (uint64_t)getpid(),
                                           .block_pairs = abrun_block_pairs(ab->opt), .new_block = new_block};
    struct interleave_result ir[INTERLEAVE_MAX_FIGURES];
    int64_t warm = ab->sc->warmup_ns > ab->slice_ns ? ab->sc->warmup_ns : ab->slice_ns;
    char err[1024];
    size_t pairs = 0;
    struct wrkres res;

    if (!ab->dl)
        warm = (warm + 999999999) / 1000000000 * 1000000000;   /* wrk counts in seconds */
    plan_figures(ab, &many);
    for (int k = 0; k < 2; k++)
        if (start_side(ab, k) < 0)
            return;
    if (abrun_load_open(ab) < 0)
        return;
    if (!ab->opt->quiet) {
        char blocks[96] = "";
        if (many.block_pairs > 1)
            snprintf(blocks, sizeof blocks, " in blocks of %zu, both builds started afresh for each",
                     many.block_pairs);
        printf("  interleaved: baseline run %lld and candidate run %lld up; warming up %.1fs each, then "
               "%.2fs slices (%s), at most %zu pairs%s\n", (long long)ab->side[BASE].run_id,
               (long long)ab->side[CAND].run_id, (double)warm / 1e9, (double)ab->slice_ns / 1e9,
               ab->dl ? "connections kept open to both" : "wrk per slice", many.max_pairs, blocks);
        fflush(stdout);
    }
    if (abrun_load(ab, (const int[]){BASE}, 1, "warmup", warm, &res) < 0 ||
        abrun_load(ab, (const int[]){CAND}, 1, "warmup", warm, &res) < 0)
        return;
    ab->t0_ns = units_now_ns();
    if (ab->nfigures > 0) {
        if (interleave_run_many(&many, slice, ab, ir, err, sizeof err) < 0) {
            abrun_fail(ab, RUNNER_ABORTED, "%s", ab->failed ? ab->out->reason : err);
            return;
        }
        for (size_t i = 0; i < ab->nfigures; i++)
            pairs = ir[i].pairs > pairs ? ir[i].pairs : pairs;
    }
    for (size_t g = 0; g < ab->sc->nregressions && *n < cap; g++) {
        struct regression_result *r = &results[*n];
        size_t i = 0;
        while (i < ab->nfigures && ab->gate_of[i] != g)
            i++;
        if (i < ab->nfigures)
            verdict_of_figure(ab, &ab->sc->regressions[g], &ir[i], r);
        else
            verdict_of_other(ab, &ab->sc->regressions[g], pairs, r);
        if (figures_record_regression(ab->db, r, err, sizeof err) < 0) {
            abrun_fail(ab, RUNNER_ABORTED, "%s", err);
            break;
        }
        (*n)++;
    }
    for (size_t i = 0; i < ab->nfigures; i++)
        interleave_result_free(&ir[i]);
    if (!ab->failed)
        snprintf(ab->out->reason, sizeof ab->out->reason,
                 "interleaved A/B with baseline run %lld: %zu pairs of %.2fs slices; absolute gates are not "
                 "judged in this mode", (long long)ab->side[BASE].run_id, pairs, (double)ab->slice_ns / 1e9);
}

/* Clears the faults and stops both services. */
static void stop_sides(struct ab *ab)
{
    char how[128], err[600];
    for (int k = 0; k < 2; k++) {
        struct side *s = &ab->side[k];
        while (!s->svc.reaped && s->svc.debug_base[0] && s->faults.nactive > 0)
            faultctl_clear_last(&s->faults, abrun_since_t0(ab), err, sizeof err);
        if (service_stop(&s->svc, how, sizeof how) && !ab->failed)
            abrun_fail(ab, RUNNER_CRASHED, "%s build: service %s when stopped", k == BASE ? "baseline" : "candidate",
                 how);
    }
}

int abrun_run(const struct scenario *sc, struct resultdb *db, const struct abrun_options *opt,
              struct runner_outcome *out, struct regression_result *results, size_t *n, size_t cap, char *err,
              size_t errlen)
{
    static const char *const status_names[] = {"completed", "aborted", "crashed"};
    struct ab *ab = calloc(1, sizeof *ab);
    char token[HTTPCLIENT_MAX_TOKEN + 2], msg[600];
    int64_t started = units_now_ns();
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->scenario = sc;
    if (!ab) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    ab->sc = sc;
    ab->opt = opt;
    ab->db = db;
    ab->out = out;
    ab->side[BASE].label = opt->baseline_label;
    ab->side[CAND].label = opt->candidate_label;
    service_init(&ab->side[BASE].svc, sc);
    service_init(&ab->side[CAND].svc, sc);
    ab->slice_ns = abrun_slice_of(sc, opt);
    if (abrun_check_scenario(sc, opt, err, errlen) < 0)
        goto done;
    if (open_side(ab, BASE, msg, sizeof msg) < 0 || open_side(ab, CAND, msg, sizeof msg) < 0)
        abrun_fail(ab, RUNNER_ABORTED, "%s", msg);
    else if (sc->token_file[0] && httpclient_read_token(sc->token_file, token, sizeof token, msg, sizeof msg) < 0)
        abrun_fail(ab, RUNNER_ABORTED, "%s", msg);
    else if (!(ab->http = httpclient_new(sc->token_file[0] ? token : NULL, msg, sizeof msg)))
        abrun_fail(ab, RUNNER_ABORTED, "%s", msg);
    else
        compare(ab, results, n, cap);
    abrun_load_close(ab);
    stop_sides(ab);
    out->run_id = ab->side[CAND].run_id;
    out->judged = !ab->failed;
    out->met = !ab->failed;
    for (int k = 0; k < 2; k++)
        if (ab->side[k].run_id > 0 && resultdb_run_end(db, ab->side[k].run_id, status_names[out->status],
                                                       out->reason, NULL, NAN, NAN, msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s", msg);
            goto done;
        }
    rc = 0;
done:
    for (int k = 0; k < 2; k++)
        service_close(&ab->side[k].svc);
    httpclient_free(ab->http);
    free(ab);
    out->wall_s = (double)(units_now_ns() - started) / 1e9;
    return rc;
}
