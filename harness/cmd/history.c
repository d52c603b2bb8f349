/* cmd history: `loadlab history --changes SCENARIO FIGURE` — where a figure's level
 * shifted over every completed run of a scenario, so that a slow drift of small
 * regressions, each passing its own gate, is seen too (judge/changepoint: E-divisive
 * means with a permutation test). Each change point is printed with the run where the
 * new level starts, the git revision of that run, the levels before and after and the
 * p-value. Runs without the figure are left out (and counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "judge/changepoint.h"
#include "judge/gate.h"
#include "run/baseline.h"
#include "store/figures.h"
#include "units.h"

#define HISTORY_MAX_CHANGES 64

/* The figure's gate kind (as a regression gate names it), or -1 with err. */
static int figure_kind(const char *figure, struct gate_spec *spec, char *err, size_t errlen)
{
    char key[GATE_MAX_NAME + 16];
    if ((size_t)snprintf(key, sizeof key, "regression.%s", figure) >= sizeof key) {
        snprintf(err, errlen, "figure name too long");
        return -1;
    }
    return gate_parse(key, "5%", spec, err, errlen);
}

static int print_changes(struct resultdb *db, const char *scenario, const char *figure, const char *label,
                         const struct changepoint_options *opt)
{
    struct figures_run *runs = calloc(CHANGEPOINT_MAX_VALUES, sizeof *runs);
    double *x = calloc(CHANGEPOINT_MAX_VALUES, sizeof *x);
    size_t *at = calloc(CHANGEPOINT_MAX_VALUES, sizeof *at);
    struct changepoint cp[HISTORY_MAX_CHANGES];
    struct gate_spec spec;
    size_t nruns = 0, n = 0, ncp = 0;
    char err[600], a[64], b[64];
    int rc = 1;

    if (!runs || !x || !at) {
        fprintf(stderr, "loadlab: history: out of memory\n");
        goto done;
    }
    if (figure_kind(figure, &spec, err, sizeof err) < 0) {
        rc = cmd_usage_error("history: %s", err);
        goto done;
    }
    if (figures_history(db, spec.name + 11, scenario, label, runs, CHANGEPOINT_MAX_VALUES, &nruns, err,
                        sizeof err) < 0) {
        fprintf(stderr, "loadlab: history: %s\n", err);
        goto done;
    }
    for (size_t i = 0; i < nruns; i++)
        if (baseline_run_value(&runs[i], spec.kind, &x[n]))
            at[n++] = i;
    if (n == 0) {
        fprintf(stderr, "loadlab: history: no completed run of %s%s%s has the figure %s\n", scenario,
                label ? " under label " : "", label ? label : "", figure);
        rc = 2;
        goto done;
    }
    if (changepoint_find(x, n, opt, cp, HISTORY_MAX_CHANGES, &ncp, err, sizeof err) < 0) {
        fprintf(stderr, "loadlab: history: %s\n", err);
        goto done;
    }
    printf("%s %s: %zu runs with the figure (runs %lld..%lld", scenario, spec.name + 11, n,
           (long long)runs[at[0]].run_id, (long long)runs[at[n - 1]].run_id);
    if (nruns > n)
        printf(", %zu without it left out", nruns - n);
    printf("), %zu change point%s (E-divisive means, permutation test, alpha %g)\n", ncp, ncp == 1 ? "" : "s",
           opt->alpha > 0 ? opt->alpha : 0.05);
    for (size_t i = 0; i < ncp; i++) {
        const struct figures_run *run = &runs[at[cp[i].index]];
        double change = cp[i].before_mean != 0 ? cp[i].after_mean / cp[i].before_mean - 1 : 0;
        printf("  run %lld  rev %.12s  %s -> %s  (%+.2f%%)  p = %.3g\n", (long long)run->run_id,
               run->git_rev[0] ? run->git_rev : "unknown", gate_format_observed(&spec, cp[i].before_mean, a, sizeof a),
               gate_format_observed(&spec, cp[i].after_mean, b, sizeof b), change * 100, cp[i].p);
    }
    fflush(stdout);
    rc = 0;
done:
    free(runs);
    free(x);
    free(at);
    return rc;
}

int cmd_history(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"label", required_argument, NULL, 'l'},
        {"changes", no_argument, NULL, 'c'}, {"alpha", required_argument, NULL, 'A'},
        {"min-segment", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    struct changepoint_options opt = {0};
    const char *db_path = "results.db", *label = NULL;
    bool changes = false;
    struct resultdb *db;
    char err[200], *end;
    uint64_t v;
    int o, rc;

    while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (o) {
        case 'd': db_path = optarg; break;
        case 'l': label = optarg; break;
        case 'c': changes = true; break;
        case 'A':
            opt.alpha = strtod(optarg, &end);
            if (*end || end == optarg || !(opt.alpha > 0 && opt.alpha < 0.5))
                return cmd_usage_error("--alpha must be a number between 0 and 0.5, not '%s'", optarg);
            break;
        case 'm':
            if (units_parse_uint(optarg, CHANGEPOINT_MAX_VALUES / 2, &v, err, sizeof err) < 0 || v < 2)
                return cmd_usage_error("--min-segment must be 2..%s", "2500");
            opt.min_segment = (size_t)v;
            break;
        case 'h': return cmd_help("history");
        default: return cmd_usage_error("%s", "bad option for history");
        }
    }
    if (!changes)
        return cmd_usage_error("%s", "history needs --changes (history --changes SCENARIO FIGURE)");
    if (argc - optind != 2)
        return cmd_usage_error("%s", "history --changes takes a scenario name and a figure (e.g. throughput)");
    if (label && (!*label || strlen(label) > 200))
        return cmd_usage_error("%s", "--label must be 1 to 200 characters");
    int open_rc = 1;
    if (!(db = cmd_open_for_reading(db_path, &open_rc)))
        return open_rc;
    rc = print_changes(db, argv[optind], argv[optind + 1], label, &opt);
    resultdb_close(db);
    return rc;
}
