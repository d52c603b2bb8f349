/* diagnose: names what went wrong in a recorded run — `loadlab diagnose RUN`.
 *
 * It reads what any diagnostician could see: the scraped series (threads, memory,
 * CPU, queue depth, rejections, lock wait, blocking) and the captured evidence
 * (thread dumps, mutex/block/heap profiles). It never reads the `phases` table, the
 * `orderd_fault_active` / `orderd_leaked_*` metrics or the /debug/faults evidence:
 * those are the answer key, and a diagnosis that peeks is no test of the instruments.
 *
 * Each class has a symptom in the series (an episode: consecutive one-second
 * windows past a threshold) and a culprit in the evidence. The parts:
 *   judge/thresholds.h  the levels, shared with the capture that takes the evidence
 *   diagnose/episode.h     when a series was in trouble
 *   diagnose/tally.h       who the evidence blames
 *   diagnose/rules.h       the seven classes' rules
 *   diagnose/print.h       the verdict for people
 *   store/samples.h, store/diagnoses.h  the series read, the verdict kept
 * Thresholds and the reasoning are in docs/diagnosis.md. */
#ifndef LOADLAB_DIAGNOSE_H
#define LOADLAB_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "diagnose/print.h"
#include "store/diagnoses.h"
#include "store/resultdb.h"

#define DIAGNOSE_CLASS_COUNT 7
/* A fleet's instances diagnosed one by one, at most (the rest left out, and noted). */
#define DIAGNOSE_MAX_INSTANCES 64
/* A run's service restarts read as segment boundaries, at most (a drill restarts it
 * once); the run after the last of them is one segment, and noted. */
#define DIAGNOSE_MAX_RESTARTS 64

/* The class names, as the database, the drill and the output spell them. */
extern const char *const diagnose_classes[DIAGNOSE_CLASS_COUNT];

/* True for one of diagnose_classes. */
bool diagnose_class_valid(const char *name);

struct diagnose_result {
    int64_t run_id;
    struct diagnose_finding findings[DIAGNOSE_MAX_FINDINGS];
    size_t n;                 /* 0: no problem found */
    double span;              /* seconds of the run that were looked at */
    size_t dumps, profiles;   /* evidence items read */
    char notes[512];          /* what limited the diagnosis ("no evidence captured") */
};

/* Diagnoses a run from its samples and evidence: on a fleet (samples carrying an
 * instance label, as read from Prometheus) each instance on its own series and the
 * evidence taken from it, every finding naming its instance. A run whose service was
 * restarted (recorded in the restarts table, else seen in its process start time) is
 * read in segments split at each restart, each on its own, and the notes say so. Returns 0 with *out filled, 1 when
 * there is no such run (err says so), or -1 with err filled (database error, corrupt
 * evidence, out of memory). */
int diagnose_run(struct resultdb *db, int64_t run_id, struct diagnose_result *out,
                 char *err, size_t errlen);

struct rules_baseline;

/* The same against a baseline (diagnose/rules.h, rules_baseline_load; NULL: the run
 * is its own reference): the relative rules - CPU per request, the level of threads
 * and of resident memory - compare the run with the baseline's runs instead of with
 * its own start. */
int diagnose_run_against(struct resultdb *db, int64_t run_id, const struct rules_baseline *baseline,
                         struct diagnose_result *out, char *err, size_t errlen);

/* Replaces the run's rows in the `diagnoses` table with this verdict (one row per
 * finding, or one row of class 'none' for a healthy run; store/diagnoses.h). Returns
 * 0, or -1 with err. */
int diagnose_store(struct resultdb *db, const struct diagnose_result *r, char *err, size_t errlen);

#endif
