/* capture: takes incident evidence from a service while a run drives it — the run
 * hook (runner.h) that fills the `evidence` table (evidence.h).
 *
 * Evidence is only worth anything if it is taken while the fault is still doing its
 * damage: after the load stops, io threads sit in epoll_wait and the lock is free. So
 * it is taken during the load, in three ways:
 *   - a thread dump every half second or so (a thread profile is cheap in orderd: one
 *     signal and one unwind per thread), so that a function that is often on a running
 *     thread — what burns CPU, which no profile of orderd samples — shows up across
 *     dumps, and so that a fault a phase switches off has still left its stacks;
 *   - full snapshots (thread dump, mutex, block and heap profiles, /debug/vars,
 *     /debug/faults, the last log lines with correlation ids) at mid-run and near the
 *     end of the measured load, before the runner stops anything;
 *   - a snapshot a second after a symptom first shows in the scraped metrics (threads
 *     or memory climbing, the queue full, lock wait or CPU per request high), the way
 *     Go's trigger-based dumpers (holmes) work; when the symptom is CPU per request
 *     (high, or well above the run's own start), also a CPU profile of a few seconds
 *     from a service that serves /debug/pprof/profile, taken on a thread of its own
 *     (run/cpucapture.h) so the run's clock keeps ticking. The first symptom also switches the
 *     service's instrumentation to `profile` through /debug/config, as an engineer on
 *     call would, so that the mutex, block and heap profiles have something to say;
 *     the level is put back when the load ends;
 *   - a routine CPU profile of up to 5 s late in the measured load (ending half a
 *     second before the last snapshot) when no symptom has started one by then: a
 *     slowdown on from t=0 shows no symptom (the run's own start is as slow), yet a
 *     baseline finds it, and the diagnosis needs a profile of that time to name its
 *     function. orderd serves CPU profiles only at `profile`, so the level is switched
 *     for it and put back as soon as it is in; that is all a healthy run is touched. 
 * On a fleet read from Prometheus (no one debug API) each instance Prometheus lists is
 * a target of its own, its debug API at http://INSTANCE (the instance label of a
 * target Prometheus scrapes /metrics from, which is orderd's debug port): periodic
 * dumps and the mid-run and final snapshots from each, symptoms watched on each
 * instance's own series, and a triggered snapshot (and profiling) on the instance
 * that shows the symptom. Every item is stored with its instance.
 * The evidence is kept in memory (compressed, bounded) and written at the end of the
 * run only when a gate failed, the service crashed, or keeping was asked for
 * (`loadlab run --capture`); nothing about capture ever stops a run. */
#ifndef LOADLAB_CAPTURE_H
#define LOADLAB_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "run/runner.h"

/* At most this much compressed evidence is held for one run; past it, new items are
 * dropped (and that is noted). */
#define CAPTURE_MAX_BYTES (64 * 1024 * 1024)
/* Periodic thread dumps kept per run: past it, every other one is dropped and the
 * interval doubles, so a long drill keeps an even record of the whole run. */
#define CAPTURE_MAX_PERIODIC 120
#define CAPTURE_LOG_LINES 50
/* On a fleet (samples from Prometheus) evidence is taken from each instance, at most
 * this many, each named by its instance label of at most this length. */
#define CAPTURE_MAX_TARGETS 16
#define CAPTURE_MAX_INSTANCE 256

struct capture;

/* keep_always: keep every run's evidence, not only that of runs that failed a gate
 * or crashed. Returns a new capture (free with capture_free), or NULL when out of
 * memory. One capture serves any number of runs, one after another. */
struct capture *capture_new(bool keep_always);
void capture_free(struct capture *c);

/* Takes every later run's CPU profile at run time t, healthy or not, instead of when
 * CPU per request shows as a symptom: for a drill, where what a trainee may see (a
 * CPU profile already in use) must not depend on what the harness noticed. */
void capture_cpu_profile_at(struct capture *c, double t);

/* The runner hook: pass capture_hook with the capture as hook_user. Never asks to
 * end the load. */
enum runner_hook_answer capture_hook(void *user, enum runner_moment moment, const struct runner_view *view);

/* Takes a full snapshot now, for a caller that knows a moment matters (a drill, when
 * the trainee answers). reason is stored with each item. Returns the number of items
 * taken (0 when the service answered none). */
size_t capture_snapshot(struct capture *c, const struct runner_view *view, const char *reason);

/* After a run: whether its evidence was written to the database, and how many items. */
bool capture_kept(const struct capture *c, size_t *items);

/* Which debug endpoints the last run's service has ("threads, mutex, block, heap,
 * vars, faults" for orderd; "goroutine, mutex, block, heap" for a Go service with
 * net/http/pprof; "none"), when that differs from the run before it, so that it is
 * said once; "" otherwise. Owned by c. */
const char *capture_endpoints(const struct capture *c);

/* What went wrong while capturing the last run (an unanswered request, a database
 * error), "" when nothing did. Owned by c. */
const char *capture_problems(const struct capture *c);

#endif
