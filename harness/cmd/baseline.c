/* cmd baseline: `loadlab baseline export [--db F] [--label L] [--runs N] SCENARIO...`
 * writes, on stdout, a baseline file (judge/baselinefile) with every figure the
 * scenarios' regression gates need, from their latest completed runs under the label
 * (default: this checkout's, as `loadlab run` labels) — for a CI job to keep as an
 * artifact, in a cache or on a branch, and for `loadlab run --baseline-file` to judge
 * against on a runner whose database is gone. A SCENARIO is a name or a .ini file. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "run/filebaseline.h"
#include "run/scenario.h"
#include "units.h"

/* The scenario's name: a .ini file's [scenario] name, else the word itself. */
static int scenario_name(const char *word, char *name, size_t namelen)
{
    size_t len = strlen(word);
    char err[1024];
    struct scenario *sc;

    if (len > 4 && strcmp(word + len - 4, ".ini") == 0) {
        if (!(sc = scenario_load(word, err, sizeof err))) {
            fprintf(stderr, "loadlab: %s\n", err);
            return -1;
        }
        snprintf(name, namelen, "%s", sc->name);
        scenario_free(sc);
        return 0;
    }
    if (len == 0 || len >= namelen) {
        fprintf(stderr, "loadlab: scenario name '%s' is empty or too long\n", word);
        return -1;
    }
    snprintf(name, namelen, "%s", word);
    return 0;
}

static int export(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"label", required_argument, NULL, 'l'},
        {"runs", required_argument, NULL, 'R'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    static char names[CMD_MAX_SCENARIOS][128];
    const char *db_path = "results.db", *label = NULL;
    char git_label[256], git_rev[128], err[1024];
    uint64_t runs = 20;
    struct baselinefile *bf;
    struct resultdb *db;
    size_t n = 0;
    int opt, rc = 1;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'l': label = optarg; break;
        case 'R':
            if (units_parse_uint(optarg, BASELINEFILE_MAX_VALUES, &runs, err, sizeof err) < 0 || runs == 0)
                return cmd_usage_error("--runs must be 1..%s", "1000");
            break;
        case 'h': return cmd_help("baseline");
        default: return cmd_usage_error("%s", "bad option for baseline export");
        }
    }
    if (optind >= argc)
        return cmd_usage_error("%s", "baseline export needs at least one scenario (name or .ini file)");
    if (argc - optind > CMD_MAX_SCENARIOS)
        return cmd_usage_error("at most %s scenarios", "256");
    if (label && (!*label || strlen(label) > 200))
        return cmd_usage_error("%s", "--label must be 1 to 200 characters");
    for (int i = optind; i < argc; i++)
        if (scenario_name(argv[i], names[n++], sizeof names[0]) < 0)
            return CMD_EXIT_USAGE;
    if (!label) {
        cmd_git_identity(git_label, sizeof git_label, git_rev, sizeof git_rev);
        label = git_label;
    }
    int open_rc = 1;
    if (!(db = cmd_open_for_reading(db_path, &open_rc)))
        return open_rc;
    if (!(bf = filebaseline_export(db, names, n, label, (size_t)runs, err, sizeof err)))
        fprintf(stderr, "loadlab: baseline export: %s\n", err);
    else if (baselinefile_write(bf, stdout, err, sizeof err) < 0)
        fprintf(stderr, "loadlab: baseline export: %s\n", err);
    else
        rc = 0;
    baselinefile_free(bf);
    resultdb_close(db);
    return rc;
}

int cmd_baseline(int argc, char **argv)
{
    if (argc < 2)
        return cmd_usage_error("%s", "baseline needs a subcommand: export");
    if (strcmp(argv[1], "export") == 0)
        return export(argc - 1, argv + 1);
    if (strcmp(argv[1], "--help") == 0)
        return cmd_help("baseline");
    return cmd_usage_error("unknown baseline subcommand '%s' (export)", argv[1]);
}
