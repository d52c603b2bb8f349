/* symptoms: whether a run's service, or one instance of a fleet, shows a symptom in
 * the series the run has kept so far - the triggers of evidence capture (capture.h).
 *
 * Each looks at the recent past only (the run's lowest thread count, a two-second
 * memory slope, the last queue sample, a window of lock wait or CPU per request), at
 * the levels the diagnosis uses, so that a snapshot is taken while the problem is on.
 * On a fleet (samples from Prometheus) every series is one instance's: a symptom is
 * looked for on each instance's own series, never on the fleet's sum, in which one
 * sick replica is diluted by the healthy ones. Counters are read free of resets
 * (series_store_select_counter). */
#ifndef LOADLAB_SYMPTOMS_H
#define LOADLAB_SYMPTOMS_H

#include <stdbool.h>

#include "run/runner.h"

enum symptom { SYMPTOM_THREADS, SYMPTOM_MEMORY, SYMPTOM_QUEUE, SYMPTOM_LOCK, SYMPTOM_CPU, SYMPTOM_COUNT };

/* Each symptom in words, for a snapshot's reason ("queue full"). */
extern const char *const symptoms_names[SYMPTOM_COUNT];

/* What the checks remember of one service (or instance) between ticks: CPU per
 * request's healthy base, learnt over the run's first windows, since when it has
 * risen well above it, since when it has been past the diagnosis's named level, and
 * since when lock wait has been past the diagnosis's faint level (NaN: it has not). */
struct symptoms_state {
    double cpu_base, cpu_rose_at, cpu_named_at, lock_faint_at;
};

/* Sets st to its state at a run's start. */
void symptoms_state_reset(struct symptoms_state *st);

/* True when the service (instance NULL or "": every series; else only those whose
 * instance label is instance) shows symptom s at the view's time in v->series; false
 * also when the series it needs are not there or out of memory. st is that service's
 * state (updated). Lock wait shows past the diagnosis's level, or past its faint level
 * held a second. CPU per request shows past the diagnosis's absolute level, past
 * its lower named level held for a window, or past a relative rise over the run's
 * first windows held for a window. */
bool symptoms_show(const char *instance, struct symptoms_state *st, const struct runner_view *v, enum symptom s);

#endif
