/* pprof_decode (tests only): reads a profile.proto back — gzipped or not — into plain
 * arrays so tests can assert on what the encoders wrote, and runs `go tool pprof` on
 * one when go is installed.
 *
 * Written apart from service/pprof.c on purpose: a decoder sharing the encoder's code
 * would agree with its bugs. Repeated scalars are read packed or not, unknown fields
 * are skipped, as any protobuf reader must. */
#ifndef TESTS_PPROF_DECODE_H
#define TESTS_PPROF_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct pprof_decoded_value_type { int64_t type, unit; };

struct pprof_decoded_sample {
    uint64_t *location_ids;
    size_t nlocation_ids;
    int64_t *values;
    size_t nvalues;
};

struct pprof_decoded_line { uint64_t function_id; int64_t line; };

struct pprof_decoded_location {
    uint64_t id, mapping_id, address;
    struct pprof_decoded_line *lines;
    size_t nlines;
};

struct pprof_decoded_function { uint64_t id; int64_t name, system_name, filename; };

struct pprof_decoded_mapping {
    uint64_t id, memory_start, memory_limit, file_offset;
    int64_t filename, build_id;
    int has_functions, has_filenames, has_line_numbers;
};

struct pprof_decoded {
    char **strings;
    size_t nstrings;
    struct pprof_decoded_value_type *sample_types;
    size_t nsample_types;
    struct pprof_decoded_sample *samples;
    size_t nsamples;
    struct pprof_decoded_mapping *mappings;
    size_t nmappings;
    struct pprof_decoded_location *locations;
    size_t nlocations;
    struct pprof_decoded_function *functions;
    size_t nfunctions;
    struct pprof_decoded_value_type period_type;
    int64_t period, time_nanos, duration_nanos;
};

/* Decodes data (gunzipped first when it starts with the gzip magic). Returns the
 * profile (free with pprof_decoded_free), or NULL when the bytes are not a valid
 * encoding. */
struct pprof_decoded *pprof_decode(const void *data, size_t len);
void pprof_decoded_free(struct pprof_decoded *d);   /* NULL is a no-op */

/* The string at index, or NULL when out of range. */
const char *pprof_decoded_string(const struct pprof_decoded *d, int64_t index);

/* The location / function with this id, or NULL. */
const struct pprof_decoded_location *pprof_decoded_location(const struct pprof_decoded *d, uint64_t id);
const struct pprof_decoded_function *pprof_decoded_function(const struct pprof_decoded *d, uint64_t id);

/* Name of the first function of frame i of sample s (innermost first), or NULL. */
const char *pprof_decoded_frame_name(const struct pprof_decoded *d,
                                     const struct pprof_decoded_sample *s, size_t i);

/* Index of the sample type type/unit, or -1. */
int pprof_decoded_sample_type(const struct pprof_decoded *d, const char *type, const char *unit);

/* Sum of values[value_index] over the samples whose stack has a frame named
 * function; *nsamples (when non-NULL) gets how many samples that was. */
int64_t pprof_decoded_sum_for_function(const struct pprof_decoded *d, const char *function,
                                       size_t value_index, size_t *nsamples);

/* Sum of values[value_index] over every sample. */
int64_t pprof_decoded_sum(const struct pprof_decoded *d, size_t value_index);

/* Runs `go tool pprof -top -nodecount=10` on the profile bytes, with HOME and
 * PPROF_TMPDIR in a scratch directory. Returns 0 with its output (stdout and stderr)
 * in *text (caller frees), 1 when go is not on PATH (nothing returned), -1 when it
 * could not run or exited non-zero (*text then holds what it printed, or NULL). */
int pprof_decode_go_top(const void *data, size_t len, char **text);

/* The same with other flags (trusted text, e.g. "-raw" or "-top -nodecount=20"). */
int pprof_decode_go_tool(const void *data, size_t len, const char *flags, char **text);

/* Runs `go tool pprof FLAGS URL`: pprof fetches the profile itself. Same returns. */
int pprof_decode_go_url(const char *flags, const char *url, char **text);

#endif
