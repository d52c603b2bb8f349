/* timeline: a run's phase events in order. See timeline.h. */
#include "run/timeline.h"

#include <stdlib.h>

static int compare_events(const void *a, const void *b)
{
    const struct timeline_event *x = a, *y = b;
    if (x->at_ns != y->at_ns)
        return x->at_ns < y->at_ns ? -1 : 1;
    return x->phase < y->phase ? -1 : x->phase > y->phase;
}

void timeline_plan(struct timeline *tl, const struct scenario *sc)
{
    tl->n = tl->next = 0;
    for (size_t i = 0; i < sc->nphases; i++) {
        const struct scenario_phase *ph = &sc->phases[i];
        tl->events[tl->n++] = (struct timeline_event){.at_ns = ph->at_ns, .phase = i};
        if (ph->until_ns >= 0)
            tl->events[tl->n++] = (struct timeline_event){.at_ns = ph->until_ns, .phase = i, .off = true};
    }
    qsort(tl->events, tl->n, sizeof tl->events[0], compare_events);
}

int64_t timeline_next_at(const struct timeline *tl)
{
    return tl->next < tl->n ? tl->events[tl->next].at_ns : INT64_MAX;
}

const struct timeline_event *timeline_take_due(struct timeline *tl, int64_t now_ns)
{
    if (tl->next >= tl->n || tl->events[tl->next].at_ns > now_ns)
        return NULL;
    return &tl->events[tl->next++];
}
