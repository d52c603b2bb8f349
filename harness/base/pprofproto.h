/* pprofproto: turns a CPU profile in pprof's profile.proto (gzipped, as
 * /debug/pprof/profile answers) into the legacy text layout the other profiles are
 * kept in — "--- cpu profile" header, then "samples nanoseconds @ pcs" and one
 * "#\t0xpc\tfunction+0x0\tfile:line" line per frame, innermost first.
 *
 * Why text: every other piece of evidence is the debug=1 text a person reads, and the
 * diagnosis reads the same text (diagnose/proftext), so it sees nothing a
 * diagnostician could not. A CPU profile has no text form in Go or orderd, so the
 * harness writes one when it takes the profile.
 *
 * A small protobuf reader of its own (varints and length-delimited fields; unknown
 * fields are skipped, repeated scalars read packed or not): the input comes from a
 * service, so every size is bounded and a malformed message is an error, never a
 * read past the buffer. */
#ifndef LOADLAB_PPROFPROTO_H
#define LOADLAB_PPROFPROTO_H

#include <stddef.h>

#define PPROFPROTO_MAX_INFLATED ((size_t)64 << 20)  /* profile.proto once gunzipped */
#define PPROFPROTO_MAX_TEXT ((size_t)8 << 20)       /* the text written */
#define PPROFPROTO_MAX_FRAMES 128                  /* frames written per sample; deeper ones are cut */

/* Converts data (gzipped or plain profile.proto, len bytes) into text. The profile
 * must carry a cpu/nanoseconds sample type; a samples/count one is used when present
 * (else each sample counts once). On success *text is a malloc'd NUL-terminated
 * buffer the caller frees, *text_len its length, and 0 is returned. Returns -1 with
 * err filled ("corrupt gzip data", "malformed profile.proto", "not a CPU profile",
 * "larger than N bytes", "out of memory") and *text NULL on failure. */
int pprofproto_cpu_text(const void *data, size_t len, char **text, size_t *text_len, char *err, size_t errlen);

#endif
