/* cmd help: each subcommand's own --help (usage, what it does, its options, examples,
 * its exit statuses), `loadlab help COMMAND`, and `loadlab --version`. The texts live
 * here, together, so that they read alike and a new option's help is found in one
 * place; cmd_usage_text (cmd.c) is the overview `loadlab --help` prints. */
#include <stdio.h>
#include <string.h>

#include "buildinfo.h"
#include "cmd/cmd.h"

#define DB_OPTION \
    "  --db PATH          results database (default results.db); run logs go to PATH-logs/\n"

static const char run_help[] =
    "usage: loadlab run [OPTIONS] SCENARIO...\n"
    "\n"
    "Runs each scenario file in turn against its service, records every run in the\n"
    "results database and prints a summary. Every file, wrk and every service binary\n"
    "are checked before the first run starts. Scenario format: docs/scenarios.md.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --label LABEL      names this build (default: git describe --always --dirty, else\n"
    "                     \"unlabelled\")\n"
    "  --junit FILE       also write JUnit XML, one testcase per gate\n"
    "  --report DIR       render the report of these runs into DIR afterwards\n"
    "  --quiet            no progress line and no per-scenario start lines\n"
    "  --capture          keep the evidence (thread dumps, profiles) of every run, not only\n"
    "                     of failed ones, and diagnose each\n"
    "  --no-evidence      take no evidence: nothing is asked of the service beyond /metrics\n"
    "  --repeat N         run every scenario N times, round by round (default 1)\n"
    "  --baseline LABEL   judge regression gates against LABEL's runs (and, with --capture,\n"
    "                     diagnose each run against them)\n"
    "  --baseline-env NAME=VALUE  also run the baseline build with this variable set (e.g.\n"
    "                     ORDERD_BIN=old/orderd), interleaved with the candidate; repeatable\n"
    "  --interleave       with --baseline-env: start both builds at once and switch the load\n"
    "                     between them in short slices, random order within each pair;\n"
    "                     each gate decides on the paired ratios as soon as it can\n"
    "  --budget DUR       with --interleave: load of both sides together, at most (60s)\n"
    "  --slice DUR        with --interleave: slice length (default 500ms on connections kept\n"
    "                     open to both builds; 1s, whole seconds, when wrk loads the slices)\n"
    "  --wrk-slices       with --interleave: one wrk process per slice (a scenario with a wrk\n"
    "                     script always does this)\n"
    "  --duet             with --interleave: load both builds at once in every slice\n"
    "  --restart-every N  with --interleave: start both builds afresh every N pairs and judge\n"
    "                     the blocks' medians, so a process's own lasting luck (a few per\n"
    "                     cent) is noise, not a regression (default 3; 0 or 1: never)\n"
    "  --runs N           stored runs a side of a regression takes (default 20)\n"
    "  --min-runs N       runs a side needs for a regression verdict (default 5)\n"
    "  --alpha P          one-sided significance level of a regression (default 0.05)\n"
    "  --baseline-file FILE  judge regression gates against a file from `loadlab baseline\n"
    "                     export` (a CI runner that keeps nothing between jobs)\n"
    "  --allow-other-machine  with --baseline-file: compare wall-clock figures measured on\n"
    "                     another kind of machine (instruction counts never need it)\n"
    "\n"
    "examples:\n"
    "  loadlab run scenarios/*.ini\n"
    "  loadlab run --baseline-file base.json scenarios/cost-baseline.ini\n"
    "  loadlab run --junit junit.xml --report reports/out scenarios/steady.ini\n"
    "  loadlab run --repeat 5 --baseline main --baseline-env ORDERD_BIN=old/orderd scenarios/steady.ini\n"
    "  loadlab run --baseline main --baseline-env ORDERD_BIN=old/orderd --interleave --budget 30s \\\n"
    "      scenarios/regression/catalog.ini\n"
    "\n"
    "exit status: 0 every scenario met its expectations; 99 a gate verdict differed from\n"
    "what its scenario expects, or a regression gate failed; 2 bad usage or a bad scenario\n"
    "file; 1 anything else (a crash, a gate that could not be judged, wrk missing);\n"
    "130 interrupted.\n";

static const char compare_help[] =
    "usage: loadlab compare [OPTIONS] --candidate LABEL (--baseline LABEL | --against SCENARIO)\n"
    "                       [SCENARIO...]\n"
    "\n"
    "Judges regression gates ([gate] regression.FIGURE = N%) on runs already in the\n"
    "database: each SCENARIO's (name or .ini file; default: every scenario the candidate\n"
    "label ran) latest runs under the candidate label against those under the baseline\n"
    "label, or against the runs of the --against scenario under the same label.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --candidate LABEL  the label under test\n"
    "  --baseline LABEL   the label it is compared with\n"
    "  --against SCENARIO the reference scenario (same label unless --baseline)\n"
    "  --junit FILE       also write JUnit XML, one testcase per regression gate\n"
    "  --runs N           stored runs a side takes (default 20)\n"
    "  --min-runs N       runs a side needs for a verdict, else inconclusive (default 5)\n"
    "  --alpha P          one-sided significance level (default 0.05)\n"
    "\n"
    "examples:\n"
    "  loadlab compare --candidate v2 --baseline v1\n"
    "  loadlab compare --candidate v2 --against steady-old scenarios/steady.ini\n"
    "\n"
    "exit status: 0 no regression; 99 a regression gate failed; 2 bad usage, or no\n"
    "database or no run under the candidate label; 1 anything else (a gate that could\n"
    "not be judged). An inconclusive verdict does not change it.\n";

static const char list_help[] =
    "usage: loadlab list [--db PATH] [--limit N]\n"
    "\n"
    "The latest runs in the database, newest first, with their verdict in the\n"
    "vocabulary of the summary (met expectations, tripped as expected, did not meet\n"
    "expectations, could not be judged), coloured on a terminal (NO_COLOR turns it off).\n"
    "\n"
    "options:\n" DB_OPTION
    "  --limit N          how many runs (default 20, at most 100000)\n"
    "\n"
    "examples:\n"
    "  loadlab list\n"
    "  loadlab list --db ci.db --limit 5\n"
    "\n"
    "exit status: 0 listed; 2 bad usage or no such database; 1 anything else.\n";

static const char show_help[] =
    "usage: loadlab show [--db PATH] RUN\n"
    "       loadlab show [--db PATH] --evidence [--all] RUN\n"
    "\n"
    "One run in full: settings, faults, load, gates, samples and its stored diagnosis;\n"
    "with --evidence, the thread dumps and profiles taken during it.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --evidence         the run's evidence: a table of items, then each snapshot\n"
    "  --all              with --evidence: the periodic thread dumps too\n"
    "\n"
    "examples:\n"
    "  loadlab show 12\n"
    "  loadlab show --evidence --all 12 | less\n"
    "\n"
    "exit status: 0 shown; 2 bad usage, no such run or no such database; 1 anything else.\n";

static const char report_help[] =
    "usage: loadlab report [--db PATH] [--out DIR] [--png] [RUN|SCENARIO...]\n"
    "\n"
    "Charts (gnuplot, SVG) of each run and of each scenario's trend, an HTML index and a\n"
    "Markdown verdict table, for the runs named (run ids or scenario names) or for every\n"
    "run in the database. gnuplot is $LOADLAB_GNUPLOT, else from PATH. docs/reports.md.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --out DIR          where to write it (default reports/out)\n"
    "  --png              a PNG beside every SVG chart\n"
    "\n"
    "examples:\n"
    "  loadlab report\n"
    "  loadlab report --out /tmp/report 12 13 steady\n"
    "\n"
    "exit status: 0 written; 2 bad usage, or nothing to report (no such run or scenario,\n"
    "no run at all, no such database); 1 anything else, charts that could not be drawn\n"
    "included.\n";

static const char diagnose_help[] =
    "usage: loadlab diagnose [--db PATH] [--dry-run] [--baseline LABEL] RUN\n"
    "\n"
    "Names each problem of a stored run from its samples and evidence: class\n"
    "(thread-leak, memory-leak, lock-contention, ...), culprit function, when it began,\n"
    "and the evidence for it; stores the verdict in the diagnoses table. docs/diagnosis.md.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --dry-run          print the diagnosis without storing it\n"
    "  --baseline LABEL   judge CPU per request, threads and resident memory against\n"
    "                     LABEL's latest runs of the same scenario (up to 20), not the\n"
    "                     run's own start: a fault on from the first scrape is found\n"
    "\n"
    "examples:\n"
    "  loadlab diagnose 12\n"
    "  loadlab diagnose --baseline main 14\n"
    "  loadlab diagnose --dry-run --db ci.db 3\n"
    "\n"
    "exit status: 0 diagnosed (whatever was found); 2 bad usage, no such run, no run of\n"
    "its scenario under the baseline label or no such database; 1 anything else.\n";

static const char drill_help[] =
    "usage: loadlab drill [OPTIONS]\n"
    "       loadlab drill --history [--db PATH] [--trainee NAME | --all]\n"
    "\n"
    "A training drill: orderd under load with hidden faults. Answer at the prompt (or\n"
    "with --answer), get scored against what was switched on; --history shows a\n"
    "trainee's progress. The trainee is --trainee, else $LOADLAB_TRAINEE, else $USER.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --fault NAME|random|none  the fault to hide, or a healthy service (default random)\n"
    "  --level 1|2        1: one fault from the start, or none; 2: two faults, or one that\n"
    "                     starts late (default 1)\n"
    "  --seed N           makes random reproducible (the seed is shown with the score)\n"
    "  --trainee NAME     who is answering (1 to 64 characters)\n"
    "  --answer TEXT      \"class=CLASS culprit=FUNCTION; ...\" or \"healthy\", instead of the prompt\n"
    "  --time-limit T     how long the drill runs at most (default 10m)\n"
    "  --min-time T       the earliest an answer is taken (default 10s)\n"
    "  --no-report        no HTML report of the drill\n"
    "  --mitigate T       a mitigation level: after an answer that something is wrong, T to\n"
    "                     clear it through the debug API (DELETE /debug/faults/NAME) while\n"
    "                     the load runs, or to type 'restart' to have the drill restart\n"
    "                     orderd; scored by whether the service healed (a restart sets\n"
    "                     the code's faults again: for a leak it buys time, and says how much)\n"
    "  --mitigate-by restart|api  with --mitigate and --answer: the drill restarts orderd\n"
    "                     as the mitigation, or waits for the faults to be cleared\n"
    "                     through the debug API (the default)\n"
    "  --history          the trainee's past drills; --all: every trainee's\n"
    "\n"
    "examples:\n"
    "  loadlab drill --level 1\n"
    "  loadlab drill --fault lock.cache --answer \"class=lock-contention culprit=cache_get_global\"\n"
    "  loadlab drill --level 2 --mitigate 2m\n"
    "  loadlab drill --fault leak.threads --answer \"class=thread-leak culprit=leak_notifier_wait\" \\\n"
    "                --mitigate 1m --mitigate-by restart\n"
    "  loadlab drill --history --all\n"
    "\n"
    "exit status: 0 the drill ran (whatever the score); 2 bad usage, or --history on no such\n"
    "database; 1 anything else; 130 interrupted.\n";

static const char history_help[] =
    "usage: loadlab history --changes [--db PATH] [--label LABEL] [--alpha P] [--min-segment N]\n"
    "                       SCENARIO FIGURE\n"
    "\n"
    "Finds the runs where a figure's level shifted across the history of a scenario's\n"
    "completed runs (E-divisive means with a permutation test, as MongoDB's CI and Apache\n"
    "Otava do), so a slow drift of many small regressions shows as well as one big one.\n"
    "Each change point is printed with its run, the git revision of that run, the levels\n"
    "before and after and its p-value.\n"
    "\n"
    "options:\n" DB_OPTION
    "  --label LABEL      only the runs recorded under LABEL (default: all)\n"
    "  --alpha P          significance of the permutation test (default 0.05)\n"
    "  --min-segment N    fewest runs on each side of a change (default 5)\n"
    "\n"
    "examples:\n"
    "  loadlab history --changes baseline throughput\n"
    "  loadlab history --changes cost-baseline instructions_per_request --label main\n"
    "\n"
    "exit status: 0 done (with or without change points); 2 bad usage, or no such\n"
    "database; 1 anything else.\n";

static const char baseline_help[] =
    "usage: loadlab baseline export [--db PATH] [--label LABEL] [--runs N] SCENARIO... > base.json\n"
    "\n"
    "Writes, as JSON on standard output, every figure the regression gates of the named\n"
    "scenarios compare, from their latest completed runs under LABEL, with the machine,\n"
    "the build revision, the cost counter and the scenario's definition digest; `loadlab\n"
    "run --baseline-file base.json` judges a later build against it. Keep the file as a CI\n"
    "artifact, in a cache or on a branch (README: \"Baselines as files\").\n"
    "\n"
    "options:\n" DB_OPTION
    "  --label LABEL      the baseline build's label (default: this checkout's git label)\n"
    "  --runs N           at most N latest runs a scenario (default 20)\n"
    "\n"
    "examples:\n"
    "  loadlab run --label main scenarios/cost-baseline.ini && \\\n"
    "    loadlab baseline export --label main cost-baseline > base.json\n"
    "\n"
    "exit status: 0 written; 2 bad usage, or no such database; 1 anything else.\n";

static const struct {
    const char *name, *text;
} helps[] = {
    {"run", run_help},         {"compare", compare_help},   {"list", list_help},   {"show", show_help},
    {"report", report_help},   {"diagnose", diagnose_help}, {"drill", drill_help},
    {"history", history_help}, {"baseline", baseline_help},
};

int cmd_help(const char *command)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(command, helps[i].name) == 0) {
            fputs(helps[i].text, stdout);
            return 0;
        }
    return cmd_usage_error("no help for '%s' (run, compare, list, show, report, diagnose, drill, history, baseline)", command);
}

int cmd_version(void)
{
    printf("loadlab %s (revision %s)\n", buildinfo_version(), buildinfo_revision());
    return 0;
}
