/* diagnose: names what went wrong in a recorded run — `loadlab diagnose RUN`.
 *
 * It reads what any diagnostician could see: the scraped series (threads, memory,
 * CPU, queue depth, rejections, lock wait, blocking) and the captured evidence
 * (thread dumps, mutex/block/heap profiles). It never reads the `phases` table, the
 * `orderd_fault_active` / `orderd_leaked_*` metrics or the /debug/faults evidence:
 * those are the answer key, and a diagnosis that peeks is no test of the instruments.
 *
 * Each class has a symptom in the series (an episode: consecutive one-second
 * windows past a threshold) and a culprit in the evidence:
 *   thread-leak       threads climb; the function whose group of threads grew
 *   memory-leak       resident memory climbs; the heap site whose live bytes grew
 *   lock-contention   lock-wait seconds per second; the top of the mutex profile, or
 *                     the function threads wait for a mutex in
 *   queue-full        the queue sits at capacity while requests are rejected or the
 *                     consumers are blocked; the function the busy workers are in
 *   blocked-producer  request threads wait on a condition instead of answering; the
 *                     function they wait in
 *   cpu-slowdown      CPU seconds per request climb; the function found running on
 *                     request (io) threads across the thread dumps
 * The culprit is the innermost frame of the service's own code that is not one of its
 * wrappers around a wait, an allocation or the clock (lockprof_*, heapprof_*,
 * threads_*, units_*...), the way pprof hides Go's runtime frames. Thresholds and the
 * reasoning are in docs/diagnosis.md. */
#ifndef LOADLAB_DIAGNOSE_H
#define LOADLAB_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/resultdb.h"

#define DIAGNOSE_MAX_FINDINGS 8
#define DIAGNOSE_CLASS_COUNT 6

/* The class names, as the database, the drill and the output spell them. */
extern const char *const diagnose_classes[DIAGNOSE_CLASS_COUNT];

/* True for one of diagnose_classes. */
bool diagnose_class_valid(const char *name);

struct diagnose_finding {
    char class_name[24];
    char culprit[128];        /* "" when the evidence could not name it */
    double started_at;        /* seconds on the run's clock; NaN when unknown */
    double confidence;        /* 0..1: the symptom, a culprit, a second source agreeing */
    char summary[400];        /* one line for people */
    char evidence[4096];      /* the lines behind it, one fact a line */
};

struct diagnose_result {
    int64_t run_id;
    struct diagnose_finding findings[DIAGNOSE_MAX_FINDINGS];
    size_t n;                 /* 0: no problem found */
    double span;              /* seconds of the run that were looked at */
    size_t dumps, profiles;   /* evidence items read */
    char notes[512];          /* what limited the diagnosis ("no evidence captured") */
};

/* Diagnoses a run from its samples and evidence. Returns 0 with *out filled, 1 when
 * there is no such run (err says so), or -1 with err filled (database error, corrupt
 * evidence, out of memory). */
int diagnose_run(struct resultdb *db, int64_t run_id, struct diagnose_result *out,
                 char *err, size_t errlen);

/* Replaces the run's rows in the `diagnoses` table with this verdict (one row per
 * finding, or one row of class 'none' for a healthy run). Returns 0, or -1 with err. */
int diagnose_store(struct resultdb *db, const struct diagnose_result *r, char *err, size_t errlen);

/* Writes the verdict for people. */
void diagnose_print(FILE *out, const struct diagnose_result *r);

/* Prints the stored verdict of a run, if any (nothing when it was never diagnosed).
 * Returns 0, or -1 with err filled. */
int diagnose_print_stored(struct resultdb *db, int64_t run_id, FILE *out, char *err, size_t errlen);

#endif
