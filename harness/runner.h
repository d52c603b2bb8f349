/* runner: one scenario, start to finish — start (or find) the service, wait until it
 * is ready, drive it with wrk, switch faults on the timeline, sample /metrics and
 * /proc, then judge the gates and record everything in the results database.
 *
 * Single-threaded around poll(): signals arrive on a signalfd (SIGINT/SIGTERM stop
 * the run, SIGCHLD says a child ended), so there is no handler racing the loop and no
 * child can die unnoticed. Whatever happens — interrupt, service crash, wrk failure —
 * the run row is closed (aborted or crashed, with the reason), faults set on a service
 * loadlab did not start are cleared again, and no child process is left behind. */
#ifndef LOADLAB_RUNNER_H
#define LOADLAB_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gate.h"
#include "resultdb.h"
#include "scenario.h"
#include "wrkres.h"

enum runner_status { RUNNER_COMPLETED, RUNNER_ABORTED, RUNNER_CRASHED };

struct runner_options {
    const char *label, *git_rev;
    const char *wrk_path;     /* wrk to run (checked by the caller) */
    const char *log_root;     /* per-run folders go under it: LOG_ROOT/run-ID/ */
    bool progress;            /* draw a live progress line on stderr */
    int signal_fd;            /* from runner_signals_open */
};

struct runner_outcome {
    const struct scenario *scenario;
    int64_t run_id;           /* 0 when not even the run row could be written */
    enum runner_status status;
    bool interrupted;         /* stopped by SIGINT or SIGTERM */
    bool judged;              /* gates were evaluated */
    bool met;                 /* judged, no gate error, and exactly the expected gates failed */
    char reason[768];         /* why it was aborted/crashed, or notes on a completed run */
    struct gate_result gates[SCENARIO_MAX_GATES];
    size_t ngates;
    bool have_load;
    struct wrkres load;       /* the measured wrk run */
    double wall_s;
};

/* Blocks SIGINT, SIGTERM and SIGCHLD and returns a signalfd that reports them
 * (non-blocking, close-on-exec), or -1 with err filled. Children get an empty mask. */
int runner_signals_open(char *err, size_t errlen);

/* Drains the signalfd. Returns the interrupting signal (SIGINT/SIGTERM) if one came,
 * else 0 (SIGCHLD only, or nothing). */
int runner_signals_take(int signal_fd);

/* Checks before anything starts that a spawned service's binary exists and can run.
 * Returns 0, or -1 with err naming the scenario file:line and the binary. */
int runner_check_service_binary(const struct scenario *sc, char *err, size_t errlen);

/* Runs one scenario. Always fills *out (the scenario is borrowed and must outlive it)
 * and closes the run row it opened. Returns 0 when the run was recorded (whatever its
 * status), or -1 with err filled when even the run row could not be written. */
int runner_run(const struct scenario *sc, struct resultdb *db, const struct runner_options *opt,
               struct runner_outcome *out, char *err, size_t errlen);

#endif
