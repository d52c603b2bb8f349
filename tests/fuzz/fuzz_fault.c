/* fuzz_fault: fault terms ("5%100*on(200us)") and fault specs ("a=T;b=T").
 *
 * The first byte picks the fault (and, with its top bit set, feeds the rest to
 * fault_set_from_spec instead); the rest is the text. A term that parses must format
 * to a canonical form that parses back to the same term and formats to itself, since
 * /debug/faults shows the formatted form and a drill may paste it back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Percents have at most 4 decimals, which the canonical form keeps exactly. */
static int same_term(const struct fault_term *a, const struct fault_term *b)
{
    return a->on == b->on && a->max_count == b->max_count && a->has_arg == b->has_arg &&
           (!a->has_arg || a->arg == b->arg) && a->percent == b->percent;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], canonical[256], again[256];
    struct fault_term term, reparsed;
    enum fault_id id;
    char *text;

    if (size < 1)
        return 0;
    id = (enum fault_id)((data[0] & 0x7f) % FAULT_COUNT);
    if (!(text = malloc(size))) /* size - 1 bytes of text and a NUL */
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    if (data[0] & 0x80) {
        if (fault_set_from_spec(text, err, sizeof err) == 0)
            for (int i = 0; i < FAULT_COUNT; i++)
                fault_clear((enum fault_id)i);
        goto done;
    }
    if (fault_term_parse(id, text, &term, err, sizeof err) < 0)
        goto done;
    fault_term_format(id, &term, canonical, sizeof canonical);
    if (fault_term_parse(id, canonical, &reparsed, err, sizeof err) < 0) {
        fprintf(stderr, "'%s' formats as '%s', which does not parse: %s\n", text, canonical, err);
        abort();
    }
    if (!same_term(&term, &reparsed)) {
        fprintf(stderr, "'%s' formats as '%s', which parses to another term\n", text, canonical);
        abort();
    }
    fault_term_format(id, &reparsed, again, sizeof again);
    if (strcmp(canonical, again) != 0) {
        fprintf(stderr, "'%s': canonical form '%s' formats again as '%s'\n", text, canonical, again);
        abort();
    }
done:
    free(text);
    return 0;
}
