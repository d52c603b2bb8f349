/* cpuprof: the CPU profile of /debug/pprof/profile, as Go's runtime/pprof takes it.
 *
 * Every thread of the process gets a POSIX timer on its own CPU-time clock that sends
 * SIGPROF to that very thread each 1/hz seconds of CPU it burns (Go does the same since
 * 1.18: a process-wide ITIMER_PROF signal lands on whichever thread the kernel picks,
 * which skews the profile towards some threads). The handler walks the interrupted
 * stack with stacks_unwind_signal() into a preallocated ring that takes no lock; the
 * debug thread drains the ring every 100 ms into a table keyed by stack, arms timers for
 * threads born since, and at the end writes profile.proto with Go's sample types
 * samples/count and cpu/nanoseconds.
 *
 * One profile at a time, as in Go. The SIGPROF handler is installed once, with
 * SA_RESTART; the timers exist only while a profile is being taken, so a process that
 * never asks for one never sees the signal. Calls the kernel never restarts after a
 * handler (nanosleep, epoll_wait, sem_timedwait, sigtimedwait, poll) return EINTR
 * while a profile runs; orderd's callers retry them. */
#ifndef ORDERD_CPUPROF_H
#define ORDERD_CPUPROF_H

#include <stddef.h>
#include <stdint.h>

#define CPUPROF_DEFAULT_HZ 100
#define CPUPROF_MAX_HZ 1000
#define CPUPROF_DRAIN_INTERVAL_MS 100

typedef struct cpuprof cpuprof;

/* Installs the SIGPROF handler. Call once, from main, before threads are spawned and
 * after stacks_init. Returns 0, or -1 with err filled. */
int cpuprof_init(char *err, size_t errlen);

/* Starts a profile sampling every thread at hz (1..CPUPROF_MAX_HZ) samples per CPU
 * second. Returns the profile, or NULL with err filled and errno set: EBUSY when a
 * profile is already being taken ("cpu profiling already in use"), EINVAL for a bad
 * hz or before cpuprof_init, ENOMEM. The caller owns the profile: cpuprof_finish or
 * cpuprof_free it. */
cpuprof *cpuprof_start(int hz, char *err, size_t errlen);

/* Moves the samples taken so far out of the ring and arms a timer for every thread
 * started since the last call. Call every CPUPROF_DRAIN_INTERVAL_MS from one thread.
 * A no-op on NULL. */
void cpuprof_collect(cpuprof *p);

/* Stops sampling and writes the gzipped profile.proto into *out (malloc'd, the caller
 * frees), then frees p. Returns 0, or -1 (nothing allocated; p is freed all the same). */
int cpuprof_finish(cpuprof *p, unsigned char **out, size_t *out_len);

/* Stops sampling and discards p (a client that went away). NULL is a no-op. */
void cpuprof_free(cpuprof *p);

/* Counts of what p has seen so far: samples kept, samples lost because the ring was
 * full, threads armed and threads whose timer could not be created (at least one more
 * when a profile met more than 12288 threads). */
struct cpuprof_stats { uint64_t samples, lost, threads, unarmed; };
void cpuprof_stats(const cpuprof *p, struct cpuprof_stats *out);

#endif
