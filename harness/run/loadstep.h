/* loadstep: one stage of a run's load, whichever generator makes it — wrk (loadwrk.h,
 * the closed model) or, for a scenario with [load] rate, the open-model generator
 * (openstep.h) — behind one set of calls, so that the runner orders the stages
 * without knowing which one runs. */
#ifndef LOADLAB_LOADSTEP_H
#define LOADLAB_LOADSTEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/wrkres.h"
#include "judge/gate.h"
#include "run/loadwrk.h"
#include "run/openstep.h"
#include "run/scenario.h"
#include "store/resultdb.h"

struct loadstep {
    const struct scenario *sc;
    struct loadwrk_group wrk;    /* one wrk, or one per target of a url list */
    struct openstep open;        /* [load] rate */
};

/* Starts the stage ("warmup" or "measure") of load_ns against public_base; t0_ns is
 * the run's clock origin, *started_at (seconds on it) is updated to when the open
 * model's schedule starts. Returns 0, or -1 with err filled. */
int loadstep_start(struct loadstep *l, const struct scenario *sc, const char *wrk_path, const char *public_base,
                   const char *log_dir, const char *stage, int64_t load_ns, int64_t t0_ns, double *started_at,
                   char *err, size_t errlen);

/* Whether a stage runs (started, not yet collected). */
bool loadstep_running(const struct loadstep *l);

/* Never blocks for long. Returns true once the running stage has ended. */
bool loadstep_poll(struct loadstep *l);

/* After loadstep_poll returned true: what the stage measured into *res, recorded in
 * db (load_results; for the open model also open_loads and latency_windows), and in
 * note a sentence when its figures are unreliable ("" otherwise). Returns 0, or -1
 * with err filled. */
int loadstep_collect(struct loadstep *l, struct resultdb *db, int64_t run_id, const char *log_dir, const char *stage,
                     double started_at, struct wrkres *res, char *note, size_t notelen, char *err, size_t errlen);

/* While the measured stage runs: whether a gate with abort_on_fail is already lost;
 * if so, why (naming the gate and its value) into why. */
bool loadstep_lost_gate(struct loadstep *l, char *why, size_t whylen);

/* Ends the running stage early: wrk gets SIGINT and still writes its summary; the
 * open model's schedule ends and what is out drains. */
void loadstep_interrupt(struct loadstep *l);

/* Stops whatever still runs (wrk with grace_ms, as childproc_stop), results discarded. */
void loadstep_stop(struct loadstep *l, int grace_ms);

/* Fills the open model's part of in (nothing for wrk). */
void loadstep_gate_inputs(const struct loadstep *l, struct gate_inputs *in);

/* Frees what the stage kept (after loadstep_stop). */
void loadstep_close(struct loadstep *l);

#endif
