/* gate, open model, internal: the figures only an open-model load has (gate_open.c),
 * for gate_evaluate.c. Not for use outside judge/gate*. */
#ifndef LOADLAB_GATE_OPEN_H
#define LOADLAB_GATE_OPEN_H

#include "judge/gate.h"

/* A windowed latency gate: the worst percentile over every run of window_ns/1s
 * consecutive windows of in (all of them merged when there are fewer). With
 * full_only, only full runs count (none: returns 1 with nothing observed).
 * Returns 0 with out->observed set, 1 (not enough windows), or -1 with out->detail. */
int gate_observe_window(const struct gate_spec *spec, const struct gate_inputs *in, bool full_only,
                        struct gate_result *out);

/* dropped_share: dropped over scheduled. Returns 0, or -1 with out->detail. */
int gate_observe_dropped(const struct gate_inputs *in, struct gate_result *out);

#endif
