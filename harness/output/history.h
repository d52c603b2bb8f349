/* history: `loadlab list` and `loadlab show RUN` — what the results database holds,
 * read-only, as plain text for a terminal or a CI log. */
#ifndef LOADLAB_HISTORY_H
#define LOADLAB_HISTORY_H

#include <stdint.h>
#include <stdio.h>

#include "store/resultdb.h"

/* Prints the latest `limit` runs, newest last, each with what it did against its
 * scenario's expectations in judge/verdict.h's words ("tripped as expected (1 of 5
 * gates)", "FAILED (1 of 5 gates)"), coloured when out is a terminal (colour.h).
 * Returns 0, or -1 with err filled. */
int history_list(struct resultdb *db, FILE *out, int limit, char *err, size_t errlen);

/* Prints one run in full: settings, phases, load, throughput windows, gates, samples.
 * Returns 0, 1 when there is no such run (err says so), or -1 with err filled. */
int history_show(struct resultdb *db, int64_t run_id, FILE *out, char *err, size_t errlen);

#endif
