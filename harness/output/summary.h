/* summary: the table loadlab prints after a suite — per scenario its run, status and
 * load figures, then each gate with threshold, observed value and what that means
 * against the scenario's expectations (the words of judge/verdict.h).
 * Written for a CI log: one line per fact, the words saying it all; on a terminal the
 * verdicts are also coloured (colour.h). */
#ifndef LOADLAB_SUMMARY_H
#define LOADLAB_SUMMARY_H

#include <stdio.h>

#include "run/runner.h"

/* The result word for one gate ("held", "FAILED", ...). */
const char *summary_gate_result(const struct gate_result *g);

/* Prints the table for n outcomes and a closing line naming db_path and wall_s. */
void summary_print(FILE *out, const struct runner_outcome *outcomes, size_t n,
                   const char *db_path, double wall_s);

#endif
