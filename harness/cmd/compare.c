/* cmd compare: `loadlab compare` judges regression gates on runs already stored,
 * one label against another or one scenario against another (judge/regression.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "run/baseline.h"
#include "run/scenario.h"

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
            return CMD_EXIT_USAGE;
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

int cmd_compare(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"baseline", required_argument, NULL, 'b'},
        {"candidate", required_argument, NULL, 'c'}, {"against", required_argument, NULL, 'a'},
        {"junit", required_argument, NULL, 'j'}, CMD_REGRESSION_OPTIONS,
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
        if ((r = cmd_regression_option(opt, optarg, &ro, &runs)) != 0) {
            if (r < 0)
                return CMD_EXIT_USAGE;
            continue;
        }
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'b': baseline_label = optarg; break;
        case 'c': candidate_label = optarg; break;
        case 'a': against = optarg; break;
        case 'j': junit = optarg; break;
        case 'h': return cmd_help("compare");
        default: return cmd_usage_error("%s", "bad option for compare");
        }
    }
    if (!candidate_label)
        return cmd_usage_error("%s", "compare needs --candidate LABEL");
    if (!baseline_label && !against)
        return cmd_usage_error("%s", "compare needs --baseline LABEL, --against SCENARIO, or both");
    if (!baseline_label)
        baseline_label = candidate_label;
    if (!against && strcmp(baseline_label, candidate_label) == 0)
        return cmd_usage_error("--baseline and --candidate are both %s: compare two labels, or use --against",
                           candidate_label);
    if (regression_options_check(&ro, err, sizeof err) < 0)
        return cmd_usage_error("%s", err);
    if (argc - optind > CMD_MAX_SCENARIOS)
        return cmd_usage_error("at most %s scenarios", "256");
    if ((r = cmd_check_db_exists(db_path)) != 0)
        return r;
    /* writable: every verdict is recorded in the regressions table */
    if (!(db = resultdb_open(db_path, false, err, sizeof err))) {
        fprintf(stderr, "loadlab: %s\n", err);
        return 1;
    }
    names = calloc(CMD_MAX_SCENARIOS, sizeof *names);
    specs = calloc(SCENARIO_MAX_GATES, sizeof *specs);
    if (!names || !specs) {
        fprintf(stderr, "loadlab: out of memory\n");
        goto done;
    }
    if (optind == argc && baseline_label_scenarios(db, candidate_label, names, CMD_MAX_SCENARIOS, &nnames,
                                                   err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    if (optind == argc && nnames == 0) {
        fprintf(stderr, "loadlab: no completed run under label %s in %s\n", candidate_label, db_path);
        rc = CMD_EXIT_NOT_FOUND;
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
    rc = cmd_exit_code_for_regressions(results, nresults);
    if (junit && cmd_write_junit(junit, NULL, 0, results, nresults) < 0 && rc == 0)
        rc = 1;
done:
    fflush(stdout);
    resultdb_close(db);
    free(names);
    free(specs);
    free(results);
    return rc;
}

