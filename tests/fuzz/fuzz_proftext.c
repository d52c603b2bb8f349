/* fuzz_proftext: the text profiles a debug port serves (threads, mutex, block, heap
 * in Go's debug=1 layouts, and the CPU profile as the harness writes it), read by the
 * diagnosis. The first byte picks the kind; the
 * rest is the text, unterminated as it comes from an HTTP body. Every entry handed
 * back must be within the documented bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose/proftext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct proftext *p;
    enum proftext_kind kind;

    if (size < 1)
        return 0;
    kind = (enum proftext_kind)(data[0] % 5);
    if (!(p = proftext_parse(kind, (const char *)data + 1, size - 1, err, sizeof err)))
        return 0;
    for (size_t i = 0; i < proftext_count(p); i++) {
        const struct proftext_entry *e = proftext_entry(p, i);
        if (e->nvalues > PROFTEXT_MAX_VALUES || e->nframes > PROFTEXT_MAX_FRAMES ||
            strnlen(e->role, sizeof e->role) >= sizeof e->role ||
            strnlen(e->state, sizeof e->state) >= sizeof e->state) {
            fprintf(stderr, "entry %zu out of bounds\n", i);
            abort();
        }
        for (size_t f = 0; f < e->nframes; f++) {
            (void)strlen(e->frames[f].function);
            (void)strlen(e->frames[f].file);
            (void)proftext_frame_is_own(&e->frames[f]);
        }
        (void)proftext_entry_has(e, "cache_get_global");
    }
    (void)proftext_total(p);
    proftext_free(p);
    return 0;
}
