/* cmd report: `loadlab report` renders the report of the runs named, or of every run
 * (report/report.h); 2 when there is nothing to report. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"

int cmd_report(int argc, char **argv)
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
        case 'h': return cmd_help("report");
        default: return cmd_usage_error("%s", "bad option for report");
        }
    }
    if (!*opt.out_dir)
        return cmd_usage_error("%s", "--out must name a folder");
    opt.select = argv + optind;
    opt.nselect = (size_t)(argc - optind);
    /* A database that does not exist yet, or an empty file, has nothing to report. */
    if (stat(opt.db_path, &st) != 0) {
        fprintf(stderr, "loadlab: report: %s: %s (loadlab run writes it)\n", opt.db_path, strerror(errno));
        return CMD_EXIT_NOT_FOUND;
    }
    if (st.st_size == 0) {
        fprintf(stderr, "loadlab: report: %s is empty: no runs to report\n", opt.db_path);
        return CMD_EXIT_NOT_FOUND;
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
        return rc > 0 ? CMD_EXIT_NOT_FOUND : 1;
    }
    return cmd_print_report_result(&res) == 0 ? 0 : 1;
}

