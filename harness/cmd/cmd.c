/* cmd: what loadlab's commands share. See cmd.h. */
#include "cmd/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/childproc.h"
#include "output/junit.h"
#include "units.h"

const char cmd_usage_text[] =
    "usage: loadlab run [--db PATH] [--label LABEL] [--junit FILE] [--report DIR] [--capture|--no-evidence]\n"
    "                   [--quiet] [--repeat N] [--baseline LABEL [--baseline-env NAME=VALUE]...] SCENARIO...\n"
    "       loadlab run [...] --baseline-file FILE [--allow-other-machine] SCENARIO...\n"
    "       loadlab run --baseline LABEL --baseline-env NAME=VALUE... --interleave [--slice 1s]\n"
    "                   [--budget 60s] [--duet] [--junit FILE] [--report DIR] SCENARIO...\n"
    "       loadlab compare [--db PATH] --candidate LABEL (--baseline LABEL | --against SCENARIO)\n"
    "                   [--runs N] [--junit FILE] [SCENARIO...]\n"
    "       loadlab list [--db PATH] [--limit N]\n"
    "       loadlab history --changes [--db PATH] [--label L] [--alpha P] [--min-segment N] SCENARIO FIGURE\n"
    "       loadlab baseline export [--db PATH] [--label L] [--runs N] SCENARIO... > base.json\n"
    "       loadlab show [--db PATH] RUN\n"
    "       loadlab report [--db PATH] [--out DIR] [--png] [RUN|SCENARIO...]\n"
    /* incidents: evidence, diagnosis, drills */
    "       loadlab show [--db PATH] --evidence [--all] RUN\n"
    "       loadlab diagnose [--db PATH] [--dry-run] [--baseline LABEL] RUN\n"
    "       loadlab drill [--db PATH] [--fault NAME|random|none] [--level 1|2] [--seed N]\n"
    "                     [--trainee NAME] [--answer TEXT] [--time-limit T] [--min-time T] [--no-report]\n"
    "                     [--mitigate T]\n"
    "       loadlab drill --history [--db PATH] [--trainee NAME | --all]\n"
    "       loadlab --help | --version\n"
    "       loadlab COMMAND --help, loadlab help COMMAND: the command's options and examples\n"
    "\n"
    "run     runs each scenario file in turn, records it in the results database and\n"
    "        prints a summary; every file, wrk and every service binary are checked\n"
    "        before the first run starts\n"
    "compare judges regression gates on runs already in the database: each SCENARIO's\n"
    "        (name or .ini file; default: every scenario the candidate label ran) latest\n"
    "        runs under the candidate label against those under the baseline label, or\n"
    "        against the runs of the --against scenario under the same label\n"
    "list    the latest runs in the database\n"
    "history --changes: the runs where FIGURE's level shifted over every completed run\n"
    "        of SCENARIO (E-divisive means), each with its git revision and p-value\n"
    "baseline export: the figures the scenarios' regression gates need, from their\n"
    "        latest completed runs under the label, as a JSON file (run --baseline-file)\n"
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
    "  --baseline-file FILE  run: judge regression gates against a file from `loadlab\n"
    "                  baseline export` (a scenario defined differently or counted with\n"
    "                  another counter is an error, as are wall-clock figures from\n"
    "                  another machine unless --allow-other-machine)\n"
    "  --interleave    run: both builds at once, the load switched between them in slices\n"
    "                  (random order within each pair), pairs added until every\n"
    "                  slice-measured gate has a verdict (README \"Interleaved A/B\")\n"
    "  --slice D       interleave: one slice's load, whole seconds (default 1s)\n"
    "  --budget D      interleave: at most this much load, both sides (default 60s);\n"
    "                  a gate still undecided then is inconclusive\n"
    "  --duet          interleave: each pair one slice with both sides loaded at once\n"
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
    "exit status, the same for every command: 0 done (every scenario met its\n"
    "expectations); 99 a gate verdict differed from what a scenario expects, or a\n"
    "regression gate failed; 2 bad usage: a bad option or scenario file, or a run,\n"
    "scenario, label or database named that does not exist; 1 anything else (charts that\n"
    "could not be drawn included); 130 interrupted. An inconclusive regression verdict\n"
    "does not change it.\n"
    "wrk is taken from $LOADLAB_WRK, gnuplot from $LOADLAB_GNUPLOT, else from PATH.\n"
    "Scenario format: docs/scenarios.md; database schema: docs/schema.md.\n";

int cmd_usage_error(const char *fmt, const char *arg)
{
    fputs("loadlab: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see loadlab --help)\n", stderr);
    return CMD_EXIT_USAGE;
}

void cmd_git_identity(char *label, size_t labellen, char *rev, size_t revlen)
{
    char *describe[] = {"git", "describe", "--always", "--dirty", NULL};
    char *parse[] = {"git", "rev-parse", "HEAD", NULL};
    char err[256];

    if (childproc_capture(describe, 5000, label, labellen, err, sizeof err) != 0 || !label[0])
        snprintf(label, labellen, "unlabelled");
    if (childproc_capture(parse, 5000, rev, revlen, err, sizeof err) != 0)
        rev[0] = '\0';
}

int cmd_check_db_exists(const char *db_path)
{
    if (access(db_path, F_OK) == 0)
        return 0;
    fprintf(stderr, "loadlab: %s: %s (loadlab run writes it)\n", db_path, strerror(errno));
    return CMD_EXIT_NOT_FOUND;
}

struct resultdb *cmd_open_for_reading(const char *db_path, int *exit_code)
{
    char err[512];
    struct resultdb *db;
    if ((*exit_code = cmd_check_db_exists(db_path)) != 0)
        return NULL;
    db = resultdb_open(db_path, true, err, sizeof err);
    if (!db) {
        fprintf(stderr, "loadlab: %s\n", err);
        *exit_code = 1;
    }
    return db;
}

int cmd_regression_option(int opt, const char *arg, struct regression_options *ro, uint64_t *runs)
{
    char err[200];
    uint64_t v;
    char *end;

    switch (opt) {
    case 'M':
        if (units_parse_uint(arg, REGRESSION_MAX_RUNS, &v, err, sizeof err) < 0) {
            cmd_usage_error("--min-runs: %s", err);
            return -1;
        }
        ro->min_runs = (size_t)v;
        return 1;
    case 'A':
        ro->alpha = strtod(arg, &end);
        if (*end || end == arg) {
            cmd_usage_error("--alpha: '%s' is not a number", arg);
            return -1;
        }
        return 1;
    case 'R':
        if (units_parse_uint(arg, REGRESSION_MAX_RUNS, &v, err, sizeof err) < 0 || v == 0) {
            cmd_usage_error("--runs must be 1..%s", "1000");
            return -1;
        }
        *runs = v;
        return 1;
    default:
        return 0;
    }
}

int cmd_exit_code_for_regressions(const struct regression_result *results, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (results[i].verdict == REGRESSION_ERROR)
            return 1;
        if (results[i].verdict == REGRESSION_FAIL)
            rc = CMD_EXIT_GATES;
    }
    return rc;
}

int cmd_write_junit(const char *path, const struct runner_outcome *outcomes, size_t n,
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

int cmd_print_report_result(const struct report_result *res)
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
