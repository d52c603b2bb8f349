/* loadlab: the scenario driver's command line, a table of subcommands (cmd/).
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
 *   loadlab diagnose [--db PATH] [--dry-run] [--baseline LABEL] RUN
 *   loadlab drill [--fault NAME|random|none] [--level 1|2] [--seed N] [--answer TEXT] ...
 *   loadlab drill --history [--trainee NAME | --all]
 *   loadlab COMMAND --help, loadlab help COMMAND, loadlab --version
 *
 * Each command parses its own options in cmd/NAME.c; the exit codes are in cmd/cmd.h. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const struct command {
    const char *name;
    int (*entry)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},         {"compare", cmd_compare},   {"list", cmd_list}, {"show", cmd_show},
    {"report", cmd_report},   {"diagnose", cmd_diagnose}, {"drill", cmd_drill},
    {"history", cmd_history}, {"baseline", cmd_baseline},
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_usage_error("%s", "a command is needed: run, compare, list, show, report, diagnose, drill, history or baseline");
    if (strcmp(argv[1], "help") == 0 && argc > 2)
        return cmd_help(argv[2]);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(cmd_usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)
        return cmd_version();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].entry(argc - 1, argv + 1);
    return cmd_usage_error("unknown command '%s' (run, compare, list, show, report, diagnose, drill, history, baseline)", argv[1]);
}
