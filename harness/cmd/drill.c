/* cmd drill: `loadlab drill`, a training drill (diagnose/drill.h), or --history, a
 * trainee's progress. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cmdline.h"
#include "cmd/cmd.h"
#include "diagnose/drill.h"
#include "units.h"

/* loadlab drill [...]: a training drill, or --history: a trainee's progress. */
int cmd_drill(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"fault", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'}, {"level", required_argument, NULL, 'L'},
        {"trainee", required_argument, NULL, 't'}, {"answer", required_argument, NULL, 'a'},
        {"time-limit", required_argument, NULL, 'T'}, {"min-time", required_argument, NULL, 'm'},
        {"no-report", no_argument, NULL, 'R'}, {"history", no_argument, NULL, 'H'},
        {"mitigate", required_argument, NULL, 'M'}, {"mitigate-by", required_argument, NULL, 'B'},
        {"all", no_argument, NULL, 'A'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db", *scripts = getenv("LOADLAB_SCRIPTS");
    struct drill_options d = {.level = 1, .time_limit_ns = 600000000000LL, .min_time_ns = 10000000000LL,
                              .in_fd = STDIN_FILENO, .out = stdout, .report = true};
    char err[1024], wrk[PATH_MAX], label[256], rev[128], log_root[PATH_MAX];
    struct resultdb *db = NULL;
    bool history = false, all = false, seeded = false, by = false;
    uint64_t n;
    int opt, rc = 1;

    d.trainee = getenv("LOADLAB_TRAINEE") ? getenv("LOADLAB_TRAINEE") : getenv("USER") ? getenv("USER") : "trainee";
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'f': d.fault = optarg; break;
        case 's':
            if (units_parse_uint(optarg, UINT64_MAX, &d.seed, err, sizeof err) < 0)
                return cmd_usage_error("--seed: %s", err);
            seeded = true;
            break;
        case 'L':
            if (units_parse_uint(optarg, 2, &n, err, sizeof err) < 0 || n < 1)
                return cmd_usage_error("%s", "--level must be 1 or 2");
            d.level = (int)n;
            break;
        case 't': d.trainee = optarg; break;
        case 'a': d.answer = optarg; break;
        case 'T':
            if (units_parse_duration(optarg, &d.time_limit_ns, err, sizeof err) < 0)
                return cmd_usage_error("--time-limit: %s", err);
            break;
        case 'm':
            if (units_parse_duration(optarg, &d.min_time_ns, err, sizeof err) < 0)
                return cmd_usage_error("--min-time: %s", err);
            break;
        case 'R': d.report = false; break;
        case 'M':
            if (units_parse_duration(optarg, &d.mitigation_ns, err, sizeof err) < 0 || d.mitigation_ns <= 0)
                return cmd_usage_error("--mitigate: %s", d.mitigation_ns <= 0 ? "a time above 0 is needed" : err);
            break;
        case 'B':
            if (strcmp(optarg, "restart") != 0 && strcmp(optarg, "api") != 0)
                return cmd_usage_error("%s", "--mitigate-by must be restart or api");
            d.mitigate_by_restart = strcmp(optarg, "restart") == 0;
            by = true;
            break;
        case 'H': history = true; break;
        case 'A': all = true; break;
        case 'h': return cmd_help("drill");
        default: return cmd_usage_error("%s", "bad option for drill");
        }
    }
    if (optind != argc)
        return cmd_usage_error("drill: unexpected argument '%s'", argv[optind]);
    if (!*d.trainee || strlen(d.trainee) > 64)
        return cmd_usage_error("%s", "--trainee must be 1 to 64 characters");
    if (by && !d.mitigation_ns)
        return cmd_usage_error("%s", "--mitigate-by goes with --mitigate");
    if (all && !history)
        return cmd_usage_error("%s", "--all goes with --history");
    if (history) {
        if (!(db = cmd_open_for_reading(db_path, &rc)))
            return rc;
        rc = drillscore_history(db, all ? NULL : d.trainee, stdout, err, sizeof err) == 0 ? 0 : 1;
        if (rc)
            fprintf(stderr, "loadlab: %s\n", err);
        resultdb_close(db);
        return rc;
    }
    if (!seeded)
        d.seed = (uint64_t)units_wall_ns() ^ ((uint64_t)getpid() << 32);
    if (!scripts)
        scripts = "scenarios/lua";
    if (access(scripts, R_OK) != 0) {
        fprintf(stderr, "loadlab: %s: %s (run drills from the loadlab folder, or set LOADLAB_SCRIPTS to the wrk "
                        "scripts)\n", scripts, strerror(errno));
        return 1;
    }
    d.scripts_dir = scripts;
    if (cmdline_find_executable(getenv("LOADLAB_WRK") ? getenv("LOADLAB_WRK") : "wrk", wrk, sizeof wrk, err,
                                sizeof err) < 0) {
        fprintf(stderr, "loadlab: wrk is needed to drive the load: %s\n", err);
        return 1;
    }
    cmd_git_identity(label, sizeof label, rev, sizeof rev);
    if ((size_t)snprintf(log_root, sizeof log_root, "%s-logs", db_path) >= sizeof log_root) {
        fprintf(stderr, "loadlab: --db path too long\n");
        return 1;
    }
    d.wrk_path = wrk;
    d.log_root = log_root;
    d.git_rev = rev[0] ? rev : NULL;
    if (!(db = resultdb_open(db_path, false, err, sizeof err))) {
        fprintf(stderr, "loadlab: %s\n", err);
        return 1;
    }
    d.signal_fd = runner_signals_open(err, sizeof err);
    if (d.signal_fd < 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        goto done;
    }
    signal(SIGPIPE, SIG_IGN);
    rc = drill_run(db, &d, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "loadlab: drill: %s\n", err);
    rc = rc == 0 ? 0 : rc == 1 ? CMD_EXIT_INTERRUPTED : 1;
done:
    if (d.signal_fd > 0)
        close(d.signal_fd);
    resultdb_close(db);
    return rc;
}

