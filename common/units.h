/* units: parsing of the durations and sizes that flags, fault terms and scenario files
 * carry ("200us", "50ms", "1.5s", "inf"; "4096", "4k", "256MB", "1GiB").
 *
 * One parser for the whole project so that "50ms" means the same on orderd's command
 * line, in a fault term and in a scenario file. Every function fills err (when non-NULL)
 * with a sentence naming the bad text, and leaves *out unchanged on failure. */
#ifndef LOADLAB_UNITS_H
#define LOADLAB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* A duration that never ends ("inf"). */
#define UNITS_DURATION_INF INT64_MAX

/* Parses a duration: a non-negative decimal number ("50", "1.5", ".5"; no sign,
 * exponent or hex) followed by ns, us, ms, s, m or h ("0" alone is allowed), or "inf".
 * Stores nanoseconds in *out_ns, rounded to the nearest.
 * Returns 0, or -1 with err filled on a missing/unknown unit, a negative, or overflow. */
int units_parse_duration(const char *text, int64_t *out_ns, char *err, size_t errlen);

/* Parses a byte size: a non-negative number with an optional unit B, k/K/KB/KiB,
 * M/MB/MiB, G/GB/GiB (all binary: 1k = 1024; "1.5k" rounds to the nearest byte, a
 * plain byte count must be whole). Stores bytes in *out.
 * Returns 0, or -1 with err filled. */
int units_parse_size(const char *text, uint64_t *out, char *err, size_t errlen);

/* Parses a whole non-negative decimal integer no larger than max.
 * Returns 0, or -1 with err filled. */
int units_parse_uint(const char *text, uint64_t max, uint64_t *out, char *err, size_t errlen);

/* Writes a duration in the shortest exact unit ("200us", "1.5s", "inf") into buf.
 * Returns buf. */
char *units_format_duration(int64_t ns, char *buf, size_t buflen);

/* Writes a byte count (or a byte rate, negative allowed) in binary units with three
 * significant digits: "512B", "1.5KB", "12.3MB", "2GB" (1KB = 1024 B, the units
 * units_parse_size reads back). Returns buf. */
char *units_format_bytes(char *buf, size_t buflen, double bytes);

/* Monotonic and wall clocks in nanoseconds. */
int64_t units_now_ns(void);
int64_t units_wall_ns(void);

#endif
