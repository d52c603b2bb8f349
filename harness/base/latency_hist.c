/* latency_hist: log-linear latency histogram. See latency_hist.h.
 *
 * The index arithmetic is HdrHistogram's with a unit of 1 us and 2048 sub-buckets: a
 * value's bucket is the power of two above the first 2048 values, its sub-bucket the
 * value shifted right by the bucket number; bucket 0 holds 0..2047 one per counter,
 * every later bucket holds only its upper half (the lower half is the previous bucket). */
#include "base/latency_hist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUB_BUCKET_BITS 11
#define SUB_BUCKET_COUNT (1 << SUB_BUCKET_BITS)        /* 2048 */
#define SUB_BUCKET_HALF (SUB_BUCKET_COUNT / 2)          /* 1024 */
#define SUB_BUCKET_MASK ((uint64_t)SUB_BUCKET_COUNT - 1)
/* the bucket of LATENCY_HIST_MAX_US is 21; one more half-bucket row for bucket 0 */
#define BUCKET_COUNT 22
#define COUNTS_LEN ((BUCKET_COUNT + 1) * SUB_BUCKET_HALF) /* 23552 */
#define SERIAL_VERSION 1

struct latency_hist {
    uint64_t total, clamped, sum;
    int64_t min, max;
    uint64_t counts[COUNTS_LEN];
};

static unsigned bucket_of(uint64_t value)
{
    return (unsigned)(63 - __builtin_clzll(value | SUB_BUCKET_MASK)) - (SUB_BUCKET_BITS - 1);
}

static size_t index_of(uint64_t value)
{
    unsigned bucket = bucket_of(value);
    return (size_t)bucket * SUB_BUCKET_HALF + (size_t)(value >> bucket);
}

/* The highest value that shares counter i. */
static int64_t highest_of_index(size_t i)
{
    size_t bucket, sub;
    if (i < SUB_BUCKET_COUNT)
        return (int64_t)i;
    bucket = i / SUB_BUCKET_HALF - 1;
    sub = i - bucket * SUB_BUCKET_HALF;
    return (int64_t)((((uint64_t)sub + 1) << bucket) - 1);
}

struct latency_hist *latency_hist_new(void)
{
    struct latency_hist *h = calloc(1, sizeof(*h));
    return h;
}

void latency_hist_free(struct latency_hist *h)
{
    free(h);
}

void latency_hist_reset(struct latency_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static void add_counts(struct latency_hist *h, uint64_t total, uint64_t clamped, uint64_t sum,
                       int64_t min, int64_t max)
{
    if (total == 0)
        return;
    if (h->total == 0 || min < h->min)
        h->min = min;
    if (h->total == 0 || max > h->max)
        h->max = max;
    h->total += total;
    h->clamped += clamped;
    h->sum += sum;
}

void latency_hist_record(struct latency_hist *h, int64_t value_us, uint64_t count)
{
    uint64_t clamped = 0;
    if (count == 0)
        return;
    if (value_us < 0) {
        value_us = 0;
        clamped = count;
    } else if (value_us > LATENCY_HIST_MAX_US) {
        value_us = LATENCY_HIST_MAX_US;
        clamped = count;
    }
    h->counts[index_of((uint64_t)value_us)] += count;
    add_counts(h, count, clamped, (uint64_t)value_us * count, value_us, value_us);
}

void latency_hist_merge(struct latency_hist *dst, const struct latency_hist *src)
{
    if (src->total == 0)
        return;
    for (size_t i = 0; i < COUNTS_LEN; i++)
        dst->counts[i] += src->counts[i];
    add_counts(dst, src->total, src->clamped, src->sum, src->min, src->max);
}

uint64_t latency_hist_count(const struct latency_hist *h) { return h->total; }
uint64_t latency_hist_clamped(const struct latency_hist *h) { return h->clamped; }
int64_t latency_hist_min(const struct latency_hist *h) { return h->min; }
int64_t latency_hist_max(const struct latency_hist *h) { return h->max; }

double latency_hist_mean(const struct latency_hist *h)
{
    return h->total ? (double)h->sum / (double)h->total : 0.0;
}

int64_t latency_hist_percentile(const struct latency_hist *h, double percent)
{
    uint64_t rank, seen = 0;

    if (h->total == 0)
        return 0;
    if (!(percent > 0))
        return h->min;
    if (percent >= 100)
        return h->max;
    /* nearest rank: the smallest value with at least percent% of values at or below */
    rank = (uint64_t)((percent / 100.0) * (double)h->total + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > h->total)
        rank = h->total;
    for (size_t i = 0; i < COUNTS_LEN; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = highest_of_index(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Reads one varint at *pos. Returns 0, or -1 when truncated or longer than 64 bits. */
static int get_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        if (*pos >= len)
            return -1;
        b = buf[(*pos)++];
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

int latency_hist_serialize(const struct latency_hist *h, uint8_t **out, size_t *out_len)
{
    size_t nonempty = 0, n = 0, prev = 0;
    uint8_t *buf;

    for (size_t i = 0; i < COUNTS_LEN; i++)
        nonempty += h->counts[i] != 0;
    buf = malloc(1 + 6 * 10 + nonempty * 2 * 10);
    if (!buf)
        return -1;
    buf[n++] = SERIAL_VERSION;
    n += put_varint(buf + n, h->total);
    n += put_varint(buf + n, h->clamped);
    n += put_varint(buf + n, (uint64_t)h->min);
    n += put_varint(buf + n, (uint64_t)h->max);
    n += put_varint(buf + n, h->sum);
    n += put_varint(buf + n, nonempty);
    for (size_t i = 0; i < COUNTS_LEN; i++) {
        if (!h->counts[i])
            continue;
        n += put_varint(buf + n, i - prev);
        n += put_varint(buf + n, h->counts[i]);
        prev = i;
    }
    *out = buf;
    *out_len = n;
    return 0;
}

/* Walks a serialized histogram; with h non-NULL adds its counters to h. Returns 0, or
 * -1 with err filled. */
static int walk_serialized(struct latency_hist *h, const uint8_t *buf, size_t len,
                           uint64_t head[6], char *err, size_t errlen)
{
    size_t pos = 1, index = 0;
    uint64_t summed = 0;

    if (len < 1 || buf[0] != SERIAL_VERSION) {
        snprintf(err, errlen, "latency histogram: unknown version %d", len ? buf[0] : -1);
        return -1;
    }
    for (int k = 0; k < 6; k++)
        if (get_varint(buf, len, &pos, &head[k]) < 0) {
            snprintf(err, errlen, "latency histogram: truncated header");
            return -1;
        }
    if (head[5] > COUNTS_LEN || head[1] > head[0] || head[2] > head[3] ||
        head[3] > (uint64_t)LATENCY_HIST_MAX_US || (head[0] == 0 && head[5] != 0)) {
        snprintf(err, errlen, "latency histogram: inconsistent header");
        return -1;
    }
    for (uint64_t k = 0; k < head[5]; k++) {
        uint64_t gap, count;
        if (get_varint(buf, len, &pos, &gap) < 0 || get_varint(buf, len, &pos, &count) < 0) {
            snprintf(err, errlen, "latency histogram: truncated at bucket %llu",
                     (unsigned long long)k);
            return -1;
        }
        if (gap >= COUNTS_LEN || (k > 0 && gap == 0) || index + gap >= COUNTS_LEN || count == 0 ||
            count > head[0] - summed) {
            snprintf(err, errlen, "latency histogram: bad bucket %llu", (unsigned long long)k);
            return -1;
        }
        index += gap;
        summed += count;
        if (h)
            h->counts[index] += count;
    }
    if (summed != head[0] || pos != len) {
        snprintf(err, errlen, "latency histogram: counts do not add up to the total");
        return -1;
    }
    return 0;
}

int latency_hist_merge_serialized(struct latency_hist *h, const uint8_t *buf, size_t len,
                                  char *err, size_t errlen)
{
    uint64_t head[6];
    if (walk_serialized(NULL, buf, len, head, err, errlen) < 0)
        return -1;
    walk_serialized(h, buf, len, head, err, errlen);
    add_counts(h, head[0], head[1], head[4], (int64_t)head[2], (int64_t)head[3]);
    return 0;
}
