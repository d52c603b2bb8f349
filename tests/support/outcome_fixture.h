/* outcome_fixture: a suite's outcomes built by hand — what runner_run fills after real
 * runs — so the tests of what is printed and written from them (summary, junit) know
 * every figure without driving any load. Hostile text goes where a process's or a
 * person's words end up (a crash reason, a gate's error detail, a scenario's file).
 *
 *   0 shop         run 11, completed, 1000 requests in 2 s; throughput held, p99_latency
 *                  failed (50 ms against < 20ms), error_rate tripped as expected
 *   1 crashy       run 12, crashed before judging (OUTCOME_FIXTURE_HOSTILE reason); 2 gates
 *   2 nogates      run 13, completed, judged, no gates, met
 *   3 broken-gate  run 14, completed; its one gate an error (OUTCOME_FIXTURE_HOSTILE detail)
 */
#ifndef TESTS_OUTCOME_FIXTURE_H
#define TESTS_OUTCOME_FIXTURE_H

#include "run/runner.h"
#include "run/scenario.h"

#define OUTCOME_FIXTURE_N 4
/* Markup, both quotes, a CDATA end and a control character (XML 1.0 cannot carry it). */
#define OUTCOME_FIXTURE_HOSTILE "killed by <signal> & \"quote\" 'apos' ]]> \001end"
#define OUTCOME_FIXTURE_FILE "scenarios/a&b<\"c'>.ini"

struct outcome_fixture {
    struct scenario *scenarios[OUTCOME_FIXTURE_N];
    struct runner_outcome *outcomes;   /* OUTCOME_FIXTURE_N of them, allocated with test_calloc */
};

/* Fills f; fails the test on any error. Free with outcome_fixture_free. */
void outcome_fixture_build(struct outcome_fixture *f);
void outcome_fixture_free(struct outcome_fixture *f);

#endif
