/* lockprof: named, instrumented mutexes and blocking sites — the C counterpart of
 * Go's mutex and block profiles.
 *
 * Every contention on a named lock is counted (cheap per-lock atomics, for /metrics)
 * when instrumentation is at least "metrics". At "profile", 1 in mutex_fraction
 * contention events (Go's SetMutexProfileFraction) is recorded twice: the mutex
 * profile, as Go's, charges the delay to the stack that unlocked the mutex others
 * waited for (the holder); the waiter view keeps the waiting stack and its delay; blocking on a condition variable or another blocking site is recorded by
 * block_rate_ns (Go's SetBlockProfileRate). See instrument.h for the settings.
 * The uncontended path is one pthread_mutex_trylock. */
#ifndef ORDERD_LOCKPROF_H
#define ORDERD_LOCKPROF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct lockprof_site;   /* private: a lock's or a blocking site's counters */

struct lockprof_mutex {
    pthread_mutex_t mutex;
    struct lockprof_site *site;
    _Atomic int waiters;               /* threads queued on a contended lock */
    _Atomic int64_t wait_since_ns;     /* the wait not yet charged began; 0: none */
};

/* Initializes m and registers it under name (a static string; locks may share a
 * name, e.g. the shards of one cache, and are then counted together). */
void lockprof_mutex_init(struct lockprof_mutex *m, const char *name);
void lockprof_mutex_destroy(struct lockprof_mutex *m);
void lockprof_mutex_lock(struct lockprof_mutex *m);
void lockprof_mutex_unlock(struct lockprof_mutex *m);

/* pthread_cond_wait / timedwait on m's mutex; the time spent is recorded as blocking
 * at `site` (a static string such as "queue_pop"). timedwait returns 0 or ETIMEDOUT. */
void lockprof_cond_wait(pthread_cond_t *cond, struct lockprof_mutex *m, const char *site);
int lockprof_cond_timedwait(pthread_cond_t *cond, struct lockprof_mutex *m,
                            const struct timespec *abstime, const char *site);

/* lockprof_cond_wait for a thread with nothing to do waiting for work (a worker in
 * queue_pop): counted as blocking at `site` like any other, but the site is marked
 * idle, so /metrics can tell waiting for work from blocking that delays work. */
void lockprof_cond_wait_idle(pthread_cond_t *cond, struct lockprof_mutex *m, const char *site);

/* Whether the block site `name` is idle waiting (lockprof_cond_wait_idle). */
int lockprof_block_site_idle(const char *name);

/* Records `blocked_ns` of blocking at `site` for blocking that is not a cond wait
 * (the caller measured it). Stack is taken from the calling thread. */
void lockprof_block_record(const char *site, int64_t blocked_ns);

/* Per-name totals for /metrics. The callback runs for each lock name / block site. */
typedef void (*lockprof_visit)(const char *name, uint64_t contentions, double wait_seconds, void *user);
void lockprof_foreach_lock(lockprof_visit visit, void *user);
void lockprof_foreach_block_site(lockprof_visit visit, void *user);

/* LOCKPROF_MUTEX: Go's mutex profile, the delay by the unlocker's (holder's) stack.
 * LOCKPROF_MUTEX_WAITER: the same contentions by the waiter's stack and its own wait.
 * LOCKPROF_BLOCK: Go's block profile. */
enum lockprof_kind { LOCKPROF_MUTEX, LOCKPROF_BLOCK, LOCKPROF_MUTEX_WAITER };

/* The sampled profile of `kind` as text (debug=1: the legacy form Go prints:
 * "--- mutex:" / "--- contention:", "cycles/second=", "sampling period=", then
 * "delay count @ pcs" lines with "#\t0xpc\tfunc+0xoff\tfile:line" frames) or as a
 * gzipped profile.proto (debug=0). When since != NULL the profile is the delta
 * against that snapshot (for ?seconds=N). Caller frees *out. Returns 0 or -1. */
struct lockprof_snapshot;
/* How many distinct stacks the profile of kind holds: the count of Go's index. */
int lockprof_stack_count(enum lockprof_kind kind);
struct lockprof_snapshot *lockprof_snapshot_take(enum lockprof_kind kind);
void lockprof_snapshot_free(struct lockprof_snapshot *s);
int lockprof_profile(enum lockprof_kind kind, int debug, const struct lockprof_snapshot *since,
                     char **out, size_t *out_len);

/* The sampling decisions the lock and block paths make (there with a thread-local
 * state), exposed so tests can check the rates with a seeded state. *rng is an
 * xorshift state (0 is replaced by a fixed seed). mutex: 1 in `fraction` events,
 * never when fraction <= 0. block: always when blocked_ns >= rate_ns, else with
 * probability about blocked_ns/rate_ns, never when rate_ns <= 0. Return 1 or 0. */
int lockprof_mutex_sampled(int64_t fraction, uint64_t *rng);
int lockprof_block_sampled(int64_t blocked_ns, int64_t rate_ns, uint64_t *rng);

#endif
