/* fault: the faults orderd can be made to suffer on purpose, their terms and the
 * registry that says whether one fires for a given event.
 *
 * A term follows FreeBSD fail(9): "[P%][N*]on[(ARG)]" or "off". "5%on" fires for 5% of
 * eligible events, "5%100*on" at most 100 times, "on(200us)" always, with argument
 * 200us. The check on hot paths (fault_fires) is one relaxed atomic load when the
 * fault is off. Setting and clearing is serialized by the registry. What a fault
 * *does* lives with the code it breaks (cache, queue, workers, leak); this module
 * only decides when, and with what argument. */
#ifndef ORDERD_FAULT_H
#define ORDERD_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The faults' names, argument kinds and term grammar are in common/faultterm.h, shared
 * with loadlab, which checks a scenario's faults when it reads the file. */
#include "faultterm.h"

/* Parses "name=term" (one --fault flag) or "a=T;b=T" (ORDERD_FAULTS) and sets
 * them. Returns 0, or -1 with err naming the bad name or term (nothing after it is set;
 * the whole spec is checked first, so nothing before it is set either). */
int fault_set_from_spec(const char *spec, char *err, size_t errlen);

/* Sets or clears a fault (clearing calls the heal hook). Either resets the fired
 * count. term must be valid as fault_term_parse makes it; NULL means off. */
void fault_set(enum fault_id id, const struct fault_term *term);
void fault_clear(enum fault_id id);

/* For an eligible event: true when the fault fires now; *arg gets its argument (the
 * default when the term has none). Counts the firing. Thread-safe. */
bool fault_fires(enum fault_id id, int64_t *arg);

/* Is the fault on at all (a fast check for code paths that swap behaviour). False
 * once a counted term ("100*on") is used up. */
bool fault_is_on(enum fault_id id);

/* Seeds the calling thread's generator for percent terms, so that a test or a drill
 * can repeat a run exactly. Threads that never call it seed themselves. */
void fault_seed_thread(uint64_t seed);

/* The code that does a fault registers how to heal it (release threads, free
 * memory) and what it holds now; both are optional. */
typedef void (*fault_heal_fn)(void);
typedef void (*fault_holding_fn)(uint64_t *threads, uint64_t *bytes);
void fault_register_hooks(enum fault_id id, fault_heal_fn heal, fault_holding_fn holding);

/* Notes that the fault reached its cap (shown in /debug/faults, logged once). */
void fault_note_capped(enum fault_id id, bool capped);

struct fault_status {
    const char *name;
    bool on;
    char term[64];
    uint64_t fired;
    uint64_t held_threads, held_bytes;
    bool capped;
    const char *culprit;
};
void fault_status(enum fault_id id, struct fault_status *out);

#endif
