/* cpucapture: one CPU profile taken from a service's /debug/pprof/profile while a run
 * goes on, for the capture's evidence (run/capture.h).
 *
 * A CPU profile answers only after its N seconds; the capture runs on the runner's
 * tick, which must keep scraping meanwhile, so the request is made on a thread of its
 * own with a client of its own (a libcurl handle is used by one thread at a time).
 * The answer, profile.proto, is kept as the text base/pprofproto writes, as every
 * other piece of evidence is text. */
#ifndef LOADLAB_CPUCAPTURE_H
#define LOADLAB_CPUCAPTURE_H

#include <stdbool.h>
#include <stddef.h>

#define CPUCAPTURE_MAX_SECONDS 30

struct cpucapture;

/* Starts GET debug_base/debug/pprof/profile?seconds=seconds (1..CPUCAPTURE_MAX_SECONDS)
 * on a new thread, sending the bearer token read from token_file when it is not "".
 * Returns the capture (free with cpucapture_free), or NULL with err filled (a bad
 * duration, an unreadable token, no thread, out of memory). */
struct cpucapture *cpucapture_start(const char *debug_base, const char *token_file, int seconds, char *err,
                                    size_t errlen);

/* Whether the profile is in (wait: block until it is). When it is, returns true with
 * *text (the profile as text, NUL-terminated; the caller frees it) and *len filled,
 * or *text NULL and err filled when none came (no answer, a status other than 200 -
 * a service without CPU profiling, or one already being taken - or a profile that
 * does not decode). Returns false, with nothing filled, while it is still being taken. */
bool cpucapture_done(struct cpucapture *cc, bool wait, char **text, size_t *len, char *err, size_t errlen);

/* Waits for the request to end and frees everything; NULL is a no-op. */
void cpucapture_free(struct cpucapture *cc);

#endif
