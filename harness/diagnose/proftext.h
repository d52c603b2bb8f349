/* proftext: reads the text forms of the profiles a debug port serves in Go's legacy
 * layouts — a thread dump grouped by stack (`threads?debug=1`, Go's
 * `goroutine?debug=1`), the mutex and block profiles (`mutex?debug=1`,
 * `block?debug=1`: "cycles count @ pcs") and the heap profile (`heap?debug=1`:
 * "inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ pcs") and the CPU profile
 * as the harness writes it from profile.proto (base/pprofproto: "--- cpu profile"
 * then "samples nanoseconds @ pcs") — into entries of numbers, labels and
 * symbolized frames. A sampled heap profile ("@ heap/N" with N > 2, as Go's and
 * orderd's are) is scaled to the allocations its samples stand for, as pprof reads it.
 *
 * The text is what a person reads, and the diagnosis reads the same text, so that it
 * sees nothing a diagnostician could not. The input comes from a service, so it is
 * bounded (PROFTEXT_MAX_*) and a malformed line is an error naming its number rather
 * than an entry silently skipped. */
#ifndef LOADLAB_PROFTEXT_H
#define LOADLAB_PROFTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFTEXT_MAX_TEXT (8 * 1024 * 1024)
#define PROFTEXT_MAX_ENTRIES 20000
#define PROFTEXT_MAX_FRAMES 128
#define PROFTEXT_MAX_VALUES 4

enum proftext_kind { PROFTEXT_THREADS, PROFTEXT_MUTEX, PROFTEXT_BLOCK, PROFTEXT_HEAP, PROFTEXT_CPU };

struct proftext_frame {
    const char *function;   /* "cache_get_global" (offset dropped), "" when unsymbolized */
    const char *file;       /* "service/catalog.c" (line dropped), "" when unknown */
    int line;
};

struct proftext_entry {
    /* threads: {count}; mutex and block: {cycles, events}; heap: {inuse_objects,
     * inuse_bytes, alloc_objects, alloc_bytes}, scaled by the header's rate; cpu:
     * {samples, nanoseconds} */
    int64_t values[PROFTEXT_MAX_VALUES];
    size_t nvalues;
    char role[32], state[32];          /* threads: from "# labels: {...}", "" when absent */
    const struct proftext_frame *frames;  /* innermost first */
    size_t nframes;
};

struct proftext;

/* Parses text of length len as the given kind. Returns a profile (free with
 * proftext_free), or NULL with err filled: too large, too many entries, a malformed
 * line ("line N: ..."), the wrong layout for the kind, or out of memory. An empty
 * profile (headers only) is valid. */
struct proftext *proftext_parse(enum proftext_kind kind, const char *text, size_t len,
                                char *err, size_t errlen);
void proftext_free(struct proftext *p);

size_t proftext_count(const struct proftext *p);
/* The i-th entry in the order of the text (largest first, as the services print
 * them); owned by p. */
const struct proftext_entry *proftext_entry(const struct proftext *p, size_t i);

/* Threads: the total in the header ("threads profile: total N"); -1 when absent. */
int64_t proftext_total(const struct proftext *p);

/* Heap: the bytes allocated per sample on average (half the header's "heap/N"), so the
 * bytes one sample stands for; 1 for an unsampled heap and for the other kinds. */
int64_t proftext_sample_rate(const struct proftext *p);

/* True when the frame is the service's own code: symbolized, with a source file
 * that is neither unknown nor a system path (relative paths starting with "." or
 * absolute paths under /usr or /lib are the C library's and the packages'). */
bool proftext_frame_is_own(const struct proftext_frame *f);

/* True when the entry has a frame of that function. */
bool proftext_entry_has(const struct proftext_entry *e, const char *function);

#endif
