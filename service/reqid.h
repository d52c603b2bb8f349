/* reqid: the correlation ids a request carries — X-Request-ID and the W3C trace
 * context (traceparent) — validated, or generated when absent or unusable.
 *
 * Ids come from outside and end up in logs and response headers, so only a safe
 * alphabet and a bounded length are accepted; anything else is replaced, not echoed. */
#ifndef ORDERD_REQID_H
#define ORDERD_REQID_H

#include <stdbool.h>
#include <stddef.h>

#define REQID_MAX 64

/* True when text[0..len) is a usable request id: 1..64 characters of
 * [A-Za-z0-9._:-]. */
bool reqid_is_valid(const char *text, size_t len);

/* Writes a fresh 16-hex-digit request id into out (at least 17 bytes). */
void reqid_generate(char out[17]);

/* Parses a traceparent header ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>",
 * lowercase, ids not all zero; versions other than 00 accepted when the first four
 * fields have that shape, as W3C asks). On success copies the trace id into
 * trace_id (33 bytes) and returns 0; returns -1 and leaves trace_id unchanged. */
int reqid_parse_traceparent(const char *text, size_t len, char trace_id[33]);

/* Writes a fresh random 32-hex-digit trace id. */
void reqid_generate_trace_id(char out[33]);

#endif
