/* cmd run: `loadlab run`'s options, checked before anything starts; the suite does
 * the work (suite.h). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/suite.h"
#include "run/abrun.h"
#include "run/schedule.h"
#include "units.h"

int cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"label", required_argument, NULL, 'l'},
        {"junit", required_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
        {"report", required_argument, NULL, 'P'},
        {"capture", no_argument, NULL, 'c'}, {"no-evidence", no_argument, NULL, 'E'},
        {"repeat", required_argument, NULL, 'r'}, {"baseline", required_argument, NULL, 'b'},
        {"baseline-env", required_argument, NULL, 'e'}, CMD_REGRESSION_OPTIONS,
        {"baseline-file", required_argument, NULL, 'F'}, {"allow-other-machine", no_argument, NULL, 'O'},
        {"interleave", no_argument, NULL, 'I'}, {"slice", required_argument, NULL, 'S'},
        {"budget", required_argument, NULL, 'B'}, {"duet", no_argument, NULL, 'U'},
        {"wrk-slices", no_argument, NULL, 'W'}, {"restart-every", required_argument, NULL, 'X'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    struct suite_options so = {.db_path = "results.db", .repeat = 1, .stored_runs = 20,
                               .slice_ns = ABRUN_DEFAULT_SLICE_NS, .budget_ns = ABRUN_DEFAULT_BUDGET_NS,
                               .restart_every = ABRUN_RESTART_DEFAULT};
    bool sliced = false;
    char *baseline_env[SCHEDULE_MAX_ENV], err[1024];
    uint64_t repeat = 1;
    int opt, r;

    regression_options_default(&so.regression);
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if ((r = cmd_regression_option(opt, optarg, &so.regression, &so.stored_runs)) != 0) {
            if (r < 0)
                return CMD_EXIT_USAGE;
            continue;
        }
        switch (opt) {
        case 'd': so.db_path = optarg; break;
        case 'l': so.label = optarg; break;
        case 'j': so.junit = optarg; break;
        case 'q': so.quiet = true; break;
        case 'P': so.report_dir = optarg; break;
        case 'c': so.capture_always = true; break;
        case 'E': so.no_evidence = true; break;
        case 'r':
            if (units_parse_uint(optarg, SCHEDULE_MAX_REPEAT, &repeat, err, sizeof err) < 0 || repeat == 0)
                return cmd_usage_error("--repeat must be 1..%s", "100");
            so.repeat = (unsigned)repeat;
            break;
        case 'b': so.baseline_label = optarg; break;
        case 'F': so.baseline_file = optarg; break;
        case 'O': so.allow_other_machine = true; break;
        case 'e':
            if (so.nenv >= SCHEDULE_MAX_ENV)
                return cmd_usage_error("at most %s --baseline-env", "16");
            if (schedule_env_check(optarg, err, sizeof err) < 0)
                return cmd_usage_error("--baseline-env: %s", err);
            baseline_env[so.nenv++] = optarg;
            break;
        case 'I': so.interleave = true; break;
        case 'U': so.duet = sliced = true; break;
        case 'W': so.wrk_slices = sliced = true; break;
        case 'X': {
            uint64_t every;
            if (units_parse_uint(optarg, ABRUN_MAX_BLOCK_PAIRS, &every, err, sizeof err) < 0)
                return cmd_usage_error("--restart-every %s: must be a number of pairs, 0 (never) to 1000", optarg);
            so.restart_every = (size_t)every;
            sliced = true;
            break;
        }
        case 'S':
        case 'B':
            if (units_parse_duration(optarg, opt == 'S' ? &so.slice_ns : &so.budget_ns, err, sizeof err) < 0)
                return cmd_usage_error("--%s", opt == 'S' ? "slice needs a duration" : "budget needs a duration");
            if (opt == 'S' && so.slice_ns < ABRUN_MIN_SLICE_NS)   /* 0 would read as "by the load" */
                return cmd_usage_error("--slice %s: must be from 100ms to 10s", optarg);
            sliced = true;
            break;
        case 'h': return cmd_help("run");
        default: return cmd_usage_error("%s", "bad option for run");
        }
    }
    if (optind >= argc)
        return cmd_usage_error("%s", "run needs at least one scenario file");
    if (so.capture_always && so.no_evidence)
        return cmd_usage_error("%s", "--capture and --no-evidence contradict each other");
    if (argc - optind > CMD_MAX_SCENARIOS)
        return cmd_usage_error("at most %s scenario files", "256");
    if (so.label && (!*so.label || strlen(so.label) > 200))
        return cmd_usage_error("%s", "--label must be 1 to 200 characters");
    if (so.baseline_label && (!*so.baseline_label || strlen(so.baseline_label) > 200))
        return cmd_usage_error("%s", "--baseline must be 1 to 200 characters");
    if (so.nenv && !so.baseline_label)
        return cmd_usage_error("%s", "--baseline-env runs a baseline build: it needs --baseline LABEL");
    if (so.baseline_file && so.baseline_label)
        return cmd_usage_error("%s", "--baseline-file and --baseline are two baselines: give one");
    if (so.allow_other_machine && !so.baseline_file)
        return cmd_usage_error("%s", "--allow-other-machine goes with --baseline-file");
    if (sliced && !so.interleave)
        return cmd_usage_error("%s", "--slice, --budget, --duet, --wrk-slices and --restart-every belong to --interleave");
    if (so.interleave && so.nenv == 0)
        return cmd_usage_error("%s", "--interleave compares two builds at once: it needs --baseline-env NAME=VALUE");
    if (so.interleave && so.repeat > 1)
        return cmd_usage_error("%s", "--interleave adds pairs until a verdict (--budget); --repeat is for whole runs");
    if (so.interleave) {
        struct abrun_options ao = {.slice_ns = so.slice_ns, .budget_ns = so.budget_ns,
                                   .regression = so.regression, .wrk_slices = so.wrk_slices,
                                   .restart_every = so.restart_every};
        if (abrun_check(&ao, err, sizeof err) < 0)
            return cmd_usage_error("%s", err);
    }
    if (regression_options_check(&so.regression, err, sizeof err) < 0)
        return cmd_usage_error("%s", err);
    so.baseline_env = baseline_env;
    so.files = argv + optind;
    so.nfiles = (size_t)(argc - optind);
    return suite_run(&so);
}
