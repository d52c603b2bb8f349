/* cmd diagnose: `loadlab diagnose` names a stored run's problems (diagnose/diagnose.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "diagnose/diagnose.h"
#include "diagnose/rules.h"
#include "units.h"

/* Says what the baseline holds, before the verdict that used it. */
static void print_baseline(const struct rules_baseline *b)
{
    printf("Against baseline %s: %zu run%s of %s", b->label, b->runs, b->runs == 1 ? "" : "s", b->scenario);
    if (!isnan(b->cpu_per_request))
        printf(", CPU per request %.0fus (run medians %.0f-%.0fus)", b->cpu_per_request * 1e6, b->cpu_low * 1e6,
               b->cpu_high * 1e6);
    if (!isnan(b->threads))
        printf(", at most %.0f threads", b->threads);
    if (!isnan(b->rss))
        printf(", at most %.1f MB resident", b->rss / 1e6);
    printf("\n");
}

/* loadlab diagnose [--db PATH] [--dry-run] [--baseline LABEL] RUN: names the run's
 * problems and stores the verdict (unless --dry-run). */
int cmd_diagnose(int argc, char **argv)
{
    static const struct option options[] = {
        {"db", required_argument, NULL, 'd'}, {"dry-run", no_argument, NULL, 'n'},
        {"baseline", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0},
    };
    const char *db_path = "results.db", *baseline_label = NULL;
    struct rules_baseline baseline;
    struct diagnose_result *dr = NULL;
    struct resultdb *db = NULL;
    uint64_t run_id;
    bool dry_run = false;
    char err[512];
    int opt, rc = 1, found = 0;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'd': db_path = optarg; break;
        case 'n': dry_run = true; break;
        case 'b': baseline_label = optarg; break;
        case 'h': return cmd_help("diagnose");
        default: return cmd_usage_error("%s", "bad option for diagnose");
        }
    }
    if (argc - optind != 1)
        return cmd_usage_error("%s", "diagnose needs exactly one run id");
    if (units_parse_uint(argv[optind], INT64_MAX, &run_id, err, sizeof err) < 0 || run_id == 0)
        return cmd_usage_error("diagnose: '%s' is not a run id", argv[optind]);
    if ((rc = cmd_check_db_exists(db_path)) != 0)
        return rc;
    rc = 1;
    if (!(dr = malloc(sizeof *dr))) {
        fprintf(stderr, "loadlab: out of memory\n");
        return 1;
    }
    db = resultdb_open(db_path, dry_run, err, sizeof err);
    if (db && baseline_label && (found = rules_baseline_load(db, (int64_t)run_id, baseline_label, &baseline, err,
                                                             sizeof err)) != 0) {
        fprintf(stderr, "loadlab: %s\n", err);
        rc = found > 0 ? CMD_EXIT_NOT_FOUND : 1;
        goto done;
    }
    if (!db || (found = diagnose_run_against(db, (int64_t)run_id, baseline_label ? &baseline : NULL, dr, err,
                                             sizeof err)) != 0 ||
        (!dry_run && diagnose_store(db, dr, err, sizeof err) < 0)) {
        fprintf(stderr, "loadlab: %s\n", err);
        if (found > 0)
            rc = CMD_EXIT_NOT_FOUND;  /* no such run */
        goto done;
    }
    if (baseline_label)
        print_baseline(&baseline);
    diagnose_print(stdout, dr);
    if (!dry_run)
        printf("Stored in the diagnoses table of %s.\n", db_path);
    rc = 0;
done:
    resultdb_close(db);
    free(dr);
    return rc;
}

