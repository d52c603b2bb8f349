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

#define RULES_BASELINE_MAX_RUNS 20

/* What a baseline label's runs of the same scenario looked like (`loadlab diagnose
 * --baseline LABEL`): the reference for the relative rules in place of the run's own
 * start, so that a fault switched on before the first scrape is still a change. */
struct rules_baseline {
    char label[128], scenario[128];
    size_t runs;                   /* how many runs it was taken from (the latest) */
    double cpu_per_request;        /* CPU seconds per request: the median over the runs of each run's median window; NaN: none */
    double cpu_low, cpu_high;      /* the lowest and highest of those run medians */
    double rss;                    /* the highest resident bytes any run held after start-up; NaN: none */
    double threads;                /* the highest thread count any run reached; NaN: none */
};

/* Reads the baseline of run_id: label's latest completed runs (at most
 * RULES_BASELINE_MAX_RUNS, run_id itself left out) of run_id's scenario. Returns 0
 * with out filled, 1 when there is no such run (err says so), or -1 with err filled
 * (a database error, out of memory). */
int rules_baseline_load(struct resultdb *db, int64_t run_id, const char *label, struct rules_baseline *out, char *err,
                        size_t errlen);

/* What the rules look at: the run's series, its parsed evidence, and the database
 * for the few series a rule picks once it knows which label set to look at. */
struct rules_inputs {
    struct resultdb *db;
    int64_t run_id;
    const char *instance;       /* on a fleet, the one instance the rules look at; NULL for one service */
    /* The part of the run looked at: its samples and evidence from <= t < to (0 and
     * INFINITY: all of it). A run whose service was restarted is read one segment at a
     * time, from is then when the process of that segment was ready (its start-up is
     * measured from there): a sample after a restart is no continuation of one before. */
    double from, to;
    struct series threads, rss, cpu, requests, depth, capacity, rejected, mutex_wait;
    const char *threads_metric, *rss_metric;  /* which of two metrics the series came from */
    struct tally_evidence evidence;
    const struct rules_baseline *baseline;    /* NULL: the run is its own reference */
};

/* Each rule adds at most one finding to r (none when r is full). */
void rules_thread_leak(const struct rules_inputs *in, struct diagnose_result *r);
/* threads_from: where a thread leak found before began (+INFINITY: none). Memory that
 * grows with no heap site behind it while threads leak is their stacks, not a memory
 * leak; a climb that was over before the threads began leaking is not theirs. */
void rules_memory_leak(const struct rules_inputs *in, struct diagnose_result *r, double threads_from);
/* A heap site whose live bytes climb through the periodic heap profiles, steadily and
 * never falling far, when no memory leak was found: a leak too faint for resident
 * memory to show beside ordinary growth. Allocations made while starting threads, or
 * beside a thread leak, are the threads'; a queue filling holds its jobs': never this. */
void rules_heap_climb(const struct rules_inputs *in, struct diagnose_result *r);
void rules_lock_contention(const struct rules_inputs *in, struct diagnose_result *r);
/* Runs after the queue and producer rules, when rules_lock_contention found nothing:
 * a lock held long each time it is taken, however little it waits in all (few threads
 * contend for it, or another problem cut the request rate), unless its culprit is
 * another finding's. */
void rules_lock_held_long(const struct rules_inputs *in, struct diagnose_result *r);
/* Adds queue-full or overload (never both): one full queue, told apart by what the
 * workers were doing. */
void rules_queue_full(const struct rules_inputs *in, struct diagnose_result *r);
void rules_blocked_producer(const struct rules_inputs *in, struct diagnose_result *r);
/* Runs last: the findings already in r keep their windows out of the comparison with
 * the run's healthy start, and their culprits from being this one's. */
void rules_cpu_slowdown(const struct rules_inputs *in, struct diagnose_result *r);

#endif
