/* promtext: a parser for the Prometheus text exposition format (version 0.0.4).
 *
 * loadlab scrapes /metrics from services it did not write, so the parser follows the
 * format as Prometheus itself reads it rather than as orderd happens to write it:
 * # HELP / # TYPE / other comments, label values with \\ \" \n escapes, NaN, +Inf,
 * -Inf, optional timestamps, histogram and summary families whose samples carry the
 * _bucket/_sum/_count suffixes. Like a Prometheus scrape, a body with one malformed
 * line is rejected whole (with its line number) rather than half-read.
 *
 * Everything here is sized from outside, so there are hard limits on line length,
 * labels per sample, name lengths and samples per body, each with its own error. */
#ifndef LOADLAB_PROMTEXT_H
#define LOADLAB_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROMTEXT_MAX_LINE 65536
#define PROMTEXT_MAX_LABELS 64
#define PROMTEXT_MAX_NAME 256
#define PROMTEXT_MAX_SAMPLES 200000
/* Room for a canonical label string: every label at its longest would not fit, but a
 * line is capped at PROMTEXT_MAX_LINE and escaping at most doubles it. */
#define PROMTEXT_MAX_LABELSTR (2 * PROMTEXT_MAX_LINE + 16)

enum promtext_type {
    PROMTEXT_UNTYPED, PROMTEXT_COUNTER, PROMTEXT_GAUGE, PROMTEXT_HISTOGRAM, PROMTEXT_SUMMARY
};

struct promtext_label {
    const char *name;
    const char *value;  /* unescaped */
};

/* One sample, valid only during the callback. */
struct promtext_sample {
    const char *name;
    const struct promtext_label *labels;
    size_t nlabels;
    double value;
    bool has_timestamp;
    int64_t timestamp_ms;
    enum promtext_type type;  /* from the family's # TYPE line, else UNTYPED */
};

/* Called once per sample; return 0 to go on, -1 to stop (promtext_parse then returns
 * -1 with err as the callback left it). */
typedef int (*promtext_sample_fn)(void *ctx, const struct promtext_sample *sample,
                                  char *err, size_t errlen);

/* Parses len bytes of text, calling fn for each sample in order.
 * Returns the number of samples, or -1 with err naming the line and what is wrong
 * (samples before the bad line have already been passed to fn). */
long promtext_parse(const char *text, size_t len, promtext_sample_fn fn, void *ctx,
                    char *err, size_t errlen);

/* Writes labels in canonical form, sorted by name, escaped as in the format:
 * {a="x",b="y\"z"} (empty string for no labels). This is the form stored in the
 * results database, so equal label sets compare equal as strings.
 * Returns 0, or -1 when out is too small. */
int promtext_labels_format(const struct promtext_label *labels, size_t n, char *out, size_t outlen);

/* Checks a metric name / label name against the format's character rules. */
bool promtext_valid_metric_name(const char *name);
bool promtext_valid_label_name(const char *name);

#endif
