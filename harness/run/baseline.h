/* baseline: the results-database side of regression gates — the figure each run
 * measured for its scenario's regression gates, the runs one verdict compares (a
 * baseline label's against a candidate label's, or a reference scenario's against
 * another's under one label), and the verdicts themselves.
 *
 * A run's figure is read from the figures table; a run recorded before its scenario
 * had the gate falls back to the gates table (an absolute gate on the same figure) and,
 * for wrk's figures (throughput, error_rate, pNN_latency), to load_results, so a
 * history of runs stays usable as a baseline. Only completed runs count. A candidate
 * run that tried and failed to measure the figure makes the verdict an error, as a
 * gate whose data is missing is anywhere in loadlab; runs without any figure are left
 * out, and the verdict says how many. */
#ifndef LOADLAB_BASELINE_H
#define LOADLAB_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/gate.h"
#include "judge/regression.h"
#include "store/figures.h"
#include "store/resultdb.h"
#include "run/scenario.h"

/* One side of a comparison. */
struct baseline_side {
    const char *scenario;
    const char *label;
    const int64_t *run_ids;   /* exactly these runs (this call's), or NULL for the latest */
    size_t nrun_ids;
    size_t latest;            /* with run_ids NULL: at most this many of the latest runs */
    bool this_host_only;      /* with run_ids NULL: only runs recorded on this host */
};

/* Records run_id's figure for each of sc's regression gates (measured with
 * gate_evaluate on in; a figure that cannot be measured is stored with its reason).
 * Returns 0, or -1 with err filled on a database error. */
int baseline_record_figures(struct resultdb *db, int64_t run_id, const struct scenario *sc,
                            const struct gate_inputs *in, char *err, size_t errlen);

/* The value of a figure of gate kind in a run as read by figures_of_run/figures_history:
 * the figures row, else the fallbacks above. Returns true with *value, or false when the
 * run has no usable value (not measured, or measured with an error). */
bool baseline_run_value(const struct figures_run *run, enum gate_kind kind, double *value);

/* Run ids as "3,5,7" into out, cut with ",..." when they do not fit. */
void baseline_format_run_ids(const int64_t *ids, size_t n, char *out, size_t outlen);

/* Judges each of the nspecs regression gates with the runs of both sides, stores each
 * verdict in the regressions table and writes it to results[*n] (*n is advanced; cap
 * is the array's size, and judging stops at it). Returns 0, or -1 with err filled on a
 * database error or a full array. */
int baseline_judge(struct resultdb *db, const struct gate_spec *specs, size_t nspecs,
                   const struct baseline_side *baseline, const struct baseline_side *candidate,
                   const struct regression_options *opt, struct regression_result *results,
                   size_t *n, size_t cap, char *err, size_t errlen);

/* The regression gates recorded with the latest completed run of scenario under label
 * (its params), or regression.throughput = 5% and regression.p99_latency = 10% when
 * there is no such run or it records none. Writes up to cap specs and their count to
 * *n. Returns 0, or -1 with err filled. */
int baseline_scenario_gates(struct resultdb *db, const char *scenario, const char *label,
                            struct gate_spec *specs, size_t cap, size_t *n, char *err, size_t errlen);

/* The scenarios with completed runs under label, in the order they were first run,
 * each at most 127 characters. Returns 0 with up to cap names and *n, or -1 with err. */
int baseline_label_scenarios(struct resultdb *db, const char *label, char (*names)[128], size_t cap,
                             size_t *n, char *err, size_t errlen);

#endif
