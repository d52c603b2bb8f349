/* suite: `loadlab run`'s work once its options are parsed — a list of scenario files
 * run round by round (with a baseline build interleaved when asked), each run's
 * evidence diagnosed, the regression gates judged across the runs, and the verdicts
 * turned into a summary, JUnit, a report and one exit status.
 *
 * Everything that can be checked before the first run starts (every scenario file, the
 * schedule, wrk, every service binary in both builds, the labels) is checked first, so
 * a typo in the last file of a long suite fails in a second, not after an hour. The
 * suite lives in the commands layer because it drives every layer below it: run/ for
 * the runs, judge/ for regressions, diagnose/ for evidence, output/ and report/ for
 * what it writes. */
#ifndef LOADLAB_SUITE_H
#define LOADLAB_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/regression.h"
#include "run/runner.h"

struct suite_options {
    const char *db_path;            /* results database; per-run logs go to DB_PATH-logs/ */
    const char *label;              /* NULL: git describe */
    const char *junit;              /* JUnit file, or NULL */
    const char *report_dir;         /* render the runs' report here afterwards, or NULL */
    const char *baseline_label;     /* judge regression gates against it, or NULL */
    const char *baseline_file;      /* or against this baseline file (run/filebaseline), or NULL */
    bool allow_other_machine;       /* with baseline_file: compare wall-clock figures of another machine */
    char *const *baseline_env;      /* NAME=VALUE set while the baseline build runs */
    size_t nenv;
    bool capture_always, no_evidence, quiet;
    unsigned repeat;                /* rounds, >= 1 */
    uint64_t stored_runs;           /* a side's latest stored runs when not interleaved */
    struct regression_options regression;
    bool interleave;                /* --interleave: both builds at once, paired slices (abrun.h) */
    int64_t slice_ns, budget_ns;    /* with interleave */
    bool duet;                      /* with interleave: both sides loaded at once in each slice */
    bool wrk_slices;                /* with interleave: wrk per slice, not duetload */
    size_t restart_every;           /* with interleave: pairs per block (abrun.h) */
    char *const *files;             /* scenario files, in order */
    size_t nfiles;
};

/* Runs the suite. Returns the exit status cmd.h describes (0, 1, 2, 99 or 130); every
 * problem has been printed. */
int suite_run(const struct suite_options *opt);

/* The exit status for a suite's own runs (the baseline build's excluded): 130 when
 * interrupted, 1 when a run did not complete, was not judged or has a gate that could
 * not be judged, 99 when a run did not meet its expectations, else 0. */
int suite_exit_code(const struct runner_outcome *outcomes, size_t n, bool interrupted);

#endif
