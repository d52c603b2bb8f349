/* print: a diagnosis for people — the verdict just reached, or the one the results
 * database keeps — as `loadlab diagnose` and `loadlab show` print it: one numbered
 * finding a paragraph (class, culprit, onset, confidence, summary) with the facts
 * behind it indented below. */
#ifndef LOADLAB_PRINT_H
#define LOADLAB_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/resultdb.h"

struct diagnose_result;

/* Writes the verdict for people. */
void diagnose_print(FILE *out, const struct diagnose_result *r);

/* Prints the stored verdict of a run, if any (nothing when it was never diagnosed or
 * the database predates the diagnoses table). Returns 0, or -1 with err filled. */
int diagnose_print_stored(struct resultdb *db, int64_t run_id, FILE *out, char *err, size_t errlen);

#endif
