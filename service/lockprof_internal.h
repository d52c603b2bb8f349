/* lockprof_internal: what the lock paths and stack tables (lockprof.c) share with the
 * snapshots and profile output (lockprof_profile.c): the record of one stack, a copy
 * of a kind's table, and three small helpers kept inline because the lock paths call
 * them. Only service/lockprof*.c include this. */
#ifndef ORDERD_LOCKPROF_INTERNAL_H
#define ORDERD_LOCKPROF_INTERNAL_H

#include "lockprof.h"

#include "stacks.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

struct stack_record {
    uint64_t hash;
    double count;     /* fractional for block events: Go 1.19 adds rate/delay */
    int64_t delay_ns;
    int npcs;         /* 0 only for the overflow record */
    uintptr_t pcs[STACKS_MAX_DEPTH];
};

static inline int64_t lockprof_clock_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline bool lockprof_same_stack(const struct stack_record *r, uint64_t hash, const uintptr_t *pcs,
                                       int npcs)
{
    return r->hash == hash && r->npcs == npcs &&
           memcmp(r->pcs, pcs, (size_t)npcs * sizeof *pcs) == 0;
}

static inline bool lockprof_kind_valid(enum lockprof_kind kind)
{
    return kind == LOCKPROF_MUTEX || kind == LOCKPROF_BLOCK || kind == LOCKPROF_MUTEX_WAITER;
}

/* Copies the records of kind's table (and the overflow record, when used) into a
 * malloc'd array of *n, which the caller frees. Returns NULL on allocation failure. */
struct stack_record *lockprof_table_copy(enum lockprof_kind kind, int *n);

#endif
