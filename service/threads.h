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
 * stack recorded. The registration is removed when fn returns (or the thread calls
 * pthread_exit or is cancelled). The new thread has stacks_signal() unblocked.
 * Returns 0, or an errno value (EAGAIN: registry full; nothing is created or
 * registered). */
int threads_spawn(pthread_t *out, const char *name, enum threads_role role,
                  void *(*fn)(void *), void *arg);

/* Registers the calling thread (for the main thread, or threads not made by
 * threads_spawn), with no creation stack. It must not block stacks_signal().
 * Returns 0 (also when already registered: the record is kept), or -1 when the
 * registry is full or role is invalid. */
int threads_register_self(const char *name, enum threads_role role);
void threads_unregister_self(void);

/* Sets the calling thread's state and wait reason (a static string, or NULL).
 * A no-op for unregistered threads. */
void threads_set_state(enum threads_state state, const char *wait_reason);

/* The calling thread's registered name, or "unregistered". */
const char *threads_current_name(void);

/* Counts of registered threads by role and state (counts[role][state]). A thread
 * whose declared state is running is checked against the kernel (/proc/self/task/TID):
 * one blocked in a system call counts as idle (epoll_wait, poll, select, accept: waiting
 * for work) or waiting (a futex, a sleep, sigtimedwait, a read); the dumps show the same
 * state with the call as the wait reason. */
void threads_count(unsigned counts[THREADS_ROLE_COUNT][THREADS_STATE_COUNT]);
unsigned threads_total(void);

/* Limits how many threads may be registered at once: 1..8192, 8192 by default (the
 * table is fixed). Beyond it threads_spawn returns EAGAIN and threads_register_self
 * -1, as when the table is full. Returns 0, or -1 when n is out of range. */
int threads_set_capacity(unsigned n);

const char *threads_role_name(enum threads_role role);
const char *threads_state_name(enum threads_state state);

/* Thread dumps. Every registered thread is asked for its stack; one that does not
 * answer within 100 ms (per batch of 256 threads) is shown with "(no answer)"
 * instead, so a dump never hangs. Frames are named at pc - 1 (the call), one line
 * per function where functions are inlined.
 *
 * debug=1, the layout of Go's goroutine?debug=1: threads with the same stack and the
 * same role and state (Go: the same labels) form one group, largest count first;
 * the "@" line lists the captured pcs (return addresses):
 *
 *   threads profile: total 7
 *   4 @ 0x7f3a12 0x55d1c4 0x55d2a8
 *   # labels: {"role":"worker", "state":"idle"}
 *   #	0x7f3a11	__futex_abstimed_wait_common+0x131	?:0
 *   #	0x55d1c3	queue_pop+0x53	service/queue.c:88
 *   #	0x55d2a7	worker_main+0x27	service/workers.c:41
 *   (blank line)
 *
 * An unnamed frame is "#\t0x<pc>" alone; a group that did not answer has no pcs
 * and the single frame line "#\t(no answer)".
 *
 * debug=2, the layout of Go's goroutine?debug=2: every thread in registry order
 * (ids count from 1), its state, the wait reason when set and the time since the
 * last state change, its name, role, kernel tid and time since it registered, its
 * stack, and the function that called threads_spawn with the registered thread it
 * ran in (none for threads_register_self):
 *
 *   thread 17 [idle: queue_pop, 12.3s]: name=worker-3 role=worker tid=12345 age=60.2s
 *   queue_pop(...)
 *   	service/queue.c:88 +0x53
 *   worker_main(...)
 *   	service/workers.c:41 +0x27
 *   created by workers_start in thread 1
 *   	service/workers.c:102 +0x8e
 *   (blank line)
 *
 * An unnamed frame is "?(...)" then "\t?:0 pc=0x<pc>"; a thread that did not answer
 * has the line "(no answer)" in place of its stack.
 *
 * The text is malloc'd, NUL-terminated, its length in *len when len is not NULL; the
 * caller frees it. Returns NULL on allocation failure. */
char *threads_dump_text(int debug, size_t *len);

/* debug=0: a gzipped profile.proto (sample type threads/count, period threads/count
 * 1, one sample per distinct stack; a thread that did not answer counts in a sample
 * with no stack). Caller frees *out. Returns 0 or -1 (nothing allocated). */
int threads_dump_proto(unsigned char **out, size_t *len);

/* Go's threadcreate profile: every thread that ever registered, counted by the stack
 * that called threads_spawn (none for threads_register_self). debug=1: the legacy text
 * "threadcreate profile: total N" then "count @ pcs" records with frames; debug=0: a
 * gzipped profile.proto, sample type threadcreate/count. Distinct stacks beyond 511
 * count in one record with no stack. Caller frees *out. Returns 0 or -1. */
int threads_create_profile(int debug, char **out, size_t *len);

/* How many threads ever registered (the total of that profile). */
uint64_t threads_created_total(void);

#endif
