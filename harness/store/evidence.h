/* evidence: an incident's evidence as the results database keeps it — what the
 * service's debug port said at a moment (a thread dump, the mutex, block and heap
 * profiles, /debug/vars, /debug/faults) and the service's last log lines that carry
 * correlation ids, each a gzip-compressed row of the `evidence` table
 * (docs/schema.md).
 *
 * Kept as the text a person reads, gzip'ed (not zlib'ed) so that a row written out
 * with SQLite's writefile() opens with gunzip. Sizes come from the service, so every
 * item is capped (EVIDENCE_MAX_ITEM raw bytes) and decompression stops at the cap
 * instead of trusting a stored length. */
#ifndef LOADLAB_EVIDENCE_H
#define LOADLAB_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/resultdb.h"

#define EVIDENCE_MAX_ITEM (8 * 1024 * 1024)

/* The kinds of evidence, as stored in evidence.kind. */
#define EVIDENCE_THREADS "threads"   /* /debug/pprof/threads?debug=1 */
#define EVIDENCE_MUTEX "mutex"       /* /debug/pprof/mutex?debug=1 */
#define EVIDENCE_BLOCK "block"       /* /debug/pprof/block?debug=1 */
#define EVIDENCE_HEAP "heap"         /* /debug/pprof/heap?debug=1 */
#define EVIDENCE_CPU "cpu"           /* /debug/pprof/profile?seconds=N, as text (base/pprofproto) */
#define EVIDENCE_VARS "vars"         /* /debug/vars */
#define EVIDENCE_FAULTS "faults"     /* /debug/faults: the answer key; never read by a diagnosis */
#define EVIDENCE_LOG "log"           /* the last service log lines with correlation ids */
#define EVIDENCE_NOTE "note"         /* what the capture did to the service, and why */

/* The reason of the thread dumps taken every half second, as opposed to snapshots. */
#define EVIDENCE_PERIODIC "periodic"
/* How the reason of the routine CPU profile begins (a run's CPU profile taken late in
 * its load when no symptom started one), and the reason of its notes. */
#define EVIDENCE_ROUTINE_CPU "routine"

/* True for one of the kinds above. */
bool evidence_kind_valid(const char *kind);

/* Compresses len bytes into a new gzip buffer (*out, caller frees). Returns 0, or -1
 * with err filled (larger than EVIDENCE_MAX_ITEM, zlib failure, out of memory). */
int evidence_gzip(const char *data, size_t len, unsigned char **out, size_t *outlen,
                  char *err, size_t errlen);

/* Decompresses gzip data into a new NUL-terminated buffer (*out, caller frees) of at
 * most max bytes. Returns 0, or -1 with err filled (corrupt, larger than max — a
 * distinct "larger than N bytes" — or out of memory). */
int evidence_gunzip(const void *gz, size_t gzlen, size_t max, char **out, size_t *outlen,
                    char *err, size_t errlen);

/* Stores one item, already compressed; bytes is its raw size. Returns 0, or -1 with
 * err filled (bad kind, database error). */
int evidence_store(struct resultdb *db, int64_t run_id, double t, const char *kind,
                   const char *reason, const void *gz, size_t gzlen, size_t bytes,
                   char *err, size_t errlen);

/* The same for an item taken from one instance of a fleet (its Prometheus instance
 * label; NULL or "" for none, as evidence_store). Same returns. */
int evidence_store_of(struct resultdb *db, int64_t run_id, double t, const char *kind, const char *reason,
                      const char *instance, const void *gz, size_t gzlen, size_t bytes, char *err, size_t errlen);

/* The same from plain text, compressed here. Same returns. */
int evidence_store_text(struct resultdb *db, int64_t run_id, double t, const char *kind,
                        const char *reason, const char *text, size_t len, char *err, size_t errlen);

/* One stored item as the table holds it, compressed; valid during the visit only. */
struct evidence_stored {
    int64_t id;
    double t;
    const char *kind, *reason;
    const char *instance;        /* the fleet instance it was taken from, "" for none */
    long long bytes;             /* its raw size, as recorded */
    const void *gz;
    size_t gzlen;
};

/* Calls visit for each stored item of the run (of one kind when kind is not NULL) in
 * order of time, without decompressing it. visit returns 0 to go on, 1 to stop early,
 * -1 with err filled to fail. Returns 0, or -1 with err filled (database error, visit
 * failed). A database without an evidence table has no evidence: 0, no visit. */
typedef int (*evidence_stored_fn)(void *user, const struct evidence_stored *item, char *err, size_t errlen);
int evidence_foreach_stored(struct resultdb *db, int64_t run_id, const char *kind, evidence_stored_fn visit,
                            void *user, char *err, size_t errlen);
/* The same for the items of one instance (instance "" the items of none; NULL all). */
int evidence_foreach_stored_of(struct resultdb *db, int64_t run_id, const char *kind, const char *instance,
                               evidence_stored_fn visit, void *user, char *err, size_t errlen);

/* One stored item, decompressed; valid during the visit only. */
struct evidence_item {
    int64_t id;
    double t;
    const char *kind, *reason;
    const char *instance;        /* the fleet instance it was taken from, "" for none */
    const char *text;
    size_t len;
};

/* Calls visit for each item of the run (of one kind when kind is not NULL) in order
 * of time. visit returns 0 to go on, 1 to stop early, -1 with err filled to fail.
 * Returns 0, or -1 with err filled (database error, a corrupt item, visit failed).
 * A database without an evidence table has no evidence: 0, no visit. */
typedef int (*evidence_visit_fn)(void *user, const struct evidence_item *item, char *err, size_t errlen);
int evidence_foreach(struct resultdb *db, int64_t run_id, const char *kind, evidence_visit_fn visit,
                     void *user, char *err, size_t errlen);
/* The same for the items of one instance (instance "" the items of none; NULL all). */
int evidence_foreach_of(struct resultdb *db, int64_t run_id, const char *kind, const char *instance,
                        evidence_visit_fn visit, void *user, char *err, size_t errlen);

/* `loadlab show RUN --evidence`: a table of the run's items, then each snapshot's
 * items in full (periodic thread dumps are listed, not printed, unless all is set).
 * Returns 0, 1 when there is no such run (err says so), or -1 with err filled. */
int evidence_print(struct resultdb *db, int64_t run_id, FILE *out, bool all, char *err, size_t errlen);

#endif
