/* pprof_text: the legacy text profiles (debug=1): a growing buffer that stops at
 * PPROF_TEXT_MAX, and a stack written as Go writes it ("@ pcs" then "#\t" lines with
 * function, offset, file and line). Apart from the encoder because it shares nothing
 * with profile.proto but the growth helper. */
#include "pprof_internal.h"

#include "stacks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PPROF_TEXT_MAX ((size_t)64 << 20)

void pprof_text_printf(struct pprof_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    if (t->cap == 0 && pprof_grow((void **)&t->data, &t->cap, 4096, 1) < 0)
        goto fail;
    va_start(ap, fmt);
    n = vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        goto fail;
    if ((size_t)n >= t->cap - t->len) {
        if ((size_t)n >= PPROF_TEXT_MAX - t->len ||
            pprof_grow((void **)&t->data, &t->cap, t->len + (size_t)n + 1, 1) < 0)
            goto fail;
        va_start(ap, fmt);
        vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
    }
    t->len += (size_t)n;
    return;
fail:
    t->failed = 1;
}

void pprof_text_stack(struct pprof_text *t, const uintptr_t *pcs, int npcs)
{
    struct stacks_frame frame;

    for (int i = 0; i < npcs; i++)
        pprof_text_printf(t, " 0x%" PRIxPTR, pcs[i]);
    pprof_text_printf(t, "\n");
    for (int i = 0; i < npcs; i++) {
        uintptr_t at = pcs[i] ? pcs[i] - 1 : 0;

        if (stacks_symbolize(at, &frame) == 0)
            pprof_text_printf(t, "#\t0x%" PRIxPTR "\t%s+0x%" PRIxPTR "\t%s:%d\n", at,
                              frame.function, frame.offset, frame.file, frame.line);
        else
            pprof_text_printf(t, "#\t0x%" PRIxPTR "\n", at);
    }
    pprof_text_printf(t, "\n");
}

int pprof_text_finish(struct pprof_text *t, char **out, size_t *out_len)
{
    int rc = -1;

    if (t->cap == 0)
        pprof_text_printf(t, "%s", "");
    if (!t->failed) {
        *out = t->data;
        *out_len = t->len;
        t->data = NULL;
        rc = 0;
    }
    free(t->data);
    memset(t, 0, sizeof *t);
    return rc;
}
