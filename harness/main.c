/* loadlab: the scenario driver's command line.
 *
 *   loadlab run [--db PATH] [--label LABEL] [--junit FILE] [--report DIR] [--quiet] [--repeat N]
 *               [--baseline LABEL [--baseline-env NAME=VALUE]...] SCENARIO...
 *   loadlab compare [--db PATH] --candidate LABEL (--baseline LABEL | --against SCENARIO)
 *               [SCENARIO...]
 *   loadlab list [--db PATH] [--limit N]
 *   loadlab show [--db PATH] RUN
 *   loadlab report [--db PATH] [--out DIR] [--png] [RUN|SCENARIO...]
 *
 * and for incidents (capture.h, diagnose.h, drill.h):
 *
 *   loadlab run [--capture | --no-evidence] ...
 *   loadlab show [--db PATH] --evidence [--all] RUN
 *   loadlab diagnose [--db PATH] [--dry-run] RUN
 *   loadlab drill [--fault NAME|random|none] [--level 1|2] [--seed N] [--answer TEXT] ...
 *   loadlab drill --history [--trainee NAME | --all]
 *
 * Exit codes, as a CI job reads them: 0 every scenario met its expectations; 99 a gate
 * verdict differed from what its scenario expects (k6's code); 2 bad usage or a bad
 * scenario file; 1 anything else (a crash, an abort, a gate that could not be judged,
 * a missing binary); 130 interrupted. Everything that can be checked before the first
 * run starts (every scenario file, wrk, every service binary) is checked first. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/baseline.h"
#include "run/capture.h"
#include "base/childproc.h"
#include "base/cmdline.h"
#include "diagnose/diagnose.h"
#include "diagnose/drill.h"
#include "store/evidence.h"
#include "output/history.h"
#include "output/junit.h"
#include "judge/regression.h"
#include "report/report.h"
#include "store/resultdb.h"
#include "run/runner.h"
#include "run/scenario.h"
#include "run/schedule.h"
#include "output/summary.h"
#include "units.h"

#define EXIT_GATES 99
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130
#define MAX_SCENARIOS 256

static const char usage_text[] =
    "usage: loadlab run [--db PATH] [--label LABEL] [--junit FILE] [--report DIR] [--capture|--no-evidence]\n"
    "                   [--quiet] [--repeat N] [--baseline LABEL [--baseline-env NAME=VALUE]...] SCENARIO...\n"
    "       loadlab compare [--db PATH] --candidate LABEL (--baseline LABEL | --against SCENARIO)\n"
    "                   [--runs N] [--junit FILE] [SCENARIO...]\n"
    "       loadlab list [--db PATH] [--limit N]\n"
    "       loadlab show [--db PATH] RUN\n"
    "       loadlab report [--db PATH] [--out DIR] [--png] [RUN|SCENARIO...]\n"
    /* incidents: evidence, diagnosis, drills */
    "       loadlab show [--db PATH] --evidence [--all] RUN\n"
    "       loadlab diagnose [--db PATH] [--dry-run] RUN\n"
    "       loadlab drill [--db PATH] [--fault NAME|random|none] [--level 1|2] [--seed N]\n"
    "                     [--trainee NAME] [--answer TEXT] [--time-limit T] [--min-time T] [--no-report]\n"
    "       loadlab drill --history [--db PATH] [--trainee NAME | --all]\n"
    "       loadlab --help\n"
    "\n"
    "run     runs each scenario file in turn, records it in the results database and\n"
    "        prints a summary; every file, wrk and every service binary are checked\n"
    "        before the first run starts\n"
    "compare judges regression gates on runs already in the database: each SCENARIO's\n"
    "        (name or .ini file; default: every scenario the candidate label ran) latest\n"
    "        runs under the candidate label against those under the baseline label, or\n"
    "        against the runs of the --against scenario under the same label\n"
    "list    the latest runs in the database\n"
    "show    one run in full: settings, faults, load, gates, samples\n"
    "report  charts (gnuplot, SVG) of each run and of each scenario's trend, an HTML\n"
    "        index and a Markdown verdict table, for the runs named (run ids or\n"
    "        scenario names) or for every run in the database\n"
    "\n"
    "  --db PATH       results database (default results.db); per-run logs go to PATH-logs/\n"
    "  --label LABEL   names this build in the database (default: git describe --always\n"
    "                  --dirty in a git checkout, else \"unlabelled\")\n"
    "  --junit FILE    also write JUnit XML, one testcase per gate\n"
    "  --report DIR    run: render the report of these runs into DIR afterwards\n"
    "  --out DIR       report: where to write it (default reports/out)\n"
    "  --png           report: a PNG beside every SVG chart\n"
    "  --quiet         no progress line and no per-scenario start lines\n"
    "  --limit N       list: how many runs (default 20)\n"
    "\n"
    "regression gates ([gate] regression.FIGURE = N%; README \"Regression gates\"):\n"
    "  --repeat N      run: run every scenario N times, round by round (default 1)\n"
    "  --baseline L    run: judge regression gates against label L's runs: the latest\n"
    "                  --runs of them on this host, or with --baseline-env the ones this\n"
    "                  call runs, interleaved with the candidate's\n"
    "  --baseline-env NAME=VALUE   run: also run the baseline build, with this variable\n"
    "                  set (e.g. ORDERD_BIN=old/orderd); repeatable\n"
    "  --candidate L   compare: the label under test\n"
    "  --against S     compare: the reference scenario (same label unless --baseline)\n"
    "  --runs N        how many of the latest stored runs a side takes (default 20)\n"
    "  --min-runs N    runs a side needs for a verdict, else inconclusive (default 5)\n"
    "  --alpha P       one-sided significance level (default 0.05)\n"
    "\n"
    /* incidents: evidence, diagnosis, drills */
    "Incidents: a run takes thread dumps and profiles from the service during its load and\n"
    "keeps them when a gate fails or the service crashes, then diagnoses the run.\n"
    "  run --capture       keep the evidence of every run (and diagnose each)\n"
    "  run --no-evidence   take none (nothing is asked of the service beyond /metrics)\n"
    "  show --evidence     the run's evidence; --all adds the periodic thread dumps\n"
    "  diagnose            names each problem: class, culprit function, start, evidence;\n"
    "                      stores the verdict unless --dry-run\n"
    "  drill               a training drill: orderd under load with hidden faults; answer at\n"
    "                      the prompt (or --answer \"class=CLASS culprit=FUNCTION; ...\" or\n"
    "                      \"healthy\"), get scored; --history shows a trainee's progress\n"
    "                      (trainee: --trainee, else $LOADLAB_TRAINEE, else $USER)\n"
    "See docs/diagnosis.md.\n"
    "\n"
    "exit status: 0 every scenario met its expectations; 99 a gate verdict differed\n"
    "from what a scenario expects, or a regression gate failed; 2 bad usage or a bad\n"
    "scenario file; 1 anything else; 130 interrupted. An inconclusive regression verdict\n"
    "does not change it. report: 0 written; 2 nothing to report (no such run or scenario,\n"
    "or no run at all); 1 anything else, charts that could not be drawn included.\n"
    "wrk is taken from $LOADLAB_WRK, gnuplot from $LOADLAB_GNUPLOT, else from PATH.\n"
    "Scenario format: docs/scenarios.md; database schema: docs/schema.md.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("loadlab: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see loadlab --help)\n", stderr);
    return EXIT_USAGE;
}

/* `git describe` as the default label, `git rev-parse HEAD` as the revision. */
static void git_identity(char *label, size_t labellen, char *rev, size_t revlen)
{
    char *describe[] = {"git", "describe", "--always", "--dirty", NULL};
    char *parse[] = {"git", "rev-parse", "HEAD", NULL};
    char err[256];

    if (childproc_capture(describe, 5000, label, labellen, err, sizeof err) != 0 || !label[0])
        snprintf(label, labellen, "unlabelled");
    if (childproc_capture(parse, 5000, rev, revlen, err, sizeof err) != 0)
        rev[0] = '\0';
}

static int exit_code_for(const struct runner_outcome *outcomes, size_t n, bool interrupted)
{
    bool unmet = false;
    if (interrupted)
        return EXIT_INTERRUPTED;
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
    return unmet ? EXIT_GATES : 0;
}

/* Prints what report_render made of the report. Returns 0, or -1 when charts are
 * missing (the pages were still written). */
static int print_report_result(const struct report_result *res)
{
    printf("report: %s (%zu run%s of %zu scenario%s, %zu charts)\nsummary: %s\n", res->index_path, res->runs,
           res->runs == 1 ? "" : "s", res->scenarios, res->scenarios == 1 ? "" : "s", res->charts, res->summary_path);
    fflush(stdout);
    if (res->warning[0])
        fprintf(stderr, "loadlab: report: gnuplot warned: %s\n", res->warning);
    if (res->charts_missing) {
        fprintf(stderr, "loadlab: report: charts missing: %s\n", res->chart_problem);
        return -1;
    }
    return 0;
}

/* run --report DIR: the report of the runs just made. A report that could not be
 * written returns -1; missing charts are only said, since the suite's verdict, not
 * the drawing, is what the exit status reports. */
static int report_after_run(struct resultdb *db, const char *db_path, const char *dir,
                            const struct runner_outcome *outcomes, size_t n)
{
    char ids[MAX_SCENARIOS][24], *words[MAX_SCENARIOS], err[2048];
    struct report_options opt = {.db_path = db_path, .out_dir = dir, .select = words};
    struct report_result res;
    int rc;

    for (size_t k = 0; k < n && opt.nselect < MAX_SCENARIOS; k++)
        if (outcomes[k].run_id > 0) {
            snprintf(ids[opt.nselect], sizeof ids[0], "%lld", (long long)outcomes[k].run_id);
            words[opt.nselect] = ids[opt.nselect];
            opt.nselect++;
        }
    if (opt.nselect == 0)
        return 0;
    rc = report_render(db, &opt, &res, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "loadlab: report: %s\n", err);
        return -1;
    }
    print_report_result(&res);
    return 0;
}

/* After a run whose evidence was kept: says so, diagnoses the run and stores the
 * verdict (diagnose.h); a capture problem is reported, never fatal. */
static void report_evidence(struct resultdb *db, struct capture *capture, const struct runner_outcome *o,
                            bool quiet)
{
    struct diagnose_result *dr = NULL;
    char err[512];
    size_t items;

    if (!capture_kept(capture, &items)) {
        if (capture_problems(capture)[0] && !quiet)
            printf("  evidence of run %lld not kept: %s\n", (long long)o->run_id, capture_problems(capture));
        return;
    }
    if (!quiet)
        printf("  evidence: %zu items kept for run %lld (loadlab show --evidence %lld)%s%s\n", items,
               (long long)o->run_id, (long long)o->run_id, capture_problems(capture)[0] ? "; " : "",
               capture_problems(capture));
    if (!(dr = malloc(sizeof *dr)) || diagnose_run(db, o->run_id, dr, err, sizeof err) != 0 ||
        diagnose_store(db, dr, err, sizeof err) < 0) {
        printf("  diagnosis of run %lld failed: %s\n", (long long)o->run_id, dr ? err : "out of memory");
    } else if (!quiet) {
        printf("  diagnosis:%s\n", dr->n ? "" : " no problem found");
        for (size_t i = 0; i < dr->n; i++)
            printf("    %s in %s: %s\n", dr->findings[i].class_name,
                   dr->findings[i].culprit[0] ? dr->findings[i].culprit : "?", dr->findings[i].summary);
    }
    free(dr);
    fflush(stdout);
}

/* Regression options shared by run and compare: returns 1 when opt was one of them
 * (ro or *runs set), 0 when not, -1 when its value is bad (the message printed). */
static int regression_option(int opt, const char *arg, struct regression_options *ro, uint64_t *runs)
{
    char err[200];
    uint64_t v;
    char *end;

    switch (opt) {
    case 'M':
        if (units_parse_uint(arg, REGRESSION_MAX_RUNS, &v, err, sizeof err) < 0) {
            usage_error("--min-runs: %s", err);
            return -1;
        }
        ro->min_runs = (size_t)v;
        return 1;
    case 'A':
        ro->alpha = strtod(arg, &end);
        if (*end || end == arg) {
            usage_error("--alpha: '%s' is not a number", arg);
            return -1;
        }
        return 1;
    case 'R':
        if (units_parse_uint(arg, REGRESSION_MAX_RUNS, &v, err, sizeof err) < 0 || v == 0) {
            usage_error("--runs must be 1..%s", "1000");
            return -1;
        }
        *runs = v;
        return 1;
    default:
        return 0;
    }
}

#define REGRESSION_OPTIONS \
    {"min-runs", required_argument, NULL, 'M'}, {"alpha", required_argument, NULL, 'A'}, \
    {"runs", required_argument, NULL, 'R'}

/* Judges the regression gates of the scenarios this call ran; results to *results. */
static int judge_regressions(struct resultdb *db, struct scenario **scenarios, size_t nscenarios,
                             const struct schedule_entry *order, const struct runner_outcome *outcomes,
                             size_t nrun, const char *label, const char *baseline_label, bool interleaved,
                             uint64_t stored_runs, const struct regression_options *ro,
                             struct regression_result *results, size_t *nresults, size_t cap)
{
    int64_t *cand = calloc(nrun + 1, sizeof *cand), *base = calloc(nrun + 1, sizeof *base);
    char err[600];
    int rc = -1;

    if (!cand || !base) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    for (size_t k = 0; k < nscenarios; k++) {
        const struct scenario *sc = scenarios[k];
        size_t nc = 0, nb = 0;
        struct baseline_side b = {.scenario = sc->name, .label = baseline_label, .latest = stored_runs,
                                  .this_host_only = true};
        struct baseline_side c = {.scenario = sc->name, .label = label};

        if (sc->nregressions == 0)
            continue;
        for (size_t i = 0; i < nrun; i++)
            if (order[i].scenario == k && outcomes[i].run_id) {
                if (order[i].baseline)
                    base[nb++] = outcomes[i].run_id;
                else
                    cand[nc++] = outcomes[i].run_id;
            }
        c.run_ids = cand;
        c.nrun_ids = nc;
        if (interleaved) {
            b.run_ids = base;
            b.nrun_ids = nb;
        }
        if (baseline_judge(db, sc->regressions, sc->nregressions, &b, &c, ro, results, nresults, cap,
                           err, sizeof err) < 0) {
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

/* 99 for a failed regression gate, 1 for one that is an error, else 0. */
static int exit_code_for_regressions(const struct regression_result *results, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (results[i].verdict == REGRESSION_ERROR)
            return 1;
        if (results[i].verdict == REGRESSION_FAIL)
            rc = EXIT_GATES;
    }
    return rc;
}

/* Writes JUnit for the outcomes and the regression verdicts. Returns 0 or -1 (printed). */
static int write_junit(const char *path, const struct runner_outcome *outcomes, size_t n,
                       const struct regression_result *results, size_t nresults)
{
    struct junit_case *cases = calloc(nresults + 1, sizeof *cases);
    char err[600];
    int rc = -1;

    if (!cases)
        fprintf(stderr, "loadlab: junit: out of memory\n");
    else {
        junit_regression_cases(results, nresults, cases);
        rc = junit_write_with_cases(path, outcomes, n, cases, nresults, err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "loadlab: junit: %s\n", err);
    }
    free(cases);
    return rc;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"label", required_argument, NULL, 'l'},
        {"junit", required_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"report", required_argument, NULL, 'P'},
        {"capture", no_argument, NULL, 'c'}, {"no-evidence", no_argument, NULL, 'E'},
        {"repeat", required_argument, NULL, 'r'}, {"baseline", required_argument, NULL, 'b'},
        {"baseline-env", required_argument, NULL, 'e'}, REGRESSION_OPTIONS,
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db", *label = NULL, *junit = NULL, *baseline_label = NULL;
    const char *report_dir = NULL;
    char *baseline_env[SCHEDULE_MAX_ENV];
    struct capture *capture = NULL;
    bool capture_always = false, no_evidence = false;
    char err[1024], wrk[PATH_MAX], git_label[256], git_rev[128], log_root[PATH_MAX];
    struct scenario **scenarios = NULL;
    struct runner_outcome *outcomes = NULL;
    struct schedule_entry *order = NULL;
    struct regression_result *results = NULL;
    struct resultdb *db = NULL;
    struct runner_options ropt = {0};
    struct regression_options ro;
    size_t nscenarios = 0, nrun = 0, nplanned = 0, nenv = 0, nresults = 0, nregressions = 0, ncandidate = 0;
    uint64_t repeat = 1, stored_runs = 20;
    bool quiet = false, interrupted = false;
    int opt, rc = 1, signal_fd = -1, r;
    int64_t started = units_now_ns();

    regression_options_default(&ro);
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if ((r = regression_option(opt, optarg, &ro, &stored_runs)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'l': label = optarg; break;
        case 'j': junit = optarg; break;
        case 'q': quiet = true; break;
        case 'P': report_dir = optarg; break;
        case 'c': capture_always = true; break;
        case 'E': no_evidence = true; break;
        case 'r':
            if (units_parse_uint(optarg, SCHEDULE_MAX_REPEAT, &repeat, err, sizeof err) < 0 || repeat == 0)
                return usage_error("--repeat must be 1..%s", "100");
            break;
        case 'b': baseline_label = optarg; break;
        case 'e':
            if (nenv >= SCHEDULE_MAX_ENV)
                return usage_error("at most %s --baseline-env", "16");
            if (schedule_env_check(optarg, err, sizeof err) < 0)
                return usage_error("--baseline-env: %s", err);
            baseline_env[nenv++] = optarg;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option for run");
        }
    }
    if (optind >= argc)
        return usage_error("%s", "run needs at least one scenario file");
    if (capture_always && no_evidence)
        return usage_error("%s", "--capture and --no-evidence contradict each other");
    if (argc - optind > MAX_SCENARIOS)
        return usage_error("at most %s scenario files", "256");
    if (label && (!*label || strlen(label) > 200))
        return usage_error("%s", "--label must be 1 to 200 characters");
    if (baseline_label && (!*baseline_label || strlen(baseline_label) > 200))
        return usage_error("%s", "--baseline must be 1 to 200 characters");
    if (nenv && !baseline_label)
        return usage_error("%s", "--baseline-env runs a baseline build: it needs --baseline LABEL");
    if (regression_options_check(&ro, err, sizeof err) < 0)
        return usage_error("%s", err);

    scenarios = calloc((size_t)(argc - optind), sizeof *scenarios);
    if (!scenarios) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    for (int i = optind; i < argc; i++) {
        scenarios[nscenarios] = scenario_load(argv[i], err, sizeof err);
        if (!scenarios[nscenarios]) {
            fprintf(stderr, "loadlab: %s\n", err);
            rc = EXIT_USAGE;
            goto done;
        }
        nregressions += scenarios[nscenarios]->nregressions;
        nscenarios++;
    }
    order = schedule_build(nscenarios, (unsigned)repeat, nenv > 0, &nplanned, err, sizeof err);
    outcomes = order ? calloc(nplanned, sizeof *outcomes) : NULL;
    results = calloc(nregressions + 1, sizeof *results);
    if (!order || !outcomes || !results) {
        fprintf(stderr, "loadlab: %s\n", order ? "out of memory" : err);
        rc = order ? 1 : EXIT_USAGE;
        goto done;
    }
    if (cmdline_find_executable(getenv("LOADLAB_WRK") ? getenv("LOADLAB_WRK") : "wrk", wrk, sizeof wrk,
                                err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: wrk is needed to drive the load: %s\n", err);
        goto done;
    }
    for (int pass = 0; pass < (nenv ? 2 : 1); pass++) {
        struct schedule_env *saved = NULL;
        if (pass == 1 && !(saved = schedule_env_apply(baseline_env, nenv, err, sizeof err))) {
            fprintf(stderr, "loadlab: %s\n", err);
            goto done;
        }
        for (size_t k = 0; k < nscenarios; k++)
            if (runner_check_service_binary(scenarios[k], err, sizeof err) < 0) {
                fprintf(stderr, "loadlab: %s%s\n", pass ? "baseline build: " : "", err);
                schedule_env_restore(saved);
                goto done;
            }
        schedule_env_restore(saved);
    }
    git_identity(git_label, sizeof git_label, git_rev, sizeof git_rev);
    if (baseline_label && strcmp(baseline_label, label ? label : git_label) == 0) {
        rc = usage_error("--baseline %s is the label of this run: a build cannot be its own baseline",
                         baseline_label);
        goto done;
    }
    if ((size_t)snprintf(log_root, sizeof log_root, "%s-logs", db_path) >= sizeof log_root) {
        fprintf(stderr, "loadlab: --db path too long\n");
        goto done;
    }
    db = resultdb_open(db_path, false, err, sizeof err);
    if (!db) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    signal_fd = runner_signals_open(err, sizeof err);
    if (signal_fd < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!no_evidence && !(capture = capture_new(capture_always))) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    ropt.hook = capture ? capture_hook : NULL;
    ropt.hook_user = capture;

    ropt.git_rev = git_rev[0] ? git_rev : NULL;
    ropt.wrk_path = wrk;
    ropt.log_root = log_root;
    ropt.progress = !quiet && isatty(STDERR_FILENO);
    ropt.signal_fd = signal_fd;
    for (size_t k = 0; k < nplanned && !interrupted; k++) {
        const struct scenario *sc = scenarios[order[k].scenario];
        struct schedule_env *saved = NULL;

        ropt.label = order[k].baseline ? baseline_label : label ? label : git_label;
        if (order[k].baseline && !(saved = schedule_env_apply(baseline_env, nenv, err, sizeof err))) {
            fprintf(stderr, "loadlab: %s\n", err);
            break;
        }
        if (!quiet) {
            printf("running %s (%s): %llds%s, label %s", sc->name, sc->file,
                   (long long)(sc->duration_ns / 1000000000),
                   sc->warmup_ns ? " after warmup" : "", ropt.label);
            if (nplanned > nscenarios)
                printf(" [%zu/%zu]", k + 1, nplanned);
            putchar('\n');
            fflush(stdout);
        }
        if (runner_run(sc, db, &ropt, &outcomes[k], err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", sc->name, err);
            snprintf(outcomes[k].reason, sizeof outcomes[k].reason, "%.700s", err);
            outcomes[k].status = RUNNER_ABORTED;
        }
        schedule_env_restore(saved);
        nrun++;
        if (capture)
            report_evidence(db, capture, &outcomes[k], quiet);
        interrupted = outcomes[k].interrupted || runner_signals_take(signal_fd) != 0;
    }
    summary_print(stdout, outcomes, nrun, db_path, (double)(units_now_ns() - started) / 1e9);
    if (interrupted)
        printf("Interrupted: %zu of %zu %s not run.\n", nplanned - nrun, nplanned,
               nplanned == nscenarios ? "scenarios" : "runs");
    if (baseline_label && !interrupted &&
        judge_regressions(db, scenarios, nscenarios, order, outcomes, nrun, label ? label : git_label,
                          baseline_label, nenv > 0, stored_runs, &ro, results, &nresults, nregressions) < 0)
        goto done;
    regression_print(stdout, results, nresults);
    if (nregressions && !baseline_label)
        printf("\nnote: %zu regression gate(s) not judged: they compare against a baseline label "
               "(--baseline LABEL)\n", nregressions);
    /* the baseline build's own runs do not decide the exit code or appear in JUnit */
    for (size_t k = 0; k < nrun; k++)
        if (!order[k].baseline)
            memmove(&outcomes[ncandidate++], &outcomes[k], sizeof outcomes[k]);
    rc = exit_code_for(outcomes, ncandidate, interrupted);
    r = exit_code_for_regressions(results, nresults);
    if ((rc == 0 || rc == EXIT_GATES) && r != 0)
        rc = r == 1 ? 1 : EXIT_GATES;
    if (junit && write_junit(junit, outcomes, ncandidate, results, nresults) < 0 && rc == 0)
        rc = 1;
    if (report_dir && report_after_run(db, db_path, report_dir, outcomes, ncandidate) < 0 && rc == 0)
        rc = 1;
done:
    fflush(stdout);
    if (signal_fd >= 0)
        close(signal_fd);
    resultdb_close(db);
    capture_free(capture);
    for (size_t k = 0; k < nscenarios; k++)
        scenario_free(scenarios[k]);
    free(scenarios);
    free(outcomes);
    free(order);
    free(results);
    return rc;
}

static struct resultdb *open_for_reading(const char *db_path)
{
    char err[512];
    struct resultdb *db;
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "loadlab: %s: %s (loadlab run writes it)\n", db_path, strerror(errno));
        return NULL;
    }
    db = resultdb_open(db_path, true, err, sizeof err);
    if (!db)
        fprintf(stderr, "loadlab: %s\n", err);
    return db;
}

/* The regression gates and the name of one compare argument: a scenario file (its
 * own regression gates, else what its runs record) or a scenario name. */
static int compare_target(struct resultdb *db, const char *arg, const char *label, char *name, size_t namelen,
                          struct gate_spec *specs, size_t cap, size_t *n)
{
    char err[1024];
    size_t len = strlen(arg);
    struct scenario *sc = NULL;
    int rc = -1;

    *n = 0;
    if (len > 4 && strcmp(arg + len - 4, ".ini") == 0) {
        if (!(sc = scenario_load(arg, err, sizeof err))) {
            fprintf(stderr, "loadlab: %s\n", err);
            return EXIT_USAGE;
        }
        snprintf(name, namelen, "%s", sc->name);
        for (size_t i = 0; i < sc->nregressions && i < cap; i++)
            specs[(*n)++] = sc->regressions[i];
    } else {
        snprintf(name, namelen, "%s", arg);
    }
    if (*n == 0 && baseline_scenario_gates(db, name, label, specs, cap, n, err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    rc = 0;
done:
    scenario_free(sc);
    return rc;
}

static int cmd_compare(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"baseline", required_argument, NULL, 'b'},
        {"candidate", required_argument, NULL, 'c'}, {"against", required_argument, NULL, 'a'},
        {"junit", required_argument, NULL, 'j'}, REGRESSION_OPTIONS,
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db", *baseline_label = NULL, *candidate_label = NULL, *against = NULL;
    const char *junit = NULL;
    char err[600], (*names)[128] = NULL;
    struct gate_spec *specs = NULL;
    struct regression_result *results = NULL;
    struct regression_options ro;
    struct resultdb *db = NULL;
    size_t nnames = 0, nresults = 0, cap;
    uint64_t runs = 20;
    int opt, r, rc = 1;

    regression_options_default(&ro);
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if ((r = regression_option(opt, optarg, &ro, &runs)) != 0) {
            if (r < 0)
                return EXIT_USAGE;
            continue;
        }
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'b': baseline_label = optarg; break;
        case 'c': candidate_label = optarg; break;
        case 'a': against = optarg; break;
        case 'j': junit = optarg; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option for compare");
        }
    }
    if (!candidate_label)
        return usage_error("%s", "compare needs --candidate LABEL");
    if (!baseline_label && !against)
        return usage_error("%s", "compare needs --baseline LABEL, --against SCENARIO, or both");
    if (!baseline_label)
        baseline_label = candidate_label;
    if (!against && strcmp(baseline_label, candidate_label) == 0)
        return usage_error("--baseline and --candidate are both %s: compare two labels, or use --against",
                           candidate_label);
    if (regression_options_check(&ro, err, sizeof err) < 0)
        return usage_error("%s", err);
    if (argc - optind > MAX_SCENARIOS)
        return usage_error("at most %s scenarios", "256");
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "loadlab: %s: %s (loadlab run writes it)\n", db_path, strerror(errno));
        return 1;
    }
    /* writable: every verdict is recorded in the regressions table */
    if (!(db = resultdb_open(db_path, false, err, sizeof err))) {
        fprintf(stderr, "loadlab: %s\n", err);
        return 1;
    }
    names = calloc(MAX_SCENARIOS, sizeof *names);
    specs = calloc(SCENARIO_MAX_GATES, sizeof *specs);
    if (!names || !specs) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    if (optind == argc && baseline_label_scenarios(db, candidate_label, names, MAX_SCENARIOS, &nnames,
                                                   err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    if (optind == argc && nnames == 0) {
        fprintf(stderr, "loadlab: no completed run under label %s in %s\n", candidate_label, db_path);
        goto done;
    }
    for (int i = optind; i < argc; i++)
        snprintf(names[nnames++], sizeof names[0], "%.127s", argv[i]);
    cap = nnames * SCENARIO_MAX_GATES;
    if (!(results = calloc(cap, sizeof *results))) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    for (size_t k = 0; k < nnames; k++) {
        char name[128];
        size_t nspecs;
        struct baseline_side b = {.label = baseline_label, .latest = runs};
        struct baseline_side c = {.label = candidate_label, .latest = runs};

        if ((r = compare_target(db, names[k], candidate_label, name, sizeof name, specs, SCENARIO_MAX_GATES,
                                &nspecs)) != 0) {
            rc = r;
            goto done;
        }
        if (against && strcmp(name, against) == 0 && strcmp(baseline_label, candidate_label) == 0)
            continue;  /* the reference against itself */
        b.scenario = against ? against : name;
        c.scenario = name;
        if (baseline_judge(db, specs, nspecs, &b, &c, &ro, results, &nresults, cap, err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", name, err);
            goto done;
        }
    }
    regression_print(stdout, results, nresults);
    rc = exit_code_for_regressions(results, nresults);
    if (junit && write_junit(junit, NULL, 0, results, nresults) < 0 && rc == 0)
        rc = 1;
done:
    fflush(stdout);
    resultdb_close(db);
    free(names);
    free(specs);
    free(results);
    return rc;
}

static int cmd_list_or_show(int argc, char **argv, bool show)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"limit", required_argument, NULL, 'n'},
        {"evidence", no_argument, NULL, 'e'}, {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db";
    uint64_t limit = 20, run_id = 0;
    char err[512];
    struct resultdb *db;
    bool evidence = false, all = false;
    int opt, rc;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'n':
            if (show || units_parse_uint(optarg, 100000, &limit, err, sizeof err) < 0 || limit == 0)
                return usage_error("%s", show ? "show takes no --limit" : "--limit must be 1..100000");
            break;
        case 'e': evidence = true; break;
        case 'a': all = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option");
        }
    }
    if ((evidence || all) && !show)
        return usage_error("%s", "--evidence and --all belong to show");
    if (all && !evidence)
        return usage_error("%s", "--all goes with --evidence");
    if (show) {
        if (argc - optind != 1)
            return usage_error("%s", "show needs exactly one run id");
        if (units_parse_uint(argv[optind], INT64_MAX, &run_id, err, sizeof err) < 0 || run_id == 0)
            return usage_error("show: '%s' is not a run id", argv[optind]);
    } else if (optind != argc) {
        return usage_error("list: unexpected argument '%s'", argv[optind]);
    }
    db = open_for_reading(db_path);
    if (!db)
        return 1;
    if (evidence) {
        rc = evidence_print(db, (int64_t)run_id, stdout, all, err, sizeof err);
    } else {
        rc = show ? history_show(db, (int64_t)run_id, stdout, err, sizeof err)
                  : history_list(db, stdout, (int)limit, err, sizeof err);
        if (rc == 0 && show)
            rc = diagnose_print_stored(db, (int64_t)run_id, stdout, err, sizeof err);
    }
    if (rc != 0)
        fprintf(stderr, "loadlab: %s\n", err);
    resultdb_close(db);
    return rc == 0 ? 0 : 1;
}

static int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"out", required_argument, NULL, 'o'},
        {"png", no_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    struct report_options opt = {.db_path = "results.db", .out_dir = "reports/out"};
    struct report_result res;
    struct resultdb *db;
    struct stat st;
    char err[2048];
    int opt_char, rc;

    while ((opt_char = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt_char) {
        case 'd': opt.db_path = optarg; break;
        case 'o': opt.out_dir = optarg; break;
        case 'p': opt.png = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option for report");
        }
    }
    if (!*opt.out_dir)
        return usage_error("%s", "--out must name a folder");
    opt.select = argv + optind;
    opt.nselect = (size_t)(argc - optind);
    /* A database that does not exist yet, or an empty file, has nothing to report. */
    if (stat(opt.db_path, &st) != 0) {
        fprintf(stderr, "loadlab: report: %s: %s (loadlab run writes it)\n", opt.db_path, strerror(errno));
        return EXIT_USAGE;
    }
    if (st.st_size == 0) {
        fprintf(stderr, "loadlab: report: %s is empty: no runs to report\n", opt.db_path);
        return EXIT_USAGE;
    }
    db = resultdb_open(opt.db_path, true, err, sizeof err);
    if (!db) {
        fprintf(stderr, "loadlab: report: %s\n", err);
        return 1;
    }
    rc = report_render(db, &opt, &res, err, sizeof err);
    resultdb_close(db);
    if (rc != 0) {
        fprintf(stderr, "loadlab: report: %s\n", err);
        return rc > 0 ? EXIT_USAGE : 1;
    }
    return print_report_result(&res) == 0 ? 0 : 1;
}

/* loadlab diagnose [--db PATH] [--dry-run] RUN: names the run's problems and stores
 * the verdict (unless --dry-run). */
static int cmd_diagnose(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db";
    struct diagnose_result *dr = NULL;
    struct resultdb *db = NULL;
    uint64_t run_id;
    bool dry_run = false;
    char err[512];
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'n': dry_run = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option for diagnose");
        }
    }
    if (argc - optind != 1)
        return usage_error("%s", "diagnose needs exactly one run id");
    if (units_parse_uint(argv[optind], INT64_MAX, &run_id, err, sizeof err) < 0 || run_id == 0)
        return usage_error("diagnose: '%s' is not a run id", argv[optind]);
    if (access(db_path, F_OK) != 0) {
        fprintf(stderr, "loadlab: %s: %s (loadlab run writes it)\n", db_path, strerror(errno));
        return 1;
    }
    if (!(dr = malloc(sizeof *dr))) {
        fprintf(stderr, "loadlab: out of memory\n");
        return 1;
    }
    db = resultdb_open(db_path, dry_run, err, sizeof err);
    if (!db || diagnose_run(db, (int64_t)run_id, dr, err, sizeof err) != 0 ||
        (!dry_run && diagnose_store(db, dr, err, sizeof err) < 0)) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    diagnose_print(stdout, dr);
    if (!dry_run)
        printf("Stored in the diagnoses table of %s.\n", db_path);
    rc = 0;
done:
    resultdb_close(db);
    free(dr);
    return rc;
}

/* loadlab drill [...]: a training drill, or --history: a trainee's progress. */
static int cmd_drill(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"fault", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'}, {"level", required_argument, NULL, 'L'},
        {"trainee", required_argument, NULL, 't'}, {"answer", required_argument, NULL, 'a'},
        {"time-limit", required_argument, NULL, 'T'}, {"min-time", required_argument, NULL, 'm'},
        {"no-report", no_argument, NULL, 'R'}, {"history", no_argument, NULL, 'H'},
        {"all", no_argument, NULL, 'A'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db", *scripts = getenv("LOADLAB_SCRIPTS");
    struct drill_options d = {.level = 1, .time_limit_ns = 600000000000LL, .min_time_ns = 10000000000LL,
                              .in_fd = STDIN_FILENO, .out = stdout, .report = true};
    char err[1024], wrk[PATH_MAX], label[256], rev[128], log_root[PATH_MAX];
    struct resultdb *db = NULL;
    bool history = false, all = false, seeded = false;
    uint64_t n;
    int opt, rc = 1;

    d.trainee = getenv("LOADLAB_TRAINEE") ? getenv("LOADLAB_TRAINEE") : getenv("USER") ? getenv("USER") : "trainee";
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'f': d.fault = optarg; break;
        case 's':
            if (units_parse_uint(optarg, UINT64_MAX, &d.seed, err, sizeof err) < 0)
                return usage_error("--seed: %s", err);
            seeded = true;
            break;
        case 'L':
            if (units_parse_uint(optarg, 2, &n, err, sizeof err) < 0 || n < 1)
                return usage_error("%s", "--level must be 1 or 2");
            d.level = (int)n;
            break;
        case 't': d.trainee = optarg; break;
        case 'a': d.answer = optarg; break;
        case 'T':
            if (units_parse_duration(optarg, &d.time_limit_ns, err, sizeof err) < 0)
                return usage_error("--time-limit: %s", err);
            break;
        case 'm':
            if (units_parse_duration(optarg, &d.min_time_ns, err, sizeof err) < 0)
                return usage_error("--min-time: %s", err);
            break;
        case 'R': d.report = false; break;
        case 'H': history = true; break;
        case 'A': all = true; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return usage_error("%s", "bad option for drill");
        }
    }
    if (optind != argc)
        return usage_error("drill: unexpected argument '%s'", argv[optind]);
    if (!*d.trainee || strlen(d.trainee) > 64)
        return usage_error("%s", "--trainee must be 1 to 64 characters");
    if (all && !history)
        return usage_error("%s", "--all goes with --history");
    if (history) {
        if (!(db = open_for_reading(db_path)))
            return 1;
        rc = drillscore_history(db, all ? NULL : d.trainee, stdout, err, sizeof err) == 0 ? 0 : 1;
        if (rc)
            fprintf(stderr, "loadlab: %s\n", err);
        resultdb_close(db);
        return rc;
    }
    if (!seeded)
        d.seed = (uint64_t)units_wall_ns() ^ ((uint64_t)getpid() << 32);
    if (!scripts)
        scripts = "scenarios/lua";
    if (access(scripts, R_OK) != 0) {
        fprintf(stderr, "loadlab: %s: %s (run drills from the loadlab folder, or set LOADLAB_SCRIPTS to the wrk "
                        "scripts)\n", scripts, strerror(errno));
        return 1;
    }
    d.scripts_dir = scripts;
    if (cmdline_find_executable(getenv("LOADLAB_WRK") ? getenv("LOADLAB_WRK") : "wrk", wrk, sizeof wrk, err,
                                sizeof err) < 0) {
        fprintf(stderr, "loadlab: wrk is needed to drive the load: %s\n", err);
        return 1;
    }
    git_identity(label, sizeof label, rev, sizeof rev);
    if ((size_t)snprintf(log_root, sizeof log_root, "%s-logs", db_path) >= sizeof log_root) {
        fprintf(stderr, "loadlab: --db path too long\n");
        return 1;
    }
    d.wrk_path = wrk;
    d.log_root = log_root;
    d.git_rev = rev[0] ? rev : NULL;
    if (!(db = resultdb_open(db_path, false, err, sizeof err))) {
        fprintf(stderr, "loadlab: %s\n", err);
        return 1;
    }
    d.signal_fd = runner_signals_open(err, sizeof err);
    if (d.signal_fd < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    signal(SIGPIPE, SIG_IGN);
    rc = drill_run(db, &d, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "loadlab: drill: %s\n", err);
    rc = rc == 0 ? 0 : rc == 1 ? EXIT_INTERRUPTED : 1;
done:
    if (d.signal_fd > 0)
        close(d.signal_fd);
    resultdb_close(db);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "a command is needed: run, compare, list, show, report, diagnose or drill");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "compare") == 0)
        return cmd_compare(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list_or_show(argc - 1, argv + 1, false);
    if (strcmp(argv[1], "show") == 0)
        return cmd_list_or_show(argc - 1, argv + 1, true);
    if (strcmp(argv[1], "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(argv[1], "diagnose") == 0)
        return cmd_diagnose(argc - 1, argv + 1);
    if (strcmp(argv[1], "drill") == 0)
        return cmd_drill(argc - 1, argv + 1);
    return usage_error("unknown command '%s' (run, compare, list, show, report, diagnose, drill)", argv[1]);
}
