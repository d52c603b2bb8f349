/* filebaseline: regression gates against a baseline file (judge/baselinefile), for CI
 * runners that keep nothing between jobs — the file is made from the results database
 * of the baseline build's job (`loadlab baseline export`) and judged against by the
 * candidate's (`loadlab run --baseline-file`).
 *
 * Export takes, per scenario, every figure its regression gates need from the latest
 * completed runs under a label that share the latest run's scenario definition
 * (scenario_definition_digest), with the counter of instruction figures, the machine
 * and git revision of the latest run. Judging takes the candidate runs' figures and the
 * file's with the same rules as two labels in one database (judge/regression), after
 * checking that the comparison means something: the same definition, the same counter,
 * and for wall-clock figures the same kind of machine unless the caller allows another.
 * A check that fails makes the verdict an error whose detail names the mismatch. */
#ifndef LOADLAB_FILEBASELINE_H
#define LOADLAB_FILEBASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "judge/baselinefile.h"
#include "judge/regression.h"
#include "run/scenario.h"
#include "store/resultdb.h"

/* A new baseline of the scenarios names[0..n) under label, at most runs runs a figure.
 * Returns it (free with baselinefile_free), or NULL with err filled: a scenario without
 * completed runs, runs recorded without a definition digest (by an older loadlab), a
 * figure no run measured, counters mixed within the runs, a database error. */
struct baselinefile *filebaseline_export(struct resultdb *db, char (*names)[128], size_t n, const char *label,
                                         size_t runs, char *err, size_t errlen);

/* Judges sc's regression gates: the candidate runs run_ids[0..nrun) (this call's) against
 * bf, under candidate_label. Each verdict is stored in the regressions table (baseline label "file:LABEL") and
 * written to results[*n] (*n advanced; cap the array's size). Returns 0, or -1 with err
 * filled on a database error or a full array. */
int filebaseline_judge(struct resultdb *db, const struct baselinefile *bf, const struct scenario *sc,
                       const char *candidate_label, const int64_t *run_ids, size_t nrun,
                       bool allow_other_machine, const struct regression_options *opt, struct regression_result *results, size_t *n,
                       size_t cap, char *err, size_t errlen);

#endif
