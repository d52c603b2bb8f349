/* openstep: the open-model load as a step of a run — the runner's counterpart of
 * loadwrk for a scenario with [load] rate. It starts the generator (run/openload.h)
 * for a stage, tells the runner's loop when the stage is over without blocking it,
 * judges abort_on_fail gates on the windows complete so far, and at the end records
 * what the generator measured: as wrk's figures (load_results: throughput is the
 * achieved rate, latencies from the scheduled send time) and in full (store/openloads:
 * counts, rates, send lag, health, the whole-stage and per-second histograms).
 *
 * The generator's threads run the load; this module only reads its published totals
 * and windows, so the runner's single-threaded loop is never held up by the load. */
#ifndef LOADLAB_OPENSTEP_H
#define LOADLAB_OPENSTEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/latency_hist.h"
#include "base/wrkres.h"
#include "judge/gate.h"
#include "run/openload.h"
#include "run/scenario.h"
#include "store/resultdb.h"

struct openstep {
    struct openload *ol;              /* while a stage runs */
    bool running;                     /* started, not yet collected */
    bool stopped;                     /* ended early (openstep_stop) */
    int64_t start_ns, end_ns, stop_ns, timeout_ns;
    uint64_t planned;                 /* requests the whole schedule holds */
    struct openload_result *result;   /* the last stage collected, or NULL */
    char failure[400];                /* why collecting failed, "" when it did not */
    /* the windows complete so far (abort gates) or, once collected, all of them */
    struct gate_window *windows;
    uint8_t **blobs;                  /* the live windows' histograms, owned */
    size_t nwindows, cap;
    struct latency_hist *scratch;
};

/* Starts a stage of duration_ns against public_base ("http://HOST:PORT"). t0_ns is the
 * run's clock origin; *started_at gets the schedule's start on that clock (seconds).
 * Returns 0, or -1 with err filled. */
int openstep_start(struct openstep *s, const struct scenario *sc, const char *public_base, int64_t duration_ns,
                   int64_t t0_ns, double *started_at, char *err, size_t errlen);

/* Never blocks for long: returns true once the stage's schedule has ended and every
 * request it scheduled is accounted for (or its drain deadline passed), the results
 * then collected; false while it runs. */
bool openstep_poll(struct openstep *s);

/* Ends the schedule now (from the runner's loop); the requests out are drained. */
void openstep_stop(struct openstep *s);

/* After openstep_poll returned true: what the stage measured as wrk's figures into
 * *res, recorded in db under stage (open_loads and latency_windows), and in note a
 * sentence when the figures are unreliable (the generator fell behind its schedule;
 * "" otherwise). Returns 0, or -1 with err filled. */
int openstep_finish(struct openstep *s, struct resultdb *db, int64_t run_id, const char *stage, double started_at,
                    struct wrkres *res, char *note, size_t notelen, char *err, size_t errlen);

/* While the measured stage runs: the first gate of sc with abort_on_fail that is
 * already lost, its result in *g; NULL when none is (or on no memory). */
const struct gate_spec *openstep_lost_gate(struct openstep *s, const struct scenario *sc, struct gate_result *g);

/* Fills the open-model part of in from the collected stage (nothing when none). */
void openstep_gate_inputs(const struct openstep *s, struct gate_inputs *in);

/* Stops and waits for a stage still running (its results discarded) and frees
 * everything; s can be started again. */
void openstep_close(struct openstep *s);

#endif
