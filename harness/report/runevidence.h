/* runevidence: one run's incident evidence (evidence.h) as its report page shows it —
 * every stored item written out as a text file beside the page
 * (run-ID/evidence/ID-KIND.txt) for the page to link, and the first lines of the
 * latest snapshot's thread dump and mutex, block and heap profiles for the page to
 * show inline.
 *
 * The items are the service's words, so each is decompressed with a cap
 * (RUNEVIDENCE_MAX_FILE): an item larger than that, or corrupt, is listed with the
 * reason and no file, and the rest of the report goes on. Inline excerpts are bounded
 * in lines and bytes, so a page stays light however large a dump is. */
#ifndef LOADLAB_RUNEVIDENCE_H
#define LOADLAB_RUNEVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/evidence.h"
#include "store/resultdb.h"

#define RUNEVIDENCE_DIR "evidence"              /* beside the page */
#define RUNEVIDENCE_MAX_FILE EVIDENCE_MAX_ITEM  /* capture never stores more */
#define RUNEVIDENCE_EXCERPT_LINES 60
#define RUNEVIDENCE_EXCERPT_BYTES (32 * 1024)

/* The kinds shown inline, in page order. */
enum runevidence_inline { RUNEVIDENCE_THREADS, RUNEVIDENCE_MUTEX, RUNEVIDENCE_BLOCK, RUNEVIDENCE_HEAP,
                          RUNEVIDENCE_INLINE_KINDS };

struct runevidence_item {
    int64_t id;
    double t;
    char kind[16], reason[128];
    long long bytes;             /* its size as the evidence table records it */
    char file[64];               /* "evidence/12-threads.txt", relative to the page; "" when not written */
    char problem[256];           /* why it was not: corrupt, or larger than RUNEVIDENCE_MAX_FILE */
};

struct runevidence_excerpt {
    size_t item;                 /* index in items */
    char *text;                  /* its first lines; NULL when the snapshot lacks this kind */
    size_t len, lines, total_lines;
};

struct runevidence {
    bool have_table;             /* false: the database predates evidence (schema 1) */
    struct runevidence_item *items;   /* in order of time */
    size_t n, periodic;          /* periodic: the thread dumps taken every half second */
    /* What is shown inline: the latest snapshot (the items of one reason at one t), or
     * the latest periodic thread dump when the run has no snapshot. */
    bool have_inline;
    double inline_t;
    char inline_reason[128];
    struct runevidence_excerpt excerpts[RUNEVIDENCE_INLINE_KINDS];
};

/* Writes the items of run run_id into dir/RUNEVIDENCE_DIR (created when there are
 * any; files of the same name are overwritten) and returns what the page shows of
 * them, to free with runevidence_free; a database without the evidence table gives
 * an empty one. Returns NULL with err filled on a database error, a file that cannot
 * be written, or out of memory. */
struct runevidence *runevidence_write(struct resultdb *db, int64_t run_id, const char *dir, char *err,
                                      size_t errlen);
void runevidence_free(struct runevidence *ev);

#endif
