/* drill_restart: a restart as a drill's mitigation (diagnose/drill). The trainee types
 * 'restart' (or the drill is run with --mitigate-by restart); the drill notes which
 * faults are on and the thread and memory levels, has the runner restart the service,
 * sets the code's faults again once it is back (a restart fixes no bug), watches it
 * for DRILL_RESTART_WATCH_S and judges it as any mitigation (diagnose/drill_heal.h).
 * A leak starts again from low after a restart: the time that bought is scored too.
 *
 * Kept apart from drill.c, which runs the drill and reveals it, and from drill_heal,
 * which judges whether a service healed whatever was done to it: the restart is the
 * one mitigation the drill does itself, with a state of its own across the runner's
 * restart. */
#ifndef LOADLAB_DRILL_RESTART_H
#define LOADLAB_DRILL_RESTART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diagnose/drill.h"
#include "diagnose/drill_heal.h"
#include "run/runner.h"
#include "store/resultdb.h"

/* A restart of a leak "buys time": how long until it is back at the level it had, at
 * the slope it climbs again. */
#define DRILL_RESTART_BEFORE_S 2.0   /* the levels before are the highest over this */
#define DRILL_RESTART_WATCH_S 4.0    /* after the service is ready, watched this long */
/* Below these slopes a level is not climbing again (threads a second, bytes a second). */
#define DRILL_RESTART_THREADS_SLOPE 1.0
#define DRILL_RESTART_RSS_SLOPE 1e6    /* the diagnosis's memory climb, DIAGNOSE_RSS_RATE */

struct drill_restart {
    double asked_t, ready_t;           /* run times; NaN until */
    double threads_before, rss_before; /* the highest in the DRILL_RESTART_BEFORE_S before it */
    double threads_after, rss_after;   /* the lowest in the window after */
    double threads_slope, rss_slope;   /* per second over the window after; NaN: too few samples */
    char faults[128];                  /* the faults set again, "slow=on(3ms), ..." */
    bool thread_leak, memory_leak;     /* among them */
    double bought_s;                   /* until a leak is back at its level before; NaN: no leak set
                                          back, INFINITY: not climbing in the window */
};

/* Reads the levels before a restart asked at run time t into r->threads_before and
 * rss_before (NaN when there are no samples). Returns 0, or -1 with err filled. */
int drill_restart_before(struct resultdb *db, int64_t run_id, double t, struct drill_restart *r, char *err,
                         size_t errlen);

/* Reads the window from <= t <= to after the restart into r's after fields and slopes
 * and works out r->bought_s for the leaks among r's faults. Returns 0, or -1 with err
 * filled. */
int drill_restart_after(struct resultdb *db, int64_t run_id, double from, double to, struct drill_restart *r,
                        char *err, size_t errlen);

/* What the restart did, in words ("bought 2.9s: threads 14 after (530 before), climbing
 * again at 180/s"). Returns buf. */
char *drill_restart_describe(const struct drill_restart *r, char *buf, size_t len);

/* A restart as the mitigation of one drill, from when it is wanted to its judgement. */
struct drill_restart_run {
    bool wanted;                       /* asked for: typed, or --mitigate-by restart */
    bool reapplied;                    /* the faults were set again after it */
    struct drill_restart result;       /* result.asked_t NaN: not asked yet */
    struct drill_fault reapply[DRILL_MAX_FAULTS + 4];  /* the faults on when it was asked */
    size_t nreapply;
};

/* Sets rr to "not wanted, not asked". */
void drill_restart_run_init(struct drill_restart_run *rr);

/* Whether the restart has been asked of the runner. */
bool drill_restart_asked(const struct drill_restart_run *rr);

/* Asks the restart at v->t: keeps the faults on (from the service's /debug/faults, else
 * those of plan switched on by now) and the levels before (NaN when they cannot be
 * read), and says so on out. Returns RUNNER_HOOK_RESTART_SERVICE, for the hook to
 * return. */
enum runner_hook_answer drill_restart_ask(struct drill_restart_run *rr, struct resultdb *db,
                                          const struct drill_plan *plan, const struct runner_view *v, FILE *out);

/* One tick after the restart was asked: once the service is back, sets the faults
 * again (a failure is said on out), then after DRILL_RESTART_WATCH_S judges it into m
 * (m->done set; m->healed_s when healed; m->problem what is not, or what failed).
 * Returns true once decided. */
bool drill_restart_watch(struct drill_restart_run *rr, struct drill_mitigation *m, struct resultdb *db,
                         const struct runner_view *v, FILE *out);

/* The reveal's lines on a restart: all of them (returns true) when it did not heal,
 * else the line that leads the heal's (returns false, the caller prints the rest);
 * nothing (false) when no restart was asked. */
bool drill_restart_print(FILE *out, const struct drill_mitigation *m, const struct drill_restart *r);

#endif
