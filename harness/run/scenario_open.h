/* scenario, open model, internal: the [load] keys of the open model and the checks
 * across them (scenario_open.c). Not for use outside run/scenario*. */
#ifndef LOADLAB_SCENARIO_OPEN_H
#define LOADLAB_SCENARIO_OPEN_H

#include "run/scenario_parse.h"

/* Handles a [load] key of the open model (rate, model, arrival, max_in_flight,
 * lag_limit, request.NAME). Returns 0, -1 with the error recorded, or 1 when key is
 * not one. */
int scenario_open_key(struct scenario_parse *st, const char *key, const char *value);

/* Once the file is read: the open-model keys agree with each other and with the rest
 * of [load], and the generator accepts the whole configuration. Returns 0, or -1 with
 * the error recorded. */
int scenario_open_check(struct scenario_parse *st);

#endif
