/* cmd: loadlab's subcommands, one entry point each, and what their option parsing
 * shares (the usage text, usage errors, exit codes, opening the results database).
 *
 * This is the top layer: a command parses its options, checks everything that can be
 * checked before work starts, and calls into run/, judge/, diagnose/, report/ and
 * output/. Only a command prints to the terminal on its own behalf and chooses an exit
 * status; the layers below fill an err buffer and return. main.c is the table that
 * maps a command's name to its entry point.
 *
 * Exit codes, the same for every command, as a CI job reads them (README "Exit
 * status"): 0 done (every scenario met its expectations); 99 a gate verdict differed
 * from what its scenario expects, or a regression gate failed (k6's code); 2 bad usage:
 * a bad option or scenario file, or a run, scenario, label or database named that does
 * not exist; 1 anything else (a crash, an abort, a gate that could not be judged, a
 * missing binary, a database that cannot be read); 130 interrupted. */
#ifndef LOADLAB_CMD_H
#define LOADLAB_CMD_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/regression.h"
#include "report/report.h"
#include "run/runner.h"
#include "store/resultdb.h"

#define CMD_EXIT_GATES 99
#define CMD_EXIT_USAGE 2
/* A run, scenario, label or database named on the command line that does not exist:
 * the caller asked for something that is not there, as with a bad argument. */
#define CMD_EXIT_NOT_FOUND CMD_EXIT_USAGE
#define CMD_EXIT_INTERRUPTED 130
#define CMD_MAX_SCENARIOS 256

/* Each command's entry point: argv[0] is the command's name, as getopt expects.
 * Returns the process's exit status. */
int cmd_run(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
int cmd_drill(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_baseline(int argc, char **argv);

/* `loadlab --help`: the overview of every command. */
extern const char cmd_usage_text[];

/* `loadlab COMMAND --help` and `loadlab help COMMAND` (cmd/help.c): the command's usage,
 * options, examples and exit statuses on stdout. Returns 0, or CMD_EXIT_USAGE (said on
 * stderr) for a command loadlab does not have. */
int cmd_help(const char *command);

/* `loadlab --version`: version and git revision on stdout. Returns 0. */
int cmd_version(void);

/* Prints "loadlab: " fmt (with arg) and a pointer to --help on stderr. Returns
 * CMD_EXIT_USAGE. */
int cmd_usage_error(const char *fmt, const char *arg);

/* `git describe --always --dirty` into label ("unlabelled" outside a checkout) and
 * `git rev-parse HEAD` into rev ("" when unknown). */
void cmd_git_identity(char *label, size_t labellen, char *rev, size_t revlen);

/* Whether the results database exists: 0, or CMD_EXIT_NOT_FOUND with the reason printed. */
int cmd_check_db_exists(const char *db_path);

/* Opens an existing results database read-only. Returns it, or NULL with the reason
 * printed and *exit_code set (CMD_EXIT_NOT_FOUND when there is no such file, else 1). */
struct resultdb *cmd_open_for_reading(const char *db_path, int *exit_code);

/* The regression options run and compare share (--min-runs, --alpha, --runs). */
#define CMD_REGRESSION_OPTIONS \
    {"min-runs", required_argument, NULL, 'M'}, {"alpha", required_argument, NULL, 'A'}, \
    {"runs", required_argument, NULL, 'R'}

/* Returns 1 when opt was one of CMD_REGRESSION_OPTIONS (ro or *runs set), 0 when not,
 * -1 when its value is bad (the message printed). */
int cmd_regression_option(int opt, const char *arg, struct regression_options *ro, uint64_t *runs);

/* 99 for a failed regression gate, 1 for one that is an error, else 0. */
int cmd_exit_code_for_regressions(const struct regression_result *results, size_t n);

/* Writes JUnit for the outcomes and the regression verdicts. Returns 0 or -1 (printed). */
int cmd_write_junit(const char *path, const struct runner_outcome *outcomes, size_t n,
                    const struct regression_result *results, size_t nresults);

/* Prints what report_render made of the report. Returns 0, or -1 when charts are
 * missing (the pages were still written). */
int cmd_print_report_result(const struct report_result *res);

#endif
