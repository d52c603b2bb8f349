/* timeline: when a run's phases switch their faults on and off.
 *
 * A scenario's [phase.NAME] sections each give an `at` and an optional `until`, on the
 * run's clock (t = 0 at the first scrape). The timeline sorts them into one list of
 * events, earliest first (a phase's own on before its off at the same instant, phases
 * in file order otherwise), so the runner only ever looks at the next one. */
#ifndef LOADLAB_TIMELINE_H
#define LOADLAB_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/scenario.h"

struct timeline_event {
    int64_t at_ns;   /* on the run's clock */
    size_t phase;    /* index into scenario.phases */
    bool off;        /* the phase's until: its fault goes off */
};

struct timeline {
    struct timeline_event events[2 * SCENARIO_MAX_PHASES];
    size_t n, next;
};

/* Fills tl with sc's phase events in order. Never fails. */
void timeline_plan(struct timeline *tl, const struct scenario *sc);

/* When the next event is due, or INT64_MAX when none is left. */
int64_t timeline_next_at(const struct timeline *tl);

/* The next event due at or before now_ns (marked as taken), or NULL. */
const struct timeline_event *timeline_take_due(struct timeline *tl, int64_t now_ns);

#endif
