/* Tests for heapsample: the sampling arithmetic Go's heap profile rests on (the
 * exponential gaps have the mean rate and the distribution of an exponential, and a
 * simulated sampler scaled back up by heapscale estimates the bytes really allocated),
 * and the table of live samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "heapsample.h"
#include "heapscale.h"

static void test_heapsample_interval_mean_is_the_rate(void **state)
{
    uint64_t rng = heapsample_seed(42);
    const int64_t rate = HEAPSAMPLE_DEFAULT_RATE;
    const int draws = 200000;
    double sum = 0;
    int below_mean = 0;
    (void)state;

    for (int i = 0; i < draws; i++) {
        uint64_t gap = heapsample_next_interval(&rng, rate);
        sum += (double)gap;
        below_mean += gap < (uint64_t)rate;
    }
    /* The mean of 200000 exponential draws is within 1% of rate (about 4.5 standard
     * errors); the share below the mean is 1 - 1/e for an exponential, not 1/2 as for
     * a uniform or a normal spacing. */
    double mean = sum / draws;
    if (fabs(mean / (double)rate - 1) > 0.01)
        fail_msg("mean gap %.0f, rate %lld", mean, (long long)rate);
    double share = (double)below_mean / draws;
    if (fabs(share - (1 - exp(-1))) > 0.01)
        fail_msg("share of gaps below the mean %.4f, want %.4f", share, 1 - exp(-1));
}

static void test_heapsample_interval_is_zero_at_rate_one(void **state)
{
    uint64_t rng = heapsample_seed(1);
    (void)state;

    assert_int_equal(heapsample_next_interval(&rng, 1), 0);
    assert_int_equal(heapsample_next_interval(&rng, 0), 0);
    assert_true(heapsample_seed(0) != 0);
    assert_true(heapsample_seed(1) != heapsample_seed(2));
}

/* The sampler as mallochook runs it, on a stream of allocations of one size: the
 * scaled sample total must estimate the bytes allocated. */
static void test_heapsample_scaled_samples_estimate_the_bytes(void **state)
{
    static const size_t sizes[] = {16, 4096, 100000};
    const int64_t rate = HEAPSAMPLE_DEFAULT_RATE;
    (void)state;

    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t rng = heapsample_seed(7 + k), until = heapsample_next_interval(&rng, rate);
        uint64_t samples = 0, sampled_bytes = 0, total = 0, count, bytes;
        while (total < (4ull << 30)) {
            total += sizes[k];
            if (sizes[k] < until) {
                until -= sizes[k];
                continue;
            }
            samples++;
            sampled_bytes += sizes[k];
            until = heapsample_next_interval(&rng, rate);
        }
        heapscale_unsample(samples, sampled_bytes, rate, &count, &bytes);
        /* 4 GiB at 512 KiB is about 8192 samples: 5% is over 4 standard errors. */
        if (fabs((double)bytes / (double)total - 1) > 0.05)
            fail_msg("size %zu: %llu samples scale to %llu bytes of %llu", sizes[k],
                     (unsigned long long)samples, (unsigned long long)bytes, (unsigned long long)total);
    }
}

static void test_heapsample_table_adds_and_takes(void **state)
{
    static char blocks[64][16];
    int site_a, site_b;
    size_t size;
    void *site;
    (void)state;

    assert_int_equal(heapsample_table_live(), 0);
    assert_int_equal(heapsample_table_take(blocks[0], &size, &site), -1);
    for (int i = 0; i < 64; i++)
        assert_int_equal(heapsample_table_add(blocks[i], (size_t)i + 1, i % 2 ? &site_a : &site_b), 0);
    assert_int_equal(heapsample_table_live(), 64);
    for (int i = 0; i < 64; i++)
        assert_true(heapsample_table_may_hold(blocks[i]));
    for (int i = 63; i >= 0; i -= 2) {
        assert_int_equal(heapsample_table_take(blocks[i], &size, &site), 0);
        assert_int_equal(size, (size_t)i + 1);
        assert_ptr_equal(site, &site_a);
        /* Taken once: a second free of the address is not a sample any more. */
        assert_int_equal(heapsample_table_take(blocks[i], &size, &site), -1);
    }
    assert_int_equal(heapsample_table_live(), 32);
    for (int i = 0; i < 64; i += 2)
        assert_int_equal(heapsample_table_take(blocks[i], &size, &site), 0);
    assert_int_equal(heapsample_table_live(), 0);
    /* Empty again: the free's inline check answers no without looking. */
    heapsample_table_add(blocks[0], 1, &site_a);
    for (int i = 1; i < 64; i++)
        if (heapsample_bucket_of(blocks[i]) != heapsample_bucket_of(blocks[0]))
            assert_false(heapsample_table_may_hold(blocks[i]));
    assert_int_equal(heapsample_table_take(blocks[0], &size, &site), 0);
    assert_false(heapsample_table_may_hold(blocks[0]));
}

static void test_heapsample_table_full_drops_and_recovers(void **state)
{
    static char block[HEAPSAMPLE_MAX_LIVE + 1];
    size_t size;
    void *site;
    (void)state;

    for (int i = 0; i < HEAPSAMPLE_MAX_LIVE; i++)
        assert_int_equal(heapsample_table_add(block + i, 1, NULL), 0);
    assert_int_equal(heapsample_table_add(block + HEAPSAMPLE_MAX_LIVE, 1, NULL), -1);
    assert_int_equal(heapsample_table_dropped(), 1);
    assert_int_equal(heapsample_table_take(block + 5, &size, &site), 0);
    assert_int_equal(heapsample_table_add(block + HEAPSAMPLE_MAX_LIVE, 1, NULL), 0);
    for (int i = 0; i <= HEAPSAMPLE_MAX_LIVE; i++)
        if (i != 5)
            assert_int_equal(heapsample_table_take(block + i, &size, &site), 0);
    assert_int_equal(heapsample_table_live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heapsample_interval_mean_is_the_rate),
        cmocka_unit_test(test_heapsample_interval_is_zero_at_rate_one),
        cmocka_unit_test(test_heapsample_scaled_samples_estimate_the_bytes),
        cmocka_unit_test(test_heapsample_table_adds_and_takes),
        cmocka_unit_test(test_heapsample_table_full_drops_and_recovers),
    };
    return cmocka_run_group_tests_name("heapsample", tests, NULL, NULL);
}
