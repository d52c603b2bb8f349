/* units: parsing of the durations and sizes that flags, fault terms and scenario files
 * carry ("200us", "50ms", "1.5s", "inf"; "4096", "4k", "256MB", "1GiB").
 *
 * One parser for the whole project so that "50ms" means the same on orderd's command
 * line, in a fault term and in a scenario file, and one formatter of each so that a
 * figure printed is a figure the parser reads back. Every function fills err (when non-NULL)
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

/* Writes a byte count (a rate's too: pass bytes per second and add "/s") in the units
 * units_parse_size reads, binary like it: "512B", "1.5KB", "66.2MB", "1GB", one
 * decimal unless it is zero; a negative count keeps its sign; NaN is "-". Returns buf. */
char *units_format_size(double bytes, char *buf, size_t buflen);

/* The formatters below write a measured figure for people, one per kind of quantity,
 * so that a figure reads the same in the terminal, the HTML report, its Markdown and
 * JUnit: three significant digits, the unit always written, never an exponent
 * ("1e+08"). NaN is written "-". Each returns buf. */

/* Seconds (a latency, CPU time) in the unit that keeps the number between 1 and 1000:
 * "385us", "12.3ms", "1.2s", "48ns"; from 1000s on, whole seconds ("1250s"). */
char *units_format_seconds(double seconds, char *buf, size_t buflen);

/* A plain count: "7", "0.52", "9688" (up to 9999 whole digits), then engineering
 * units "12.3k", "4.5M", "1.2G". Magnitudes under 0.0001 are written "0". */
char *units_format_count(double value, char *buf, size_t buflen);

/* A count with its unit word: "12 threads", "9688 instructions"; unit NULL or ""
 * writes the count alone. */
char *units_format_quantity(double value, const char *unit, char *buf, size_t buflen);

/* A rate per second of things named unit ("req", "threads"): "1.2k req/s",
 * "0.52 threads/s"; unit NULL or "" gives "0.52/s". */
char *units_format_rate(double per_second, const char *unit, char *buf, size_t buflen);

/* Bytes per second in units_format_size's units: "1.5MB/s", "-200B/s". */
char *units_format_size_rate(double bytes_per_second, char *buf, size_t buflen);

/* A share of a whole (0..1) as a percentage: "4.1%", "0.05%", "100%"; shares under
 * 0.001% are written "<0.001%" (never 0% for a share that is not zero). */
char *units_format_share(double ratio, char *buf, size_t buflen);

/* Seconds spent per second of wall time (lock wait, blocked time: 1.0 = one thread
 * waiting all the time): "0.428s/s", "0.05s/s", "<0.0001s/s" for a tiny non-zero
 * figure, "0s/s". */
char *units_format_seconds_per_second(double value, char *buf, size_t buflen);

/* A ratio of two figures of the same kind (setting / off), to the fourth decimal so a
 * change of a tenth of a percent shows: "1.0123", "0.9871"; outside 0.01..100 as
 * units_format_count writes it. NaN is written "-". Returns buf. */
char *units_format_ratio(double ratio, char *buf, size_t buflen);

/* Monotonic and wall clocks in nanoseconds. */
int64_t units_now_ns(void);
int64_t units_wall_ns(void);

#endif
