/* threads_internal: what the thread registry (threads.c) shares with the thread
 * dumps (threads_dump.c) and the kernel's view of a thread (threads_kernel.c). The
 * registry's table and lock stay private to threads.c: a dump gets a copy of the live
 * records (threads_registry_copy) and never holds the lock while it asks threads for
 * their stacks. */
#ifndef ORDERD_THREADS_INTERNAL_H
#define ORDERD_THREADS_INTERNAL_H

#include "threads.h"

#include <stdint.h>
#include <sys/types.h>

#define NAME_LEN 32
#define CREATION_DEPTH 32

/* A copy of one live record, and its stack. */
struct thread_view {
    uint64_t id, creator_id;
    char name[NAME_LEN];
    int role, state;
    const char *wait_reason;
    int64_t since_ns, created_ns;
    pid_t tid;
    int ncreation;
    uintptr_t creation[CREATION_DEPTH];
    int depth;                           /* -1: did not answer */
    uintptr_t *pcs;                      /* STACKS_MAX_DEPTH entries */
};

/* Copies every live record (not those still starting) under the registry lock into a
 * calloc'd array of *n views, which the caller frees; depth and pcs are left zero.
 * The state is the one the thread declared. Returns NULL out of memory (*n is 0). */
struct thread_view *threads_registry_copy(int *n);

/* Coarse monotonic clock: a few ns to read on the hot path; a dump shows tenths of
 * seconds. */
int64_t threads_coarse_now_ns(void);

/* Corrects a thread that declared itself running by what the kernel says it is
 * doing (see threads_kernel.c). Leaves *state and *reason alone when /proc cannot
 * tell. */
void threads_kernel_state(pid_t tid, int *state, const char **reason);

#endif
