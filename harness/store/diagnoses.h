/* diagnoses: the `diagnoses` table's writer and reader — the verdict of `loadlab
 * diagnose` as the results database keeps it, one row per finding (or one row of
 * class 'none' for a healthy run), so a report and `loadlab show` read what the
 * diagnosis said without diagnosing again.
 *
 * A finding is defined here, as the table's row, so the report can read a stored
 * verdict without depending on the rules that reach one (diagnose/). */
#ifndef LOADLAB_DIAGNOSES_H
#define LOADLAB_DIAGNOSES_H

#include <stddef.h>
#include <stdint.h>

#include "store/resultdb.h"

#define DIAGNOSE_MAX_FINDINGS 8

struct diagnose_finding {
    char class_name[24];      /* one of diagnose_classes, or "none" as stored for a healthy run */
    char culprit[128];        /* "" when the evidence could not name it */
    double started_at;        /* seconds on the run's clock; NaN when unknown */
    double confidence;        /* 0..1: the symptom, a culprit, a second source agreeing */
    char instance[256];       /* on a fleet, the instance(s) it was found on ("a, b"); "" for one service */
    char summary[400];        /* one line for people */
    char evidence[4096];      /* the lines behind it, one fact a line */
};

/* Replaces run run_id's rows with these n findings, or with one row of class 'none'
 * (summary "no problem found", notes as its evidence) when n is 0, all stamped with
 * one time. Returns 0, or -1 with err filled (the database is left as it was). */
int diagnoses_save(struct resultdb *db, int64_t run_id, const struct diagnose_finding *findings, size_t n,
                   const char *notes, char *err, size_t errlen);

/* Reads run run_id's stored rows in the order stored, at most max, into out (*n of
 * them; a culprit stored as NULL reads "", a NULL time or confidence NaN) and when
 * diagnosed_at into it (the first row's). *n is 0 for a run never diagnosed or a
 * database older than the table (a file opened read-only is not upgraded). Returns
 * 0, or -1 with err filled. */
int diagnoses_load(struct resultdb *db, int64_t run_id, struct diagnose_finding *out, size_t max, size_t *n,
                   char *diagnosed_at, size_t diagnosed_at_len, char *err, size_t errlen);

#endif
