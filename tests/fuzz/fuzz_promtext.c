/* fuzz_promtext: a /metrics body in the Prometheus text format, as loadlab scrapes it
 * from a service it did not write. Every sample handed over must carry a valid metric
 * name and label names, and its label set must format into the canonical string the
 * results database stores. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/promtext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char labelstr[PROMTEXT_MAX_LABELSTR];

static int check_sample(void *ctx, const struct promtext_sample *s, char *err, size_t errlen)
{
    long *count = ctx;

    (void)err; (void)errlen;
    if (!promtext_valid_metric_name(s->name) || s->nlabels > PROMTEXT_MAX_LABELS) {
        fprintf(stderr, "sample with a bad name or too many labels\n");
        abort();
    }
    for (size_t i = 0; i < s->nlabels; i++)
        if (!promtext_valid_label_name(s->labels[i].name) || !s->labels[i].value)
            abort();
    if (promtext_labels_format(s->labels, s->nlabels, labelstr, sizeof labelstr) < 0) {
        fprintf(stderr, "a parsed label set does not fit the canonical string\n");
        abort();
    }
    (*count)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    long count = 0, n;

    n = promtext_parse((const char *)data, size, check_sample, &count, err, sizeof err);
    if (n >= 0 && n != count) {
        fprintf(stderr, "parse returned %ld samples, passed %ld\n", n, count);
        abort();
    }
    return 0;
}
