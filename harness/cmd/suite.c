/* suite: loadlab run's scenarios, start to verdict. See suite.h. */
#include "cmd/suite.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"
#include "cmd/cmd.h"
#include "diagnose/diagnose.h"
#include "diagnose/rules.h"
#include "output/summary.h"
#include "report/report.h"
#include "run/abrun.h"
#include "run/baseline.h"
#include "run/filebaseline.h"
#include "run/capture.h"
#include "run/scenario.h"
#include "run/schedule.h"
#include "store/resultdb.h"
#include "units.h"

struct suite {
    const struct suite_options *opt;
    struct scenario **scenarios;
    size_t nscenarios, nregressions;
    struct schedule_entry *order;
    size_t nplanned, nrun;
    struct runner_outcome *outcomes;
    struct regression_result *results;
    size_t nresults;
    struct resultdb *db;
    struct capture *capture;
    struct baselinefile *baseline_file;   /* --baseline-file, read before the first run */
    int signal_fd;
    bool interrupted;
    char wrk[PATH_MAX], git_label[256], git_rev[128], log_root[PATH_MAX];
    int64_t started;
};

int suite_exit_code(const struct runner_outcome *outcomes, size_t n, bool interrupted)
{
    bool unmet = false;
    if (interrupted)
        return CMD_EXIT_INTERRUPTED;
    for (size_t k = 0; k < n; k++) {
        const struct runner_outcome *o = &outcomes[k];
        if (o->status != RUNNER_COMPLETED || !o->judged)
            return 1;
        for (size_t i = 0; i < o->ngates; i++)
            if (o->gates[i].verdict == GATE_ERROR)
                return 1;
        if (!o->met)
            unmet = true;
    }
    return unmet ? CMD_EXIT_GATES : 0;
}

static const char *candidate_label(const struct suite *s)
{
    return s->opt->label ? s->opt->label : s->git_label;
}

/* Reads every scenario file and plans the rounds. Returns 0, or the exit status. */
static int suite_plan(struct suite *s)
{
    const struct suite_options *opt = s->opt;
    char err[1024];

    if (!(s->scenarios = calloc(opt->nfiles, sizeof *s->scenarios))) {
        fprintf(stderr, "loadlab: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < opt->nfiles; i++) {
        s->scenarios[s->nscenarios] = scenario_load(opt->files[i], err, sizeof err);
        if (!s->scenarios[s->nscenarios]) {
            fprintf(stderr, "loadlab: %s\n", err);
            return CMD_EXIT_USAGE;
        }
        s->nregressions += s->scenarios[s->nscenarios]->nregressions;
        s->nscenarios++;
    }
    if (opt->baseline_file && !(s->baseline_file = baselinefile_read(opt->baseline_file, err, sizeof err))) {
        fprintf(stderr, "loadlab: --baseline-file: %s\n", err);
        return CMD_EXIT_USAGE;
    }
    struct abrun_options ao = {.slice_ns = opt->slice_ns, .budget_ns = opt->budget_ns, .regression = opt->regression,
                               .wrk_slices = opt->wrk_slices, .restart_every = opt->restart_every};
    for (size_t k = 0; opt->interleave && k < s->nscenarios; k++)
        if (abrun_check_scenario(s->scenarios[k], &ao, err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s\n", err);
            return CMD_EXIT_USAGE;
        }
    /* interleaved, each scenario is one comparison of both builds at once */
    s->order = schedule_build(s->nscenarios, opt->repeat, opt->nenv > 0 && !opt->interleave, &s->nplanned, err,
                              sizeof err);
    s->outcomes = s->order ? calloc(s->nplanned, sizeof *s->outcomes) : NULL;
    s->results = calloc(s->nregressions + 1, sizeof *s->results);
    if (!s->order || !s->outcomes || !s->results) {
        fprintf(stderr, "loadlab: %s\n", s->order ? "out of memory" : err);
        return s->order ? 1 : CMD_EXIT_USAGE;
    }
    return 0;
}

/* wrk, every service binary (the baseline build's under its environment), and the
 * labels. Returns 0, or the exit status. */
static int suite_preflight(struct suite *s)
{
    const struct suite_options *opt = s->opt;
    char err[1024];

    if (cmdline_find_executable(getenv("LOADLAB_WRK") ? getenv("LOADLAB_WRK") : "wrk", s->wrk, sizeof s->wrk,
                                err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: wrk is needed to drive the load: %s\n", err);
        return 1;
    }
    for (int pass = 0; pass < (opt->nenv ? 2 : 1); pass++) {
        struct schedule_env *saved = NULL;
        if (pass == 1 && !(saved = schedule_env_apply(opt->baseline_env, opt->nenv, err, sizeof err))) {
            fprintf(stderr, "loadlab: %s\n", err);
            return 1;
        }
        for (size_t k = 0; k < s->nscenarios; k++)
            if (runner_check_service_binary(s->scenarios[k], err, sizeof err) < 0) {
                fprintf(stderr, "loadlab: %s%s\n", pass ? "baseline build: " : "", err);
                schedule_env_restore(saved);
                return 1;
            }
        schedule_env_restore(saved);
    }
    cmd_git_identity(s->git_label, sizeof s->git_label, s->git_rev, sizeof s->git_rev);
    if (opt->baseline_label && strcmp(opt->baseline_label, candidate_label(s)) == 0)
        return cmd_usage_error("--baseline %s is the label of this run: a build cannot be its own baseline",
                               opt->baseline_label);
    if ((size_t)snprintf(s->log_root, sizeof s->log_root, "%s-logs", opt->db_path) >= sizeof s->log_root) {
        fprintf(stderr, "loadlab: --db path too long\n");
        return 1;
    }
    return 0;
}

/* The database, the signalfd and the evidence capture. Returns 0, or -1 (printed). */
static int suite_open(struct suite *s)
{
    char err[1024];

    if (!(s->db = resultdb_open(s->opt->db_path, false, err, sizeof err))) {
        fprintf(stderr, "loadlab: %s\n", err);
        return -1;
    }
    if ((s->signal_fd = runner_signals_open(err, sizeof err)) < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!s->opt->no_evidence && !(s->capture = capture_new(s->opt->capture_always))) {
        fprintf(stderr, "loadlab: out of memory\n");
        return -1;
    }
    return 0;
}

/* After a run whose evidence was kept: says so, diagnoses the run and stores the
 * verdict (diagnose.h); a capture problem is reported, never fatal. With a baseline
 * label (--baseline, for a run of the build under test), the run is diagnosed against
 * that label's latest runs of its scenario, as `loadlab diagnose --baseline` does: a
 * fault on from the start has no healthy part of the run to stand out from, and the
 * runs a CI job gates against are the service's healthy figures. */
static void report_evidence(struct resultdb *db, struct capture *capture, const struct runner_outcome *o,
                            bool quiet, const char *baseline_label)
{
    struct diagnose_result *dr = NULL;
    struct rules_baseline baseline;
    char err[512], against[400] = "";
    size_t items;
    int found = 1;

    if (capture_endpoints(capture)[0] && !quiet)
        printf("  debug endpoints for evidence: %s\n", capture_endpoints(capture));
    if (!capture_kept(capture, &items)) {
        if (capture_problems(capture)[0] && !quiet)
            printf("  evidence of run %lld not kept: %s\n", (long long)o->run_id, capture_problems(capture));
        return;
    }
    if (!quiet)
        printf("  evidence: %zu items kept for run %lld (loadlab show --evidence %lld)%s%s\n", items,
               (long long)o->run_id, (long long)o->run_id, capture_problems(capture)[0] ? "; " : "",
               capture_problems(capture));
    if (baseline_label) {
        found = rules_baseline_load(db, o->run_id, baseline_label, &baseline, err, sizeof err);
        if (found == 0)
            snprintf(against, sizeof against, " (against baseline %s: %zu run%s)", baseline_label, baseline.runs,
                     baseline.runs == 1 ? "" : "s");
        else  /* no run of the scenario under that label yet, or the database failed */
            snprintf(against, sizeof against, " (not against baseline %s: %.300s)", baseline_label, err);
    }
    if (!(dr = malloc(sizeof *dr)) ||
        diagnose_run_against(db, o->run_id, found == 0 ? &baseline : NULL, dr, err, sizeof err) != 0 ||
        diagnose_store(db, dr, err, sizeof err) < 0) {
        printf("  diagnosis of run %lld failed: %s\n", (long long)o->run_id, dr ? err : "out of memory");
    } else if (!quiet) {
        printf("  diagnosis%s:%s\n", against, dr->n ? "" : " no problem found");
        for (size_t i = 0; i < dr->n; i++)
            printf("    %s in %s: %s\n", dr->findings[i].class_name,
                   dr->findings[i].culprit[0] ? dr->findings[i].culprit : "?", dr->findings[i].summary);
    }
    free(dr);
    fflush(stdout);
}

/* --interleave: one comparison of both builds at once per scenario (abrun.h). */
static void suite_execute_interleaved(struct suite *s)
{
    const struct suite_options *opt = s->opt;
    struct abrun_options ao = {
        .baseline_label = opt->baseline_label, .candidate_label = candidate_label(s),
        .git_rev = s->git_rev[0] ? s->git_rev : NULL, .baseline_env = opt->baseline_env, .nenv = opt->nenv,
        .wrk_path = s->wrk, .log_root = s->log_root, .slice_ns = opt->slice_ns, .budget_ns = opt->budget_ns,
        .regression = opt->regression, .signal_fd = s->signal_fd, .quiet = opt->quiet, .duet = opt->duet,
        .wrk_slices = opt->wrk_slices, .restart_every = opt->restart_every,
    };
    char err[1024];

    for (size_t k = 0; k < s->nplanned && !s->interrupted; k++) {
        const struct scenario *sc = s->scenarios[s->order[k].scenario];
        struct runner_outcome *out = &s->outcomes[k];

        if (!opt->quiet) {
            printf("comparing %s (%s) interleaved: %s against baseline %s, %.2fs slices, budget %.1fs\n", sc->name,
                   sc->file, ao.candidate_label, ao.baseline_label, (double)abrun_slice_of(sc, &ao) / 1e9,
                   (double)opt->budget_ns / 1e9);
            fflush(stdout);
        }
        if (abrun_run(sc, s->db, &ao, out, s->results, &s->nresults, s->nregressions, err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", sc->name, err);
            snprintf(out->reason, sizeof out->reason, "%.700s", err);
            out->status = RUNNER_ABORTED;
        } else if (out->status != RUNNER_COMPLETED) {
            fprintf(stderr, "loadlab: %s: %s\n", sc->name, out->reason);
        }
        s->nrun++;
        s->interrupted = out->interrupted || runner_signals_take(s->signal_fd) != 0;
    }
}

/* The planned runs in order, until the end or an interrupt. */
static void suite_execute(struct suite *s)
{
    const struct suite_options *opt = s->opt;
    struct runner_options ropt = {
        .hook = s->capture ? capture_hook : NULL, .hook_user = s->capture,
        .git_rev = s->git_rev[0] ? s->git_rev : NULL, .wrk_path = s->wrk, .log_root = s->log_root,
        .progress = !opt->quiet && isatty(STDERR_FILENO), .signal_fd = s->signal_fd,
    };
    char err[1024];

    for (size_t k = 0; k < s->nplanned && !s->interrupted; k++) {
        const struct scenario *sc = s->scenarios[s->order[k].scenario];
        struct runner_outcome *out = &s->outcomes[k];
        struct schedule_env *saved = NULL;

        ropt.label = s->order[k].baseline ? opt->baseline_label : candidate_label(s);
        if (s->order[k].baseline &&
            !(saved = schedule_env_apply(opt->baseline_env, opt->nenv, err, sizeof err))) {
            fprintf(stderr, "loadlab: %s\n", err);
            break;
        }
        if (!opt->quiet) {
            if (sc->requests)  /* a cost run: a count of requests, not a duration */
                printf("running %s (%s): %u requests counted%s, label %s", sc->name, sc->file, sc->requests,
                       sc->warmup_requests ? " after warmup" : "", ropt.label);
            else
                printf("running %s (%s): %llds%s%s%s, label %s", sc->name, sc->file,
                       (long long)(sc->duration_ns / 1000000000), sc->warmup_ns ? " after warmup" : "",
                       sc->open_model ? " at " : "", sc->open_model ? sc->rate : "", ropt.label);
            if (s->nplanned > s->nscenarios)
                printf(" [%zu/%zu]", k + 1, s->nplanned);
            putchar('\n');
            fflush(stdout);
        }
        if (runner_run(sc, s->db, &ropt, out, err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", sc->name, err);
            snprintf(out->reason, sizeof out->reason, "%.700s", err);
            out->status = RUNNER_ABORTED;
        }
        schedule_env_restore(saved);
        s->nrun++;
        if (s->capture)
            report_evidence(s->db, s->capture, out, opt->quiet, s->order[k].baseline ? NULL : opt->baseline_label);
        s->interrupted = out->interrupted || runner_signals_take(s->signal_fd) != 0;
    }
}

/* Judges the regression gates of the scenarios this call ran; results to s->results. */
static int judge_regressions(struct suite *s)
{
    const struct suite_options *opt = s->opt;
    int64_t *cand = calloc(s->nrun + 1, sizeof *cand), *base = calloc(s->nrun + 1, sizeof *base);
    char err[600];
    int rc = -1;

    if (!cand || !base) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    for (size_t k = 0; k < s->nscenarios; k++) {
        const struct scenario *sc = s->scenarios[k];
        size_t nc = 0, nb = 0;
        struct baseline_side b = {.scenario = sc->name, .label = opt->baseline_label, .latest = opt->stored_runs,
                                  .this_host_only = true};
        struct baseline_side c = {.scenario = sc->name, .label = candidate_label(s)};

        if (sc->nregressions == 0)
            continue;
        for (size_t i = 0; i < s->nrun; i++)
            if (s->order[i].scenario == k && s->outcomes[i].run_id) {
                if (s->order[i].baseline)
                    base[nb++] = s->outcomes[i].run_id;
                else
                    cand[nc++] = s->outcomes[i].run_id;
            }
        c.run_ids = cand;
        c.nrun_ids = nc;
        if (opt->nenv > 0) {
            b.run_ids = base;
            b.nrun_ids = nb;
        }
        if (baseline_judge(s->db, sc->regressions, sc->nregressions, &b, &c, &opt->regression, s->results,
                           &s->nresults, s->nregressions, err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", sc->name, err);
            goto done;
        }
    }
    rc = 0;
done:
    free(cand);
    free(base);
    return rc;
}

/* --baseline-file: each scenario's runs of this call against the file. */
static int judge_against_file(struct suite *s)
{
    int64_t *cand = calloc(s->nrun + 1, sizeof *cand);
    char err[600];
    int rc = -1;

    if (!cand) {
        fprintf(stderr, "loadlab: out of memory\n");
        return -1;
    }
    for (size_t k = 0; k < s->nscenarios; k++) {
        size_t nc = 0;
        for (size_t i = 0; i < s->nrun; i++)
            if (s->order[i].scenario == k && !s->order[i].baseline && s->outcomes[i].run_id)
                cand[nc++] = s->outcomes[i].run_id;
        if (s->scenarios[k]->nregressions &&
            filebaseline_judge(s->db, s->baseline_file, s->scenarios[k], candidate_label(s), cand, nc, s->opt->allow_other_machine,
                               &s->opt->regression, s->results, &s->nresults, s->nregressions, err,
                               sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", s->scenarios[k]->name, err);
            goto done;
        }
    }
    rc = 0;
done:
    free(cand);
    return rc;
}

/* run --report DIR: the report of the runs just made. A report that could not be
 * written returns -1; missing charts are only said, since the suite's verdict, not
 * the drawing, is what the exit status reports. */
static int report_after_run(struct resultdb *db, const char *db_path, const char *dir,
                            const struct runner_outcome *outcomes, size_t n)
{
    char ids[CMD_MAX_SCENARIOS][24], *words[CMD_MAX_SCENARIOS], err[2048];
    struct report_options opt = {.db_path = db_path, .out_dir = dir, .select = words};
    struct report_result res;

    for (size_t k = 0; k < n && opt.nselect < CMD_MAX_SCENARIOS; k++)
        if (outcomes[k].run_id > 0) {
            snprintf(ids[opt.nselect], sizeof ids[0], "%lld", (long long)outcomes[k].run_id);
            words[opt.nselect] = ids[opt.nselect];
            opt.nselect++;
        }
    if (opt.nselect == 0)
        return 0;
    if (report_render(db, &opt, &res, err, sizeof err) != 0) {
        fprintf(stderr, "loadlab: report: %s\n", err);
        return -1;
    }
    cmd_print_report_result(&res);
    return 0;
}

/* The summary, the regression verdicts, JUnit and the report. Returns the exit status. */
static int suite_conclude(struct suite *s)
{
    const struct suite_options *opt = s->opt;
    size_t ncandidate = 0;
    int rc, r;

    summary_print(stdout, s->outcomes, s->nrun, opt->db_path, (double)(units_now_ns() - s->started) / 1e9);
    if (s->interrupted)
        printf("Interrupted: %zu of %zu %s not run.\n", s->nplanned - s->nrun, s->nplanned,
               s->nplanned == s->nscenarios ? "scenarios" : "runs");
    if (opt->baseline_label && !opt->interleave && !s->interrupted && judge_regressions(s) < 0)
        return 1;
    if (s->baseline_file && !s->interrupted && judge_against_file(s) < 0)
        return 1;
    regression_print(stdout, s->results, s->nresults);
    if (s->nregressions && !opt->baseline_label && !s->baseline_file)
        printf("\nnote: %zu regression gate(s) not judged: they compare against a baseline label "
               "(--baseline LABEL)\n", s->nregressions);
    /* the baseline build's own runs do not decide the exit code or appear in JUnit */
    for (size_t k = 0; k < s->nrun; k++)
        if (!s->order[k].baseline)
            memmove(&s->outcomes[ncandidate++], &s->outcomes[k], sizeof s->outcomes[k]);
    rc = suite_exit_code(s->outcomes, ncandidate, s->interrupted);
    r = cmd_exit_code_for_regressions(s->results, s->nresults);
    if ((rc == 0 || rc == CMD_EXIT_GATES) && r != 0)
        rc = r == 1 ? 1 : CMD_EXIT_GATES;
    if (opt->junit && cmd_write_junit(opt->junit, s->outcomes, ncandidate, s->results, s->nresults) < 0 && rc == 0)
        rc = 1;
    if (opt->report_dir && report_after_run(s->db, opt->db_path, opt->report_dir, s->outcomes, ncandidate) < 0 &&
        rc == 0)
        rc = 1;
    return rc;
}

int suite_run(const struct suite_options *opt)
{
    struct suite s = {.opt = opt, .signal_fd = -1, .started = units_now_ns()};
    int rc;

    if ((rc = suite_plan(&s)) != 0 || (rc = suite_preflight(&s)) != 0)
        goto done;
    if (suite_open(&s) < 0) {
        rc = 1;
        goto done;
    }
    if (opt->interleave)
        suite_execute_interleaved(&s);
    else
        suite_execute(&s);
    rc = suite_conclude(&s);
done:
    fflush(stdout);
    if (s.signal_fd >= 0)
        close(s.signal_fd);
    resultdb_close(s.db);
    capture_free(s.capture);
    baselinefile_free(s.baseline_file);
    for (size_t k = 0; k < s.nscenarios; k++)
        scenario_free(s.scenarios[k]);
    free(s.scenarios);
    free(s.outcomes);
    free(s.order);
    free(s.results);
    return rc;
}
