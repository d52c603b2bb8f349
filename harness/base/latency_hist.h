/* latency_hist: a latency histogram with bounded relative error, after HdrHistogram.
 *
 * Values are whole microseconds from 0 to LATENCY_HIST_MAX_US (1 hour). Buckets are
 * log-linear: each power-of-two range is split into 1024 equal sub-buckets, so values
 * below 2048 us are kept exactly and above that any value shares its bucket only with
 * values within 1/1024 (< 0.1%) of it: three significant decimal digits. A percentile
 * is reported as the highest value of its bucket, capped at the largest value recorded,
 * so it is never below the exact nearest-rank percentile and at most 1/1024 of it
 * above. Values outside the range are clamped to 0 or 1 h and counted as clamped, never
 * dropped. One histogram is a fixed 23552 counters (184 KiB); histograms merge by
 * adding counters, so per-thread and per-window histograms combine exactly.
 *
 * The serialized form is compact for storage (a BLOB per run and per window): a
 * version byte, then unsigned LEB128 varints: count, clamped, min, max, sum, the number
 * of non-empty buckets, then per non-empty bucket the gap in index since the previous
 * one and its count. */
#ifndef LOADLAB_LATENCY_HIST_H
#define LOADLAB_LATENCY_HIST_H

#include <stddef.h>
#include <stdint.h>

#define LATENCY_HIST_MAX_US (3600LL * 1000 * 1000)
/* Relative error bound of a reported value: 1 / LATENCY_HIST_ERROR_DIVISOR. */
#define LATENCY_HIST_ERROR_DIVISOR 1024
/* Longest serialized histogram (every bucket non-empty with huge counts). */
#define LATENCY_HIST_MAX_SERIALIZED (1 + 6 * 10 + 23552 * (3 + 10))

struct latency_hist;

/* An empty histogram. Returns NULL when out of memory; free with latency_hist_free. */
struct latency_hist *latency_hist_new(void);
void latency_hist_free(struct latency_hist *h);

/* Empties h. */
void latency_hist_reset(struct latency_hist *h);

/* Records count occurrences of value_us; a value below 0 or above 1 h is clamped and
 * counted in latency_hist_clamped. */
void latency_hist_record(struct latency_hist *h, int64_t value_us, uint64_t count);

/* Adds every count of src into dst (src unchanged). */
void latency_hist_merge(struct latency_hist *dst, const struct latency_hist *src);

/* Totals: values recorded, of which clamped; the smallest, largest and mean value
 * (0 when empty). */
uint64_t latency_hist_count(const struct latency_hist *h);
uint64_t latency_hist_clamped(const struct latency_hist *h);
int64_t latency_hist_min(const struct latency_hist *h);
int64_t latency_hist_max(const struct latency_hist *h);
double latency_hist_mean(const struct latency_hist *h);

/* The nearest-rank percentile (0..100; 0 gives the minimum, 100 the maximum) within the
 * error stated above. Returns 0 when h is empty; percent is clamped to 0..100. */
int64_t latency_hist_percentile(const struct latency_hist *h, double percent);

/* Serializes h into a new buffer (*out malloc'd, caller frees; *out_len its length).
 * Returns 0, or -1 when out of memory (*out unchanged). */
int latency_hist_serialize(const struct latency_hist *h, uint8_t **out, size_t *out_len);

/* Adds a serialized histogram into h (so decoding into an empty one restores it, and
 * decoding several merges them). Returns 0, or -1 with err filled on a malformed or
 * truncated buffer or a version it does not know (h then unchanged). */
int latency_hist_merge_serialized(struct latency_hist *h, const uint8_t *buf, size_t len,
                                  char *err, size_t errlen);

#endif
