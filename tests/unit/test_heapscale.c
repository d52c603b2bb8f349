/* Tests for heapscale: the unsampling factor is Go's 1/(1-exp(-size/rate)), applied
 * to a bucket by its average size, and leaves unsampled rows alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "heapscale.h"

static void test_heapscale_is_gos_unsampling(void **state)
{
    uint64_t count, bytes;
    (void)state;

    /* One sample of a 4096-byte block at 512 KiB: 1/(1-exp(-1/128)) = 128.50 blocks. */
    heapscale_unsample(1, 4096, 524288, &count, &bytes);
    assert_int_equal(count, 129);
    double factor = 1 / (1 - exp(-4096.0 / 524288));
    assert_int_equal(bytes, (uint64_t)(4096 * factor + 0.5));
    /* Ten samples of 100 bytes scale by the factor of their average size. */
    heapscale_unsample(10, 1000, 524288, &count, &bytes);
    factor = 1 / (1 - exp(-100.0 / 524288));
    assert_int_equal(count, (uint64_t)(10 * factor + 0.5));
    assert_int_equal(bytes, (uint64_t)(1000 * factor + 0.5));
    /* A block far above the rate is always sampled: it stands for itself. */
    heapscale_unsample(1, 64 << 20, 524288, &count, &bytes);
    assert_int_equal(count, 1);
    assert_int_equal(bytes, 64 << 20);
    /* Rate 1 (every allocation) and empty rows are left alone. */
    heapscale_unsample(3, 300, 1, &count, &bytes);
    assert_int_equal(count, 3);
    assert_int_equal(bytes, 300);
    heapscale_unsample(0, 0, 524288, &count, &bytes);
    assert_int_equal(count, 0);
    assert_int_equal(bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heapscale_is_gos_unsampling),
    };
    return cmocka_run_group_tests_name("heapscale", tests, NULL, NULL);
}
