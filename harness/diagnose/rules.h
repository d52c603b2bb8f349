/* rules: the seven rules of a diagnosis, one per class of problem. Each looks for its
 * symptom in the series (an episode past a level in judge/thresholds.h) and, when
 * it finds one, for the culprit in the evidence, and adds a finding with the facts
 * behind it, one a line:
 *   thread-leak       threads climb, or hold far above the start; the function whose
 *                     group of threads grew
 *   memory-leak       resident memory climbs, or one heap site holds far more than a
 *                     steady state; the heap site whose live bytes grew
 *   lock-contention   lock-wait seconds per second, once idle workers waiting for work
 *                     and rare long waits are set aside; the top of the mutex profile,
 *                     or the function threads wait for a mutex in
 *   queue-full        the queue sits at capacity (or turns work away) while the
 *                     consumers are stuck, or spare workers absorb a stall; the function
 *                     the busy workers wait in
 *   overload          the same full queue while the workers do their ordinary work as
 *                     fast as before: capacity, with no culprit
 *   blocked-producer  request threads wait on a condition instead of answering; the
 *                     function they wait in
 *   cpu-slowdown      CPU seconds per request climb, absolutely or against the run's
 *                     own healthy start; the top self-time function of the service's
 *                     own code in a CPU profile taken during it, else the function
 *                     found running on request (io) threads across the thread dumps
 * Every rule runs whatever the others found; rules that run later see the earlier
 * findings (a CPU rise while another problem runs is not compared to healthy windows).
 * A finding starts at confidence 0.5 (the symptom), gains 0.3 for a named culprit and
 * 0.2 when a second source agrees. */
#ifndef LOADLAB_RULES_H
#define LOADLAB_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/series.h"
#include "diagnose/diagnose.h"
#include "diagnose/tally.h"
#include "store/resultdb.h"

/* What the rules look at: the run's series, its parsed evidence, and the database
 * for the few series a rule picks once it knows which label set to look at. */
struct rules_inputs {
    struct resultdb *db;
    int64_t run_id;
    struct series threads, rss, cpu, requests, depth, capacity, rejected, mutex_wait;
    const char *threads_metric, *rss_metric;  /* which of two metrics the series came from */
    struct tally_evidence evidence;
};

/* Each rule adds at most one finding to r (none when r is full). */
void rules_thread_leak(const struct rules_inputs *in, struct diagnose_result *r);
/* threads_leaked: memory that grows with no heap site behind it while threads leak
 * is their stacks, not a memory leak. */
void rules_memory_leak(const struct rules_inputs *in, struct diagnose_result *r, bool threads_leaked);
void rules_lock_contention(const struct rules_inputs *in, struct diagnose_result *r);
/* Adds queue-full or overload (never both): one full queue, told apart by what the
 * workers were doing. */
void rules_queue_full(const struct rules_inputs *in, struct diagnose_result *r);
void rules_blocked_producer(const struct rules_inputs *in, struct diagnose_result *r);
/* Runs last: the findings already in r keep their windows out of the comparison with
 * the run's healthy start, and their culprits from being this one's. */
void rules_cpu_slowdown(const struct rules_inputs *in, struct diagnose_result *r);

#endif
