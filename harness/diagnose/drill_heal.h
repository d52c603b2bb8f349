/* drill_heal: the mitigation level of a drill (diagnose/drill) — once a trainee has
 * answered, they clear the fault through the debug API (DELETE /debug/faults/NAME)
 * while the load goes on, and the drill checks that the service healed before it
 * scores the mitigation, as AIOpsLab checks an agent's mitigation by the system's
 * state rather than by what the agent says it did.
 *
 * Healed means: every fault off and holding nothing (the grader may read
 * /debug/faults; the trainee's answer is in), and over a window after that the
 * service looks as it did when healthy — threads back to the healthy count, resident
 * memory no longer climbing (glibc keeps freed pages, so it need not fall), the queue
 * no fuller and requests no slower than in the healthy window. The healthy window is
 * the drill's own run before its first fault when that came late, else the last
 * healthy drill's run. That last healthy drill is also what the drill's intro shows
 * the trainee as normal, so reading it is here too. */
#ifndef LOADLAB_DRILL_HEAL_H
#define LOADLAB_DRILL_HEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/httpclient.h"
#include "base/series.h"
#include "store/resultdb.h"

/* Seconds the healed state must be seen over, after the faults are off. */
#define DRILL_HEAL_WINDOW_S 3.0
/* Margins against the healthy window: threads above its highest count, and requests
 * this much slower on average (and DRILL_HEAL_LATENCY_FACTOR times) than there. */
#define DRILL_HEAL_THREADS_MARGIN 5.0
#define DRILL_HEAL_LATENCY_MARGIN 0.001
#define DRILL_HEAL_LATENCY_FACTOR 2.0
#define DRILL_HEAL_DEPTH_MARGIN 4.0

/* The highest (*max) and the mean (*mean) of s's points with from <= t <= to;
 * false (mean NaN) when there are none. */
bool drill_heal_window(const struct series *s, double from, double to, double *max, double *mean);

/* What healthy looked like. */
struct drill_heal_reference {
    bool have;
    char source[96];      /* "this run before t=7.0s", "healthy drill run 3" */
    double threads;       /* the highest thread count */
    double depth;         /* the mean queue depth */
    double latency;       /* the mean request time, seconds; NaN: no requests */
};

/* Reads the reference from run_id's samples with from <= t < to (to INFINITY: all),
 * naming it source. Returns 0 (out->have false when the window holds too few
 * samples), or -1 with err filled. */
int drill_heal_reference_load(struct resultdb *db, int64_t run_id, double from, double to, const char *source,
                              struct drill_heal_reference *out, char *err, size_t errlen);

/* The run id of the last healthy drill (no fault hidden, not aborted) with a run; 0
 * when there is none, db is NULL or the drills cannot be read. */
int64_t drill_heal_last_healthy(struct resultdb *db);

/* Prints on out what normal looks like: the same service under the shop mix in the
 * last healthy drill (its peak threads and memory, lock wait, CPU per request, request
 * rate, queue depth), so that a trainee has a reference for what they read; or how to
 * record one when there is none. */
void drill_heal_print_normal(FILE *out, struct resultdb *db);

/* Finds the reference for a mitigation into ref: run_id before own_until (NaN: not
 * that) when its window holds enough, else the last healthy drill's run; ref->have
 * false when neither (a failure to read is no reference). */
void drill_heal_reference_find(struct resultdb *db, int64_t run_id, double own_until,
                               struct drill_heal_reference *ref);

/* The state of the service over a window, and what of it is healed. */
struct drill_heal_status {
    bool faults_clear;    /* every fault off and holding no thread and no byte */
    char faults_on[128];  /* those that are not, "" when clear */
    bool threads_ok, memory_ok, queue_ok, latency_ok;
    double threads, depth, latency, rss_slope;
};

/* Asks debug_base/debug/faults whether every fault is off and holds nothing, into
 * out->faults_clear and faults_on. Returns 0, or -1 with err filled (no answer, not
 * orderd's fault list). */
int drill_heal_faults(struct httpclient *http, const char *debug_base, struct drill_heal_status *out, char *err,
                      size_t errlen);

/* Judges run_id's samples with from <= t <= to against ref into out (the faults
 * fields untouched). Without a reference, threads are judged against the run's own
 * lowest count and latency is not judged. Returns 0, or -1 with err filled. */
int drill_heal_judge(struct resultdb *db, int64_t run_id, double from, double to,
                     const struct drill_heal_reference *ref, struct drill_heal_status *out, char *err, size_t errlen);

/* True when every part of s is healed. */
bool drill_heal_healed(const struct drill_heal_status *s);

/* "threads 130 (healthy 12), requests 4.1ms (healthy 0.2ms)": what is not healed, or
 * "" when all is. Returns buf. */
char *drill_heal_describe(const struct drill_heal_status *s, const struct drill_heal_reference *ref, char *buf,
                          size_t len);

/* A mitigation under way: from the answer until the service is seen healed over
 * DRILL_HEAL_WINDOW_S, or its time is up. */
struct drill_mitigation {
    struct drill_heal_reference ref;
    struct drill_heal_status last;  /* the last judgement */
    double started_t, deadline_t, clear_t, next_check_t;
    double healed_s;                /* seconds from the start to healed; NaN: not (yet) */
    bool done;
    char problem[256];              /* why it is not healed, as last seen (or what failed) */
};

/* Starts a mitigation at run time t, with seconds to heal the service and ref (copied)
 * as healthy. */
void drill_mitigation_start(struct drill_mitigation *m, double t, double seconds, const struct drill_heal_reference *ref);

/* Looks again at run time t (at most once a second; the faults through http, the
 * series in run_id's samples). Returns true once decided: m->done set, m->healed_s
 * the time it took, or NaN when the time was up first. */
bool drill_mitigation_tick(struct drill_mitigation *m, struct resultdb *db, int64_t run_id, struct httpclient *http,
                           const char *debug_base, double t);

#endif
