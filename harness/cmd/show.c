/* cmd list, cmd show: the latest runs, or one run in full (output/history.h), its
 * evidence (store/evidence.h) and its stored diagnosis. They share their options. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "diagnose/diagnose.h"
#include "output/history.h"
#include "store/evidence.h"
#include "units.h"

/* loadlab list [--db PATH] [--limit N], or loadlab show [--db PATH] [--evidence [--all]] RUN. */
static int list_or_show(int argc, char **argv, bool show)
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
                return cmd_usage_error("%s", show ? "show takes no --limit" : "--limit must be 1..100000");
            break;
        case 'e': evidence = true; break;
        case 'a': all = true; break;
        case 'h': return cmd_help(show ? "show" : "list");
        default: return cmd_usage_error("%s", "bad option");
        }
    }
    if ((evidence || all) && !show)
        return cmd_usage_error("%s", "--evidence and --all belong to show");
    if (all && !evidence)
        return cmd_usage_error("%s", "--all goes with --evidence");
    if (show) {
        if (argc - optind != 1)
            return cmd_usage_error("%s", "show needs exactly one run id");
        if (units_parse_uint(argv[optind], INT64_MAX, &run_id, err, sizeof err) < 0 || run_id == 0)
            return cmd_usage_error("show: '%s' is not a run id", argv[optind]);
    } else if (optind != argc) {
        return cmd_usage_error("list: unexpected argument '%s'", argv[optind]);
    }
    db = cmd_open_for_reading(db_path, &rc);
    if (!db)
        return rc;
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
    return rc == 0 ? 0 : rc > 0 ? CMD_EXIT_NOT_FOUND : 1;  /* rc 1: no such run */
}

int cmd_list(int argc, char **argv)
{
    return list_or_show(argc, argv, false);
}

int cmd_show(int argc, char **argv)
{
    return list_or_show(argc, argv, true);
}
