/* runs_fixture: completed runs written straight into a results database, so tests of
 * regression verdicts and of `loadlab compare` get known figures without driving any
 * load. */
#ifndef TESTS_RUNS_FIXTURE_H
#define TESTS_RUNS_FIXTURE_H

#include <stdint.h>

#include "store/resultdb.h"

/* Records a completed run of scenario under label whose measured wrk result had the
 * given throughput (req/s over 2 s) and p99 (seconds), with params as the run's
 * settings JSON (NULL: "{}"). Returns the run id; fails the test on any error. */
int64_t runs_fixture_add(struct resultdb *db, const char *scenario, const char *label, double throughput,
                         double p99_s, const char *params);

/* The same, for a run that was aborted (it must never count). */
int64_t runs_fixture_add_aborted(struct resultdb *db, const char *scenario, const char *label);

#endif
