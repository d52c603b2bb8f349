/* junit: the suite as JUnit XML (--junit FILE), the format CI systems (GitLab,
 * Jenkins, GitHub test reporters) draw test tables from: one testsuite per scenario,
 * one testcase per gate. A gate that trips when the scenario expects it to is a
 * passing testcase; a gate that could not be judged, or a run that crashed or was
 * aborted, is an <error>. The file is written whole and renamed into place, so a CI
 * job never reads half a report. */
#ifndef LOADLAB_JUNIT_H
#define LOADLAB_JUNIT_H

#include <stddef.h>

#include "judge/regression.h"
#include "run/runner.h"

/* Writes the report to path. Returns 0, or -1 with err filled (nothing is left at
 * path on failure). */
int junit_write(const char *path, const struct runner_outcome *outcomes, size_t n,
                char *err, size_t errlen);

/* Testcases that are not one run's gates (regression verdicts, which span runs). */
enum junit_case_outcome { JUNIT_CASE_PASSED, JUNIT_CASE_FAILED, JUNIT_CASE_SKIPPED, JUNIT_CASE_ERROR };

struct junit_case {
    char suite[160];        /* testsuite name; adjacent cases of one suite share it */
    char name[GATE_MAX_NAME + 16];
    char message[1400];
    enum junit_case_outcome outcome;
};

/* The same report with ncases more testcases after the runs' suites. Same returns. */
int junit_write_with_cases(const char *path, const struct runner_outcome *outcomes, size_t n,
                           const struct junit_case *cases, size_t ncases, char *err, size_t errlen);

/* One testcase per regression verdict, in suite "regression.SCENARIO": fail is a
 * failure, error an error, inconclusive skipped. Writes n cases to cases (the
 * caller's array of at least n). */
void junit_regression_cases(const struct regression_result *results, size_t n, struct junit_case *cases);

#endif
