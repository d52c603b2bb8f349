/* rules' helpers shared across its files; included by diagnose/rules*.c, and by
 * diagnose.c for the evidence lines it adds when it joins a restarted run's
 * segments. The public API is diagnose/rules.h.
 *
 * The files: rules.c holds these helpers; rules_leaks.c the thread-leak and
 * memory-leak rules; rules_waits.c lock-contention and blocked-producer;
 * rules_load.c queue-full, overload and cpu-slowdown; rules_baseline.c the reference a
 * baseline label's runs give the relative rules. */
#ifndef LOADLAB_RULES_INTERNAL_H
#define LOADLAB_RULES_INTERNAL_H

#include "diagnose/rules.h"

#include <stdbool.h>

/* Starts a finding of class_name at started in r, at confidence 0.5 (the symptom);
 * NULL when r is full. The finding is r's. */
struct diagnose_finding *rules_new_finding(struct diagnose_result *r, const char *class_name, double started);

/* Appends one line of evidence to f; a line that does not fit is cut short or left
 * out, never overflowing f->evidence. */
__attribute__((format(printf, 2, 3)))
void rules_add_line(struct diagnose_finding *f, const char *fmt, ...);

/* Names fn as f's culprit (cut to fit) and raises its confidence by 0.3. */
void rules_set_culprit(struct diagnose_finding *f, const char *fn);

/* Raises f's confidence by 0.2, to at most 1: a second source agrees. */
void rules_corroborated(struct diagnose_finding *f);

/* True when fn is one of t's culprits. */
bool rules_tally_has(const struct tally *t, const char *fn);

/* True when fn is the culprit of a finding in r already. */
bool rules_culprit_taken(const struct diagnose_result *r, const char *fn);

/* Fills idle with where idle workers wait for work, across all of in's thread dumps
 * (see rules.c). */
void rules_idle_waits(const struct rules_inputs *in, struct tally *idle);

/* A metric's samples summed per scrape, of in's instance only on a fleet (the rules
 * run once per instance): samples_load_sum_of with in's run and instance. Returns 0,
 * or -1 with err filled. */
int rules_load_sum(const struct rules_inputs *in, const char *metric, const char *labels, struct series *out,
                   char *err, size_t errlen);

/* A metric's samples split by the label group_by, of in's instance only on a fleet:
 * samples_load_of. Returns 0, or -1 with err filled. */
int rules_load_by(const struct rules_inputs *in, const char *metric, const char *group_by, struct series_set *out,
                  char *err, size_t errlen);

/* The index of t's top culprit that is not in skip (NULL: none), or -1. */
long rules_top_except(const struct tally *t, const struct tally *skip);

/* CPU seconds per request in one-second windows from DIAGNOSE_STARTUP_S after
 * process_start (the run's t of the process's start: 0, or a restart's; or the later
 * first point of either counter): window starts in starts[], requests per second in
 * req[] and CPU per request in per_request[] (NaN where under DIAGNOSE_CPU_MIN_RATE
 * requests a second, or the windows do not line up). Returns how many, at most cap. */
size_t rules_cpu_windows(const struct series *cpu, const struct series *requests, double process_start,
                         double *starts, double *req, double *per_request, size_t cap);

#endif
