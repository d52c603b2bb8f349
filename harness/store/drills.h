/* drills: the `drills` table — one row per incident-response drill (diagnose/drill):
 * who trained, on which run, what was really wrong (the truth, JSON), what they
 * answered and how it scored — written when a drill ends and read back for a
 * trainee's progress. */
#ifndef LOADLAB_DRILLS_H
#define LOADLAB_DRILLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/resultdb.h"

/* The mitigation level of a drill: not asked (no fault hidden, or the drill had no
 * mitigation level), or the service was seen healed, or not. */
enum drills_mitigation { DRILLS_MITIGATION_NONE, DRILLS_MITIGATION_HEALED, DRILLS_MITIGATION_NOT_HEALED };

/* How a mitigation was tried: the trainee cleared faults through the debug API, or
 * had the drill restart the service (schema 8). */
#define DRILLS_METHOD_API "debug-api"
#define DRILLS_METHOD_RESTART "restart"

/* One drill. Strings are borrowed: the caller's when writing, valid during the visit
 * only when reading. */
struct drills_record {
    int64_t id;                  /* read only */
    int64_t run_id;              /* 0: none */
    const char *trainee;
    const char *started_at;      /* read only; written as now */
    int level;
    uint64_t seed;
    const char *truth;           /* JSON array of the faults that were on */
    const char *answer;          /* NULL: none */
    const char *status;          /* "answered", "unanswered" or "aborted" */
    int problems;
    bool scored;                 /* false: detected .. score are NULL (an aborted drill) */
    int detected, classes_right, culprits_right, extra;
    double score;                /* 0..100 */
    double time_s;               /* seconds from the drill's start to the answer; NaN: not timed */
    enum drills_mitigation mitigated; /* stored as NULL, 1, 0 */
    double mitigation_s;         /* seconds from the answer to the service healed; NaN: not healed */
    const char *mitigation_method; /* DRILLS_METHOD_API or DRILLS_METHOD_RESTART; NULL: no mitigation
                                      (reads as "" then) */
    double time_bought_s;        /* a restart that set a leak back: seconds until it would be back
                                    at the level it had; NaN: none */
};

/* Records a drill; *id is its id. Returns 0, or -1 with err filled. */
int drills_record(struct resultdb *db, const struct drills_record *d, int64_t *id, char *err, size_t errlen);

/* Calls visit for each drill of trainee (NULL: everyone's), oldest first; fields not
 * recorded read as 0, times and scores as NaN. Returns 0; 1 when the database has no
 * drills table (no visit); -1 with err filled on a database error. */
typedef void (*drills_visit_fn)(void *user, const struct drills_record *d);
int drills_foreach(struct resultdb *db, const char *trainee, drills_visit_fn visit, void *user, char *err,
                   size_t errlen);

#endif
