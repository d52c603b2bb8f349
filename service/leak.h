/* leak: the two leak faults and how they heal.
 *
 * leak.threads spawns, per order, a "notifier" thread that waits on a condition no
 * one signals (culprit: leak_notifier_wait) — the C twin of a goroutine blocked
 * forever on a channel. leak.memory allocates per request and never frees (culprit:
 * leak_memory_retain), through heapprof so the heap profile points at it. Both are
 * capped so a drill cannot take the host down; clearing the fault releases the
 * threads (they wake and exit) and frees the memory. */
#ifndef ORDERD_LEAK_H
#define ORDERD_LEAK_H

#include <stddef.h>
#include <stdint.h>

/* Sets the caps and registers the heal/holding hooks with the fault registry. */
void leak_init(uint64_t cap_threads, uint64_t cap_bytes);

/* Per order: spawns a leaked notifier when leak.threads fires (and the cap allows). */
void leak_threads_on_order(void);
/* Per request: retains memory when leak.memory fires (and the cap allows). */
void leak_memory_on_request(void);

/* Releases everything held (as clearing the faults does). */
void leak_release_all(void);

uint64_t leak_threads_held(void);
uint64_t leak_bytes_held(void);

/* The culprits, exported so their names are stable in dumps and profiles. */
void leak_notifier_wait(void);
void *leak_memory_retain(size_t bytes);

#endif
