/* threads: the registry of every thread orderd creates — name, role, state, what it
 * waits on and since when, and the stack it was created from — and the thread dumps
 * built from it (/debug/pprof/threads).
 *
 * State changes are on hot paths (a worker goes idle/running per job), so
 * threads_set_state() is a few relaxed atomic stores into the thread's own record. */
#ifndef ORDERD_THREADS_H
#define ORDERD_THREADS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum threads_role {
    THREADS_ROLE_MAIN, THREADS_ROLE_IO, THREADS_ROLE_WORKER, THREADS_ROLE_DEBUG,
    THREADS_ROLE_FAULT, THREADS_ROLE_OTHER, THREADS_ROLE_COUNT
};
enum threads_state {
    THREADS_STATE_RUNNING, THREADS_STATE_IDLE, THREADS_STATE_WAITING, THREADS_STATE_COUNT
};

/* Creates a thread running fn(arg), registered under name/role, with its creation
 * stack recorded. The registration is removed when fn returns.
 * Returns 0, or an errno value (nothing is created or registered). */
int threads_spawn(pthread_t *out, const char *name, enum threads_role role,
                  void *(*fn)(void *), void *arg);

/* Registers the calling thread (for the main thread, or threads not made by
 * threads_spawn). Returns 0 or -1 when the registry is full. */
int threads_register_self(const char *name, enum threads_role role);
void threads_unregister_self(void);

/* Sets the calling thread's state and wait reason (a static string, or NULL).
 * A no-op for unregistered threads. */
void threads_set_state(enum threads_state state, const char *wait_reason);

/* The calling thread's registered name, or "unregistered". */
const char *threads_current_name(void);

/* Counts of registered threads by role and state (counts[role][state]). */
void threads_count(unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT]);
unsigned threads_total(void);

const char *threads_role_name(enum threads_role role);
const char *threads_state_name(enum threads_state state);

/* Thread dumps. debug=1: one block per distinct stack, largest count first, in the
 * layout of Go's goroutine?debug=1. debug=2: every thread with its header (name, role,
 * state, wait reason and duration), stack and creation stack. The text is malloc'd,
 * NUL-terminated; the caller frees it. Returns NULL on allocation failure. */
char *threads_dump_text(int debug, size_t *len);

/* debug=0: a gzipped profile.proto (sample type threads/count, one sample per
 * distinct stack). Caller frees *out. Returns 0 or -1. */
int threads_dump_proto(unsigned char **out, size_t *len);

#endif
