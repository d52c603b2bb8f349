/* pprof: encodes profiles in the profile.proto format that `go tool pprof` reads
 * (github.com/google/pprof/proto/profile.proto), gzipped, with functions, files and
 * lines filled in so pprof names frames without the binary.
 *
 * Hand-written because Debian has no C encoder for it (protobuf-c would need the
 * generated code and a build step for one message); the wire format used is small:
 * varints, length-delimited fields and packed repeated integers. */
#ifndef ORDERD_PPROF_H
#define ORDERD_PPROF_H

#include <stddef.h>
#include <stdint.h>

typedef struct pprof_profile pprof_profile;

/* Names one pc. Fills function (and file, line when known); returns 0, or -1 when
 * the pc is unknown (the frame is then written as "0x<pc>"). */
typedef int (*pprof_symbolizer)(uintptr_t pc, char *function, size_t function_len,
                                char *file, size_t file_len, int *line, void *user);

struct pprof_value_type { const char *type; const char *unit; };

/* A profile whose samples carry ntypes values (e.g. {"contentions","count"},
 * {"delay","nanoseconds"}). period_type/period describe the sampling period.
 * Returns NULL on allocation failure. */
pprof_profile *pprof_new(const struct pprof_value_type *types, int ntypes,
                         struct pprof_value_type period_type, int64_t period);
void pprof_free(pprof_profile *p);   /* NULL is a no-op */

void pprof_set_time(pprof_profile *p, int64_t time_nanos, int64_t duration_nanos);

/* Names the sample type pprof shows by default (profile.proto default_sample_type;
 * Go's allocs profile says "alloc_space"). NULL clears it. Returns 0, or -1 on
 * allocation failure (nothing changed). */
int pprof_set_default_sample_type(pprof_profile *p, const char *type);

/* Adds a sample: pcs innermost first, values[ntypes]. Samples with the same stack
 * are kept separate (pprof merges them). Returns 0 or -1 on allocation failure.
 * Every pc is taken as a return address, as stacks_capture_*() give them: it is
 * named and written at pc-1, the call instruction, as Go's profiles do; a caller
 * holding an exact pc (a signal's leaf) passes pc+1, as Go's runtime does. */
int pprof_add_sample(pprof_profile *p, const uintptr_t *pcs, int npcs, const int64_t *values);

/* Serializes the profile (gzipped when gzip != 0) into a malloc'd buffer the
 * caller frees. Returns 0, or -1 (nothing allocated). */
int pprof_encode(pprof_profile *p, pprof_symbolizer symbolize, void *user, int gzip,
                 unsigned char **out, size_t *out_len);

/* The symbolizer that uses stacks_symbolize(). */
int pprof_symbolize_with_stacks(uintptr_t pc, char *function, size_t function_len,
                                char *file, size_t file_len, int *line, void *user);

/* Legacy text profiles (debug=1) are built in a growing buffer. Start from
 * `struct pprof_text t = {0};`. An append that fails (allocation, or the text
 * outgrowing 64 MiB) marks t failed; later appends do nothing and finish reports it. */
struct pprof_text { char *data; size_t len, cap; int failed; };

void pprof_text_printf(struct pprof_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends Go's stack record layout: " 0x<pc>" per pc and a newline, then one
 * "#\t0x<pc>\t<function>+0x<offset>\t<file>:<line>" line per frame (named at pc-1,
 * like runtime.CallersFrames; "#\t0x<pc>" alone when unknown), then a blank line. */
void pprof_text_stack(struct pprof_text *t, const uintptr_t *pcs, int npcs);

/* Hands the NUL-terminated text to the caller (*out, freed by the caller; *out_len
 * excludes the NUL) and resets t. Returns 0, or -1 when an append failed (the text
 * is freed, nothing is returned). */
int pprof_text_finish(struct pprof_text *t, char **out, size_t *out_len);

#endif
