/* drill: incident-response training — `loadlab drill`.
 *
 * A drill starts orderd under load with hidden faults (level 1: one fault from the
 * start, or none; level 2: two faults, or one that starts mid-run), tells the trainee
 * where to look and asks: is something wrong, what class of problem, which function.
 * When the answer comes (at the prompt, piped on stdin, or given with --answer) it is
 * scored as AIOpsLab scores an agent — detection (right or wrong), localization (the
 * culprits named), root cause (the classes named), time to detect — and the truth is
 * revealed with the run's report and what the automatic diagnosis made of it. With a
 * mitigation level (--mitigate), a trainee who found something is then given time to
 * clear it through the debug API while the load goes on — or to have the drill restart
 * the service, which sets the faults that are code again (a restart fixes no bug) and
 * so at best buys time against a leak (diagnose/drill_restart.h) — and the drill
 * scores the mitigation by whether the service healed (diagnose/drill_heal.h). Every
 * drill is a row of the `drills` table, so a trainee can follow their progress.
 *
 * The faults are set through the debug API after start-up, never on orderd's command
 * line (which /debug/vars shows), and the drill prints nothing about them before the
 * answer. What still gives them away is the answer key itself — /debug/faults, the
 * orderd_fault_active and orderd_leaked_* metrics, the drill's run in the results
 * database — and the intro tells the trainee so: an instructor's rule, as in any
 * exercise, rather than a service changed to lie about its own state. */
#ifndef LOADLAB_DRILL_H
#define LOADLAB_DRILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diagnose/diagnose.h"
#include "diagnose/drillscore.h"
#include "store/resultdb.h"

#define DRILL_MAX_FAULTS 2

struct drill_fault {
    char name[32];       /* "queue.stall" */
    char term[32];       /* "on(50ms)" */
    int64_t at_ns;       /* when it is switched on; 0: from the start */
};

struct drill_plan {
    int level;
    uint64_t seed;
    struct drill_fault faults[DRILL_MAX_FAULTS];
    size_t nfaults;      /* 0: a healthy service */
};

/* Picks the hidden faults. fault is NULL or "random" (any fault, or none), "none",
 * or a fault name (at level 2, with a second fault or a late start). The same seed,
 * fault and level always give the same plan. Returns 0, or -1 with err filled
 * (unknown fault, level not 1 or 2). */
int drill_plan_make(const char *fault, int level, uint64_t seed, struct drill_plan *out,
                    char *err, size_t errlen);

struct drill_options {
    const char *fault;          /* see drill_plan_make */
    int level;                  /* 1 or 2 */
    uint64_t seed;
    const char *trainee;        /* whose progress this drill counts in */
    const char *answer;         /* NULL: ask at a prompt on in_fd */
    int64_t time_limit_ns;      /* the load stops then, answered or not */
    int64_t min_time_ns;        /* the load runs at least this long (and until every
                                   hidden fault has been on a few seconds) */
    const char *scripts_dir;    /* where mix.lua and orders.lua are */
    const char *wrk_path, *log_root, *git_rev;
    int signal_fd;              /* from runner_signals_open */
    int in_fd;                  /* answers (stdin) */
    FILE *out;                  /* the conversation */
    bool report;                /* print the run's report after the reveal */
    int64_t mitigation_ns;      /* 0: no mitigation level; else, after an answer that
                                   something is wrong, how long the trainee has to clear
                                   it through the debug API (see diagnose/drill_heal.h),
                                   or to have the drill restart the service */
    bool mitigate_by_restart;   /* the drill restarts the service as soon as the
                                   mitigation starts (else the trainee may type
                                   'restart' at the prompt) */
};

/* Runs a drill to the end and stores it. Returns 0 when the drill was recorded
 * (answered or not), 1 when it was interrupted (recorded as aborted), or -1 with err
 * filled (the service could not be run, the database could not be written). */
int drill_run(struct resultdb *db, const struct drill_options *opt, char *err, size_t errlen);

#endif
