/* Unit tests for latency_hist: extremes, clamping, merge, percentiles against exact
 * sorted-array percentiles, and the serialized form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/latency_hist.h"

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static int64_t exact_percentile(const int64_t *sorted, size_t n, double percent)
{
    size_t rank;
    if (percent <= 0)
        return sorted[0];
    rank = (size_t)((percent / 100.0) * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* The reported value is never below the exact one and at most 1/1024 above it. */
static void assert_within_error(int64_t reported, int64_t exact)
{
    assert_true(reported >= exact);
    assert_true(reported - exact <= exact / LATENCY_HIST_ERROR_DIVISOR);
}

static void test_latency_hist_empty(void **state)
{
    struct latency_hist *h = latency_hist_new();
    (void)state;
    assert_non_null(h);
    assert_int_equal(latency_hist_count(h), 0);
    assert_int_equal(latency_hist_percentile(h, 99), 0);
    assert_int_equal(latency_hist_max(h), 0);
    assert_true(latency_hist_mean(h) == 0.0);
    latency_hist_free(h);
    latency_hist_free(NULL);
}

static void test_latency_hist_extremes_and_clamping(void **state)
{
    struct latency_hist *h = latency_hist_new();
    (void)state;
    latency_hist_record(h, 0, 1);
    latency_hist_record(h, 1, 1);
    latency_hist_record(h, LATENCY_HIST_MAX_US, 1);
    assert_int_equal(latency_hist_clamped(h), 0);
    assert_int_equal(latency_hist_min(h), 0);
    assert_int_equal(latency_hist_max(h), LATENCY_HIST_MAX_US);
    assert_int_equal(latency_hist_percentile(h, 0), 0);
    assert_int_equal(latency_hist_percentile(h, 50), 1);
    assert_int_equal(latency_hist_percentile(h, 100), LATENCY_HIST_MAX_US);

    /* beyond range: clamped to the edges, counted, never lost */
    latency_hist_record(h, LATENCY_HIST_MAX_US + 1, 2);
    latency_hist_record(h, INT64_MAX, 1);
    latency_hist_record(h, -5, 1);
    assert_int_equal(latency_hist_count(h), 3 + 4);
    assert_int_equal(latency_hist_clamped(h), 4);
    assert_int_equal(latency_hist_max(h), LATENCY_HIST_MAX_US);
    assert_int_equal(latency_hist_min(h), 0);
    assert_int_equal(latency_hist_percentile(h, 99.9), LATENCY_HIST_MAX_US);
    latency_hist_free(h);
}

static void test_latency_hist_exact_below_2048us(void **state)
{
    struct latency_hist *h = latency_hist_new();
    (void)state;
    for (int64_t v = 0; v < 2048; v++)
        latency_hist_record(h, v, 1);
    for (int p = 1; p <= 100; p++)
        assert_int_equal(latency_hist_percentile(h, p), (int64_t)((p * 2048 + 99) / 100) - 1);
    assert_true(latency_hist_mean(h) == 1023.5);
    latency_hist_free(h);
}

static void test_latency_hist_percentiles_match_sorted_within_error(void **state)
{
    enum { N = 200000 };
    static const double percents[] = {0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100};
    int64_t *values = malloc(N * sizeof(*values));
    struct latency_hist *h = latency_hist_new();
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    (void)state;
    assert_non_null(values);
    for (size_t i = 0; i < N; i++) {
        /* log-uniform over 1 us .. 1 h, so every bucket row is exercised */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned shift = (unsigned)(x % 32);
        values[i] = (int64_t)((x >> 20) & ((1ULL << shift) - 1)) % LATENCY_HIST_MAX_US + 1;
        latency_hist_record(h, values[i], 1);
    }
    qsort(values, N, sizeof(*values), compare_int64);
    for (size_t k = 0; k < sizeof(percents) / sizeof(percents[0]); k++)
        assert_within_error(latency_hist_percentile(h, percents[k]),
                            exact_percentile(values, N, percents[k]));
    assert_int_equal(latency_hist_min(h), values[0]);
    assert_int_equal(latency_hist_max(h), values[N - 1]);
    free(values);
    latency_hist_free(h);
}

static void test_latency_hist_every_bucket_bound(void **state)
{
    /* one value at a time: the reported p100 is exact, p50 of {v, v} is within bound */
    struct latency_hist *h = latency_hist_new();
    (void)state;
    for (int64_t v = 1; v <= LATENCY_HIST_MAX_US; v = v * 3 / 2 + 1) {
        latency_hist_reset(h);
        latency_hist_record(h, v, 1);
        latency_hist_record(h, v + v / 3000, 1);
        assert_within_error(latency_hist_percentile(h, 50), v);
        assert_int_equal(latency_hist_percentile(h, 100), v + v / 3000);
    }
    latency_hist_free(h);
}

static int same_serialization(const struct latency_hist *a, const struct latency_hist *b)
{
    uint8_t *sa = NULL, *sb = NULL;
    size_t la = 0, lb = 0;
    int same;
    assert_int_equal(latency_hist_serialize(a, &sa, &la), 0);
    assert_int_equal(latency_hist_serialize(b, &sb, &lb), 0);
    same = la == lb && memcmp(sa, sb, la) == 0;
    free(sa);
    free(sb);
    return same;
}

static void test_latency_hist_merge_is_associative_and_exact(void **state)
{
    struct latency_hist *a = latency_hist_new(), *b = latency_hist_new(), *c = latency_hist_new();
    struct latency_hist *left = latency_hist_new(), *right = latency_hist_new(), *all = latency_hist_new();
    (void)state;
    for (int64_t v = 0; v < 5000; v++) {
        latency_hist_record(a, v * 7, 1);
        latency_hist_record(b, v * v, 2);
        latency_hist_record(c, 3600000000LL - v * 1000, 1);
        latency_hist_record(all, v * 7, 1);
        latency_hist_record(all, v * v, 2);
        latency_hist_record(all, 3600000000LL - v * 1000, 1);
    }
    latency_hist_record(c, -1, 1);
    latency_hist_record(all, -1, 1);
    /* (a + b) + c */
    latency_hist_merge(left, a);
    latency_hist_merge(left, b);
    latency_hist_merge(left, c);
    /* a + (b + c) */
    latency_hist_merge(right, b);
    latency_hist_merge(right, c);
    latency_hist_merge(a, right);
    assert_true(same_serialization(left, a));
    assert_true(same_serialization(left, all));
    assert_int_equal(latency_hist_count(left), 5000 * 4 + 1);
    assert_int_equal(latency_hist_clamped(left), 1);
    assert_int_equal(latency_hist_min(left), 0);
    assert_int_equal(latency_hist_max(left), 3600000000LL);
    assert_true(latency_hist_percentile(left, 99) == latency_hist_percentile(all, 99));
    /* merging an empty one changes nothing */
    latency_hist_reset(right);
    latency_hist_merge(all, right);
    assert_true(same_serialization(left, all));
    latency_hist_free(a);
    latency_hist_free(b);
    latency_hist_free(c);
    latency_hist_free(left);
    latency_hist_free(right);
    latency_hist_free(all);
}

static void test_latency_hist_serialization_round_trip(void **state)
{
    struct latency_hist *h = latency_hist_new(), *back = latency_hist_new();
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[128];
    (void)state;
    /* a realistic run: 100k values around 1-3 ms fit in a few kilobytes */
    for (int i = 0; i < 100000; i++)
        latency_hist_record(h, 1000 + (i * 37) % 2000, 1);
    latency_hist_record(h, LATENCY_HIST_MAX_US + 5, 1);
    assert_int_equal(latency_hist_serialize(h, &buf, &len), 0);
    assert_true(len < 8 * 1024);
    assert_int_equal(latency_hist_merge_serialized(back, buf, len, err, sizeof(err)), 0);
    assert_true(same_serialization(h, back));
    assert_int_equal(latency_hist_clamped(back), 1);
    assert_true(latency_hist_mean(back) == latency_hist_mean(h));
    /* decoding twice merges */
    assert_int_equal(latency_hist_merge_serialized(back, buf, len, err, sizeof(err)), 0);
    assert_int_equal(latency_hist_count(back), 2 * latency_hist_count(h));
    free(buf);

    /* the empty histogram round-trips too */
    latency_hist_reset(h);
    latency_hist_reset(back);
    assert_int_equal(latency_hist_serialize(h, &buf, &len), 0);
    assert_int_equal(latency_hist_merge_serialized(back, buf, len, err, sizeof(err)), 0);
    assert_int_equal(latency_hist_count(back), 0);
    free(buf);
    latency_hist_free(h);
    latency_hist_free(back);
}

static void test_latency_hist_rejects_malformed(void **state)
{
    struct latency_hist *h = latency_hist_new(), *target = latency_hist_new();
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[128];
    (void)state;
    for (int i = 0; i < 100; i++)
        latency_hist_record(h, i * 100, 1);
    assert_int_equal(latency_hist_serialize(h, &buf, &len), 0);
    latency_hist_record(target, 5, 1);
    /* every truncation fails and leaves the target as it was */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(latency_hist_merge_serialized(target, buf, cut, err, sizeof(err)), -1);
    buf[0] = 9;
    assert_int_equal(latency_hist_merge_serialized(target, buf, len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "version"));
    buf[0] = 1;
    buf[len - 1] ^= 0x01; /* the last count no longer adds up */
    assert_int_equal(latency_hist_merge_serialized(target, buf, len, err, sizeof(err)), -1);
    assert_int_equal(latency_hist_count(target), 1);
    assert_int_equal(latency_hist_max(target), 5);
    free(buf);
    latency_hist_free(h);
    latency_hist_free(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_hist_empty),
        cmocka_unit_test(test_latency_hist_extremes_and_clamping),
        cmocka_unit_test(test_latency_hist_exact_below_2048us),
        cmocka_unit_test(test_latency_hist_percentiles_match_sorted_within_error),
        cmocka_unit_test(test_latency_hist_every_bucket_bound),
        cmocka_unit_test(test_latency_hist_merge_is_associative_and_exact),
        cmocka_unit_test(test_latency_hist_serialization_round_trip),
        cmocka_unit_test(test_latency_hist_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
