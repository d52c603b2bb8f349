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

#include "judge/gate.h"
#include "base/httpclient.h"
#include "store/resultdb.h"
#include "run/costrun.h"
#include "run/scenario.h"
#include "base/seriesstore.h"
#include "base/wrkres.h"

enum runner_status { RUNNER_COMPLETED, RUNNER_ABORTED, RUNNER_CRASHED };

struct runner_outcome;

/* Where a run hook is called (runner_options.hook): the moments at which the service
 * is still up with its faults on, so that evidence can be taken from it (capture.h),
 * and the end, where what was taken can be kept according to the verdicts. */
enum runner_moment {
    RUNNER_AT_START,     /* the service is ready; before the first scrape, faults and load */
    RUNNER_AT_TICK,      /* after each scrape while the load runs (warmup included) */
    RUNNER_AT_LOAD_END,  /* the load is over or the run is stopping; the service still runs,
                            its faults still set (not called when it crashed) */
    RUNNER_AT_END        /* the service is stopped, the gates judged; the run row still open */
};

/* What a hook sees; everything is borrowed for the duration of the call. */
struct runner_view {
    const struct scenario *sc;
    struct resultdb *db;
    int64_t run_id;
    struct httpclient *http;          /* the run's client for the debug API */
    struct series_store *series;      /* the run's kept series; a hook may want more at START */
    const char *public_base;          /* the service's public base URL */
    const char *debug_base;           /* "http://host:port" of the debug API, "" when unknown */
    const char *log_dir;              /* the run's log folder (service.log for a spawned service) */
    double t;                         /* now, seconds on the run's clock */
    double load_end;                  /* when the load is planned to end (warmup + duration) */
    bool measuring;                   /* the measured wrk run is under way */
    unsigned restarts;                /* times the service was restarted (RUNNER_HOOK_RESTART_SERVICE) */
    double restarted_t;               /* when it was last ready again after one; NaN: never */
    const struct runner_outcome *out; /* status, gates; judged only at RUNNER_AT_END */
};

/* Returned by a hook: go on, or (at a tick) end the load now as if its time were up —
 * wrk is asked to stop and still reports what it measured — or (at a tick) restart
 * the service: a spawned one is stopped and its command started again on the same
 * ports while the load goes on (its connections fail meanwhile and reconnect), and
 * the next tick sees it ready with nothing set on it (faults included: the
 * timeline's later ones still come); a service loadlab did not start is left as it
 * is, and that is noted in the run's reason. */
enum runner_hook_answer { RUNNER_HOOK_CONTINUE, RUNNER_HOOK_END_LOAD, RUNNER_HOOK_RESTART_SERVICE };
typedef enum runner_hook_answer (*runner_hook_fn)(void *user, enum runner_moment moment,
                                                  const struct runner_view *view);

struct runner_options {
    const char *label, *git_rev;
    const char *wrk_path;     /* wrk to run (checked by the caller) */
    const char *log_root;     /* per-run folders go under it: LOG_ROOT/run-ID/ */
    bool progress;            /* draw a live progress line on stderr */
    int signal_fd;            /* from runner_signals_open */
    runner_hook_fn hook;      /* optional: called at each enum runner_moment */
    void *hook_user;
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
    bool have_cost;           /* [load] requests: the instructions were counted */
    struct costrun_result cost;
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
