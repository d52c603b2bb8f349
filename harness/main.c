/* loadlab: the scenario driver's command line.
 *
 *   loadlab run [--db PATH] [--label LABEL] [--junit FILE] [--report DIR] [--quiet] SCENARIO...
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

#include "capture.h"
#include "childproc.h"
#include "cmdline.h"
#include "diagnose.h"
#include "drill.h"
#include "evidence.h"
#include "history.h"
#include "junit.h"
#include "report.h"
#include "resultdb.h"
#include "runner.h"
#include "scenario.h"
#include "summary.h"
#include "units.h"

#define EXIT_GATES 99
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130
#define MAX_SCENARIOS 256

static const char usage_text[] =
    "usage: loadlab run [--db PATH] [--label LABEL] [--junit FILE] [--report DIR] [--capture|--no-evidence]\n"
    "                   [--quiet] SCENARIO...\n"
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
    "from what a scenario expects; 2 bad usage or a bad scenario file; 1 anything else;\n"
    "130 interrupted. report: 0 written; 2 nothing to report (no such run or scenario,\n"
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

static int cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"label", required_argument, NULL, 'l'},
        {"junit", required_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"report", required_argument, NULL, 'r'},
        {"capture", no_argument, NULL, 'c'}, {"no-evidence", no_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db", *label = NULL, *junit = NULL, *report_dir = NULL;
    struct capture *capture = NULL;
    bool capture_always = false, no_evidence = false;
    char err[1024], wrk[PATH_MAX], git_label[256], git_rev[128], log_root[PATH_MAX];
    struct scenario **scenarios = NULL;
    struct runner_outcome *outcomes = NULL;
    struct resultdb *db = NULL;
    struct runner_options ropt = {0};
    size_t nscenarios = 0, nrun = 0;
    bool quiet = false, interrupted = false;
    int opt, rc = 1, signal_fd = -1;
    int64_t started = units_now_ns();

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'l': label = optarg; break;
        case 'j': junit = optarg; break;
        case 'q': quiet = true; break;
        case 'r': report_dir = optarg; break;
        case 'c': capture_always = true; break;
        case 'E': no_evidence = true; break;
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

    scenarios = calloc((size_t)(argc - optind), sizeof *scenarios);
    outcomes = calloc((size_t)(argc - optind), sizeof *outcomes);
    if (!scenarios || !outcomes) {
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
        nscenarios++;
    }
    if (cmdline_find_executable(getenv("LOADLAB_WRK") ? getenv("LOADLAB_WRK") : "wrk", wrk, sizeof wrk,
                                err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: wrk is needed to drive the load: %s\n", err);
        goto done;
    }
    for (size_t k = 0; k < nscenarios; k++)
        if (runner_check_service_binary(scenarios[k], err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s\n", err);
            goto done;
        }
    git_identity(git_label, sizeof git_label, git_rev, sizeof git_rev);
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

    ropt.label = label ? label : git_label;
    ropt.git_rev = git_rev[0] ? git_rev : NULL;
    ropt.wrk_path = wrk;
    ropt.log_root = log_root;
    ropt.progress = !quiet && isatty(STDERR_FILENO);
    ropt.signal_fd = signal_fd;
    for (size_t k = 0; k < nscenarios && !interrupted; k++) {
        const struct scenario *sc = scenarios[k];
        if (!quiet) {
            printf("running %s (%s): %llds%s, label %s\n", sc->name, sc->file,
                   (long long)(sc->duration_ns / 1000000000),
                   sc->warmup_ns ? " after warmup" : "", ropt.label);
            fflush(stdout);
        }
        if (runner_run(sc, db, &ropt, &outcomes[k], err, sizeof err) < 0) {
            fprintf(stderr, "loadlab: %s: %s\n", sc->name, err);
            snprintf(outcomes[k].reason, sizeof outcomes[k].reason, "%.700s", err);
            outcomes[k].status = RUNNER_ABORTED;
        }
        nrun++;
        if (capture)
            report_evidence(db, capture, &outcomes[k], quiet);
        interrupted = outcomes[k].interrupted || runner_signals_take(signal_fd) != 0;
    }
    summary_print(stdout, outcomes, nrun, db_path, (double)(units_now_ns() - started) / 1e9);
    if (interrupted)
        printf("Interrupted: %zu of %zu scenarios not run.\n", nscenarios - nrun, nscenarios);
    rc = exit_code_for(outcomes, nrun, interrupted);
    if (junit && junit_write(junit, outcomes, nrun, err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: junit: %s\n", err);
        if (rc == 0)
            rc = 1;
    }
    if (report_dir && report_after_run(db, db_path, report_dir, outcomes, nrun) < 0 && rc == 0)
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
        rc = drill_history(db, all ? NULL : d.trainee, stdout, err, sizeof err) == 0 ? 0 : 1;
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
        return usage_error("%s", "a command is needed: run, list, show, report, diagnose or drill");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
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
    return usage_error("unknown command '%s' (run, list, show, report, diagnose, drill)", argv[1]);
}
